# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Filters of the retry_failed_runs role: check its settings, sum up one server, render the summary.

What the role used to compute in Jinja lives here, where it is unit-tested. Outcomes are counted by the
core's ``summarize`` and credentials are removed from URLs by ``_urls.redact_url``; neither is
written a second time. Documentation: ``retry_settings.yml``, ``retry_batches.yml``, ``retry_summary.yml``,
``retry_summary_lines.yml`` and ``retry_fleet_lines.yml`` beside this file.
"""

import datetime
import difflib
import re
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.tickstack.kapacitor.plugins.module_utils._errors import InputError
from ansible_collections.tickstack.kapacitor.plugins.module_utils._runs import (
    DATE_RE,
    FAILING_OUTCOMES,
    NOT_ERROR_RE,
    SERVER_TYPES,
    compile_patterns,
    parse_duration,
    parse_time,
    runs_block,
    server_label,
    summarize,
    utc_now,
)
from ansible_collections.tickstack.kapacitor.plugins.module_utils._runs import batch_rounds as runs_batch_rounds
from ansible_collections.tickstack.kapacitor.plugins.module_utils._urls import redact_url

PREFIX = 'retry_failed_runs_'
URL_UNSET = 'KAPACITOR_URL, INFLUX_HOST or the default URL'
# Facts the role sets itself under its prefix: not settings, never reported as unknown.
ROLE_FACTS = frozenset((PREFIX + 'result',))

# The role's figures and the retry module's outcome each one counts.
FIGURE_OUTCOMES = (
    ('retried', 'retried'),
    ('would_retry', 'would_retry'),
    ('retried_failed', 'retried_failed'),
    ('timed_out', 'timed_out'),
    ('superseded', 'superseded'),
    ('given_up', 'max_attempts_reached'),
    ('skipped', 'skipped'),
    ('deferred', 'deferred'),
    ('already_queued', 'already_queued'),
    ('task_inactive', 'task_inactive'),
)
# A new attempt was made (or asked for) and did not succeed: Kapacitor's run failed, or the client gave up on it
# and Kapacitor canceled it; or the run could not be handled at all.
FAILED_AGAIN_OUTCOMES = frozenset(('retried_failed', 'timed_out')) | FAILING_OUTCOMES
# Scheduled times left failed on purpose: not retried by a rule (InfluxDB 2 refuses to retry a run of an inactive task).
NOT_RETRIED_OUTCOMES = ('would_retry', 'max_attempts_reached', 'skipped', 'deferred', 'task_inactive')
# Scheduled times whose latest attempt is still failed once the call is over.
REMAINING_OUTCOMES = FAILED_AGAIN_OUTCOMES | frozenset(NOT_RETRIED_OUTCOMES)
# The columns of the per-task tables: (column, the outcomes it counts); ``found`` counts the listed runs.
TASK_COLUMNS = (
    ('retried', ('retried', 'would_retry')),
    ('failed_again', tuple(sorted(FAILED_AGAIN_OUTCOMES))),
    ('given_up', ('max_attempts_reached',)),
    ('skipped', ('skipped', 'task_inactive')),
    ('deferred', ('deferred',)),
)
# (setting, type, the values it admits, what is expected)
NUMBERS = (
    ('max_attempts', int, lambda n: n >= 1, 'a whole number, 1 or more'),
    ('concurrency', int, lambda n: 1 <= n <= 100,
     'a whole number from 1 to 100 (Kapacitor runs at most 100 task runs at once)'),
    ('retry_timeout', float, lambda n: n > 0, 'a positive number of seconds'),
    ('log_lines', int, lambda n: n >= 0, 'a whole number, 0 or more'),
    ('summary_runs', int, lambda n: n >= 0, 'a whole number, 0 or more'),
)
# Settings added later, with the value they take when the role did not pass them.
OPTIONAL_NUMBERS = (
    ('batch_rounds', int, lambda n: n >= 0, "a whole number, 0 (sized from the runs' durations) or more", 0),
    ('table_rows', int, lambda n: n >= 1, 'a whole number, 1 or more', 20),
    ('backfill_max_runs_per_task', int, lambda n: n >= 1, 'a whole number, 1 or more', 100),
    ('backfill_max_runs_total', int, lambda n: n >= 1, 'a whole number, 1 or more', 500),
)
# Switches of the backfill step, with the value they take when the role did not pass them.
BOOLEANS = (('backfill', False), ('backfill_allow_side_effects', False), ('backfill_continue_on_error', False))
# The backfill module's outcomes that the summary lists task by task (nothing_missing is not news).
BACKFILL_NEWS = ('error', 'failed', 'refused', 'skipped', 'would_backfill', 'backfilled')
BACKFILL_OUTCOMES = BACKFILL_NEWS + ('nothing_missing',)
TIMES = ('since', 'after_time', 'before_time')
SCRIPT_ECHO = re.compile('Started task from script')
LOG_LINE_LENGTH = 200
ERROR_LENGTH = 100


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
    (a datetime without a time zone is UTC, as YAML defines it). A date alone, typed or unquoted, is midnight UTC.
    Durations (``24h``, ``-24h``: both mean that long before now) are left to the modules to resolve when they run.
    """
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return value.isoformat() + 'Z'
    if isinstance(value, datetime.date):
        return value.isoformat() + 'T00:00:00Z'
    if not isinstance(value, str):
        raise AnsibleFilterError('%s%s must be an RFC3339 time (such as 2026-11-28T10:00:00Z), a date (such as '
                                 '2026-11-28) or a duration (such as 24h), got %r' % (PREFIX, name, value))
    value = value.strip()
    if DATE_RE.match(value):
        return value + 'T00:00:00Z'
    return value or None


def _text(value):
    """A setting as stripped text; '' when unset."""
    return '' if value is None else str(value).strip()


def _checked(parse, value, name, *args):
    """``parse(value, <the role variable>, *args)`` as a module would call it; its InputError as a filter error."""
    try:
        return parse(value, PREFIX + name, *args)
    except InputError as exc:
        raise AnsibleFilterError(str(exc)) from None


def _check_names(variables, known):
    """Refuse a variable with the role's prefix that its argument spec does not know: a typo would widen the run."""
    known = set(known or ()) | ROLE_FACTS
    unknown = sorted(name for name in variables or () if name.startswith(PREFIX) and name not in known)
    if unknown:
        hints = []
        # Compared without the prefix that every name shares, so that only the part that differs counts.
        suffixes = sorted(name[len(PREFIX):] for name in known - ROLE_FACTS if name.startswith(PREFIX))
        for name in unknown:
            close = difflib.get_close_matches(name[len(PREFIX):], suffixes, n=1, cutoff=0.6)
            hints.append('%s (did you mean %s%s?)' % (name, PREFIX, close[0]) if close else name)
        raise AnsibleFilterError('unknown role variable(s) %s: the role tickstack.kapacitor.retry_failed_runs has no '
                                 'such variable (ansible-doc -t role tickstack.kapacitor.retry_failed_runs lists them)'
                                 % ', '.join(hints))


def retry_settings(settings, variables=None, known=None):
    """Check the role's settings and return them in the types the modules take.

    ``settings`` maps names without the ``retry_failed_runs_`` prefix to the values of the role variables.
    The window's lower bound is ``after_time`` if set, else ``since``. ``variables`` are the names of the
    variables set with the role's prefix and ``known`` those of its argument spec: any other fails.
    """
    if not isinstance(settings, dict):
        raise AnsibleFilterError('retry_settings expects a dict of the role settings, got %r' % (settings,))
    _check_names(variables, known)
    result = {}
    for name, kind, admits, expected in NUMBERS:
        result[name] = _number(name, settings.get(name), kind, admits, expected)
    for name, kind, admits, expected, default in OPTIONAL_NUMBERS:
        value = settings.get(name)
        result[name] = default if value is None else _number(name, value, kind, admits, expected)
    times = {name: _time(name, settings.get(name)) for name in TIMES}
    if not any(times.values()):
        raise AnsibleFilterError('a window is needed: set %ssince (such as 24h), or %safter_time and/or %sbefore_time'
                                 % (PREFIX, PREFIX, PREFIX))
    lower = 'after_time' if times['after_time'] else 'since'
    result['after_time'] = times[lower]
    result['before_time'] = times['before_time']
    # The strings of the bounds in use (since is not read when after_time is set) are parsed as the modules will
    # parse them, so that one that is no time is named by its role variable. Their order is the module's to check.
    now = utc_now()
    for name in (lower, 'before_time'):
        if times[name] and isinstance(settings.get(name), str):
            _checked(parse_time, settings[name].strip(), name, now)
    for name, default in BOOLEANS:
        value = settings.get(name)
        try:
            result[name] = default if value is None else boolean(value, strict=True)
        except TypeError:
            raise AnsibleFilterError('%s%s must be true or false, got %r' % (PREFIX, name, value)) from None
    if result['backfill'] and not result['after_time']:
        raise AnsibleFilterError('%sbackfill needs a lower bound for its window: set %ssince (such as 24h) or '
                                 '%safter_time' % (PREFIX, PREFIX, PREFIX))
    result['backfill_grace'] = _text(settings.get('backfill_grace')) or '5m'
    if result['backfill']:   # read by the backfill step only
        _checked(parse_duration, result['backfill_grace'], 'backfill_grace')
    # Retry policy options passed to the retry module only when set.
    result['min_age'] = _text(settings.get('min_age')) or None
    if result['min_age'] is not None:
        _checked(parse_duration, result['min_age'], 'min_age')
    skip_errors = settings.get('skip_errors') or []
    if not isinstance(skip_errors, list) or not all(isinstance(item, str) for item in skip_errors):
        raise AnsibleFilterError('%sskip_errors must be a list of regular expressions, got %r' % (PREFIX, skip_errors))
    _checked(compile_patterns, skip_errors, 'skip_errors')
    result['skip_errors'] = skip_errors
    return result


def batch_rounds(runs, settings, server=None):
    """How many rounds of ``concurrency`` retries one batch holds (``_runs.batch_rounds``, from the settings and the
    listing's ``server``)."""
    server = server or {}
    return runs_batch_rounds(runs, settings.get('batch_rounds'), settings['retry_timeout'],
                             runs_block(server.get('type'), server.get('version')))


def retry_batches(runs, settings, server=None, with_runs=True, done=0):
    """The listed runs in batches of ``concurrency`` × ``batch_rounds(...)``, one retry module call each.

    Each batch is ``{'label': 'batch 2/5: runs 161-320 of 700', 'start': 160, 'end': 320, 'runs': [...]}``; Ansible
    prints the label as each batch ends, so an operator sees progress at least once per batch (about every 30 s
    when sized from the runs' recorded durations). ``server`` is the listing's ``server`` result (its ``type``), when
    known. With ``with_runs`` false a batch has no ``runs``, only the slice ``start:end`` of the input: Ansible copies
    a loop's item into the item's result, and a batch of runs would be carried twice. ``done``: how many runs an
    earlier call handled, as the first batch (the retry module's ``pending`` are the rest); the labels count them.
    """
    if not isinstance(runs, list):
        raise AnsibleFilterError("retry_batches expects a list of runs (kapacitor_task_runs_info's runs, or the retry "
                                 "module's pending), got %r" % (runs,))
    if isinstance(done, bool) or not isinstance(done, int) or done < 0:
        raise AnsibleFilterError('retry_batches expects done to be a number of runs, got %r' % (done,))
    size = settings['concurrency'] * batch_rounds(runs, settings, server if isinstance(server, Mapping) else None)
    first = 1 if done else 0
    count = (len(runs) + size - 1) // size + first
    batches = []
    for index, start in enumerate(range(0, len(runs), size)):
        end = min(start + size, len(runs))
        batch = {'label': 'batch %d/%d: runs %d-%d of %d' % (index + 1 + first, count, done + start + 1, done + end,
                                                             done + len(runs)),
                 'start': start, 'end': end}
        if with_runs:
            batch['runs'] = runs[start:end]
        batches.append(batch)
    return batches


def _field(mapping, key, default=None):
    value = mapping.get(key) if isinstance(mapping, dict) else None
    return default if value is None else value


def _retry_results(retry):
    """The retry module's results, from one call or a loop of batches; and the messages of the batches that failed."""
    entries = _field(retry, 'results', [])
    if not isinstance(entries, list):
        raise AnsibleFilterError('retry_summary expects registered module results with lists of runs and results')
    if not any(isinstance(entry, dict) and 'ansible_loop_var' in entry for entry in entries):
        return entries, []
    results, failures = [], []
    for index, entry in enumerate(entries):
        batch = _field(entry, 'results', [])
        if not isinstance(batch, list):
            raise AnsibleFilterError('retry_summary expects registered module results with lists of runs and results')
        results.extend(batch)
        if entry.get('failed'):
            label = _field(_field(entry, entry.get('ansible_loop_var'), {}), 'label', 'batch %d' % (index + 1))
            failures.append('%s: %s' % (label, _field(entry, 'msg', 'failed')))
    return results, failures


def run_error(result, row=None):
    """Why a run failed, in one line. For a new attempt that failed, its own log lines (the retry result's) without
    the echo of the Flux script and the verdict, else the result's message; for a run not retried, the listing's
    ``error`` (the original failure)."""
    if result.get('outcome') in FAILED_AGAIN_OUTCOMES:
        lines = [str(line).strip() for line in result.get('log') or []]
        return '; '.join(line for line in lines if line and not NOT_ERROR_RE.match(line)) or result.get('msg') or ''
    return (row or {}).get('error') or result.get('error') or ''


def _task_counts(rows, runs):
    """Per task name: how many runs were found and how many ended in each column; and the first error of each."""
    tasks = {}

    def entry(name):
        empty = dict([('found', 0)] + [(column, 0) for column, _o in TASK_COLUMNS], error='')
        return tasks.setdefault(name or '-', empty)

    for row in rows:
        entry(row.get('task_name') or row.get('task_id'))['found'] += 1
    for run in runs:
        counts = entry(run.get('task_name') or run.get('task_id'))
        for column, outcomes in TASK_COLUMNS:
            if run['outcome'] in outcomes:
                counts[column] += 1
        if run['outcome'] in FAILED_AGAIN_OUTCOMES and not counts['error']:
            counts['error'] = run.get('error') or run.get('msg') or ''
    return tasks


def backfill_part(backfill, settings):
    """The backfill step of one server: figures summed from the module's tasks, and the tasks; None when it is off.

    ``backfill`` is the registered result of kapacitor_task_run_backfill, also when it failed (the module still returns
    every task then) or could not start (no tasks). Run figures: ``missing`` (scheduled times without a run when
    listed), ``created``, ``created_failed`` (created runs that did not succeed: the retry step lists them like any
    failed run), ``would_backfill`` (check mode), ``not_created``; ``tasks``; and
    ``outcomes``, how many tasks ended in each outcome.
    """
    if not settings.get('backfill') or not isinstance(backfill, dict) or backfill.get('skipped'):
        return None
    tasks = backfill.get('tasks') or []
    if not isinstance(tasks, list):
        raise AnsibleFilterError('retry_summary expects the registered result of kapacitor_task_run_backfill, got %r'
                                 % (backfill,))
    figures = {'tasks': len(tasks), 'expected': 0, 'present': 0, 'missing': 0, 'created': 0, 'created_failed': 0,
               'would_backfill': 0, 'not_created': 0, 'outcomes': dict.fromkeys(BACKFILL_OUTCOMES, 0)}
    for task in tasks:
        outcome = task.get('outcome')
        figures['outcomes'][outcome] = figures['outcomes'].get(outcome, 0) + 1
        figures['expected'] += int(task.get('expected') or 0)
        figures['present'] += int(task.get('present') or 0)
        figures['missing'] += len(task.get('missing') or [])
        figures['created'] += len(task.get('created') or [])
        figures['created_failed'] += sum(1 for run in task.get('created') or [] if run.get('status') != 'success')
        figures['not_created'] += len(task.get('not_created') or [])
        if outcome == 'would_backfill':
            figures['would_backfill'] += len(task.get('missing') or [])
    return {'figures': figures, 'tasks': tasks, 'failed': bool(backfill.get('failed')),
            'msg': backfill.get('msg') if backfill.get('failed') else None}


def server_of(found, retry=None, backfill=None, server_type=None):
    """The server one host's modules talked to, ``{'type': 'kapacitor' | 'influxdb2' | None, 'version': ...}``.

    Taken from the modules' own ``server`` result: the listing's, else the backfill's, else a retry call's (one call or
    a loop of batches). When none reached the server (it failed before), the type the role was given
    (``kapacitor_server_type``, unless ``auto``) without a version; else both are None.
    """
    candidates = [found, backfill, retry] + [entry for entry in _field(retry, 'results', []) if isinstance(entry, dict)
                                             and 'ansible_loop_var' in entry]
    for candidate in candidates:
        server = _field(candidate, 'server')
        if isinstance(server, Mapping) and server.get('type'):
            return {'type': server['type'], 'version': server.get('version')}
    return {'type': server_type if server_type in SERVER_TYPES else None, 'version': None}


def server_words(server):
    """A server in the summary's words: ``Kapacitor 1.8.3``, ``InfluxDB 2.7.12``, ``InfluxDB 2`` (no version: Cloud, or
    no module reached the server); empty when unknown."""
    kind, version = _field(server, 'type'), _field(server, 'version')
    if kind not in SERVER_TYPES:
        return ''
    if version:
        return '%s %s' % (server_label(kind), str(version).lstrip('v'))
    return server_label(kind) + (' 2' if kind == 'influxdb2' else '')


def retry_summary(found, retry, settings, host, url=None, check_mode=False, error='', backfill=None, server_type=None):
    """What happened on one Kapacitor or InfluxDB 2 server, as the role reports it.

    ``found`` is the registered result of kapacitor_task_runs_info and ``retry`` that of kapacitor_task_run_retry,
    one call or a loop over batches (either may be empty or skipped); ``settings`` comes from ``retry_settings``.
    Results are joined to the listing by run ID. ``backfill`` is the registered result of kapacitor_task_run_backfill
    when the role's backfill step is on (see ``backfill_part``). ``server_type`` is the role's
    ``kapacitor_server_type``, the fallback of ``server`` (see ``server_of``).
    """
    if isinstance(found, Mapping) and 'pending' in found:
        # The retry module's first call, which listed (failed) and retried the first batch; the loop retried the rest.
        first, batch_failures = _retry_results(found)
        rows = first + _field(found, 'pending', [])
        if found.get('msg'):
            batch_failures.append('first batch: %s' % found['msg'])
    else:
        first, batch_failures = [], []
        rows = _field(found, 'runs', [])
    if not isinstance(rows, list):
        raise AnsibleFilterError('retry_summary expects registered module results with lists of runs and results')
    results, failures = _retry_results(retry)
    results, batch_failures = first + results, batch_failures + failures
    listed = {row.get('run_id', row.get('id')): row for row in rows}
    runs = []
    for result in results:
        run = dict(result)
        row = listed.get(result.get('run_id'), {})
        run['task_name'] = result.get('task_name') or row.get('task_name')
        if run['outcome'] in FAILED_AGAIN_OUTCOMES or run['outcome'] in NOT_RETRIED_OUTCOMES:
            run['error'] = run_error(result, row)
        else:   # the first call's results carry the listing's error: a run retried here has none left
            run.pop('error', None)
        runs.append(run)
    counts = summarize(runs)
    error = (error or '').strip()
    if batch_failures:
        error = 'Retry them, ' + '; '.join(batch_failures)
    scanned = _field(_field(found, 'totals', {}), 'tasks', len(_field(found, 'tasks', [])))
    figures = {'tasks_scanned': int(scanned), 'failed_found': len(rows)}
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
        'server': server_of(found, retry, backfill, server_type),
        'check_mode': bool(check_mode),
        'dry_run': bool(check_mode),
        'max_attempts': settings['max_attempts'],
        'window': window,
        'error': error,
        'figures': figures,
        'missing_tasks': list(_field(found, 'missing_tasks', [])),
        'tasks': _task_counts(rows, runs),
        'failed_again': [run for run in runs if run['outcome'] in FAILED_AGAIN_OUTCOMES],
        'would_retry': [run for run in runs if run['outcome'] == 'would_retry'],
        'runs': runs,
        'backfill': backfill_part(backfill, settings),
        'report': None,
    }


def _truncate(text, length=LOG_LINE_LENGTH, end='...', leeway=5):
    """Jinja's ``truncate`` filter with its defaults, as the role's summary always used it."""
    text = ' '.join(str(text).split())
    if len(text) <= length + leeway:
        return text
    return text[:length - len(end)].rsplit(' ', 1)[0] + end


def _more(count, what, reports):
    where = ('see the JSON report%s: %s' % ('s' if len(reports) > 1 else '', ', '.join(reports)) if reports
             else 'set retry_failed_runs_report_path for a JSON report of every run')
    return '... and %d more %s (%s)' % (count, what, where)


def _table(header, rows):
    """Rows of cells as lines of left-aligned columns (the last column is not padded)."""
    widths = [max(len(str(row[index])) for row in [header] + rows) for index in range(len(header) - 1)]
    return [' '.join([str(cell).ljust(width) for cell, width in zip(row, widths)] + [str(row[-1])]).rstrip()
            for row in [header] + rows]


def _server_cell(summary):
    return _field(summary.get('server'), 'type', '-')


def _task_rows(summary, host=None):
    """Table rows of one server's tasks, the most failing first; with ``host``, led by the host and its server type."""
    rows = []
    for name, counts in sorted((summary.get('tasks') or {}).items(),
                               key=lambda item: (-item[1]['failed_again'], -item[1]['given_up'], item[0])):
        cells = [name, counts['found']] + [counts[column] for column, _o in TASK_COLUMNS]
        cells.append(_truncate(counts['error'], ERROR_LENGTH) if counts['error'] else '')
        rows.append(([host, _server_cell(summary)] if host is not None else []) + cells)
    return rows


def _header(check_mode, host=False):
    columns = ['task', 'found', 'would_retry' if check_mode else 'retried', 'failed_again', 'given_up', 'skipped',
               'deferred', 'error']
    return (['host', 'server'] if host else []) + columns


def _backfill_headline(figures, check_mode, hosts=None):
    where = ' over %d host(s)' % hosts if hosts is not None else ''
    outcomes = figures['outcomes']
    tasks = ('refused %d task(s), skipped %d, failed %d, errors %d'
             % (outcomes['refused'], outcomes['skipped'], outcomes['failed'], outcomes['error']))
    if check_mode:
        return ('backfill%s [check mode: nothing created]: would backfill %d missing scheduled time(s); %s'
                % (where, figures['would_backfill'], tasks))
    return ('backfill%s: %d missing scheduled time(s), created %d run(s) (%d of them failed, retried below like any '
            'failed run), not created %d; %s'
            % (where, figures['missing'], figures['created'], figures['created_failed'], figures['not_created'], tasks))


def _backfill_rows(summary, outcomes, host=None):
    """Table rows of one server's backfilled tasks with one of ``outcomes``, the most pressing first."""
    part = summary.get('backfill') or {}
    rows = []
    for task in part.get('tasks') or []:
        if task.get('outcome') not in outcomes:
            continue
        created = task.get('created') or []
        rows.append(([host] if host is not None else []) + [
            task.get('task_name') or task.get('task_id'), task.get('outcome'), len(task.get('missing') or []),
            len(created), sum(1 for run in created if run.get('status') != 'success'),
            _truncate(task.get('reason') or '')])
    offset = 0 if host is None else 1
    rows.sort(key=lambda row: (outcomes.index(row[offset + 1]), [str(cell) for cell in row]))
    return rows


BACKFILL_HEADER = ['backfill task', 'outcome', 'missing', 'created', 'created_failed', 'reason']


def _backfill_lines(summary, table_rows):
    """The backfill step's lines of one server: its figures, then a table of every task with news."""
    part = summary.get('backfill')
    if not part:
        return []
    lines = [_backfill_headline(part['figures'], summary['check_mode'])]
    rows = _backfill_rows(summary, BACKFILL_NEWS)
    if rows:
        lines.extend(_table(BACKFILL_HEADER, rows[:int(table_rows)]))
        if len(rows) > int(table_rows):
            lines.append(_more(len(rows) - int(table_rows), 'backfilled task(s)',
                               [summary['report']] if summary.get('report') else []))
    return lines


def retry_summary_lines(summary, summary_runs=10, log_lines=3, table_rows=20):
    """The lines the role prints for one server, from a ``retry_summary`` result."""
    figures = summary['figures']
    window = summary['window'] or {}
    reports = [summary['report']] if summary.get('report') else []
    words = server_words(summary.get('server'))
    lines = ['%s (%s)%s%s: %s task(s) scanned, %s failed scheduled time(s) found (scheduled after %s, before %s)'
             % (summary['host'], summary['url'], ' ' + words if words else '',
                ' [check mode: nothing retried]' if summary['check_mode'] else '',
                figures['tasks_scanned'], figures['failed_found'], window.get('after_time') or '-',
                window.get('before_time') or 'now')]
    lines.extend(_backfill_lines(summary, table_rows))
    if summary['check_mode']:
        lines.append('would retry %s, would give up %s (max_attempts %s reached), would skip %s, would defer %s, '
                     'superseded: %s, errors: %s'
                     % (figures['would_retry'], figures['given_up'], summary['max_attempts'],
                        figures.get('skipped', 0), figures.get('deferred', 0), figures['superseded'],
                        figures['errors']))
    else:
        lines.append('retried: %s, retried but failed again: %s, superseded: %s, given up (max_attempts %s reached): '
                     '%s, skipped: %s, deferred: %s, already queued: %s, errors: %s'
                     % (figures['retried'], figures['retried_failed'], figures['superseded'], summary['max_attempts'],
                        figures['given_up'], figures.get('skipped', 0), figures.get('deferred', 0),
                        figures['already_queued'], figures['errors']))
    if figures.get('timed_out'):
        server_type = 'influxdb2' if _field(summary.get('server'), 'type') == 'influxdb2' else 'kapacitor'
        if runs_block(server_type, _field(summary.get('server'), 'version')):
            fate = '%s canceled the new run' % server_label(server_type)
        else:
            fate = 'InfluxDB goes on with the new run'
        lines.append('timed out (retry_timeout reached; %s): %s' % (fate, figures['timed_out']))
    if figures.get('task_inactive'):
        lines.append('not retried, their task is inactive (InfluxDB refuses to retry its runs; counted as skipped '
                     'below): %s' % figures['task_inactive'])
    lines.append('still failing afterwards: %s' % figures['remaining'])
    if summary.get('missing_tasks'):
        lines.append('not on this server (missing_ok): %s' % ', '.join(summary['missing_tasks']))
    if summary['error']:
        lines.append('ERROR: %s' % summary['error'])
    task_rows = _task_rows(summary)
    if task_rows:
        lines.extend(_table(_header(summary['check_mode']), task_rows[:int(table_rows)]))
        if len(task_rows) > int(table_rows):
            lines.append(_more(len(task_rows) - int(table_rows), 'task(s)', reports))
    listed = summary['would_retry'] + summary['failed_again']
    for run in listed[:int(summary_runs)]:
        lines.append('%s %s %s run %s (attempts before: %s): %s'
                     % (run['outcome'], run.get('task_name') or run.get('task_id'), run.get('scheduled_for'),
                        run.get('run_id'), run.get('attempts'), run.get('msg') or ''))
        # The first lines that say something: the executor's echo of the whole Flux script is left out.
        log = [line for line in run.get('log') or [] if not SCRIPT_ECHO.match(str(line))]
        lines.extend('    | ' + _truncate(str(line)) for line in log[:int(log_lines)])
    if len(listed) > int(summary_runs):
        lines.append(_more(len(listed) - int(summary_runs), 'run(s)', reports))
    if reports:
        lines.append('%sreport: %s' % ('dry-run ' if summary['check_mode'] else '', reports[0]))
    return lines


def retry_fleet_lines(hosts, hostvars, table_rows=20):
    """One table over every host of the play: per host and task name, what was found and what became of it.

    ``hosts`` is ``ansible_play_hosts_all`` and ``hostvars`` Ansible's ``hostvars``; a host without a
    ``retry_failed_runs_result`` fact (it failed before its summary) gets a line that says so.
    """
    summaries, absent = [], []
    for host in hosts or []:
        variables = hostvars[host] if host in hostvars else {}
        summary = variables.get(PREFIX + 'result') if hasattr(variables, 'get') else None
        if isinstance(summary, Mapping) and 'figures' in summary:
            summaries.append(summary)
        else:
            absent.append(host)
    check_mode = any(summary['check_mode'] for summary in summaries)
    totals = {key: sum(summary['figures'].get(key, 0) for summary in summaries)
              for key in ('failed_found', 'retried', 'would_retry', 'given_up', 'skipped', 'task_inactive', 'deferred',
                          'remaining')}
    totals['skipped'] += totals.pop('task_inactive')   # as in the tables: not retried by a rule
    failed_hosts = [summary['host'] for summary in summaries if summary['error']]
    kinds = {}
    for summary in summaries:
        kind = _server_cell(summary)
        kinds[kind] = kinds.get(kind, 0) + 1
    lines = ['%d host(s)%s, %d with errors%s: found %d, %s %d, failed again %d, given up %d, skipped %d, deferred %d; '
             'still failing %d%s'
             % (len(summaries) + len(absent), ' [check mode]' if check_mode else '', len(failed_hosts),
                (', %d without a summary (%s)' % (len(absent), ', '.join(absent))) if absent else '',
                totals['failed_found'], 'would retry' if check_mode else 'retried',
                totals['would_retry'] if check_mode else totals['retried'],
                sum(len(summary['failed_again']) for summary in summaries),
                totals['given_up'], totals['skipped'], totals['deferred'], totals['remaining'],
                ('; servers: ' + ', '.join('%d %s' % (kinds[kind], 'unknown' if kind == '-' else kind)
                                           for kind in sorted(kinds, key=lambda kind: (kind == '-', kind))))
                if set(kinds) - {'-'} else '')]
    rows = []
    for summary in summaries:
        if summary['error']:
            error = 'ERROR: ' + _truncate(summary['error'], ERROR_LENGTH)
            rows.append([summary['host'], _server_cell(summary)] + ['-'] * 7 + [error])
        rows.extend(_task_rows(summary, host=summary['host']))
    # The rows that need attention first: errors, then failed again (column 5), given up (6); then the rest, by host.
    rows.sort(key=lambda row: (not str(row[-1]).startswith('ERROR'), -_int(row[5]), -_int(row[6]), row[0], row[2]))
    reports = [summary['report'] for summary in summaries if summary.get('report')]
    if rows:
        lines.extend(_table(_header(check_mode, host=True), rows[:int(table_rows)]))
    if len(rows) > int(table_rows):
        lines.append(_more(len(rows) - int(table_rows), 'row(s)', reports[:3] + (['...'] if len(reports) > 3 else [])))
    lines.extend(_backfill_fleet_lines(summaries, check_mode, table_rows, reports))
    return lines


def _backfill_fleet_lines(summaries, check_mode, table_rows, reports):
    """The backfill step over every host that ran it: the summed figures, and the tasks it did not fill."""
    parts = [summary for summary in summaries if summary.get('backfill')]
    if not parts:
        return []
    figures = {key: sum(summary['backfill']['figures'][key] for summary in parts)
               for key in parts[0]['backfill']['figures'] if key != 'outcomes'}
    figures['outcomes'] = {outcome: sum(summary['backfill']['figures']['outcomes'].get(outcome, 0) for summary in parts)
                           for outcome in BACKFILL_OUTCOMES}
    lines = [_backfill_headline(figures, check_mode, hosts=len(parts))]
    rows = []
    for summary in parts:
        rows.extend(_backfill_rows(summary, ('error', 'failed', 'refused', 'skipped'), host=summary['host']))
    rows.sort(key=lambda row: (('error', 'failed', 'refused', 'skipped').index(row[2]), row[0], row[1]))
    if rows:
        lines.extend(_table(['host'] + BACKFILL_HEADER, rows[:int(table_rows)]))
    if len(rows) > int(table_rows):
        lines.append(_more(len(rows) - int(table_rows), 'backfill row(s)',
                           reports[:3] + (['...'] if len(reports) > 3 else [])))
    return lines


def _int(value):
    return value if isinstance(value, int) else 0


class FilterModule:
    """The retry_failed_runs role's filters."""

    def filters(self):
        return {
            'retry_settings': retry_settings,
            'retry_summary': retry_summary,
            'retry_summary_lines': retry_summary_lines,
            'retry_batches': retry_batches,
            'retry_fleet_lines': retry_fleet_lines,
        }
