# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one HTTP client of the collection, on ``urllib3``, for the Flux task API of Kapacitor and of InfluxDB 2.

The server type is given (``server_type``) or told by one ``GET {base}/ping`` (``detect``); it decides the API
prefix, the authorization scheme of a token, the org scoping of the task listing and the run history horizon.
One connection pool per module run (and per TLS verification setting), sized for the module's concurrency: urllib3
directly, as ``requests`` on top of it cost about half again as much CPU per request (``docs/performance.md``).
Safe calls (GET) are retried on connection errors, 429 and 502/503/504 with jittered, capped backoff (429 and 503
honouring ``Retry-After``). The retry POST is never re-sent here: its fate, when unknown, is reported as
``AmbiguousRequest`` and the caller decides by listing runs again. Every failure becomes a ``RequestError``
(``_errors``) that names the method, the URL (credentials redacted), the status, the server's own message (whichever
of Kapacitor's three error shapes, or InfluxDB's one, it came in) and a hint; a transport failure of a request sent
through a proxy (from ``HTTP(S)_PROXY``, unless ``use_proxy`` is false) names the proxy.
"""


import base64
import email.utils
import ipaddress
import json
import os
import random
import re
import socket
import ssl
import threading
import time
from urllib.parse import unquote, urlencode, urlsplit
from urllib.request import getproxies, proxy_bypass

from ansible_collections.tickstack.kapacitor.plugins.module_utils._errors import (
    AmbiguousRequest,
    InputError,
    RateLimited,
    RequestError,
    ServerUnreachable,
)
from ansible_collections.tickstack.kapacitor.plugins.module_utils._runs import HORIZON_SECONDS, PRODUCTS, SERVER_TYPES, runs_block
from ansible_collections.tickstack.kapacitor.plugins.module_utils._urls import REDACTED, parse_base_url, redact_url, url_secrets

URLLIB3_IMPORT_ERROR = None
try:
    import urllib3
except ImportError:  # pragma: no cover - exercised through missing_required_lib
    import traceback
    urllib3 = None
    URLLIB3_IMPORT_ERROR = traceback.format_exc()

# The Flux task API after the base URL (and its path prefix), and the ping the circuit breaker sends, per type.
API_PREFIXES = {'kapacitor': '/kapacitor/v1/api/v2', 'influxdb2': '/api/v2'}
PING_PATHS = {'kapacitor': '/kapacitor/v1/ping', 'influxdb2': '/ping'}
# The one request of detection: InfluxDB's ping, which Kapacitor answers with a 404 that carries its version header.
DETECT_PATH = '/ping'
DEFAULT_URLS = {'kapacitor': 'http://localhost:9092', 'influxdb2': 'http://localhost:8086'}
DEFAULT_URL = DEFAULT_URLS['kapacitor']
# InfluxDB keeps run history in the org's _tasks bucket, 3 days unless its retention was changed; when the bucket
# cannot be read, this is the horizon. Its reader never looks back further than Kapacitor's 14 days either.
INFLUX_DEFAULT_HORIZON = 3 * 24 * 3600
URL_ENVS = {'kapacitor': 'KAPACITOR_URL', 'influxdb2': 'INFLUX_HOST', None: 'KAPACITOR_URL or INFLUX_HOST'}
SKIP_VERIFY_ENVS = {'kapacitor': 'KAPACITOR_UNSAFE_SSL=true', 'influxdb2': 'INFLUX_SKIP_VERIFY=true',
                    None: 'KAPACITOR_UNSAFE_SSL=true for Kapacitor, INFLUX_SKIP_VERIFY=true for InfluxDB'}
USER_AGENT = 'tickstack.kapacitor-ansible'
SAFE_RETRIES = 5  # the default of http_retries
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0
RETRY_AFTER_CAP = 60.0
# The server's clock counts as apart from this host's when the two differ by more than this (the Date header's
# 1-second steps, and a request's latency): see server_time.
CLOCK_SLACK = 2.0
# The circuit breaker: after this many connection-level failures in a row (no HTTP answer in between), one ping
# decides whether the server is gone; if the ping gets no answer either, nothing more is sent in this module run.
BREAKER_THRESHOLD = 3
PING_TIMEOUT = 5.0

_TOKEN = re.compile(r'^[\x21-\x7e]+$')
_ORG_ID = re.compile(r'^[0-9a-fA-F]{16}$')


# What messages call a credential that came from the environment, per server type (the module reads them: _module.py).
ENV_CREDENTIALS = {'kapacitor': ('KAPACITOR_USERNAME', 'KAPACITOR_TOKEN'), 'influxdb2': ('username', 'INFLUX_TOKEN')}


def check_credentials(username, token, names=('username', 'token')):
    """Raise InputError for credentials that HTTP cannot carry (never quoting them); ``names`` are what the message
    calls the username and the token (an option, or an environment variable)."""
    if username is not None and ':' in username:
        raise InputError('%s must not contain ":" (HTTP basic authentication cannot carry it)' % names[0])
    if token is not None and not _TOKEN.match(token):
        raise InputError('%s holds spaces, line breaks or non-ASCII characters: expected a JSON Web Token '
                         "(three base64url parts joined by dots) signed with Kapacitor's [http] shared-secret, or an "
                         'InfluxDB API token' % names[1])


def server_message(response):
    """The server's own error message from any of Kapacitor's three error shapes (InfluxDB's is one of them), or a
    short excerpt; for an HTML page, its title."""
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
    title = _HTML_TITLE.search(text) if 'html' in response.headers.get('Content-Type', '').lower() else None
    if title and title.group(1).strip():
        return 'an HTML page titled %r' % ' '.join(title.group(1).split())[:100]
    snippet = ' '.join(text.split())[:200]
    return snippet or '(empty body)'


_HTML_TITLE = re.compile(r'<title[^>]*>([^<]*)</title>', re.I)


def is_kapacitor_error_body(response):
    """Whether the body is one of the JSON error shapes of Kapacitor and InfluxDB."""
    try:
        body = json.loads(response.text or '')
    except ValueError:
        return False
    return isinstance(body, dict) and ('code' in body or 'error' in body) and 'message' in body


def hint_for_status(status, message, response=None, server_type='kapacitor'):
    """What to do about an HTTP error status (``response``, when given, tells the server's own error bodies from
    others'; ``server_type`` the client's, None before detection)."""
    product = PRODUCTS[server_type]
    url_env = URL_ENVS[server_type]
    if status == 401 and server_type == 'influxdb2':
        return ('InfluxDB rejected the credentials: set token (INFLUX_TOKEN) to an API token of this InfluxDB; its API '
                'accepts no username and password')
    if status == 401:
        return ('Kapacitor rejected the credentials: set username and password (KAPACITOR_USERNAME, '
                'KAPACITOR_PASSWORD) or token (KAPACITOR_TOKEN) for a user Kapacitor accepts')
    if status == 407:
        return ('The proxy requires authentication: put its credentials in the proxy URL (HTTPS_PROXY or HTTP_PROXY), '
                'or set use_proxy: false to connect directly')
    if status == 403 and server_type == 'influxdb2':
        return ("The token is valid but lacks a permission for this request: use a token with read and write on the "
                "org's tasks (or an all-access token), of an active user")
    if status == 403:
        return "The user is authenticated but lacks the privilege for this endpoint: grant it in Kapacitor's auth settings"
    if status == 404 and message == 'Not Found' and server_type != 'influxdb2':
        return ('Kapacitor answered its generic 404 for the Flux task API: the API is disabled on this server. Set '
                '[fluxtask] enabled = true in kapacitor.conf and restart Kapacitor')
    if server_type == 'influxdb2' and (status == 405 or (status == 404 and message == 'path not found')):
        return ('InfluxDB has no such API path or method: check url (INFLUX_HOST), and that the server is InfluxDB 2.2 '
                'or later or InfluxDB Cloud')
    if status == 404 and response is not None and not is_kapacitor_error_body(response):
        return 'The server does not look like %s: check url (%s)' % (product, url_env)
    if status == 429:
        return '%s or a proxy is rate limiting: try again later or lower the concurrency' % product
    if status in (502, 503, 504):
        return 'A proxy or %s is unavailable: check that %s is running and reachable' % (product, product)
    if server_type == 'influxdb2' and status >= 500 and 'could not execute task run' in (message or ''):
        return ('InfluxDB may have created the run without scheduling it (it can stay queued), so the request was not '
                'sent again; list the runs of this scheduled time before asking for it again')
    if status >= 500:
        return ("The server failed to handle the request: see %s's log (or the log of a proxy in front of it) "
                'and check url (%s)' % (product, url_env))
    return None


# --------------------------------------------------------------------------- transport failures

class TransportFailure:
    """What a failed request (a ``urllib3`` or socket exception) means; ``classify`` is the one place that decides it.

    ``kind``: refused, dns, unreachable (no route), connect_timeout, read_timeout, disconnected (reset or closed
    without an answer), tls_version, cert_verify, tls_handshake, tls, invalid (refused by ``urllib3`` before
    sending) or other. ``sent`` is False when the server certainly never got the request; ``transient`` is True
    when sending a safe request again may succeed; ``connection_lost`` is True for the failures that count towards
    the circuit breaker (the server gave no HTTP answer at all); ``text`` is one short line; ``hint`` what to do.
    """

    def __init__(self, kind, text, hint):
        self.kind = kind
        self.text = text
        self.hint = hint
        self.sent = kind not in _NEVER_SENT
        self.transient = kind == 'disconnected'
        self.connection_lost = kind in _CONNECTION_LOST


# Refused, unresolvable or unroutable: no connection was made. TLS version and certificate errors happen during
# the handshake, before a byte of the request is written. A handshake alert, though, can arrive after a TLS 1.3
# client has sent its request, so it counts as sent (the safe side for a request that is not idempotent).
_NEVER_SENT = frozenset(('refused', 'dns', 'unreachable', 'connect_timeout', 'tls_version', 'cert_verify', 'invalid'))
_CONNECTION_LOST = frozenset(('refused', 'dns', 'unreachable', 'connect_timeout', 'read_timeout', 'disconnected'))
_DNS_TEXTS = ('name or service not known', 'nodename nor servname', 'temporary failure in name resolution',
              'failed to resolve', 'getaddrinfo failed', 'no address associated with hostname')
_HANDSHAKE_TEXTS = ('certificate required', 'alert', 'handshake', 'eof occurred', 'unexpected eof')


def _chain(exc):
    """The exception and every exception it wraps (urllib3's wrap the socket's and the ssl module's)."""
    seen, queue = [], [exc]
    while queue:
        current = queue.pop(0)
        if not isinstance(current, BaseException) or any(current is known for known in seen):
            continue
        seen.append(current)
        queue.extend(arg for arg in getattr(current, 'args', ()) if isinstance(arg, BaseException))
        queue.extend((getattr(current, 'reason', None), current.__cause__, current.__context__))
    return seen


def _kind(exc):
    chain = _chain(exc)
    text = ' '.join(str(item) for item in chain).lower()

    def has(*types):
        return any(isinstance(item, types) for item in chain)

    exceptions = urllib3.exceptions
    if has(exceptions.LocationValueError):
        return 'invalid'
    if has(exceptions.SSLError, ssl.SSLError):
        if has(ssl.SSLCertVerificationError) or 'certificate verify failed' in text:
            return 'cert_verify'
        if 'wrong_version_number' in text or 'wrong version number' in text or 'record layer failure' in text:
            return 'tls_version'
        # TLS 1.3 clients see the server's "certificate required" alert, or only an EOF, depending on timing.
        if any(marker in text for marker in _HANDSHAKE_TEXTS):
            return 'tls_handshake'
        return 'tls'
    # urllib3 makes NewConnectionError (refused, DNS) a kind of ConnectTimeoutError: only a timeout is one here.
    if has(exceptions.ConnectTimeoutError) and not has(exceptions.NewConnectionError):
        return 'connect_timeout'
    if has(exceptions.ReadTimeoutError, socket.timeout) or 'timed out' in text:
        return 'read_timeout'
    if has(socket.gaierror) or any(marker in text for marker in _DNS_TEXTS):
        return 'dns'
    if has(ConnectionRefusedError) or 'connection refused' in text or 'errno 111' in text:
        return 'refused'
    if 'no route to host' in text or 'network is unreachable' in text or 'host is unreachable' in text:
        return 'unreachable'
    if has(exceptions.ProtocolError, exceptions.NewConnectionError, exceptions.ProxyError, exceptions.IncompleteRead,
           ConnectionError):
        return 'disconnected'
    return 'other'


def environment_proxies(url):
    """The proxies of the environment (``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``, either case; on macOS and
    Windows the system's settings when none is set) as ``{scheme: proxy URL}``, or ``{}`` when ``NO_PROXY`` (either
    case) exempts the host of ``url``: ``*`` alone, the host or a domain it is in (with or without a leading dot, for
    a name also with the port), an IP address or a CIDR block holding it; without ``NO_PROXY``, the system's
    exceptions. Read once per client, as ``requests`` read them."""
    proxies = getproxies()
    proxies.pop('no', None)
    no_proxy = os.environ.get('no_proxy') or os.environ.get('NO_PROXY') or ''
    parts = urlsplit(url)
    host = (parts.hostname or '').lower()
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if no_proxy.strip() == '*':
        return {}
    for entry in (item.strip().lower() for item in no_proxy.replace(' ', ',').split(',')):
        if address is not None and '/' in entry:
            try:
                if address in ipaddress.ip_network(entry, strict=False):
                    return {}
            except ValueError:
                pass
            continue
        name = entry.lstrip('.')
        candidates = (host,) if address is not None or not parts.port else (host, '%s:%s' % (host, parts.port))
        if name and any(candidate == name or candidate.endswith('.' + name) for candidate in candidates):
            return {}
    try:
        if not no_proxy and host and proxy_bypass(host):
            return {}
    except (TypeError, OSError):
        pass
    return {scheme: proxy if '://' in proxy else 'http://' + proxy for scheme, proxy in proxies.items() if proxy}


def select_proxy(url, proxies):
    """``(key, proxy URL)`` of the one of ``proxies`` (``environment_proxies``) a request for ``url`` goes through:
    its scheme's, else ``all``; ``(None, None)`` for none."""
    scheme = urlsplit(url).scheme
    key = scheme if proxies.get(scheme) else 'all'
    return (key, proxies[key]) if proxies.get(key) else (None, None)


def check_proxy(url, proxies):
    """InputError, before any request, when the proxy a request for ``url`` would go through is not a URL urllib3 can
    use; the message names the variable, never the value, which may hold a password."""
    key, proxy = select_proxy(url, proxies)
    if not proxy or urllib3 is None:
        return
    try:
        parsed = urllib3.util.parse_url(proxy)
        valid = parsed.scheme in ('http', 'https') and bool(parsed.host)
    except urllib3.exceptions.LocationValueError:
        valid = False
    if not valid:
        name = environment_proxy(url, proxies)[1]
        raise InputError('%s is not a proxy URL that can be used (http:// or https://, a host, and in a user or password '
                         'only percent-encoded special characters such as %%2F for /, %%40 for @, %%23 for #); its value '
                         'is not shown as it may hold a password. Fix it, add the host to NO_PROXY, or set use_proxy: '
                         'false' % name)


def environment_proxy(url, proxies):
    """``(proxy URL with credentials redacted, the environment variable it came from)`` when a request for ``url``
    goes through one of ``proxies``, else None."""
    key, proxy = select_proxy(url, proxies)
    if not proxy:
        return None
    names = [name for name in (key + '_proxy', key.upper() + '_PROXY') if os.environ.get(name)]
    return redact_url(proxy), (names or [key.upper() + '_PROXY'])[0]


def classify(exc, base_url, answered=False, proxy=None, server_type='kapacitor'):
    """Classify the exception of a failed request (urllib3's, or the socket's) into a TransportFailure, with the hint
    that fits.

    ``answered`` says whether the server gave an HTTP answer earlier in this module run: a server that answered
    and then stopped is not a wrong ``url``, so the hint says so instead of pointing at the URL. ``proxy``, the
    ``environment_proxy`` the request went through, is named in the text; a failure to reach it points at it.
    ``server_type`` names the server in the hints (None: not known yet).
    """
    kind = _kind(exc)
    text = _short_exception(exc)
    product, url_env = PRODUCTS[server_type], URL_ENVS[server_type]
    if proxy:
        text = '%s, through the proxy %s (from %s)' % (text.rstrip('.'), proxy[0], proxy[1])
        if kind in ('refused', 'dns', 'unreachable', 'connect_timeout') or isinstance(exc, urllib3.exceptions.ProxyError):
            return TransportFailure(kind, text, 'The proxy %s (from %s) could not be reached or could not reach %s: '
                                                'check the proxy and %s, add the host to NO_PROXY, or set use_proxy: '
                                                'false to connect directly' % (proxy[0], proxy[1], product, proxy[1]))
    if answered and kind in _CONNECTION_LOST:
        if kind == 'read_timeout':
            hint = ('%s answered earlier in this call, then did not answer in time: check that it is still '
                    'running and not overloaded, or raise timeout' % product)
        else:
            hint = '%s answered earlier in this call, then stopped: check that %s is still running' % (product, product)
        return TransportFailure(kind, text, hint)
    hints = {
        'refused': 'Nothing listens at %s: check url (%s) and that %s is running' % (base_url, url_env, product),
        'dns': 'The host name does not resolve: check url (%s)' % url_env,
        'unreachable': 'The network has no route to the host: check url (%s) and the network path to %s' % (url_env, product),
        'connect_timeout': '%s did not answer in time: check the server, or raise timeout' % product,
        'read_timeout': '%s did not answer in time: check the server, or raise timeout' % product,
        'tls_version': 'The server does not speak TLS on this port: use http:// instead of https://',
        'cert_verify': ('TLS certificate verification failed: set ca_path to the CA bundle that signed the server '
                        'certificate, or validate_certs: false (%s) to skip the check (insecure)'
                        % SKIP_VERIFY_ENVS[server_type]),
        'tls_handshake': 'The TLS handshake failed; the server may require a client certificate: set client_cert and client_key',
        'tls': 'The TLS connection failed: check ca_path, client_cert/client_key and that url uses the right scheme',
    }
    hint = hints.get(kind, 'Check url (%s) and the network path to %s' % (url_env, product))
    if kind == 'disconnected' and base_url.startswith('http://'):
        hint = ('The server closed the connection without answering: if it serves HTTPS, use https:// in url; '
                'otherwise check url (%s) and the network path to %s' % (url_env, product))
    return TransportFailure(kind, text, hint)


def _short_exception(exc):
    """A one-line description of a failed request's exception: urllib3's connection objects and pool reprs removed."""
    # urllib3's SSLError holds the ssl module's error, whose own ``reason`` is only a code.
    inner = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else exc
    args = getattr(inner, 'args', ())
    if len(args) == 2 and isinstance(args[1], BaseException):
        text = '%s: %s' % (str(args[0]).rstrip('.'), args[1])  # ProtocolError('Connection aborted.', OSError)
    else:
        text = str(inner)
    text = re.sub(r'^\w+\([^)]*\): ', '', text)  # "HTTPConnection(host='h', port=1): ..."
    text = re.sub(r'<urllib3\.[^>]*>: ', '', text)  # "<urllib3.connection.HTTPConnection object at 0x...>: ..."
    return ' '.join(text.split())[:300] or exc.__class__.__name__


def identify_server(response):
    """``(server_type, version or None)`` from the answer to ``GET {base}/ping``, or RequestError saying what answered.

    Kapacitor puts ``X-Kapacitor-Version`` on every answer (its 404 for this path included). InfluxDB 2 puts
    ``X-Influxdb-Version: v2.x`` on every answer (OSS), and its ping answers 204; InfluxDB Cloud's 204 carries no
    version. InfluxDB 1.x (``1.x``: no task engine) and InfluxDB 3 (``3.x``, or its ping's 200 JSON: no Flux tasks)
    are refused, as is anything else. An error status without either header (a proxy's 502, an authenticating proxy)
    is raised as the HTTP error it is.
    """
    headers = response.headers
    status = response.status_code
    kapacitor = headers.get('X-Kapacitor-Version')
    if kapacitor is not None:
        return 'kapacitor', kapacitor.strip() or None
    version = (headers.get('X-Influxdb-Version') or '').strip()
    major = version.lstrip('vV').split('.', 1)[0]
    if major == '2':
        return 'influxdb2', version
    if major == '1':
        raise _refusal(response, 'InfluxDB %s answered: InfluxDB 1.x has no task engine, so it has no task runs to '
                                 'list or retry' % version, 'Point url at Kapacitor or at InfluxDB 2')
    body = None
    if status == 200 and 'json' in headers.get('Content-Type', '').lower():
        try:
            body = json.loads(response.text or '')
        except ValueError:
            body = None
    if isinstance(body, dict) and not version and isinstance(body.get('version'), str):
        version = body['version'].strip()
    if major == '3' or (isinstance(body, dict) and version.lstrip('vV').startswith('3.')):
        raise _refusal(response, 'InfluxDB %s answered: InfluxDB 3 has no Flux tasks (Flux is not supported there)'
                       % version, 'Point url at Kapacitor or at InfluxDB 2 (OSS 2.2 or later, or Cloud)')
    if status == 204 and not version:
        return 'influxdb2', None
    message = server_message(response)
    if status in (401, 403):
        # The ping goes without credentials on purpose; Kapacitor and InfluxDB 2 would have named themselves.
        raise RequestError('HTTP %d: %s' % (status, message), method='GET', url=redact_url(response.url),
                           status=status, server_message=message,
                           hint='The server refused an unauthenticated GET /ping without saying what it is (an InfluxDB 3 '
                                'with authentication on, or an authenticating proxy): set server_type to kapacitor or '
                                'influxdb2 if it is one of them, else check url (KAPACITOR_URL or INFLUX_HOST)')
    if status in (407, 429) or status >= 500:
        raise RequestError('HTTP %d: %s' % (status, message), method='GET', url=redact_url(response.url),
                           status=status, server_message=message, hint=hint_for_status(status, message, response, None))
    raise _refusal(response, 'HTTP %d: %s (%s), without an X-Kapacitor-Version or X-Influxdb-Version header: neither '
                             'Kapacitor nor InfluxDB 2 answered'
                   % (status, message, headers.get('Content-Type', 'no content type')),
                   'The server does not look like Kapacitor or InfluxDB 2: check url (KAPACITOR_URL or INFLUX_HOST); if a '
                   'proxy in front of the server hides which it is, set server_type')


def _refusal(response, text, hint):
    return RequestError(text, method='GET', url=redact_url(response.url), status=response.status_code,
                        server_message=server_message(response), hint=hint)


class KapacitorClient:
    """Talks to the Flux task API of one Kapacitor or InfluxDB 2.

    ``server_type`` is ``kapacitor``, ``influxdb2`` or ``auto``: then ``detect()`` (called by the module once, and
    by the first request otherwise) tells them apart with one ``GET {base}/ping``. ``token`` is sent as ``Token``
    to InfluxDB and as ``Bearer`` to Kapacitor; ``org_id`` (preferred) or ``org`` scope the task listing on InfluxDB.

    Thread-safe: the modules call one client from a pool of threads. Its circuit breaker is shared by them:
    after BREAKER_THRESHOLD connection-level failures in a row (refused, reset, timed out, no HTTP answer in
    between), one ping to the server decides; if the ping gets no answer either, every later request raises
    ServerUnreachable at once, unsent, with one shared reason, and safe requests stop backing off.
    """

    def __init__(self, url=None, username=None, password=None, token=None, validate_certs=None, ca_path=None,
                 client_cert=None, client_key=None, timeout=30.0, pool_size=10, sleep=time.sleep, use_proxy=True,
                 http_retries=SAFE_RETRIES, server_type='auto', org=None, org_id=None, fallbacks=None):
        if server_type not in SERVER_TYPES + ('auto',):
            raise InputError('server_type must be auto, kapacitor or influxdb2, got %r' % (server_type,))
        if org is not None and org_id is not None:
            raise InputError('org and org_id are mutually exclusive: give the org by name or by ID, not both')
        if org is not None and (not isinstance(org, str) or not org.strip()):
            raise InputError('org must be the name of an InfluxDB organization, got %r' % (org,))
        if org_id is not None and (not isinstance(org_id, str) or not _ORG_ID.match(org_id)):
            raise InputError('org_id must be the 16 hexadecimal characters of an InfluxDB organization ID (as influx '
                             'org list shows it), got %r' % (org_id,))
        default = DEFAULT_URLS.get(server_type, DEFAULT_URL)
        self.base_url, url_user, url_password = parse_base_url(default if url is None else url)
        self._fallbacks = fallbacks or {}
        # The given credentials (options, or the url's); the environment's once the server type says which apply
        # (_set_type).
        check_credentials(username, token)
        check_credentials(url_user, None)
        if isinstance(http_retries, bool) or not isinstance(http_retries, int) or http_retries < 0:
            raise InputError('http_retries must be a whole number of 0 or more, got %r' % (http_retries,))
        self.timeout = float(timeout)
        self.http_retries = http_retries
        self.org = org.strip() if org is not None else None
        self.org_id = org_id.lower() if org_id is not None else None
        # Given credentials (options, or the url's) go to a server of any type; ``fallbacks`` (the environment's, per
        # server type) complete them only for a server of that type, once it is known (see _credentials).
        # Options win over the url's, as for a token: a given username replaces the url's pair; a given password
        # alone replaces only the url's password (the url names the user, as in http://ops@host plus a password).
        self._url_credentials = bool(url_user) and not username
        if self._url_credentials:
            username, password = url_user, password or url_password
        self._given = (username, password, token)
        self._validate_certs = validate_certs
        self._ca_path = ca_path
        self._type = None
        self._version = None
        self._clock_offset = None  # the server's clock minus this host's, in seconds, from the first answer's Date
        self._horizon = None
        self._detect_lock = threading.Lock()
        # The environment is read once, here: the proxy for this server (HTTP(S)_PROXY, ALL_PROXY, NO_PROXY) unless
        # use_proxy is false, and the CA bundle of REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE (as the collection read them
        # when it was built on requests). ~/.netrc is not read: credentials come from the options and their environment
        # variables only.
        self.proxies = environment_proxies(self.base_url + DETECT_PATH) if use_proxy else {}
        self.proxy = environment_proxy(self.base_url + DETECT_PATH, self.proxies)  # the one named in messages
        check_proxy(self.base_url, self.proxies)
        # urllib3's messages may quote the proxy URL: its password never goes out with them.
        self._proxy_secrets = sorted(set().union(*(url_secrets(proxy) for proxy in self.proxies.values())), key=len,
                                     reverse=True)
        self._ca_bundle = os.environ.get('REQUESTS_CA_BUNDLE') or os.environ.get('CURL_CA_BUNDLE')
        self._sleep = sleep
        self._pool_size = max(4, pool_size)
        self._pools = {}  # one urllib3 pool manager per TLS verification setting (see _pool)
        # Sent with every request; _set_type adds the credentials.
        # Compressed answers accepted, as requests accepted them: a server or proxy that compresses sends a listing several
        # times smaller over a slow link; urllib3 decodes it.
        self.headers = {'User-Agent': USER_AGENT, 'Accept': 'application/json', 'Accept-Encoding': 'gzip, deflate'}
        # Until the type is known (the detection ping), only a given validate_certs can turn verification off.
        self.verify = self._verify(None)
        self._client_cert, self._client_key = client_cert, client_key
        self._lock = threading.Condition()  # the breaker's state; threads wait on it for a ping's verdict
        self._answered = False      # an HTTP answer came back in this module run
        self._failures = 0          # connection-level failures since the last HTTP answer
        self._first_failure = None  # the first of them
        self._pinging = False
        self._unreachable = None    # (message, hint) of ServerUnreachable once the breaker is open
        if server_type != 'auto':
            self._set_type(server_type)

    # ------------------------------------------------------------------ the server

    def _set_type(self, server_type, version=None):
        """Fix the server type, and with it the credentials and the TLS verification that apply to it: the token's
        scheme follows it (InfluxDB's own ``Token``; Kapacitor knows ``Bearer``). Nothing was sent with credentials
        before. Credentials taken from the environment are checked here, as only this type's apply."""
        username, password, token = self._credentials(server_type)
        given_username, dummy, given_token = self._given
        check_credentials(None if given_username else username, None if given_token else token,
                          ENV_CREDENTIALS[server_type])
        if token:
            self.headers['Authorization'] = '%s %s' % ('Token' if server_type == 'influxdb2' else 'Bearer', token)
        elif username:
            # As UTF-8 bytes, as the kapacitor CLI (Go) sends them (a Latin-1 encoding would fail on other characters).
            pair = username.encode('utf-8') + b':' + (password or '').encode('utf-8')
            self.headers['Authorization'] = 'Basic ' + base64.b64encode(pair).decode('ascii')
        self.verify = self._verify(server_type)
        self._version = version
        self._type = server_type

    def _credentials(self, server_type):
        """``(username, password, token)`` for a server of this type: the given ones win; the environment's for this
        type (``fallbacks``) are used only where none was given, or to complete a given username or password (with
        the password only when the environment names the same user, or none). An environment that holds a token and a
        user or password, with none given, is an InputError: which one was meant cannot be told."""
        username, password, token = self._given
        env = self._fallbacks.get(server_type) or {}
        if token or self._url_credentials:
            return username, password, token
        if username or password:
            if username is None:
                username = env.get('username')
            if password is None and env.get('username') in (None, username):
                password = env.get('password')
            return username, password, None
        if env.get('token') and (env.get('username') or env.get('password')):
            # Only Kapacitor's environment can hold both (KAPACITOR_TOKEN, KAPACITOR_USERNAME, KAPACITOR_PASSWORD).
            raise InputError('KAPACITOR_TOKEN and KAPACITOR_USERNAME/KAPACITOR_PASSWORD are all set in the environment: '
                             'unset one kind, or set token or username and password explicitly')
        return env.get('username'), env.get('password'), env.get('token')

    def _verify(self, server_type):
        """``verify`` for a server of this type (None: not known yet): a given validate_certs wins, then the
        environment's switch for this type (``fallbacks``); else verify, against ca_path when given."""
        validate = self._validate_certs
        if validate is None:
            validate = (self._fallbacks.get(server_type) or {}).get('validate_certs')
        validate = True if validate is None else validate
        return self._ca_path if (self._ca_path and validate) else bool(validate)

    def _pool(self, verify):
        """The urllib3 pool manager for this ``verify`` (True, False, or a CA bundle's path), made on first use: a
        ``ProxyManager`` when the environment's proxy applies. Verification uses ca_path, else the environment's
        REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE, else the system's trust store."""
        pool = self._pools.get(verify)
        if pool is None:
            tls = {'cert_file': self._client_cert, 'key_file': self._client_key}
            if verify is False:
                tls.update(cert_reqs='CERT_NONE', assert_hostname=False)
            else:
                tls['cert_reqs'] = 'CERT_REQUIRED'
                bundle = verify if isinstance(verify, str) else self._ca_bundle
                if bundle:
                    tls['ca_cert_dir' if os.path.isdir(bundle) else 'ca_certs'] = bundle
            dummy, proxy = select_proxy(self.base_url, self.proxies)
            if proxy:
                parts = urlsplit(proxy)
                headers = None
                if parts.username is not None:
                    # As UTF-8, as the server's own credentials (urllib3 would encode Latin-1, and fail on others).
                    pair = (unquote(parts.username) + ':' + unquote(parts.password or '')).encode('utf-8')
                    headers = {'Proxy-Authorization': 'Basic ' + base64.b64encode(pair).decode('ascii')}
                pool = urllib3.ProxyManager(proxy, num_pools=2, maxsize=self._pool_size, proxy_headers=headers, **tls)
            else:
                pool = urllib3.PoolManager(num_pools=2, maxsize=self._pool_size, **tls)
            with self._lock:
                pool = self._pools.setdefault(verify, pool)
        return pool

    @property
    def server_type(self):
        """``kapacitor`` or ``influxdb2`` (detecting it first when it was ``auto``)."""
        return self.detect()['type']

    @property
    def detected(self):
        """Whether the server type is known (given, or detected), so that ``server`` sends nothing."""
        return self._type is not None

    @property
    def server(self):
        """``{'type', 'version'}`` as every module returns it (``version``: None when the server did not say)."""
        return self.detect()

    @property
    def runs_block(self):
        """Whether a retry or manual-run POST is answered only once the new run has finished (``runs_block`` of
        _runs.py), from the version header of the server's answers."""
        server = self.detect()
        return runs_block(server['type'], server['version'])

    def detect(self):
        """Tell the server type with one ``GET {base}/ping`` unless it is known; return ``server``.

        Sent before the type is known, so without any credential. Raises RequestError for a server that is not
        Kapacitor or InfluxDB 2, naming what answered, and for a ping that gets no HTTP answer."""
        if self._type is None:
            with self._detect_lock:
                if self._type is None:
                    self._set_type(*self._detect())
        return {'type': self._type, 'version': self._version}

    def _detect(self):
        """The ping of ``detect``, verified unless validate_certs was given false. When the certificate fails and the
        environment skips verification for one server type (KAPACITOR_UNSAFE_SSL, INFLUX_SKIP_VERIFY), the ping is
        sent again unverified, and its answer is taken only from a server of a type that skips it: credentials never
        go unverified to a server of the other type."""
        url = self.base_url + DETECT_PATH
        try:
            return identify_server(self._safe('GET', url, None))
        except RequestError as exc:
            skipping = [kind for kind in SERVER_TYPES if self._verify(kind) is False]
            if not skipping or exc.__cause__ is None or _kind(exc.__cause__) != 'cert_verify':
                raise
            found = identify_server(self._safe('GET', url, None, verify=False))
            if found[0] in skipping:
                return found
            raise RequestError(exc.message, method=exc.method, url=exc.url, sent=False,
                               hint='%s; %s answered, and %s skips the check for %s only'
                               % (exc.hint, PRODUCTS[found[0]], SKIP_VERIFY_ENVS[skipping[0]], PRODUCTS[skipping[0]])) \
                from None

    @property
    def product(self):
        """The server's name in messages: ``Kapacitor`` or ``InfluxDB``."""
        return PRODUCTS[self.server_type]

    # ------------------------------------------------------------------ transport

    def _url(self, path):
        return self.base_url + API_PREFIXES[self.server_type] + path

    def _request(self, method, url, params, timeout, body=None, verify=None):
        """Send one request (never again: urllib3's own retries and redirects are off) and read its whole answer.
        ``timeout`` is seconds, or (connect, read) seconds."""
        if params:
            url = '%s?%s' % (url, urlencode([(key, value) for key, value in params.items() if value is not None]))
        headers = self.headers
        if body is not None:
            headers = dict(headers, **{'Content-Type': 'application/json'})
            body = json.dumps(body, allow_nan=False).encode('utf-8')
        connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
        answer = self._pool(self.verify if verify is None else verify).request(
            method, url, body=body, headers=headers, timeout=urllib3.Timeout(connect=connect, read=read),
            retries=False, redirect=False)
        return Response(answer.status, answer.headers, url, answer.data)

    def _send(self, method, url, params, timeout, body=None, verify=None):
        if self._unreachable is not None:
            raise self._unreachable_error(method, url)
        sent = time.time()
        try:
            response = self._request(method, url, params, timeout, body, verify)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            failure = classify(exc, self.base_url, self._answered, self.proxy, self._type)
            for secret in self._proxy_secrets:
                failure.text = failure.text.replace(secret, REDACTED)
            if failure.connection_lost:
                # Only a request that was never sent waits for a ping's verdict (one that was sent keeps its own
                # reason, a POST stays ambiguous, and its time towards retry_timeout is not spent waiting).
                self._count_failure(failure, wait=not failure.sent)
                if self._unreachable is not None and not failure.sent:
                    # The server is gone (this failure may have been the one that showed it): the shared reason.
                    raise self._unreachable_error(method, url) from exc
            error_cls = AmbiguousRequest if method != 'GET' and failure.sent else RequestError
            raise error_cls(failure.text, method=method, url=url, hint=failure.hint, sent=failure.sent,
                            transient=failure.transient) from exc
        self._count_answer()
        if self._clock_offset is None:
            self._clock_offset = _clock_offset(response, sent, time.time())
        if self._version is None and self._type is not None:
            header = 'X-Kapacitor-Version' if self._type == 'kapacitor' else 'X-Influxdb-Version'
            self._version = (response.headers.get(header) or '').strip() or None
        return response

    def _count_answer(self):
        if self._answered and not self._failures:
            return
        with self._lock:
            self._answered = True
            self._failures = 0
            self._first_failure = None

    def _count_failure(self, failure, wait=False):
        """Count a connection-level failure; the BREAKER_THRESHOLD-th in a row sends the ping that decides. With
        ``wait``, a failure that comes while another thread pings waits for its verdict (up to twice the ping's
        time-out), so that each request the server's death kept from being sent reports the one shared reason,
        however fast the others failed."""
        with self._lock:
            if self._unreachable is not None:
                return
            self._failures += 1
            if self._first_failure is None:
                self._first_failure = failure
            first = self._first_failure
            if self._pinging:
                if wait:
                    self._lock.wait_for(lambda: not self._pinging, 2 * PING_TIMEOUT)
                return
            if self._failures < BREAKER_THRESHOLD:
                return
            self._pinging = True
        alive = None
        try:
            alive = self._ping()
        finally:
            with self._lock:
                self._pinging = False
                if alive:
                    self._answered, self._failures, self._first_failure = True, 0, None
                elif alive is False and self._unreachable is None:
                    product = PRODUCTS[self._type]
                    if self._answered:
                        message = '%s at %s became unreachable during the call: %s' % (product, self.base_url, first.text)
                    else:
                        message = '%s at %s is unreachable: %s' % (product, self.base_url, first.text)
                    self._unreachable = (message, first.hint)
                self._lock.notify_all()

    def _ping(self):
        """True when the server gives any HTTP answer to its ping (which needs no credentials)."""
        timeout = min(self.timeout, PING_TIMEOUT)
        try:
            self._request('GET', self.base_url + PING_PATHS.get(self._type, DETECT_PATH), None, timeout)
        except (urllib3.exceptions.HTTPError, OSError):
            return False
        return True

    @property
    def unreachable(self):
        """None while the server may be reachable; once the breaker is open, the shared ServerUnreachable text."""
        return None if self._unreachable is None else str(self._unreachable_error(None, None))

    def _unreachable_error(self, method, url):
        message, hint = self._unreachable
        return ServerUnreachable(message, method=method, url=url, hint=hint)

    def _error(self, method, response):
        message = server_message(response)
        status = response.status_code
        hint = hint_for_status(status, message, response, self._type)
        if self.proxy and status in (407, 502, 503, 504):
            hint = '%s; the request went through the proxy %s (from %s)' % (hint, self.proxy[0], self.proxy[1])
        return RequestError('HTTP %d: %s' % (status, message), method=method, url=redact_url(response.url),
                            status=status, server_message=message, hint=hint)

    def _safe(self, method, url, params, verify=None):
        """Send a safe request, again up to ``http_retries`` times on dropped connections, 429 and 502/503/504, with
        backoff (at least ``Retry-After`` when a 429 or 503 asks for it); return the last answer."""
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._send(method, url, params, self.timeout, verify=verify)
            except RequestError as exc:
                if self._unreachable is not None and not isinstance(exc, ServerUnreachable):
                    raise self._unreachable_error(method, exc.url) from exc
                if attempt > self.http_retries or not exc.transient:
                    raise
                self._sleep(self._backoff(attempt))
                continue
            status = response.status_code
            if status in (429, 502, 503, 504) and attempt <= self.http_retries:
                delay = self._backoff(attempt)
                if status == 429 or (status == 503 and response.headers.get('Retry-After')):
                    delay = max(delay, _retry_after(response))
                self._sleep(delay)
                continue
            return response

    def get(self, path, params=None):
        """GET a JSON object from the task API, re-sent up to ``http_retries`` times on dropped connections, 429 and
        502/503/504, with backoff."""
        response = self._safe('GET', self._url(path), params)
        if response.status_code != 200:
            raise self._error('GET', response)
        return self._json(response, 'GET')

    def post(self, path, timeout, body=None):
        """POST once (``body``, when given, as JSON) and return ``(status, body or None, server message or None)``;
        never re-sent.

        Raises RateLimited for a 429 (nothing was done; the caller decides whether and when to send again)."""
        response = self._send('POST', self._url(path), None, (min(self.timeout, 30.0), timeout), body)
        if response.status_code == 429:
            message = server_message(response)
            raise RateLimited('HTTP 429: %s' % message, _retry_after(response), method='POST', url=redact_url(response.url),
                              status=429, server_message=message,
                              hint=hint_for_status(429, message, response, self._type))
        if 200 <= response.status_code < 300:
            return response.status_code, self._json(response, 'POST'), None
        return response.status_code, None, server_message(response)

    def _json(self, response, method):
        """The JSON object of a 2xx answer; anything else (InfluxDB's web UI for a Kapacitor path, a proxy's page) is a
        RequestError naming what came back, never a success."""
        product = PRODUCTS[self._type]
        try:
            body = response.json()
        except ValueError:
            kind = response.headers.get('Content-Type', 'no content type')
            text = 'HTTP %d with a body that is not JSON (%s): %s' % (response.status_code, kind, server_message(response))
            if self._type == 'kapacitor' and response.headers.get('X-Influxdb-Version') is not None:
                hint = ('InfluxDB %s answered, with its web UI: this is not Kapacitor. Set server_type: influxdb2 '
                        '(or auto) and a token' % response.headers['X-Influxdb-Version'])
            elif self._type == 'kapacitor' and 'html' in kind.lower():
                hint = ("The server does not look like Kapacitor's Flux task API (a proxy's page, or InfluxDB 2's web "
                        'UI?): check url (KAPACITOR_URL), or set server_type: influxdb2 (or auto) for InfluxDB')
            else:
                hint = ("The server does not look like %s's Flux task API (a proxy's page?): check url (%s)"
                        % (product, URL_ENVS[self._type]))
            raise RequestError(text, method=method, url=redact_url(response.url), status=response.status_code,
                               server_message=server_message(response), hint=hint) from None
        if not isinstance(body, dict):
            raise RequestError('HTTP %d with JSON that is not an object' % response.status_code, method=method,
                               url=redact_url(response.url), status=response.status_code,
                               hint="The server does not look like %s's Flux task API: check url" % product)
        return body

    @staticmethod
    def _backoff(attempt):
        ceiling = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** (attempt - 1)))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    # ------------------------------------------------------------------ endpoints

    def _expect_list(self, body, key, path):
        value = body.get(key)
        if not isinstance(value, list):
            product = self.product
            raise RequestError('the answer has no %r list, so it is not what %s sends' % (key, product), method='GET',
                               url=self._url(path), status=200,
                               hint='Check that url (%s) points at %s' % (
                                   URL_ENVS[self._type], 'Kapacitor 1.6 or later' if product == 'Kapacitor'
                                   else 'InfluxDB 2.2 or later, or InfluxDB Cloud'))
        return value

    def get_task(self, task_id):
        """The task object, or None when the server says it does not exist."""
        path = '/tasks/%s' % task_id
        try:
            return self.get(path)
        except RequestError as exc:
            if exc.status == 404 and 'task not found' in (exc.server_message or ''):
                return None
            raise

    @property
    def lists_every_task(self):
        """Whether a task listing returns every task of the task API: always on Kapacitor; on InfluxDB only with
        ``org`` or ``org_id`` (without them it returns only the tasks the token's user owns, silently). InfluxDB never
        lists the tasks of checks and notification rules."""
        return self.server_type == 'kapacitor' or bool(self.org_id or self.org)

    def _org_params(self):
        """The org scope of a task listing: ``orgID`` (preferred: no lookup) or ``org`` on InfluxDB, nothing on
        Kapacitor (it ignores both). InputError on InfluxDB without either."""
        if self.server_type == 'kapacitor':
            return {}
        if self.org_id:
            return {'orgID': self.org_id}
        if self.org:
            return {'org': self.org}
        raise InputError('org or org_id (INFLUX_ORG, INFLUX_ORG_ID) is required to list the tasks of InfluxDB: without '
                         "it InfluxDB returns only the tasks the token's user owns. Set one, or choose tasks by task_id")

    def list_tasks_page(self, limit, after=None, status=None, name=None):
        params = self._org_params()
        params['limit'] = limit
        if after:
            params['after'] = after
        if status:
            params['status'] = status
        if name is not None:
            params['name'] = name
        return self._expect_list(self.get('/tasks', params), 'tasks', '/tasks')

    def list_runs_page(self, task_id, params):
        """One page of a task's runs; ``[]`` for a task the server does not know, as Kapacitor answers it (InfluxDB
        answers 404 ``task not found``): the caller tells a missing task by ``get_task``."""
        path = '/tasks/%s/runs' % task_id
        try:
            body = self.get(path, params)
        except RequestError as exc:
            if exc.status == 404 and 'task not found' in (exc.server_message or ''):
                return []
            raise
        return self._expect_list(body, 'runs', path)

    def get_run(self, task_id, run_id):
        """One run (API view, with its log), or None for a 404: no such run (or task), or, on InfluxDB, for a moment
        between a finished run leaving the kv store and its record in the ``_tasks`` bucket."""
        try:
            return self.get('/tasks/%s/runs/%s' % (task_id, run_id))
        except RequestError as exc:
            if exc.status == 404:
                return None
            raise

    def retry_run(self, task_id, run_id, timeout):
        return self.post('/tasks/%s/runs/%s/retry' % (task_id, run_id), timeout)

    def force_run(self, task_id, scheduled_for, timeout):
        """A manual run for ``scheduled_for`` (RFC3339); a tiny JSON body, as Kapacitor ignores one of 1000 bytes or more."""
        return self.post('/tasks/%s/runs' % task_id, timeout, body={'scheduledFor': scheduled_for})

    def server_time(self, now):
        """``now`` (seconds since the epoch, by this host's clock) by the server's clock, when the two are more than
        CLOCK_SLACK seconds apart, as the Date header of its first answer showed; else (or before any answer) ``now``.
        For comparing with the times the server writes into runs and their IDs."""
        offset = self._clock_offset
        return now + offset if offset is not None and abs(offset) > CLOCK_SLACK else now

    def ensure_clock(self):
        """Read the server's clock unless an answer has already shown it: one GET of its ping (the one the breaker
        sends). Before any other request (a module given ``server_type`` and all it needs to decide) this is what lets
        ``server_time`` know the clock. A ping that gets no answer leaves the clock unknown (this host's is used) and
        counts for nothing else: the requests that follow meet the trouble themselves."""
        with self._detect_lock:
            if self._clock_offset is not None or self._unreachable is not None:
                return
            sent = time.time()
            try:
                response = self._request('GET', self.base_url + PING_PATHS.get(self._type, DETECT_PATH), None,
                                         min(self.timeout, PING_TIMEOUT))
            except (urllib3.exceptions.HTTPError, OSError):
                return
            self._clock_offset = _clock_offset(response, sent, time.time())

    def server_now(self, now):
        """``server_time(now)`` when the server's clock is behind, else ``now``: never later than ``now``, as a time
        this host has passed and the server has not is not past (for the server, its scheduler has not reached it
        yet)."""
        return min(now, self.server_time(now))

    def horizon_seconds(self):
        """How far back the server lists runs, in seconds: 14 days on Kapacitor; on InfluxDB the retention of the
        org's ``_tasks`` bucket (at most 14 days, which is as far as InfluxDB reads it) when the token may read it and
        the org is known, else its default of 3 days. Asked once per client."""
        if self._horizon is None:
            horizon = HORIZON_SECONDS
            if self.server_type == 'influxdb2':
                retention = self._tasks_retention()
                horizon = INFLUX_DEFAULT_HORIZON if retention is None else min(HORIZON_SECONDS, retention or HORIZON_SECONDS)
            self._horizon = horizon
        return self._horizon

    def _tasks_retention(self):
        """The expiry of the ``_tasks`` bucket in seconds (0: it keeps everything), or None when it cannot be read (no
        org to name it by, no permission, no such bucket)."""
        scope = {'orgID': self.org_id} if self.org_id else {'org': self.org} if self.org else None
        if scope is None:
            return None
        try:
            body = self.get('/buckets', dict(scope, name='_tasks'))
        except RequestError:
            return None
        for bucket in body.get('buckets') or []:
            if isinstance(bucket, dict) and bucket.get('name') == '_tasks':
                for rule in bucket.get('retentionRules') or []:
                    if not isinstance(rule, dict) or rule.get('type', 'expire') != 'expire':
                        continue
                    seconds = rule.get('everySeconds')
                    if isinstance(seconds, int) and not isinstance(seconds, bool) and seconds >= 0:
                        return seconds
                return 0
        return None


class Response:
    """What the client reads of an answer: status, headers (case-insensitive), the URL asked for and the whole body."""

    __slots__ = ('status_code', 'headers', 'url', 'content')

    def __init__(self, status_code, headers, url, content):
        self.status_code = status_code
        self.headers = headers
        self.url = url
        self.content = content or b''

    @property
    def text(self):
        return self.content.decode('utf-8', 'replace')

    def json(self):
        """The body's JSON; ValueError when it is not JSON."""
        return json.loads(self.content)


def _clock_offset(response, sent, received):
    """The server's clock minus this host's, in seconds, from the answer's ``Date``, or None when it has none that
    can be read. The server wrote ``Date`` (whole seconds, so up to a second low) at some moment between ``sent`` and
    ``received`` by this host's clock, so the difference lies between ``Date - received`` and ``Date + 1 - sent``.
    It is 0 when 0 lies between them (a slow answer never makes a right clock look ahead or behind), else the middle
    of the two."""
    try:
        when = email.utils.parsedate_to_datetime(response.headers.get('Date', ''))
        if when is None or when.tzinfo is None:
            return None
        low, high = when.timestamp() - received, when.timestamp() + 1 - sent
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return 0.0 if low <= 0 <= high else (low + high) / 2


def _retry_after(response):
    """The wait ``Retry-After`` asks for, in seconds (a number or an HTTP date), capped; 1 s when it says nothing."""
    value = response.headers.get('Retry-After', '').strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
            seconds = when.timestamp() - time.time()
        except (TypeError, ValueError, IndexError, OverflowError, AttributeError):   # AttributeError: None
            return 1.0
    return min(RETRY_AFTER_CAP, max(0.0, seconds))
