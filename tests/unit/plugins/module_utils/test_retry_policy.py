# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The pure core of the retry policy: durations, patterns, the failure reason of a run, and ``decide``."""

import math
import re

import pytest

from ansible_collections.tickstack.kapacitor.plugins.module_utils._errors import InputError
from ansible_collections.tickstack.kapacitor.plugins.module_utils._runs import (
    SNOWFLAKE_EPOCH,
    compile_patterns,
    decide,
    finished_epoch,
    id_created_at,
    parse_duration,
    run_error,
    snake_run,
)

NOW = 1790000000.0
RID = '0b2c3d4e5f607182'
SCRIPT_ECHO = 'Started task from script: "option task = {name: \\"cpu\\", every: 15m}\\n from(bucket: \\"b\\")"'


@pytest.mark.parametrize('value, seconds', [
    ('10m', 600), ('90s', 90), ('1h', 3600), ('1h30m', 5400), ('2d', 172800), (600, 600), (0, 0), (1.5, 1.5),
    ('600', 600), (' 45 ', 45), ('0.5', 0.5), ('-0', 0), ('-0m', 0),
])
def test_a_duration_is_a_number_of_seconds_or_units(value, seconds):
    assert parse_duration(value, 'min_age') == seconds
    assert math.copysign(1, parse_duration(value, 'min_age')) == 1   # never -0.0


@pytest.mark.parametrize('value', ['10 minutes', '', '-', 'm', '--10m', True, None, [], 'inf', '-inf', 'nan', '1.5h',
                                   '9' * 400 + 's', '-' + '9' * 400 + 's', 10 ** 400, '1e400', '-1e400'])
def test_a_bad_duration_names_the_option_and_the_value(value):
    with pytest.raises(InputError) as info:
        parse_duration(value, 'min_age')
    assert str(info.value).startswith('min_age %r is not a duration' % (value,))
    assert '10m' in str(info.value)


@pytest.mark.parametrize('value', ['-10m', ' -1h30m', -1, -0.5, '-600'])
def test_parse_duration_refuses_negative_durations_as_negative(value):
    with pytest.raises(InputError) as info:
        parse_duration(value, 'min_age')
    assert str(info.value) == 'min_age %r is negative: expected a duration of 0 or more' % (value,)


def test_patterns_are_compiled_and_a_bad_one_is_named_with_its_index_and_the_reason():
    assert [p.pattern for p in compile_patterns(['a+', 'b'], 'skip_errors')] == ['a+', 'b']
    assert compile_patterns(None, 'skip_errors') == []
    with pytest.raises(InputError) as info:
        compile_patterns(['ok', '[unclosed'], 'skip_errors')
    assert "skip_errors[1] '[unclosed' is not a valid Python regular expression: unterminated character set" in str(
        info.value)
    with pytest.raises(InputError, match=r"skip_errors\[0\] is '': expected a non-empty"):
        compile_patterns([''], 'skip_errors')


def log(*messages, run_id=RID):
    return [{'runID': run_id, 'time': '2026-11-25T10:00:00.5Z', 'message': message} for message in messages]


def test_the_error_is_the_log_without_the_script_echo_and_the_verdict():
    run = {'id': RID, 'status': 'failed', 'log': log(SCRIPT_ECHO, 'Completed(failed)', 'runtime error @4:6: boom',
                                                     'Task encountered unrecoverable error, requires admin action: x')}
    assert run_error(run) == ('runtime error @4:6: boom; Task encountered unrecoverable error, requires admin action: x')


def test_no_error_for_a_success_for_a_failure_without_a_reason_or_for_lines_copied_from_another_run():
    assert run_error({'id': RID, 'status': 'success', 'log': log(SCRIPT_ECHO, 'Completed(success)')}) is None
    assert run_error({'id': RID, 'status': 'failed'}) is None
    assert run_error({'id': RID, 'status': 'failed', 'log': log(SCRIPT_ECHO, 'Completed(failed)')}) is None
    copied = log(SCRIPT_ECHO, 'Completed(failed)', 'the original failed', run_id='0b2c3d4e5f600000')
    assert run_error({'id': RID, 'status': 'failed', 'log': copied + log(SCRIPT_ECHO, 'Completed(failed)', 'mine')}) == 'mine'
    assert run_error({'id': RID, 'status': 'canceled', 'log': log('context canceled')}) == 'context canceled'


@pytest.mark.parametrize('bad_log', ['text', {'message': 'x'}, ['a line', 7, None, {'runID': RID, 'message': 7}]])
def test_a_log_a_server_malformed_is_read_for_what_it_holds_never_a_traceback(bad_log):
    good = log('runtime error @4:6: boom')
    if isinstance(bad_log, list):
        run = {'id': RID, 'status': 'failed', 'log': bad_log + good}
        expected_error = 'runtime error @4:6: boom'
        expected_log = [{'time': None, 'message': 7, 'run_id': RID},
                        {'time': good[0]['time'], 'message': 'runtime error @4:6: boom', 'run_id': RID}]
    else:
        run = {'id': RID, 'status': 'failed', 'log': bad_log}
        expected_error, expected_log = None, []
    assert run_error(run) == expected_error
    assert snake_run(run, include_logs=True)['log'] == expected_log


def test_a_run_ends_at_finished_at_else_started_at_else_when_its_id_was_made():
    assert finished_epoch({'id': RID, 'finishedAt': '2026-09-21T14:13:20.5Z', 'startedAt': '2026-09-21T14:00:00Z'}) \
        == NOW + 0.5
    assert finished_epoch({'id': RID, 'startedAt': '2026-09-21T14:13:20Z'}) == NOW
    made = '%016x' % (int((NOW - SNOWFLAKE_EPOCH) * 1000) << 22)
    assert finished_epoch({'id': made}) == id_created_at(made) == NOW


def failed(run_id, finished_ago, error=None):
    run = {'id': run_id, 'status': 'failed', 'scheduledFor': '2026-09-21T13:00:00Z',
           'finishedAt': '2026-09-21T%s' % {0: '14:13:20Z', 60: '14:12:20Z', 1800: '13:43:20Z'}[finished_ago]}
    if error is not None:
        run['error'] = error
    return run


@pytest.mark.parametrize('latest, count, options, outcome', [
    (failed('b', 60), 2, dict(min_age=600), 'deferred'),
    (failed('b', 1800), 2, dict(min_age=600), 'retried'),
    (failed('b', 60), 2, dict(min_age=0), 'retried'),
    (failed('b', 60), 2, dict(min_age=600, now=None), 'retried'),              # no clock, no policy on age
    (failed('b', 60), 3, dict(min_age=600), 'max_attempts_reached'),          # given up, not deferred
    (failed('b', 1800, 'could not parse Flux script: x'), 2, dict(skip_errors=['parse']), 'skipped'),
    (failed('b', 1800, 'could not parse Flux script: x'), 3, dict(skip_errors=['parse']), 'skipped'),
    (failed('b', 60, 'could not parse Flux script: x'), 2, dict(skip_errors=['parse'], min_age=600), 'skipped'),
    (failed('b', 1800, 'connection refused'), 2, dict(skip_errors=['parse']), 'retried'),
    (failed('b', 1800), 2, dict(skip_errors=['.*']), 'retried'),             # no known error: nothing to match
    (failed('b', 60, 'could not parse'), 3, dict(skip_errors=['parse'], min_age=600, force=True), 'retried'),
    (dict(failed('b', 60), status='success'), 2, dict(min_age=600), 'superseded'),
])
def test_the_decision_with_the_retry_policy(latest, count, options, outcome):
    options.setdefault('now', NOW)
    options['skip_errors'] = compile_patterns(options.get('skip_errors'), 'skip_errors')
    requested = dict(failed('a', 1800), id='a')
    decision = decide(requested, latest, count, 3, **options)
    assert decision.outcome == outcome
    assert decision.retry == (outcome == 'retried')


def test_the_messages_say_why():
    deferred = decide(failed('b', 60), failed('b', 60), 2, 3, now=NOW, min_age=5400)
    assert deferred.msg == 'attempt 2 (run b) failed 1m ago, less than min_age (1h30m); retry it later'
    long_error = 'could not parse Flux script: ' + 'x' * 1000
    skipped = decide(failed('b', 60), failed('b', 60, long_error), 1, 3, skip_errors=[re.compile('could not parse')])
    assert skipped.msg.startswith("the error of attempt 1 (run b) matches skip_errors pattern 'could not parse', so "
                                  "it is not retried: could not parse Flux script: xxx")
    assert len(skipped.msg) <= 400 and skipped.msg.endswith('...')
