# -*- coding: utf-8 -*-
# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one HTTP client of the collection, on ``requests``.

One Session per module run with a pool sized for the module's concurrency. Safe calls (GET) are
retried on connection errors, 429 (honouring ``Retry-After``) and 502/503/504 with jittered, capped
backoff. The retry POST is never re-sent here: its fate, when unknown, is reported as
``AmbiguousRequest`` and the caller decides by listing runs again. Every failure becomes a
``RequestError`` (``_errors``) that names the method, the URL (credentials redacted), the status, the server's
own message (whichever of Kapacitor's three error shapes it came in) and a hint.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import random
import re
import time

from urllib.parse import unquote, urlsplit

REQUESTS_IMPORT_ERROR = None
try:
    import requests
    from requests.adapters import HTTPAdapter
except ImportError:  # pragma: no cover - exercised through missing_required_lib
    import traceback
    requests = None
    HTTPAdapter = object
    REQUESTS_IMPORT_ERROR = traceback.format_exc()

from ansible_collections.tickstack.kapacitor.plugins.module_utils._errors import (
    AmbiguousRequest,
    InputError,
    RateLimited,
    RequestError,
)

API_PREFIX = '/kapacitor/v1/api/v2'
DEFAULT_URL = 'http://localhost:9092'
USER_AGENT = 'tickstack.kapacitor-ansible'
SAFE_RETRIES = 5
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0
RETRY_AFTER_CAP = 60.0


def parse_base_url(url):
    """Split a Kapacitor base URL into (base URL without credentials, username, password).

    Raises InputError for a URL without an http(s) scheme or host, or with a path, query or fragment.
    """
    text = (url or '').strip()
    parts = urlsplit(text)
    example = 'such as https://kapacitor.example.com:9092'
    if parts.scheme not in ('http', 'https') or not parts.hostname:
        raise InputError('url %r is not an http:// or https:// URL with a host name (%s)' % (redact_url(text), example))
    if parts.path not in ('', '/') or parts.query or parts.fragment:
        raise InputError('url %r must be the server\'s base URL without a path, query or fragment (%s); the '
                             'collection adds /kapacitor/v1/api/v2/tasks itself' % (redact_url(text), example))
    try:
        port = parts.port
    except ValueError:
        raise InputError('url %r has an invalid port (%s)' % (redact_url(text), example))
    host = parts.hostname
    if ':' in host:
        host = '[%s]' % host
    base = '%s://%s%s' % (parts.scheme, host, ':%d' % port if port else '')
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    return base, username, password


def redact_url(url):
    """The URL with any user:password removed."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return '<unparsable url>'
    if parts.username is None and parts.password is None:
        return url
    netloc = parts.netloc.rsplit('@', 1)[-1]
    return parts._replace(netloc=netloc).geturl()


def server_message(response):
    """The server's own error message from any of Kapacitor's three error shapes, or a short excerpt."""
    text = response.text or ''
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict):
        # influxdb kit errors: {"code", "message"}; Kapacitor's httpd errors: {"error", "message"}.
        for key in ('message', 'error'):
            if isinstance(body.get(key), str) and body.get(key):
                return body[key]
    snippet = ' '.join(text.split())[:200]
    return snippet or '(empty body)'


def is_kapacitor_error_body(response):
    try:
        body = json.loads(response.text or '')
    except ValueError:
        return False
    return isinstance(body, dict) and ('code' in body or 'error' in body) and 'message' in body


def hint_for_status(status, message, response=None):
    """What to do about an HTTP error status (``response``, when given, tells Kapacitor's bodies from others')."""
    if status == 401:
        return ('Kapacitor rejected the credentials: set username and password (KAPACITOR_USERNAME, '
                'KAPACITOR_PASSWORD) or token (KAPACITOR_TOKEN) for a user Kapacitor accepts')
    if status == 403:
        return 'The user is authenticated but lacks the privilege for this endpoint: grant it in Kapacitor\'s auth settings'
    if status == 404 and message == 'Not Found':
        return ('Kapacitor answered its generic 404 for the Flux task API: the API is disabled on this server. Set '
                '[fluxtask] enabled = true in kapacitor.conf and restart Kapacitor')
    if status == 404 and response is not None and not is_kapacitor_error_body(response):
        return 'The server does not look like Kapacitor: check url (KAPACITOR_URL)'
    if status == 429:
        return 'Kapacitor or a proxy is rate limiting: try again later or lower the concurrency'
    if status in (502, 503, 504):
        return 'A proxy or Kapacitor is unavailable: check that Kapacitor is running and reachable'
    if status >= 500:
        return ('The server failed to handle the request: see Kapacitor\'s log (or the log of a proxy in front of it) '
                'and check url (KAPACITOR_URL)')
    return None


def _hint_for_exception(exc, base_url):
    text = str(exc)
    if requests is not None and isinstance(exc, requests.exceptions.SSLError):
        if 'WRONG_VERSION_NUMBER' in text or 'record layer failure' in text:
            return 'The server does not speak TLS on this port: use http:// instead of https://'
        if 'CERTIFICATE_VERIFY_FAILED' in text or 'certificate verify failed' in text:
            return ('TLS certificate verification failed: set ca_path to the CA bundle that signed the server '
                    'certificate, or validate_certs: false (KAPACITOR_UNSAFE_SSL=true) to skip the check (insecure)')
        lower = text.lower()
        # TLS 1.3 clients see the server's "certificate required" alert, or only an EOF, depending on timing.
        if any(marker in lower for marker in ('certificate required', 'alert', 'handshake', 'eof occurred',
                                              'unexpected eof')):
            return ('The TLS handshake failed; the server may require a client certificate: set client_cert and '
                    'client_key')
        return 'The TLS connection failed: check ca_path, client_cert/client_key and that url uses the right scheme'
    if 'Connection refused' in text or 'Errno 111' in text:
        return 'Nothing listens at %s: check url (KAPACITOR_URL) and that Kapacitor is running' % base_url
    if 'Name or service not known' in text or 'nodename nor servname' in text or 'Temporary failure in name' in text:
        return 'The host name does not resolve: check url (KAPACITOR_URL)'
    if requests is not None and isinstance(exc, requests.exceptions.Timeout):
        return 'Kapacitor did not answer in time: check the server, or raise timeout'
    if 'RemoteDisconnected' in text and base_url.startswith('http://'):
        return ('The server closed the connection without answering: if it serves HTTPS, use https:// in url; '
                'otherwise check url (KAPACITOR_URL) and the network path to Kapacitor')
    return 'Check url (KAPACITOR_URL) and the network path to Kapacitor'


def _short_exception(exc):
    """A one-line description of a requests exception: urllib3's wrapper objects and pool reprs removed."""
    inner = exc.args[0] if exc.args else exc
    inner = getattr(inner, 'reason', None) or inner
    args = getattr(inner, 'args', ())
    if len(args) == 2 and isinstance(args[1], BaseException):
        text = '%s: %s' % (str(args[0]).rstrip('.'), args[1])  # ProtocolError('Connection aborted.', OSError)
    else:
        text = str(inner)
    text = re.sub(r"^\w+\([^)]*\): ", '', text)  # "HTTPConnection(host='h', port=1): ..."
    return ' '.join(text.split())[:300] or exc.__class__.__name__


class KapacitorClient:
    """Talks to one Kapacitor's Flux task API."""

    def __init__(self, url=None, username=None, password=None, token=None, validate_certs=True, ca_path=None,
                 client_cert=None, client_key=None, timeout=30.0, pool_size=10, sleep=time.sleep):
        self.base_url, url_user, url_password = parse_base_url(url or DEFAULT_URL)
        self.timeout = float(timeout)
        self._sleep = sleep
        session = requests.Session()
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=max(4, pool_size), max_retries=0)
        session.mount('http://', adapter)
        session.mount('https://', adapter)
        session.headers['User-Agent'] = USER_AGENT
        session.headers['Accept'] = 'application/json'
        if token:
            session.headers['Authorization'] = 'Bearer %s' % token
        elif username or url_user:
            if username:
                session.auth = (username, password or '')
            else:
                session.auth = (url_user, url_password or '')
        # Passed with every request: a session-level ``verify`` loses to REQUESTS_CA_BUNDLE in the environment.
        self.verify = ca_path if (ca_path and validate_certs) else bool(validate_certs)
        self.cert = ((client_cert, client_key) if client_key else client_cert) if client_cert else None
        self.session = session

    # ------------------------------------------------------------------ transport

    def _url(self, path):
        return self.base_url + API_PREFIX + path

    def _send(self, method, path, params, timeout):
        url = self._url(path)
        try:
            return self.session.request(method, url, params=params, timeout=timeout, allow_redirects=False,
                                        verify=self.verify, cert=self.cert)
        except requests.exceptions.RequestException as exc:
            never_sent = _never_sent(exc)
            error_cls = AmbiguousRequest if method != 'GET' and not never_sent else RequestError
            # Worth another try for a safe call: a reset or dropped connection, not a refusal or a TLS failure.
            # A timeout is not retried either: the user's timeout bounds how long a call may hang.
            transient = not (never_sent or isinstance(exc, (requests.exceptions.SSLError, requests.exceptions.Timeout)))
            raise error_cls(_short_exception(exc), method=method, url=url, hint=_hint_for_exception(exc, self.base_url),
                            sent=not never_sent, transient=transient)

    def _error(self, method, response):
        message = server_message(response)
        status = response.status_code
        return RequestError('HTTP %d: %s' % (status, message), method=method, url=redact_url(response.url),
                            status=status, server_message=message, hint=hint_for_status(status, message, response))

    def get(self, path, params=None):
        """GET a JSON object, retrying connection errors, 429 and 502/503/504 with backoff."""
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._send('GET', path, params, self.timeout)
            except RequestError as exc:
                if attempt > SAFE_RETRIES or not exc.transient:
                    raise
                self._sleep(self._backoff(attempt))
                continue
            status = response.status_code
            if status in (429, 502, 503, 504) and attempt <= SAFE_RETRIES:
                delay = self._backoff(attempt)
                if status == 429:
                    delay = max(delay, _retry_after(response))
                self._sleep(delay)
                continue
            if status != 200:
                raise self._error('GET', response)
            return self._json(response, 'GET')

    def post(self, path, timeout):
        """POST once and return ``(status, body or None, server message or None)``; never re-sent.

        Raises RateLimited for a 429 (nothing was done; the caller decides whether and when to send again)."""
        response = self._send('POST', path, None, (min(self.timeout, 30.0), timeout))
        if response.status_code == 429:
            message = server_message(response)
            raise RateLimited('HTTP 429: %s' % message, _retry_after(response), method='POST', url=redact_url(response.url),
                              status=429, server_message=message, hint=hint_for_status(429, message, response))
        if 200 <= response.status_code < 300:
            return response.status_code, self._json(response, 'POST'), None
        return response.status_code, None, server_message(response)

    def _json(self, response, method):
        try:
            body = response.json()
        except ValueError:
            kind = response.headers.get('Content-Type', 'no content type')
            text = 'HTTP %d with a body that is not JSON (%s): %s' % (response.status_code, kind, server_message(response))
            raise RequestError(text,
                               method=method, url=redact_url(response.url), status=response.status_code,
                                 hint='The server does not look like Kapacitor\'s Flux task API (a proxy\'s page?): '
                                      'check url (KAPACITOR_URL)')
        if not isinstance(body, dict):
            raise RequestError('HTTP %d with JSON that is not an object' % response.status_code, method=method,
                                 url=redact_url(response.url), status=response.status_code,
                                 hint='The server does not look like Kapacitor\'s Flux task API: check url')
        return body

    @staticmethod
    def _backoff(attempt):
        ceiling = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** (attempt - 1)))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    # ------------------------------------------------------------------ endpoints

    def _expect_list(self, body, key, path):
        value = body.get(key)
        if not isinstance(value, list):
            raise RequestError('the answer has no %r list, so it is not what Kapacitor sends' % key, method='GET',
                                 url=self._url(path), status=200,
                                 hint='Check that url (KAPACITOR_URL) points at Kapacitor 1.6 or later')
        return value

    def get_task(self, task_id):
        """The task object, or None when Kapacitor says it does not exist."""
        path = '/tasks/%s' % task_id
        try:
            return self.get(path)
        except RequestError as exc:
            if exc.status == 404 and 'task not found' in (exc.server_message or ''):
                return None
            raise

    def list_tasks_page(self, limit, after=None, status=None, name=None):
        params = {'limit': limit}
        if after:
            params['after'] = after
        if status:
            params['status'] = status
        if name is not None:
            params['name'] = name
        return self._expect_list(self.get('/tasks', params), 'tasks', '/tasks')

    def list_runs_page(self, task_id, params):
        path = '/tasks/%s/runs' % task_id
        return self._expect_list(self.get(path, params), 'runs', path)

    def retry_run(self, task_id, run_id, timeout):
        return self.post('/tasks/%s/runs/%s/retry' % (task_id, run_id), timeout)


def _never_sent(exc):
    """True when the request certainly never reached the server (nothing listening, connect timeout)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    text = str(exc)
    return 'Connection refused' in text or 'Errno 111' in text or 'Name or service not known' in text


def _retry_after(response):
    value = response.headers.get('Retry-After', '')
    try:
        return min(RETRY_AFTER_CAP, max(0.0, float(value)))
    except ValueError:
        return 1.0
