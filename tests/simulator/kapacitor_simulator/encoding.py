"""Go-compatible encoding: JSON bodies, error bodies, times and Go's parse error texts (docs/kapacitor-api.md,
"Errors" and "Data shapes")."""

import functools
import json
import re
import time
from datetime import datetime, timezone

from .constants import NS


class APIError(Exception):
    """An influxdb platform error: rendered as {"code","message"} (docs/kapacitor-api.md §5.1)."""

    STATUS = {'internal error': 500, 'not implemented': 501, 'not found': 404, 'conflict': 422, 'invalid': 400,
              'unprocessable entity': 422, 'empty value': 400, 'unavailable': 503, 'forbidden': 403,
              'too many requests': 429, 'unauthorized': 401, 'method not allowed': 405, 'request too large': 413}

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def status(self):
        return self.STATUS.get(self.code, 500)


def decode_error(inner):
    """Every decode error is wrapped with code invalid, whatever the inner code (docs/kapacitor-api.md §5.1)."""
    return APIError('invalid', 'failed to decode request: ' + inner)


def go_json(obj):
    """Encode like Go's json.Encoder: compact, UTF-8, HTML-escaped, trailing newline (docs/kapacitor-api.md §2)."""
    return go_marshal(obj) + b'\n'


def go_marshal(obj):
    """Encode like Go's json.Marshal (no trailing newline)."""
    text = json.dumps(obj, ensure_ascii=False, separators=(',', ':'))
    text = text.replace('<', '\\u003c').replace('>', '\\u003e').replace('&', '\\u0026')
    text = text.replace('\u2028', '\\u2028').replace('\u2029', '\\u2029')
    return text.encode('utf-8')


@functools.lru_cache(maxsize=1024)
def go_string(text):
    """go_marshal of one string, as text. (Cached: the runs of a task share their log messages.)"""
    return go_marshal(text).decode('utf-8')


@functools.lru_cache(maxsize=256)
def go_quote(text):
    """Approximates Go's %q / strconv.Quote for the strings that appear in messages. (Cached: every listing quotes
    each run's Flux script again, and a task's runs share it.)"""
    return json.dumps(text, ensure_ascii=False)


@functools.lru_cache(maxsize=64)
def _day_text(days):
    return datetime.fromtimestamp(days * 86400, timezone.utc).strftime('%Y-%m-%dT')


@functools.lru_cache(maxsize=1024)
def _second_text(secs):
    """RFC3339 up to the seconds, for seconds since the epoch. (Cached: a run's times are mostly in one second.)"""
    days, rest = divmod(secs, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    return '%s%02d:%02d:%02d' % (_day_text(days), hours, minutes, seconds)


def format_time(ns, nanos=True):
    """Go time.Time JSON (RFC3339Nano, trailing zeros trimmed) or RFC3339 seconds, in UTC.

    Every listing formats every time of every run it returns, so this is the simulator's hottest function: the
    date and time of day come from small caches (a scenario spans a few days; a run's times share a second)."""
    secs, frac = divmod(ns, NS)
    if nanos and frac:
        return _second_text(secs) + '.' + ('%09d' % frac).rstrip('0') + 'Z'
    return _second_text(secs) + 'Z'


# How far the simulated server's clock is from this host's (--clock-offset): a server whose clock is behind or ahead
# of the controller's, as one without NTP drifts. Every time the simulator uses comes from now_ns().
CLOCK_OFFSET_NS = 0


def now_ns():
    return time.time_ns() + CLOCK_OFFSET_NS


RFC3339 = '2006-01-02T15:04:05Z07:00'
# Go's time.Parse walks its layout element by element; for RFC3339: (literal before, element, its kind).
_RFC3339_ELEMENTS = ((b'', '2006', 'year'), (b'-', '01', 'month'), (b'-', '02', 'day'), (b'T', '15', 'hour'),
                     (b':', '04', 'minute'), (b':', '05', 'second'), (b'', 'Z07:00', 'zone'))


def go_time_quote(raw):
    """The quote() of Go's time package (bytes in): printable ASCII kept, double quote and backslash escaped with a
    backslash, every byte of any other rune written as a backslash, x and two lowercase hex digits."""
    out = ['"']
    for char in raw.decode('utf-8', 'surrogateescape'):
        code = ord(char)
        if code >= 0x80 or code < 0x20:
            out.extend('\\x%02x' % byte for byte in char.encode('utf-8', 'surrogateescape'))
        else:
            out.append('\\' + char if char in '"\\' else char)
    out.append('"')
    return ''.join(out)


def _getnum(value, fixed):
    """time.getnum: one or two digits (two when ``fixed``); (None, value) when there are none."""
    if value[:1].isdigit():
        if value[1:2].isdigit():
            return int(value[:2]), value[2:]
        if not fixed:
            return int(value[:1]), value[1:]
    return None, value


def _days_in(month, year):
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _days_from_civil(year, month, day):
    """Days since 1970-01-01 of a proleptic Gregorian date (any year, 0 included)."""
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


def parse_rfc3339(text):
    """time.Parse(time.RFC3339, text) with Go's exact error texts; returns ns since the epoch.

    Follows ``parse`` in Go's src/time/format.go (the fast RFC3339 path only accepts, never explains): each element
    is parsed in turn; a range error ("month", "hour", "minute", "second", "time zone offset hour/minute") is reported
    at once as ``parsing time "V": month out of range``; a syntax error as ``parsing time "V" as "2006-01-02T15:04:05Z07:00":
    cannot parse "REST" as "ELEMENT"`` where REST is the input from that element on; then leftover input
    (``: extra text: "REST"``) and the day of the month (``: day out of range``). Like Go, it accepts a one-digit hour,
    a fraction after a comma, and offsets up to +24:60.
    """
    original = value = text.encode('utf-8', 'surrogateescape')
    fields = {}

    def cannot_parse(element, rest):
        return ValueError('parsing time %s as %s: cannot parse %s as %s'
                          % (go_time_quote(original), go_time_quote(RFC3339.encode()), go_time_quote(rest), go_time_quote(element.encode())))

    def failure(message):
        return ValueError('parsing time %s%s' % (go_time_quote(original), message))

    nsec = offset = 0
    for literal, element, kind in _RFC3339_ELEMENTS:
        if literal:
            if not value.startswith(literal):
                raise cannot_parse(literal.decode(), value)
            value = value[len(literal):]
        hold, bad, out_of_range = value, False, None
        if kind == 'year':
            bad = len(value) < 4 or not value[:4].isdigit()
            if not bad:
                fields[kind], value = int(value[:4]), value[4:]
        elif kind == 'zone':
            if value[:1] == b'Z':
                value = value[1:]
            elif len(value) < 6 or value[3:4] != b':':
                bad = True
            else:
                sign, hours, minutes, value = value[:1], value[1:3], value[4:6], value[6:]
                hours, dummy = _getnum(hours, True)
                minutes, dummy = _getnum(minutes, True) if hours is not None else (None, None)
                bad = minutes is None
                if (hours or 0) > 24:
                    out_of_range = 'time zone offset hour'
                if (minutes or 0) > 60:
                    out_of_range = 'time zone offset minute'
                offset = ((hours or 0) * 60 + (minutes or 0)) * 60 * (-1 if sign == b'-' else 1)
                bad = bad or sign not in (b'+', b'-')
        else:
            number, value = _getnum(value, kind != 'hour')
            bad = number is None
            fields[kind] = number
            limit = {'month': 12, 'hour': 23, 'minute': 59, 'second': 59}.get(kind)
            if number is not None and limit is not None and (number > limit or (kind == 'month' and number == 0)):
                out_of_range = kind
            elif kind == 'second' and not bad and len(value) >= 2 and value[:1] in (b'.', b',') and value[1:2].isdigit():
                end = 2
                while value[end:end + 1].isdigit():
                    end += 1
                digits = value[1:min(end, 10)]
                nsec = int(digits) * 10 ** (9 - len(digits))
                value = value[end:]
        if out_of_range:
            raise failure(': %s out of range' % out_of_range)
        if bad:
            raise cannot_parse(element, hold)
    if value:
        raise failure(': extra text: %s' % go_time_quote(value))
    year, month, day = fields['year'], fields['month'], fields['day']
    if not 1 <= day <= _days_in(month, year):
        raise failure(': day out of range')
    seconds = _days_from_civil(year, month, day) * 86400 + fields['hour'] * 3600 + fields['minute'] * 60 + fields['second']
    return (seconds - offset) * NS + nsec


def go_atoi(text):
    """strconv.Atoi with Go's error messages."""
    if not re.fullmatch(r'[+-]?\d+', text):
        raise ValueError('strconv.Atoi: parsing %s: invalid syntax' % go_quote(text))
    number = int(text)
    if not -(1 << 63) <= number < (1 << 63):
        raise ValueError('strconv.Atoi: parsing %s: value out of range' % go_quote(text))
    return number


class Response:
    __slots__ = ('status', 'headers', 'body')

    def __init__(self, status, body=b'', headers=None):
        self.status = status
        self.body = body
        self.headers = headers or []


def json_response(status, obj):
    return encoded_json_response(status, go_json(obj))


def encoded_json_response(status, body):
    """A JSON answer whose body is already encoded (go_json's bytes, or a listing spliced from them)."""
    return Response(status, body, [('Content-Type', 'application/json; charset=utf-8')])


def error_response(err):
    """influxdb WriteErrorResponse: compact, no newline, X-Platform-Error-Code (docs/kapacitor-api.md §5.1)."""
    body = go_marshal({'code': err.code, 'message': err.message})
    return Response(err.status, body, [('Content-Type', 'application/json; charset=utf-8'), ('X-Platform-Error-Code', err.code)])


def kapacitor_error(status, message, pretty=False):
    """Kapacitor's HttpError {"error","message"} (docs/kapacitor-api.md §7)."""
    if pretty:
        body = json.dumps({'error': message, 'message': message}, indent=4).encode()
    else:
        body = go_marshal({'error': message, 'message': message})
    return Response(status, body, [('Content-Type', 'application/json; charset=utf-8')])


def go_json_type(value):
    return {bool: 'bool', int: 'number', float: 'number', str: 'string', list: 'array', dict: 'object'}.get(type(value), 'null')


def json_error_text(raw):
    text = raw.decode('utf-8', 'replace').strip()
    if not text:
        return 'EOF'
    if text[0] not in '{["-0123456789tfn':
        return 'invalid character %s looking for beginning of value' % ("'%s'" % text[0])
    return 'unexpected EOF'
