# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark of "retry every failed run", on the Kapacitor simulator.

Contenders, each on a fresh simulator loaded with the same scenario:

1. ours:  playbooks/retry_failed_runs.yml (role tickstack.kapacitor.retry_failed_runs).
2. cli:   a re-implementation in Python (requests) of the algorithm of ``kapacitor flux task
          retry-failed`` with its defaults (--task-limit 100, --run-limit 100), see cli_retry_failed().
3. uri:   tests/benchmark/uri_loop.yml, a straightforward ansible.builtin.uri loop; run on a reduced
          copy of the scenario (fewer tasks, same tasks) and extrapolated, because it takes minutes.

Plus our playbook against an InfluxDB 2 simulator (``--flavor influxdb2``) loaded with the same scenario, where a
retry answers at once and the retry module polls each new run to its end.

Plus, for fleets: a fleet (our playbook once over an inventory of 10 hosts, each its own simulator with the default
scenario, forks 10); a listing-only run of kapacitor_task_runs_info over every task of a large scenario (100,000
runs), with every key and with ``fields``, against a bare ``requests`` script fetching the same pages; and the
role's summary filters over 500 results, called from Python and templated by ansible-core.

    make bench                                  # the normal way (venv, collection path, ANSIBLE_HOME)
    python tests/benchmark/bench.py [--output FILE] [--uri-tasks N] [--skip-large] [--skip-fleet]
                                    [--fleet-servers N] [--overlap-trials N] [--skip-influxdb2] [--quick] [--keep]

Prints a table, the ratios against our playbook, the lower bounds and PASS/MISS per target, and
writes everything to a JSON file (default: bench-results.json at the collection root).
Needs only what .ci/requirements.txt installs (ansible-core, requests); memory per process is read from /proc.
"""


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
PAGE = 500  # Kapacitor's largest page, for tasks and for runs (InfluxDB 2's too)
FLEET_SERVERS = 10
# The InfluxDB 2 simulator's defaults: its one org and an all-access token (docs/simulator.md).
INFLUX_ORG = 'sim-org'
INFLUX_TOKEN = 'sim-token'
# List requests are the GETs of tasks and runs (the same route names in both flavors); the other GETs (a module's
# detection of the server type, the read of InfluxDB's _tasks bucket for the run-history horizon) are counted apart.
LIST_ROUTE = 'GET /api/v2/tasks'
# InfluxDB 2 (2.5 and later) starts a retried run on the next tick of a 1-second ticker (the simulator does the same).
INFLUX_TICK_S = 1.0
RETRY_ROUTE = 'POST /api/v2/tasks/:id/runs/:rid/retry'

# Default scenario: 50 tasks x 200 runs (1 per minute), 4 % failed, a third of the failures already
# retried once with success, a retried run executes 0.2 s.
DEFAULT = {'tasks': 50, 'name_prefix': 'task', 'runs_per_task': 200, 'every': '1m', 'failed_ratio': 0.04,
           'retried_ratio': 1.0 / 3, 'run_seconds': 0.2, 'seed': 1}
# Large scenario, listing only: 2,000 tasks x 50 runs = 100,000 runs.
LARGE = {'tasks': 2000, 'name_prefix': 'big', 'runs_per_task': 50, 'every': '1m', 'failed_ratio': 0.04,
         'retried_ratio': 0.0, 'run_seconds': 0.2, 'seed': 2}

# Runs a command, then writes its wall time, exit code and peak memory to a JSON file. A fresh process per
# contender, so that RUSAGE_CHILDREN covers this contender's processes only (not the simulators'):
# ru_maxrss of children is the largest peak RSS of any single descendant (ansible-playbook, its forked
# workers, the module processes). On Linux it also reads /proc every 0.2 s (a few files per process, cheap
# enough not to slow Ansible down): the peak RSS (VmHWM) of the main ansible-playbook process, of its largest
# forked worker and of its largest module process, and the peak of the RSS summed over the whole tree.
WRAPPER = r"""
import json, os, resource, subprocess, sys, time
out, log, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]


def status_kb(pid, field):
    try:
        with open('/proc/%d/status' % pid) as handle:
            for line in handle:
                if line.startswith(field):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def descendants(root):
    children = {}
    for name in os.listdir('/proc'):
        if name.isdigit():
            try:
                with open('/proc/%s/stat' % name) as handle:
                    ppid = int(handle.read().rsplit(')', 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def kind(pid, root, cmdlines):
    if pid == root:
        return 'main'
    if pid not in cmdlines:
        try:
            with open('/proc/%d/cmdline' % pid, 'rb') as handle:
                cmdlines[pid] = handle.read().replace(b'\0', b' ').decode('utf-8', 'replace')
        except OSError:
            return None
    line = cmdlines[pid]
    if 'AnsiballZ' in line and not line.startswith('/bin/sh'):
        return 'module'
    return 'worker' if 'ansible-playbook' in line else 'other'


start_wall, start = time.time(), time.monotonic()
peaks, tree_peak, cmdlines = {}, 0, {}
with open(log, 'wb') as handle:
    proc = subprocess.Popen(cmd, stdout=handle, stderr=subprocess.STDOUT)
    while os.path.isdir('/proc') and proc.poll() is None:
        total = 0
        for pid in descendants(proc.pid):
            what = kind(pid, proc.pid, cmdlines)
            if what is None:
                continue
            total += status_kb(pid, 'VmRSS:')
            peaks[what] = max(peaks.get(what, 0), status_kb(pid, 'VmHWM:'))
        tree_peak = max(tree_peak, total)
        time.sleep(0.2)
    rc = proc.wait()
wall = time.monotonic() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(out, 'w') as handle:
    json.dump({'rc': rc, 'wall': wall, 'start_wall': start_wall, 'end_wall': start_wall + wall,
               'maxrss_kb': usage.ru_maxrss, 'cpu_user': usage.ru_utime, 'cpu_sys': usage.ru_stime,
               'peaks_kb': peaks, 'tree_peak_kb': tree_peak}, handle)
"""


# =====================================================================================================================
# The simulator
# =====================================================================================================================

class BenchSimulator:
    """A fresh simulator process (SimulatorProcess) loaded with one scenario, with the 2 ms per-request latency on;
    ``flavor`` ``influxdb2`` makes it an InfluxDB 2 server."""

    def __init__(self, generate, workdir, name, flavor='kapacitor'):
        path = os.path.join(workdir, 'scenario-%s.json' % name)
        with open(path, 'w') as handle:
            json.dump({'tasks': [], 'generate': generate}, handle)
        started = time.monotonic()
        simdir = os.path.join(workdir, 'sim-%s' % name)
        os.makedirs(simdir, exist_ok=True)
        self.process = SimulatorProcess('--scenario', path, workdir=simdir, flavor=flavor)
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

    Same requests in the same order as influx-cli's Client.RetryFailed (docs/kapacitor-api.md §8):
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


def bare_listing(url, concurrency=CONCURRENCY):
    """The floor of a listing: fetch and decode the pages kapacitor_task_runs_info fetches, with plain requests.

    Every task in pages of 500 (``after`` cursor), then each task's runs of the last 24 hours in pages of 500
    (``beforeTime`` moved back past the oldest run of a full page), ``concurrency`` tasks at a time, one
    keep-alive session per thread. Nothing is checked, grouped or kept beyond the decoded pages.
    """
    import threading  # pylint: disable=import-outside-toplevel
    from concurrent.futures import ThreadPoolExecutor  # pylint: disable=import-outside-toplevel
    local, base = threading.local(), url + API
    after_time = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(time.time() - 86400))

    def get(path, params):
        if not hasattr(local, 'session'):
            local.session = requests.Session()
        response = local.session.get(base + path, params=params, timeout=600)
        response.raise_for_status()
        return response.json()

    tasks, after = [], None
    while True:
        page = get('/tasks', dict({'limit': PAGE}, **({'after': after} if after else {})))['tasks']
        tasks.extend(page)
        if len(page) < PAGE:
            break
        after = page[-1]['id']

    def runs_of(task):
        runs, params = [], {'limit': PAGE, 'afterTime': after_time}
        while True:
            page = get('/tasks/%s/runs' % task['id'], params)['runs']
            runs.extend(page)
            if len(page) < PAGE:
                return runs
            params = dict(params, beforeTime=min(run['scheduledFor'] for run in page))

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        listed = sum(len(runs) for runs in pool.map(runs_of, tasks))
    print('%d tasks, %d runs' % (len(tasks), listed))


# =====================================================================================================================
# Measuring
# =====================================================================================================================

# A callback (written into the work directory, enabled for every ansible-playbook of the benchmark) that writes the
# wall time of each task to $BENCH_TASK_TIMES: from the task's start to the next task's start (or the play's end). It
# has no per-result hook on purpose: since ansible-core 2.19 the main process deep-copies every result once per
# callback that has one (2.17 and 2.18 do it for every callback), and the instrument must not add that to the Ansible
# runs it measures.
TASK_TIMES_CALLBACK = """
import json, os, time
from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'bench_task_times'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.tasks, self.current = [], None

    def _close(self):
        if self.current is not None:
            self.current['seconds'] = round(time.monotonic() - self.current.pop('start'), 3)
            self.tasks.append(self.current)
        self.current = None

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._close()
        self.current = {'task': task.get_name(), 'start': time.monotonic()}

    def v2_playbook_on_stats(self, stats):
        self._close()
        if os.environ.get('BENCH_TASK_TIMES'):
            with open(os.environ['BENCH_TASK_TIMES'], 'w') as handle:
                json.dump(self.tasks, handle)
"""


def ansible_env(workdir):
    """The environment for ansible-playbook: the one `make bench` sets, or a self-made equivalent."""
    env = dict(os.environ)
    if not env.get('ANSIBLE_COLLECTIONS_PATH'):
        link = os.path.join(workdir, 'collections', 'ansible_collections', 'tickstack')
        os.makedirs(link)
        os.symlink(ROOT, os.path.join(link, 'kapacitor'))
        env['ANSIBLE_COLLECTIONS_PATH'] = os.path.join(workdir, 'collections')
    callbacks = os.path.join(workdir, 'callback_plugins')
    os.makedirs(callbacks, exist_ok=True)
    with open(os.path.join(callbacks, 'bench_task_times.py'), 'w') as handle:
        handle.write(TASK_TIMES_CALLBACK)
    env.setdefault('ANSIBLE_PYTHON_INTERPRETER', sys.executable)
    env.setdefault('ANSIBLE_HOME', os.path.join(workdir, 'ansible-home'))
    env.update({'ANSIBLE_LOCALHOST_WARNING': 'false', 'ANSIBLE_INVENTORY_UNPARSED_WARNING': 'false',
                'ANSIBLE_NOCOLOR': '1', 'PYTHONDONTWRITEBYTECODE': '1', 'ANSIBLE_CALLBACK_PLUGINS': callbacks,
                'ANSIBLE_CALLBACKS_ENABLED': 'bench_task_times'})
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
    return {(task_id, when)
            for task_id, by_time in attempts.items()
            for when, runs in by_time.items() if runs and runs[-1]['status'] == 'failed'}


def wrapped(name, cmd, env, workdir):
    """Run ``cmd`` in a fresh WRAPPER process; its wall time, exit code, CPU and peak memory (MB) per kind of process."""
    out, log = os.path.join(workdir, '%s.json' % name), os.path.join(workdir, '%s.log' % name)
    times = os.path.join(workdir, '%s-task-times.json' % name)
    subprocess.check_call([sys.executable, '-c', WRAPPER, out, log] + cmd, env=dict(env, BENCH_TASK_TIMES=times))
    with open(out) as handle:
        proc = json.load(handle)
    proc['task_times'] = None
    if os.path.exists(times):
        with open(times) as handle:
            proc['task_times'] = json.load(handle)
    mb = {kind: round(kb / 1024.0, 1) for kind, kb in proc['peaks_kb'].items()}
    proc.update(peak_rss_mb=round(proc['maxrss_kb'] / 1024.0, 1), tree_rss_mb=round(proc['tree_peak_kb'] / 1024.0, 1),
                main_rss_mb=mb.get('main'), worker_rss_mb=mb.get('worker'), module_rss_mb=mb.get('module'))
    return proc


MEMORY_KEYS = ('peak_rss_mb', 'main_rss_mb', 'worker_rss_mb', 'module_rss_mb', 'tree_rss_mb')


def measure(name, sims, cmd, env, workdir, attempts=True):
    """Run one contender in a fresh wrapper process and collect everything its simulator(s) saw.

    ``sims`` is one BenchSimulator or a list (a fleet): requests are summed over them, duplicates and misses are
    counted per simulator (``per_server``) and summed.
    """
    fleet = isinstance(sims, list)
    sims = sims if fleet else [sims]
    befores = [sim.get('/_sim/attempts') if attempts else None for sim in sims]
    for sim in sims:
        sim.post('/_sim/stats/reset', {})
    proc = wrapped(name, cmd, env, workdir)
    requests_by_route, total, per_server = {}, 0, []
    for sim, before in zip(sims, befores):
        stats = sim.get('/_sim/stats')
        for route, count in stats['requests'].items():
            requests_by_route[route] = requests_by_route.get(route, 0) + count
        total += stats['requests_total']
        server = {'list_requests': list_requests(stats['requests']), 'other_gets': other_gets(stats['requests']),
                  'retries_issued': stats['requests'].get(RETRY_ROUTE, 0),
                  'peak_concurrent_retries': stats['peak_concurrent_retries']}
        if attempts:
            server.update(retry_quality(before, sim.get('/_sim/attempts')))
            server.update(retry_phase(before, sim.get('/_sim/state'), proc))
        per_server.append(server)
    result = {
        'name': name, 'exit_code': proc['rc'], 'wall_s': round(proc['wall'], 3),
        'requests': dict(sorted(requests_by_route.items())), 'requests_total': total,
        'cpu_s': round(proc['cpu_user'] + proc['cpu_sys'], 2), 'task_times': proc['task_times'],
    }
    result.update((key, proc[key]) for key in MEMORY_KEYS)
    for key in ('list_requests', 'other_gets', 'retries_issued', 'unique_to_retry', 'new_attempts', 'duplicate_retries',
                'missed'):
        if key in per_server[0]:
            result[key] = sum(server[key] for server in per_server)
    result['peak_concurrent_retries'] = max(server['peak_concurrent_retries'] for server in per_server)
    if attempts:
        phases = [server for server in per_server if server['retry_phase_s'] is not None]
        result.update({'retry_phase_s': None, 'before_retries_s': None, 'after_retries_s': None})
        if phases:  # over the fleet: first retry anywhere -> last retried run finished anywhere
            result['before_retries_s'] = min(server['before_retries_s'] for server in phases)
            result['after_retries_s'] = min(server['after_retries_s'] for server in phases)
            result['retry_phase_s'] = round(proc['wall'] - result['before_retries_s'] - result['after_retries_s'], 3)
    if fleet:
        result['per_server'] = per_server
    return result


def list_requests(requests_by_route):
    """The GETs of tasks and runs among the simulator's request counts."""
    return sum(count for route, count in requests_by_route.items() if route.startswith(LIST_ROUTE))


def other_gets(requests_by_route):
    """The other GETs: detection of the server type, InfluxDB's _tasks bucket."""
    return sum(count for route, count in requests_by_route.items()
               if route.startswith('GET ') and not route.startswith(LIST_ROUTE))


def retry_quality(before, after):
    """Duplicates and misses, from the attempts per (task, scheduledFor) before and after the contender.

    A new attempt is a duplicate when the attempt before it (by ID) had not failed: an attempt after the
    failure already existed, or the scheduled time was retried twice. A scheduled time is missed when its
    latest attempt was failed before and it got no new attempt.
    """
    old = {run['id'] for by_time in before.values() for runs in by_time.values() for run in runs}
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
    old = {run['id'] for by_time in before.values() for runs in by_time.values() for run in runs}
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


def ours_command(url=None, inventory=None, forks=None, influxdb2=False):
    command = [ansible_playbook(), OUR_PLAYBOOK, '-e', 'retry_failed_runs_concurrency=%d' % CONCURRENCY]
    if url:
        command += ['-e', 'kapacitor_url=' + url]
    if influxdb2:   # what an InfluxDB user gives: the token and the org; the server type is detected
        command += ['-e', 'kapacitor_token=' + INFLUX_TOKEN, '-e', 'kapacitor_org=' + INFLUX_ORG]
    if inventory:
        command += ['-i', inventory, '--forks', str(forks)]
    return command


def run_ours(workdir, env, generate, name='ours', flavor='kapacitor'):
    """Our playbook on one server; first (read-only, same simulator) the role's listing alone, by
    kapacitor_task_runs_info, so that the list requests of the listing phase can be told from those made while
    retrying (pre-POST checks, and on InfluxDB 2 the polling of each new run)."""
    influxdb2 = flavor == 'influxdb2'
    sim = BenchSimulator(generate, workdir, name, flavor=flavor)
    try:
        facts = scenario_facts(sim)
        facts['simulator_load_s'] = round(sim.load_seconds, 1)
        options = dict(ROLE_LISTING, token=INFLUX_TOKEN, org=INFLUX_ORG) if influxdb2 else ROLE_LISTING
        playbook = listing_playbook(workdir, name + '_listing', options)
        listing = measure(name + '_listing', sim, [ansible_playbook(), playbook, '-e', 'kapacitor_url=' + sim.url],
                          env, workdir, attempts=False)
        result = measure(name, sim, ours_command(sim.url, influxdb2=influxdb2), env, workdir)
    finally:
        sim.stop()
    result['scenario'] = facts
    result['flavor'] = flavor
    result['listing_phase'] = {key: listing[key] for key in ('wall_s', 'list_requests', 'other_gets', 'exit_code')}
    return result


def run_fleet(workdir, env, generate, servers):
    """Our playbook once over an inventory of ``servers`` hosts (group ``kapacitor``), each its own simulator loaded
    with ``generate``, with as many forks as hosts; the API calls run on the controller (the role's delegate_to)."""
    sims = []
    try:
        for index in range(servers):
            sims.append(BenchSimulator(generate, workdir, 'fleet-%02d' % index))
        facts = scenario_facts(sims[0])
        facts['servers'] = servers
        facts['simulator_load_s'] = round(sum(sim.load_seconds for sim in sims), 1)
        inventory = os.path.join(workdir, 'fleet-inventory.json')
        with open(inventory, 'w') as handle:
            json.dump({'kapacitor': {'hosts': {
                'kapacitor%02d' % index: {'kapacitor_url': sim.url, 'ansible_connection': 'local',
                                          'ansible_python_interpreter': env['ANSIBLE_PYTHON_INTERPRETER']}
                for index, sim in enumerate(sims)}}}, handle, indent=2)
        result = measure('fleet', sims, ours_command(inventory=inventory, forks=servers), env, workdir)
    finally:
        for sim in sims:
            sim.stop()
    result['scenario'] = facts
    return result


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
    proc = wrapped('noop', [ansible_playbook(), playbook], env, workdir)
    return dict({key: proc[key] for key in MEMORY_KEYS}, name='noop', exit_code=proc['rc'], wall_s=round(proc['wall'], 3))


# The listing the role's first retry call makes (tasks/main.yml, failed), as kapacitor_task_runs_info arguments, with
# the role's defaults and the benchmark's concurrency.
ROLE_LISTING = {'task_status': 'active', 'status': ['failed'], 'latest_attempt_only': True, 'after_time': '24h',
                'concurrency': CONCURRENCY}

# The large listing is measured twice: with every key of every run, and with the four keys an operator
# scanning 100,000 runs needs (the `fields` option), because Ansible holds a module's whole result in
# several processes at once and its peak memory grows with the width of each run record.
LEAN_FIELDS = ['id', 'task_id', 'status', 'scheduled_for']


def listing_playbook(workdir, name, options, module='kapacitor_task_runs_info'):
    """A playbook that calls ``module`` with ``options``, registers the result as the role does and writes its totals
    to ``<name>_totals.json``."""
    playbook = os.path.join(workdir, name + '.yml')
    with open(playbook, 'w') as handle:
        text = """- hosts: localhost
  gather_facts: false
  tasks:
    - name: List the runs
      tickstack.kapacitor.%s: %s
      register: listing
    - name: Keep the totals
      ansible.builtin.copy:
        content: "{{ listing.totals | to_json }}"
        dest: %s
        mode: "0644"
"""
        handle.write(text % (module, json.dumps(dict(options, url='{{ kapacitor_url }}'), sort_keys=True),
                             os.path.join(workdir, name + '_totals.json')))
    return playbook


def run_large_listing(workdir, env, generate, fields=None, export=False, name=None):
    """kapacitor_task_runs_info over every task of the large scenario, registered; with
    ``export``, kapacitor_task_runs_export writing every key of every run to a file instead (its lines are counted)."""
    name = name or ('export_all' if export else 'list_all_lean' if fields else 'list_all')
    options = {'after_time': '24h', 'concurrency': CONCURRENCY}
    if fields:
        options['fields'] = fields
    dest = os.path.join(workdir, name + '.jsonl')
    if export:
        options['dest'] = dest
    playbook = listing_playbook(workdir, name, options,
                                'kapacitor_task_runs_export' if export else 'kapacitor_task_runs_info')
    result = run_on_fresh_simulator(name, workdir, env, generate, lambda url: [
        ansible_playbook(), playbook, '-e', 'kapacitor_url=' + url], attempts=False)
    totals = os.path.join(workdir, name + '_totals.json')
    result['listed'] = json.load(open(totals)) if os.path.exists(totals) else None
    if export and os.path.exists(dest):
        with open(dest, 'rb') as handle:
            result['lines_written'] = sum(1 for dummy in handle)
    elif export:
        result['lines_written'] = 0
    return result


def run_bare_listing(workdir, env, generate):
    """bare_listing() in its own Python process, on the large scenario: the floor the listing task is held to."""
    return run_on_fresh_simulator('bare_listing', workdir, env, generate, lambda url: [
        sys.executable, os.path.abspath(__file__), '--bare-listing', url], attempts=False)


# The role's per-host summary (filter plugins retry_summary and retry_summary_lines, as tasks/main.yml calls them)
# over SUMMARY_RESULTS results registered as the role registers them; run in a fresh Python with the collection
# importable. Each is timed twice: called from Python, and templated by ansible-core as the role's tasks template
# them (ansible-core 2.19 hands a filter lazy containers, checks every value it reads and finalizes what it returns:
# the role pays that, not the bare call). Prints the best of 5 of each, in seconds, as JSON.
SUMMARY_RESULTS = 500
SUMMARY_MICRO = r"""
import json, os, sys, time
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader
from ansible.template import Templar
try:
    from ansible.template import trust_as_template
except ImportError:  # before ansible-core 2.19, every template is trusted
    def trust_as_template(value):
        return value
init_plugin_loader(sys.argv[2].split(os.pathsep))  # before the first import from ansible_collections: the collection loader owns it
from ansible_collections.tickstack.kapacitor.plugins.filter.retry_summary import (
    retry_settings, retry_summary, retry_summary_lines)
count = int(sys.argv[1])
settings = retry_settings({'max_attempts': 3, 'concurrency': 8, 'retry_timeout': 1800, 'batch_rounds': 20,
                           'log_lines': 3, 'summary_runs': 10, 'table_rows': 20, 'since': '24h', 'after_time': '',
                           'before_time': '', 'min_age': '', 'skip_errors': []})
rows, results = [], []
for index in range(count):
    run_id, task_id = '%016x' % (0x0b00000000000000 + index), '%016x' % (0x0a00000000000000 + index // 8)
    when = '2026-11-29T%02d:%02d:00Z' % (index // 60 % 24, index % 60)
    error = 'failed to execute query: timeout'
    rows.append({'id': run_id, 'task_id': task_id, 'task_name': 'task%03d' % (index // 8), 'status': 'failed',
                 'scheduled_for': when, 'started_at': when, 'finished_at': when, 'requested_at': None,
                 'attempt': 1, 'attempts': 1, 'error': error})
    outcome = 'retried_failed' if index % 10 == 0 else 'retried'
    results.append({'task_id': task_id, 'task_name': 'task%03d' % (index // 8), 'run_id': run_id,
                    'scheduled_for': when, 'outcome': outcome, 'msg': '', 'attempts': 1, 'attempts_after': 2,
                    'latest_attempt_id': run_id, 'status_before': 'failed',
                    'new_run_id': '%016x' % (0x0c00000000000000 + index),
                    'status_after': 'failed' if outcome == 'retried_failed' else 'success',
                    'log': ['Started task from script: option task = {}', error,
                            'Completed(failed)'] if outcome == 'retried_failed' else [], 'error': error})
# As the role registers them: the retry module's first call lists the failed scheduled times, retries the first batch
# and returns the rest as `pending` (listing rows); a loop of calls retries the rest, a batch each.
size = settings['concurrency'] * settings['batch_rounds']
server = {'type': 'kapacitor', 'version': '1.8.3'}
tasks = [{'id': '%016x' % (0x0a00000000000000 + task), 'name': 'task%03d' % task, 'status': 'active', 'runs': 8,
          'run_counts': {'scheduled': 0, 'started': 0, 'success': 0, 'failed': 8, 'canceled': 0}}
         for task in range((count + 7) // 8)]
found = {'found': count, 'results': results[:size], 'pending': rows[size:], 'tasks': tasks, 'missing_tasks': [],
         'window': {'after_time': '2026-11-28T00:00:00Z', 'before_time': None}, 'changed': True,
         'duplicates_detected': [], 'server': server}
batches = [{'results': results[start:start + size], 'changed': True, 'duplicates_detected': [], 'server': server,
            'ansible_loop_var': '__retry_failed_runs_batch',
            '__retry_failed_runs_batch': {'start': start - size, 'end': start, 'label': 'batch %d' % (start // size)}}
           for start in range(size, count, size)]
retry = {'results': batches, 'changed': True, 'msg': 'All items completed'}
if len(sys.argv) > 3:   # the inputs of SUMMARY_PLAY
    with open(sys.argv[3], 'w') as handle:
        json.dump({'found': found, 'retry': retry, 'settings': settings}, handle)
templar = Templar(loader=DataLoader(), variables={'found': found, 'retry': retry, 'settings': settings})
SUM_UP = trust_as_template("{{ found | tickstack.kapacitor.retry_summary(retry, settings, host='kapacitor00', "
                           "url='http://127.0.0.1:9092') }}")
SHOW = trust_as_template("{{ summary | tickstack.kapacitor.retry_summary_lines(summary_runs=10, log_lines=3, "
                         "table_rows=20) }}")
best = {}
for dummy in range(5):
    started = time.perf_counter()
    summary = retry_summary(found, retry, settings, host='kapacitor00', url='http://127.0.0.1:9092')
    middle = time.perf_counter()
    lines = retry_summary_lines(summary, summary_runs=10, log_lines=3, table_rows=20)
    ended = time.perf_counter()
    templated = templar.template(SUM_UP)
    templar.available_variables = {'summary': templated}
    shown = time.perf_counter()
    templated_lines = templar.template(SHOW)
    done = time.perf_counter()
    templar.available_variables = {'found': found, 'retry': retry, 'settings': settings}
    for key, value in (('retry_summary_s', middle - started), ('retry_summary_lines_s', ended - middle),
                       ('templated_summary_s', shown - ended), ('templated_lines_s', done - shown)):
        best[key] = min(best.get(key, value), value)
figures = summary['figures']
assert figures['failed_found'] == figures['retried'] + figures['retried_failed'] == count, figures
assert templated == summary and list(templated_lines) == lines, 'the templated summary differs from the filter call'
print(json.dumps(dict(best, results=count, lines=len(lines))))
"""


# The same results summed up by ansible-playbook, as the role's task does it (the action
# tickstack.kapacitor.kapacitor_retry_summary, which reads them by name), beside the set_fact of the retry_summary
# filter that the role used before and a task that does nothing (what any task costs); each three times, timed by the
# benchmark's callback. The results are loaded with from_json, so that they are plain data that is not trusted as a
# template, as registered results are.
SUMMARY_PLAY = """
- name: The summary over {count} results
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Load the inputs
      ansible.builtin.set_fact:
        inputs: "{{{{ lookup('ansible.builtin.file', '{inputs}') | from_json }}}}"
    - name: Name them as the role does
      ansible.builtin.set_fact:
        found: "{{{{ inputs.found }}}}"
        retried: "{{{{ inputs.retry }}}}"
        settings: "{{{{ inputs.settings }}}}"
{tasks}
    - name: Check that the action and the filter agree
      ansible.builtin.assert:
        that:
          - by_action.figures == by_filter.figures
          - by_action.runs | length == by_filter.runs | length == {count}
"""
SUMMARY_PLAY_TASKS = """
    - name: No-op {n}
      ansible.builtin.debug:
        msg: nothing
    - name: Filter {n}
      ansible.builtin.set_fact:
        by_filter: "{{{{ found | tickstack.kapacitor.retry_summary(retried, settings, host='kapacitor00', url='http://127.0.0.1:9092') }}}}"
    - name: Action {n}
      tickstack.kapacitor.kapacitor_retry_summary:
        found: found
        retry: retried
        settings: "{{{{ settings }}}}"
        host: kapacitor00
        url: http://127.0.0.1:9092
      register: by_action
"""


def run_summary_micro(env, workdir):
    """The role's summary filters over SUMMARY_RESULTS results, timed in a fresh Python process; then the same results
    summed up by ansible-playbook (SUMMARY_PLAY)."""
    inputs = os.path.join(workdir, 'summary-inputs.json')
    output = subprocess.check_output([sys.executable, '-c', SUMMARY_MICRO, str(SUMMARY_RESULTS),
                                      env['ANSIBLE_COLLECTIONS_PATH'], inputs], env=env)
    micro = dict(json.loads(output.decode().strip().splitlines()[-1]), name='summary_micro', exit_code=0)
    playbook = os.path.join(workdir, 'summary-play.yml')
    with open(playbook, 'w') as handle:
        handle.write(SUMMARY_PLAY.format(count=SUMMARY_RESULTS, inputs=inputs, tasks=''.join(
            SUMMARY_PLAY_TASKS.format(n=n) for n in range(1, 4))))
    played = wrapped('summary_play', [ansible_playbook(), playbook], env, workdir)
    if played['rc'] != 0:
        raise RuntimeError('the summary play failed: see %s' % os.path.join(workdir, 'summary_play.log'))
    for kind in ('No-op', 'Filter', 'Action'):
        micro['play_%s_s' % kind.lower().replace('-', '')] = min(
            entry['seconds'] for entry in played['task_times'] if entry['task'].startswith(kind + ' '))
    return micro


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
                list_requests=list_requests(stats['requests']), retries_issued=stats['requests'].get(RETRY_ROUTE, 0))


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
        'listing_phase_over_lower_bound': round(ours['listing_phase']['list_requests'] / float(facts['list_lower_bound']), 3),
        'ours_retry_phase_over_lower_bound': round(ours['retry_phase_s'] / lower_retry, 3),
        'cli_requests_over_ours': round(cli['requests_total'] / float(ours['requests_total']), 2),
    }
    bounds = {'list_requests': facts['list_lower_bound'], 'retry_phase_s': lower_retry,
              'U': ours['unique_to_retry'], 'D_s': DEFAULT['run_seconds'], 'C': CONCURRENCY}
    targets = [
        ('listing phase: list requests <= 1.05 x lower bound (%d)' % facts['list_lower_bound'],
         ours['listing_phase']['list_requests'] <= 1.05 * facts['list_lower_bound'],
         '%d (+ %d GET by the retry module: %d in all)' % (ours['listing_phase']['list_requests'],
                                                           ours['list_requests'] - ours['listing_phase']['list_requests'],
                                                           ours['list_requests'])),
        ('retry phase <= 1.3 x U*D/C (%.2f s)' % lower_retry,
         ours['retry_phase_s'] <= 1.3 * lower_retry, '%.2f s (%.2fx)' % (ours['retry_phase_s'], ratios['ours_retry_phase_over_lower_bound'])),
        ('end to end >= 3x faster than the CLI algorithm', ratios['cli_wall_over_ours'] >= 3, '%.1fx' % ratios['cli_wall_over_ours']),
        ('end to end >= 20x faster than the uri loop', ratios['uri_wall_over_ours'] >= 20,
         '%.1fx%s' % (ratios['uri_wall_over_ours'], ' (extrapolated x%g)' % scale if scale != 1 else '')),
        ('zero duplicate retries', ours['duplicate_retries'] == 0, '%d' % ours['duplicate_retries']),
        ('zero missed failed scheduled times', ours['missed'] == 0, '%d' % ours['missed']),
        ('ours exits 0', ours['exit_code'] == 0, '%d' % ours['exit_code']),
    ]
    influx = results.get('ours_influxdb2')
    if influx is not None:
        influx_targets, influx_ratios = influxdb2_targets(influx)
        targets.extend(influx_targets)
        ratios.update(influx_ratios)
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
    if wide is not None:
        targets.append(('large, every key: peak RSS <= 150 MB (largest process)', wide['peak_rss_mb'] <= 150,
                        '%.0f MB (worker %s, main %s, module %s; fields %s: %s MB)'
                        % (wide['peak_rss_mb'], fmt(wide['worker_rss_mb'], '%.0f'), fmt(wide['main_rss_mb'], '%.0f'),
                           fmt(wide['module_rss_mb'], '%.0f'), ', '.join(LEAN_FIELDS),
                           fmt(large and large['peak_rss_mb'], '%.0f'))))
        bare = results.get('bare_listing')
        if bare is not None:
            targets.append(('large, every key: wall <= 2x a bare requests listing', wide['wall_s'] <= 2 * bare['wall_s'],
                            '%.1fx (%.2f s / %.2f s; listing task alone %s s)'
                            % (wide['wall_s'] / bare['wall_s'], wide['wall_s'], bare['wall_s'],
                               fmt(task_seconds(wide, 'List the runs')))))
    export = results.get('large_export')
    if export is not None:
        written = export['lines_written'] == export['scenario']['runs'] == (export['listed'] or {}).get('runs')
        targets.append(('large, export to a file, every key: every run written, peak RSS <= 150 MB',
                        written and export['exit_code'] == 0 and export['peak_rss_mb'] <= 150,
                        '%d lines, %.0f MB (worker %s, main %s, module %s)'
                        % (export['lines_written'], export['peak_rss_mb'], fmt(export['worker_rss_mb'], '%.0f'),
                           fmt(export['main_rss_mb'], '%.0f'), fmt(export['module_rss_mb'], '%.0f'))))
        bare = results.get('bare_listing')
        if bare is not None:
            targets.append(('large, export to a file: wall <= 2x a bare requests listing',
                            export['wall_s'] <= 2 * bare['wall_s'],
                            '%.1fx (%.2f s / %.2f s; export task alone %s s)'
                            % (export['wall_s'] / bare['wall_s'], export['wall_s'], bare['wall_s'],
                               fmt(task_seconds(export, 'List the runs')))))
    fleet = results.get('fleet')
    if fleet is not None:
        servers = fleet['scenario']['servers']
        per_server = fleet['per_server']
        targets.append(('fleet of %d: end to end <= 2x one server' % servers, fleet['wall_s'] <= 2 * ours['wall_s'],
                        '%.2fx (%.2f s / %.2f s)' % (fleet['wall_s'] / ours['wall_s'], fleet['wall_s'], ours['wall_s'])))
        targets.append(("fleet: list requests = %d x one server's (%d)" % (servers, ours['list_requests']),
                        fleet['list_requests'] == servers * ours['list_requests'],
                        '%d (listing phase: %d x lower bound %d)' % (fleet['list_requests'], servers,
                                                                     facts['list_lower_bound'])))
        targets.append(('fleet: 0 duplicated, 0 missed on every server',
                        all(server['duplicate_retries'] == 0 and server['missed'] == 0 for server in per_server)
                        and fleet['exit_code'] == 0,
                        'duplicates %s, missed %s' % ('/'.join('%d' % server['duplicate_retries'] for server in per_server),
                                                      '/'.join('%d' % server['missed'] for server in per_server))))
    micro = results.get('summary_micro')
    if micro is not None:
        # What the role pays per host: its summary task (the action) and the templated lines it shows.
        paid = micro['play_action_s'] + micro['templated_lines_s']
        targets.append(("summary over %d results <= 0.2 s (the role's task, as ansible-playbook runs it)"
                        % micro['results'], paid <= 0.2,
                        '%.3f s (the action task %.3f, of which any task costs %.3f; the lines templated %.3f; the '
                        'set_fact of the filter it replaces %.3f)'
                        % (paid, micro['play_action_s'], micro['play_noop_s'], micro['templated_lines_s'],
                           micro['play_filter_s'])))

    columns = [('ours', ours), ('cli algorithm', cli), ('uri loop', uri)]
    rows = [
        ('tasks x runs in scenario', lambda r: '%d / %d' % (r['scenario']['tasks'], r['scenario']['runs'])),
        ('wall time, end to end (s)', lambda r: '%.2f' % r['wall_s']),
        ('  start -> first retry (s)', lambda r: fmt(r['before_retries_s'])),
        ('  retry phase, sim side (s)', lambda r: fmt(r['retry_phase_s'])),
        ('  last retry -> exit (s)', lambda r: fmt(r['after_retries_s'])),
    ]
    routes = sorted({route for dummy, r in columns for route in r['requests']})
    rows += [('requests ' + route, route_cell(route)) for route in routes]
    rows += [
        ('requests total', lambda r: '%d' % r['requests_total']),
        ('retries issued', lambda r: '%d' % r['retries_issued']),
        ('scheduled times needing a retry (U)', lambda r: '%d' % r['unique_to_retry']),
        ('duplicate retries', lambda r: '%d' % r['duplicate_retries']),
        ('missed failed scheduled times', lambda r: '%d' % r['missed']),
        ('peak concurrent retries', lambda r: '%d' % r['peak_concurrent_retries']),
        ('peak RSS, largest process (MB)', lambda r: '%.1f' % r['peak_rss_mb']),
        ('  main / worker / module (MB)', memory_cell),
        ('peak RSS, sum of the tree (MB)', lambda r: fmt(r['tree_rss_mb'], '%.1f')),
        ('CPU user+sys (s)', lambda r: '%.2f' % r['cpu_s']),
        ('exit code', lambda r: '%d' % r['exit_code']),
    ]
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
          'ours list requests/lower bound %.3f (listing phase alone %.3f), ours retry phase/lower bound %.3f' % (
              ratios['cli_wall_over_ours'], ratios['uri_wall_over_ours'],
              'extrapolated to' if scale != 1 else 'measured', uri_wall, ratios['cli_requests_over_ours'],
              ratios['ours_list_over_lower_bound'], ratios['listing_phase_over_lower_bound'],
              ratios['ours_retry_phase_over_lower_bound']))
    if influx is not None:
        print_influxdb2(ours, influx, ratios)
    bare = results.get('bare_listing')
    if bare is not None:
        print('\nLarge scenario, bare requests listing (same pages, concurrency %d, decoded, nothing kept): wall %.2f s, '
              'list requests %d, peak RSS %.1f MB' % (CONCURRENCY, bare['wall_s'], bare['list_requests'], bare['peak_rss_mb']))
    for listing, label in ((wide, 'kapacitor_task_runs_info, every key of each run'),
                           (large, 'kapacitor_task_runs_info, fields: ' + ', '.join(LEAN_FIELDS)),
                           (results.get('large_export'), 'kapacitor_task_runs_export to a file, every key')):
        if listing is None:
            continue
        print('\nLarge scenario (listing only, %s, over every task, concurrency %d): %d tasks, %d runs'
              % (label, CONCURRENCY, listing['scenario']['tasks'], listing['scenario']['runs']))
        print('  wall %.2f s (listing task %s s), list requests %d (lower bound %d), runs listed %s, exit %d'
              % (listing['wall_s'], fmt(task_seconds(listing, 'List the runs')), listing['list_requests'],
                 listing['scenario']['list_lower_bound'], (listing['listed'] or {}).get('runs'), listing['exit_code']))
        print('  peak RSS: largest process %.1f MB; main / worker / module %s MB; sum of the tree %s MB'
              % (listing['peak_rss_mb'], memory_cell(listing), fmt(listing['tree_rss_mb'], '%.1f')))
    if fleet is not None:
        print('\nFleet: %d servers, each the default scenario, one play, forks %d; against one server in this run'
              % (fleet['scenario']['servers'], fleet['scenario']['servers']))
        for label, cell in [('wall time, end to end (s)', lambda r: '%.2f' % r['wall_s']),
                            ('  start -> first retry (s)', lambda r: fmt(r['before_retries_s'])),
                            ('  first retry -> last retried run ends (s)', lambda r: fmt(r['retry_phase_s'])),
                            ('  last retry -> exit (s)', lambda r: fmt(r['after_retries_s'])),
                            ('list requests', lambda r: '%d' % r['list_requests']),
                            ('retries issued', lambda r: '%d' % r['retries_issued']),
                            ('duplicate retries / missed', lambda r: '%d / %d' % (r['duplicate_retries'], r['missed'])),
                            ('peak RSS, largest process (MB)', lambda r: '%.1f' % r['peak_rss_mb']),
                            ('  main / worker / module (MB)', memory_cell),
                            ('peak RSS, sum of the tree (MB)', lambda r: fmt(r['tree_rss_mb'], '%.1f')),
                            ('CPU user+sys (s)', lambda r: '%.2f' % r['cpu_s'])]:
            print('  %-44s %14s %14s' % (label, cell(ours), cell(fleet)))
        listing = ours['listing_phase']['list_requests']
        print('  list requests of one server: listing phase %d (lower bound %d), retry module %d (pre-POST checks of '
              'each scheduled time and the per-task duplicate check)' % (listing, facts['list_lower_bound'],
                                                                         ours['list_requests'] - listing))
        print('  where the time goes (task wall times, one server -> fleet):')
        for name, seconds in task_rows(ours, fleet):
            print('    %-70s %s' % (name[:70], seconds))
    if micro is not None:
        tasks = ', '.join('%s %s s' % (short, fmt(task_seconds(ours, short))) for short in SUMMARY_TASKS)
        print('\nSummary filters over %d results (best of 5): retry_summary %.4f s, retry_summary_lines %.4f s called from '
              'Python; %.3f s and %.3f s templated by ansible-core; role tasks in the one-server run (%d results): %s'
              % (micro['results'], micro['retry_summary_s'], micro['retry_summary_lines_s'], micro['templated_summary_s'],
                 micro['templated_lines_s'], ours['unique_to_retry'], tasks))
        print('Summary tasks over %d results in ansible-playbook (best of 3): the action %.3f s, the set_fact of the '
              'retry_summary filter %.3f s, a task that does nothing %.3f s'
              % (micro['results'], micro['play_action_s'], micro['play_filter_s'], micro['play_noop_s']))
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
                                                    'concurrency': CONCURRENCY, 'uri_tasks': uri['scenario']['tasks'],
                                                    'fleet_servers': fleet and fleet['scenario']['servers']},
                'contenders': results, 'lower_bounds': bounds, 'ratios': ratios,
                'targets': [{'target': label, 'pass': ok, 'value': value} for label, ok, value in targets]}
    with open(args.output, 'w') as handle:
        json.dump(document, handle, indent=2, sort_keys=True)
        handle.write('\n')
    print('\nWrote %s' % args.output)
    return all(target[1] for target in targets)


def influxdb2_targets(influx):
    """The InfluxDB 2 run's targets, held to the same bounds as the Kapacitor run's; and its ratios."""
    facts = influx['scenario']
    lower_retry = influx['unique_to_retry'] * DEFAULT['run_seconds'] / CONCURRENCY
    listing = influx['listing_phase']['list_requests']
    phase = influx['retry_phase_s']
    tick_bound = ticker_bound(influx['unique_to_retry'])
    ratios = {'influxdb2_listing_phase_over_lower_bound': round(listing / float(facts['list_lower_bound']), 3),
              'influxdb2_retry_phase_over_lower_bound': round(phase / lower_retry, 3) if phase and lower_retry else None,
              'influxdb2_lower_bound_retry_phase_s': lower_retry,
              'influxdb2_ticker_bound_retry_phase_s': tick_bound,
              'influxdb2_retry_phase_over_ticker_bound': round(phase / tick_bound, 3) if phase and tick_bound else None}
    targets = [
        ('InfluxDB 2: listing phase: list requests <= 1.05 x lower bound (%d)' % facts['list_lower_bound'],
         listing <= 1.05 * facts['list_lower_bound'],
         '%d (+ %d GET by the retry module, + %d other GET)' % (listing, influx['list_requests'] - listing,
                                                                influx['other_gets'])),
        ('InfluxDB 2: retry phase <= 1.3 x U*D/C (%.2f s)' % lower_retry,
         phase is not None and phase <= 1.3 * lower_retry,
         '%s s (%sx)' % (fmt(phase), fmt(ratios['influxdb2_retry_phase_over_lower_bound']))),
        ('InfluxDB 2: zero duplicate retries, zero missed, exit 0',
         influx['duplicate_retries'] == 0 and influx['missed'] == 0 and influx['exit_code'] == 0,
         '%d / %d, exit %d' % (influx['duplicate_retries'], influx['missed'], influx['exit_code'])),
    ]
    return targets, ratios


def ticker_bound(unique):
    """The least retry phase InfluxDB 2 allows when at most CONCURRENCY new runs are in flight: a retried run starts on
    a whole tick, so each slot completes one run per tick period (the ticks a run of D spans, plus the one it waits
    for), and the phase is (ceil(U/C) - 1) periods plus the last run's D, counting no wait before the first tick."""
    if not unique:
        return None
    period = INFLUX_TICK_S * (math.floor(DEFAULT['run_seconds'] / INFLUX_TICK_S) + 1)
    return round((math.ceil(unique / float(CONCURRENCY)) - 1) * period + DEFAULT['run_seconds'], 3)


def print_influxdb2(ours, influx, ratios):
    """The InfluxDB 2 run next to the Kapacitor run of the same benchmark."""
    print('\nInfluxDB 2: the same scenario on a simulator run with --flavor influxdb2 (token and org given, server type '
          'detected); a retry answers at once with a scheduled run that starts on the next tick of a 1-second ticker, '
          'and the retry module polls each new run to its end, at most %d new runs in flight' % CONCURRENCY)
    print('  %-44s %14s %14s' % ('', 'Kapacitor', 'InfluxDB 2'))
    for label, cell in [('wall time, end to end (s)', lambda r: '%.2f' % r['wall_s']),
                        ('  start -> first retry (s)', lambda r: fmt(r['before_retries_s'])),
                        ('  first retry -> last retried run ends (s)', lambda r: fmt(r['retry_phase_s'])),
                        ('  last retry -> exit (s)', lambda r: fmt(r['after_retries_s'])),
                        ('list requests, listing phase', lambda r: '%d' % r['listing_phase']['list_requests']),
                        ('list requests by the retry module', lambda r: '%d' % (r['list_requests']
                                                                                - r['listing_phase']['list_requests'])),
                        ('other GETs (detection, _tasks bucket)', lambda r: '%d' % r['other_gets']),
                        ('retries issued', lambda r: '%d' % r['retries_issued']),
                        ('scheduled times needing a retry (U)', lambda r: '%d' % r['unique_to_retry']),
                        ('duplicate retries / missed', lambda r: '%d / %d' % (r['duplicate_retries'], r['missed'])),
                        ('peak RSS, largest process (MB)', lambda r: '%.1f' % r['peak_rss_mb']),
                        ('CPU user+sys (s)', lambda r: '%.2f' % r['cpu_s']),
                        ('exit code', lambda r: '%d' % r['exit_code'])]:
        print('  %-44s %14s %14s' % (label, cell(ours), cell(influx)))
    print('  Ratios in this run: retry phase / U*D/C: Kapacitor %.3f, InfluxDB 2 %s; listing phase list requests / lower '
          'bound: Kapacitor %.3f, InfluxDB 2 %.3f; InfluxDB 2 / Kapacitor wall %.2fx'
          % (ratios['ours_retry_phase_over_lower_bound'], fmt(ratios['influxdb2_retry_phase_over_lower_bound'], '%.3f'),
             ratios['listing_phase_over_lower_bound'], ratios['influxdb2_listing_phase_over_lower_bound'],
             influx['wall_s'] / ours['wall_s']))
    print('  U*D/C counts only the runs themselves; InfluxDB starts a retried run on a whole tick, so with at most C runs '
          'in flight the retry phase cannot be shorter than (ceil(U/C) - 1) tick periods + D = %s s (ticker bound); '
          'InfluxDB 2 retry phase / ticker bound: %s'
          % (fmt(ratios['influxdb2_ticker_bound_retry_phase_s']), fmt(ratios['influxdb2_retry_phase_over_ticker_bound'], '%.3f')))


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


SUMMARY_TASKS = ('Sum up what happened on this server', 'Show the summary', 'Show one table over every host')


def task_seconds(result, prefix):
    """The wall time of the first task whose name (without the role prefix) starts with ``prefix``."""
    for entry in result.get('task_times') or []:
        if entry['task'].split(' : ')[-1].startswith(prefix):
            return entry['seconds']
    return None


def task_rows(*results):
    """The tasks that took 0.2 s or more in any of ``results``: name, then 'seconds -> seconds'."""
    names = []
    for result in results:
        for entry in result.get('task_times') or []:
            if entry['seconds'] >= 0.2 and entry['task'] not in names:
                names.append(entry['task'])
    rows = []
    for name in names:
        cells = [fmt(next((entry['seconds'] for entry in result.get('task_times') or [] if entry['task'] == name), None))
                 for result in results]
        rows.append((name.split(' : ')[-1], ' -> '.join(cells)))
    return rows


def memory_cell(result):
    return ' / '.join(fmt(result.get(key), '%.0f') for key in ('main_rss_mb', 'worker_rss_mb', 'module_rss_mb'))


def route_cell(route):
    return lambda r: '%d' % r['requests'].get(route, 0)


def fmt(value, pattern='%.2f'):
    return '-' if value is None else pattern % value


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--output', default=os.path.join(ROOT, 'bench-results.json'), help='JSON results file')
    parser.add_argument('--uri-tasks', type=int, default=10,
                        help="tasks in the uri loop's reduced scenario (default 10 of 50; 50 = no extrapolation, ~5 min)")
    parser.add_argument('--skip-large', action='store_true', help='skip the 100,000-run listing scenario')
    parser.add_argument('--large-fields', metavar='KEY,KEY,...', action='append', default=[],
                        help='also list the large scenario registered with these fields (repeatable); results only')
    parser.add_argument('--overlap-trials', type=int, default=3,
                        help='runs of the two-overlapping-jobs scenario, on one controller and on two (default 3 each)')
    parser.add_argument('--quick', action='store_true', help='smoke test: 10 tasks, uri loop on 2, no large scenario, a fleet of 3 at most')
    parser.add_argument('--fleet-servers', type=int, default=FLEET_SERVERS,
                        help='servers in the fleet step: that many simulators, one play (default %(default)s)')
    parser.add_argument('--skip-fleet', action='store_true', help='skip the fleet step')
    parser.add_argument('--skip-influxdb2', action='store_true', help='skip our playbook against the InfluxDB 2 simulator')
    parser.add_argument('--keep', action='store_true', help='keep the work directory (logs of every contender)')
    parser.add_argument('--cli-client', metavar='URL', help=argparse.SUPPRESS)
    parser.add_argument('--bare-listing', metavar='URL', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cli_client:
        cli_retry_failed(args.cli_client)
        return 0
    if args.bare_listing:
        bare_listing(args.bare_listing)
        return 0
    if args.quick:
        DEFAULT['tasks'], args.uri_tasks, args.skip_large, args.overlap_trials = 10, 2, True, 1
        args.fleet_servers = min(args.fleet_servers, 3)

    workdir = tempfile.mkdtemp(prefix='kapacitor-bench-')
    env = ansible_env(workdir)
    results = {}
    try:
        steps = [('noop', lambda: run_noop(workdir, env)),
                 ('ours', lambda: run_ours(workdir, env, DEFAULT)),
                 ('cli', lambda: run_cli(workdir, env, DEFAULT)),
                 ('uri', lambda: run_uri_loop(workdir, env, dict(DEFAULT, tasks=min(args.uri_tasks, DEFAULT['tasks']))))]
        if not args.skip_influxdb2:
            steps.insert(2, ('ours_influxdb2', lambda: run_ours(workdir, env, DEFAULT, 'ours_influxdb2', 'influxdb2')))
        for trial in range(args.overlap_trials):
            steps.append(('overlap_1c_%d' % trial, lambda trial=trial: run_overlap(workdir, env, 1, trial)))
            steps.append(('overlap_2c_%d' % trial, lambda trial=trial: run_overlap(workdir, env, 2, trial)))
        if not args.skip_fleet and args.fleet_servers > 0:
            steps.append(('fleet', lambda: run_fleet(workdir, env, DEFAULT, args.fleet_servers)))
        steps.append(('summary_micro', lambda: run_summary_micro(env, workdir)))
        if not args.skip_large:
            steps.append(('bare_listing', lambda: run_bare_listing(workdir, env, LARGE)))
            steps.append(('large_listing', lambda: run_large_listing(workdir, env, LARGE)))
            steps.append(('large_listing_lean', lambda: run_large_listing(workdir, env, LARGE, LEAN_FIELDS)))
            steps.append(('large_export', lambda: run_large_listing(workdir, env, LARGE, export=True)))
            for index, keys in enumerate(args.large_fields):
                steps.append(('large_listing_fields_%d' % index, lambda keys=keys, index=index: run_large_listing(
                    workdir, env, LARGE, keys.split(','), name='list_all_fields_%d' % index)))
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
