"""Routing inside the task API with httprouter's semantics: routes, redirects, 405s (docs/kapacitor-api.md,
"Endpoint table")."""

from urllib.parse import quote

from .constants import TASKS_PREFIX
from .encoding import Response

ROUTES = [
    ((), ('GET', 'POST')),
    ((':id',), ('GET', 'PATCH', 'DELETE')),
    ((':id', 'logs'), ('GET',)),
    ((':id', 'runs'), ('GET', 'POST')),
    ((':id', 'runs', ':rid'), ('GET', 'DELETE')),
    ((':id', 'runs', ':rid', 'logs'), ('GET',)),
    ((':id', 'runs', ':rid', 'retry'), ('POST',)),
]
ROUTER_METHODS = {'GET', 'POST', 'PATCH', 'DELETE'}


def match_route(segments, case_insensitive=False):
    """Returns (pattern, params, canonical segments) or None."""
    for pattern, methods in ROUTES:
        if len(pattern) != len(segments):
            continue
        params, canonical = {}, []
        for want, got in zip(pattern, segments):
            if want.startswith(':'):
                if not got:
                    break
                params[want[1:]] = got
                canonical.append(got)
            elif want == got or (case_insensitive and want == got.lower()):
                canonical.append(want)
            else:
                break
        else:
            return pattern, methods, params, canonical
    return None


def route_template(method, pattern):
    return '%s /api/v2/tasks%s' % (method, ''.join('/' + part for part in pattern))


HANDLERS = {
    ((), 'GET'): 'list_tasks', ((), 'POST'): 'create_task',
    ((':id',), 'GET'): 'get_task', ((':id',), 'PATCH'): 'update_task', ((':id',), 'DELETE'): 'delete_task',
    ((':id', 'logs'), 'GET'): 'task_logs',
    ((':id', 'runs'), 'GET'): 'list_runs', ((':id', 'runs'), 'POST'): 'force_run',
    ((':id', 'runs', ':rid'), 'GET'): 'get_run', ((':id', 'runs', ':rid'), 'DELETE'): 'cancel_run',
    ((':id', 'runs', ':rid', 'logs'), 'GET'): 'run_logs',
    ((':id', 'runs', ':rid', 'retry'), 'POST'): 'retry_run',
}


def has_handler(segments, method):
    matched = match_route(tuple(segments))
    return bool(matched) and method in matched[1]


def fixed_path(segments, method):
    """httprouter RedirectFixedPath: case-insensitive static segments, optionally without a trailing slash."""
    for candidate in (tuple(segments), tuple(segments[:-1]) if segments and segments[-1] == '' else None):
        if candidate is None:
            continue
        matched = match_route(candidate, case_insensitive=True)
        if matched and method in matched[1] and (tuple(matched[3]) != tuple(segments)):
            return matched[3]
    return None


def join_task_path(segments):
    return TASKS_PREFIX + ''.join('/' + quote(part, safe='') for part in segments)


def clean_path(path):
    """Go's path.Clean as used by Kapacitor's mux (keeps a trailing slash)."""
    if not path:
        return '/'
    parts = []
    for part in path.split('/'):
        if part in ('', '.'):
            continue
        if part == '..':
            if parts:
                parts.pop()
            continue
        parts.append(part)
    cleaned = '/' + '/'.join(parts)
    if path.endswith('/') and cleaned != '/':
        cleaned += '/'
    return cleaned


def redirect_response(code, location, method):
    """http.Redirect: HTML body only for GET/HEAD."""
    headers = [('Location', location)]
    body = b''
    if method in ('GET', 'HEAD'):
        headers.append(('Content-Type', 'text/html; charset=utf-8'))
        body = ('<a href="%s">%s</a>.\n\n' % (location, 'Moved Permanently' if code == 301 else 'Permanent Redirect')).encode()
    return Response(code, body, headers)
