# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""kapacitor_task_run_retry against the simulator, as Kapacitor and as InfluxDB 2; effects are read from the
simulator's record."""


import threading

import pytest

from ansible_collections.tickstack.kapacitor.tests.functional.support import BOTH_FLAVORS, RETRY_ROUTE, new_attempts, run_module

pytestmark = BOTH_FLAVORS


def retry(sim, check_mode=False, diff=False, **args):
    return run_module('kapacitor_task_run_retry', dict(sim.connection, **args), check_mode=check_mode, diff=diff)


def failed_latest(sim, **args):
    result = run_module('kapacitor_task_runs_info', dict(sim.connection, status=['failed'], latest_attempt_only=True, **args))
    assert result.rc == 0, result
    return result['runs']


def scenario():
    return {'tasks': [
        {'name': 'flaky', 'run_seconds': 0.1, 'retry_outcomes': ['success'],
         'runs': [{'status': 'failed', 'scheduled_for': '-%dm' % m} for m in (10, 20, 30)]
         + [{'status': 'success', 'scheduled_for': '-%dm' % m} for m in (5, 15, 25)]},
        {'name': 'broken', 'retry_outcomes': ['fail'], 'retry_error': 'connection refused by influxdb',
         'runs': [{'status': 'failed', 'scheduled_for': '-40m'}]},
        {'name': 'healed',
         'runs': [{'status': 'failed', 'scheduled_for': '-50m'},
                  {'status': 'success', 'scheduled_for': '-50m', 'requested_at': '-45m', 'started_at': '-45m'}]},
        {'name': 'exhausted',
         'runs': [{'status': 'failed', 'scheduled_for': '-60m'},
                  {'status': 'failed', 'scheduled_for': '-60m', 'requested_at': '-55m', 'started_at': '-55m'},
                  {'status': 'failed', 'scheduled_for': '-60m', 'requested_at': '-50m', 'started_at': '-50m'}]},
    ]}


def test_each_outcome_and_a_second_run_changes_nothing(sim):
    sim.load(scenario())
    before = sim.attempts()
    runs = failed_latest(sim)
    everything = run_module('kapacitor_task_runs_info', sim.connection)['runs']
    healed_original = [run for run in everything if run['task_name'] == 'healed' and run['attempt'] == 1][0]
    success = [run for run in everything if run['task_name'] == 'flaky' and run['status'] == 'success'][0]
    asked = runs + [healed_original, success]

    first = retry(sim, runs=asked, max_attempts=3)
    outcomes = {(r['task_id'], r['run_id']): r['outcome'] for r in first['results']}
    names = {run['id']: run['task_name'] for run in everything}
    by_name = {}
    for (dummy, run_id), outcome in outcomes.items():
        by_name.setdefault(names[run_id], []).append(outcome)
    assert sorted(by_name['flaky']) == ['not_failed', 'retried', 'retried', 'retried']
    assert by_name['broken'] == ['retried_failed']
    assert by_name['healed'] == ['superseded']
    assert by_name['exhausted'] == ['max_attempts_reached']
    assert first.rc == 0 and first['changed'] is True
    assert first['summary']['retried'] == 3 and first['summary']['retried_failed'] == 1

    created = new_attempts(before, sim.attempts())
    # Exactly one new attempt per retried scheduled time, none elsewhere.
    assert sorted(len(runs) for runs in created.values()) == [1, 1, 1, 1]
    broken = [r for r in first['results'] if r['outcome'] == 'retried_failed'][0]
    new_id = created[(broken['task_id'], broken['scheduled_for'])][0]['id']
    assert broken['new_run_id'] == new_id and broken['status_after'] == 'failed'
    assert any('connection refused by influxdb' in line for line in broken['log'] + [broken['msg']])
    for result in first['results']:
        if result['outcome'] == 'retried':
            assert created[(result['task_id'], result['scheduled_for'])][0]['id'] == result['new_run_id']
            assert created[(result['task_id'], result['scheduled_for'])][0]['status'] == 'success'

    # The same input again: the retried scheduled times are superseded or given up, nothing is created.
    snapshot = sim.attempts()
    posts = sim.requests_to(RETRY_ROUTE)
    second = retry(sim, runs=asked, max_attempts=2)
    assert second['changed'] is False
    assert sim.attempts() == snapshot
    assert sim.requests_to(RETRY_ROUTE) == posts
    assert second['summary']['superseded'] >= 4 and second['summary']['max_attempts_reached'] == 2


def test_single_run_check_mode_and_diff(sim):
    created = sim.load({'tasks': [{'name': 't', 'runs': [{'status': 'failed', 'scheduled_for': '-10m'}]}]})
    task_id = created['tasks'][0]['id']
    run_id = sim.attempts(task_id)[task_id].popitem()[1][0]['id']
    checked = retry(sim, check_mode=True, diff=True, task_id=task_id, run_id=run_id)
    assert checked['changed'] is True
    assert checked['results'][0]['outcome'] == 'would_retry'
    assert list(checked['diff']['before'].values()) == ['failed (attempt 1)']
    assert sim.requests_to(RETRY_ROUTE) == 0
    done = retry(sim, diff=True, task_id=task_id, run_id=run_id.upper())
    assert done['results'][0]['outcome'] == 'retried'
    assert list(done['diff']['after'].values()) == ['success (attempt 2)']
    attempts = list(sim.attempts(task_id)[task_id].values())[0]
    assert len(attempts) == 2 and attempts[1]['id'] == done['results'][0]['new_run_id']


def test_not_found_fails_the_module_but_reports_every_result(sim):
    created = sim.load({'tasks': [{'name': 't', 'runs': [{'status': 'failed', 'scheduled_for': '-10m'}]}]})
    task_id = created['tasks'][0]['id']
    run_id = list(sim.attempts(task_id)[task_id].values())[0][0]['id']
    result = retry(sim, runs=[{'task_id': task_id, 'run_id': run_id}, {'task_id': task_id, 'run_id': '0123456789abcdef'},
                              {'task_id': 'fedcba9876543210', 'run_id': run_id}])
    assert result.rc != 0 and result['failed']
    assert [r['outcome'] for r in result['results']] == ['retried', 'not_found', 'not_found']
    assert 'task fedcba9876543210 not found' in result['results'][2]['msg']
    assert '2 of 3 run(s) could not be retried' in result['msg']
    assert len(list(sim.attempts(task_id)[task_id].values())[0]) == 2


def test_concurrency_reaches_the_setting(sim):
    runs = [{'status': 'failed', 'scheduled_for': '-%dm' % (m + 1)} for m in range(8)]
    sim.load({'tasks': [{'name': 'slow', 'run_seconds': 1.0, 'runs': runs}]})
    result = retry(sim, runs=failed_latest(sim), concurrency=8)
    assert result['summary']['retried'] == 8
    assert sim.stats()['peak_concurrent_retries'] == 8


@pytest.mark.kapacitor_only("a retry blocks until its run ended, and 422 'run already queued' answers a second one")
def test_two_retries_of_one_run_at_once_make_one_new_attempt(sim):
    created = sim.load({'tasks': [{'name': 'q', 'queue_seconds': 2.0, 'run_seconds': 0.5,
                                   'runs': [{'status': 'failed', 'scheduled_for': '-10m'}]}]})
    task_id = created['tasks'][0]['id']
    # Both copies decide from the same input (no refresh) and without the lock. The one that looks second just
    # before sending sees the first one's queued run (superseded); if both look before either sends, Kapacitor
    # answers the second with 422 while the first is still queued (already_queued). Either way: one new attempt.
    runs = failed_latest(sim)
    results = []

    def go():
        results.append(retry(sim, runs=runs, refresh=False, lock=False))
    threads = [threading.Thread(target=go) for dummy in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcomes = sorted(result['results'][0]['outcome'] for result in results)
    assert outcomes in (['already_queued', 'retried'], ['retried', 'superseded'])
    other = [result for result in results if result['results'][0]['outcome'] != 'retried'][0]
    assert other['changed'] is False and other.rc == 0
    assert len(list(sim.attempts(task_id)[task_id].values())[0]) == 2
    assert sim.requests_to(RETRY_ROUTE) == (2 if 'already_queued' in outcomes else 1)


def test_uncertain_posts_are_resolved_by_listing_not_by_resending(sim):
    runs = [{'status': 'failed', 'scheduled_for': '-%dm' % (m + 1)} for m in range(12)]
    sim.load({'tasks': [{'name': 'drop', 'runs': runs}]})
    before = sim.attempts()
    sim.faults(seed=5, retry_drop_after_ratio=0.5)
    result = retry(sim, runs=failed_latest(sim), concurrency=4)
    sim.faults()
    assert sim.stats()['faults_injected'].get('retry_drop_after', 0) >= 1
    created = new_attempts(before, sim.attempts())
    assert len(created) == 12 and all(len(runs) == 1 for runs in created.values())
    assert result['summary']['retried'] == 12
    for entry in result['results']:
        assert entry['new_run_id'] == created[(entry['task_id'], entry['scheduled_for'])][0]['id']


def test_runs_info_output_with_refresh_false_lists_only_each_retried_time_and_each_task_once(sim):
    sim.load({'tasks': [{'name': 'a', 'runs': [{'status': 'failed', 'scheduled_for': '-5m'}]},
                        {'name': 'b', 'runs': [{'status': 'failed', 'scheduled_for': '-6m'}]}]})
    runs = failed_latest(sim)
    sim.reset_stats()
    result = retry(sim, runs=runs, refresh=False)
    assert result['summary']['retried'] == 2
    stats = sim.stats()['requests']
    # No listing to decide: one of the one scheduled time just before each retry, one per task for duplicates after.
    assert stats.get('GET /api/v2/tasks/:id/runs', 0) == 2 + 2 and stats[RETRY_ROUTE] == 2


@pytest.mark.flavors('kapacitor')  # argument checks, before the server type matters
def test_bad_input_fails_before_any_request(sim):
    cases = [
        ({'task_id': 'abc', 'run_id': '0123456789abcdef'}, "task_id 'abc' is not a Kapacitor ID"),
        ({'task_id': '0123456789abcdef', 'run_id': 'xyz'}, "run_id 'xyz' is not a Kapacitor ID"),
        ({'task_id': '0123456789abcdef'}, 'parameters are required together: task_id, run_id'),
        ({'runs': [{'task_id': '0123456789abcdef'}]}, 'runs[0].run_id is missing'),
        ({'runs': ['0123456789abcdef']}, "Elements value for option 'runs' is of type"),
        ({'runs': [], 'max_attempts': 0}, 'max_attempts must be 1 or more'),
        ({'runs': [], 'concurrency': 101}, 'concurrency must be between 1 and 100'),
        ({'runs': [], 'retry_timeout': 0}, 'retry_timeout must be a positive number'),
    ]
    for args, message in cases:
        result = retry(sim, **args)
        assert result.rc != 0 and message in result['msg'], (args, result['msg'])
    assert sim.stats()['requests_total'] == 0
