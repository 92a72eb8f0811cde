# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the retry_failed_runs role's filters: settings, the per-server summary and its lines."""

import datetime
import json
import os
import subprocess
import sys

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.tickstack.kapacitor.plugins.filter.retry_summary import (
    FilterModule,
    retry_batches,
    retry_fleet_lines,
    retry_settings,
    retry_summary,
    retry_summary_lines,
)

TASK_A = '0a0a000000000001'
KAPACITOR = {'type': 'kapacitor', 'version': '1.8.3'}
INFLUXDB = {'type': 'influxdb2', 'version': 'v2.7.12'}
TASK_B = '0a0a000000000002'
SETTINGS = {'max_attempts': 3, 'concurrency': 4, 'retry_timeout': 1800, 'log_lines': 3, 'summary_runs': 10,
            'since': '24h', 'after_time': '', 'before_time': ''}


def settings(**changes):
    values = dict(SETTINGS)
    values.update(changes)
    return retry_settings(values)


def row(run_id, task_id=TASK_A, task_name='cpu_rollup', scheduled_for='2026-11-29T10:00:00Z'):
    """A run as kapacitor_task_runs_info lists it."""
    return {'id': run_id, 'task_id': task_id, 'task_name': task_name, 'status': 'failed',
            'scheduled_for': scheduled_for, 'attempt': 1, 'attempts': 1}


def result(run_id, outcome, task_id=TASK_A, msg='', log=None, **extra):
    """A result as kapacitor_task_run_retry returns it."""
    entry = {'task_id': task_id, 'run_id': run_id, 'scheduled_for': '2026-11-29T10:00:00Z', 'outcome': outcome,
             'msg': msg, 'attempts': 1, 'latest_attempt_id': run_id, 'status_before': 'failed', 'new_run_id': None,
             'status_after': 'failed', 'log': log or []}
    entry.update(extra)
    return entry


def found(*rows, **extra):
    value = {'runs': list(rows), 'totals': {'tasks': 2, 'runs': len(rows)},
             'window': {'after_time': '2026-11-28T10:00:00Z', 'before_time': None}}
    value.update(extra)
    return value


def summary(found_value, results, **kwargs):
    kwargs.setdefault('host', 'kap1')
    kwargs.setdefault('url', 'http://127.0.0.1:9092')
    retry = {'results': results} if results is not None else {}
    return retry_summary(found_value, retry, settings(), **kwargs)


def test_the_filters_are_registered_under_their_documented_names():
    assert sorted(FilterModule().filters()) == [
        'retry_batches', 'retry_fleet_lines', 'retry_settings', 'retry_summary', 'retry_summary_lines']


# --------------------------------------------------------------------------- retry_settings

def test_settings_come_back_in_the_modules_types():
    assert retry_settings(dict(SETTINGS, max_attempts='2', concurrency='8', retry_timeout='90.5')) == {
        'max_attempts': 2, 'concurrency': 8, 'retry_timeout': 90.5, 'log_lines': 3, 'summary_runs': 10,
        'batch_rounds': 0, 'table_rows': 20, 'after_time': '24h', 'before_time': None, 'min_age': None,
        'skip_errors': [], 'backfill': False, 'backfill_grace': '5m', 'backfill_max_runs_per_task': 100,
        'backfill_max_runs_total': 500, 'backfill_allow_side_effects': False, 'backfill_continue_on_error': False}


def test_the_documented_return_and_example_output_are_what_the_filter_returns():
    doc_path = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'plugins', 'filter', 'retry_settings.yml')
    with open(doc_path) as handle:
        doc = yaml.safe_load(handle)
    # The example's settings, with its retry_failed_runs_after_time set to the time its output shows.
    example = retry_settings({'max_attempts': 3, 'concurrency': 4, 'retry_timeout': 1800, 'log_lines': 3,
                              'summary_runs': 10, 'since': '24h', 'after_time': '2026-11-28T10:00:00Z',
                              'before_time': None})
    documented = doc['RETURN']['_value']['contains']
    assert sorted(documented) == sorted(example)
    types = {'int': int, 'float': float, 'str': str, 'bool': bool, 'list': list}
    # The types of the example's values, and of a full set of settings (every optional one given).
    full = retry_settings(dict(SETTINGS, min_age=600, skip_errors=['x'], backfill=True, backfill_grace=60,
                               before_time='2026-11-29T00:00:00Z'))
    for values in (example, full):
        assert {key: type(value).__name__ for key, value in values.items() if value is not None} == {
            key: types[entry['type']].__name__ for key, entry in documented.items() if values[key] is not None}
    shown = ''.join(line.lstrip('#=> ') for line in doc['EXAMPLES'].splitlines() if line.startswith('#'))
    assert json.loads(shown) == example


@pytest.mark.parametrize('after, since, before, expected', [
    ('', '24h', '', ('24h', None)),                       # since is the lower bound when after_time is unset
    ('2026-11-28T10:00:00Z', '24h', '', ('2026-11-28T10:00:00Z', None)),   # after_time wins over since
    (None, None, '2026-11-29T10:00:00Z', (None, '2026-11-29T10:00:00Z')),
    ('  6h ', None, None, ('6h', None)),
    (datetime.datetime(2026, 11, 28, 10, 0, tzinfo=datetime.timezone.utc), '', None, ('2026-11-28T10:00:00Z', None)),
    # An offset is turned into UTC; no time zone means UTC (YAML); fractions are kept.
    (datetime.datetime(2026, 11, 28, 11, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=1, minutes=30))),
     None, None, ('2026-11-28T10:00:00Z', None)),
    (datetime.datetime(2026, 11, 28, 10, 0, 0, 250000), None, None, ('2026-11-28T10:00:00.250000Z', None)),
    # A date alone, typed or unquoted (YAML: a date), is midnight UTC; -24h is left to the module (24h before now).
    ('2026-11-28', None, datetime.date(2026, 11, 29), ('2026-11-28T00:00:00Z', '2026-11-29T00:00:00Z')),
    ('-24h', None, None, ('-24h', None)),
])
def test_the_window_accepts_strings_yaml_datetimes_and_null(after, since, before, expected):
    result = settings(after_time=after, since=since, before_time=before)
    assert (result['after_time'], result['before_time']) == expected


@pytest.mark.parametrize('changes, message', [
    ({'max_attempts': 0}, 'retry_failed_runs_max_attempts must be a whole number, 1 or more, got 0'),
    ({'max_attempts': 'three'}, "retry_failed_runs_max_attempts must be a whole number, 1 or more, got 'three'"),
    ({'max_attempts': True}, 'retry_failed_runs_max_attempts must be a whole number, 1 or more, got True'),
    ({'max_attempts': 2.5}, 'retry_failed_runs_max_attempts must be a whole number, 1 or more, got 2.5'),
    ({'concurrency': 101}, 'retry_failed_runs_concurrency must be a whole number from 1 to 100'),
    ({'concurrency': None}, 'retry_failed_runs_concurrency must be a whole number from 1 to 100'),
    ({'retry_timeout': 0}, 'retry_failed_runs_retry_timeout must be a positive number of seconds, got 0'),
    ({'log_lines': -1}, 'retry_failed_runs_log_lines must be a whole number, 0 or more, got -1'),
    ({'summary_runs': [3]}, 'retry_failed_runs_summary_runs must be a whole number, 0 or more, got [3]'),
    ({'since': '', 'after_time': None, 'before_time': '  '}, 'a window is needed: set retry_failed_runs_since'),
    ({'before_time': 1700000000}, 'retry_failed_runs_before_time must be an RFC3339 time (such as '
                                  '2026-11-28T10:00:00Z), a date (such as 2026-11-28) or a duration (such as 24h), '
                                  'got 1700000000'),
    ({'batch_rounds': -1}, "retry_failed_runs_batch_rounds must be a whole number, 0 (sized from the runs' durations) "
                           'or more, got -1'),
    ({'table_rows': 'many'}, "retry_failed_runs_table_rows must be a whole number, 1 or more, got 'many'"),
    ({'skip_errors': 'compile error'}, 'retry_failed_runs_skip_errors must be a list of regular expressions'),
    ({'since': ['24h']}, 'retry_failed_runs_since must be an RFC3339 time'),
    # Strings are checked with the modules' parsers, so that the role variable is named, not a module option.
    ({'since': 'abc'}, "retry_failed_runs_since 'abc' is neither an RFC3339 time"),
    ({'after_time': '2026-02-30'}, "retry_failed_runs_after_time '2026-02-30' is neither an RFC3339 time"),
    ({'before_time': '-1mo'}, "retry_failed_runs_before_time '-1mo' is neither an RFC3339 time"),
    ({'min_age': '5x'}, "retry_failed_runs_min_age '5x' is not a duration"),
    ({'backfill': True, 'backfill_grace': 'soon'}, "retry_failed_runs_backfill_grace 'soon' is not a duration"),
    ({'skip_errors': ['timeout', '(']}, "retry_failed_runs_skip_errors[1] '(' is not a valid Python regular expression"),
    ({'skip_errors': ['']}, "retry_failed_runs_skip_errors[0] is '': expected a non-empty Python regular expression"),
])
def test_bad_settings_are_named_with_their_value_and_what_was_expected(changes, message):
    with pytest.raises(AnsibleFilterError) as caught:
        settings(**changes)
    assert message in str(caught.value)


@pytest.mark.parametrize('changes, expected', [
    ({'since': '1h30m', 'min_age': 600, 'before_time': 'now'}, {'after_time': '1h30m', 'min_age': '600'}),
    ({'min_age': ' ', 'backfill_grace': ' '}, {'min_age': None, 'backfill_grace': '5m'}),   # empty means unset
    ({'min_age': 0, 'backfill': True, 'backfill_grace': 90}, {'min_age': '0', 'backfill_grace': '90'}),
    # Only what is read is checked: since under an after_time, a grace without backfill.
    ({'after_time': '2026-11-28', 'since': 'abc'}, {'after_time': '2026-11-28T00:00:00Z'}),
    ({'backfill_grace': 'soon'}, {'backfill': False}),
])
def test_times_and_durations_the_modules_take_pass_the_check(changes, expected):
    result = settings(**changes)
    assert {name: result[name] for name in expected} == expected


def test_settings_must_be_a_dict():
    with pytest.raises(AnsibleFilterError, match='expects a dict'):
        retry_settings(['24h'])


# --------------------------------------------------------------------------- retry_summary

def test_results_are_joined_to_the_listing_by_run_id_not_by_position():
    rows = [row('1000000000000001', task_name='cpu_rollup'), row('2000000000000002', TASK_B, task_name='disk')]
    # The module's results in another order than the listing.
    results = [result('2000000000000002', 'retried', TASK_B), result('1000000000000001', 'retried_failed')]
    runs = summary(found(*rows), results)['runs']
    assert [(run['run_id'], run['task_name']) for run in runs] == [('2000000000000002', 'disk'),
                                                                   ('1000000000000001', 'cpu_rollup')]


def test_a_result_keeps_its_own_task_name_and_one_without_a_listed_row_has_none():
    results = [result('1000000000000001', 'retried', task_name='renamed'), result('3000000000000003', 'error')]
    runs = summary(found(row('1000000000000001')), results)['runs']
    assert [run['task_name'] for run in runs] == ['renamed', None]


def test_figures_count_every_outcome_of_the_retry_module():
    outcomes = (['retried'] * 4 + ['retried_failed'] * 3 + ['timed_out'] * 2 + ['superseded'] + ['not_failed']
                + ['max_attempts_reached'] * 2 + ['already_queued'] + ['task_inactive'] + ['not_found'] + ['error'] * 2)
    ids = ['%016x' % (index + 1) for index in range(len(outcomes))]
    result_value = summary(found(*[row(run_id) for run_id in ids]),
                           [result(run_id, outcome) for run_id, outcome in zip(ids, outcomes)])
    assert result_value['figures'] == {
        'tasks_scanned': 2, 'failed_found': 18, 'retried': 4, 'would_retry': 0, 'retried_failed': 3,
        'timed_out': 2, 'superseded': 1, 'given_up': 2, 'skipped': 0, 'deferred': 0, 'already_queued': 1,
        'task_inactive': 1, 'errors': 3,
        # still failing: failed again (3), timed out (2), given up (2), task inactive (1), errors and not found (3)
        'remaining': 11}
    assert [run['outcome'] for run in result_value['failed_again']] == (
        ['retried_failed'] * 3 + ['timed_out'] * 2 + ['not_found'] + ['error'] * 2)
    assert result_value['would_retry'] == []


def test_check_mode_lists_what_would_be_retried_and_counts_it_as_remaining():
    result_value = summary(found(row('1000000000000001'), row('2000000000000002')),
                           [result('1000000000000001', 'would_retry'), result('2000000000000002', 'superseded')],
                           check_mode=True)
    assert result_value['check_mode'] is True
    assert [run['run_id'] for run in result_value['would_retry']] == ['1000000000000001']
    assert result_value['figures']['would_retry'] == 1 and result_value['figures']['remaining'] == 1


def test_a_server_that_failed_before_any_result_counts_one_error_and_keeps_the_role_window():
    # The listing failed: its registered result has no runs, totals or window; the retry was never called.
    result_value = retry_summary({'failed': True, 'msg': 'boom'}, {}, settings(since='6h'), host='kap1',
                                 error=' List the runs: GET ...: refused \n')
    assert result_value['error'] == 'List the runs: GET ...: refused'
    assert result_value['window'] == {'after_time': '6h', 'before_time': None}
    assert result_value['figures'] == {
        'tasks_scanned': 0, 'failed_found': 0, 'retried': 0, 'would_retry': 0, 'retried_failed': 0, 'timed_out': 0,
        'superseded': 0, 'given_up': 0, 'skipped': 0, 'deferred': 0, 'already_queued': 0, 'task_inactive': 0,
        'errors': 1, 'remaining': 0}
    assert result_value['runs'] == []
    # No module reached the server: its type is unknown, unless the role was told it.
    assert result_value['server'] == {'type': None, 'version': None}
    assert retry_summary({'failed': True}, {}, settings(), host='kap1', error='x',
                         server_type='influxdb2')['server'] == {'type': 'influxdb2', 'version': None}
    assert retry_summary({'failed': True}, {}, settings(), host='kap1', error='x',
                         server_type='auto')['server'] == {'type': None, 'version': None}


def test_errors_are_not_counted_twice_when_the_retry_module_failed_on_them():
    result_value = summary(found(row('1000000000000001'), row('2000000000000002')),
                           [result('1000000000000001', 'not_found'), result('2000000000000002', 'error')],
                           error='Retry them: 2 of 2 run(s) could not be retried')
    assert result_value['figures']['errors'] == 2


def test_a_skipped_retry_gives_zero_figures():
    skipped = {'changed': False, 'skipped': True, 'skip_reason': 'Conditional result was False'}
    result_value = retry_summary(found(), skipped, settings(), host='kap1')
    assert result_value['figures']['remaining'] == 0 and result_value['runs'] == []
    assert result_value['window'] == {'after_time': '2026-11-28T10:00:00Z', 'before_time': None}


@pytest.mark.parametrize('url, shown', [
    ('http://ops:s3cret@kap.example.com:9092', 'http://kap.example.com:9092'),
    ('https://kap.example.com:9092', 'https://kap.example.com:9092'),
    (None, 'KAPACITOR_URL, INFLUX_HOST or the default URL'),
    ('', 'KAPACITOR_URL, INFLUX_HOST or the default URL'),
])
def test_the_url_is_shown_without_credentials(url, shown):
    assert summary(found(), [], url=url)['url'] == shown


def test_the_url_the_listing_reports_wins_over_the_role_variable():
    assert summary(found(url='http://env.example.com:9092'), [], url=None)['url'] == 'http://env.example.com:9092'


def test_the_summary_has_every_key_the_role_reported_before():
    result_value = summary(found(), [])
    assert set(result_value) == {'host', 'url', 'check_mode', 'dry_run', 'max_attempts', 'window', 'error', 'figures',
                                 'failed_again', 'would_retry', 'runs', 'tasks', 'missing_tasks', 'report',
                                 'backfill', 'server'}
    assert result_value['backfill'] is None
    assert result_value['host'] == 'kap1' and result_value['max_attempts'] == 3


def test_bad_registered_results_are_refused():
    with pytest.raises(AnsibleFilterError, match='lists of runs and results'):
        retry_summary({'runs': 'not a list'}, {}, settings(), host='kap1')


# --------------------------------------------------------------------------- retry_summary_lines

def lines_of(results, check_mode=False, error='', summary_runs=10, log_lines=3, **found_extra):
    rows = [row(entry['run_id']) for entry in results]
    value = summary(found(*rows, **found_extra), results, check_mode=check_mode, error=error)
    return retry_summary_lines(value, summary_runs=summary_runs, log_lines=log_lines)


def test_lines_of_a_real_run():
    log = ['Started task from script: "option task = {name: \\"cpu_rollup\\"} ..."', 'Completed(failed)',
           'error calling function "to": 401 unauthorized', 'a fourth line']
    results = [result('1000000000000001', 'retried', attempts=1),
               result('2000000000000002', 'retried_failed', msg='run 2000000000000002 failed; retrying it',
                      attempts=2, log=log)]
    assert lines_of(results) == [
        'kap1 (http://127.0.0.1:9092): 2 task(s) scanned, 2 failed scheduled time(s) found (scheduled after '
        '2026-11-28T10:00:00Z, before now)',
        'retried: 1, retried but failed again: 1, superseded: 0, given up (max_attempts 3 reached): 0, '
        'skipped: 0, deferred: 0, already queued: 0, errors: 0',
        'still failing afterwards: 1',
        'task       found retried failed_again given_up skipped deferred error',
        'cpu_rollup 2     1       1            0        0       0        error calling function "to": 401 unauthorized; '
        'a fourth line',
        'retried_failed cpu_rollup 2026-11-29T10:00:00Z run 2000000000000002 (attempts before: 2): '
        'run 2000000000000002 failed; retrying it',
        '    | Completed(failed)',
        '    | error calling function "to": 401 unauthorized',
        '    | a fourth line',
    ]


def test_lines_in_check_mode_with_an_error_and_a_bounded_window():
    results = [result('1000000000000001', 'would_retry', msg='run 1000000000000001 failed; retrying it')]
    lines = lines_of(results, check_mode=True, error='Retry them: boom',
                     window={'after_time': None, 'before_time': '2026-11-29T11:00:00Z'})
    assert lines[:4] == [
        'kap1 (http://127.0.0.1:9092) [check mode: nothing retried]: 2 task(s) scanned, 1 failed scheduled time(s) '
        'found (scheduled after -, before 2026-11-29T11:00:00Z)',
        'would retry 1, would give up 0 (max_attempts 3 reached), would skip 0, would defer 0, superseded: 0, '
        'errors: 1',
        'still failing afterwards: 1',
        'ERROR: Retry them: boom',
    ]
    assert lines[6].startswith('would_retry cpu_rollup 2026-11-29T10:00:00Z run 1000000000000001')


def test_timed_out_runs_get_a_line_of_their_own_and_are_listed():
    results = [result('1000000000000001', 'timed_out', msg='retry_timeout 5.0 s reached')]
    lines = lines_of(results)
    assert 'timed out (retry_timeout reached; Kapacitor canceled the new run): 1' in lines
    assert lines[-1] == ('timed_out cpu_rollup 2026-11-29T10:00:00Z run 1000000000000001 (attempts before: 1): '
                         'retry_timeout 5.0 s reached')


@pytest.mark.parametrize('server, words', [
    (KAPACITOR, 'Kapacitor 1.8.3'),
    (INFLUXDB, 'InfluxDB 2.7.12'),
    ({'type': 'influxdb2', 'version': None}, 'InfluxDB 2'),   # Cloud (no version header), or a type given, not detected
    ({'type': 'kapacitor', 'version': None}, 'Kapacitor'),
])
def test_the_first_line_says_which_server_the_modules_found(server, words):
    line = lines_of([result('1000000000000001', 'retried')], server=server)[0]
    assert line.startswith('kap1 (http://127.0.0.1:9092) %s: 2 task(s) scanned' % words), line


def test_the_server_comes_from_the_retry_batches_when_the_listing_does_not_say():
    batches = {'results': [{'ansible_loop_var': 'batch', 'batch': {'label': 'batch 1/1'}, 'server': INFLUXDB,
                            'results': [result('1000000000000001', 'retried')]}]}
    assert retry_summary(found(row('1000000000000001')), batches, settings(), host='kap1')['server'] == INFLUXDB


def test_inactive_tasks_on_influxdb_are_counted_as_not_retried_and_still_failing():
    results = [result('1000000000000001', 'task_inactive', msg='the task is inactive: InfluxDB refuses to retry'),
               result('2000000000000002', 'timed_out', msg='retry_timeout 5.0 s reached')]
    value = summary(found(row('1000000000000001'), row('2000000000000002', task_id=TASK_B, task_name='mem'),
                          server=INFLUXDB), results)
    assert value['figures']['task_inactive'] == 1 and value['figures']['skipped'] == 0
    assert value['figures']['remaining'] == 2
    assert value['tasks']['cpu_rollup']['skipped'] == 1
    lines = retry_summary_lines(value)
    assert 'not retried, their task is inactive (InfluxDB refuses to retry its runs; counted as skipped below): 1' in lines
    # On InfluxDB a client that stops waiting does not cancel the new run.
    assert 'timed out (retry_timeout reached; InfluxDB goes on with the new run): 1' in lines


@pytest.mark.parametrize('server, fate', [
    ({'type': 'kapacitor', 'version': '1.8.3'}, 'Kapacitor canceled the new run'),
    ({'type': 'influxdb2', 'version': 'v2.1.1'}, 'InfluxDB canceled the new run'),   # 2.0 and 2.1 block, as Kapacitor
    ({'type': 'influxdb2', 'version': None}, 'InfluxDB goes on with the new run'),   # Cloud
])
def test_the_timed_out_line_says_what_became_of_the_run_on_each_server(server, fate):
    value = summary(found(row('2000000000000002'), server=server),
                    [result('2000000000000002', 'timed_out', msg='retry_timeout 5.0 s reached')])
    assert 'timed out (retry_timeout reached; %s): 1' % fate in retry_summary_lines(value)


def test_the_list_of_runs_and_their_logs_is_bounded():
    results = [result('%016x' % index, 'retried_failed', log=['one', 'two ' * 100]) for index in range(1, 5)]
    lines = lines_of(results, summary_runs=2, log_lines=2)
    listed = [line for line in lines if line.startswith('retried_failed ')]
    assert len(listed) == 2
    assert lines[-1] == '... and 2 more run(s) (set retry_failed_runs_report_path for a JSON report of every run)'
    # Long log lines are cut at a word as Jinja's truncate cuts them: at most 200 characters with the "...".
    long_lines = [line for line in lines if line.startswith('    | two')]
    assert len(long_lines) == 2 and long_lines[0] == '    | ' + ('two ' * 49).rstrip() + '...'
    assert lines_of(results, summary_runs=0)[-1] == ('... and 4 more run(s) (set retry_failed_runs_report_path for a '
                                                     'JSON report of every run)')


def test_no_timed_out_line_and_no_ellipsis_when_there_is_nothing_to_say():
    lines = lines_of([result('1000000000000001', 'retried')])
    assert len(lines) == 5 and not any('timed out' in line or '... and' in line for line in lines)


# --------------------------------------------------------------------------- unknown variables

KNOWN = ['retry_failed_runs_task_names', 'retry_failed_runs_task_ids', 'retry_failed_runs_since']


def test_a_misspelt_variable_is_refused_with_the_name_it_resembles():
    with pytest.raises(AnsibleFilterError) as caught:
        retry_settings(dict(SETTINGS), ['retry_failed_runs_since', 'retry_failed_runs_task_name'], KNOWN)
    assert 'unknown role variable(s) retry_failed_runs_task_name (did you mean retry_failed_runs_task_names?)' in str(
        caught.value)


def test_an_unknown_variable_without_a_close_name_is_still_refused():
    with pytest.raises(AnsibleFilterError, match=r'unknown role variable\(s\) retry_failed_runs_zzz: '):
        retry_settings(dict(SETTINGS), ['retry_failed_runs_zzz'], KNOWN)


def test_known_variables_other_prefixes_and_the_roles_own_result_fact_pass():
    names = KNOWN + ['retry_failed_runs_result', '__retry_failed_runs_settings', 'kapacitor_url']
    assert retry_settings(dict(SETTINGS), names, KNOWN)['max_attempts'] == 3


def test_loading_the_filters_does_not_load_the_http_stack():
    # Every Ansible worker that renders one of the role's templates loads this plugin: requests and urllib3 there
    # cost more CPU than the filter itself, once per task and host.
    code = ('import sys; import ansible_collections.tickstack.kapacitor.plugins.filter.retry_summary; '
            'print(sorted(name for name in ("requests", "urllib3") if name in sys.modules))')
    output = subprocess.check_output([sys.executable, '-c', code], env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    assert output.decode().strip() == '[]'


# --------------------------------------------------------------------------- retry_batches

def test_batches_hold_concurrency_times_rounds_runs_each_and_say_where_they_are():
    runs = [{'id': '%016x' % index} for index in range(1, 12)]
    batches = retry_batches(runs, settings(concurrency=2, batch_rounds=2))
    assert [batch['label'] for batch in batches] == ['batch 1/3: runs 1-4 of 11', 'batch 2/3: runs 5-8 of 11',
                                                     'batch 3/3: runs 9-11 of 11']
    assert [run for batch in batches for run in batch['runs']] == runs
    assert retry_batches([], settings()) == []
    # With no recorded run time, the default sizes batches of concurrency 4 x 20 rounds: 88 runs are two calls.
    assert [len(batch['runs']) for batch in retry_batches(runs * 8, settings())] == [80, 8]


def test_without_runs_a_batch_is_the_slice_of_the_listing_it_stands_for():
    # What the role loops over: Ansible copies each loop item into its result, so the item carries no runs.
    runs = [{'id': '%016x' % index} for index in range(1, 12)]
    slices = retry_batches(runs, settings(concurrency=2, batch_rounds=2), with_runs=False)
    assert all('runs' not in batch for batch in slices)
    assert [(batch['start'], batch['end']) for batch in slices] == [(0, 4), (4, 8), (8, 11)]
    full = retry_batches(runs, settings(concurrency=2, batch_rounds=2))
    assert [runs[batch['start']:batch['end']] for batch in slices] == [batch['runs'] for batch in full]
    assert [batch['label'] for batch in slices] == [batch['label'] for batch in full]


def timed_runs(count, seconds, started='2026-11-29T10:00:00.5Z'):
    """Runs that each recorded a run time of ``seconds`` (finished_at - started_at)."""
    finished = '2026-11-29T10:%02d:%06.3fZ' % divmod(0.5 + seconds, 60)
    return [{'id': '%016x' % index, 'started_at': started, 'finished_at': finished} for index in range(count)]


@pytest.mark.parametrize('seconds, server, rounds', [
    (0.25, None, 100),                        # 30 s / (0.25 s + 0.05 s per request) = 100 rounds
    (2.95, None, 10),                         # 30 / 3.0
    (2.95, {'type': 'kapacitor'}, 10),
    (1.95, {'type': 'influxdb2'}, 10),        # the retried run starts up to 1 s after InfluxDB's answer
    (1.95, {'type': 'influxdb2', 'version': 'v2.1.1'}, 15),   # 2.0 and 2.1 answer once the run has ended
    (45.0, None, 1),                          # a run longer than a batch: one round per batch, never none
])
def test_by_default_a_batch_lasts_about_30_seconds_of_the_runs_recorded_durations(seconds, server, rounds):
    runs = timed_runs(1000, seconds)
    sizes = [len(batch['runs']) for batch in retry_batches(runs, settings(concurrency=4), server)]
    assert sizes[0] == 4 * rounds and sum(sizes) == 1000


def test_a_recorded_duration_counts_at_most_retry_timeout_and_runs_without_one_are_left_out():
    runs = timed_runs(30, 50.0) + [{'id': 'ffff', 'started_at': '2026-11-29T10:00:00Z'}, {'id': 'fffe'},
                                   {'id': 'fffd', 'started_at': 'garbage', 'finished_at': '2026-11-29T10:00:00Z'}]
    # 30 s / (min(50, 2.95) + 0.05) = 10 rounds of 2
    assert len(retry_batches(runs, settings(concurrency=2, retry_timeout=2.95))[0]['runs']) == 20


def test_a_positive_batch_rounds_wins_over_the_recorded_durations():
    assert len(retry_batches(timed_runs(100, 0.1), settings(concurrency=2, batch_rounds=3))[0]['runs']) == 6


def loop_of(*batches, **failures):
    """A loop's registered result: one entry per batch, as Ansible registers it."""
    entries = []
    for index, results in enumerate(batches):
        entry = {'results': results, 'ansible_loop_var': '__retry_failed_runs_batch', 'changed': True,
                 '__retry_failed_runs_batch': {'label': 'batch %d/%d' % (index + 1, len(batches))}}
        if index in failures.get('failed', ()):
            entry.update(failed=True, msg='1 of 1 run(s) could not be retried: boom')
        entries.append(entry)
    return {'results': entries, 'changed': True, 'msg': 'All items completed'}


def test_the_figures_of_a_loop_of_batches_are_summed():
    rows = [row('%016x' % index) for index in range(1, 6)]
    retry = loop_of([result('%016x' % 1, 'retried'), result('%016x' % 2, 'retried_failed')],
                    [result('%016x' % 3, 'retried'), result('%016x' % 4, 'max_attempts_reached'),
                     result('%016x' % 5, 'retried')])
    value = retry_summary(found(*rows), retry, settings(), host='kap1')
    assert value['figures']['retried'] == 3 and value['figures']['retried_failed'] == 1
    assert value['figures']['given_up'] == 1 and value['figures']['remaining'] == 2
    assert [run['run_id'] for run in value['runs']] == ['%016x' % index for index in range(1, 6)]
    assert value['error'] == ''


def test_a_failed_batch_names_itself_and_its_message():
    retry = loop_of([result('%016x' % 1, 'retried')], [result('%016x' % 2, 'error')], failed=[1])
    value = retry_summary(found(row('%016x' % 1), row('%016x' % 2)), retry, settings(), host='kap1',
                          error='Retry them: One or more items failed')
    assert value['error'] == 'Retry them, batch 2/2: 1 of 1 run(s) could not be retried: boom'
    assert value['figures']['errors'] == 1 and value['figures']['retried'] == 1


def first_call(results, pending=(), **extra):
    """The registered result of the role's first retry call (``failed``, ``batch_rounds``): it listed the failed
    scheduled times, handled the first batch (``results``) and left the rest in ``pending``."""
    value = {'results': list(results), 'pending': list(pending), 'found': len(results) + len(pending),
             'tasks': [{'id': TASK_A, 'name': 'cpu_rollup'}, {'id': TASK_B, 'name': 'disk'}, {'id': '0a0a000000000003'}],
             'window': {'after_time': '2026-11-28T10:00:00Z', 'before_time': None}, 'missing_tasks': [],
             'server': KAPACITOR, 'changed': True}
    value.update(extra)
    return value


def test_a_first_call_that_listed_is_joined_with_the_batches_that_retried_its_pending_runs():
    first = first_call([result('%016x' % 1, 'retried', task_name='cpu_rollup', error='connection refused'),
                        result('%016x' % 2, 'skipped', task_name='cpu_rollup', error='could not parse Flux script')],
                       pending=[row('%016x' % 3, TASK_B, 'disk'), row('%016x' % 4, TASK_B, 'disk')])
    retry = loop_of([result('%016x' % 3, 'retried')], [result('%016x' % 4, 'retried_failed', log=['disk is full'])])
    value = retry_summary(first, retry, settings(), host='kap1')
    assert value['figures']['tasks_scanned'] == 3 and value['figures']['failed_found'] == 4
    assert value['figures']['retried'] == 2 and value['figures']['skipped'] == 1
    assert value['figures']['retried_failed'] == 1 and value['figures']['remaining'] == 2
    assert [run['run_id'] for run in value['runs']] == ['%016x' % index for index in range(1, 5)]
    # The first call's own results carry the listing's error; the pending rows carry their task names.
    assert value['runs'][1]['error'] == 'could not parse Flux script'
    # A run retried in the first call keeps no error, as one retried in a later batch (the report's keys agree).
    assert 'error' not in value['runs'][0] and 'error' not in value['runs'][2]
    assert value['runs'][2]['task_name'] == 'disk' and value['runs'][3]['error'] == 'disk is full'
    assert value['tasks']['cpu_rollup']['found'] == 2 and value['tasks']['disk']['found'] == 2
    assert value['server'] == {'type': 'kapacitor', 'version': '1.8.3'} and value['error'] == ''
    assert value['window'] == {'after_time': '2026-11-28T10:00:00Z', 'before_time': None}


def test_a_first_call_that_failed_on_some_runs_says_so_and_the_other_batches_still_count():
    first = first_call([result('%016x' % 1, 'error', msg='boom')], pending=[row('%016x' % 2)],
                       msg='1 of 1 run(s) could not be retried: error: boom')
    value = retry_summary(first, loop_of([result('%016x' % 2, 'retried')]), settings(), host='kap1')
    assert value['error'] == 'Retry them, first batch: 1 of 1 run(s) could not be retried: error: boom'
    assert value['figures']['errors'] == 1 and value['figures']['retried'] == 1


def test_a_first_call_that_handled_everything_needs_no_batches():
    value = retry_summary(first_call([result('%016x' % 1, 'retried')]), {'skipped': True, 'results': []}, settings(),
                          host='kap1')
    assert value['figures']['retried'] == 1 and value['figures']['failed_found'] == 1 and value['error'] == ''


def test_the_batches_after_a_first_call_count_its_runs_in_their_labels():
    pending = [row('%016x' % index) for index in range(1, 11)]
    batches = retry_batches(pending, settings(concurrency=2, batch_rounds=2), with_runs=False, done=4)
    assert [batch['label'] for batch in batches] == [
        'batch 2/4: runs 5-8 of 14', 'batch 3/4: runs 9-12 of 14', 'batch 4/4: runs 13-14 of 14']
    assert [(batch['start'], batch['end']) for batch in batches] == [(0, 4), (4, 8), (8, 10)]
    assert retry_batches([], settings(), done=4) == []


@pytest.mark.parametrize('done', [-1, '4', True, None])
def test_done_must_be_a_number_of_runs(done):
    with pytest.raises(AnsibleFilterError, match='retry_batches expects done to be a number of runs'):
        retry_batches([row('%016x' % 1)], settings(), done=done)


# --------------------------------------------------------------------------- per task, errors, skipped, deferred

def test_counts_per_task_name_and_the_error_without_the_script_echo():
    echo = 'Started task from script: "option task = {name: \\"disk\\"}\\nfrom(bucket: ...)"'
    rows = [row('%016x' % 1), row('%016x' % 2), row('%016x' % 3, TASK_B, 'disk'), row('%016x' % 4, TASK_B, 'disk'),
            row('%016x' % 5, TASK_B, 'disk'), row('%016x' % 6, TASK_B, 'disk')]
    results = [result('%016x' % 1, 'retried'), result('%016x' % 2, 'skipped', error='compilation failed'),
               result('%016x' % 3, 'retried_failed', TASK_B, log=[echo, 'Completed(failed)', 'disk is full']),
               result('%016x' % 4, 'deferred', TASK_B), result('%016x' % 5, 'max_attempts_reached', TASK_B),
               result('%016x' % 6, 'timed_out', TASK_B)]
    value = summary(found(*rows), results)
    assert value['tasks'] == {
        'cpu_rollup': {'found': 2, 'retried': 1, 'failed_again': 0, 'given_up': 0, 'skipped': 1, 'deferred': 0,
                       'error': ''},
        'disk': {'found': 4, 'retried': 0, 'failed_again': 2, 'given_up': 1, 'skipped': 0, 'deferred': 1,
                 'error': 'disk is full'}}
    assert value['figures']['skipped'] == 1 and value['figures']['deferred'] == 1
    # skipped and deferred scheduled times are still failing afterwards
    assert value['figures']['remaining'] == 5
    assert [run['error'] for run in value['runs'] if 'error' in run] == [
        'compilation failed', 'disk is full', '', '', '']


def test_the_listings_error_is_used_when_the_retry_result_has_none():
    listed = dict(row('%016x' % 1), error='connection refused')
    value = summary(found(listed), [result('%016x' % 1, 'would_retry')], check_mode=True)
    assert value['runs'][0]['error'] == 'connection refused' and value['dry_run'] is True


def test_missing_tasks_are_reported():
    value = summary(found(missing_tasks=['gone']), [])
    assert value['missing_tasks'] == ['gone']
    assert 'not on this server (missing_ok): gone' in retry_summary_lines(value)


def test_the_tables_are_capped_and_point_at_the_report_only_when_it_was_written():
    rows = [row('%016x' % index, task_name='task%03d' % index) for index in range(1, 31)]
    results = [result('%016x' % index, 'retried_failed') for index in range(1, 31)]
    value = summary(found(*rows), results)
    lines = retry_summary_lines(value, table_rows=5, summary_runs=3)
    assert '... and 25 more task(s) (set retry_failed_runs_report_path for a JSON report of every run)' in lines
    assert not any('report:' in line for line in lines)
    value['report'] = '/var/tmp/kap1.json'
    lines = retry_summary_lines(value, table_rows=5, summary_runs=3)
    assert '... and 27 more run(s) (see the JSON report: /var/tmp/kap1.json)' in lines
    assert lines[-1] == 'report: /var/tmp/kap1.json'
    value['check_mode'] = True
    assert retry_summary_lines(value)[-1] == 'dry-run report: /var/tmp/kap1.json'


# --------------------------------------------------------------------------- retry_fleet_lines

def host_summary(host, outcomes, error='', task_names=('cpu_rollup',), server=None):
    ids = ['%016x' % (index + 1) for index in range(len(outcomes))]
    rows = [row(run_id, task_name=task_names[index % len(task_names)]) for index, run_id in enumerate(ids)]
    listing = found(*rows, server=server) if server else found(*rows)
    return summary(listing, [result(run_id, outcome, log=['boom on ' + host])
                             for run_id, outcome in zip(ids, outcomes)], host=host, error=error)


def test_the_fleet_table_shows_every_host_the_failing_rows_first_and_hosts_without_a_summary():
    hostvars = {
        'kap1': {'retry_failed_runs_result': host_summary('kap1', ['retried', 'retried'], server=KAPACITOR)},
        'kap2': {'retry_failed_runs_result': host_summary('kap2', ['retried', 'retried_failed', 'max_attempts_reached'],
                                                          server=INFLUXDB)},
        'kap3': {'retry_failed_runs_result': host_summary('kap3', [], error='List them: connection refused')},
        'kap4': {'kapacitor_url': 'http://kap4:9092'},
    }
    lines = retry_fleet_lines(['kap1', 'kap2', 'kap3', 'kap4'], hostvars)
    assert lines == [
        '4 host(s), 1 with errors, 1 without a summary (kap4): found 5, retried 3, failed again 1, given up 1, '
        'skipped 0, deferred 0; still failing 2; servers: 1 influxdb2, 1 kapacitor, 1 unknown',
        'host server    task       found retried failed_again given_up skipped deferred error',
        'kap3 -         -          -     -       -            -        -       -        ERROR: List them: connection refused',
        'kap2 influxdb2 cpu_rollup 3     1       1            1        0       0        boom on kap2',
        'kap1 kapacitor cpu_rollup 2     2       0            0        0       0',
    ]


def test_without_any_known_server_type_the_fleet_headline_names_none():
    hostvars = {'kap1': {'retry_failed_runs_result': host_summary('kap1', ['retried'])}}
    assert retry_fleet_lines(['kap1'], hostvars)[0].endswith('still failing 0')


def test_the_fleet_table_of_ten_hosts_with_500_results_each_stays_short():
    names = tuple('task%02d' % index for index in range(50))
    hostvars = {'kap%02d' % index: {'retry_failed_runs_result': host_summary(
        'kap%02d' % index, ['retried_failed'] * 500, task_names=names)} for index in range(10)}
    for index, variables in enumerate(hostvars.values()):
        variables['retry_failed_runs_result']['report'] = '/var/tmp/kap%02d.json' % index
    lines = retry_fleet_lines(sorted(hostvars), hostvars, table_rows=20)
    assert len(lines) == 1 + 1 + 20 + 1
    assert lines[0].startswith('10 host(s), 0 with errors: found 5000, retried 0, failed again 5000')
    assert lines[-1] == ('... and 480 more row(s) (see the JSON reports: /var/tmp/kap00.json, /var/tmp/kap01.json, '
                         '/var/tmp/kap02.json, ...)')
    assert max(len(line) for line in lines) < 200


# --------------------------------------------------------------------------- the backfill step

def backfilled(task_name, outcome, missing=(), created=(), reason=None, task_id=TASK_A, not_created=()):
    """A task entry as kapacitor_task_run_backfill returns it; ``created`` holds (scheduled_for, status) pairs."""
    return {'task_id': task_id, 'task_name': task_name, 'task_status': 'active', 'schedule': "every '10m'",
            'outcome': outcome, 'reason': reason, 'window': None, 'expected': 10, 'present': 10 - len(missing),
            'missing': list(missing), 'not_created': [{'scheduled_for': when, 'reason': 'stopped'} for when in not_created],
            'created': [{'scheduled_for': when, 'run_id': '0b%014d' % index, 'status': status, 'error': None}
                        for index, (when, status) in enumerate(created)]}


BACKFILL = {'changed': True, 'tasks': [
    backfilled('cpu_rollup', 'failed', missing=['T1', 'T2', 'T3'], created=[('T1', 'success'), ('T2', 'failed')],
               reason='backfilled run failed: influxdb is down', not_created=['T3']),
    backfilled('notify', 'refused', missing=['T1'], reason='imports "slack" (set allow_side_effects)', task_id=TASK_B),
    backfilled('mem', 'nothing_missing'),
    backfilled('monthly', 'skipped', reason="every '1mo' cannot be enumerated"),
]}


def backfill_summary(backfill, check_mode=False, on=True, **kwargs):
    return retry_summary(found(), {}, settings(backfill=on), host='kap1', url='http://127.0.0.1:9092',
                         check_mode=check_mode, backfill=backfill, **kwargs)


def test_backfill_settings_are_checked_and_need_a_lower_bound():
    values = settings(backfill='yes', backfill_max_runs_per_task='7', backfill_grace=' 2m ')
    assert values['backfill'] is True and values['backfill_max_runs_per_task'] == 7 and values['backfill_grace'] == '2m'
    with pytest.raises(AnsibleFilterError, match="retry_failed_runs_backfill must be true or false, got 'maybe'"):
        settings(backfill='maybe')
    with pytest.raises(AnsibleFilterError, match='retry_failed_runs_backfill_max_runs_total must be a whole number, 1'):
        settings(backfill_max_runs_total=0)
    # Only before_time: the retries may list up to it, but a backfill is always bounded below.
    with pytest.raises(AnsibleFilterError, match='retry_failed_runs_backfill needs a lower bound'):
        settings(backfill=True, since='', before_time='2026-11-29T10:00:00Z')
    assert settings(backfill=False, since='', before_time='2026-11-29T10:00:00Z')['backfill'] is False


def test_the_backfill_figures_sum_the_tasks_runs_and_outcomes():
    part = backfill_summary(BACKFILL)['backfill']
    figures = part['figures']
    assert (figures['missing'], figures['created'], figures['created_failed'], figures['not_created']) == (4, 2, 1, 1)
    assert figures['outcomes'] == {'failed': 1, 'refused': 1, 'skipped': 1, 'nothing_missing': 1, 'error': 0,
                                   'would_backfill': 0, 'backfilled': 0}
    assert figures['would_backfill'] == 0 and figures['tasks'] == 4
    assert part['tasks'] == BACKFILL['tasks'] and part['failed'] is False


def test_the_backfill_part_is_none_when_the_step_is_off_or_skipped():
    assert backfill_summary(BACKFILL, on=False)['backfill'] is None
    assert backfill_summary({'skipped': True, 'changed': False})['backfill'] is None
    with pytest.raises(AnsibleFilterError, match='kapacitor_task_run_backfill'):
        backfill_summary({'tasks': 'nope'})


def test_a_failed_backfill_call_keeps_its_tasks_and_message():
    failed_call = {'failed': True, 'msg': '1 task(s) could not be backfilled: x', 'tasks': [
        backfilled('cpu_rollup', 'error', missing=['T1'], reason='Kapacitor ran 10:01 instead')]}
    part = backfill_summary(failed_call, error='Backfill ...: 1 task(s) could not be backfilled: x')['backfill']
    assert part['failed'] is True and part['msg'].startswith('1 task(s)')
    assert part['figures']['outcomes']['error'] == 1
    # A call that could not start at all (no tasks) still reports the step.
    assert backfill_summary({'failed': True, 'msg': 'connection refused'})['backfill']['figures']['tasks'] == 0


def test_the_summary_lines_show_the_backfill_before_the_retries_with_the_reasons():
    lines = retry_summary_lines(backfill_summary(BACKFILL))
    text = '\n'.join(lines)
    assert lines[1] == ('backfill: 4 missing scheduled time(s), created 2 run(s) (1 of them failed, retried below like '
                        'any failed run), not created 1; refused 1 task(s), skipped 1, failed 1, errors 0')
    assert lines[2].split() == ['backfill', 'task', 'outcome', 'missing', 'created', 'created_failed', 'reason']
    # Failed first, then refused, then skipped; a task with nothing missing is not news.
    assert lines[3].split()[:5] == ['cpu_rollup', 'failed', '3', '2', '1'] and 'influxdb is down' in lines[3]
    assert lines[4].split()[:2] == ['notify', 'refused'] and 'allow_side_effects' in lines[4]
    assert lines[5].split()[:2] == ['monthly', 'skipped'] and 'mem' not in text
    assert lines[6].startswith('retried: ')


def test_check_mode_says_would_backfill():
    plan = {'changed': True, 'tasks': [backfilled('cpu_rollup', 'would_backfill', missing=['T1', 'T2', 'T3'])]}
    lines = retry_summary_lines(backfill_summary(plan, check_mode=True))
    assert lines[1] == ('backfill [check mode: nothing created]: would backfill 3 missing scheduled time(s); refused 0 '
                        'task(s), skipped 0, failed 0, errors 0')
    assert lines[3].split()[:3] == ['cpu_rollup', 'would_backfill', '3']


def test_no_backfill_line_when_the_step_is_off():
    assert not any(line.startswith('backfill') for line in retry_summary_lines(backfill_summary(BACKFILL, on=False)))


def test_the_fleet_lines_sum_the_backfill_and_name_what_it_did_not_fill():
    kap1 = dict(backfill_summary(BACKFILL), host='kap1')
    other = {'tasks': [backfilled('cpu_rollup', 'backfilled', missing=['T1'], created=[('T1', 'success')])]}
    kap2 = dict(backfill_summary(other), host='kap2')
    off = dict(backfill_summary(None, on=False), host='kap3')
    hostvars = {host: {'retry_failed_runs_result': value} for host, value in
                (('kap1', kap1), ('kap2', kap2), ('kap3', off))}
    lines = retry_fleet_lines(['kap1', 'kap2', 'kap3'], hostvars)
    start = next(index for index, line in enumerate(lines) if line.startswith('backfill'))
    assert lines[start] == ('backfill over 2 host(s): 5 missing scheduled time(s), created 3 run(s) (1 of them failed, '
                            'retried below like any failed run), not created 1; refused 1 task(s), skipped 1, failed 1, '
                            'errors 0')
    rows = [line.split()[:3] for line in lines[start + 2:]]
    assert rows == [['kap1', 'cpu_rollup', 'failed'], ['kap1', 'notify', 'refused'], ['kap1', 'monthly', 'skipped']]
    # Without any host that backfilled, the fleet lines say nothing about it.
    assert not any(line.startswith('backfill') for line in retry_fleet_lines(['kap3'], hostvars))
