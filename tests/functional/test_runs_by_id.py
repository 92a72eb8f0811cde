# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""kapacitor_task_runs_info for an on-call engineer: the failure reason of every failed run without include_logs,
and runs found by ID alone across tasks, on Kapacitor and on InfluxDB 2. Compared with the simulator's own record
(``/_sim/``)."""

import time

import pytest

from ansible_collections.tickstack.kapacitor.tests.functional.support import BOTH_FLAVORS, run_module

# Module logic against the simulator, the same on every ansible-core line: CI runs it on the tool line.
pytestmark = [pytest.mark.line_independent, BOTH_FLAVORS]

LIST_ROUTE = 'GET /api/v2/tasks/:id/runs'
RUN_ROUTE = 'GET /api/v2/tasks/:id/runs/:rid'
LOGS_ROUTE = 'GET /api/v2/tasks/:id/runs/:rid/logs'
SNOWFLAKE_EPOCH = 1491696000
OUTAGE = 'runtime error @4:6-4:40: to: failed to write data: Post "http://influxdb:8086/api/v2/write": connection refused'
PARSE = 'could not parse Flux script: error @3:1-3:4: invalid expression'


def runs_info(sim, **args):
    return run_module('kapacitor_task_runs_info', dict(sim.connection, **args))


def counted(sim, route):
    return sim.stats()['requests'].get(route, 0)


def load(sim):
    return sim.load({'tasks': [
        {'name': 'cpu_rollup', 'runs': [
            {'status': 'failed', 'scheduled_for': '-3h', 'error': OUTAGE},
            {'status': 'failed', 'scheduled_for': '-3h', 'requested_at': '-90m', 'started_at': '-90m', 'error': PARSE},
            {'status': 'success', 'scheduled_for': '-3h', 'requested_at': '-30m', 'started_at': '-30m'},
            {'status': 'success', 'scheduled_for': '-2h'}]},
        {'name': 'disk_rollup', 'runs': [{'status': 'failed', 'scheduled_for': '-40m', 'error': OUTAGE},
                                         {'status': 'success', 'scheduled_for': '-25m'}]},
        {'name': 'mem_rollup', 'runs': [{'status': 'success', 'scheduled_for': '-40m'}]}]})


def test_every_failed_run_carries_its_error_without_logs_and_without_a_request_per_run(sim):
    load(sim)
    sim.reset_stats()
    result = runs_info(sim)
    assert result.rc == 0, result
    by_id = {run['id']: run for run in result['runs']}
    # The simulator's own record of the runs (out of band) and each failed run's log as the server serves it.
    state = sim.state()['runs']
    failed = [run for run in state if run['status'] == 'failed']
    assert len(failed) == 3
    for run in failed:
        events = sim.api('GET', '/tasks/%s/runs/%s/logs' % (run['task_id'], run['id'])).json()['events']
        assert 'Started task from script' in events[0]['message']  # the echo is in the log...
        error = by_id[run['id']]['error']
        assert error in (OUTAGE, PARSE) and error == events[-1]['message']  # ...and not in error
        assert 'log' not in by_id[run['id']]
    assert all(by_id[run['id']]['error'] is None for run in state if run['status'] == 'success')
    assert sorted(by_id[run['id']]['error'] for run in failed) == sorted([OUTAGE, OUTAGE, PARSE])
    # One listing per task: no request per run for its error.
    assert counted(sim, RUN_ROUTE) == 0 and counted(sim, LIST_ROUTE) == 3


def test_error_can_be_the_only_field(sim):
    load(sim)
    result = runs_info(sim, status=['failed'], fields=['id', 'error'])
    assert result.rc == 0, result
    assert sorted(result['runs'][0]) == ['error', 'id'] and len(result['runs']) == 3
    assert sorted(run['error'] for run in result['runs']) == sorted([OUTAGE, OUTAGE, PARSE])


def test_a_run_id_alone_finds_the_run_on_its_task_with_its_attempts(sim):
    load(sim)
    state = sim.state()
    disk = next(task for task in state['tasks'] if task['name'] == 'disk_rollup')
    target = next(run for run in state['runs'] if run['task_id'] == disk['id'] and run['status'] == 'failed')
    sim.reset_stats()
    result = runs_info(sim, run_id=[target['id']])
    assert result.rc == 0, result
    (run,) = result['runs']
    assert (run['id'], run['task_id'], run['task_name'], run['status']) == (target['id'], disk['id'], 'disk_rollup', 'failed')
    assert (run['attempt'], run['attempts'], run['error']) == (1, 1, OUTAGE)
    assert result['not_found'] == []
    # At most one request per task (three tasks, one task-list request aside).
    assert counted(sim, LIST_ROUTE) + counted(sim, RUN_ROUTE) <= 3


def test_a_retry_of_an_older_scheduled_time_is_found_with_every_attempt(sim):
    load(sim)
    state = sim.state()
    cpu = next(task for task in state['tasks'] if task['name'] == 'cpu_rollup')
    attempts = sorted((run for run in state['runs'] if run['task_id'] == cpu['id'] and run['requested_at']),
                      key=lambda run: run['id'])
    second = attempts[0]  # attempt 2 of the -3h scheduled time, made 90 minutes after it
    sim.reset_stats()
    result = runs_info(sim, run_id=[second['id']], task_status='active')
    assert result.rc == 0, result
    (run,) = result['runs']
    assert (run['id'], run['task_name'], run['attempt'], run['attempts'], run['error']) == (
        second['id'], 'cpu_rollup', 2, 3, PARSE)
    assert counted(sim, RUN_ROUTE) <= 3  # one GET per task at most


def test_an_unknown_run_id_is_said_clearly_and_does_not_fail(sim):
    load(sim)
    ghost = '%016x' % (int((time.time() - 3600 - SNOWFLAKE_EPOCH) * 1000) << 22)
    result = runs_info(sim, run_id=[ghost])
    assert result.rc == 0, result
    assert result['runs'] == [] and result['not_found'] == [ghost]
    assert any('run %s was not found among the runs of the 3 task(s) searched' % ghost in text
               for text in result.warning_texts)


@pytest.mark.flavors('kapacitor')  # argument checks, before the server type matters
def test_run_id_is_checked_and_excludes_the_window(sim):
    load(sim)
    bad = runs_info(sim, run_id=['12345'])
    assert bad.rc != 0 and "run_id '12345' is not a Kapacitor ID" in bad['msg']
    both = runs_info(sim, run_id=['0a1b2c3d4e5f6789'], after_time='1h')
    assert both.rc != 0 and 'mutually exclusive' in both['msg'] and 'run_id' in both['msg']
