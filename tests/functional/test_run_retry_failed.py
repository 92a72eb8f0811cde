# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""kapacitor_task_run_retry with ``failed``: one call lists the scheduled times whose latest attempt failed and
retries them (``batch_rounds``: the first batch, the rest returned untouched). Effects are read from the simulator's
record, never from the module's report."""


import fcntl
import os

from ansible_collections.tickstack.kapacitor.tests.functional.support import (
    BOTH_FLAVORS,
    failed_runs,
    failing_times,
    in_parallel,
    lock_path,
    new_attempts,
    run_module,
)

pytestmark = BOTH_FLAVORS


def retry(sim, check_mode=False, **args):
    return run_module('kapacitor_task_run_retry', dict(sim.connection, **args), check_mode=check_mode)


def scenario():
    return {'tasks': [
        {'name': 'flaky', 'run_seconds': 0.1, 'retry_outcomes': ['success'],
         'runs': [dict(run, error='flaky: write timed out') for run in failed_runs('-10m', '-20m', '-30m')]
         + [{'status': 'success', 'scheduled_for': '-15m'}]},
        {'name': 'broken', 'retry_outcomes': ['fail'], 'retry_error': 'connection refused by influxdb',
         'runs': [dict(run, error='broken: bucket not found') for run in failed_runs('-40m')]},
        {'name': 'healed',
         'runs': [{'status': 'failed', 'scheduled_for': '-50m'},
                  {'status': 'success', 'scheduled_for': '-50m', 'requested_at': '-45m', 'started_at': '-45m'}]},
        {'name': 'exhausted',
         'runs': [{'status': 'failed', 'scheduled_for': '-60m', 'error': 'exhausted: first attempt'},
                  {'status': 'failed', 'scheduled_for': '-60m', 'requested_at': '-55m', 'started_at': '-55m',
                   'error': 'exhausted: second attempt'}]},
        {'name': 'paused', 'status': 'inactive', 'runs': failed_runs('-25m')},
    ]}


def names_of(sim):
    return {task['id']: task['name'] for task in sim.state()['tasks']}


def test_one_call_retries_every_failed_latest_attempt_of_the_active_tasks_once(sim):
    sim.load(scenario())
    before = sim.attempts()
    names = names_of(sim)

    first = retry(sim, failed={}, max_attempts=2)

    assert first.rc == 0, first
    created = new_attempts(before, sim.attempts())
    # One new attempt for each failed latest attempt with fewer than 2 attempts, of the active tasks only: the
    # healed time's latest attempt succeeded, the exhausted one has 2, the paused task is inactive.
    assert sorted((names[task_id], len(runs)) for (task_id, dummy), runs in created.items()) == [
        ('broken', 1), ('flaky', 1), ('flaky', 1), ('flaky', 1)]
    assert first['found'] == 5 and first['pending'] == []
    assert sorted(task['name'] for task in first['tasks']) == ['broken', 'exhausted', 'flaky', 'healed']
    outcomes = sorted((result['task_name'], result['outcome']) for result in first['results'])
    assert outcomes == [('broken', 'retried_failed'), ('exhausted', 'max_attempts_reached'), ('flaky', 'retried'),
                        ('flaky', 'retried'), ('flaky', 'retried')]
    # Each result carries the error the scenario gave the latest attempt it started from (not an earlier one's).
    assert sorted((result['task_name'], result['error']) for result in first['results']) == [
        ('broken', 'broken: bucket not found'), ('exhausted', 'exhausted: second attempt')] + [
        ('flaky', 'flaky: write timed out')] * 3
    for result in first['results']:
        if result['new_run_id']:
            assert created[(result['task_id'], result['scheduled_for'])][0]['id'] == result['new_run_id']

    # Again: the broken time now has 2 attempts and the flaky ones succeeded, so nothing is created.
    snapshot = sim.attempts()
    second = retry(sim, failed={}, max_attempts=2)
    assert second.rc == 0 and second['changed'] is False
    assert new_attempts(snapshot, sim.attempts()) == {}
    assert sorted(result['outcome'] for result in second['results']) == ['max_attempts_reached'] * 2


def test_the_tasks_and_the_window_are_chosen_like_a_listing(sim):
    sim.load(scenario())
    before = sim.attempts()
    names = names_of(sim)

    result = retry(sim, failed={'task_name': ['flaky', 'paused', 'ghost'], 'task_status': 'any', 'missing_ok': True,
                                'after_time': '28m'})

    assert result.rc == 0, result
    created = new_attempts(before, sim.attempts())
    # flaky's -10m and -20m are inside the window, -30m is not; paused is chosen by task_status any. InfluxDB 2 does
    # not retry a run of an inactive task, so there it is task_inactive and nothing is sent.
    expected = [('flaky', 1), ('flaky', 1)] + ([('paused', 1)] if sim.flavor == 'kapacitor' else [])
    assert sorted((names[task_id], len(runs)) for (task_id, dummy), runs in created.items()) == expected
    assert result['missing_tasks'] == ['ghost']
    assert result['window']['after_time'] and result['window']['before_time'] is None


def test_batch_rounds_handles_the_first_batch_and_returns_the_rest_untouched(sim):
    sim.load({'tasks': [{'name': 'many', 'run_seconds': 0.05, 'retry_outcomes': ['success'],
                         'runs': failed_runs(*['-%dm' % minutes for minutes in range(5, 35, 5)])}]})
    before = sim.attempts()

    first = retry(sim, failed={}, concurrency=2, batch_rounds=1)

    assert first.rc == 0, first
    middle = sim.attempts()
    created = new_attempts(before, middle)
    assert first['found'] == 6 and len(first['results']) == 2 and len(first['pending']) == 4
    # The first batch is the first two scheduled times of the listing, newest first; nothing was sent for the rest.
    handled = {(result['task_id'], result['scheduled_for']) for result in first['results']}
    assert set(created) == handled and all(len(runs) == 1 for runs in created.values())
    assert handled == set(sorted(failing_times(before), key=lambda key: key[1], reverse=True)[:2])
    assert [run['scheduled_for'] for run in first['pending']] == sorted(
        (run['scheduled_for'] for run in first['pending']), reverse=True)
    assert all(run['status'] == 'failed' and run['attempts'] == 1 for run in first['pending'])

    # The pending runs, as the module takes them, in a second call: every time has now exactly one new attempt.
    rest = retry(sim, runs=first['pending'], refresh=False, concurrency=2)
    assert rest.rc == 0, rest
    created = new_attempts(before, sim.attempts())
    assert len(created) == 6 and all(len(runs) == 1 for runs in created.values())
    assert new_attempts(middle, sim.attempts()).keys().isdisjoint(handled)


def test_check_mode_lists_and_creates_nothing(sim):
    sim.load(scenario())
    before = sim.attempts()
    result = retry(sim, check_mode=True, failed={}, batch_rounds=1, concurrency=2)
    assert result.rc == 0, result
    assert new_attempts(before, sim.attempts()) == {}
    # concurrency 2 x 1 round: the first two of the five found are decided, the other three are pending.
    assert result['found'] == 5 and len(result['results']) == 2 and len(result['pending']) == 3
    assert 'would_retry' in [entry['outcome'] for entry in result['results']]


def test_overlapping_calls_on_one_host_retry_each_failed_time_once(sim):
    """The listing is made under the lock: a call that waited lists after the other one retried, so it retries
    nothing twice."""
    jobs = 3
    sim.load({'tasks': [{'name': 'slow', 'run_seconds': 0.3, 'retry_outcomes': ['success'],
                         'runs': failed_runs(*['-%dm' % minutes for minutes in range(2, 26, 2)])}]})
    before = sim.attempts()
    failing = failing_times(before)

    results = in_parallel(lambda dummy: retry(sim, failed={}, concurrency=4), range(jobs), workers=jobs)

    assert all(result.rc == 0 for result in results), results
    created = new_attempts(before, sim.attempts())
    assert set(created) == failing and all(len(runs) == 1 for runs in created.values())
    assert sum(result['summary']['retried'] for result in results) == len(failing)
    # The calls that waited listed after the first one had retried everything: they found nothing to do.
    assert sorted(result['found'] for result in results) == [0] * (jobs - 1) + [len(failing)]


def test_a_lock_held_too_long_fails_before_the_listing_and_sends_nothing(sim, tmp_path):
    sim.load(scenario())
    path = lock_path(str(tmp_path), sim.url)
    os.makedirs(os.path.dirname(path))
    with open(path, 'a') as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        sim.reset_stats()
        result = run_module('kapacitor_task_run_retry', dict(sim.connection, failed={}, lock_timeout=1,
                                                             server_type=sim.flavor), env={'TMPDIR': str(tmp_path)})
    assert result.rc != 0
    assert 'lock_timeout' in result['msg'] and path in result['msg'], result['msg']
    assert 'pending' not in result and result['results'] == []
    # server_type given: not even a detection request, so the listing was not made either.
    assert sim.stats()['requests_total'] == 0
