# -*- coding: utf-8 -*-
# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark of "retry every failed run" (issue #8), on the Kapacitor simulator.

Contenders, each on a fresh simulator loaded with the same scenario:

1. ours:  playbooks/retry_failed_runs.yml (role tickstack.kapacitor.retry_failed_runs).
2. cli:   a re-implementation in Python (requests) of the algorithm of ``kapacitor flux task
          retry-failed`` with its defaults (--task-limit 100, --run-limit 100), see cli_retry_failed().
3. uri:   tests/benchmark/uri_loop.yml, a straightforward ansible.builtin.uri loop; run on a reduced
          copy of the scenario (fewer tasks, same tasks) and extrapolated, because it takes minutes.

Plus a listing-only run of kapacitor_task_runs_info over every task of a large scenario.

    make bench                                  # the normal way (venv, collection path, ANSIBLE_HOME)
    python tests/benchmark/bench.py [--output FILE] [--uri-tasks N] [--skip-large] [--quick] [--sample-memory] [--keep]

Prints a table, the ratios against our playbook, the lower bounds and PASS/MISS per target, and
writes everything to a JSON file (default: bench-results.json at the collection root).
Needs only what .ci/requirements.txt installs (ansible-core, requests); psutil only for --sample-memory.
"""

from __future__ import print_function

import argparse
import calendar
import datetime
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'simulator'))
from process import SimulatorProcess  # noqa: E402  pylint: disable=wrong-import-position

OUR_PLAYBOOK = os.path.join(ROOT, 'playbooks', 'retry_failed_runs.yml')
URI_PLAYBOOK = os.path.join(HERE, 'uri_loop.yml')
API = '/kapacitor/v1/api/v2'

CONCURRENCY = 8
LATENCY_MS = 2
PAGE = 500  # Kapacitor's largest page, for tasks and for runs
SAMPLE_MEMORY = ['0']  # '1' with --sample-memory

# Default scenario: 50 tasks x 200 runs (1 per minute), 4 % failed, a third of the failures already
# retried once with success, a retried run executes 0.2 s.
DEFAULT = {'tasks': 50, 'name_prefix': 'task', 'runs_per_task': 200, 'every': '1m', 'failed_ratio': 0.04,
           'retried_ratio': 1.0 / 3, 'run_seconds': 0.2, 'seed': 1}
# Large scenario, listing only: 2,000 tasks x 50 runs = 100,000 runs.
LARGE = {'tasks': 2000, 'name_prefix': 'big', 'runs_per_task': 50, 'every': '1m', 'failed_ratio': 0.04,
         'retried_ratio': 0.0, 'run_seconds': 0.2, 'seed': 2}

# Runs a command, then writes its wall time, exit code and peak memory to a JSON file. A fresh process per
# contender, so that RUSAGE_CHILDREN covers this contender's processes only (not the simulator's):
# ru_maxrss of children is the largest peak RSS of any single descendant (ansible-playbook, its forked
# workers, the module processes). With --sample-memory and psutil installed it also samples the summed
# PSS of the whole process tree every 0.1 s (off by default: on 2 cores the sampling slows Ansible down).
WRAPPER = r'''
import json, resource, subprocess, sys, time
out, log, sample, cmd = sys.argv[1], sys.argv[2], sys.argv[3] == '1', sys.argv[4:]
psutil = None
if sample:
    try:
        import psutil
    except ImportError:
        pass
start_wall, start = time.time(), time.monotonic()
with open(log, 'wb') as handle:
    proc = subprocess.Popen(cmd, stdout=handle, stderr=subprocess.STDOUT)
    peak_sum = None
    if psutil is not None:
        peak_sum, parent = 0, psutil.Process(proc.pid)
        while proc.poll() is None:
            total = 0
            try:
                for p in [parent] + parent.children(recursive=True):
                    try:
                        total += p.memory_full_info().pss
                    except psutil.Error:
                        pass
            except psutil.Error:
                pass
            peak_sum = max(peak_sum, total)
            time.sleep(0.1)
    rc = proc.wait()
wall = time.monotonic() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(out, 'w') as handle:
    json.dump({'rc': rc, 'wall': wall, 'start_wall': start_wall, 'end_wall': start_wall + wall,
               'maxrss_kb': usage.ru_maxrss, 'cpu_user': usage.ru_utime, 'cpu_sys': usage.ru_stime,
               'peak_sum_pss_kb': None if peak_sum is None else peak_sum // 1024}, handle)
'''


# =====================================================================================================================
# The simulator
# =====================================================================================================================

class BenchSimulator:
    """A fresh simulator process (SimulatorProcess) loaded with one scenario, with the 2 ms per-request latency on."""

    def __init__(self, generate, workdir, name):
        path = os.path.join(workdir, 'scenario-%s.json' % name)
        with open(path, 'w') as handle:
            json.dump({'tasks': [], 'generate': generate}, handle)
        started = time.monotonic()
        simdir = os.path.join(workdir, 'sim-%s' % name)
        os.makedirs(simdir, exist_ok=True)
        self.process = SimulatorProcess('--scenario', path, workdir=simdir)
        try:
            self.process.start()
        except RuntimeError as exc:
            raise SystemExit('the simulator did not start: %s' % exc) from None
        self.url = self.process.url
        self.load_seconds = time.monotonic() - started
        self.session = requests.Session()
        self.post('/_sim/faults', {'latency_ms': LATENCY_MS, 'latency_ratio': 1.0})
        self.post('/_sim/stats/reset', {})

    def get(self, path):
        response = self.session.get(self.url + path, timeout=600)
        response.raise_for_status()
        return response.json()

    def post(self, path, body):
        response = self.session.post(self.url + path, json=body, timeout=600)
        response.raise_for_status()
        return response.json()

    def stop(self):
        self.process.stop(timeout=30)


# =====================================================================================================================
# Contender 2: the algorithm of `kapacitor flux task retry-failed` (influx-cli clients/task/task.go RetryFailed)
# =====================================================================================================================

def cli_retry_failed(url, task_limit=100, run_limit=100):
    """A RE-IMPLEMENTATION in Python of `kapacitor flux task retry-failed` with its default flags.

    Same requests in the same order as influx-cli's Client.RetryFailed (retry-failed-anchor.md 1.2-1.4):
    one page of tasks (limit=--task-limit, no cursor), then sequentially one page of runs per task
    (limit=--run-limit, no pagination, no time window), keep runs whose status is `failed` (no grouping by
    scheduledFor), then POST one retry at a time, no body, no client timeout, keep-alive connection;
    the first error aborts everything (exit code 3, like kapacitor).
    """
    session = requests.Session()
    base = url + API

    def call(method, path, **kwargs):
        response = session.request(method, base + path, **kwargs)
        if response.status_code // 100 != 2:
            print('Error: %d: %s' % (response.status_code, response.text.strip()))
            sys.exit(3)
        return response.json()

    tasks = call('GET', '/tasks', params={'limit': task_limit})['tasks']
    failed = []
    for task in tasks:
        runs = call('GET', '/tasks/%s/runs' % task['id'], params={'limit': run_limit})['runs']
        failed.extend(run for run in runs if run.get('status') == 'failed')
    for run in failed:
        if not run.get('id') or not run.get('taskID'):
            sys.stderr.write('skipping empty run id/task id from influxdb\n')
            continue
        new = call('POST', '/tasks/%s/runs/%s/retry' % (run['taskID'], run['id']),
                   headers={'Content-Type': 'application/json; charset=utf-8'})
        print("Retry for task %s's run %s queued as run %s." % (run['taskID'], run['id'], new.get('id')))


# =====================================================================================================================
# Measuring
# =====================================================================================================================

def ansible_env(workdir):
    """The environment for ansible-playbook: the one `make bench` sets, or a self-made equivalent."""
    env = dict(os.environ)
    if not env.get('ANSIBLE_COLLECTIONS_PATH'):
        link = os.path.join(workdir, 'collections', 'ansible_collections', 'tickstack')
        os.makedirs(link)
        os.symlink(ROOT, os.path.join(link, 'kapacitor'))
        env['ANSIBLE_COLLECTIONS_PATH'] = os.path.join(workdir, 'collections')
    env.setdefault('ANSIBLE_PYTHON_INTERPRETER', sys.executable)
    env.setdefault('ANSIBLE_HOME', os.path.join(workdir, 'ansible-home'))
    env.update({'ANSIBLE_LOCALHOST_WARNING': 'false', 'ANSIBLE_INVENTORY_UNPARSED_WARNING': 'false',
                'ANSIBLE_NOCOLOR': '1', 'PYTHONDONTWRITEBYTECODE': '1'})
    env['PATH'] = os.path.dirname(sys.executable) + os.pathsep + env.get('PATH', '')
    return env


def ansible_playbook():
    beside = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    return beside if os.path.exists(beside) else (shutil.which('ansible-playbook') or 'ansible-playbook')


def parse_time(text):
    """RFC3339(Nano) UTC -> epoch seconds (float)."""
    base, dummy, frac = text.rstrip('Z').partition('.')
    return calendar.timegm(time.strptime(base, '%Y-%m-%dT%H:%M:%S')) + (float('0.' + frac) if frac else 0.0)


def needing_retry(attempts):
    """{(task_id, scheduledFor)} whose latest attempt (highest ID) is failed."""
    return set((task_id, when) for task_id, by_time in attempts.items()
               for when, runs in by_time.items() if runs and runs[-1]['status'] == 'failed')


def measure(name, sim, cmd, env, workdir, attempts=True):
    """Run one contender in a fresh wrapper process and collect everything the simulator saw."""
    before = sim.get('/_sim/attempts') if attempts else None
    sim.post('/_sim/stats/reset', {})
    out, log = os.path.join(workdir, '%s.json' % name), os.path.join(workdir, '%s.log' % name)
    subprocess.check_call([sys.executable, '-c', WRAPPER, out, log, SAMPLE_MEMORY[0]] + cmd, env=env)
    with open(out) as handle:
        proc = json.load(handle)
    stats = sim.get('/_sim/stats')
    result = {
        'name': name, 'exit_code': proc['rc'], 'wall_s': round(proc['wall'], 3),
        'requests': dict(sorted(stats['requests'].items())), 'requests_total': stats['requests_total'],
        'list_requests': sum(n for route, n in stats['requests'].items() if route.startswith('GET ')),
        'retries_issued': stats['requests'].get('POST /api/v2/tasks/:id/runs/:rid/retry', 0),
        'peak_concurrent_retries': stats['peak_concurrent_retries'],
        'peak_rss_mb': round(proc['maxrss_kb'] / 1024.0, 1),
        'peak_sum_pss_mb': None if proc['peak_sum_pss_kb'] is None else round(proc['peak_sum_pss_kb'] / 1024.0, 1),
        'cpu_s': round(proc['cpu_user'] + proc['cpu_sys'], 2),
    }
    if attempts:
        result.update(retry_quality(before, sim.get('/_sim/attempts')))
        result.update(retry_phase(before, sim.get('/_sim/state'), proc))
    return result


def retry_quality(before, after):
    """Duplicates and misses, from the attempts per (task, scheduledFor) before and after the contender.

    A new attempt is a duplicate when the attempt before it (by ID) had not failed: an attempt after the
    failure already existed, or the scheduled time was retried twice. A scheduled time is missed when its
    latest attempt was failed before and it got no new attempt.
    """
    old = set(run['id'] for by_time in before.values() for runs in by_time.values() for run in runs)
    duplicates = new = 0
    retried = set()
    for task_id, by_time in after.items():
        for when, runs in by_time.items():
            for previous, run in zip([None] + runs[:-1], runs):
                if run['id'] in old:
                    continue
                new += 1
                retried.add((task_id, when))
                if previous is not None and previous['status'] != 'failed':
                    duplicates += 1
    needed = needing_retry(before)
    return {'unique_to_retry': len(needed), 'new_attempts': new, 'duplicate_retries': duplicates,
            'missed': len(needed - retried)}


def retry_phase(before, state, proc):
    """The retry phase seen from the simulator: first retry requested -> last retried run finished."""
    old = set(run['id'] for by_time in before.values() for runs in by_time.values() for run in runs)
    new = [run for run in state['runs'] if run['id'] not in old and run['requested_at']]
    if not new:
        return {'retry_phase_s': None, 'before_retries_s': None, 'after_retries_s': None}
    first = min(parse_time(run['requested_at']) for run in new)
    last = max(parse_time(run['finished_at'] or run['requested_at']) for run in new)
    return {'retry_phase_s': round(last - first, 3), 'before_retries_s': round(first - proc['start_wall'], 3),
            'after_retries_s': round(proc['end_wall'] - last, 3)}


def scenario_facts(sim):
    """T, R_i and the list-request lower bound (tasks listed in pages of 500, each task's runs in pages of 500)."""
    state = sim.get('/_sim/state')
    per_task = {}
    for run in state['runs']:
        per_task[run['task_id']] = per_task.get(run['task_id'], 0) + 1
    tasks = len(state['tasks'])
    return {'tasks': tasks, 'runs': len(state['runs']),
            'list_lower_bound': int(math.ceil(tasks / float(PAGE))) + sum(int(math.ceil(n / float(PAGE))) for n in per_task.values())}


# =====================================================================================================================
# Contenders
# =====================================================================================================================

def run_on_fresh_simulator(name, workdir, env, generate, command, attempts=True):
    """Load ``generate`` into a new simulator, run ``command(url)`` against it and measure it."""
    sim = BenchSimulator(generate, workdir, name)
    try:
        facts = scenario_facts(sim)
        facts['simulator_load_s'] = round(sim.load_seconds, 1)
        result = measure(name, sim, command(sim.url), env, workdir, attempts=attempts)
    finally:
        sim.stop()
    result['scenario'] = facts
    return result


def run_ours(workdir, env, generate):
    return run_on_fresh_simulator('ours', workdir, env, generate, lambda url: [
        ansible_playbook(), OUR_PLAYBOOK, '-e', 'kapacitor_url=' + url, '-e', 'retry_failed_runs_concurrency=%d' % CONCURRENCY])


def run_cli(workdir, env, generate):
    return run_on_fresh_simulator('cli', workdir, env, generate, lambda url: [
        sys.executable, os.path.abspath(__file__), '--cli-client', url])


def run_uri_loop(workdir, env, generate):
    return run_on_fresh_simulator('uri', workdir, env, generate, lambda url: [
        ansible_playbook(), URI_PLAYBOOK, '-e', 'kapacitor_url=' + url])


def run_noop(workdir, env):
    """Ansible start-up: a one-task playbook that does nothing (no simulator)."""
    playbook = os.path.join(workdir, 'noop.yml')
    with open(playbook, 'w') as handle:
        handle.write('- hosts: localhost\n  gather_facts: false\n  tasks:\n    - ansible.builtin.meta: noop\n')
    out, log = os.path.join(workdir, 'noop.json'), os.path.join(workdir, 'noop.log')
    subprocess.check_call([sys.executable, '-c', WRAPPER, out, log, SAMPLE_MEMORY[0], ansible_playbook(), playbook],
                          env=env)
    with open(out) as handle:
        proc = json.load(handle)
    return {'name': 'noop', 'exit_code': proc['rc'], 'wall_s': round(proc['wall'], 3),
            'peak_rss_mb': round(proc['maxrss_kb'] / 1024.0, 1)}


# The large listing is measured twice: with every key of every run, and with the four keys an operator
# scanning 100,000 runs needs (the `fields` option), because Ansible holds a module's whole result in
# several processes at once and its peak memory grows with the width of each run record.
LEAN_FIELDS = ['id', 'task_id', 'status', 'scheduled_for']


def run_large_listing(workdir, env, generate, fields=None):
    """kapacitor_task_runs_info over every task of the large scenario, registered like the role does."""
    name = 'list_all_lean' if fields else 'list_all'
    playbook, totals = os.path.join(workdir, name + '.yml'), os.path.join(workdir, name + '_totals.json')
    with open(playbook, 'w') as handle:
        handle.write('''- hosts: localhost
  gather_facts: false
  tasks:
    - name: List every run of every task
      tickstack.kapacitor.kapacitor_task_runs_info:
        url: "{{ kapacitor_url }}"
        after_time: 24h
        concurrency: %d%s
      register: listing
    - name: Keep the totals
      ansible.builtin.copy:
        content: "{{ listing.totals | to_json }}"
        dest: %s
        mode: "0644"
''' % (CONCURRENCY, '\n        fields: %s' % json.dumps(fields) if fields else '', totals))
    result = run_on_fresh_simulator(name, workdir, env, generate, lambda url: [
        ansible_playbook(), playbook, '-e', 'kapacitor_url=' + url], attempts=False)
    result['listed'] = json.load(open(totals)) if os.path.exists(totals) else None
    return result


# Two copies of the playbook started OVERLAP_GAP apart (an AWX schedule plus a manual launch): on one controller
# they share the lock of kapacitor_task_run_retry; on two controllers (a temporary directory each, so a lock each)
# only the pre-POST check and the random order keep them apart. 60 failed scheduled times, none retried yet.
OVERLAP = {'tasks': 6, 'name_prefix': 'overlap', 'runs_per_task': 100, 'every': '1m', 'failed_ratio': 0.1,
           'retried_ratio': 0.0, 'run_seconds': 0.5, 'seed': 5}
OVERLAP_GAP = 0.3


def run_overlap(workdir, env, controllers, trial):
    """Two overlapping jobs against one fresh simulator; duplicates and misses counted from its record."""
    name = 'overlap_%dc_%d' % (controllers, trial)
    sim = BenchSimulator(OVERLAP, workdir, name)
    try:
        before = sim.get('/_sim/attempts')
        sim.post('/_sim/stats/reset', {})
        started, jobs = time.monotonic(), []
        for copy in range(2):
            tmpdir = os.path.join(workdir, '%s-controller-%d' % (name, copy if controllers == 2 else 0))
            if not os.path.isdir(tmpdir):
                os.makedirs(tmpdir)
            log = open(os.path.join(workdir, '%s-%d.log' % (name, copy)), 'w')
            jobs.append((subprocess.Popen([ansible_playbook(), OUR_PLAYBOOK, '-e', 'kapacitor_url=' + sim.url,
                                           '-e', 'retry_failed_runs_concurrency=%d' % CONCURRENCY],
                                          env=dict(env, TMPDIR=tmpdir), stdout=log, stderr=subprocess.STDOUT), log))
            if copy == 0:
                time.sleep(OVERLAP_GAP)
        codes = []
        for proc, log in jobs:
            codes.append(proc.wait(600))
            log.close()
        wall = time.monotonic() - started
        quality = retry_quality(before, sim.get('/_sim/attempts'))
        stats = sim.get('/_sim/stats')
    finally:
        sim.stop()
    return dict(quality, name=name, controllers=controllers, exit_code=max(codes), wall_s=round(wall, 2),
                list_requests=sum(n for route, n in stats['requests'].items() if route.startswith('GET ')),
                retries_issued=stats['requests'].get('POST /api/v2/tasks/:id/runs/:rid/retry', 0))


# =====================================================================================================================
# Report
# =====================================================================================================================

def machine():
    version = subprocess.check_output([ansible_playbook(), '--version'], env=dict(os.environ, ANSIBLE_NOCOLOR='1'))
    return {'date': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'),
            'cpus': os.cpu_count(), 'platform': platform.platform(), 'processor': platform.machine(),
            'python': platform.python_version(), 'ansible': version.decode().splitlines()[0]}


def report(results, args):
    ours, cli, uri, noop, large, wide = (results.get(k) for k in ('ours', 'cli', 'uri', 'noop', 'large_listing_lean',
                                                                  'large_listing'))
    facts = ours['scenario']
    lower_retry = ours['unique_to_retry'] * DEFAULT['run_seconds'] / CONCURRENCY
    # The uri loop ran on `uri_tasks` of the tasks; its work grows linearly with the tasks (identical tasks),
    # so its time beyond Ansible's start-up is scaled up; requests, retries and misses scale exactly.
    scale = float(facts['tasks']) / uri['scenario']['tasks']
    uri_wall = noop['wall_s'] + (uri['wall_s'] - noop['wall_s']) * scale
    ratios = {
        'cli_wall_over_ours': round(cli['wall_s'] / ours['wall_s'], 2),
        'uri_wall_over_ours': round(uri_wall / ours['wall_s'], 2),
        'uri_wall_extrapolated_s': round(uri_wall, 1), 'uri_scale': scale,
        'ours_list_over_lower_bound': round(ours['list_requests'] / float(facts['list_lower_bound']), 3),
        'ours_retry_phase_over_lower_bound': round(ours['retry_phase_s'] / lower_retry, 3),
        'cli_requests_over_ours': round(cli['requests_total'] / float(ours['requests_total']), 2),
    }
    bounds = {'list_requests': facts['list_lower_bound'], 'retry_phase_s': lower_retry,
              'U': ours['unique_to_retry'], 'D_s': DEFAULT['run_seconds'], 'C': CONCURRENCY}
    targets = [
        ('list requests <= 1.05 x lower bound (%d)' % facts['list_lower_bound'],
         ours['list_requests'] <= 1.05 * facts['list_lower_bound'], '%d' % ours['list_requests']),
        ('retry phase <= 1.3 x U*D/C (%.2f s)' % lower_retry,
         ours['retry_phase_s'] <= 1.3 * lower_retry, '%.2f s (%.2fx)' % (ours['retry_phase_s'], ratios['ours_retry_phase_over_lower_bound'])),
        ('end to end >= 3x faster than the CLI algorithm', ratios['cli_wall_over_ours'] >= 3, '%.1fx' % ratios['cli_wall_over_ours']),
        ('end to end >= 20x faster than the uri loop', ratios['uri_wall_over_ours'] >= 20,
         '%.1fx%s' % (ratios['uri_wall_over_ours'], ' (extrapolated x%g)' % scale if scale != 1 else '')),
        ('zero duplicate retries', ours['duplicate_retries'] == 0, '%d' % ours['duplicate_retries']),
        ('zero missed failed scheduled times', ours['missed'] == 0, '%d' % ours['missed']),
        ('ours exits 0', ours['exit_code'] == 0, '%d' % ours['exit_code']),
    ]
    overlap = overlap_figures(results)
    for controllers, goal in ((1, 0.0), (2, 1.0)):
        figures = overlap.get(controllers)
        if figures:
            targets.append(('overlapping jobs, %d controller%s: duplicates per 60 <= %g, none missed'
                            % (controllers, '' if controllers == 1 else 's', goal),
                            figures['per_60'] <= goal and figures['missed'] == 0 and figures['exit_code'] == 0,
                            '%.2f per 60 (%d in %d trials), %d missed'
                            % (figures['per_60'], figures['duplicates'], figures['trials'], figures['missed'])))
    if large is not None:
        complete = large['listed'] is not None and large['listed'].get('runs') == large['scenario']['runs']
        targets.append(('large: every run listed (%d), exit 0' % large['scenario']['runs'],
                        complete and large['exit_code'] == 0,
                        '%s runs' % (large['listed'] or {}).get('runs')))
        targets.append(('large: peak memory < 200 MB (largest process; fields: %s)' % ', '.join(LEAN_FIELDS),
                        large['peak_rss_mb'] < 200, '%.0f MB (every key: %s MB)'
                        % (large['peak_rss_mb'], '%.0f' % wide['peak_rss_mb'] if wide else 'not run')))

    columns = [('ours', ours), ('cli algorithm', cli), ('uri loop', uri)]
    rows = [
        ('tasks x runs in scenario', lambda r: '%d / %d' % (r['scenario']['tasks'], r['scenario']['runs'])),
        ('wall time, end to end (s)', lambda r: '%.2f' % r['wall_s']),
        ('  start -> first retry (s)', lambda r: fmt(r['before_retries_s'])),
        ('  retry phase, sim side (s)', lambda r: fmt(r['retry_phase_s'])),
        ('  last retry -> exit (s)', lambda r: fmt(r['after_retries_s'])),
    ]
    routes = sorted(set(route for dummy, r in columns for route in r['requests']))
    rows += [('requests ' + route, route_cell(route)) for route in routes]
    rows += [
        ('requests total', lambda r: '%d' % r['requests_total']),
        ('retries issued', lambda r: '%d' % r['retries_issued']),
        ('scheduled times needing a retry (U)', lambda r: '%d' % r['unique_to_retry']),
        ('duplicate retries', lambda r: '%d' % r['duplicate_retries']),
        ('missed failed scheduled times', lambda r: '%d' % r['missed']),
        ('peak concurrent retries', lambda r: '%d' % r['peak_concurrent_retries']),
        ('peak RSS, largest process (MB)', lambda r: '%.1f' % r['peak_rss_mb']),
        ('peak PSS, sum of tree (MB, psutil)', lambda r: fmt(r['peak_sum_pss_mb'], '%.1f')),
        ('CPU user+sys (s)', lambda r: '%.2f' % r['cpu_s']),
        ('exit code', lambda r: '%d' % r['exit_code']),
    ]
    if SAMPLE_MEMORY[0] != '1':
        rows = [row for row in rows if 'PSS' not in row[0]]
    print('\nDefault scenario: %d tasks x %d runs, %g %% failed, 1/3 of failures already retried, run %.1f s, '
          'latency %d ms, concurrency %d' % (DEFAULT['tasks'], DEFAULT['runs_per_task'], DEFAULT['failed_ratio'] * 100,
                                             DEFAULT['run_seconds'], LATENCY_MS, CONCURRENCY))
    print('cli algorithm = Python re-implementation of `kapacitor flux task retry-failed` with its defaults '
          '(--task-limit 100, --run-limit 100)')
    if scale != 1:
        print('uri loop ran on %d of the %d tasks (same tasks); its time is extrapolated x%g below' % (
            uri['scenario']['tasks'], facts['tasks'], scale))
    width = max(len(label) for label, dummy in rows) + 2
    print('\n' + ''.join([' ' * width] + ['%16s' % title for title, dummy in columns]))
    for label, cell in rows:
        print(label.ljust(width) + ''.join('%16s' % cell(r) for dummy, r in columns))
    print('\nAnsible start-up (no-op playbook): %.2f s, %.1f MB' % (noop['wall_s'], noop['peak_rss_mb']))
    print('Lower bounds: list requests ceil(T/500) + sum ceil(R_i/500) = %d; retry phase U*D/C = %d*%.1f/%d = %.2f s'
          % (bounds['list_requests'], bounds['U'], bounds['D_s'], bounds['C'], lower_retry))
    print('Ratios: cli/ours wall %.2fx, uri/ours wall %.2fx (uri %s %.1f s), cli/ours requests %.2fx, '
          'ours list requests/lower bound %.3f, ours retry phase/lower bound %.3f' % (
              ratios['cli_wall_over_ours'], ratios['uri_wall_over_ours'],
              'extrapolated to' if scale != 1 else 'measured', uri_wall, ratios['cli_requests_over_ours'],
              ratios['ours_list_over_lower_bound'], ratios['ours_retry_phase_over_lower_bound']))
    for large, label in ((wide, 'every key of each run'), (large, 'fields: ' + ', '.join(LEAN_FIELDS))):
        if large is None:
            continue
        print('\nLarge scenario (listing only, kapacitor_task_runs_info over every task, concurrency %d, %s): %d tasks, %d runs'
              % (CONCURRENCY, label, large['scenario']['tasks'], large['scenario']['runs']))
        print('  wall %.2f s, list requests %d (lower bound %d), runs listed %s, peak RSS largest process %.1f MB%s, exit %d'
              % (large['wall_s'], large['list_requests'], large['scenario']['list_lower_bound'],
                 (large['listed'] or {}).get('runs'), large['peak_rss_mb'],
                 '' if large['peak_sum_pss_mb'] is None else ', PSS sum of tree %.1f MB' % large['peak_sum_pss_mb'],
                 large['exit_code']))
    for controllers, figures in sorted(overlap.items()):
        print('\nOverlapping jobs (two playbook runs %.1f s apart, %d controller%s, %d failed scheduled times, run %.1f s), '
              '%d trial(s): duplicates %d, missed %d, retries issued %d, list requests %d, wall %.1f s per trial'
              % (OVERLAP_GAP, controllers, '' if controllers == 1 else 's', figures['unique_to_retry'],
                 OVERLAP['run_seconds'], figures['trials'], figures['duplicates'], figures['missed'],
                 figures['retries_issued'], figures['list_requests'], figures['wall_s']))
    print('\nTargets%s:' % (' (set for the default scenario; --quick only checks that the benchmark runs)'
                            if args.quick else ''))
    for label, ok, value in targets:
        print('  %-4s %-55s %s' % ('PASS' if ok else 'MISS', label, value))

    document = {'machine': machine(), 'scenarios': {'default': DEFAULT, 'large': LARGE, 'latency_ms': LATENCY_MS,
                                                    'concurrency': CONCURRENCY, 'uri_tasks': uri['scenario']['tasks']},
                'contenders': results, 'lower_bounds': bounds, 'ratios': ratios,
                'targets': [{'target': label, 'pass': ok, 'value': value} for label, ok, value in targets]}
    with open(args.output, 'w') as handle:
        json.dump(document, handle, indent=2, sort_keys=True)
        handle.write('\n')
    print('\nWrote %s' % args.output)
    return all(target[1] for target in targets)


def overlap_figures(results):
    """Per number of controllers: duplicates per 60 retried scheduled times, summed over the trials."""
    figures = {}
    for result in results.values():
        if 'controllers' not in result:
            continue
        into = figures.setdefault(result['controllers'], {'trials': 0, 'duplicates': 0, 'missed': 0, 'unique_to_retry': 0,
                                                          'retries_issued': 0, 'list_requests': 0, 'wall': 0.0,
                                                          'exit_code': 0})
        into['trials'] += 1
        for key in ('duplicates', 'missed', 'retries_issued', 'list_requests'):
            into[key] += result['duplicate_retries' if key == 'duplicates' else key]
        into['unique_to_retry'] = result['unique_to_retry']
        into['wall'] += result['wall_s']
        into['exit_code'] = max(into['exit_code'], result['exit_code'])
    for into in figures.values():
        into['per_60'] = 60.0 * into['duplicates'] / (into['unique_to_retry'] * into['trials'])
        into['wall_s'] = into['wall'] / into['trials']
    return figures


def route_cell(route):
    return lambda r: '%d' % r['requests'].get(route, 0)


def fmt(value, pattern='%.2f'):
    return '-' if value is None else pattern % value


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--output', default=os.path.join(ROOT, 'bench-results.json'), help='JSON results file')
    parser.add_argument('--uri-tasks', type=int, default=10,
                        help='tasks in the uri loop\'s reduced scenario (default 10 of 50; 50 = no extrapolation, ~5 min)')
    parser.add_argument('--skip-large', action='store_true', help='skip the 100,000-run listing scenario')
    parser.add_argument('--overlap-trials', type=int, default=3,
                        help='runs of the two-overlapping-jobs scenario, on one controller and on two (default 3 each)')
    parser.add_argument('--quick', action='store_true', help='smoke test: 10 tasks, uri loop on 2, no large scenario')
    parser.add_argument('--sample-memory', action='store_true',
                        help='also sample the summed PSS of each contender\'s process tree (needs psutil; perturbs timings)')
    parser.add_argument('--keep', action='store_true', help='keep the work directory (logs of every contender)')
    parser.add_argument('--cli-client', metavar='URL', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cli_client:
        cli_retry_failed(args.cli_client)
        return 0
    if args.sample_memory:
        SAMPLE_MEMORY[0] = '1'
    if args.quick:
        DEFAULT['tasks'], args.uri_tasks, args.skip_large, args.overlap_trials = 10, 2, True, 1

    workdir = tempfile.mkdtemp(prefix='kapacitor-bench-')
    env = ansible_env(workdir)
    results = {}
    try:
        steps = [('noop', lambda: run_noop(workdir, env)),
                 ('ours', lambda: run_ours(workdir, env, DEFAULT)),
                 ('cli', lambda: run_cli(workdir, env, DEFAULT)),
                 ('uri', lambda: run_uri_loop(workdir, env, dict(DEFAULT, tasks=min(args.uri_tasks, DEFAULT['tasks']))))]
        for trial in range(args.overlap_trials):
            steps.append(('overlap_1c_%d' % trial, lambda trial=trial: run_overlap(workdir, env, 1, trial)))
            steps.append(('overlap_2c_%d' % trial, lambda trial=trial: run_overlap(workdir, env, 2, trial)))
        if not args.skip_large:
            steps.append(('large_listing', lambda: run_large_listing(workdir, env, LARGE)))
            steps.append(('large_listing_lean', lambda: run_large_listing(workdir, env, LARGE, LEAN_FIELDS)))
        for name, step in steps:
            started = time.monotonic()
            print('running %-14s ...' % name, end=' ')
            sys.stdout.flush()
            results[name] = step()
            print('%.1f s (exit %d)' % (time.monotonic() - started, results[name]['exit_code']))
        ok = report(results, args)
    finally:
        if args.keep:
            print('work directory kept: %s' % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
