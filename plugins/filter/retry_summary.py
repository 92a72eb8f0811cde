# -*- coding: utf-8 -*-
# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Filters of the retry_failed_runs role: check its settings, sum up one server, render the summary.

What the role used to compute in Jinja lives here, where it is unit-tested. Outcomes are counted by the
core's ``summarize`` and credentials are removed from URLs by the client's ``redact_url``; neither is
written a second time. Documentation: ``retry_settings.yml``, ``retry_summary.yml`` and
``retry_summary_lines.yml`` beside this file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re

from ansible.errors import AnsibleFilterError

from ansible_collections.tickstack.kapacitor.plugins.module_utils._client import redact_url
from ansible_collections.tickstack.kapacitor.plugins.module_utils._runs import FAILING_OUTCOMES, summarize

PREFIX = 'retry_failed_runs_'
URL_UNSET = 'KAPACITOR_URL or http://localhost:9092'

# The role's figures and the retry module's outcome each one counts.
FIGURE_OUTCOMES = (
    ('retried', 'retried'),
    ('would_retry', 'would_retry'),
    ('retried_failed', 'retried_failed'),
    ('timed_out', 'timed_out'),
    ('superseded', 'superseded'),
    ('given_up', 'max_attempts_reached'),
    ('already_queued', 'already_queued'),
)
# A new attempt was made (or asked for) and did not succeed: Kapacitor's run failed, or the client gave up on it
# and Kapacitor canceled it; or the run could not be handled at all.
FAILED_AGAIN_OUTCOMES = frozenset(('retried_failed', 'timed_out')) | FAILING_OUTCOMES
# Scheduled times whose latest attempt is still failed once the call is over.
REMAINING_OUTCOMES = FAILED_AGAIN_OUTCOMES | frozenset(('would_retry', 'max_attempts_reached'))

# (setting, type, the values it admits, what is expected)
NUMBERS = (
    ('max_attempts', int, lambda n: n >= 1, 'a whole number, 1 or more'),
    ('concurrency', int, lambda n: 1 <= n <= 100,
     'a whole number from 1 to 100 (Kapacitor runs at most 100 task runs at once)'),
    ('retry_timeout', float, lambda n: n > 0, 'a positive number of seconds'),
    ('log_lines', int, lambda n: n >= 0, 'a whole number, 0 or more'),
    ('summary_runs', int, lambda n: n >= 0, 'a whole number, 0 or more'),
)
TIMES = ('since', 'after_time', 'before_time')
SCRIPT_ECHO = re.compile('Started task from script')
LOG_LINE_LENGTH = 200


def _number(name, value, kind, admits, expected):
    try:
        if isinstance(value, bool) or value is None or (kind is int and isinstance(value, float) and value % 1):
            raise ValueError
        number = kind(value)
    except (TypeError, ValueError):
        number = None
    if number is None or not admits(number):
        raise AnsibleFilterError('%s%s must be %s, got %r' % (PREFIX, name, expected, value))
    return number


def _time(name, value):
    """A time setting as the modules take it: None when unset, else a string.

    YAML turns an unquoted ``2026-11-28T10:00:00Z`` into a datetime; it is written back as RFC3339, in UTC
    (a datetime without a time zone is UTC, as YAML defines it).
    """
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return value.isoformat() + 'Z'
    if isinstance(value, datetime.date):
        raise AnsibleFilterError('%s%s is the date %s without a time of day: write a time such as %sT00:00:00Z'
                                 % (PREFIX, name, value.isoformat(), value.isoformat()))
    if not isinstance(value, str):
        raise AnsibleFilterError('%s%s must be an RFC3339 time (such as 2026-11-28T10:00:00Z) or a duration '
                                 '(such as 24h), got %r' % (PREFIX, name, value))
    return value.strip() or None


def retry_settings(settings):
    """Check the role's settings and return them in the types the modules take.

    ``settings`` maps names without the ``retry_failed_runs_`` prefix to the values of the role variables.
    The window's lower bound is ``after_time`` if set, else ``since``.
    """
    if not isinstance(settings, dict):
        raise AnsibleFilterError('retry_settings expects a dict of the role settings, got %r' % (settings,))
    result = {}
    for name, kind, admits, expected in NUMBERS:
        result[name] = _number(name, settings.get(name), kind, admits, expected)
    times = dict((name, _time(name, settings.get(name))) for name in TIMES)
    if not any(times.values()):
        raise AnsibleFilterError('a window is needed: set %ssince (such as 24h), or %safter_time and/or %sbefore_time'
                                 % (PREFIX, PREFIX, PREFIX))
    result['after_time'] = times['after_time'] or times['since']
    result['before_time'] = times['before_time']
    return result


def _field(mapping, key, default=None):
    value = mapping.get(key) if isinstance(mapping, dict) else None
    return default if value is None else value


def retry_summary(found, retry, settings, host, url=None, check_mode=False, error=''):
    """What happened on one Kapacitor server, as the role reports it.

    ``found`` is the registered result of kapacitor_task_runs_info and ``retry`` that of kapacitor_task_run_retry
    (either may be empty or skipped); ``settings`` comes from ``retry_settings``. Results are joined to the
    listing by run ID.
    """
    rows = _field(found, 'runs', [])
    results = _field(retry, 'results', [])
    if not isinstance(rows, list) or not isinstance(results, list):
        raise AnsibleFilterError('retry_summary expects registered module results with lists of runs and results')
    listed = dict((row.get('run_id', row.get('id')), row) for row in rows)
    runs = []
    for result in results:
        run = dict(result)
        run['task_name'] = result.get('task_name') or listed.get(result.get('run_id'), {}).get('task_name')
        runs.append(run)
    counts = summarize(runs)
    error = (error or '').strip()
    figures = {'tasks_scanned': int(_field(_field(found, 'totals', {}), 'tasks', 0)), 'failed_found': len(rows)}
    for figure, outcome in FIGURE_OUTCOMES:
        figures[figure] = counts.get(outcome, 0)
    figures['errors'] = max(sum(counts.get(outcome, 0) for outcome in FAILING_OUTCOMES), 1 if error else 0)
    figures['remaining'] = sum(counts.get(outcome, 0) for outcome in REMAINING_OUTCOMES)
    # The URL the modules used, if they say; else the one the role was given (unset: the modules' fallbacks).
    effective_url = _field(found, 'url') or url
    window = _field(found, 'window') or {'after_time': settings.get('after_time'),
                                         'before_time': settings.get('before_time')}
    return {
        'host': host,
        'url': redact_url(effective_url) if effective_url else URL_UNSET,
        'check_mode': bool(check_mode),
        'max_attempts': settings['max_attempts'],
        'window': window,
        'error': error,
        'figures': figures,
        'failed_again': [run for run in runs if run['outcome'] in FAILED_AGAIN_OUTCOMES],
        'would_retry': [run for run in runs if run['outcome'] == 'would_retry'],
        'runs': runs,
    }


def _truncate(text, length=LOG_LINE_LENGTH, end='...', leeway=5):
    """Jinja's ``truncate`` filter with its defaults, as the role's summary always used it."""
    if len(text) <= length + leeway:
        return text
    return text[:length - len(end)].rsplit(' ', 1)[0] + end


def retry_summary_lines(summary, summary_runs=10, log_lines=3):
    """The lines the role prints for one server, from a ``retry_summary`` result."""
    figures = summary['figures']
    window = summary['window'] or {}
    lines = ['%s (%s)%s: %s task(s) scanned, %s failed scheduled time(s) found (scheduled after %s, before %s)'
             % (summary['host'], summary['url'], ' [check mode: nothing retried]' if summary['check_mode'] else '',
                figures['tasks_scanned'], figures['failed_found'], window.get('after_time') or '-',
                window.get('before_time') or 'now')]
    if summary['check_mode']:
        lines.append('would retry: %s, superseded: %s, given up (max_attempts %s reached): %s, errors: %s'
                     % (figures['would_retry'], figures['superseded'], summary['max_attempts'], figures['given_up'],
                        figures['errors']))
    else:
        lines.append('retried: %s, retried but failed again: %s, superseded: %s, given up (max_attempts %s reached): '
                     '%s, already queued: %s, errors: %s'
                     % (figures['retried'], figures['retried_failed'], figures['superseded'], summary['max_attempts'],
                        figures['given_up'], figures['already_queued'], figures['errors']))
    if figures.get('timed_out'):
        lines.append('timed out (retry_timeout reached; Kapacitor canceled the new run): %s' % figures['timed_out'])
    lines.append('still failing afterwards: %s' % figures['remaining'])
    if summary['error']:
        lines.append('ERROR: %s' % summary['error'])
    listed = summary['would_retry'] + summary['failed_again']
    for run in listed[:int(summary_runs)]:
        lines.append('%s %s %s run %s (attempts before: %s): %s'
                     % (run['outcome'], run.get('task_name') or run.get('task_id'), run.get('scheduled_for'),
                        run.get('run_id'), run.get('attempts'), run.get('msg') or ''))
        # The first lines that say something: the executor's echo of the whole Flux script is left out.
        log = [line for line in run.get('log') or [] if not SCRIPT_ECHO.match(str(line))]
        lines.extend('    | ' + _truncate(str(line)) for line in log[:int(log_lines)])
    if len(listed) > int(summary_runs):
        lines.append('... and %s more (see retry_failed_runs_report_path)' % (len(listed) - int(summary_runs)))
    return lines


class FilterModule:
    """The retry_failed_runs role's filters."""

    def filters(self):
        return {
            'retry_settings': retry_settings,
            'retry_summary': retry_summary,
            'retry_summary_lines': retry_summary_lines,
        }
