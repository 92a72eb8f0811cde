# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""kapacitor_task_runs_info lists every run, or says which task and time range it could not reach.

The hard cases of Kapacitor's run listing (docs/kapacitor-api.md §4.4), each against the simulator and judged
by its own record (``/_sim/state``), never by the module's report: runs Kapacitor still holds in its kv store lead
every page whatever their status and ``scheduledFor``; runs that share a ``scheduledFor`` come back in a new order on
every request; one second may hold a whole page of runs. All but the kv cases run against InfluxDB 2 as well.
"""

import pytest
import requests

from ansible_collections.tickstack.kapacitor.tests.functional.support import BOTH_FLAVORS, listable_runs, run_module

# Module logic against the simulator, the same on every ansible-core line: CI runs it on the tool line.
pytestmark = [pytest.mark.line_independent, BOTH_FLAVORS]
LIST_ROUTE = 'GET /api/v2/tasks/:id/runs'


def listable_ids(sim, task_id):
    return {run['id'] for run in listable_runs(sim, task_id)}


def info(sim, **args):
    result = run_module('kapacitor_task_runs_info', dict(sim.connection, **args))
    assert result.rc == 0, result
    return result


def load(sim, **task):
    task.setdefault('name', 'busy')
    return sim.load({'tasks': [task]})['tasks'][0]['id']


@pytest.mark.kapacitor_only('runs Kapacitor holds in its kv store after they finished lead every page (docs/kapacitor-api.md §4.4)')
def test_runs_held_in_kv_at_old_scheduled_times_do_not_hide_the_runs_between(sim):
    # 1,002 completed runs, and runs still held in the kv store long after their scheduled time: attempts that have
    # just finished (recent start, so the newest IDs) and ones stuck since their scheduled time (old IDs).
    held = [{'status': status, 'scheduled_for': '-%dm' % minutes, 'started_at': '-%ds' % (5 + minutes % 7),
             'in_kv': True} for status, minutes in (('failed', 990), ('success', 700), ('canceled', 400), ('failed', 30))]
    held += [{'status': 'failed', 'scheduled_for': '-%dm' % minutes, 'in_kv': True} for minutes in (995, 555)]
    task_id = load(sim, runs=held, generate_runs={'count': 1002, 'every': '1m', 'end': '-1m', 'failed_ratio': 0.05,
                                                  'retried_ratio': 0.0, 'seed': 5})
    expected = listable_ids(sim, task_id)
    in_kv = {run['id'] for run in sim.state()['runs'] if run['in_kv']}
    assert len(expected) == 1002 + 6 and len(in_kv) == 6

    result = info(sim, task_id=task_id)

    returned = [run['id'] for run in result['runs']]
    assert len(returned) == len(set(returned))
    assert set(returned) == expected
    assert result.warning_texts == []
    # The failed runs are all there: the ones the issue saw go missing.
    failed = {run['id'] for run in sim.state()['runs'] if run['task_id'] == task_id and run['status'] == 'failed'}
    assert failed <= set(returned)
    # Still paged, not one request per run: 1,008 runs need three pages of 500.
    assert sim.requests_to(LIST_ROUTE) <= 4


@pytest.mark.kapacitor_only('runs Kapacitor holds in its kv store after they finished lead every page (docs/kapacitor-api.md §4.4)')
def test_a_retry_that_lingers_in_kv_does_not_hide_the_runs_between(sim):
    generate = {'count': 1100, 'every': '1m', 'end': '-1m', 'failed_ratio': 0.1, 'retried_ratio': 0.0, 'seed': 8}
    task_id = load(sim, kv_linger_seconds=30, generate_runs=generate)
    oldest_failed = min((run for run in sim.state()['runs'] if run['status'] == 'failed'),
                        key=lambda run: run['scheduled_for'])
    url = '%s/kapacitor/v1/api/v2/tasks/%s/runs/%s/retry' % (sim.url, task_id, oldest_failed['id'])
    assert requests.post(url, timeout=30).status_code == 200
    new = [run for run in sim.state()['runs'] if run['scheduled_for'] == oldest_failed['scheduled_for']
           and run['id'] != oldest_failed['id']]
    assert len(new) == 1 and new[0]['in_kv'] and new[0]['status'] == 'success'

    result = info(sim, task_id=task_id, status=['failed'])

    expected_failed = {run['id'] for run in sim.state()['runs'] if run['task_id'] == task_id and run['status'] == 'failed'}
    assert {run['id'] for run in result['runs']} == expected_failed and len(expected_failed) == 110
    assert result.warning_texts == []
    assert new[0]['in_kv'] and [run for run in sim.state()['runs'] if run['id'] == new[0]['id']][0]['in_kv']


def test_many_attempts_sharing_scheduled_times_across_page_boundaries_are_each_listed_once(sim):
    runs = []
    for minute in range(1, 400):
        runs.extend({'status': 'failed', 'scheduled_for': '-%dm' % minute} for dummy in range(1 + minute % 5))
    task_id = load(sim, runs=runs)
    expected = listable_ids(sim, task_id)
    assert len(expected) == len(runs) > 1000

    result = info(sim, task_id=task_id)

    returned = [run['id'] for run in result['runs']]
    assert len(returned) == len(set(returned)) and set(returned) == expected
    assert result.warning_texts == []
    attempts = sim.attempts(task_id)[task_id]
    for run in result['runs']:
        ids = [attempt['id'] for attempt in attempts[run['scheduled_for']]]
        assert (run['attempt'], run['attempts']) == (ids.index(run['id']) + 1, len(ids))


def test_exactly_500_runs_in_one_second_are_listed_without_a_warning(sim):
    runs = [{'status': 'failed', 'scheduled_for': '-2h'} for dummy in range(500)]
    runs += [{'status': 'success', 'scheduled_for': '-%dm' % minutes} for minutes in range(121, 141)]
    task_id = load(sim, runs=runs)

    result = info(sim, task_id=task_id)

    assert {run['id'] for run in result['runs']} == listable_ids(sim, task_id)
    assert len(result['runs']) == 520
    assert result.warning_texts == []


def test_more_runs_in_one_second_than_a_page_holds_is_a_warning_naming_the_task_and_the_second(sim):
    runs = [{'status': 'failed', 'scheduled_for': '-2h'} for dummy in range(640)]
    runs += [{'status': 'success', 'scheduled_for': '-%dm' % minutes} for minutes in range(121, 141)]
    task_id = load(sim, runs=runs)
    crowded = [run for run in sim.state()['runs'] if run['status'] == 'failed']
    second = crowded[0]['scheduled_for']

    result = info(sim, task_id=task_id)

    returned = {run['id'] for run in result['runs']}
    assert len(returned) == len(result['runs'])
    # Every run outside the crowded second is listed; the crowded second is named as possibly incomplete.
    assert {run['id'] for run in sim.state()['runs'] if run['status'] == 'success'} <= returned
    assert len(returned & {run['id'] for run in crowded}) >= 500
    assert len(result.warning_texts) == 1
    warning = result.warning_texts[0]
    assert 'task %s (busy)' % task_id in warning
    assert 'runs scheduled for %s may be missing' % second in warning and 'more than the 500 a page could hold' in warning


@pytest.mark.kapacitor_only('runs Kapacitor holds in its kv store after they finished lead every page (docs/kapacitor-api.md §4.4)')
def test_a_limit_stops_early_without_losing_runs_behind_kv_runs(sim):
    held = [{'status': 'failed', 'scheduled_for': '-%dm' % minutes, 'started_at': '-3s', 'in_kv': True}
            for minutes in (900, 901)]
    task_id = load(sim, runs=held, generate_runs={'count': 1500, 'every': '1m', 'end': '-1m', 'failed_ratio': 0.02,
                                                  'retried_ratio': 0.0, 'seed': 2})
    failed = sorted((run for run in sim.state()['runs'] if run['status'] == 'failed'),
                    key=lambda run: (run['scheduled_for'], run['id']), reverse=True)

    result = info(sim, task_id=task_id, status=['failed'], limit=25)

    assert [run['id'] for run in result['runs']] == [run['id'] for run in failed[:25]]
    sim_requests = sim.requests_to(LIST_ROUTE)
    assert result['totals']['requests'] == sim_requests < 4
