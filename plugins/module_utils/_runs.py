# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The pure core of the collection: no I/O, no Ansible, no HTTP.

Everything that decides something lives here so that unit tests reach it without a server:
ID and time parsing, run windows, the paging plan for complete enumeration, grouping attempts
by (task, scheduledFor), the retry decision table and the classification of retry responses.
Run records handled here are the API's camelCase dicts; ``snake_run`` converts them for output.
"""

import calendar
import datetime
import functools
import math
import re
import time

from ansible_collections.tickstack.kapacitor.plugins.module_utils._errors import InputError

PAGE_LIMIT = 500
HORIZON_SECONDS = 14 * 24 * 3600
RUN_STATUSES = ('scheduled', 'started', 'success', 'failed', 'canceled')
RUN_FIELDS = ('id', 'task_id', 'task_name', 'status', 'scheduled_for', 'started_at', 'finished_at', 'requested_at',
              'attempt', 'attempts', 'error')
COMPLETED_STATUSES = frozenset(('success', 'failed', 'canceled'))
IN_PROGRESS_STATUSES = frozenset(('scheduled', 'started'))

OUTCOMES = (
    'retried', 'retried_failed', 'timed_out', 'would_retry', 'superseded', 'not_failed',
    'max_attempts_reached', 'deferred', 'skipped', 'already_queued', 'task_inactive', 'not_found', 'error',
)
# Outcomes that fail kapacitor_task_run_retry. ``timed_out``, ``deferred`` and ``task_inactive`` are not: the module did
# what it was asked, but the scheduled time still needs a retry (the role counts them as remaining).
FAILING_OUTCOMES = frozenset(('error', 'not_found'))

_ID_RE = re.compile(r'^[0-9a-fA-F]{16}$')
_DURATION_RE = re.compile(r'^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$')
DATE_RE = re.compile(r'^\d{4}-\d{2}-\d{2}$')
# RFC3339 as Kapacitor writes it, and as Python writes a datetime (``str()``: ' ' separator, no offset when naive).
_RFC3339_RE = re.compile(
    r'^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|z|[+-]\d{2}:\d{2})?$')
_TIME_EXPECTED = ('an RFC3339 time such as 2026-05-01T10:00:00Z (date, time of day with seconds, optional fraction, '
                  'and Z or an offset such as +02:00; none means UTC) or a datetime')
_UNIT_SECONDS = (7 * 86400, 86400, 3600, 60, 1)
# Snowflake IDs: milliseconds since this instant in their top 42 bits (docs/kapacitor-api.md §5.3).
SNOWFLAKE_EPOCH = 1491696000
# Log lines of a run that are not its error (docs/kapacitor-api.md §3.2): the executor's echo of the script, and its verdict.
NOT_ERROR_RE = re.compile(r'^(?:Started task from script|Completed\((?:success|failed|canceled)\)$)')


# --------------------------------------------------------------------------- IDs

def check_id(value, what):
    """Return a Kapacitor ID in its canonical lowercase form, or raise InputError.

    Kapacitor IDs are 16 hexadecimal characters and not all zeros (docs/kapacitor-api.md §5.3).
    """
    text = '' if value is None else str(value).strip()
    if not _ID_RE.match(text):
        raise InputError('%s %r is not a Kapacitor ID: expected 16 hexadecimal characters, such as 0a1b2c3d4e5f6789'
                         % (what, value))
    if int(text, 16) == 0:
        raise InputError('%s %r is not a Kapacitor ID: the all-zero ID is invalid' % (what, value))
    return text.lower()


def id_created_at(run_id):
    """Seconds since the epoch at which a snowflake ID was generated (docs/kapacitor-api.md §5.3)."""
    return SNOWFLAKE_EPOCH + (int(run_id, 16) >> 22) / 1000.0


# --------------------------------------------------------------------------- time

def utc_now():
    return int(time.time())


def parse_time(value, what, now):
    """Parse a time as Flux users write it, before ``now``: an RFC3339 time, a date alone (midnight UTC), a
    ``datetime`` or ``date`` (as YAML reads them unquoted), or a relative duration (``24h``, ``90m``, ``7d``,
    ``1h30m``; with a leading ``-``, as Flux writes ``range(start: -24h)``, the same).

    Returns a float of seconds since the epoch. ``now`` is an int of seconds since the epoch.
    """
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return float(calendar.timegm(value.timetuple()))
    if isinstance(value, datetime.datetime):
        return rfc3339_to_epoch(value)
    text = str(value).strip()
    if text.lower() == 'now':
        return float(now)
    seconds = _unit_seconds(text[1:] if text.startswith('-') else text)
    if seconds is not None:
        if seconds > now:   # no run is that old, and a time before 1970 cannot always be written back
            raise InputError('%s %r reaches back before 1970: give a duration of at most %dd, or a date'
                             % (what, value, now // 86400))
        return float(now - seconds)
    if DATE_RE.match(text):
        text += 'T00:00:00Z'
    try:
        return rfc3339_to_epoch(text)
    except InputError:
        raise InputError('%s %r is neither an RFC3339 time (such as 2026-05-01T10:00:00Z), a date (such as 2026-05-01, '
                         'midnight UTC) nor a relative duration (such as 24h or -24h, 90m, 7d or 1h30m, meaning that '
                         'long before now)' % (what, value)) from None


def _unit_seconds(text):
    """Whole seconds of a duration written in units (``90s``, ``1h30m``, ``2d``), or None when ``text`` is not one."""
    match = _DURATION_RE.match(text)
    if not match or not text:
        return None
    return sum(int(part) * unit for part, unit in zip(match.groups(), _UNIT_SECONDS) if part)


def parse_duration(value, what):
    """Seconds (a float, 0 or more) of a duration such as ``10m``, ``90s``, ``1h30m``, ``2d``, or a plain number of
    seconds (a number or a string of digits). Raises InputError naming ``what`` and the value."""
    number = None
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            text = value.strip()
            sign = -1 if text.startswith('-') else 1
            seconds = _unit_seconds(text[1:] if sign < 0 else text)
            number = float(text) if seconds is None else sign * float(seconds)
    except (ValueError, OverflowError):   # not a number, or too large for one (which no duration is)
        number = None
    if number is not None and math.isfinite(number):
        if number >= 0:
            return abs(number)   # -0 is 0
        raise InputError('%s %r is negative: expected a duration of 0 or more' % (what, value))
    raise InputError('%s %r is not a duration: expected a number of seconds (such as 600) or a duration such as 90s, '
                     '10m, 1h or 1h30m' % (what, value))


def rfc3339_to_epoch(value):
    """Seconds since the epoch (float, fraction kept) of a time: an RFC3339 string with any offset (none means UTC),
    any fraction and ``T`` or a space between date and time, or a ``datetime`` (naive means UTC).

    Raises InputError saying what was expected.
    """
    if isinstance(value, datetime.datetime):
        return calendar.timegm(value.utctimetuple()) + value.microsecond / 1e6
    match = _RFC3339_RE.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise InputError('%r is not a time: expected %s' % (value, _TIME_EXPECTED))
    year, month, day, hour, minute, second, frac, zone = match.groups()
    try:
        datetime.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
    except ValueError as exc:
        raise InputError('%r is not a time (%s): expected %s' % (value, exc, _TIME_EXPECTED)) from None
    epoch = calendar.timegm((int(year), int(month), int(day), int(hour), int(minute), int(second), 0, 0, 0))
    if zone and zone not in ('Z', 'z'):
        sign = 1 if zone[0] == '+' else -1
        epoch -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return epoch + (float('0.' + frac) if frac else 0.0)


@functools.lru_cache(maxsize=65536)  # a listing parses each scheduledFor of its runs several times
def _whole_seconds(text):
    return int(rfc3339_to_epoch(text) // 1)


def scheduled_instant(value):
    """The instant of a scheduled time as whole seconds since the epoch (an int), from an RFC3339 string
    (``...Z``, ``...+00:00``, a fraction, ``T`` or a space) or a ``datetime`` (naive means UTC).

    Scheduled times compare as instants, never as strings: ``2026-05-01T10:00:00Z`` and
    ``2026-05-01 12:00:00+02:00`` are the same scheduled time. Raises InputError saying what was expected.
    """
    if isinstance(value, str):
        return _whole_seconds(value)
    return int(rfc3339_to_epoch(value) // 1)


def epoch_to_rfc3339(seconds):
    """RFC3339 in UTC with whole seconds, as Kapacitor's time filters expect."""
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(int(seconds)))


def scheduled_epoch(run):
    """Whole seconds of a run's ``scheduledFor`` (always whole seconds on the wire)."""
    return scheduled_instant(run['scheduledFor'])


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


def horizon_words(seconds):
    """A run-history horizon in words: ``14 days``, ``3 days``, ``36 hours``, ``90 minutes``."""
    seconds = int(seconds)
    for unit, name in ((86400, 'day'), (3600, 'hour'), (60, 'minute'), (1, 'second')):
        if seconds >= unit and seconds % unit == 0:
            count = seconds // unit
            return '%d %s%s' % (count, name, '' if count == 1 else 's')
    return '%d seconds' % seconds


# The server types the collection talks to, and the server's name in messages per type (as the client says it);
# None: not known yet (before detection).
SERVER_TYPES = ('kapacitor', 'influxdb2')
PRODUCTS = {'kapacitor': 'Kapacitor', 'influxdb2': 'InfluxDB', None: 'Kapacitor or InfluxDB'}


# The major and minor numbers of a server's version header (InfluxDB's v2.7.12, Kapacitor's 1.8.3).
_VERSION_RE = re.compile(r'v?(\d+)\.(\d+)', re.IGNORECASE)


def runs_block(server_type, version):
    """Whether a retry or manual-run POST is answered only once the new run has finished, its failure as an error:
    on Kapacitor, and on InfluxDB 2.0 and 2.1 (``version`` as the server's header gives it). InfluxDB 2.2 and later,
    and Cloud (which names no version), answer as soon as the run is scheduled."""
    if server_type != 'influxdb2':
        return True
    match = _VERSION_RE.match(version or '')
    return match is not None and (int(match.group(1)), int(match.group(2))) < (2, 2)


def server_label(server_type):
    """The server's name in messages: ``Kapacitor`` or ``InfluxDB`` (``server_type`` as the client says it)."""
    return PRODUCTS[server_type]


def resolve_window(after_time, before_time, now, horizon=HORIZON_SECONDS, server_type='kapacitor'):
    """Build a Window from the user's options and return ``(window, warnings)``.

    ``horizon`` (seconds) is how far back the server lists runs (``client.horizon_seconds()``: 14 days on Kapacitor,
    the ``_tasks`` bucket's retention on InfluxDB); a window that reaches further back gets a warning that names it.
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
    oldest = now - horizon
    if (after is not None and after < oldest) or (before is not None and before < oldest):
        words = horizon_words(horizon)
        warnings.append('The window reaches further back than %s (before %s). %s only returns runs that started '
                        'within the last %s, so older runs are missing from the result.'
                        % (words, epoch_to_rfc3339(oldest), server_label(server_type), words))
    return Window(after, before), warnings


# --------------------------------------------------------------------------- paging

# An ``after`` cursor that no run ID exceeds. Kapacitor's kv store ignores ``after`` and its history part returns no
# run with it (the filter drops every completed run; were that fixed, no ID is greater), so a listing with it
# returns exactly the runs held in the kv store (docs/kapacitor-api.md §4.4).
KV_ONLY_AFTER = 'ffffffffffffffff'


def _completed_part(runs):
    """Where the completed part of a full page starts, as far as the order of the page proves it.

    A page is ``[kv runs][completed runs]`` (docs/kapacitor-api.md §4.4). The kv part holds the queued manual runs (insertion
    order, all ``scheduled``), then the runs held under their own key, by ascending ID, in any status (a run that has
    just finished stays there until it is moved to history), whatever their ``scheduledFor``. The completed part comes
    from history, by ``scheduledFor`` descending. Neither status nor ``scheduledFor`` alone tells the parts apart.

    Returns ``(start, split)``. Every run before ``split`` is a kv run: from ``split`` on, the page is completed runs in
    non-increasing ``scheduledFor``, as the completed part is (kv runs that happen to fit that order may lead it).
    ``start`` is the first run proven to be completed, or None: a run with a lower ID than the run before it, when
    that one is not ``scheduled`` (so not queued), cannot be a kv run, because the kv runs after a run held under its
    own key have higher IDs.
    """
    count = len(runs)
    split = count
    while split > 0:
        run = runs[split - 1]
        if run.get('status') not in COMPLETED_STATUSES:
            break
        if split < count and scheduled_epoch(run) < scheduled_epoch(runs[split]):
            break
        split -= 1
    for index in range(max(split, 1), count):
        previous = runs[index - 1]
        if previous.get('status') != 'scheduled' and previous['id'] > runs[index]['id']:
            return index, split
    return None, split


def _when(seconds, open_text):
    return open_text if seconds is None else epoch_to_rfc3339(seconds)


class RunPager:
    """The paging plan that lists every run of one task in a window, or says which time range it could not reach.

    Kapacitor's ``after`` cursor is broken (docs/kapacitor-api.md §4.4), so the pager moves ``beforeTime`` back. Only the
    completed part of a page is ordered (by ``scheduledFor`` descending), and only runs proven to be in it move the
    cursor (see ``_completed_part``): the next page ends one second after the oldest of them, re-reading that second
    (ties may have been cut off), and runs are de-duplicated by ID. The kv runs lead every page whose window holds
    their ``scheduledFor``, and they may be in a completed status and far older than the rest of the page.

    When a full page proves nothing, one more request asks for the kv runs alone (``after`` = ``KV_ONLY_AFTER``):
    fewer than a page of them means the page ended in its completed part; a page of them means Kapacitor returns no
    completed run of the window now, which becomes a gap. (The two answers are milliseconds apart; only a kv store
    that held a full page of runs of this task and lost some of them in between could mislead this, and a page that
    ends with a queued or running run is read again instead.) A second that holds more completed runs than a page can
    show is re-read once; it becomes a gap only when more distinct runs of it were seen than the page could hold.

    Use: ``while not pager.done: runs = fetch(pager.params()); pager.feed(runs)``; new runs are returned by ``feed``.
    ``gaps`` lists ``(after, before, reason)`` for each range not listed completely (epoch seconds, exclusive, None =
    open); ``warnings`` says the same in words.
    """

    def __init__(self, window, limit=PAGE_LIMIT):
        self.window = window
        self.limit = limit
        self.before = window.server_before()
        self.seen = set()
        self.done = False
        self.pages = 0
        self.gaps = []
        self.boundary = None
        self._held = None         # a full page whose completed part is unproven, until the kv-only answer comes
        self._rereads = 0         # pages read again because the kv-only answer contradicted them
        self._second = None       # the oldest second of the last page, the distinct completed runs seen in it,
        self._crowd = set()       # and how many pages showed it as their oldest
        self._second_reads = 0

    @property
    def warnings(self):
        return [message for dummy, dummy, message in self.gaps]

    def params(self):
        params = {'limit': self.limit}
        after = self.window.server_after()
        if after is not None:
            params['afterTime'] = epoch_to_rfc3339(after)
        if self.before is not None:
            params['beforeTime'] = epoch_to_rfc3339(self.before)
        if self._held is not None:
            params['after'] = KV_ONLY_AFTER
        return params

    def feed(self, runs):
        """Take one answer (to the request ``params()`` described) and return the runs not seen before."""
        self.pages += 1
        new = []
        for run in runs:
            run_id = run.get('id')
            if run_id not in self.seen:
                self.seen.add(run_id)
                new.append(run)
        held, self._held = self._held, None
        if held is not None:
            self._after_kv_only(held, runs)
        elif len(runs) < self.limit:
            self.done = True
            self.boundary = None
        else:
            start, split = _completed_part(runs)
            if start is None:
                self._held = runs
            else:
                self._advance(runs, start, split)
        return new

    def _after_kv_only(self, page, kv_runs):
        if len(kv_runs) >= self.limit:
            self._gap_to_window_start('Kapacitor holds a page or more (%d) of queued or running runs scheduled in that '
                                      'range and returns no completed run of it while it does; list again when they '
                                      'have finished' % len(kv_runs))
            return
        start, split = _completed_part(page)
        if split < len(page):
            # Fewer kv runs than a page: the page ended in its completed part.
            self._advance(page, len(page) - 1, split)
            return
        # The page ended with a run that cannot be completed, yet the kv store holds less than a page now: it changed
        # between the two requests. Read the page again.
        self._rereads += 1
        if self._rereads > 2:
            self._gap_to_window_start('the runs Kapacitor holds in its kv store kept changing between requests; list '
                                      'again later')

    def _advance(self, page, start, split):
        oldest = scheduled_epoch(page[-1])
        crowd = {run['id'] for run in page[start:] if scheduled_epoch(run) == oldest}
        if oldest == self._second:
            self._crowd |= crowd
            self._second_reads += 1
        else:
            self._second, self._crowd, self._second_reads = oldest, crowd, 1
        next_before = oldest + 1
        if self.before is not None and next_before >= self.before:
            # The completed part of the page lies in the window's last second: the cursor cannot move within it.
            if self._second_reads < 2:
                return  # read it once more: another order of its ties may show runs this page did not
            capacity = len(page) - split
            if len(self._crowd) > capacity:
                when = epoch_to_rfc3339(oldest)
                self.gaps.append((oldest - 1, oldest + 1, 'runs scheduled for %s may be missing: at least %d completed '
                                  'runs share that second, more than the %d a page could hold, and Kapacitor cannot page '
                                  'within one second' % (when, len(self._crowd), capacity)))
            next_before = oldest
        self.before = next_before
        self.boundary = oldest
        after = self.window.server_after()
        if after is not None and self.before - 1 <= after:
            self.done = True

    def _gap_to_window_start(self, reason):
        """Nothing older can be listed now: the rest of the window is a gap, and the listing ends."""
        after = self.window.server_after()
        self.gaps.append((after, self.before, 'runs scheduled after %s and before %s could not be listed: %s'
                          % (_when(after, 'the start of the run history'), _when(self.before, 'now'), reason)))
        self.done = True


# --------------------------------------------------------------------------- attempts

def attempt_key(run):
    """``(task ID, scheduled time in whole epoch seconds)``: the attempts of one scheduled time share it, however
    their ``scheduledFor`` is written."""
    return (run['taskID'], scheduled_epoch(run))


def group_attempts(runs):
    """Map ``attempt_key`` to its attempts, oldest first (IDs are time-ordered snowflakes)."""
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


def log_entries(run):
    """The entries of a run's log that are objects, as Kapacitor and InfluxDB write them; anything else a server might
    send there (not a list, an entry that is not an object) is left out rather than failing the module."""
    log = run.get('log')
    return [entry for entry in log if isinstance(entry, dict)] if isinstance(log, list) else []


def run_error(run):
    """The failure reason of a failed or canceled run, from its log (docs/kapacitor-api.md §3.2): its own lines except the
    echo of the Flux script and the ``Completed(...)`` verdict, joined with ``; ``. None for any other status, or when
    the log holds no such line. Lines a retry copied from another run (their ``runID`` differs) are not its own."""
    if run.get('status') not in ('failed', 'canceled'):
        return None
    own = run.get('id')
    lines = [entry['message'] for entry in log_entries(run)
             if isinstance(entry.get('message'), str) and entry.get('runID') in (None, '', own)]
    lines = [line.strip() for line in lines if line.strip() and not NOT_ERROR_RE.match(line.strip())]
    return '; '.join(lines) or None


def compile_patterns(patterns, what):
    """Compiled regular expressions (Python ``re`` syntax) of a list of strings; InputError names the first bad one."""
    compiled = []
    for index, pattern in enumerate(patterns or ()):
        if isinstance(pattern, re.Pattern):   # already compiled (the module compiles, then hands them to the Retrier)
            compiled.append(pattern)
            continue
        if not isinstance(pattern, str) or not pattern:
            raise InputError('%s[%d] is %r: expected a non-empty Python regular expression' % (what, index, pattern))
        try:
            compiled.append(re.compile(pattern))
        except re.error as exc:
            raise InputError('%s[%d] %r is not a valid Python regular expression: %s' % (what, index, pattern, exc)) from None
    return compiled


def finished_epoch(run):
    """When a run ended, in seconds since the epoch: ``finishedAt``; for a run Kapacitor recorded no finish time for,
    the latest time it did record: ``startedAt``, else the creation time its snowflake ID carries."""
    for key in ('finishedAt', 'startedAt'):
        if run.get(key):
            return rfc3339_to_epoch(run[key])
    return id_created_at(run['id'])


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
        'error': run['error'] if 'error' in run else run_error(run),
    }
    if note is not None:
        out['attempt'], out['attempts'] = note[0], note[1]
    if fields:
        out = {name: out.get(name) for name in fields}
    if include_logs:
        out['log'] = [{'time': entry.get('time'), 'message': entry.get('message'), 'run_id': entry.get('runID')}
                      for entry in log_entries(run)]
    return out


def sort_runs(runs):
    """Newest scheduled time first, then newest attempt first: a stable order clients can rely on."""
    return sorted(runs, key=lambda r: (scheduled_epoch(r), r['id']), reverse=True)


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


def _shorten(text, limit=300):
    return text if len(text) <= limit else text[:limit - 3] + '...'


def _duration_text(seconds):
    seconds = int(round(seconds))
    parts = [(seconds // 3600, 'h'), (seconds % 3600 // 60, 'm'), (seconds % 60, 's')]
    return ''.join('%d%s' % (value, unit) for value, unit in parts if value) or '0s'


def decide(requested, latest, count, max_attempts, force=False, now=None, min_age=0, skip_errors=()):
    """The decision table of docs/design.md for one run asked about, from the attempts of its scheduled time.

    ``requested`` is the run asked about, ``latest`` the attempt with the highest ID among ``count``
    attempts sharing its (task, scheduledFor); both are API runs (``id``, ``status``, ``scheduledFor``; for the
    policy below ``finishedAt`` and ``error``, the failure reason ``run_error`` gives).
    The retry policy applies to a failed latest attempt, in this order: ``skip_errors`` (compiled patterns; an error
    that matches one is ``skipped``), ``max_attempts``, then ``min_age`` (seconds; a latest attempt that finished less
    than that before ``now``, seconds since the epoch, is ``deferred``). ``force`` overrides all of them.
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
    error = latest.get('error')
    if error:
        for pattern in skip_errors:
            if pattern.search(error):
                return Decision('skipped', 'the error of attempt %d (run %s) matches skip_errors pattern %r, so it is not '
                                'retried: %s' % (count, latest['id'], pattern.pattern, _shorten(error)), latest=latest)
    if count >= max_attempts:
        return Decision('max_attempts_reached', 'scheduled time %s failed %d attempt(s) and max_attempts is %d; giving up'
                        % (latest['scheduledFor'], count, max_attempts), latest=latest)
    if min_age and now is not None:
        age = now - finished_epoch(latest)
        if age < min_age:
            return Decision('deferred', 'attempt %d (run %s) failed %s ago, less than min_age (%s); retry it later'
                            % (count, latest['id'], _duration_text(max(age, 0)), _duration_text(min_age)),
                            latest=latest)
    if later:
        msg = 'attempt %d (run %s) failed; retrying it' % (count, latest['id'])
    else:
        msg = 'run %s failed; retrying it' % requested_id
    return Decision('retried', msg, target=latest, latest=latest)


def classify_retry_response(status, message, verb='failed to retry run:', blocking=True):
    """Classify the answer to a retry POST (or, with ``verb='failed to force run:'``, to a manual run's POST).

    Returns one of ``retried`` (200: the new run succeeded, or with ``blocking`` false was scheduled),
    ``retried_failed`` (a server whose POST blocks until the new run has finished, ``blocking``: Kapacitor and
    InfluxDB 2.0 and 2.1, created a new run and it failed: 500 ``could not execute task run`` / ``unexpected error
    from queryd``, or 400 for Flux errors; InfluxDB 2.2 and later answer before running anything, so there a 500
    ``could not execute task run`` means the run could not be scheduled, and may stay queued: ``error``, never sent
    again),
    ``already_queued`` (422), ``task_inactive`` (InfluxDB 2's 400 ``inactive task``: nothing was created),
    ``not_found`` (404), ``ambiguous`` (the request's fate is unknown: a proxy's
    502/503/504, or a 5xx that is not Kapacitor's own error) or ``error``.
    """
    message = message or ''
    if 200 <= status < 300:
        return 'retried'
    if status == 422 and 'already queued' in message:
        return 'already_queued'
    if status == 400 and message.startswith(verb) and 'inactive task' in message:
        return 'task_inactive'  # InfluxDB 2 refuses retries and manual runs of an inactive task
    if status == 404 and message.startswith(verb):
        return 'not_found'
    if status in (400, 500) and message.startswith(verb):
        # InfluxDB 2.0 wrote 'Error exhausting result iterator; Err: ...', later releases and Kapacitor lowercase.
        executed = ('could not execute task run', 'unexpected error from queryd',
                    'could not parse flux script', 'error exhausting result iterator')
        if blocking and any(marker in message.lower() for marker in executed):
            return 'retried_failed'
        return 'error'
    if status in (502, 503, 504) or status >= 500:
        return 'ambiguous'
    return 'error'


def summarize(results):
    summary = dict.fromkeys(OUTCOMES, 0)
    for result in results:
        summary[result['outcome']] = summary.get(result['outcome'], 0) + 1
    return summary


# Progress batches: a batch lasts about this long when sized from the runs' recorded durations ...
BATCH_SECONDS = 30.0
# ... counting this much more per retry than its run (the request, the pre-POST check) ...
RETRY_OVERHEAD_SECONDS = 0.05
# ... and this much more on InfluxDB 2.2+, whose retried run starts up to a second after the answer.
INFLUX_START_SECONDS = 1.0
# Rounds per batch when no listed run recorded how long it took.
AUTO_ROUNDS = 20


def _recorded_seconds(value):
    """A listed run's time as epoch seconds, or None when it has none (or one that does not parse)."""
    try:
        return rfc3339_to_epoch(value) if value else None
    except InputError:
        return None


def batch_rounds(runs, rounds, retry_timeout, blocking=True):
    """How many rounds of ``concurrency`` retries one progress batch holds: ``rounds`` when positive, else as many as
    last about BATCH_SECONDS, from the mean run time the listed attempts recorded (``finished_at`` - ``started_at``,
    at most ``retry_timeout``), or AUTO_ROUNDS when no run recorded both.

    A retry lasts about as long as the run it makes: a server whose retries block (``blocking``: Kapacitor, InfluxDB
    2.0 and 2.1) answers when the new run has finished; on InfluxDB 2.2+ the module polls the new run, which starts
    up to a second later (INFLUX_START_SECONDS more per retry).
    """
    if rounds:
        return rounds
    durations = []
    for run in runs:
        started, finished = _recorded_seconds(run.get('started_at')), _recorded_seconds(run.get('finished_at'))
        if started is not None and finished is not None and finished >= started:
            durations.append(min(finished - started, retry_timeout))
    if not durations:
        return AUTO_ROUNDS
    per_retry = sum(durations) / len(durations) + RETRY_OVERHEAD_SECONDS
    if not blocking:
        per_retry += INFLUX_START_SECONDS
    return max(1, int(BATCH_SECONDS / per_retry + 1e-6))  # + 1e-6: 30 / 3.0 is 10 rounds, not 9.999...
