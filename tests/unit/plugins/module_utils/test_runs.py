# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the pure core: no HTTP, no server (the paging plan: test_paging.py)."""


import datetime

import pytest

from ansible_collections.tickstack.kapacitor.plugins.module_utils._errors import InputError
from ansible_collections.tickstack.kapacitor.plugins.module_utils._runs import (
    PRODUCTS,
    Window,
    annotate_attempts,
    batch_rounds,
    check_id,
    classify_retry_response,
    decide,
    epoch_to_rfc3339,
    group_attempts,
    horizon_words,
    latest_of,
    parse_time,
    resolve_window,
    rfc3339_to_epoch,
    server_label,
    snake_run,
    sort_runs,
    summarize,
)

NOW = 1790000000  # 2026-09-21T14:13:20Z
TASK = '0a1b2c3d4e5f6789'


def run(run_id, scheduled, status='success', task=TASK):
    return {'id': '%016x' % run_id, 'taskID': task, 'status': status, 'scheduledFor': epoch_to_rfc3339(scheduled)}


# ------------------------------------------------------------------ IDs

@pytest.mark.parametrize('value', ['0a1b2c3d4e5f6789', '0A1B2C3D4E5F6789', ' 0a1b2c3d4e5f6789 '])
def test_check_id_accepts_and_lowercases(value):
    assert check_id(value, 'task_id') == '0a1b2c3d4e5f6789'


@pytest.mark.parametrize('value, expected', [
    ('abc', '16 hexadecimal characters'),
    ('0a1b2c3d4e5f678', '16 hexadecimal characters'),
    ('0a1b2c3d4e5f67890', '16 hexadecimal characters'),
    ('zzzzzzzzzzzzzzzz', '16 hexadecimal characters'),
    ('0x1b2c3d4e5f6789', '16 hexadecimal characters'),
    ('0000000000000000', 'all-zero'),
    (None, '16 hexadecimal characters'),
    ('', '16 hexadecimal characters'),
])
def test_check_id_rejects_with_the_value_named(value, expected):
    with pytest.raises(InputError) as info:
        check_id(value, 'run_id')
    assert 'run_id' in str(info.value)
    assert expected in str(info.value)
    assert repr(value) in str(info.value)


# ------------------------------------------------------------------ time

@pytest.mark.parametrize('text, seconds', [
    ('24h', 86400), ('90m', 5400), ('7d', 7 * 86400), ('1h30m', 5400), ('2w', 14 * 86400), ('45s', 45), ('now', 0),
    ('-24h', 86400), (' -90m ', 5400),   # Flux's range(start: -24h): the same as 24h
])
def test_relative_durations_count_back_from_now(text, seconds):
    assert parse_time(text, 'after_time', NOW) == NOW - seconds


@pytest.mark.parametrize('text, expected', [
    ('2026-05-01T10:00:00Z', 1777629600.0),
    ('2026-05-01T12:00:00+02:00', 1777629600.0),
    ('2026-05-01T08:30:00-01:30', 1777629600.0),
    ('2026-05-01T10:00:00.5Z', 1777629600.5),
    ('2026-05-01T10:00:00.123456789Z', 1777629600.123456789),
    ('2026-05-01', 1777593600.0),   # a date alone is midnight UTC
    (datetime.date(2026, 5, 1), 1777593600.0),   # YAML reads an unquoted date as a date
    (datetime.datetime(2026, 5, 1, 10, 0), 1777629600.0),
])
def test_rfc3339_parsing(text, expected):
    assert parse_time(text, 'before_time', NOW) == pytest.approx(expected)


@pytest.mark.parametrize('text', ['yesterday', '24', 'h24', '2026-13-01T00:00:00Z', '2026-05-01 10:00', '--24h', '-', '24x',
                                  '2026-02-30T00:00:00Z', '', '2026-02-30', '+24h'])
def test_unparsable_times_name_the_option_and_the_formats(text):
    with pytest.raises(InputError) as info:
        parse_time(text, 'after_time', NOW)
    assert 'after_time' in str(info.value)
    assert 'RFC3339' in str(info.value) and '24h' in str(info.value)


@pytest.mark.parametrize('text', ['99999999999999999999d', '30000w'])
def test_a_duration_reaching_before_1970_is_refused_naming_the_option(text):
    with pytest.raises(InputError, match=r"after_time '%s' reaches back before 1970: give a duration of at most \d+d"
                       % text):
        parse_time(text, 'after_time', NOW)


def test_epoch_round_trip():
    assert epoch_to_rfc3339(1777629600) == '2026-05-01T10:00:00Z'
    assert rfc3339_to_epoch('2026-05-01T10:00:00Z') == 1777629600


# ------------------------------------------------------------------ windows

def test_window_bounds_are_exclusive_and_rounded_outwards_for_the_server():
    window = Window(after=100.5, before=200.5)
    assert window.server_after() == 100
    assert window.server_before() == 201
    assert not window.contains(run(1, 100))
    assert window.contains(run(1, 101))
    assert window.contains(run(1, 200))
    assert not window.contains(run(1, 201))


def test_resolve_window_rejects_an_empty_window():
    with pytest.raises(InputError) as info:
        resolve_window('1h', '2h', NOW)
    assert 'before_time' in str(info.value) and 'later than after_time' in str(info.value)


def test_resolve_window_rejects_equal_bounds():
    with pytest.raises(InputError):
        resolve_window('2026-05-01T10:00:00Z', '2026-05-01T10:00:00Z', NOW)


def test_resolve_window_rejects_a_future_after_time_without_before_time():
    with pytest.raises(InputError) as info:
        resolve_window(epoch_to_rfc3339(NOW + 3600), None, NOW)
    assert 'not in the past' in str(info.value)


def test_resolve_window_warns_past_the_14_day_horizon():
    dummy, warnings = resolve_window('15d', None, NOW)
    assert len(warnings) == 1 and '14 days' in warnings[0]
    dummy, warnings = resolve_window('13d', None, NOW)
    assert warnings == []


def test_resolve_window_names_the_server_and_its_own_horizon():
    dummy, warnings = resolve_window('4d', None, NOW, horizon=3 * 86400, server_type='influxdb2')
    assert len(warnings) == 1 and 'InfluxDB only returns runs that started within the last 3 days' in warnings[0]
    assert resolve_window('2d', None, NOW, horizon=3 * 86400, server_type='influxdb2')[1] == []


@pytest.mark.parametrize('seconds, words', [
    (14 * 86400, '14 days'), (86400, '1 day'), (36 * 3600, '36 hours'), (5400, '90 minutes'), (45, '45 seconds'),
])
def test_horizon_words(seconds, words):
    assert horizon_words(seconds) == words


def test_resolve_window_open_by_default():
    window, warnings = resolve_window(None, None, NOW)
    assert window.after is None and window.before is None and warnings == []
    assert window.as_dict() == {'after_time': None, 'before_time': None}


# ------------------------------------------------------------------ attempts

def test_group_and_annotate_attempts_by_task_and_scheduled_time():
    runs = [run(3, 100, 'failed'), run(1, 100, 'failed'), run(2, 200, 'success'), run(7, 100, 'success'),
            run(4, 100, 'failed', task='0a1b2c3d4e5f678a')]
    groups = group_attempts(runs)
    assert [r['id'][-1] for r in groups[(TASK, 100)]] == ['1', '3', '7']
    notes = annotate_attempts(runs)
    number, count, latest = notes['%016x' % 3]
    assert (number, count, latest['id']) == (2, 3, '%016x' % 7)
    assert notes['%016x' % 4][:2] == (1, 1)
    assert latest_of(groups[(TASK, 100)])[1] == 3


def test_snake_run_has_snake_case_keys_and_optional_logs():
    api = dict(run(1, 100, 'failed'), startedAt='x', log=[{'runID': 'r', 'time': 't', 'message': 'm'}])
    out = snake_run(api, 'cpu', (1, 2, run(5, 100)), include_logs=True)
    assert out['task_name'] == 'cpu' and out['started_at'] == 'x' and out['finished_at'] is None
    assert out['attempt'] == 1 and out['attempts'] == 2
    assert sorted(out) == sorted(['id', 'task_id', 'task_name', 'status', 'scheduled_for', 'started_at', 'finished_at',
                                  'requested_at', 'attempt', 'attempts', 'error', 'log'])
    assert out['log'] == [{'time': 't', 'message': 'm', 'run_id': 'r'}]
    assert 'log' not in snake_run(api)


def test_sort_runs_newest_scheduled_time_then_newest_attempt():
    ordered = sort_runs([run(1, 100), run(3, 200), run(2, 100)])
    assert [r['id'][-1] for r in ordered] == ['3', '2', '1']


# ------------------------------------------------------------------ decision table

def decision(requested, attempts, max_attempts=3, force=False):
    latest, count = latest_of(attempts)
    return decide(requested, latest, count, max_attempts, force)


def test_a_failed_only_attempt_is_retried():
    original = run(1, 100, 'failed')
    result = decision(original, [original])
    assert result.outcome == 'retried' and result.target is original


@pytest.mark.parametrize('status', ['success', 'started', 'scheduled'])
def test_a_later_attempt_that_did_not_fail_supersedes(status):
    original, retry = run(1, 100, 'failed'), run(2, 100, status)
    result = decision(original, [original, retry])
    assert result.outcome == 'superseded' and not result.retry
    assert retry['id'] in result.msg


def test_a_failed_latest_attempt_is_retried_instead_of_the_original():
    original, retry = run(1, 100, 'failed'), run(2, 100, 'failed')
    result = decision(original, [original, retry])
    assert result.outcome == 'retried' and result.target is retry


def test_max_attempts_gives_up():
    attempts = [run(i, 100, 'failed') for i in (1, 2, 3)]
    result = decision(attempts[0], attempts, max_attempts=3)
    assert result.outcome == 'max_attempts_reached' and not result.retry
    assert decision(attempts[0], attempts, max_attempts=4).retry


def test_not_failed_and_canceled_are_left_alone():
    assert decision(run(1, 100), [run(1, 100)]).outcome == 'not_failed'
    canceled = run(1, 100, 'canceled')
    result = decision(canceled, [canceled])
    assert result.outcome == 'not_failed' and 'canceled' in result.msg


def test_force_retries_the_run_asked_about_whatever_its_attempts():
    original, retry = run(1, 100, 'failed'), run(2, 100, 'success')
    result = decision(original, [original, retry], force=True)
    assert result.retry and result.target is original
    attempts = [run(i, 100, 'failed') for i in (1, 2, 3)]
    assert decision(attempts[0], attempts, max_attempts=1, force=True).retry


# ------------------------------------------------------------------ response classification

@pytest.mark.parametrize('status, message, outcome', [
    (200, None, 'retried'),
    (500, 'failed to retry run: could not execute task run: boom', 'retried_failed'),
    (500, 'failed to retry run: unexpected error from queryd: error while compiling flux program', 'retried_failed'),
    (400, 'failed to retry run: could not parse Flux script: bad', 'retried_failed'),
    (400, 'failed to retry run: error exhausting result iterator: x', 'retried_failed'),
    (422, 'failed to retry run: run already queued', 'already_queued'),
    (400, 'failed to retry run: inactive task', 'task_inactive'),
    (404, 'failed to retry run: run not found', 'not_found'),
    (404, 'failed to retry run: task not found', 'not_found'),
    (400, 'failed to decode request: invalid ID', 'error'),
    (500, 'failed to retry run: influx client error', 'error'),
    (502, '<html>Bad Gateway</html>', 'ambiguous'),
    (503, 'Service Unavailable', 'ambiguous'),
    (504, '', 'ambiguous'),
    (500, 'An internal error has occurred', 'ambiguous'),
    (401, 'authorization failed', 'error'),
    (404, 'Not Found', 'error'),
])
def test_classify_retry_response(status, message, outcome):
    assert classify_retry_response(status, message) == outcome


def test_summarize_counts_every_outcome():
    summary = summarize([{'outcome': 'retried'}, {'outcome': 'retried'}, {'outcome': 'error'}])
    assert summary['retried'] == 2 and summary['error'] == 1 and summary['superseded'] == 0


@pytest.mark.parametrize('verb', ['failed to retry run:', 'failed to force run:'])
def test_influxdb_could_not_execute_task_run_is_an_error_not_a_failed_new_run(verb):
    message = '%s could not execute task run: failed to find permission for user' % verb
    assert classify_retry_response(500, message, verb) == 'retried_failed'
    assert classify_retry_response(500, message, verb, blocking=False) == 'error'
    assert classify_retry_response(400, '%s inactive task' % verb, verb, blocking=False) == 'task_inactive'


def test_server_label_names_each_server_type_and_the_client_uses_the_same_names():
    from ansible_collections.tickstack.kapacitor.plugins.module_utils import _client  # the core _runs never imports it
    assert [server_label(kind) for kind in ('kapacitor', 'influxdb2', None)] == ['Kapacitor', 'InfluxDB', 'Kapacitor or InfluxDB']
    assert _client.PRODUCTS is PRODUCTS


# --------------------------------------------------------------------------- batch_rounds


def timed(seconds, count=10):
    """Listed runs that each recorded ``seconds`` between their start and their finish."""
    return [{'started_at': '2026-11-29T10:00:00Z', 'finished_at': '2026-11-29T10:00:%06.3fZ' % seconds}] * count


@pytest.mark.parametrize('runs, rounds, blocking, expected', [
    (timed(0.25), 0, True, 100),      # 30 s / (0.25 s + 0.05 s of overhead per retry)
    (timed(1.95), 0, False, 10),      # + 1 s: InfluxDB 2.2+ starts the retried run up to a second later
    (timed(1.95), 0, True, 15),       # Kapacitor, InfluxDB 2.0 and 2.1 answer once the run has ended
    (timed(50.0), 0, True, 10),       # a run time counts at most retry_timeout: 30 / (2.7 + 0.05)
    (timed(0.25), 3, True, 3),        # a positive number of rounds wins
    ([{'started_at': 'garbage', 'finished_at': '2026-11-29T10:00:01Z'}, {}], 0, True, 20),   # none recorded
])
def test_batch_rounds_last_about_30_seconds_of_the_recorded_run_times(runs, rounds, blocking, expected):
    assert batch_rounds(runs, rounds, 2.7, blocking) == expected
