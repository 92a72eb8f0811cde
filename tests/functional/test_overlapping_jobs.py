# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Exactly once across overlapping jobs: two copies of the playbook at once (an AWX schedule plus a manual
launch, cron plus AWX, two controllers), and the controller-local lock that serialises them on one host.

Kapacitor has no lock of its own: its 422 ``run already queued`` only covers the few milliseconds a retry
waits in the queue, not the seconds it runs; InfluxDB 2 has none at all. The jobs run against both. Every effect is
read out of band from the simulator's record.
"""


import fcntl
import os
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from ansible_collections.tickstack.kapacitor.tests.functional.support import (
    BOTH_FLAVORS,
    PLAYBOOK,
    RETRY_ROUTE,
    BackgroundPlaybook,
    failing_times,
    lock_path,
    new_attempts,
    read_json,
    run_module,
)

# Module logic against the simulator, the same on every ansible-core line: CI runs it on the tool line.
pytestmark = pytest.mark.line_independent

RETRY = 'kapacitor_task_run_retry'
START_GAP = 0.3  # the second job starts this long after the first


def failed_times(count):
    return [{'status': 'failed', 'scheduled_for': '-%dm' % minute} for minute in range(1, count + 1)]


def scenario(tasks, failed_per_task, run_seconds):
    return {'tasks': [{'name': 'overlap_%d' % index, 'run_seconds': run_seconds, 'runs': failed_times(failed_per_task)}
                      for index in range(tasks)]}


def start_two_jobs(sim, tmp_path, controllers):
    """Two playbook runs START_GAP apart; with two controllers each has a temporary directory (so a lock) of its own.
    (Short directories: ansible-core's local RPC socket lives under TMPDIR and its path has a length limit.)"""
    tmpdirs = [tempfile.mkdtemp(prefix='kc', dir='/tmp') for dummy in range(controllers)]
    jobs = []
    try:
        for copy in range(2):
            extra_vars = dict(sim.role_vars, retry_failed_runs_since='24h', retry_failed_runs_concurrency=8,
                              retry_failed_runs_report_path=str(tmp_path / ('report-%d.json' % copy)))
            jobs.append(BackgroundPlaybook(PLAYBOOK, extra_vars, env={'TMPDIR': tmpdirs[copy % controllers]}))
            if copy == 0:
                time.sleep(START_GAP)
        outputs = []
        for job in jobs:
            returncode, output = job.wait(timeout=300)
            assert returncode == 0, output
            outputs.append(output)
    finally:
        for tmpdir in tmpdirs:
            shutil.rmtree(tmpdir, ignore_errors=True)
    return outputs


@BOTH_FLAVORS
def test_two_jobs_on_one_controller_retry_every_failed_time_exactly_once(sim, tmp_path):
    sim.load(scenario(tasks=3, failed_per_task=4, run_seconds=0.5))
    before = sim.attempts()
    to_retry = failing_times(before)
    assert len(to_retry) == 12

    start_two_jobs(sim, tmp_path, controllers=1)

    made = new_attempts(before, sim.attempts())
    assert set(made) == to_retry
    assert all(len(runs) == 1 for runs in made.values()), made
    # The second job waited for the first one's lock, then decided from a fresh listing: it sent nothing.
    assert sim.requests_to(RETRY_ROUTE) == len(to_retry)
    retried = [entry for copy in range(2) for entry in read_json(str(tmp_path / ('report-%d.json' % copy)))['runs']
               if entry['outcome'] == 'retried']
    assert len(retried) == len(to_retry)


@BOTH_FLAVORS
def test_two_jobs_on_two_controllers_at_most_one_duplicate_per_60_and_never_silent(sim, tmp_path):
    sim.load(scenario(tasks=6, failed_per_task=10, run_seconds=0.5))
    before = sim.attempts()
    to_retry = failing_times(before)
    assert len(to_retry) == 60

    outputs = start_two_jobs(sim, tmp_path, controllers=2)

    made = new_attempts(before, sim.attempts())
    assert set(made) == to_retry, 'every failed scheduled time is retried'
    doubled = {key: runs for key, runs in made.items() if len(runs) > 1}
    # The goal, at most 1 per 60 and 0 in most runs, is a rate: `make bench` measures it over several trials. One
    # run here allows 2, so that a rare unlucky run on a loaded machine does not fail CI; more means the
    # pre-POST check or the random order is broken (without them, every one of the 60 is retried twice).
    assert len(doubled) <= 2, doubled
    for (_task_id, scheduled_for), runs in doubled.items():
        # A duplicate is never silent: a job that saw it warns about that scheduled time and names both attempts.
        assert any('[WARNING]' in output and scheduled_for in output and all(run['id'] in output for run in runs)
                   for output in outputs), outputs


@BOTH_FLAVORS
def test_a_job_that_waited_for_the_lock_decides_from_a_fresh_listing(sim, tmp_path):
    created = sim.load(scenario(tasks=1, failed_per_task=1, run_seconds=0.2))
    task_id = created['tasks'][0]['id']
    run = [entry for entry in sim.state()['runs'] if entry['task_id'] == task_id][0]
    # The hints describe the run as the latest, failed attempt: true when gathered, stale once the lock is free.
    hint = {'task_id': task_id, 'run_id': run['id'], 'scheduled_for': run['scheduled_for'], 'status': 'failed',
            'attempt': 1, 'attempts': 1}
    path = lock_path(str(tmp_path), sim.url)
    os.makedirs(os.path.dirname(path))
    holder = open(path, 'a')
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(run_module, RETRY, dict(sim.connection, runs=[hint], refresh=False),
                                  env={'TMPDIR': str(tmp_path)})
            time.sleep(2.0)
            # Meanwhile another job (the lock holder) retries that scheduled time.
            answer = sim.api('POST', '/tasks/%s/runs/%s/retry' % (task_id, run['id']))
            assert answer.status_code == 200, answer.text
            assert not pending.done(), 'the module must wait for the lock'
            fcntl.flock(holder, fcntl.LOCK_UN)
            result = pending.result(timeout=120)
    finally:
        holder.close()
    assert result.rc == 0, result
    attempts = sim.attempts(task_id)[task_id][run['scheduled_for']]
    assert len(attempts) == 2, 'only the other job created an attempt'
    assert sim.requests_to(RETRY_ROUTE) == 1
    assert result['results'][0]['outcome'] == 'superseded'


def test_lock_timeout_fails_clearly_and_sends_nothing(sim, tmp_path):
    created = sim.load(scenario(tasks=1, failed_per_task=2, run_seconds=0.1))
    task_id = created['tasks'][0]['id']
    run_id = sim.state()['runs'][0]['id']
    path = lock_path(str(tmp_path), sim.url)
    os.makedirs(os.path.dirname(path))
    with open(path, 'a') as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        sim.reset_stats()
        # server_type given: no detection request either, so the record must stay empty.
        result = run_module(RETRY, {'url': sim.url, 'task_id': task_id, 'run_id': run_id, 'lock_timeout': 1,
                                    'server_type': 'kapacitor'}, env={'TMPDIR': str(tmp_path)})
    assert result.rc != 0
    assert 'lock_timeout' in result['msg'] and path in result['msg'], result['msg']
    assert sim.stats()['requests_total'] == 0
