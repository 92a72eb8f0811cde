"""The scheduler's clock: which ``scheduledFor`` times a task's ``every``/``cron`` produce, and the wire form of ``offset``.

The simulator's own model of Kapacitor 1.8.3's scheduler (docs/simulator.md, "Scheduler-created runs"), written from
the upstream source, not shared with the collection's code:

* ``every: D`` (and ``cron: "@every D"``): ``scheduler.NewSchedule`` truncates the last scheduled time with Go's
  ``time.Truncate``, which counts from the zero time 0001-01-01T00:00:00Z, not the Unix epoch; the cron library's
  ``@every`` then adds D. The slots are the instants S with ``(unix(S) + 62135596800) % D == 0``.
* ``cron``: github.com/influxdata/cron, in UTC: 5 fields (second 0), 6 (seconds first) or 7 (seconds first, years
  last), names JAN-DEC and SUN-SAT, ``*``, ``a``, ``a-b``, ``*/n``, ``a/n``, ``a-b/n`` and lists; day of week 0-6
  (a single 7 is refused, ``x-7`` means ``x-6``); day of month AND day of week must both match; the macros below;
  ``Next`` is strictly after its argument; nothing after 2099.
* ``offset`` only delays execution (``when = scheduledFor + offset``); the API renders it as ``[-]<H>h<M>m<S>s`` with
  zero parts left out (``customParseDuration`` in ``task/http/task_service.go``).
"""

import re
from datetime import datetime, timedelta, timezone

ZERO_TIME_OFFSET = 62135596800      # seconds from 0001-01-01T00:00:00Z to 1970-01-01T00:00:00Z
MAX_YEAR = 2099                     # the cron library finds nothing later

# Flux duration units in nanoseconds; mo and y are calendar units the scheduler cannot place on a fixed grid.
_FLUX_UNITS = {'ns': 1, 'us': 1000, 'µs': 1000, 'ms': 10 ** 6, 's': 10 ** 9, 'm': 60 * 10 ** 9, 'h': 3600 * 10 ** 9,
               'hr': 3600 * 10 ** 9, 'd': 86400 * 10 ** 9, 'w': 604800 * 10 ** 9, 'mo': None, 'y': None}
_FLUX_DURATION = re.compile(r'(\d+)(mo|ms|us|µs|ns|hr|y|w|d|h|m|s)')
_GO_UNITS = ('h', 'm', 's', 'ms', 'us', 'µs', 'ns')   # time.ParseDuration: no d, no w


def duration_ns(text, units=None):
    """A Flux duration literal such as ``1h30m``, ``-5m`` or ``7m`` in nanoseconds; ValueError names the bad value.

    ``units`` limits the accepted units (``offset`` goes through Go's time.ParseDuration, which has no ``d``)."""
    raw = str(text).strip()
    body = raw[1:] if raw[:1] == '-' else raw
    total, pos = 0, 0
    for match in _FLUX_DURATION.finditer(body):
        unit = match.group(2)
        if match.start() != pos or (units is not None and unit not in units):
            break
        if _FLUX_UNITS[unit] is None:
            raise ValueError('duration %r uses the calendar unit %r: its slots cannot be enumerated' % (raw, unit))
        total += int(match.group(1)) * _FLUX_UNITS[unit]
        pos = match.end()
    else:
        if body and pos == len(body):
            return -total if raw[:1] == '-' else total
    raise ValueError('bad duration %r: expected digits and units %s, e.g. 1h30m'
                     % (raw, ' '.join(units or [u for u, v in _FLUX_UNITS.items() if v])))


def offset_seconds(text):
    """The task option ``offset`` in whole seconds (0 when absent)."""
    if not text:
        return 0
    nanos = duration_ns(text, _GO_UNITS)
    if nanos % 10 ** 9:
        raise ValueError('offset %r must be expressible as whole seconds' % text)
    return nanos // 10 ** 9


def format_offset(seconds):
    """customParseDuration: ``[-]<H>h<M>m<S>s``, zero parts omitted; '' for 0 (the field is then left out)."""
    sign = '-' if seconds < 0 else ''
    seconds = abs(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return sign + ''.join('%d%s' % (value, unit) for value, unit in ((hours, 'h'), (minutes, 'm'), (secs, 's')) if value)


def every_seconds(text):
    """``every`` as the scheduler's step D in seconds: at least 1 s, whole seconds."""
    nanos = duration_ns(text)
    if nanos < 10 ** 9 or nanos % 10 ** 9:
        raise ValueError('every %r must be at least 1 second and whole seconds' % text)
    return nanos // 10 ** 9


def first_every_slot(step, after):
    """The first slot strictly after unix second ``after`` on the grid counted from 0001-01-01T00:00:00Z."""
    return after - (after + ZERO_TIME_OFFSET) % step + step


# -- cron ----------------------------------------------------------------------------------------------------------------
_MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC']
_DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT']
# (name, low, high, names starting at low)
_FIELDS = {'second': (0, 59, None), 'minute': (0, 59, None), 'hour': (0, 23, None), 'dom': (1, 31, None),
           'month': (1, 12, _MONTHS), 'dow': (0, 6, _DAYS), 'year': (1970, MAX_YEAR, None)}
_MACROS = {'@yearly': '0 0 0 1 1 *', '@annually': '0 0 0 1 1 *', '@monthly': '0 0 0 1 * *', '@weekly': '0 0 0 * * 0',
           '@daily': '0 0 0 * * *', '@midnight': '0 0 0 * * *', '@hourly': '0 0 * * * *', '@every_minute': '0 * * * * *',
           '@every_second': '* * * * * *'}


def _value(field, text, expr):
    low, dummy, names = _FIELDS[field]
    if text.isdigit():
        return int(text)
    if names and text.upper() in names:
        return names.index(text.upper()) + low
    raise ValueError('cron %r: bad %s value %r' % (expr, field, text))


def _parse_field(field, text, expr):
    low, high, dummy = _FIELDS[field]
    allowed = set()
    for item in text.split(','):
        part, step = (item.split('/', 1) + [None])[:2]
        step = int(step) if step is not None and step.isdigit() and int(step) > 0 else (1 if step is None else None)
        if step is None:
            raise ValueError('cron %r: bad step in %r' % (expr, item))
        if part == '*':
            start, end = low, high
        elif '-' in part:
            start, end = (_value(field, value, expr) for value in part.split('-', 1))
            if field == 'dow' and end == 7:
                end = 6                     # appendStarSlDoW: a range ending in 7 ends on Saturday
        else:
            start = _value(field, part, expr)
            end = high if '/' in item else start
        if not low <= start <= end <= high:
            raise ValueError('cron %r: %s %r out of range %d-%d' % (expr, field, item, low, high))
        allowed.update(range(start, end + 1, step))
    return allowed


class Cron:
    """One influxdata/cron expression; ``next(unix_seconds)`` is the first match strictly after, or None."""

    def __init__(self, expr):
        self.expr = expr
        text = _MACROS.get(expr.strip(), expr)
        parts = text.split()
        if len(parts) == 5:
            parts = ['0'] + parts
        if len(parts) == 6:
            parts = parts + ['*']
        if len(parts) != 7:
            raise ValueError('cron %r: expected 5, 6 or 7 fields or a macro' % expr)
        names = ('second', 'minute', 'hour', 'dom', 'month', 'dow', 'year')
        self.sets = {name: _parse_field(name, part, expr) for name, part in zip(names, parts)}

    def next(self, after):
        sets = self.sets
        moment = datetime.fromtimestamp(after + 1, timezone.utc)
        while moment.year <= MAX_YEAR:
            if moment.year not in sets['year']:
                moment = datetime(moment.year + 1, 1, 1, tzinfo=timezone.utc)
            elif moment.month not in sets['month']:
                moment = (moment.replace(day=1, hour=0, minute=0, second=0) + timedelta(days=32)).replace(day=1)
            elif moment.day not in sets['dom'] or (moment.weekday() + 1) % 7 not in sets['dow']:
                moment = moment.replace(hour=0, minute=0, second=0) + timedelta(days=1)
            elif moment.hour not in sets['hour']:
                moment = moment.replace(minute=0, second=0) + timedelta(hours=1)
            elif moment.minute not in sets['minute']:
                moment = moment.replace(second=0) + timedelta(minutes=1)
            elif moment.second not in sets['second']:
                moment += timedelta(seconds=1)
            else:
                return int(moment.timestamp())
        return None


def next_slot_function(every, cron):
    """``next(after)``: the first slot strictly after unix second ``after`` of a task's ``every`` or ``cron`` (None
    after 2099), parsed once; ValueError for a schedule the scheduler cannot enumerate."""
    if cron and cron.strip().startswith('@every '):
        every, cron = cron.strip()[len('@every '):], None
    if cron:
        return Cron(cron).next
    step = every_seconds(every)
    return lambda after: first_every_slot(step, after)


def slots(every, cron, after, until, limit=None):
    """Unix seconds S with after < S <= until that the scheduler produces for a task's ``every`` or ``cron``;
    ValueError when there are more than ``limit``."""
    if cron and cron.strip().startswith('@every '):
        every, cron = cron.strip()[len('@every '):], None
    if cron:
        schedule, out = Cron(cron), []
        slot = schedule.next(after)
        while slot is not None and slot <= until and (limit is None or len(out) <= limit):
            out.append(slot)
            slot = schedule.next(slot)
    else:
        step = every_seconds(every)
        out = range(first_every_slot(step, after), until + 1, step)
    if limit is not None and len(out) > limit:
        raise ValueError('more than %d scheduled times between the two bounds' % limit)
    return list(out)
