"""The ``option task = {...}`` block of a Flux script: read and rewrite name/every/cron/offset."""

import json
import re

from .encoding import APIError

_OPTION_BLOCK = re.compile(r'option\s+task\s*=\s*\{(?P<body>[^{}]*)\}')
_OPTION_ITEM = re.compile(r'\s*(?P<key>[A-Za-z_]\w*)\s*:\s*(?P<value>"(?:[^"\\]|\\.)*"|[^,]+?)\s*(?:,|$)', re.S)


def parse_task_options(flux):
    """Extract name/every/cron/offset from ``option task = {...}`` (docs/kapacitor-api.md §3.1 / §4.2)."""
    match = _OPTION_BLOCK.search(flux or '')
    if not match:
        raise APIError('invalid', 'invalid options: no task options defined')
    options = {}
    for item in _OPTION_ITEM.finditer(match.group('body')):
        value = item.group('value').strip()
        if value.startswith('"'):
            value = json.loads(value)
        options[item.group('key')] = value
    if not options.get('name'):
        raise APIError('invalid', 'invalid options: missing required option: name')
    if bool(options.get('every')) == bool(options.get('cron')):
        raise APIError('invalid', 'invalid options: must specify exactly one of either cron or every')
    return options


def render_option_value(key, value):
    return json.dumps(value) if key in ('name', 'cron') else str(value)


def rewrite_task_options(flux, updates):
    """Write name/every/cron/offset updates into the Flux option block (docs/kapacitor-api.md §4.3); empty string deletes."""
    options = parse_task_options(flux)
    for key, value in updates.items():
        if key == 'every' and value:
            options.pop('cron', None)
        if key == 'cron' and value:
            options.pop('every', None)
        if value in ('', None):
            options.pop(key, None)
        else:
            options[key] = value
    body = ', '.join('%s: %s' % (key, render_option_value(key, value)) for key, value in options.items())
    return _OPTION_BLOCK.sub(lambda _m: 'option task = {%s}' % body, flux, count=1)


def default_flux(name, every=None, cron=None, offset=None):
    """A plausible task script for scenario tasks that give no ``flux``."""
    schedule = 'cron: %s' % json.dumps(cron) if cron else 'every: %s' % (every or '1m')
    if offset:
        schedule += ', offset: %s' % offset
    return ('option task = {name: %s, %s}\n\nfrom(bucket: "telegraf/autogen")\n    |> range(start: -1h)\n'
            '    |> filter(fn: (r) => r._measurement == "cpu")\n    |> aggregateWindow(every: 1m, fn: mean)\n'
            '    |> to(bucket: "rollups/autogen")\n' % (json.dumps(name), schedule))
