# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""kapacitor_task_runs_info against the simulator, as Kapacitor and as InfluxDB 2, compared with the simulator's own
record."""


import time

import pytest

from ansible_collections.tickstack.kapacitor.tests.functional.support import (
    BOTH_FLAVORS,
    epoch_seconds,
    listable_runs,
    run_module,
    start_simulator,
)

pytestmark = BOTH_FLAVORS


def info(sim, check_mode=False, **args):
    return run_module('kapacitor_task_runs_info', dict(sim.connection, **args), check_mode=check_mode)


@pytest.fixture(scope='module')
def big(shared_sim):
    """A task far above 500 runs with a crowd of attempts at a page boundary, and a small second task. (Every run of
    the big task started within 3 days, InfluxDB's horizon, and hours from its edge.)"""
    boundary_runs = [{'status': 'failed', 'scheduled_for': '-%dm' % (2 * 499 + 1)} for dummy in range(30)]
    created = shared_sim.load({'tasks': [
        {'name': 'big', 'runs': boundary_runs,
         'generate_runs': {'count': 2000, 'every': '2m', 'end': '-1m', 'failed_ratio': 0.05, 'retried_ratio': 0.5, 'seed': 3}},
        {'name': 'small', 'status': 'inactive',
         'runs': [{'status': 'failed', 'scheduled_for': '-3h'}, {'status': 'success', 'scheduled_for': '-2h'},
                  {'status': 'failed', 'scheduled_for': '-16d'}]},
    ]})
    return {task['name']: task['id'] for task in created['tasks']}


def test_every_run_far_above_one_page_is_returned_once(shared_sim, big):
    result = info(shared_sim, task_id=big['big'])
    assert result.rc == 0, result
    expected = {run['id'] for run in listable_runs(shared_sim, big['big'])}
    returned = [run['id'] for run in result['runs']]
    assert len(expected) > 2000
    assert len(returned) == len(set(returned))
    assert set(returned) == expected
    assert result['changed'] is False
    # Pages of 500 with one second of overlap: close to the lower bound, never one request per run.
    assert result['totals']['requests'] <= len(expected) // 499 + 2


def test_attempt_annotations_match_the_simulators_attempts(shared_sim, big):
    result = info(shared_sim, task_id=big['big'], latest_attempt_only=True)
    attempts = shared_sim.attempts(big['big'])[big['big']]
    by_time = {run['scheduled_for']: run for run in result['runs']}
    assert set(by_time) == set(attempts)
    for scheduled_for, runs in attempts.items():
        run = by_time[scheduled_for]
        assert run['id'] == runs[-1]['id']
        assert run['attempts'] == len(runs) == run['attempt']
        assert run['status'] == runs[-1]['status']
    crowded = [run for run in result['runs'] if run['attempts'] >= 30]
    assert len(crowded) == 1


def test_status_filter_on_latest_attempts_finds_what_still_fails(shared_sim, big):
    result = info(shared_sim, task_id=big['big'], latest_attempt_only=True, status=['failed'])
    attempts = shared_sim.attempts(big['big'])[big['big']]
    still_failing = {sf for sf, runs in attempts.items() if runs[-1]['status'] == 'failed'}
    assert {run['scheduled_for'] for run in result['runs']} == still_failing
    assert result['tasks'][0]['run_counts']['failed'] == len(still_failing)


def test_window_bounds_are_exclusive_and_relative_durations_work(shared_sim, big):
    state = listable_runs(shared_sim, big['big'])
    times = sorted({run['scheduled_for'] for run in state})
    after, before = times[100], times[400]
    result = info(shared_sim, task_id=big['big'], after_time=after, before_time=before)
    expected = {run['id'] for run in state if after < run['scheduled_for'] < before}
    assert {run['id'] for run in result['runs']} == expected
    assert result['window'] == {'after_time': after, 'before_time': before}
    relative = info(shared_sim, task_id=big['big'], after_time='90m')
    cutoff = time.time() - 5400
    assert relative['runs'] and all(epoch_seconds(run['scheduled_for']) > cutoff - 2 for run in relative['runs'])


def test_limit_caps_runs_per_task_newest_first(shared_sim, big):
    result = info(shared_sim, limit=7, status=['failed'])
    per_task = {}
    for run in result['runs']:
        per_task.setdefault(run['task_id'], []).append(run)
    assert len(per_task[big['big']]) == 7
    assert all(run['status'] == 'failed' for run in result['runs'])
    newest = sorted((run for run in listable_runs(shared_sim, big['big']) if run['status'] == 'failed'),
                    key=lambda r: (r['scheduled_for'], r['id']), reverse=True)[:7]
    assert [run['id'] for run in per_task[big['big']]] == [run['id'] for run in newest]


def test_after_run_id_returns_only_later_runs_without_using_the_broken_server_cursor(shared_sim, big):
    everything = listable_runs(shared_sim, big['big'])
    pivot = sorted(run['id'] for run in everything)[-50]
    result = info(shared_sim, task_id=big['big'], after=pivot)
    assert {run['id'] for run in result['runs']} == {run['id'] for run in everything if run['id'] > pivot}


def test_task_selection_by_name_and_status(shared_sim, big):
    by_name = info(shared_sim, task_name='small')
    assert [task['id'] for task in by_name['tasks']] == [big['small']]
    # The run older than the horizon (14 days on Kapacitor, 3 on InfluxDB) is invisible, as on the real servers.
    assert len(by_name['runs']) == 2
    active = info(shared_sim, task_status='active')
    assert [task['id'] for task in active['tasks']] == [big['big']]
    both = info(shared_sim, task_id=[big['small'], big['big']], include_logs=True, status=['failed'], limit=1)
    assert [task['name'] for task in both['tasks']] == sorted(['big', 'small'], key=lambda n: big[n])
    assert all(run['log'] and 'Completed(failed)' in ' '.join(entry['message'] for entry in run['log'])
               for run in both['runs'])


def test_check_mode_lists_the_same(shared_sim, big):
    normal = info(shared_sim, task_name='small')
    checked = info(shared_sim, task_name='small', check_mode=True)
    assert checked['runs'] == normal['runs'] and checked['changed'] is False


def test_window_past_the_horizon_warns(shared_sim, big):
    result = info(shared_sim, task_name='small', after_time='20d')
    expected = ('further back than %d days' % (shared_sim.horizon // 86400), '%s only returns runs' % shared_sim.product)
    assert any(all(part in warning for part in expected) for warning in result.warning_texts), result.warning_texts


@pytest.mark.parametrize('args, message', [
    ({'task_id': 'abc'}, "task_id 'abc' is not a Kapacitor ID"),
    ({'task_id': ['0000000000000000']}, 'all-zero'),
    ({'after': 'nothex0000000000'}, "after 'nothex0000000000' is not a Kapacitor ID"),
    ({'after_time': 'yesterday'}, "after_time 'yesterday' is neither an RFC3339 time"),
    ({'before_time': '2026-13-01T00:00:00Z'}, 'before_time'),
    ({'after_time': '1h', 'before_time': '2h'}, 'must be later than after_time'),
    ({'limit': 0}, 'limit must be 1 or more, got 0'),
    ({'concurrency': 0}, 'concurrency must be between 1 and 100'),
    ({'status': ['broken']}, 'value of status must be one or more of'),
])
@pytest.mark.flavors('kapacitor')  # argument checks, before the server type matters
def test_bad_input_fails_before_any_request(sim, args, message):
    args = dict(args, url=sim.url)
    result = run_module('kapacitor_task_runs_info', args)
    assert result.rc != 0 and result['failed'] is True
    assert message in result['msg']
    assert 'Traceback' not in result['msg']
    assert sim.stats()['requests_total'] == 0


def test_unknown_task_id_is_not_found(sim):
    sim.load({'tasks': [{'name': 'one', 'runs': [{'status': 'failed', 'scheduled_for': '-1h'}]}]})
    result = info(sim, task_id='0123456789abcdef')
    assert result['failed'] and 'task 0123456789abcdef not found' in result['msg']
    result = info(sim, task_name='nope')
    assert result['failed'] and "no task named 'nope'" in result['msg']


def test_disabled_flux_task_api_says_so():
    disabled = start_simulator('--fluxtask-disabled')
    try:
        result = info(disabled)
        assert result['failed']
        assert 'Flux task API' in result['msg'] and '[fluxtask] enabled = true' in result['msg']
    finally:
        disabled.process.stop()


def test_fields_select_the_keys_of_each_run(shared_sim, big):
    full = info(shared_sim, task_name='small')
    slim = info(shared_sim, task_name='small', fields=['id', 'status'])
    assert [sorted(run) for run in slim['runs']] == [['id', 'status']] * len(full['runs'])
    assert [(run['id'], run['status']) for run in slim['runs']] == [(run['id'], run['status']) for run in full['runs']]
    assert slim['tasks'] == full['tasks'] and slim['totals']['run_counts'] == full['totals']['run_counts']
