"""Go-compatible encoding: JSON bodies, error bodies, times and Go's parse error texts (docs/kapacitor-api.md,
"Errors" and "Data shapes")."""

import json
import re
import time
from datetime import datetime, timezone

from .constants import NS


class APIError(Exception):
    """An influxdb platform error: rendered as {"code","message"} (kapacitor-api.md §5.1)."""

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
    """Every decode error is wrapped with code invalid, whatever the inner code (kapacitor-api.md §5.1)."""
    return APIError('invalid', 'failed to decode request: ' + inner)


def go_json(obj):
    """Encode like Go's json.Encoder: compact, UTF-8, HTML-escaped, trailing newline (kapacitor-api.md §2)."""
    return go_marshal(obj) + b'\n'


def go_marshal(obj):
    """Encode like Go's json.Marshal (no trailing newline)."""
    text = json.dumps(obj, ensure_ascii=False, separators=(',', ':'))
    text = text.replace('<', '\\u003c').replace('>', '\\u003e').replace('&', '\\u0026')
    text = text.replace('\u2028', '\\u2028').replace('\u2029', '\\u2029')
    return text.encode('utf-8')


def go_quote(text):
    """Approximates Go's %q / strconv.Quote for the strings that appear in messages."""
    return json.dumps(text, ensure_ascii=False)


def format_time(ns, nanos=True):
    """Go time.Time JSON (RFC3339Nano, trailing zeros trimmed) or RFC3339 seconds, in UTC."""
    secs, frac = divmod(ns, NS)
    base = datetime.fromtimestamp(secs, timezone.utc).strftime('%Y-%m-%dT%H:%M:%S')
    if nanos and frac:
        return base + '.' + ('%09d' % frac).rstrip('0') + 'Z'
    return base + 'Z'


def now_ns():
    return time.time_ns()


_RFC3339_LAYOUT = '2006-01-02T15:04:05Z07:00'


def parse_rfc3339(value):
    """time.Parse(time.RFC3339, v) with Go's error texts (approximated); returns ns since the epoch."""
    pos = 0
    fields = {}

    def fail(rest_at, elem):
        raise ValueError('parsing time %s as "%s": cannot parse %s as "%s"' % (go_quote(value), _RFC3339_LAYOUT, go_quote(value[rest_at:]), elem))

    def number(name, width, elem):
        nonlocal pos
        chunk = value[pos:pos + width]
        if len(chunk) != width or not chunk.isdigit():
            fail(pos, elem)
        fields[name] = int(chunk)
        pos += width

    def literal(text):
        nonlocal pos
        if not value.startswith(text, pos):
            fail(pos, text)
        pos += len(text)

    number('year', 4, '2006')
    literal('-')
    number('month', 2, '01')
    literal('-')
    number('day', 2, '02')
    literal('T')
    number('hour', 2, '15')
    literal(':')
    number('minute', 2, '04')
    literal(':')
    number('second', 2, '05')
    frac_ns = 0
    match = re.compile(r'[.,](\d+)').match(value, pos)
    if match:
        frac_ns = int((match.group(1) + '000000000')[:9])
        pos = match.end()
    if value.startswith('Z', pos):
        offset, pos = 0, pos + 1
    else:
        match = re.compile(r'([+-])(\d\d):(\d\d)').match(value, pos)
        if not match:
            fail(pos, 'Z07:00')
        offset = (int(match.group(2)) * 60 + int(match.group(3))) * 60 * (1 if match.group(1) == '+' else -1)
        pos = match.end()
    for name, low, high in (('month', 1, 12), ('hour', 0, 23), ('minute', 0, 59), ('second', 0, 59)):
        if not low <= fields[name] <= high:
            raise ValueError('parsing time %s: %s out of range' % (go_quote(value), name))
    if pos != len(value):
        raise ValueError('parsing time %s: extra text: %s' % (go_quote(value), go_quote(value[pos:])))
    try:
        stamp = datetime(fields['year'], fields['month'], fields['day'], fields['hour'], fields['minute'], fields['second'], tzinfo=timezone.utc)
    except ValueError:
        raise ValueError('parsing time %s: day out of range' % go_quote(value)) from None
    return (int(stamp.timestamp()) - offset) * NS + frac_ns


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
    return Response(status, go_json(obj), [('Content-Type', 'application/json; charset=utf-8')])


def error_response(err):
    """influxdb WriteErrorResponse: compact, no newline, X-Platform-Error-Code (kapacitor-api.md §5.1)."""
    body = go_marshal({'code': err.code, 'message': err.message})
    return Response(err.status, body, [('Content-Type', 'application/json; charset=utf-8'), ('X-Platform-Error-Code', err.code)])


def kapacitor_error(status, message, pretty=False):
    """Kapacitor's HttpError {"error","message"} (kapacitor-api.md §7)."""
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
