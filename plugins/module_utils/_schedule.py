# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The scheduled times of a Flux task, as Kapacitor 1.6-1.8 and InfluxDB 2 compute them: pure, no I/O.

A task's schedule is its ``every`` or its ``cron`` (``cron`` wins when both are set, as on the servers), plus an
``offset``. The servers hand both to the ``influxdata/cron`` library (``every`` as ``@every <every>``) and compute
every slot in UTC. What this module reproduces:

``every`` (and ``cron: "@every <duration>"``)
  Flux duration literals: ``ns us µs ms s m h d w``, combined (``1h30m``); the total must be whole seconds.
  The slots lie on one grid counted from Go's zero time, 0001-01-01T00:00:00Z, not from the Unix epoch:
  ``(unix(S) + 62135596800) % D == 0``. So ``7m`` runs at 10:06, 10:13, ... and ``1w`` on Mondays 00:00 UTC.
  Calendar units (``mo``, ``y``) are refused: the servers re-anchor that grid at each (re)schedule, so the
  slots a task missed cannot be derived from the schedule alone.
``cron``
  The influxdata/cron dialect, which is not Vixie cron:

  * 5 fields (``min hour dom month dow``, second 0), 6 fields (second first) or 7 fields (second first, year last);
  * ``*``, ``a``, ``a-b``, ``*/n``, ``a/n``, ``a-b/n`` and comma lists; names ``JAN``-``DEC`` and ``SUN``-``SAT``
    in any case; no ``?``, ``L``, ``W`` or ``#``;
  * day of month AND day of week must both match (Vixie cron matches either);
  * day of week 0-6 with 0 = Sunday; ``7`` alone is an error and ``x-7`` means ``x-6``; a step in the
    day-of-week field keeps the multiples of the step within the range (``1-5/2`` is Tuesday and Thursday);
  * a step of 30 in the second or minute field also selects 59 (``*/30`` is 0, 30 and 59), as the library's
    step table does;
  * macros ``@yearly`` ``@annually`` ``@monthly`` ``@weekly`` (Sunday) ``@daily`` ``@midnight`` ``@hourly``
    ``@every_minute`` ``@every_second`` and ``@every <duration>``;
  * years 1970-2097 (2099 with a year field or a macro); February 29 is skipped when an earlier day of that
    February is scheduled and February 28 is not (the library's day search stops at the 28th).

  Cron schedules whose steady sequence the library computes wrongly are refused with a reason rather than
  guessed: a month set with a gap (``1,7``) combined with a day-of-week restriction or with days of month all
  after the 28th, month steps that run past December, zero steps, and year steps other than a lone ``*/n``.
``offset``
  Only delays the execution: a run's ``scheduledFor`` is the slot itself and ``runAt`` is ``slot + offset``.
  ``Schedule.times`` returns slots (``scheduledFor`` values); ``Schedule.offset`` is there for the caller.

Times are whole seconds since the Unix epoch (ints), UTC. A time zone other than UTC is not modelled: Kapacitor
(and InfluxDB up to 2.7.6) running in a non-UTC local zone compute cron slots after the first one in that zone.
"""

import calendar
import re
import time

from ansible_collections.tickstack.kapacitor.plugins.module_utils._errors import KapacitorError
from ansible_collections.tickstack.kapacitor.plugins.module_utils._runs import epoch_to_rfc3339

# Seconds from Go's zero time (0001-01-01T00:00:00Z), which time.Truncate counts from, to the Unix epoch.
GO_ZERO_TIME = 62135596800
DEFAULT_LIMIT = 100000

_NS = {'ns': 1, 'us': 1000, '\u00b5s': 1000, 'ms': 10 ** 6, 's': 10 ** 9, 'm': 60 * 10 ** 9, 'h': 3600 * 10 ** 9,
       'd': 86400 * 10 ** 9, 'w': 7 * 86400 * 10 ** 9}
_CALENDAR_UNITS = ('mo', 'y')
_DURATION_PART_RE = re.compile('([0-9]+)(mo|ms|us|\u00b5s|ns|y|w|d|h|m|s)')
_DURATION_EXPECTED = ('a Flux duration such as 1h, 90m, 1h30m, 1d or 1w (units ns, us, \u00b5s, ms, s, m, h, d, w; '
                      'whole seconds)')

_DOW_NAMES = {'sun': 0, 'mon': 1, 'tue': 2, 'wed': 3, 'thu': 4, 'fri': 5, 'sat': 6}
_MONTH_NAMES = {'jan': 1, 'feb': 2, 'mar': 3, 'apr': 4, 'may': 5, 'jun': 6, 'jul': 7, 'aug': 8, 'sep': 9, 'oct': 10,
                'nov': 11, 'dec': 12}
_ITEM_RE = re.compile(r'^(\*|[0-9]+|[A-Za-z]{3})(?:-([0-9]+|[A-Za-z]{3}))?(?:/([0-9]+))?$')
_CRON_CHARS_RE = re.compile(r'^[A-Za-z0-9/*,\-\s]*$')
_MACROS = {
    # macro: (seconds, minutes, hours, days of month, months, days of week)
    'yearly': ([0], [0], [0], [1], [1], None),
    'annually': ([0], [0], [0], [1], [1], None),
    'monthly': ([0], [0], [0], [1], None, None),
    'weekly': ([0], [0], [0], None, None, [0]),
    'daily': ([0], [0], [0], None, None, None),
    'midnight': ([0], [0], [0], None, None, None),
    'hourly': ([0], [0], None, None, None, None),
    'every_minute': ([0], None, None, None, None, None),
    'every_second': (None, None, None, None, None, None),
}
_FIRST_YEAR = 1970


class ScheduleError(KapacitorError):
    """The schedule cannot be enumerated; ``str()`` is the reason, naming the value."""


class TooManySlots(KapacitorError):
    """A window holds more scheduled times than the caller's limit; ``limit`` is that limit."""

    def __init__(self, message, limit):
        super().__init__(message)
        self.limit = limit


# --------------------------------------------------------------------------- durations

def _duration_parts(text):
    """``[(magnitude, unit), ...]`` of a Flux duration literal, or None when it is not one."""
    parts = []
    pos = 0
    for match in _DURATION_PART_RE.finditer(text):
        if match.start() != pos:
            return None
        parts.append((int(match.group(1)), match.group(2)))
        pos = match.end()
    if not parts or pos != len(text):
        return None
    return parts


def parse_duration(value, what):
    """Whole seconds of a Flux duration literal (``1h30m``; sub-second parts must add up to whole seconds).

    A leading ``-`` is allowed (offsets). Raises ScheduleError naming ``what`` for calendar units (``mo``, ``y``),
    fractions of a second and anything that is not a duration.
    """
    text = str(value).strip()
    sign = 1
    if text.startswith('-'):
        sign, text = -1, text[1:]
    parts = _duration_parts(text)
    if parts is None:
        raise ScheduleError('%s %r is not a duration: expected %s' % (what, value, _DURATION_EXPECTED))
    if any(unit in _CALENDAR_UNITS for dummy, unit in parts):
        raise ScheduleError('%s %r uses calendar units (mo, y): Kapacitor and InfluxDB re-anchor such a schedule '
                            'whenever they (re)schedule the task, so its past scheduled times cannot be computed'
                            % (what, value))
    nanoseconds = sum(magnitude * _NS[unit] for magnitude, unit in parts)
    if nanoseconds % 10 ** 9:
        raise ScheduleError('%s %r is not a whole number of seconds' % (what, value))
    return sign * nanoseconds // 10 ** 9


# --------------------------------------------------------------------------- cron fields

def _steps(step):
    """The bits of the cron library's step table for ``step``: multiples of it below 64, except that its entry for
    30 holds 59 instead of 60."""
    values = set(range(0, 64, step))
    if step == 30:
        values.discard(60)
        values.add(59)
    return values


def _value(token, names, field, cron):
    if token.isdigit():
        return int(token)
    if names and token.lower() in names:
        return names[token.lower()]
    raise ScheduleError('cron %r: %r is not a value of the %s field' % (cron, token, field))


class _Field:
    """How one positional field of the library's parser turns items into values."""

    def __init__(self, name, width, first, last, names=None):
        self.name = name
        self.width = width          # how many values the field holds (60, 24, 31, 12): the library's bit mask
        self.first = first          # smallest value (0, or 1 for day of month and month)
        self.last = last
        self.names = names

    def parse(self, text, cron):
        values = set()
        for item in text.split(','):
            values |= self._item(item, cron)
        values = {value for value in values if self.first <= value <= self.last}
        if not values:
            raise ScheduleError('cron %r: the %s field %r selects no value' % (cron, self.name, text))
        return values

    def _item(self, item, cron):
        match = _ITEM_RE.match(item)
        if not match:
            raise ScheduleError('cron %r: %r is not a valid %s item (expected *, a, a-b, */n, a/n or a-b/n)'
                                % (cron, item, self.name))
        base, end_token, step_token = match.groups()
        step = None if step_token is None else int(step_token)
        if step == 0:
            raise ScheduleError('cron %r: the step 0 in %r is not supported' % (cron, item))
        if base == '*':
            if end_token is not None:
                raise ScheduleError('cron %r: %r is not a valid %s item' % (cron, item, self.name))
            start, end = self.first, self.last
        else:
            start = _value(base, self.names, self.name, cron)
            end = None if end_token is None else _value(end_token, self.names, self.name, cron)
        return self._expand(start, end, step, item, cron)

    def _expand(self, start, end, step, item, cron):
        in_range = self.first <= start <= self.last and (end is None or self.first <= end <= self.last)
        # The library refuses steps from the field's width on, except in the month field, which takes */12.
        largest_step = self.width - (0 if self.name == 'month' else 1)
        if not in_range or (step is not None and step > largest_step):
            raise ScheduleError('cron %r: %r is out of range for the %s field (values %d-%d, steps up to %d)'
                                % (cron, item, self.name, self.first, self.last, largest_step))
        if end is None and step is None:
            return {start}
        # Indexes count from 0 (value - first). The library shifts its step pattern to the start and bounds it by
        # the end, but applies no bound without an end (a/n) nor for a range ending at index 0.
        first_index = start - self.first
        end_index = None if end is None else end - self.first
        indexes = {first_index + bit for bit in _steps(step or 1) if bit < self.width}
        if end_index:
            indexes = {index for index in indexes if index <= end_index}
        if self.name == 'month' and any(index >= 12 for index in indexes):
            raise ScheduleError('cron %r: the month item %r runs past December, which influxdata/cron turns into '
                                'months that do not exist; not supported' % (cron, item))
        return {index + self.first for index in indexes}


_SECOND = _Field('second', 60, 0, 59)
_MINUTE = _Field('minute', 60, 0, 59)
_HOUR = _Field('hour', 24, 0, 23)
_DOM = _Field('day of month', 31, 1, 31, _DOW_NAMES)    # the library's grammar takes day names here (MON = 1)
_MONTH = _Field('month', 12, 1, 12, _MONTH_NAMES)


def _day_of_week(text, cron):
    values = set()
    for item in text.split(','):
        match = _ITEM_RE.match(item)
        if not match:
            raise ScheduleError('cron %r: %r is not a valid day of week item' % (cron, item))
        base, end_token, step_token = match.groups()
        step = None if step_token is None else int(step_token)
        if step == 0:
            raise ScheduleError('cron %r: the step 0 in %r is not supported' % (cron, item))
        if base == '*':
            start, end = 0, 6
        else:
            start = _value(base, _DOW_NAMES, 'day of week', cron)
            end = 6 if end_token is None else _value(end_token, _DOW_NAMES, 'day of week', cron)
        end = 6 if end == 7 else end
        if start > end or end > 6 or (step or 0) > 7:
            raise ScheduleError('cron %r: %r is not a valid day of week item (0-6, 0 = Sunday; a range must '
                                'not run backwards)' % (cron, item))
        if step is None and (end_token is None and base != '*'):
            values.add(start)
        else:
            # The library keeps the multiples of the step that lie in the range; it does not count from its start.
            values |= {day for day in range(start, end + 1) if day in _steps(step or 1)}
    if not values:
        raise ScheduleError('cron %r: the day of week field %r selects no day' % (cron, text))
    return values


def _years(text, cron):
    if re.match(r'^\*/[0-9]+$', text):
        step = int(text[2:])
        if not 0 < step < 64 or step in (12, 15, 20, 21, 30, 31, 32):
            raise ScheduleError('cron %r: the year step %r is not supported' % (cron, text))
        return set(range(_FIRST_YEAR, 2100, step))
    years = set()
    for item in text.split(','):
        match = re.match(r'^(\*|[0-9]+)(?:-([0-9]+))?$', item)
        if not match:
            raise ScheduleError('cron %r: the year item %r is not supported (expected *, a year, a range of years '
                                'or a lone */n)' % (cron, item))
        if match.group(1) == '*':
            years |= set(range(_FIRST_YEAR, 2100))
            continue
        start = int(match.group(1))
        end = start if match.group(2) is None else int(match.group(2))
        if not (_FIRST_YEAR <= start <= 2099 and _FIRST_YEAR <= end <= 2099):
            raise ScheduleError('cron %r: the year item %r is out of range (1970-2099)' % (cron, item))
        if match.group(2) is not None and start == end:
            years |= set(range(_FIRST_YEAR, 2100))      # the library reads a-a as every year
        elif start < end:
            years |= set(range(start, end + 1))
        elif start not in (2034, 2098):                 # the library cannot store these two as single years
            years.add(start)
    if not years:
        raise ScheduleError('cron %r: the year field %r selects no year' % (cron, text))
    return years


# --------------------------------------------------------------------------- schedules

class Schedule:
    """A task's schedule: ``kind`` is ``every`` or ``cron``, ``expression`` the text it came from, ``offset`` the
    task's offset in seconds (may be negative), ``period`` the grid step in seconds for ``every`` (None for cron).

    ``times(after, before, limit)`` lists the slots (``scheduledFor`` values, offset not added) in a window;
    ``next(after)`` is the first slot strictly after a time; ``is_slot(t)`` says whether ``t`` is a slot.
    """

    kind = None
    period = None

    def __init__(self, expression, offset=0):
        self.expression = expression
        self.offset = offset

    def next(self, after):
        raise NotImplementedError

    def is_slot(self, epoch):
        raise NotImplementedError

    def times(self, after, before, limit=DEFAULT_LIMIT):
        """The slots ``S`` with ``after < S < before`` (both bounds exclusive, as the run listing's ``afterTime`` and
        ``beforeTime``), oldest first, as int seconds since the epoch. Bounds are seconds since the epoch (int or
        float).

        Raises TooManySlots when there are more than ``limit`` of them (None: no limit).
        """
        raise NotImplementedError

    def _too_many(self, limit, after, before):
        return TooManySlots('%s has more than %d scheduled times after %s and before %s'
                            % (self.describe(), limit, epoch_to_rfc3339(after), epoch_to_rfc3339(before)), limit)

    def describe(self):
        text = '%s %r' % (self.kind, self.expression)
        if self.offset:
            text += ' with offset %ds' % self.offset
        return text

    def __repr__(self):
        return 'Schedule(%s)' % self.describe()


class EverySchedule(Schedule):
    """Slots every ``period`` seconds on the grid counted from 0001-01-01T00:00:00Z."""

    kind = 'every'

    def __init__(self, expression, period, offset=0):
        super().__init__(expression, offset)
        self.period = period

    def next(self, after):
        second = int(after // 1)
        return second - (second + GO_ZERO_TIME) % self.period + self.period

    def is_slot(self, epoch):
        return epoch == int(epoch) and (int(epoch) + GO_ZERO_TIME) % self.period == 0

    def times(self, after, before, limit=DEFAULT_LIMIT):
        first = self.next(after)
        count = 0 if first >= before else (int(-(-before // 1)) - 1 - first) // self.period + 1
        if limit is not None and count > limit:
            raise self._too_many(limit, after, before)
        return list(range(first, first + count * self.period, self.period))


class CronSchedule(Schedule):
    """Slots of an influxdata/cron expression (not ``@every``), in UTC."""

    kind = 'cron'

    def __init__(self, expression, fields, last_year, offset=0):
        super().__init__(expression, offset)
        seconds, minutes, hours, doms, months, dows, years = fields
        self.seconds = sorted(seconds)
        self.minutes = sorted(minutes)
        self.hours = sorted(hours)
        self.doms = frozenset(doms)
        self.months = frozenset(months)
        self.dows = frozenset(dows)
        self.years = frozenset(year for year in years if _FIRST_YEAR <= year <= last_year)
        self.last_year = max(self.years) if self.years else 0

    # Days: a day is scheduled when its year, month, day of month AND day of week all match. February 29 is not
    # when an earlier day of that February is scheduled but the 28th is not: the library's search for the next day
    # within a month stops at the 28th of February, and only reaches the 29th from the 28th or from January.
    def _matches(self, year, month, day):
        return (year in self.years and month in self.months and day in self.doms
                and (calendar.weekday(year, month, day) + 1) % 7 in self.dows)

    def _day_scheduled(self, year, month, day):
        if not self._matches(year, month, day):
            return False
        if month == 2 and day == 29 and not self._matches(year, 2, 28):
            return not any(self._matches(year, 2, earlier) for earlier in range(1, 28))
        return True

    def _first_day(self, year, month, day):
        """The first scheduled day on or after (year, month, day), or None; ``day`` may be one past the month's end."""
        while year <= self.last_year:
            if year in self.years and month in self.months:
                for candidate in range(day, calendar.monthrange(year, month)[1] + 1):
                    if self._day_scheduled(year, month, candidate):
                        return year, month, candidate
            month, day = month + 1, 1
            if month == 13:
                year, month = year + 1, 1
        return None

    def _time_after(self, hour, minute, second):
        """The first scheduled time of day strictly after the given one, or None."""
        for hh in self.hours:
            if hh < hour:
                continue
            for mm in self.minutes:
                if hh == hour and mm < minute:
                    continue
                for ss in self.seconds:
                    if hh == hour and mm == minute and ss <= second:
                        continue
                    return hh, mm, ss
        return None

    def next(self, after):
        second = max(int(after // 1), -1)  # no slot before 1970
        year, month, day, hour, minute, sec = time.gmtime(second)[:6]
        clock = self._time_after(hour, minute, sec)
        if clock is not None and self._day_scheduled(year, month, day):
            return calendar.timegm((year, month, day) + clock)
        found = self._first_day(year, month, day + 1)
        if found is None:
            return None
        return calendar.timegm(found + (self.hours[0], self.minutes[0], self.seconds[0]))

    def is_slot(self, epoch):
        return epoch == int(epoch) and self.next(int(epoch) - 1) == int(epoch)

    def times(self, after, before, limit=DEFAULT_LIMIT):
        # Day by day: every scheduled day holds every scheduled time of day.
        clocks = [hh * 3600 + mm * 60 + ss for hh in self.hours for mm in self.minutes for ss in self.seconds]
        slots = []
        first = self.next(after)
        day = None if first is None else time.gmtime(first)[:3]
        while day is not None:
            midnight = calendar.timegm(day + (0, 0, 0))
            if midnight >= before:
                break
            for clock in clocks:
                slot = midnight + clock
                if slot <= after:
                    continue
                if slot >= before:
                    break
                if limit is not None and len(slots) >= limit:
                    raise self._too_many(limit, after, before)
                slots.append(slot)
            day = self._first_day(day[0], day[1], day[2] + 1)
        return slots


# --------------------------------------------------------------------------- parsing

def _cron_every(cron, text):
    """``@every <duration>``: aligned like ``every`` only when the servers can read the duration as Flux."""
    if _duration_parts(text) is None:
        raise ScheduleError('cron %r: %r is not a Flux duration literal; Kapacitor and InfluxDB either refuse it or do '
                            'not align it, and then its scheduled times move with every restart (expected %s)'
                            % (cron, text, _DURATION_EXPECTED))
    period = parse_duration(text, 'cron %r: the duration' % cron)
    if period < 1:
        raise ScheduleError('cron %r: the duration is not positive' % cron)
    return period


def _parse_cron(cron, offset):
    text = cron.strip()
    if text.startswith('@'):
        if text.startswith('@every '):
            return EverySchedule(cron, _cron_every(cron, text[7:].strip()), offset)
        if re.match(r'^@every\s', text):
            raise ScheduleError('cron %r: Kapacitor and InfluxDB align @every only when a space follows it; this '
                                'schedule moves with every restart' % cron)
        macro = text[1:].rstrip()
        if macro not in _MACROS:
            raise ScheduleError('cron %r is not valid: known macros are @yearly, @annually, @monthly, @weekly, '
                                '@daily, @midnight, @hourly, @every_minute, @every_second and @every <duration>'
                                % cron)
        defaults = ([range(60), range(60), range(24), range(1, 32), range(1, 13), range(7)])
        fields = [given if given is not None else default for given, default in zip(_MACROS[macro], defaults)]
        return CronSchedule(cron, fields + [range(_FIRST_YEAR, 2100)], 2099, offset)
    if not _CRON_CHARS_RE.match(text):
        bad = sorted({char for char in text if not (char.isalnum() and char.isascii() or char in '/*,- \t\n\r\f\v')})
        raise ScheduleError('cron %r is not valid in the influxdata/cron dialect: %s not allowed (only digits, '
                            'names, * / , -; no ?, L, W or #)' % (cron, ', '.join(repr(char) for char in bad)))
    words = text.split()
    if len(words) == 5:
        words = ['0'] + words
        last_year = 2097
    elif len(words) == 6:
        last_year = 2097
    elif len(words) == 7:
        last_year = 2099
    else:
        raise ScheduleError('cron %r has %d fields: expected 5 (minute hour day-of-month month day-of-week), 6 (with '
                            'seconds first) or 7 (with seconds first and years last)' % (cron, len(words)))
    fields = [
        _SECOND.parse(words[0], cron), _MINUTE.parse(words[1], cron), _HOUR.parse(words[2], cron),
        _DOM.parse(words[3], cron), _MONTH.parse(words[4], cron), _day_of_week(words[5], cron),
        _years(words[6], cron) if len(words) == 7 else range(_FIRST_YEAR, 2100),
    ]
    _refuse_miscomputed(cron, fields)
    schedule = CronSchedule(cron, fields, last_year, offset)
    if not schedule.years:
        raise ScheduleError('cron %r selects no year the servers can schedule (%d-%d)' % (cron, _FIRST_YEAR, last_year))
    return schedule


def _refuse_miscomputed(cron, fields):
    """Refuse cron schedules whose slots influxdata/cron computes wrongly when it skips months within a year: it
    then keeps the weekday of the month it left, and passes over the month it found when the next day of month at or
    after the current one does not fit in it."""
    months = sorted(fields[4])
    if months[-1] - months[0] + 1 == len(months):
        return
    if len(fields[5]) < 7:
        raise ScheduleError('cron %r restricts the day of week and selects months with a gap between them; '
                            'influxdata/cron computes some of its scheduled times on the wrong weekday, so they '
                            'cannot be reproduced' % cron)
    if min(fields[3]) >= 29:
        raise ScheduleError('cron %r selects only days after the 28th in months with a gap between them; '
                            'influxdata/cron skips some of those months, so its scheduled times cannot be '
                            'reproduced' % cron)


def parse_schedule(every=None, cron=None, offset=None):
    """The Schedule of a task's ``every``/``cron``/``offset`` strings as the API returns them.

    ``cron`` wins over ``every`` when both are set (the servers do the same). Raises ScheduleError with the reason
    when the schedule cannot be enumerated (none given, calendar units, not whole seconds, not the dialect, or a
    cron the library computes wrongly).
    """
    offset_seconds = 0 if offset in (None, '') else parse_duration(offset, 'offset')
    cron_text = '' if cron is None else str(cron)
    every_text = '' if every is None else str(every).strip()
    if cron_text.strip():
        return _parse_cron(cron_text, offset_seconds)
    if every_text:
        if every_text.startswith('-'):
            raise ScheduleError('every %r is not a positive duration' % every_text)
        period = parse_duration(every_text, 'every')
        if period < 1:
            raise ScheduleError('every %r is shorter than 1 second' % every_text)
        return EverySchedule(every_text, period, offset_seconds)
    raise ScheduleError('the task has neither every nor cron')


def parse_task_schedule(task):
    """The Schedule of a task object as the API returns it (keys ``every``, ``cron``, ``offset``).

    Raises ScheduleError with the reason when its scheduled times cannot be enumerated.
    """
    return parse_schedule(every=task.get('every'), cron=task.get('cron'), offset=task.get('offset'))
