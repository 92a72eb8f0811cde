# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""kapacitor_task_run_retry tells the truth: whose attempt a new run is, time-outs, the cause of not_found, the
diff, the lock and bad runs entries. Every effect is read from the simulator's record (``/_sim/``). The behaviour runs
against Kapacitor and InfluxDB 2 (``flavors``); the checks of the input, the same code on both, against Kapacitor."""

import fcntl
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from ansible_collections.tickstack.kapacitor.tests.functional.support import (
    BOTH_FLAVORS,
    RETRY_ROUTE,
    new_attempts,
    run_module,
    run_playbook,
)

# Module logic against the simulator, the same on every ansible-core line: CI runs it on the tool line.
pytestmark = pytest.mark.line_independent

LIST_ROUTE = 'GET /api/v2/tasks/:id/runs'
SNOWFLAKE_EPOCH = 1491696000


def retry(sim, check_mode=False, diff=False, **args):
    return run_module('kapacitor_task_run_retry', dict(sim.connection, **args), check_mode=check_mode, diff=diff)


def listed(sim, **args):
    result = run_module('kapacitor_task_runs_info', dict(sim.connection, **args))
    assert result.rc == 0, result
    return result['runs']


def only_time(sim, task_id):
    """The attempts of the one scheduled time of a task, from the simulator's record."""
    times = sim.attempts(task_id)[task_id]
    assert len(times) == 1, times
    return list(times.values())[0]


@BOTH_FLAVORS
def test_a_forced_retry_whose_answer_was_lost_reports_the_attempt_it_made_not_an_older_one(sim):
    created = sim.load({'tasks': [{'name': 'forced', 'runs': [
        {'status': 'failed', 'scheduled_for': '-30m'},
        {'status': 'success', 'scheduled_for': '-30m', 'requested_at': '-20m', 'started_at': '-20m'}]}]})
    task_id = created['tasks'][0]['id']
    original, later = only_time(sim, task_id)
    # Every retry is executed and recorded, then the connection is dropped without an answer.
    sim.faults(retry_drop_after_ratio=1.0, routes=[RETRY_ROUTE])
    result = retry(sim, task_id=task_id, run_id=original['id'], force=True)
    sim.faults()
    attempts = only_time(sim, task_id)
    assert len(attempts) == 3 and sim.requests_to(RETRY_ROUTE) == 1
    entry = result['results'][0]
    assert entry['outcome'] == 'retried'
    assert entry['new_run_id'] == attempts[2]['id'] != later['id']


@BOTH_FLAVORS
def test_a_forced_retry_refused_with_429_every_time_creates_nothing_and_claims_nothing(sim):
    created = sim.load({'tasks': [{'name': 'forced', 'runs': [
        {'status': 'failed', 'scheduled_for': '-30m'},
        {'status': 'success', 'scheduled_for': '-30m', 'requested_at': '-20m', 'started_at': '-20m'}]}]})
    task_id = created['tasks'][0]['id']
    before = sim.attempts()
    original = only_time(sim, task_id)[0]
    sim.faults(rate_limit_ratio=1.0, retry_after=0, routes=[RETRY_ROUTE])
    result = retry(sim, task_id=task_id, run_id=original['id'], force=True)
    sim.faults()
    assert sim.attempts() == before  # nothing was created...
    entry = result['results'][0]
    assert entry['outcome'] == 'error' and entry['new_run_id'] is None  # ...and the older success is not claimed
    assert sim.requests_to(RETRY_ROUTE) == 4 and 'sent 4 times' in entry['msg']


def test_retry_timeout_shorter_than_the_run_is_timed_out_and_the_cancelled_attempt_counts(sim):
    created = sim.load({'tasks': [{'name': 'slow', 'run_seconds': 8, 'runs': [{'status': 'failed', 'scheduled_for': '-30m'}]}]})
    task_id = created['tasks'][0]['id']
    started = time.monotonic()
    result = retry(sim, runs=listed(sim), retry_timeout=1.5, max_attempts=3)
    assert time.monotonic() - started < 8  # the module gave up; it did not wait for the run
    assert result.rc == 0 and result['changed'] is True
    entry = result['results'][0]
    assert entry['outcome'] == 'timed_out' and result['summary']['timed_out'] == 1
    # Out of band: Kapacitor cancelled the new run because the client hung up, and it was not sent again.
    stats = sim.stats()
    assert stats['disconnect_cancellations'] == 1 and stats['requests'][RETRY_ROUTE] == 1
    attempts = only_time(sim, task_id)
    assert len(attempts) == 2 and attempts[1]['status'] == 'failed'
    assert entry['new_run_id'] == attempts[1]['id']
    for part in ('retry_timeout is 1.5 seconds', 'Kapacitor cancelled the new run %s' % attempts[1]['id'],
                 'because the client gave up', 'attempt 2 of max_attempts 3'):
        assert part in entry['msg'], entry['msg']


@BOTH_FLAVORS
def test_not_found_names_the_true_cause(sim):
    days, product = sim.horizon // 86400, sim.product
    created = sim.load({'tasks': [
        {'name': 'a', 'runs': [{'status': 'failed', 'scheduled_for': '-30m'},
                               {'status': 'failed', 'scheduled_for': '-%dd' % (days + 1)}]},
        {'name': 'b', 'runs': [{'status': 'failed', 'scheduled_for': '-40m'}]}]})
    task_a, task_b = (task['id'] for task in created['tasks'])
    runs_a = sim.attempts(task_a)[task_a]
    recent_a = [runs for scheduled, runs in runs_a.items() if runs[0]['status'] == 'failed'][-1][0]['id']
    old_a = sorted(runs_a.items())[0][1][0]['id']
    run_b = only_time(sim, task_b)[0]['id']
    young = '%016x' % (int((time.time() - 3600 - SNOWFLAKE_EPOCH) * 1000) << 22)
    state = sim.state()
    wrong_time = '2026-01-01T00:00:00Z'
    asked = [{'task_id': task_a, 'run_id': run_b},                                     # a run of task b
             {'task_id': task_a, 'run_id': recent_a, 'scheduled_for': wrong_time},    # a wrong scheduled_for
             {'task_id': task_a, 'run_id': old_a},                                     # beyond the horizon
             {'task_id': task_a, 'run_id': young},                                     # never existed, recent ID
             {'task_id': task_b, 'run_id': run_b}]
    result = retry(sim, runs=asked, check_mode=True)
    assert [entry['outcome'] for entry in result['results']] == ['not_found'] * 4 + ['would_retry']
    messages = [entry['msg'] for entry in result['results']]
    assert 'is a run of task %s, not of task %s' % (task_b, task_a) in messages[0]
    assert 'runs[1].scheduled_for' in messages[1] and wrong_time in messages[1]
    assert '%s only keeps runs of the last %d days' % (product, days) in messages[2]
    assert 'belongs to another task or is wrong' in messages[3] and '%d days %s keeps' % (days, product) in messages[3]
    assert result.rc != 0 and '4 of 5 run(s) could not be retried' in result['msg']
    assert sim.requests_to(RETRY_ROUTE) == 0 and sim.state() == state


@BOTH_FLAVORS
@pytest.mark.parametrize('refresh', [True, False])
def test_check_mode_predicts_not_found_for_a_deleted_task_as_the_real_run_finds(sim, refresh):
    created = sim.load({'tasks': [{'name': 'gone', 'runs': [{'status': 'failed', 'scheduled_for': '-30m'}]}]})
    task_id = created['tasks'][0]['id']
    runs = listed(sim)
    assert sim.api('DELETE', '/tasks/%s' % task_id).status_code == 204
    checked = retry(sim, runs=runs, refresh=refresh, check_mode=True)
    assert sim.requests_to(RETRY_ROUTE) == 0
    real = retry(sim, runs=runs, refresh=refresh)
    for result in (checked, real):
        assert result['results'][0]['outcome'] == 'not_found'
        assert 'task %s not found: it was deleted' % task_id in result['results'][0]['msg']
    assert only_time(sim, task_id)[0]['status'] == 'failed' and len(only_time(sim, task_id)) == 1


@BOTH_FLAVORS
def test_the_diff_shows_the_real_after_state_when_the_input_holds_several_attempts(sim):
    created = sim.load({'tasks': [{'name': 'cpu_rollup', 'runs': [
        {'status': 'failed', 'scheduled_for': '-30m'},
        {'status': 'failed', 'scheduled_for': '-30m', 'requested_at': '-20m', 'started_at': '-20m'}]}]})
    task_id = created['tasks'][0]['id']
    runs = listed(sim)  # both attempts of one scheduled time, with task_name
    assert len(runs) == 2
    result = retry(sim, runs=runs, diff=True)
    attempts = only_time(sim, task_id)
    assert len(attempts) == 3 and attempts[2]['status'] == 'success'
    key = 'cpu_rollup %s' % runs[0]['scheduled_for']
    assert result['diff'] == {'before': {key: 'failed (attempt 2)'}, 'after': {key: 'success (attempt 3)'}}
    assert sorted(entry['outcome'] for entry in result['results']) == ['retried', 'superseded']
    assert all(entry['task_name'] == 'cpu_rollup' and entry['status_after'] == 'success' for entry in result['results'])


@BOTH_FLAVORS
def test_the_lock_keeps_a_second_job_on_this_host_from_retrying_again(sim):
    sim.load({'tasks': [{'name': 'slow', 'run_seconds': 2,
                         'runs': [{'status': 'failed', 'scheduled_for': '-%dm' % m} for m in (10, 20)]}]})
    runs = listed(sim)
    before = sim.attempts()
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(retry, sim, runs=runs, refresh=False)
        time.sleep(0.3)
        second = pool.submit(retry, sim, runs=runs, refresh=False)
        results = [first.result(), second.result()]
    created_now = new_attempts(before, sim.attempts())
    assert sorted(len(runs) for runs in created_now.values()) == [1, 1]  # one new attempt each, never two
    waited = max(results, key=lambda result: result['lock']['waited'])
    assert waited['lock']['waited'] > 1 and waited['summary']['superseded'] == 2 and waited['changed'] is False
    assert results[0]['lock']['path'] == results[1]['lock']['path']


def test_lock_timeout_fails_every_run_and_sends_nothing(sim, tmp_path):
    sim.load({'tasks': [{'name': 't', 'runs': [{'status': 'failed', 'scheduled_for': '-10m'}]}]})
    runs = listed(sim)
    probe = retry(sim, runs=runs, check_mode=True)
    assert probe['lock'] is None  # check mode takes no lock
    env = {'TMPDIR': str(tmp_path)}
    first = run_module('kapacitor_task_run_retry', {'url': sim.url, 'runs': [], 'lock_timeout': 1}, env=env)
    path = first['lock']['path']
    assert path.startswith(str(tmp_path) + '/tickstack-kapacitor-locks/')
    sim.reset_stats()
    with open(path) as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # another job holds the lock
        # server_type given: no detection request either, so the record must stay empty.
        result = run_module('kapacitor_task_run_retry', {'url': sim.url, 'runs': runs, 'lock_timeout': 1,
                                                         'server_type': 'kapacitor'}, env=env)
    assert result.rc != 0 and result['results'][0]['outcome'] == 'error'
    assert 'lock_timeout (1.0 s)' in result['msg'] and path in result['msg']
    assert result['lock']['path'] == path and result['lock']['waited'] >= 1
    assert sim.stats()['requests_total'] == 0


TASK = '0a1b2c3d4e5f0001'
RUN = '0b00000000000005'
BAD_RUNS = [
    ('scheduled-for-number', {'scheduled_for': 1790000000}, 'runs[1].scheduled_for is a number (1790000000)'),
    ('scheduled-for-word', {'scheduled_for': 'yesterday'}, "runs[1].scheduled_for is 'yesterday': expected an RFC3339"),
    ('scheduled-for-list', {'scheduled_for': ['2026-01-01T00:00:00Z']}, 'runs[1].scheduled_for is a list'),
    ('attempt-word', {'attempt': 'two'}, "runs[1].attempt is 'two': expected a whole number"),
    ('attempts-zero', {'attempts': 0}, 'runs[1].attempts is a number (0): expected a whole number of 1 or more'),
    ('attempt-above-attempts', {'attempt': 3, 'attempts': 2}, 'runs[1].attempt (3) is more than runs[1].attempts (2)'),
    ('status-word', {'status': 'broken'}, "runs[1].status is 'broken': expected one of scheduled, started"),
    ('task-id-empty', {'task_id': ''}, "runs[1].task_id is '': expected a Kapacitor ID"),
    ('run-id-empty', {'run_id': ''}, "runs[1].run_id is '': expected a Kapacitor ID"),
    ('task-id-null', {'task_id': None}, 'runs[1].task_id is missing'),
    ('task-id-number', {'task_id': 1234567890123456}, 'runs[1].task_id is a number (1234567890123456)'),
    ('run-id-list', {'run_id': [RUN]}, 'runs[1].run_id is a list'),
    ('task-name-list', {'task_name': ['cpu']}, 'runs[1].task_name is a list: expected a string'),
    ('id-and-run-id-empty', {'run_id': None, 'id': ''}, "runs[1].id is '': expected a Kapacitor ID"),
]


@pytest.mark.parametrize('fields, expected', [case[1:] for case in BAD_RUNS], ids=[case[0] for case in BAD_RUNS])
def test_a_bad_runs_entry_fails_naming_the_field_and_sends_nothing(shared_sim, fields, expected):
    shared_sim.reset_stats()
    entry = dict({'task_id': TASK, 'run_id': RUN}, **fields)
    result = retry(shared_sim, runs=[{'task_id': TASK, 'run_id': RUN}, entry])
    assert result.rc == 1 and expected in result['msg'], result['msg']
    assert 'Traceback' not in result.stderr
    assert shared_sim.stats()['requests_total'] == 0


def test_empty_task_id_and_run_id_do_not_succeed_silently(shared_sim):
    shared_sim.reset_stats()
    result = retry(shared_sim, task_id='', run_id='')
    assert result.rc == 1 and "task_id '' is not a Kapacitor ID" in result['msg']
    assert shared_sim.stats()['requests_total'] == 0


def test_a_negative_lock_timeout_is_refused(shared_sim):
    shared_sim.reset_stats()
    result = retry(shared_sim, runs=[], lock_timeout=-1)
    assert result.rc == 1 and 'lock_timeout must be 0 or more seconds, got -1' in result['msg']
    assert shared_sim.stats()['requests_total'] == 0


def test_an_unquoted_yaml_date_and_time_is_a_valid_scheduled_for(sim, tmp_path):
    created = sim.load({'tasks': [{'name': 'yaml', 'runs': [{'status': 'failed', 'scheduled_for': '-30m'}]}]})
    task_id = created['tasks'][0]['id']
    scheduled_for, attempts = list(sim.attempts(task_id)[task_id].items())[0]
    playbook = tmp_path / 'play.yml'
    playbook.write_text("""
- hosts: localhost
  gather_facts: false
  tasks:
    - tickstack.kapacitor.kapacitor_task_run_retry:
        url: %s
        refresh: false
        runs:
          - {task_id: "%s", run_id: "%s", scheduled_for: %s, status: failed, attempt: 1, attempts: 1}
""" % (sim.url, task_id, attempts[0]['id'], scheduled_for))
    result = run_playbook(str(playbook))
    assert result.returncode == 0, result.stdout
    attempts = only_time(sim, task_id)
    assert len(attempts) == 2 and attempts[1]['status'] == 'success'
