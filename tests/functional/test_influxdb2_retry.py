# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""kapacitor_task_run_retry against the simulator in InfluxDB 2 mode, where a retry is accepted at once and its run
starts about a second later. What was created, when it ran and how it ended is read from the simulator's record
(/_sim/attempts, /_sim/state, /_sim/stats), never taken from the module's word."""

import time

import pytest

from ansible_collections.tickstack.kapacitor.plugins.module_utils._runs import id_created_at, rfc3339_to_epoch
from ansible_collections.tickstack.kapacitor.tests.functional.support import (
    INFLUX_ORG_ID,
    INFLUX_TOKEN,
    RETRY_ROUTE,
    failed_runs,
    new_attempts,
    run_module,
    start_simulator,
)

pytestmark = pytest.mark.flavors('influxdb2')


def retry(sim, **args):
    args.setdefault('url', sim.url)
    args.setdefault('token', INFLUX_TOKEN)
    return run_module('kapacitor_task_run_retry', args)


def failed_latest(sim):
    result = run_module('kapacitor_task_runs_info', {'url': sim.url, 'token': INFLUX_TOKEN, 'org_id': INFLUX_ORG_ID,
                                                     'task_status': 'any', 'status': ['failed'],
                                                     'latest_attempt_only': True})
    assert result.rc == 0, result
    return result['runs']


def task_ids(sim):
    return {task['name']: task['id'] for task in sim.state()['tasks']}


def runs_of(sim, run_ids):
    """The simulator's record of these runs, by ID."""
    return {run['id']: run for run in sim.state()['runs'] if run['id'] in run_ids}


def wait_until_finished(sim, run_ids, timeout=30):
    deadline = time.time() + timeout
    while True:
        runs = runs_of(sim, run_ids)
        if all(run['status'] in ('success', 'failed', 'canceled') for run in runs.values()) or time.time() > deadline:
            return runs
        time.sleep(0.2)


def scenario():
    return {'tasks': [
        {'name': 'flaky', 'run_seconds': 0.3, 'retry_outcomes': ['success'], 'runs': failed_runs('-10m', '-20m', '-30m')},
        {'name': 'broken', 'run_seconds': 0.3, 'retry_outcomes': ['fail'], 'retry_error': 'bucket "rollups" not found',
         'runs': failed_runs('-40m')},
        {'name': 'paused', 'status': 'inactive', 'runs': failed_runs('-50m')},
    ]}


def test_each_failed_time_gets_one_new_attempt_the_inactive_task_none_and_a_second_call_changes_nothing(sim):
    sim.load(scenario())
    ids = task_ids(sim)
    before = sim.attempts()
    runs = failed_latest(sim)
    assert len(runs) == 5

    first = retry(sim, runs=runs, concurrency=2)
    assert first.rc == 0, first
    assert first['server']['type'] == 'influxdb2'
    created = new_attempts(before, sim.attempts())
    # One new attempt per failed scheduled time of the active tasks, none for the inactive one, one POST each.
    assert sorted(task_id for task_id, dummy in created) == sorted([ids['flaky']] * 3 + [ids['broken']])
    assert all(len(fresh) == 1 for fresh in created.values())
    assert sim.requests_to(RETRY_ROUTE) == 4
    # The module waited: every new run has finished, as the module says it ended.
    record = runs_of(sim, {fresh[0]['id'] for fresh in created.values()})
    by_run = {result['new_run_id']: result for result in first['results'] if result['new_run_id']}
    assert set(by_run) == set(record)
    for run_id, run in record.items():
        assert run['status'] == ('failed' if run['task_id'] == ids['broken'] else 'success')
        assert by_run[run_id]['outcome'] == ('retried_failed' if run['status'] == 'failed' else 'retried')
        assert by_run[run_id]['status_after'] == run['status']
    paused = [result for result in first['results'] if result['task_id'] == ids['paused']]
    assert [result['outcome'] for result in paused] == ['task_inactive'] and 'inactive' in paused[0]['msg']
    assert first['changed'] is True

    # The same input again: nothing is sent, nothing is created.
    snapshot = sim.attempts()
    second = retry(sim, runs=runs, concurrency=2, max_attempts=2)
    assert second.rc == 0 and second['changed'] is False
    assert sim.attempts() == snapshot and sim.requests_to(RETRY_ROUTE) == 4
    assert sorted(result['outcome'] for result in second['results']) == (
        ['max_attempts_reached', 'superseded', 'superseded', 'superseded', 'task_inactive'])


def test_influxdb_2_1_blocks_like_kapacitor_and_a_retried_run_that_fails_is_retried_failed_not_an_error():
    # InfluxDB 2.0 and 2.1 answer a retry once its run has finished, and a run that failed with a 500 "could not
    # execute task run": on 2.2 and later that 500 means the run could not be scheduled (an error), here that it ran.
    sim = start_simulator('--influx-version', 'v2.1.1', flavor='influxdb2')
    try:
        sim.load(scenario())
        ids = task_ids(sim)
        before = sim.attempts()
        result = retry(sim, runs=failed_latest(sim), concurrency=2)
        assert result.rc == 0, result
        assert result['server'] == {'type': 'influxdb2', 'version': 'v2.1.1'}
        created = new_attempts(before, sim.attempts())
        assert sorted(task_id for task_id, dummy in created) == sorted([ids['flaky']] * 3 + [ids['broken']])
        assert all(len(fresh) == 1 for fresh in created.values()) and sim.requests_to(RETRY_ROUTE) == 4
        record = runs_of(sim, {fresh[0]['id'] for fresh in created.values()})
        by_run = {entry['new_run_id']: entry for entry in result['results'] if entry['new_run_id']}
        assert set(by_run) == set(record)
        for run_id, run in record.items():
            assert run['status'] == ('failed' if run['task_id'] == ids['broken'] else 'success')
            assert by_run[run_id]['outcome'] == ('retried_failed' if run['status'] == 'failed' else 'retried'), result
            assert by_run[run_id]['status_after'] == run['status']
        broken = by_run[next(run_id for run_id, run in record.items() if run['status'] == 'failed')]
        assert 'could not execute task run: bucket "rollups" not found' in broken['msg'], broken
    finally:
        sim.process.stop()


def test_wait_false_returns_while_the_new_run_is_still_to_run_and_a_call_meanwhile_sends_nothing(sim):
    # Long enough that the second call below meets the new run unfinished even on a busy machine.
    sim.load({'tasks': [{'name': 'slow', 'run_seconds': 8, 'retry_outcomes': ['fail'], 'runs': failed_runs('-10m')}]})
    runs = failed_latest(sim)
    result = retry(sim, runs=runs, wait=False)
    assert result.rc == 0, result
    entry = result['results'][0]
    new = runs_of(sim, {entry['new_run_id']})[entry['new_run_id']]
    assert new['status'] in ('scheduled', 'started')                 # the module did not wait for it
    assert entry['outcome'] == 'retried' and entry['status_after'] == 'scheduled'
    again = retry(sim, runs=runs, wait=False)
    assert again['results'][0]['outcome'] == 'superseded' and sim.requests_to(RETRY_ROUTE) == 1
    # InfluxDB runs it to its end all the same.
    assert wait_until_finished(sim, {entry['new_run_id']})[entry['new_run_id']]['status'] == 'failed'


def test_wait_false_keeps_at_most_concurrency_new_runs_unfinished(sim):
    sim.load({'tasks': [{'name': 'many', 'run_seconds': 1.5, 'retry_outcomes': ['success'],
                         'runs': failed_runs(*['-%dm' % (10 * n) for n in range(1, 7)])}]})
    result = retry(sim, runs=failed_latest(sim), wait=False, concurrency=2)
    assert result.rc == 0, result
    new_ids = {entry['new_run_id'] for entry in result['results']}
    assert len(new_ids) == 6 and sim.requests_to(RETRY_ROUTE) == 6
    runs = wait_until_finished(sim, new_ids)
    # From its creation (the time in its ID: requestedAt is recorded in whole seconds) to its end, each new run is in
    # flight; no moment has more than two of them.
    edges = sorted([(id_created_at(run['id']), 1) for run in runs.values()]
                   + [(rfc3339_to_epoch(run['finished_at']), -1) for run in runs.values()], key=lambda e: (e[0], e[1]))
    in_flight = peak = 0
    for dummy, step in edges:
        in_flight += step
        peak = max(peak, in_flight)
    assert peak == 2


def test_a_run_unfinished_at_retry_timeout_is_timed_out_not_cancelled_and_not_sent_again(sim):
    sim.load({'tasks': [{'name': 'slow', 'run_seconds': 6, 'retry_outcomes': ['success'], 'runs': failed_runs('-10m')}]})
    runs = failed_latest(sim)
    result = retry(sim, runs=runs, retry_timeout=2)
    assert result.rc == 0, result
    entry = result['results'][0]
    assert entry['outcome'] == 'timed_out' and 'retry_timeout' in entry['msg']
    assert sim.requests_to(RETRY_ROUTE) == 1
    assert runs_of(sim, {entry['new_run_id']})[entry['new_run_id']]['status'] in ('scheduled', 'started')
    assert wait_until_finished(sim, {entry['new_run_id']})[entry['new_run_id']]['status'] == 'success'


def test_the_task_of_a_check_is_left_out_of_every_task_and_retried_by_its_id(sim):
    """InfluxDB lists no task of a check or notification rule (docs/influxdb2-api.md §3): "every task" leaves it
    alone, its ID reaches it (also beside another ID, where the module lists the tasks), and its name alone fails
    before any retry, saying why."""
    sim.load({'tasks': [{'name': 'flaky', 'run_seconds': 0.1, 'runs': failed_runs('-10m')},
                        {'name': 'CPU check', 'type': 'threshold', 'run_seconds': 0.1, 'runs': failed_runs('-10m')}]})
    ids = task_ids(sim)
    before = sim.attempts()
    every = retry(sim, org_id=INFLUX_ORG_ID, failed={'after_time': '1h'})
    assert every.rc == 0, every
    assert sorted(task_id for task_id, dummy in new_attempts(before, sim.attempts())) == [ids['flaky']]

    by_name = retry(sim, org_id=INFLUX_ORG_ID, failed={'task_name': ['CPU check'], 'after_time': '1h'})
    assert by_name.rc == 1 and 'give such a task by task_id' in by_name['msg'], by_name
    assert sim.requests_to(RETRY_ROUTE) == 1

    middle = sim.attempts()
    by_id = retry(sim, org_id=INFLUX_ORG_ID, failed={'task_id': [ids['CPU check'], ids['flaky']], 'after_time': '1h'})
    assert by_id.rc == 0, by_id
    created = new_attempts(middle, sim.attempts())
    # One new attempt, the check's: flaky's scheduled time succeeded on its retry above.
    assert [task_id for task_id, dummy in created] == [ids['CPU check']]
    assert [len(fresh) for fresh in created.values()] == [1]
