# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the Retrier with a scripted fake client (no HTTP) and a fake clock, and of the server lock."""


import datetime
import os
import stat

import pytest

from ansible_collections.tickstack.kapacitor.plugins.module_utils._errors import (
    AmbiguousRequest,
    InputError,
    KapacitorError,
    PagingError,
    RateLimited,
    RequestError,
    ServerUnreachable,
)
from ansible_collections.tickstack.kapacitor.plugins.module_utils._lock import LockTimeout, ServerLock, lock_path
from ansible_collections.tickstack.kapacitor.plugins.module_utils._retrier import (
    CONTENTION_PAUSE,
    FOLLOW_MAX,
    MISSING_LIMIT,
    Retrier,
    RetryItem,
    failure_message,
)
from ansible_collections.tickstack.kapacitor.plugins.module_utils._runs import HORIZON_SECONDS, epoch_to_rfc3339, rfc3339_to_epoch
from ansible_collections.tickstack.kapacitor.tests.unit.plugins.module_utils.fakes import FakeClock, snowflake

NOW = 1790000000  # 2026-09-21T14:13:20Z
TASK, OTHER = '0a1b2c3d4e5f6789', '0a1b2c3d4e5f6790'
SCHEDULED = NOW - 3600


class FakeKapacitor:
    """A scripted stand-in for KapacitorClient: it keeps runs per task, lists them by scheduled time as Kapacitor
    does, and answers each retry POST with the next step of ``script``. ``posts`` and ``lists`` count requests."""

    base_url = 'http://kapacitor.example:9092'
    server_type = 'kapacitor'
    runs_block = True   # a retry is answered once its run has finished
    clock_offset = 0   # the server's clock minus this host's: the times it writes into runs and their IDs
    answered = False   # whether any request was answered, and with it the server's clock read (Date)
    pings = 0

    def server_time(self, now):
        # As the client gives it: this host's now until an answer's Date has shown the server's clock.
        return now + self.clock_offset if self.answered else now

    def ensure_clock(self):
        if not self.answered:
            self.pings += 1
            self.answered = True

    @staticmethod
    def horizon_seconds():
        return HORIZON_SECONDS

    def __init__(self, clock, script=(), tasks=(TASK,)):
        self.clock = clock
        self.tasks = set(tasks)
        self.runs = {}
        self.script = list(script)
        self.posts = []
        self.lists = 0
        self.gets = 0
        self.serial = 0
        self.on_list = None

    def add(self, task_id, status, scheduled=SCHEDULED, created=None, log=None):
        self.serial += 1
        run = {'id': snowflake(created or (NOW + self.clock_offset - 600 + self.serial), self.serial),
               'taskID': task_id, 'status': status,
               'scheduledFor': epoch_to_rfc3339(scheduled)}
        if log:
            run['log'] = [{'message': line} for line in log]
        self.runs.setdefault(task_id, []).append(run)
        return run

    # -- what KapacitorClient offers
    def get(self, path):
        self.answered = True
        self.gets += 1
        dummy, task_id, dummy2, run_id = path.strip('/').split('/')
        for run in self.runs.get(task_id, []):
            if run['id'] == run_id:
                return dict(run)
        raise RequestError('HTTP 404: failed to find run: run not found', status=404,
                           server_message='failed to find run: run not found')

    def get_run(self, task_id, run_id):
        try:
            return self.get('/tasks/%s/runs/%s' % (task_id, run_id))
        except RequestError:
            return None

    def get_task(self, task_id):
        self.answered = True
        return {'id': task_id} if task_id in self.tasks else None

    def list_runs_page(self, task_id, params):
        self.answered = True
        self.lists += 1
        if self.on_list:
            self.on_list(self, task_id)
        after = rfc3339_to_epoch(params['afterTime']) if 'afterTime' in params else None
        before = rfc3339_to_epoch(params['beforeTime']) if 'beforeTime' in params else None
        return [dict(run) for run in self.runs.get(task_id, [])
                if (after is None or rfc3339_to_epoch(run['scheduledFor']) > after)
                and (before is None or rfc3339_to_epoch(run['scheduledFor']) < before)][:params['limit']]

    def retry_run(self, task_id, run_id, timeout):
        self.answered = True
        self.posts.append(run_id)
        step = self.script.pop(0) if self.script else 'ok'
        original = self.get('/tasks/%s/runs/%s' % (task_id, run_id))
        scheduled = rfc3339_to_epoch(original['scheduledFor'])
        if step == 'ok':
            run = self.add(task_id, 'success', scheduled)
            return 200, {'id': run['id'], 'status': 'scheduled'}, None
        if step == 'ok+other':  # ours succeeds, and another job retried the same scheduled time as well
            run = self.add(task_id, 'success', scheduled)
            self.add(task_id, 'success', scheduled)
            return 200, {'id': run['id'], 'status': 'scheduled'}, None
        if step == 'fail':
            self.add(task_id, 'failed', scheduled, log=['Started', 'could not execute task run: boom'])
            return 500, None, 'failed to retry run: could not execute task run: boom'
        if step == 'fail+other':   # ours failed; another client's retry of the same time, sent meanwhile, runs on
            self.add(task_id, 'failed', scheduled, log=['Started', 'could not execute task run: boom'])
            self.add(task_id, 'started', scheduled)
            return 500, None, 'failed to retry run: could not execute task run: boom'
        if step == 'unstarted':   # the executor could not start it: the same words, and the run stays queued
            self.add(task_id, 'scheduled', scheduled)
            return 500, None, 'failed to retry run: could not execute task run: failed to find permission for user'
        if step == '422':
            return 422, None, 'failed to retry run: run already queued'
        if step == '404':
            return 404, None, 'failed to retry run: task not found'
        if step == '429':
            raise RateLimited('HTTP 429: slow down', 7.0, method='POST', status=429)
        if step == 'reset_before':
            raise AmbiguousRequest('Connection reset by peer', method='POST')
        if step == 'reset_after':
            self.add(task_id, 'success', scheduled)
            raise AmbiguousRequest('Connection aborted: RemoteDisconnected', method='POST')
        if step == '503':
            return 503, None, '<html>Service Unavailable</html>'
        if step == 'timeout':
            self.clock.now += timeout
            self.add(task_id, 'failed', scheduled, log=['Started', 'context canceled'])
            raise AmbiguousRequest('Read timed out. (read timeout=%s)' % timeout, method='POST')
        if step == 'unreachable':
            raise ServerUnreachable('Kapacitor at http://kapacitor.example:9092 became unreachable during the call: '
                                    'Connection refused')
        raise AssertionError(step)

    def attempts(self, task_id=TASK, scheduled=SCHEDULED):
        return [run for run in self.runs.get(task_id, []) if run['scheduledFor'] == epoch_to_rfc3339(scheduled)]


def retrier(client, clock, **options):
    options.setdefault('concurrency', 1)
    options.setdefault('retry_timeout', 60.0)
    return Retrier(client, clock=clock, wall=lambda: NOW, sleep=clock.sleep, shuffle=lambda jobs: None, **options)


class FakeInfluxDB21(FakeKapacitor):
    """InfluxDB 2.0 or 2.1: a retry is answered once its run has finished, as on Kapacitor; the authorizer looks the
    task up first."""

    server_type = 'influxdb2'

    def get_task(self, task_id):
        task = super().get_task(task_id)
        return task and dict(task, status='active')


# The servers whose retry answers come once the new run has finished.
BLOCKING_SERVERS = pytest.mark.parametrize('server_class', [FakeKapacitor, FakeInfluxDB21], ids=['kapacitor', 'influxdb2.1'])


def one(script=(), server_class=FakeKapacitor, **options):
    """A failed run, retried by a Retrier with ``options``; returns (result, fake server, clock)."""
    clock = FakeClock()
    server = server_class(clock, script)
    failed = server.add(TASK, 'failed')
    result = retrier(server, clock, **options).run([RetryItem(TASK, failed['id'])])[0]
    return result, server, clock


# ------------------------------------------------------------------ the retry request's answers

def test_options_are_keywords_only():
    with pytest.raises(TypeError):
        Retrier(FakeKapacitor(FakeClock()), 3, False, 4, 60.0, False, True)  # pylint: disable=too-many-function-args


@BLOCKING_SERVERS
def test_200_creates_exactly_one_attempt(server_class):
    result, server, dummy = one(['ok'], server_class)
    assert result['outcome'] == 'retried'
    assert len(server.posts) == 1 and len(server.attempts()) == 2
    assert result['new_run_id'] == server.attempts()[1]['id']
    assert (result['status_after'], result['attempts'], result['attempts_after']) == ('success', 1, 2)


def test_influxdb_2_1_reads_no_new_run_after_its_200_as_kapacitor():
    # The 200 came when the new run had succeeded: no GET of it, where InfluxDB 2.2+ would be read until it ends.
    kapacitor, influx = one(['ok'])[1], one(['ok'], FakeInfluxDB21)[1]
    assert influx.gets == kapacitor.gets and [len(server.posts) for server in (kapacitor, influx)] == [1, 1]


@BLOCKING_SERVERS
def test_500_from_the_new_run_is_retried_failed_with_its_log(server_class):
    result, server, dummy = one(['fail'], server_class)
    assert result['outcome'] == 'retried_failed'
    assert result['new_run_id'] == server.attempts()[1]['id']
    assert 'could not execute task run: boom' in result['log']


def test_422_is_already_queued_and_not_sent_again():
    result, server, dummy = one(['422'])
    assert result['outcome'] == 'already_queued'
    assert len(server.posts) == 1 and len(server.attempts()) == 1


def test_429_waits_for_retry_after_then_sends_again_when_nothing_was_created():
    result, server, clock = one(['429', 'ok'])
    assert result['outcome'] == 'retried'
    assert 7.0 in clock.sleeps
    assert len(server.posts) == 2 and len(server.attempts()) == 2


def test_a_reset_before_processing_is_sent_again_once_a_listing_shows_nothing_new():
    result, server, dummy = one(['reset_before', 'ok'])
    assert result['outcome'] == 'retried'
    assert len(server.posts) == 2 and len(server.attempts()) == 2


def test_a_reset_after_processing_is_never_sent_again():
    result, server, dummy = one(['reset_after', 'ok'])
    assert result['outcome'] == 'retried'
    assert len(server.posts) == 1 and len(server.attempts()) == 2
    assert result['new_run_id'] == server.attempts()[1]['id']


def test_a_proxy_5xx_is_sent_at_most_four_times_then_is_an_error():
    result, server, dummy = one(['503'] * 10)
    assert result['outcome'] == 'error'
    assert len(server.posts) == 4 and len(server.attempts()) == 1
    assert 'sent 4 times' in result['msg']


def test_a_500_while_another_clients_run_is_under_way_reports_this_requests_failed_run_at_once():
    result, server, clock = one(['fail+other'], retry_timeout=1800)
    ours, theirs = server.attempts()[1:]
    assert result['outcome'] == 'retried_failed' and result['new_run_id'] == ours['id'] and clock.now - 1000.0 < 5
    assert theirs['status'] == 'started'


@BLOCKING_SERVERS
def test_a_500_for_a_run_that_never_started_is_an_error_at_once_not_a_wait_for_its_end(server_class):
    result, server, clock = one(['unstarted'], server_class, retry_timeout=1800)
    assert result['outcome'] == 'error' and len(server.posts) == 1 and clock.now - 1000.0 < 5
    assert 'the new run %s is still scheduled: the server could not start it' % server.attempts()[1]['id'] in result['msg']


@BLOCKING_SERVERS
def test_a_time_out_is_timed_out_names_retry_timeout_and_counts_the_burned_attempt(server_class):
    result, server, dummy = one(['timeout'], server_class, retry_timeout=2.5, max_attempts=3)
    assert result['outcome'] == 'timed_out'
    assert len(server.posts) == 1
    assert 'retry_timeout is 2.5 seconds' in result['msg']
    product = 'InfluxDB' if server_class is FakeInfluxDB21 else 'Kapacitor'
    assert '%s cancelled' % product in result['msg'] and 'client gave up' in result['msg']
    assert 'attempt 2 of max_attempts 3' in result['msg']
    assert result['new_run_id'] == server.attempts()[1]['id'] and result['attempts_after'] == 2


def test_an_unreachable_server_is_an_error_with_the_shared_reason():
    result, server, dummy = one(['unreachable'])
    assert result['outcome'] == 'error'
    assert result['msg'].startswith('Kapacitor at http://kapacitor.example:9092 became unreachable')


# ------------------------------------------------------------------ whose attempt is it?

@pytest.mark.parametrize('script', [['reset_before', 'ok'], ['429', 'ok'], ['503', 'ok']])
def test_a_forced_retry_never_takes_an_attempt_that_existed_before_the_call(script):
    clock = FakeClock()
    server = FakeKapacitor(clock, script)
    first = server.add(TASK, 'failed')
    later = server.add(TASK, 'success')
    result = retrier(server, clock, force=True).run([RetryItem(TASK, first['id'])])[0]
    assert result['outcome'] == 'retried'
    assert len(server.attempts()) == 3 and len(server.posts) == 2
    assert result['new_run_id'] == server.attempts()[2]['id'] != later['id']


def test_a_forced_time_out_does_not_take_the_older_later_attempt():
    clock = FakeClock()
    server = FakeKapacitor(clock, ['timeout'])
    first = server.add(TASK, 'failed')
    server.add(TASK, 'success')
    result = retrier(server, clock, force=True, retry_timeout=5).run([RetryItem(TASK, first['id'])])[0]
    assert result['outcome'] == 'timed_out'
    assert result['new_run_id'] == server.attempts()[2]['id']


# The server's clock minus this host's: the same outcome whether the server's clock is right, behind or ahead.
CLOCK_OFFSETS = pytest.mark.parametrize('offset', [0, -1200, 1200])


@CLOCK_OFFSETS
def test_an_attempt_made_after_the_input_was_listed_stops_the_request(offset):
    clock = FakeClock()
    server = FakeKapacitor(clock)
    server.clock_offset = offset
    failed = server.add(TASK, 'failed')
    hints = {'scheduled_for': failed['scheduledFor'], 'status': 'failed', 'attempt': 1, 'attempts': 1}
    server.add(TASK, 'started')  # another job's retry, made after the input was listed but before this call
    result = retrier(server, clock, refresh=False).run([RetryItem(TASK, failed['id'], hints)])[0]
    assert result['outcome'] == 'superseded'
    assert 'a later attempt than the input described exists' in result['msg']
    assert server.posts == [] and clock.sleeps == []


@CLOCK_OFFSETS
def test_an_attempt_another_job_makes_during_the_call_stops_the_request_and_pauses_the_thread(offset):
    clock = FakeClock()
    server = FakeKapacitor(clock)
    server.clock_offset = offset
    failed = server.add(TASK, 'failed')
    hints = {'scheduled_for': failed['scheduledFor'], 'status': 'failed', 'attempt': 1, 'attempts': 1}

    def other_job_retries(fake, task_id):  # just before this call's own check
        if fake.lists == 1:
            fake.add(task_id, 'started', created=NOW + offset + 1)
    server.on_list = other_job_retries
    result = retrier(server, clock, refresh=False).run([RetryItem(TASK, failed['id'], hints)])[0]
    assert result['outcome'] == 'superseded'
    assert 'another job created attempt 2' in result['msg'] and 'during this call' in result['msg']
    assert server.posts == []
    assert len(clock.sleeps) == 1 and 0 <= clock.sleeps[0] <= CONTENTION_PAUSE


def test_a_fresh_decision_is_not_listed_again_before_the_request_but_an_old_one_is():
    clock = FakeClock()
    server = FakeKapacitor(clock)
    failed = server.add(TASK, 'failed')
    retrier(server, clock, recheck_after=1.0).run([RetryItem(TASK, failed['id'])])
    assert server.lists == 2  # to decide and to look for duplicates: the decision was 0 s old when it was sent

    class SlowKapacitor(FakeKapacitor):
        def retry_run(self, task_id, run_id, timeout):
            self.clock.now += 2  # each retry takes two seconds, so the second decision is old when it is due
            return super().retry_run(task_id, run_id, timeout)

    clock = FakeClock()
    server = SlowKapacitor(clock)
    items = [RetryItem(TASK, server.add(TASK, 'failed', SCHEDULED - 60 * n)['id']) for n in range(2)]
    results = retrier(server, clock, recheck_after=1.0).run(items)
    assert [r['outcome'] for r in results] == ['retried', 'retried']
    assert server.lists == 3  # to decide, once before the second request, and to look for duplicates


def test_two_new_attempts_of_one_scheduled_time_are_reported_as_a_duplicate():
    clock = FakeClock()
    server = FakeKapacitor(clock, ['ok+other'])
    failed = server.add(TASK, 'failed')
    engine = retrier(server, clock)
    engine.run([RetryItem(TASK, failed['id'], task_name='cpu')])
    new = [run['id'] for run in server.attempts()[1:]]
    assert engine.duplicates == [{'task_id': TASK, 'task_name': 'cpu', 'scheduled_for': failed['scheduledFor'],
                                  'new_attempts': new}]


def test_duplicate_detection_costs_one_listing_per_task_not_per_run():
    clock = FakeClock()
    server = FakeKapacitor(clock)
    items = [RetryItem(TASK, server.add(TASK, 'failed', SCHEDULED - 60 * n)['id']) for n in range(10)]
    engine = retrier(server, clock, recheck_after=1e9)
    engine.run(items)
    assert len(server.posts) == 10 and engine.duplicates == []
    assert server.lists == 2  # one to decide, one to look for duplicates


def test_the_jobs_are_shuffled():
    clock = FakeClock()
    server = FakeKapacitor(clock)
    items = [RetryItem(TASK, server.add(TASK, 'failed', SCHEDULED - 60 * n)['id']) for n in range(5)]
    Retrier(server, concurrency=1, clock=clock, sleep=clock.sleep, shuffle=lambda jobs: jobs.reverse()).run(items)
    # The plan lists the jobs newest run first; the injected shuffle reversed them.
    assert server.posts == sorted(item.run_id for item in items)


# ------------------------------------------------------------------ check mode, not found, errors

def test_check_mode_sends_nothing_and_predicts_a_deleted_task():
    clock = FakeClock()
    server = FakeKapacitor(clock, tasks=())
    failed = server.add(TASK, 'failed')
    hints = {'scheduled_for': failed['scheduledFor'], 'status': 'failed', 'attempt': 1, 'attempts': 1}
    result = retrier(server, clock, check_mode=True, refresh=False).run([RetryItem(TASK, failed['id'], hints)])[0]
    assert result['outcome'] == 'not_found' and 'task %s not found' % TASK in result['msg']
    server.tasks.add(TASK)
    result = retrier(server, clock, check_mode=True).run([RetryItem(TASK, failed['id'])])[0]
    assert result['outcome'] == 'would_retry'
    assert server.posts == []


def test_not_found_names_the_true_cause():
    clock = FakeClock()
    server = FakeKapacitor(clock, tasks=(TASK, OTHER))
    mine = server.add(TASK, 'failed')
    theirs = server.add(OTHER, 'failed', SCHEDULED - 60)
    old_id = snowflake(NOW - 20 * 86400)
    young_id = snowflake(NOW - 3600, 5)
    wrong_hint = {'scheduled_for': epoch_to_rfc3339(SCHEDULED - 7200)}
    items = [RetryItem(TASK, theirs['id'], where='runs[0]'), RetryItem(TASK, mine['id'], wrong_hint, where='runs[1]'),
             RetryItem(TASK, old_id), RetryItem(TASK, young_id), RetryItem('0a1b2c3d4e5f6791', mine['id']),
             RetryItem(OTHER, theirs['id'])]
    results = retrier(server, clock, check_mode=True).run(items)
    assert [r['outcome'] for r in results] == ['not_found'] * 5 + ['would_retry']
    assert 'is a run of task %s, not of task %s' % (OTHER, TASK) in results[0]['msg']
    assert 'runs[1].scheduled_for' in results[1]['msg'] and mine['scheduledFor'] in results[1]['msg']
    assert 'Kapacitor only keeps runs of the last 14 days' in results[2]['msg']
    assert 'belongs to another task or is wrong' in results[3]['msg'] and 'only keeps' not in results[3]['msg']
    assert 'task 0a1b2c3d4e5f6791 not found' in results[4]['msg']


@pytest.mark.parametrize('offset', [-86400, 86400])
def test_not_found_judges_the_horizon_by_the_servers_clock(offset):
    # A run ID is stamped by the server's clock, a day behind this host's or a day ahead: by this host's clock, an ID
    # of 14 days minus 2 hours ago (by the server's) would look beyond the horizon, or one of 14 days and 2 hours
    # within it.
    clock = FakeClock()
    server = FakeKapacitor(clock)
    server.clock_offset = offset
    within, beyond = (snowflake(NOW + offset - 14 * 86400 + sign * 7200, index) for index, sign in ((1, 1), (2, -1)))
    results = retrier(server, clock).run([RetryItem(TASK, within), RetryItem(TASK, beyond)])
    assert [result['outcome'] for result in results] == ['not_found', 'not_found']
    assert ['only keeps runs of the last 14 days' in result['msg'] for result in results] == [False, True], results


def test_a_paging_error_becomes_an_error_result_for_each_run_of_the_task():
    clock = FakeClock()
    server = FakeKapacitor(clock)
    items = [RetryItem(TASK, server.add(TASK, 'failed', SCHEDULED - 60 * n)['id']) for n in range(3)]

    def broken(fake, task_id):
        raise PagingError('a full page of 500 runs held no completed run')
    server.on_list = broken
    results = retrier(server, clock).run(items)
    assert [r['outcome'] for r in results] == ['error'] * 3
    assert 'full page' in results[0]['msg'] and server.posts == []


def test_many_identical_errors_make_one_short_grouped_message():
    clock = FakeClock()
    server = FakeKapacitor(clock, ['unreachable'] * 200)
    items = [RetryItem(TASK, server.add(TASK, 'failed', SCHEDULED - 60 * n)['id']) for n in range(200)]
    results = retrier(server, clock).run(items)
    message = failure_message(results)
    assert len(message) < 2000
    assert message.startswith('200 of 200 run(s) could not be retried: 200 run(s) error: Kapacitor at')


def test_errors_that_differ_only_in_each_runs_own_ids_are_one_reason():
    """Kapacitor's 403 names the endpoint, with the task's and run's IDs: one refusal met by every run is one reason.
    An ID the runs of a group share is shown; those that differ become placeholders, followed by the first few."""
    denied = 'HTTP 403: user ro does not have "write" privilege for API endpoint "/api/api/v2/tasks/%s/runs/%s/retry"'
    results = [{'outcome': 'error', 'task_id': task, 'run_id': run, 'latest_attempt_id': latest,
                'msg': denied % (task, latest)}
               for task, run, latest in [('0a00000000000001', '0b00000000000001', '0b00000000000001'),
                                         ('0a00000000000001', '0b00000000000002', '0b00000000000003'),
                                         ('0a00000000000002', '0b00000000000004', '0b00000000000004')]]
    results.append({'outcome': 'error', 'task_id': '0a00000000000002', 'run_id': '0b00000000000005',
                    'latest_attempt_id': None, 'msg': 'run 0b00000000000005 not found'})
    assert failure_message(results) == (
        '4 of 4 run(s) could not be retried: 3 run(s) error: %s (<task_id>: 0a00000000000001, 0a00000000000002; '
        '<run_id>: 0b00000000000001, 0b00000000000003, 0b00000000000004); 1 run(s) error: run 0b00000000000005 not found'
        % (denied % ('<task_id>', '<run_id>')))
    # Runs of one task: its ID is shown; beyond three differing run IDs, how many more.
    one_task = [dict(results[0], run_id=run, latest_attempt_id=run, msg=denied % ('0a00000000000001', run))
                for run in ('0b00000000000011', '0b00000000000012', '0b00000000000013', '0b00000000000014')]
    assert failure_message(one_task) == (
        '4 of 4 run(s) could not be retried: 4 run(s) error: %s (<run_id>: 0b00000000000011, 0b00000000000012, '
        '0b00000000000013 and 1 more)' % (denied % ('0a00000000000001', '<run_id>')))
    # Two deleted tasks: one reason, naming both.
    deleted = [dict(entry, msg='task %s not found' % entry['task_id']) for entry in results[1:3]]
    assert failure_message(deleted) == ('2 of 2 run(s) could not be retried: 2 run(s) error: task <task_id> not found '
                                        '(<task_id>: 0a00000000000001, 0a00000000000002)')
    # Words that are the same for every run of their group are shown as they are, and so are words that name both
    # the run and its latest attempt.
    same = [dict(entry, msg='task 0a00000000000001 not found') for entry in results[:2]]
    assert failure_message(same) == '2 of 2 run(s) could not be retried: 2 run(s) error: task 0a00000000000001 not found'
    both = dict(results[1], msg='run 0b00000000000002 has a later attempt 0b00000000000003')
    assert failure_message([both]).endswith('1 run(s) error: run 0b00000000000002 has a later attempt 0b00000000000003')
    # Long words are cut, the IDs after them never.
    long_words = [dict(entry, msg='could not list the runs of task %s: HTTP 500: %s' % (entry['task_id'], 'x' * 600))
                  for entry in results[1:3]]
    assert failure_message(long_words).endswith('x... (<task_id>: 0a00000000000001, 0a00000000000002)')


def test_the_failure_message_stays_short_with_many_different_reasons():
    results = [{'outcome': 'error', 'msg': 'reason %d %s' % (n, 'x' * 300)} for n in range(50)]
    message = failure_message(results)
    assert len(message) < 2000 and 'other reason(s)' in message


def test_refuse_gives_every_run_the_reason_and_sends_nothing():
    clock = FakeClock()
    server = FakeKapacitor(clock)
    items = [RetryItem(TASK, server.add(TASK, 'failed')['id'])]
    results = retrier(server, clock).refuse(items, 'lock_timeout passed')
    assert results[0]['outcome'] == 'error' and results[0]['msg'] == 'lock_timeout passed' and server.posts == []


def test_several_attempts_of_one_scheduled_time_share_the_after_state():
    clock = FakeClock()
    server = FakeKapacitor(clock)
    first = server.add(TASK, 'failed')
    second = server.add(TASK, 'failed')
    results = retrier(server, clock).run([RetryItem(TASK, first['id']), RetryItem(TASK, second['id'])])
    assert [r['outcome'] for r in results] == ['superseded', 'retried']
    assert results[0]['status_after'] == results[1]['status_after'] == 'success'
    assert results[0]['attempts_after'] == results[1]['attempts_after'] == 3


# ------------------------------------------------------------------ runs entries

GOOD = {'task_id': TASK, 'run_id': '0d5f1a2b3c4d5e6f'}


@pytest.mark.parametrize('entry, field, expected', [
    (dict(GOOD, task_id=''), 'runs[0].task_id', 'Kapacitor ID'),
    (dict(GOOD, run_id=''), 'runs[0].run_id', 'Kapacitor ID'),
    (dict(GOOD, task_id=None), 'runs[0].task_id', 'missing'),
    (dict(GOOD, task_id=1234567890123456), 'runs[0].task_id', 'a number'),
    (dict(GOOD, run_id=['0d5f1a2b3c4d5e6f']), 'runs[0].run_id', 'a list'),
    (dict(GOOD, scheduled_for=1790000000), 'runs[0].scheduled_for', 'RFC3339'),
    (dict(GOOD, scheduled_for='yesterday'), 'runs[0].scheduled_for', 'RFC3339'),
    (dict(GOOD, scheduled_for=['2026-01-01T00:00:00Z']), 'runs[0].scheduled_for', 'a list'),
    (dict(GOOD, attempt='two'), 'runs[0].attempt', 'whole number'),
    (dict(GOOD, attempts=0), 'runs[0].attempts', 'whole number'),
    (dict(GOOD, attempt=True), 'runs[0].attempt', 'whole number'),
    (dict(GOOD, attempt=3, attempts=2), 'runs[0].attempt', 'attempt <= attempts'),
    (dict(GOOD, status='broken'), 'runs[0].status', 'one of'),
    (dict(GOOD, task_name=['x']), 'runs[0].task_name', 'a string'),
    (dict(GOOD, finished_at='yesterday'), 'runs[0].finished_at', 'RFC3339'),
    (dict(GOOD, finished_at=1790000000), 'runs[0].finished_at', 'a number'),
    (dict(GOOD, error=['boom']), 'runs[0].error', 'a string or null'),
    ('0d5f1a2b3c4d5e6f', 'runs[0]', 'a dict'),
])
def test_a_bad_runs_entry_names_the_field_and_what_was_expected(entry, field, expected):
    with pytest.raises(InputError) as info:
        RetryItem.from_entry(entry, 0)
    assert field in str(info.value) and expected in str(info.value)


def test_a_runs_entry_takes_any_rfc3339_form_or_a_datetime():
    forms = ['2026-09-21T13:13:20Z', '2026-09-21T15:13:20+02:00', '2026-09-21T13:13:20.000Z',
             datetime.datetime(2026, 9, 21, 13, 13, 20)]
    hints = [RetryItem.from_entry(dict(GOOD, scheduled_for=form), 0).hints['scheduled_for'] for form in forms]
    assert hints == ['2026-09-21T13:13:20Z'] * 4


def test_a_runs_info_entry_is_taken_as_is():
    entry = dict(GOOD, id='0D5F1A2B3C4D5E6F', run_id=None, task_name='cpu', status='failed', attempt=1, attempts='1',
                 scheduled_for='2026-09-21T13:13:20Z', started_at='x')
    item = RetryItem.from_entry(entry, 0)
    assert (item.run_id, item.task_name) == ('0d5f1a2b3c4d5e6f', 'cpu')
    assert item.hinted_run()['status'] == 'failed'


# ------------------------------------------------------------------ the retry policy: min_age and skip_errors

OUTAGE = 'runtime error @4:6-4:40: to: failed to write data: Post "http://influxdb:8086/api/v2/write": connection refused'
PARSE = 'could not parse Flux script: error @3:1-3:4: invalid expression'


def failed_at(server, finished, error=OUTAGE, scheduled=SCHEDULED):
    """A failed run that finished ``finished`` seconds before NOW by the server's clock, with the executor's log
    lines."""
    now = NOW + server.clock_offset
    run = server.add(TASK, 'failed', scheduled, created=now - finished - 1,
                     log=['Started task from script: "option task = {name: \\"t\\"}"', 'Completed(failed)', error])
    run['finishedAt'] = epoch_to_rfc3339(now - finished)
    return run


def test_a_failure_younger_than_min_age_is_deferred_and_nothing_is_sent():
    clock = FakeClock()
    server = FakeKapacitor(clock)
    run = failed_at(server, 5 * 60)
    result = retrier(server, clock, min_age=600).run([RetryItem(TASK, run['id'], task_name='cpu')])[0]
    assert result['outcome'] == 'deferred' and server.posts == []
    assert result['task_name'] == 'cpu' and result['status_after'] == 'failed' and result['attempts_after'] == 1
    assert 'failed 5m ago, less than min_age (10m)' in result['msg']


def test_a_failure_older_than_min_age_is_retried():
    clock = FakeClock()
    server = FakeKapacitor(clock, ['ok'])
    run = failed_at(server, 11 * 60)
    result = retrier(server, clock, min_age=600).run([RetryItem(TASK, run['id'])])[0]
    assert result['outcome'] == 'retried' and server.posts == [run['id']]


@pytest.mark.parametrize('offset, finished, outcome', [
    (-1200, 5 * 60, 'deferred'),    # behind: by this host's clock the failure would look 25 minutes old
    (1200, 11 * 60, 'retried'),     # ahead: by this host's clock it would not have happened yet
])
def test_min_age_is_measured_by_the_servers_clock(offset, finished, outcome):
    clock = FakeClock()
    server = FakeKapacitor(clock, ['ok'])
    server.clock_offset = offset
    run = failed_at(server, finished)
    result = retrier(server, clock, min_age=600).run([RetryItem(TASK, run['id'])])[0]
    assert result['outcome'] == outcome and len(server.posts) == (outcome == 'retried')


def test_min_age_counts_from_the_latest_attempt_not_the_run_asked_about():
    clock = FakeClock()
    server = FakeKapacitor(clock)
    first = failed_at(server, 3600)
    failed_at(server, 60)  # attempt 2, a minute ago
    result = retrier(server, clock, min_age=600).run([RetryItem(TASK, first['id'])])[0]
    assert result['outcome'] == 'deferred' and server.posts == [] and result['attempts'] == 2


def test_an_error_matching_skip_errors_is_skipped_naming_the_pattern_and_the_error():
    clock = FakeClock()
    server = FakeKapacitor(clock)
    run = failed_at(server, 3600, error=PARSE)
    result = retrier(server, clock, skip_errors=['undefined identifier', 'could not parse Flux']).run(
        [RetryItem(TASK, run['id'], task_name='cpu')])[0]
    assert result['outcome'] == 'skipped' and server.posts == [] and result['task_name'] == 'cpu'
    assert "pattern 'could not parse Flux'" in result['msg'] and 'invalid expression' in result['msg']
    assert 'Started task from script' not in result['msg']


def test_an_error_matching_no_pattern_is_retried_and_the_script_echo_never_matches():
    clock = FakeClock()
    server = FakeKapacitor(clock, ['ok'])
    run = failed_at(server, 3600)
    # "option task" is in the echo of the script, and "Completed" in the verdict: neither is the error.
    result = retrier(server, clock, skip_errors=['option task', 'Completed']).run([RetryItem(TASK, run['id'])])[0]
    assert result['outcome'] == 'retried' and server.posts == [run['id']]


def test_skip_errors_wins_over_max_attempts_and_min_age_and_force_over_all():
    clock = FakeClock()
    server = FakeKapacitor(clock, ['ok'])
    run = failed_at(server, 10, error=PARSE)
    policy = dict(skip_errors=['could not parse'], min_age=600, max_attempts=1)
    assert retrier(server, clock, **policy).run([RetryItem(TASK, run['id'])])[0]['outcome'] == 'skipped'
    forced = retrier(server, clock, force=True, **policy).run([RetryItem(TASK, run['id'])])[0]
    assert forced['outcome'] == 'retried' and server.posts == [run['id']]


def test_check_mode_reports_deferred_and_skipped_as_a_real_call_would():
    clock = FakeClock()
    server = FakeKapacitor(clock)
    young = failed_at(server, 60, scheduled=SCHEDULED)
    parse = failed_at(server, 3600, error=PARSE, scheduled=SCHEDULED - 900)
    old = failed_at(server, 3600, scheduled=SCHEDULED - 1800)
    results = retrier(server, clock, check_mode=True, min_age=600, skip_errors=['parse']).run(
        [RetryItem(TASK, run['id']) for run in (young, parse, old)])
    assert [entry['outcome'] for entry in results] == ['deferred', 'skipped', 'would_retry'] and server.posts == []


def runs_info_entry(run, **fields):
    entry = {'task_id': TASK, 'id': run['id'], 'status': run['status'], 'scheduled_for': run['scheduledFor'],
             'attempt': 1, 'attempts': 1}
    entry.update(fields)
    return RetryItem.from_entry(entry, 0)


def test_refresh_false_decides_the_policy_from_finished_at_and_error_without_a_listing():
    clock = FakeClock()
    server = FakeKapacitor(clock)
    young = failed_at(server, 60)
    parse = failed_at(server, 3600, error=PARSE, scheduled=SCHEDULED - 900)
    items = [runs_info_entry(young, finished_at=young['finishedAt'], error=OUTAGE),
             runs_info_entry(parse, finished_at=parse['finishedAt'], error=PARSE)]
    results = retrier(server, clock, refresh=False, min_age=600, skip_errors=['parse']).run(items)
    assert [entry['outcome'] for entry in results] == ['deferred', 'skipped']
    assert server.lists == 0 and server.posts == [] and server.pings == 1


def test_min_age_sends_no_clock_ping_when_a_listing_came_first():
    clock = FakeClock()
    server = FakeKapacitor(clock, ['ok'])
    run = failed_at(server, 3600)
    result = retrier(server, clock, min_age=600).run([RetryItem(TASK, run['id'])])[0]
    assert result['outcome'] == 'retried' and server.pings == 0


def test_refresh_false_measures_min_age_by_the_servers_clock_though_nothing_is_listed():
    # With server_type given and entries that say all the policy needs, no request precedes the decision: the
    # server's clock is read first, or a failure of 5 minutes ago by a clock 20 minutes behind looks 25 minutes old.
    clock = FakeClock()
    server = FakeKapacitor(clock)
    server.clock_offset = -1200
    young = failed_at(server, 300)
    results = retrier(server, clock, refresh=False, min_age=600).run(
        [runs_info_entry(young, finished_at=young['finishedAt'], error=OUTAGE)])
    assert [entry['outcome'] for entry in results] == ['deferred'] and 'failed 5m ago' in results[0]['msg']
    assert server.lists == 0 and server.posts == [] and server.pings == 1


@pytest.mark.parametrize('missing', ['finished_at', 'error'])
def test_refresh_false_lists_an_entry_that_lacks_what_the_policy_needs_rather_than_guessing(missing):
    clock = FakeClock()
    server = FakeKapacitor(clock)
    run = failed_at(server, 60, error=PARSE)
    fields = {'finished_at': run['finishedAt'], 'error': PARSE}
    del fields[missing]
    # The entry says the run is old and its error harmless where it knows; the listing says otherwise.
    fields = {name: ('2026-01-01T00:00:00Z' if name == 'finished_at' else OUTAGE) for name in fields}
    policy = {'finished_at': dict(min_age=600), 'error': dict(skip_errors=['parse'])}[missing]
    result = retrier(server, clock, refresh=False, **policy).run([runs_info_entry(run, **fields)])[0]
    assert result['outcome'] == {'finished_at': 'deferred', 'error': 'skipped'}[missing]
    assert server.lists == 1 and server.posts == []


def test_a_bad_skip_errors_pattern_is_refused_naming_it():
    with pytest.raises(InputError) as info:
        Retrier(FakeKapacitor(FakeClock()), skip_errors=['fine', 'could not (parse'])
    assert "skip_errors[1] 'could not (parse' is not a valid Python regular expression" in str(info.value)


# ------------------------------------------------------------------ the lock

def test_the_lock_file_is_named_after_the_url_and_shared_by_every_user(tmp_path):
    directory = str(tmp_path / 'locks')
    path = lock_path('http://kapacitor.example:9092', directory)
    assert os.path.dirname(path) == directory and len(os.path.basename(path)) == len('0123456789abcdef.lock')
    assert lock_path('http://kapacitor.example:9093', directory) != path
    with ServerLock('http://kapacitor.example:9092', 1, directory) as held:
        assert held.path == path and held.waited == 0 and not held.contended
        assert stat.S_IMODE(os.stat(directory).st_mode) == 0o1777
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o666


def test_a_held_lock_times_out_with_a_message_naming_lock_timeout_and_the_file(tmp_path):
    clock = FakeClock()
    with ServerLock('http://k:9092', 5, str(tmp_path)):
        waiting = ServerLock('http://k:9092', 5, str(tmp_path), clock=clock, sleep=clock.sleep)
        with pytest.raises(LockTimeout) as info:
            waiting.acquire()
    assert 'lock_timeout (5 s)' in str(info.value) and waiting.path in str(info.value)
    assert isinstance(info.value, KapacitorError) and waiting.waited >= 5 and round(sum(clock.sleeps), 6) >= 5


def test_a_released_lock_is_taken_and_the_wait_is_reported(tmp_path):
    clock = FakeClock()
    first = ServerLock('http://k:9092', 5, str(tmp_path)).acquire()
    second = ServerLock('http://k:9092', 5, str(tmp_path), clock=clock)

    def sleep(seconds):
        clock.sleep(seconds)
        if len(clock.sleeps) == 3:
            first.release()
    second._sleep = sleep
    second.acquire()
    assert second.contended and second.waited == pytest.approx(0.3)
    second.release()


# ------------------------------------------------------------------ InfluxDB 2: the retry is accepted at once

INFLUX_HORIZON = 3 * 86400


class FakeInfluxDB(FakeKapacitor):
    """InfluxDB 2 as the Retrier meets it: a retry answers 200 at once with the new run ``scheduled``; the run starts
    a second later (on the fake clock), runs ``run_seconds`` and ends as the script's step says (``ok`` or ``fail``),
    and for ``gone_seconds`` after its end it cannot be read (404: deleted from kv, not yet in ``_tasks``). An
    inactive task's retry answers 400. ``unfinished`` records, at each POST, how many runs this call created had not
    finished."""

    server_type = 'influxdb2'
    runs_block = False   # InfluxDB 2.2 and later

    def __init__(self, clock, script=(), run_seconds=3.0, gone_seconds=0.0, inactive=()):
        super().__init__(clock, script)
        self.run_seconds = run_seconds
        self.gone_seconds = gone_seconds
        self.inactive = set(inactive)
        self.fates = {}          # run ID -> (start, end, final status)
        self.unfinished = []
        self.reads = []          # clock times of GET of a run a retry created

    @staticmethod
    def horizon_seconds():
        return INFLUX_HORIZON

    def _view(self, run):
        fate = self.fates.get(run['id'])
        if fate is None:
            return dict(run)
        start, end, final = fate
        now = self.clock.now
        view = dict(run, status='scheduled' if now < start else 'started' if now < end else final)
        if view['status'] == 'failed':
            view['log'] = [{'runID': run['id'], 'message': 'Started task from script: "..."'},
                           {'runID': run['id'], 'message': 'error calling function "to": connection refused'}]
        return view

    def get_task(self, task_id):
        if task_id not in self.tasks:
            return None
        return {'id': task_id, 'status': 'inactive' if task_id in self.inactive else 'active'}

    def get_run(self, task_id, run_id):
        if run_id in self.fates:
            self.reads.append(self.clock.now)
        for run in self.runs.get(task_id, []):
            if run['id'] == run_id:
                fate = self.fates.get(run_id)
                if fate and fate[1] <= self.clock.now < fate[1] + self.gone_seconds:
                    return None
                return self._view(run)
        return None

    def get(self, path):
        return self._view(super().get(path))

    def list_runs_page(self, task_id, params):
        return [self._view(run) for run in super().list_runs_page(task_id, params)]

    def retry_run(self, task_id, run_id, timeout):
        self.posts.append(run_id)
        self.unfinished.append(sum(1 for rid in self.fates if self.get_run_status(rid) in ('scheduled', 'started')))
        step = self.script.pop(0) if self.script else 'ok'
        if step == '400' or task_id in self.inactive:
            return 400, None, 'failed to retry run: inactive task'
        original = self.get('/tasks/%s/runs/%s' % (task_id, run_id))
        run = self.add(task_id, 'scheduled', rfc3339_to_epoch(original['scheduledFor']), created=NOW + len(self.posts))
        if step == 'unscheduled':  # created, but the coordinator could not schedule it: it stays queued
            return 500, None, 'failed to retry run: could not execute task run: failed to find permission for user'
        start = self.clock.now + 1.0
        self.fates[run['id']] = (start, start + self.run_seconds, 'failed' if step in ('fail', 'timeout') else 'success')
        if step == 'timeout':  # the answer is lost; the run goes on and fails on its own
            self.clock.now += timeout
            raise AmbiguousRequest('Read timed out. (read timeout=%s)' % timeout, method='POST')
        if step == 'no_id':  # a 200 that does not say which run (not InfluxDB's answer); the run exists all the same
            return 200, {}, None
        return 200, dict(run, status='scheduled'), None

    def get_run_status(self, run_id):
        start, end, final = self.fates[run_id]
        return 'scheduled' if self.clock.now < start else 'started' if self.clock.now < end else final


def influx_one(script=(), server_options=None, **options):
    clock = FakeClock()
    server = FakeInfluxDB(clock, script, **(server_options or {}))
    failed = server.add(TASK, 'failed')
    result = retrier(server, clock, **options).run([RetryItem(TASK, failed['id'])])[0]
    return result, server, clock


def test_influxdb_a_new_run_that_succeeds_is_waited_for_and_retried():
    result, server, clock = influx_one(['ok'])
    assert result['outcome'] == 'retried' and result['status_after'] == 'success'
    assert len(server.posts) == 1 and len(server.attempts()) == 2
    assert result['new_run_id'] == server.attempts()[1]['id'] and result['attempts_after'] == 2
    # Read after half a second first, then less and less often, never more than 2 seconds apart.
    assert clock.sleeps[0] == 0.5 and max(clock.sleeps) <= 2.0 and len(server.reads) >= 3


def test_influxdb_a_new_run_that_fails_later_is_retried_failed_with_its_error():
    result, server, dummy = influx_one(['fail'])
    assert result['outcome'] == 'retried_failed' and result['status_after'] == 'failed'
    assert 'connection refused' in result['msg']
    assert any('connection refused' in line for line in result['log'])
    assert len(server.posts) == 1


def test_influxdb_a_200_without_the_new_run_is_resolved_by_listing_never_by_sending_again():
    result, server, dummy = influx_one(['no_id'])
    assert result['outcome'] == 'retried' and result['new_run_id'] == server.attempts()[1]['id']
    assert len(server.posts) == 1 and len(server.attempts()) == 2


def test_influxdb_new_runs_that_cannot_be_read_at_all_are_errors_with_their_ids_and_one_grouped_reason():
    clock = FakeClock()
    server = FakeInfluxDB(clock)
    failed = server.add(TASK, 'failed')
    other = server.add(TASK, 'failed', scheduled=SCHEDULED + 60)

    read = server.get_run

    def unreachable(task_id, run_id):  # from the POST on
        if server.posts:
            raise ServerUnreachable('InfluxDB at http://influx.example:8086 became unreachable during the call: refused')
        return read(task_id, run_id)
    server.get_run = unreachable
    results = retrier(server, clock).run([RetryItem(TASK, failed['id']), RetryItem(TASK, other['id'])])
    assert [result['outcome'] for result in results] == ['error', 'error'] and len(server.posts) == 2
    new_ids = {result['new_run_id'] for result in results}
    assert len(new_ids) == 2 and not new_ids & {failed['id'], other['id'], None}
    assert server.attempts()[1]['id'] in new_ids
    assert 'accepted the retry' in results[0]['msg'] and 'became unreachable' in results[0]['msg']
    # The IDs are in new_run_id, not in the message: the module's failure message groups the two as one reason.
    assert results[0]['msg'] == results[1]['msg']
    assert failure_message(results).startswith('2 of 2 run(s) could not be retried: 2 run(s) error: InfluxDB accepted')


def test_influxdb_a_run_that_cannot_be_read_for_a_moment_is_not_an_error():
    result, server, dummy = influx_one(['ok'], server_options={'gone_seconds': 3.0})
    assert result['outcome'] == 'retried' and result['status_after'] == 'success'
    assert len(server.posts) == 1


def test_influxdb_a_run_missing_for_longer_than_a_moment_ends_the_wait_long_before_retry_timeout():
    result, server, clock = influx_one(['ok'], server_options={'gone_seconds': 10000.0}, retry_timeout=1800.0)
    assert result['outcome'] == 'error' and result['new_run_id'] == server.attempts()[1]['id']
    assert 'InfluxDB no longer finds run %s' % result['new_run_id'] in result['msg']
    # Seen until it finished (4 s after the POST), then missing: the wait ends about MISSING_LIMIT later.
    assert clock.now - 1000.0 <= 4.0 + MISSING_LIMIT + FOLLOW_MAX
    assert len(server.posts) == 1


def test_influxdb_new_runs_missing_for_long_are_one_reason_in_the_failure_message():
    clock = FakeClock()
    server = FakeInfluxDB(clock, ['ok', 'ok', 'ok'], gone_seconds=10000.0)
    items = [RetryItem(TASK, server.add(TASK, 'failed', scheduled=SCHEDULED + 60 * n)['id']) for n in range(3)]
    results = retrier(server, clock, retry_timeout=1800.0).run(items)
    assert [result['outcome'] for result in results] == ['error'] * 3
    new_ids = [result['new_run_id'] for result in results]
    assert len(set(new_ids)) == 3 and None not in new_ids
    # Each message names its own new run; grouped, the words are one reason and the new runs follow them.
    assert failure_message(results) == (
        '3 of 3 run(s) could not be retried: 3 run(s) error: InfluxDB no longer finds run <new_run_id> of task %s '
        '(HTTP 404 for more than %g s, longer than a finished run is missing while InfluxDB records it): the run was '
        'deleted, or the token lost read access to it (<new_run_id>: %s)' % (TASK, MISSING_LIMIT, ', '.join(new_ids)))


def test_influxdb_a_run_never_seen_after_the_post_ends_the_wait_too():
    clock = FakeClock()
    server = FakeInfluxDB(clock, run_seconds=600.0)
    failed = server.add(TASK, 'failed')
    read = server.get_run
    server.get_run = lambda task_id, run_id: None if run_id in server.fates else read(task_id, run_id)
    result = retrier(server, clock, retry_timeout=1800.0).run([RetryItem(TASK, failed['id'])])[0]
    assert result['outcome'] == 'error' and 'no longer finds run %s' % result['new_run_id'] in result['msg']
    assert clock.now - 1000.0 <= MISSING_LIMIT + FOLLOW_MAX


def test_influxdb_a_task_deleted_while_its_new_run_is_followed_is_not_found():
    clock = FakeClock()
    server = FakeInfluxDB(clock, run_seconds=600.0)
    failed = server.add(TASK, 'failed')
    read = server.get_run

    def deleted_after_the_post(task_id, run_id):
        if server.posts:
            server.tasks.discard(task_id)
            return None
        return read(task_id, run_id)
    server.get_run = deleted_after_the_post
    result = retrier(server, clock, retry_timeout=1800.0).run([RetryItem(TASK, failed['id'])])[0]
    assert result['outcome'] == 'not_found' and 'task %s not found' % TASK in result['msg']
    assert result['new_run_id'] in result['msg'] and clock.now - 1000.0 <= MISSING_LIMIT + FOLLOW_MAX


def test_influxdb_a_500_could_not_execute_task_run_is_an_error_not_sent_again_nor_waited_for():
    result, server, clock = influx_one(['unscheduled'], retry_timeout=1800.0)
    assert result['outcome'] == 'error' and len(server.posts) == 1
    assert 'HTTP 500: failed to retry run: could not execute task run' in result['msg']
    assert 'without scheduling it' in result['msg'] and clock.now - 1000.0 < 5.0


def test_influxdb_a_retry_post_timed_out_reports_how_the_new_run_ended_and_never_says_it_was_cancelled():
    result, server, dummy = influx_one(['timeout'], retry_timeout=30.0)
    assert result['outcome'] == 'retried_failed' and result['new_run_id'] == server.attempts()[1]['id']
    assert 'connection refused' in result['msg'] and 'cancel' not in result['msg']
    assert len(server.posts) == 1


def test_influxdb_a_run_still_unfinished_at_retry_timeout_is_timed_out_and_not_sent_again():
    result, server, clock = influx_one(['ok'], server_options={'run_seconds': 600.0}, retry_timeout=30.0)
    assert result['outcome'] == 'timed_out'
    assert result['status_after'] == 'started' and result['new_run_id'] == server.attempts()[1]['id']
    assert 'retry_timeout (30 s)' in result['msg'] and 'InfluxDB goes on with it' in result['msg']
    assert len(server.posts) == 1 and 29.0 <= clock.now - 1000.0 <= 31.0


def test_influxdb_an_inactive_task_gets_no_retry_request():
    clock = FakeClock()
    server = FakeInfluxDB(clock, inactive=(TASK,))
    failed = server.add(TASK, 'failed')
    for check_mode in (True, False):
        result = retrier(server, clock, check_mode=check_mode).run([RetryItem(TASK, failed['id'])])[0]
        assert result['outcome'] == 'task_inactive' and 'inactive' in result['msg']
        assert result['status_after'] == 'failed' and result['new_run_id'] is None
    assert server.posts == [] and len(server.attempts()) == 1


def test_influxdb_a_task_deactivated_before_the_post_is_task_inactive_from_the_400():
    result, server, dummy = influx_one(['400'])
    assert result['outcome'] == 'task_inactive'
    assert 'HTTP 400: failed to retry run: inactive task' in result['msg'] and 'no run was created' in result['msg']
    assert len(server.posts) == 1 and len(server.attempts()) == 1


def test_influxdb_a_task_that_cannot_be_looked_up_or_is_gone_keeps_what_the_listing_said():
    clock = FakeClock()
    server = FakeInfluxDB(clock)
    failed = server.add(TASK, 'failed')

    def forbidden(task_id):
        raise RequestError('HTTP 403: forbidden', method='GET', status=403)
    for get_task, outcome in ((forbidden, 'error'), (lambda task_id: None, 'not_found')):
        server.get_task = get_task
        result = retrier(server, clock).run([RetryItem(TASK, failed['id'])])[0]
        assert result['outcome'] == outcome and server.posts == []
        assert result['status_before'] == 'failed' and result['attempts'] == 1
        assert result['latest_attempt_id'] == failed['id'] and result['scheduled_for'] == failed['scheduledFor']


def test_kapacitor_retries_runs_of_an_inactive_task_as_before():
    clock = FakeClock()
    server = FakeKapacitor(clock, ['ok'])
    server.get_task = lambda task_id: {'id': task_id, 'status': 'inactive'}
    failed = server.add(TASK, 'failed')
    result = retrier(server, clock).run([RetryItem(TASK, failed['id'])])[0]
    assert result['outcome'] == 'retried' and len(server.posts) == 1


def test_influxdb_wait_false_reports_the_accepted_run_as_scheduled():
    result, server, clock = influx_one(['fail'], wait=False)
    assert result['outcome'] == 'retried' and result['status_after'] == 'scheduled'
    assert result['new_run_id'] == server.attempts()[1]['id'] and 'wait is false' in result['msg']
    assert server.reads == []  # the last run of a worker is not waited for


@pytest.mark.parametrize('wait', [False, True])
def test_influxdb_concurrency_bounds_the_new_runs_in_flight(wait):
    clock = FakeClock()
    server = FakeInfluxDB(clock, run_seconds=5.0)
    items = [RetryItem(TASK, server.add(TASK, 'failed', SCHEDULED - 60 * n)['id']) for n in range(8)]
    results = retrier(server, clock, concurrency=2, wait=wait).run(items)
    assert [r['outcome'] for r in results] == ['retried'] * 8
    assert len(server.posts) == 8
    # At each POST at most one other new run of this call is unfinished: two in flight at most.
    assert max(server.unfinished) <= 1


def test_influxdb_a_second_call_sees_the_scheduled_run_and_sends_nothing():
    clock = FakeClock()
    server = FakeInfluxDB(clock, run_seconds=60.0)
    failed = server.add(TASK, 'failed')
    first = retrier(server, clock, wait=False).run([RetryItem(TASK, failed['id'])])[0]
    second = retrier(server, clock, wait=False).run([RetryItem(TASK, failed['id'])])[0]
    assert first['outcome'] == 'retried' and second['outcome'] == 'superseded'
    assert len(server.posts) == 1 and len(server.attempts()) == 2


def test_influxdb_not_found_names_its_own_horizon():
    clock = FakeClock()
    server = FakeInfluxDB(clock)
    server.add(TASK, 'failed')
    results = retrier(server, clock, check_mode=True).run([RetryItem(TASK, snowflake(NOW - 4 * 86400)),
                                                           RetryItem(TASK, snowflake(NOW - 2 * 86400))])
    assert 'InfluxDB only keeps runs of the last 3 days' in results[0]['msg']
    assert 'within the 3 days InfluxDB keeps' in results[1]['msg']
