# -*- coding: utf-8 -*-
# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The pure core of the collection: no I/O, no Ansible, no HTTP.

Everything that decides something lives here so that unit tests reach it without a server:
ID and time parsing, run windows, the paging plan for complete enumeration, grouping attempts
by (task, scheduledFor), the retry decision table and the classification of retry responses.
Run records handled here are the API's camelCase dicts; ``snake_run`` converts them for output.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import datetime
import re
import time

from ansible_collections.tickstack.kapacitor.plugins.module_utils._errors import InputError, PagingError

PAGE_LIMIT = 500
HORIZON_SECONDS = 14 * 24 * 3600
RUN_STATUSES = ('scheduled', 'started', 'success', 'failed', 'canceled')
RUN_FIELDS = ('id', 'task_id', 'task_name', 'status', 'scheduled_for', 'started_at', 'finished_at', 'requested_at',
              'attempt', 'attempts')
COMPLETED_STATUSES = frozenset(('success', 'failed', 'canceled'))
IN_PROGRESS_STATUSES = frozenset(('scheduled', 'started'))

OUTCOMES = (
    'retried', 'retried_failed', 'would_retry', 'superseded', 'not_failed',
    'max_attempts_reached', 'already_queued', 'not_found', 'error',
)
FAILING_OUTCOMES = frozenset(('error', 'not_found'))

_ID_RE = re.compile(r'^[0-9a-fA-F]{16}$')
_DURATION_RE = re.compile(r'^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$')
_RFC3339_RE = re.compile(
    r'^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|z|[+-]\d{2}:\d{2})$')
_UNIT_SECONDS = (7 * 86400, 86400, 3600, 60, 1)


# --------------------------------------------------------------------------- IDs

def check_id(value, what):
    """Return a Kapacitor ID in its canonical lowercase form, or raise InputError.

    Kapacitor IDs are 16 hexadecimal characters and not all zeros (kapacitor-api.md 5.3).
    """
    text = '' if value is None else str(value).strip()
    if not _ID_RE.match(text):
        raise InputError('%s %r is not a Kapacitor ID: expected 16 hexadecimal characters, such as 0a1b2c3d4e5f6789'
                        % (what, value))
    if int(text, 16) == 0:
        raise InputError('%s %r is not a Kapacitor ID: the all-zero ID is invalid' % (what, value))
    return text.lower()


# --------------------------------------------------------------------------- time

def utc_now():
    return int(time.time())


def parse_time(value, what, now):
    """Parse an RFC3339 time or a relative duration (``24h``, ``90m``, ``7d``, ``1h30m``) before ``now``.

    Returns a float of seconds since the epoch. ``now`` is an int of seconds since the epoch.
    """
    text = str(value).strip()
    if text.lower() == 'now':
        return float(now)
    match = _DURATION_RE.match(text)
    if match and text:
        seconds = sum(int(part) * unit for part, unit in zip(match.groups(), _UNIT_SECONDS) if part)
        return float(now - seconds)
    try:
        return rfc3339_to_epoch(text)
    except InputError:
        raise InputError('%s %r is neither an RFC3339 time (such as 2026-05-01T10:00:00Z) nor a relative duration '
                        '(such as 24h, 90m, 7d or 1h30m, meaning that long before now)' % (what, value))


def rfc3339_to_epoch(text):
    """Seconds since the epoch (float) of an RFC3339 or RFC3339Nano string, as Kapacitor writes them."""
    match = _RFC3339_RE.match(text or '')
    if not match:
        raise InputError('not an RFC3339 time: %r' % (text,))
    year, month, day, hour, minute, second, frac, zone = match.groups()
    try:
        datetime.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
    except ValueError as exc:
        raise InputError('not an RFC3339 time: %r (%s)' % (text, exc))
    epoch = calendar.timegm((int(year), int(month), int(day), int(hour), int(minute), int(second), 0, 0, 0))
    if zone not in ('Z', 'z'):
        sign = 1 if zone[0] == '+' else -1
        epoch -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return epoch + (float('0.' + frac) if frac else 0.0)


def epoch_to_rfc3339(seconds):
    """RFC3339 in UTC with whole seconds, as Kapacitor's time filters expect."""
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(int(seconds)))


def scheduled_epoch(run):
    """Whole seconds of a run's ``scheduledFor`` (always whole seconds on the wire)."""
    return int(rfc3339_to_epoch(run['scheduledFor']))


class Window:
    """The run window on ``scheduledFor``: both bounds exclusive, in float seconds, ``None`` = open.

    Kapacitor parses ``afterTime``/``beforeTime`` with whole-second RFC3339 and compares them with
    ``scheduledFor`` (whole seconds) exclusively, so sub-second bounds are rounded outwards for the
    server and applied exactly by ``contains``.
    """

    def __init__(self, after=None, before=None):
        self.after = after
        self.before = before

    def contains(self, run):
        sched = scheduled_epoch(run)
        if self.after is not None and not sched > self.after:
            return False
        if self.before is not None and not sched < self.before:
            return False
        return True

    def server_after(self):
        return None if self.after is None else int(self.after // 1)

    def server_before(self):
        if self.before is None:
            return None
        return int(-(-self.before // 1))

    def as_dict(self):
        return {
            'after_time': None if self.after is None else epoch_to_rfc3339(self.server_after()),
            'before_time': None if self.before is None else epoch_to_rfc3339(self.server_before()),
        }


def resolve_window(after_time, before_time, now):
    """Build a Window from the user's options and return ``(window, warnings)``.

    Raises InputError for unparsable times, a window that is empty, or an ``after_time`` in the future.
    """
    after = None if after_time in (None, '') else parse_time(after_time, 'after_time', now)
    before = None if before_time in (None, '') else parse_time(before_time, 'before_time', now)
    if after is not None and before is not None and before <= after:
        raise InputError('before_time (%s) must be later than after_time (%s)'
                        % (epoch_to_rfc3339(before), epoch_to_rfc3339(after)))
    if after is not None and before is None and after >= now:
        raise InputError('after_time (%s) is not in the past: no run can be scheduled after it yet'
                        % epoch_to_rfc3339(after))
    warnings = []
    horizon = now - HORIZON_SECONDS
    if (after is not None and after < horizon) or (before is not None and before < horizon):
        warnings.append('The window reaches further back than 14 days (before %s). Kapacitor only returns runs that '
                        'started within the last 14 days, so older runs are missing from the result.'
                        % epoch_to_rfc3339(horizon))
    return Window(after, before), warnings


# --------------------------------------------------------------------------- paging

class RunPager:
    """The paging plan that lists every run of one task in a window.

    Kapacitor's ``after`` cursor is broken (kapacitor-api.md 4.4) and its order is: queued manual
    runs, running runs, then completed runs by ``scheduledFor`` descending with ties in no promised
    order. So page by moving ``beforeTime`` back: the next page ends one second after the oldest
    ``scheduledFor`` of the completed part, which re-reads that second (ties may have been cut off)
    and de-duplicates by run ID. Queued and running runs come back on every page; they are
    de-duplicated too.

    Use: ``while not pager.done: runs = fetch(pager.params()); pager.feed(runs)``; new runs are
    returned by ``feed``.
    """

    def __init__(self, window, limit=PAGE_LIMIT):
        self.window = window
        self.limit = limit
        self.before = window.server_before()
        self.seen = set()
        self.done = False
        self.pages = 0
        self.warnings = []
        self.boundary = None

    def params(self):
        params = {'limit': self.limit}
        after = self.window.server_after()
        if after is not None:
            params['afterTime'] = epoch_to_rfc3339(after)
        if self.before is not None:
            params['beforeTime'] = epoch_to_rfc3339(self.before)
        return params

    def feed(self, runs):
        """Take one page and return the runs not seen before."""
        self.pages += 1
        new = []
        for run in runs:
            run_id = run.get('id')
            if run_id not in self.seen:
                self.seen.add(run_id)
                new.append(run)
        if len(runs) < self.limit:
            self.done = True
            self.boundary = None
            return new
        completed = [scheduled_epoch(run) for run in runs if run.get('status') in COMPLETED_STATUSES]
        if not completed:
            raise PagingError('a full page of %d runs held no completed run (only queued or running ones), so the '
                              'listing cannot move further back; retry later or narrow the window' % len(runs))
        oldest = min(completed)
        next_before = oldest + 1
        if self.before is not None and next_before >= self.before:
            # One second holds a full page on its own: skip past it rather than loop forever.
            self.warnings.append('More than %d runs share scheduledFor %s; Kapacitor cannot page within one second, '
                                 'so some of them may be missing' % (len(completed), epoch_to_rfc3339(oldest)))
            next_before = oldest
        self.before = next_before
        self.boundary = oldest
        after = self.window.server_after()
        if after is not None and self.before - 1 <= after:
            self.done = True
        return new


# --------------------------------------------------------------------------- attempts

def attempt_key(run):
    return (run['taskID'], run['scheduledFor'])


def group_attempts(runs):
    """Map (taskID, scheduledFor) to its attempts, oldest first (IDs are time-ordered snowflakes)."""
    groups = {}
    for run in runs:
        groups.setdefault(attempt_key(run), []).append(run)
    for attempts in groups.values():
        attempts.sort(key=lambda r: r['id'])
    return groups


def annotate_attempts(runs):
    """Return ``{run id: (attempt number, attempts, latest run)}`` for every run."""
    notes = {}
    for attempts in group_attempts(runs).values():
        latest = attempts[-1]
        for number, run in enumerate(attempts, 1):
            notes[run['id']] = (number, len(attempts), latest)
    return notes


def snake_run(run, task_name=None, note=None, include_logs=False, fields=None):
    """The module's view of an API run: snake_case keys, attempt annotations, optional log; only ``fields`` if given."""
    out = {
        'id': run.get('id'),
        'task_id': run.get('taskID'),
        'task_name': task_name,
        'status': run.get('status'),
        'scheduled_for': run.get('scheduledFor'),
        'started_at': run.get('startedAt'),
        'finished_at': run.get('finishedAt'),
        'requested_at': run.get('requestedAt'),
    }
    if note is not None:
        out['attempt'], out['attempts'] = note[0], note[1]
    if fields:
        out = dict((name, out.get(name)) for name in fields)
    if include_logs:
        out['log'] = [{'time': entry.get('time'), 'message': entry.get('message'), 'run_id': entry.get('runID')}
                      for entry in (run.get('log') or [])]
    return out


def sort_runs(runs):
    """Newest scheduled time first, then newest attempt first: a stable order clients can rely on."""
    return sorted(runs, key=lambda r: (r['scheduledFor'], r['id']), reverse=True)


# --------------------------------------------------------------------------- retry decisions

class Decision:
    def __init__(self, outcome, msg, target=None, latest=None):
        self.outcome = outcome
        self.msg = msg
        self.target = target
        self.latest = latest

    @property
    def retry(self):
        return self.target is not None

    def __repr__(self):
        return 'Decision(%r, %r, target=%r)' % (self.outcome, self.msg, self.target and self.target['id'])


def latest_of(attempts):
    """The latest attempt (highest ID) and the number of attempts."""
    return max(attempts, key=lambda r: r['id']), len(attempts)


def decide(requested, latest, count, max_attempts, force=False):
    """The decision table of design.md for one run asked about, from the attempts of its scheduled time.

    ``requested`` is the run asked about, ``latest`` the attempt with the highest ID among ``count``
    attempts sharing its (task, scheduledFor); both are API runs (``id``, ``status``, ``scheduledFor``).
    Returns a Decision whose ``target`` is the run to POST a retry for, or None.
    """
    requested_id = requested['id']
    status = latest['status']
    if force:
        return Decision('retried', 'forced retry of run %s' % requested_id, target=requested, latest=latest)
    later = latest['id'] != requested_id
    if status in IN_PROGRESS_STATUSES or status == 'success':
        if later:
            return Decision('superseded', 'superseded by attempt %d (run %s, status %s)' % (count, latest['id'], status),
                            latest=latest)
        return Decision('not_failed', 'run %s has status %s; nothing to retry' % (requested_id, status), latest=latest)
    if status == 'canceled':
        return Decision('not_failed', 'the latest attempt (run %s) was canceled; use force to retry it' % latest['id'],
                        latest=latest)
    if count >= max_attempts:
        return Decision('max_attempts_reached', 'scheduled time %s failed %d attempt(s) and max_attempts is %d; giving up'
                        % (latest['scheduledFor'], count, max_attempts), latest=latest)
    if later:
        msg = 'attempt %d (run %s) failed; retrying it' % (count, latest['id'])
    else:
        msg = 'run %s failed; retrying it' % requested_id
    return Decision('retried', msg, target=latest, latest=latest)


def classify_retry_response(status, message):
    """Classify the answer to a retry POST.

    Returns one of ``retried`` (200: the new run succeeded), ``retried_failed`` (a new run was created and
    failed: 500 ``could not execute task run`` / ``unexpected error from queryd``, or 400 for Flux errors),
    ``already_queued`` (422), ``not_found`` (404), ``ambiguous`` (the request's fate is unknown: a proxy's
    502/503/504, or a 5xx that is not Kapacitor's own error) or ``error``.
    """
    message = message or ''
    if 200 <= status < 300:
        return 'retried'
    if status == 422 and 'already queued' in message:
        return 'already_queued'
    if status == 404 and message.startswith('failed to retry run:'):
        return 'not_found'
    if status in (400, 500) and message.startswith('failed to retry run:'):
        executed = ('could not execute task run', 'unexpected error from queryd',
                    'could not parse Flux script', 'error exhausting result iterator')
        if any(marker in message for marker in executed):
            return 'retried_failed'
        return 'error'
    if status in (502, 503, 504) or status >= 500:
        return 'ambiguous'
    return 'error'


def summarize(results):
    summary = dict((outcome, 0) for outcome in OUTCOMES)
    for result in results:
        summary[result['outcome']] = summary.get(result['outcome'], 0) + 1
    return summary
