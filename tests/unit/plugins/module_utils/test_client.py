# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the client: URL handling and redaction, error shapes, hints, backoff, the one classifier of
transport failures (fed real failures: a closed port, an unresolvable ``.invalid`` host, tiny local servers that
hang, reset or answer plain HTTP to TLS) and the circuit breaker."""


import base64
import socket
import ssl
import struct
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler

import pytest
import requests
import urllib3

from ansible_collections.tickstack.kapacitor.plugins.module_utils import _client
from ansible_collections.tickstack.kapacitor.plugins.module_utils._client import (
    KapacitorClient,
    classify,
    parse_base_url,
    redact_url,
    server_message,
    url_secrets,
)
from ansible_collections.tickstack.kapacitor.plugins.module_utils._errors import (
    AmbiguousRequest,
    InputError,
    RequestError,
    ServerUnreachable,
)
from ansible_collections.tickstack.kapacitor.plugins.module_utils._lock import lock_path
from ansible_collections.tickstack.kapacitor.tests.functional.support import LocalHTTPServer, free_port


class FakeResponse:
    def __init__(self, status, text, content_type='application/json; charset=utf-8'):
        self.status_code = status
        self.text = text
        self.headers = {'Content-Type': content_type}
        self.url = 'http://127.0.0.1:9092/kapacitor/v1/api/v2/tasks'


@pytest.mark.parametrize('url, base, user, password', [
    ('http://localhost:9092', 'http://localhost:9092', None, None),
    ('https://kap.example.com:9092/', 'https://kap.example.com:9092', None, None),
    ('http://admin:s%40cret@127.0.0.1:9092', 'http://127.0.0.1:9092', 'admin', 's@cret'),
    ('http://[::1]:9092', 'http://[::1]:9092', None, None),
    ('http://ops:Pw%2FSec%23ret@kap:9092', 'http://kap:9092', 'ops', 'Pw/Sec#ret'),
    ('http://ops:p@ss@kap:9092', 'http://kap:9092', 'ops', 'p@ss'),
    # Kapacitor's query credentials become basic authentication; the query is not kept.
    ('http://kap:9092/?u=ops&p=s3cr%26t', 'http://kap:9092', 'ops', 's3cr&t'),
    ('https://kap:9092?p=x&u=a%40b.com', 'https://kap:9092', 'a@b.com', 'x'),
    # The path prefix of a reverse proxy that routes by path is kept, without its trailing /.
    ('https://gw.example.com/kapacitor-eu', 'https://gw.example.com/kapacitor-eu', None, None),
    ('https://ops:s%40c@gw.example.com:8443/a/b-1/', 'https://gw.example.com:8443/a/b-1', 'ops', 's@c'),
    ('https://gw.example.com/eu?u=ops&p=x', 'https://gw.example.com/eu', 'ops', 'x'),
    ('http://gw/kapacitor', 'http://gw/kapacitor', None, None),
])
def test_parse_base_url(url, base, user, password):
    assert parse_base_url(url) == (base, user, password)


@pytest.mark.parametrize('url, expected', [
    ('localhost:9092', 'http:// or https://'),
    ('ftp://localhost:9092', 'http:// or https://'),
    ('http://', 'host name'),
    ('http://localhost:9092/kapacitor/v1', 'without a path'),
    ('http://localhost:9092/eu/kapacitor/v1/api/v2/tasks', 'the collection adds /kapacitor/v1/api/v2/tasks itself'),
    ('http://gw/eu/../kapacitor-eu', "path prefix '/eu/../kapacitor-eu' that is not a plain URL path"),
    ('http://gw/eu//x', 'not a plain URL path'),
    ('http://gw/eu x', 'not a plain URL path'),
    ('http://gw/eu#top', 'or fragment'),
    ('http://gw/eu?x=1', "only hold Kapacitor's credentials"),
    ('http://localhost:9092?x=1', 'without a path'),
    ('http://localhost:99999', 'invalid port'),
    ('', 'url is empty'),
    ('   ', 'url is empty'),
    (['http://localhost:9092'], 'url must be a string'),
    ('http://exa mple.com:9092', 'invalid host name'),
    ('http://localhost:9092#top', 'without a path, query or fragment'),
    ('http://localhost:9092/?u=ops', "only hold Kapacitor's credentials u= and p="),
    ('http://localhost:9092/?u=ops&p=', 'both set'),
    ('http://localhost:9092/?u=a&p=b&p=c', 'once each'),
    ('http://ops:pw@localhost:9092/?u=ops&p=pw', 'credentials twice'),
    ('http://ops:Pw/Sec@localhost:9092', 'must be percent-encoded'),
])
def test_parse_base_url_rejects_with_what_was_expected(url, expected):
    with pytest.raises(InputError) as info:
        parse_base_url(url)
    assert expected in str(info.value)


@pytest.mark.parametrize('url', [
    'http://admin:hunter2@localhost:9092/kapacitor/v1',
    'http://admin:hunter2@localhost:9092/eu//x',
    'http://admin:hunter2@localhost:9092/?db=x',
    'http://localhost:9092/?db=x&p=hunter2',
    'http://localhost:9092/?u=admin&p=hunter2&x=1',
    'http://localhost:9092/kapacitor?token=hunter2',
    'http://admin:hunter2@localhost:9092/?u=admin&p=hunter2',
    'http://admin:hun/ter2@localhost:9092',
    'http://admin:hunter2#x@localhost:9092',
    'ftp://admin:hunter2@localhost:9092',
    'http://admin:hunter2@localhost:99999',
])
def test_bad_urls_never_echo_their_password(url):
    with pytest.raises(InputError) as info:
        parse_base_url(url)
    assert 'hunter' not in str(info.value) and 'ter2' not in str(info.value)


@pytest.mark.parametrize('url, shown', [
    ('http://admin:hunter2@localhost:9092/x', 'http://localhost:9092/x'),
    ('http://ops:Pw%2FSec%23ret@kap:9092', 'http://kap:9092'),
    # Unencoded characters that end the authority early for urlsplit: the user info still goes, whole.
    ('http://ops:Pw/Sec#ret@kap:9092', 'http://kap:9092'),
    ('http://ops:Pw?Sec@kap:9092/', 'http://kap:9092/'),
    ('http://ops:p@ss@kap:9092', 'http://kap:9092'),
    ('http://u:p@[::1]:9092', 'http://[::1]:9092'),
    ('http://kap:9092/?u=ops&p=hunter2', 'http://kap:9092/?u=ops&p=********'),
    ('http://kap:9092/x?limit=1&Password=a&token=b', 'http://kap:9092/x?limit=1&Password=********&token=********'),
    ('http://kap:9092/?u=a@b.com&p=x', 'http://kap:9092/?u=a@b.com&p=********'),
    ('http://kap:9092/kapacitor/v1/api/v2/tasks?limit=500', 'http://kap:9092/kapacitor/v1/api/v2/tasks?limit=500'),
    (None, ''),
])
def test_redact_url_removes_every_form_of_credentials(url, shown):
    assert redact_url(url) == shown


@pytest.mark.parametrize('url, secrets', [
    ('http://ops:Pw%2FSec%23ret@kap:9092', {'Pw%2FSec%23ret', 'Pw/Sec#ret', 'ops:Pw%2FSec%23ret', 'ops:Pw/Sec#ret'}),
    ('http://ops:Pw/Sec#ret@kap:9092', {'Pw/Sec#ret', 'ops:Pw/Sec#ret'}),
    ('http://kap:9092/?u=ops&p=s3cr%26t+x', {'s3cr%26t+x', 's3cr&t x'}),
    ('http://ops@kap:9092', set()),
    ('http://kap:9092', set()),
    (None, set()),
])
def test_url_secrets_lists_the_password_as_written_and_decoded_never_the_user(url, secrets):
    assert url_secrets(url) == secrets


def test_credentials_http_cannot_carry_are_refused_without_quoting_them():
    with pytest.raises(InputError, match='username must not contain ":"'):
        KapacitorClient(server_type='kapacitor', url='http://127.0.0.1:9', username='a:b', password='pw-1')
    for token in ('abc def', 'abc\ndef', 'ab\u00e9'):
        with pytest.raises(InputError) as info:
            KapacitorClient(server_type='kapacitor', url='http://127.0.0.1:9', token=token)
        assert 'expected a JSON Web Token' in str(info.value) and 'abc' not in str(info.value)


def test_basic_credentials_are_sent_as_utf8_as_the_kapacitor_cli_does():
    client = KapacitorClient(server_type='kapacitor', url='http://127.0.0.1:9', username='jos\u00e9', password='\u043f\u0430\u0440\u043e\u043b\u044c')
    prepared = requests.Request('GET', 'http://127.0.0.1:9/', auth=client.session.auth).prepare()
    expected = base64.b64encode('jos\u00e9:\u043f\u0430\u0440\u043e\u043b\u044c'.encode('utf-8')).decode()
    assert prepared.headers['Authorization'] == 'Basic ' + expected


@pytest.mark.parametrize('text, message', [
    ('{"code":"not found","message":"failed to find task: task not found"}', 'failed to find task: task not found'),
    ('{"error":"authorization failed","message":"authorization failed"}', 'authorization failed'),
    ('{\n    "error": "Not Found",\n    "message": "Not Found"\n}', 'Not Found'),
    ('Method Not Allowed\n', 'Method Not Allowed'),
    ('<html><body><h1>502 Bad Gateway</h1></body></html>', '<html><body><h1>502 Bad Gateway</h1></body></html>'),
    ('', '(empty body)'),
])
def test_server_message_reads_all_three_error_shapes(text, message):
    assert server_message(FakeResponse(400, text)) == message


def test_hints_name_the_fix():
    disabled = FakeResponse(404, '{\n    "error": "Not Found",\n    "message": "Not Found"\n}')
    assert '[fluxtask] enabled = true' in _client.hint_for_status(404, 'Not Found', disabled)
    assert 'KAPACITOR_USERNAME' in _client.hint_for_status(401, 'authorization failed', FakeResponse(401, '{}'))
    assert 'privilege' in _client.hint_for_status(403, 'x', FakeResponse(403, '{}'))
    html = FakeResponse(404, '<html>nope</html>', 'text/html')
    assert 'does not look like Kapacitor' in _client.hint_for_status(404, 'nope', html)


def test_backoff_is_jittered_and_capped():
    for attempt in range(1, 12):
        delay = KapacitorClient._backoff(attempt)
        ceiling = min(_client.BACKOFF_CAP, _client.BACKOFF_BASE * 2 ** (attempt - 1))
        assert ceiling / 2 <= delay <= ceiling


# --------------------------------------------------------------------------- real transport failures

class RawServer:
    """A TCP server on 127.0.0.1 that treats each connection with ``behaviour(conn, request)``."""

    def __init__(self, behaviour):
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.url = 'http://127.0.0.1:%d' % self.port
        self.connections = []
        self.pings = []
        self.behaviour = behaviour
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, dummy = self.sock.accept()
            except OSError:
                return
            self.connections.append(conn)
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn):
        try:
            request = conn.recv(65536)
            if request.startswith(b'GET /kapacitor/v1/ping '):
                self.pings.append(request)
            self.behaviour(conn, request)
        except OSError:
            pass

    def stop(self):
        self.sock.close()
        for conn in self.connections:
            try:
                conn.close()
            except OSError:
                pass


def reset(conn, request):
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    conn.close()


def hang(conn, request):
    time.sleep(5)


def ping_only(conn, request):
    """Kapacitor's ping answers; every API request has its connection reset."""
    if request.startswith(b'GET /kapacitor/v1/ping '):
        conn.sendall(b'HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
        conn.close()
    else:
        reset(conn, request)


class JSONServer(LocalHTTPServer):
    """An HTTP server that answers every request with ``{"tasks": []}``; ``stop()`` closes its port for good."""

    def __init__(self):
        owner = self
        self.requests = 0

        class Handler(BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *args):  # pylint: disable=arguments-differ
                pass

            def do_GET(self):
                owner.requests += 1
                body = b'{"tasks": []}'
                self.send_response(200)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(body)))
                self.send_header('Connection', 'close')   # no kept-alive connection outlives stop()
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

            do_POST = do_GET

        super().__init__(Handler)


@pytest.fixture
def servers():
    started = []

    def start(server):
        started.append(server)
        return server
    yield start
    for server in started:
        server.stop()


def failure_of(url, **kwargs):
    try:
        requests.get(url, **kwargs)
    except requests.exceptions.RequestException as exc:
        return exc
    raise AssertionError('%s answered' % url)


def wrapped(error):
    """A requests exception as requests builds it, around a urllib3 error."""
    return urllib3.exceptions.MaxRetryError(None, '/kapacitor/v1/api/v2/tasks', error)


def test_refused_is_never_sent_and_not_worth_repeating():
    failure = classify(failure_of('http://127.0.0.1:%d/' % free_port(), timeout=5), 'http://127.0.0.1:1')
    assert (failure.kind, failure.sent, failure.transient, failure.connection_lost) == ('refused', False, False, True)
    assert 'Connection refused' in failure.text
    assert failure.hint == 'Nothing listens at http://127.0.0.1:1: check url (KAPACITOR_URL) and that Kapacitor is running'


def test_a_host_that_does_not_resolve_is_never_sent():
    failure = classify(failure_of('http://kapacitor.invalid:9092/', timeout=10), 'http://kapacitor.invalid:9092')
    assert (failure.kind, failure.sent, failure.transient, failure.connection_lost) == ('dns', False, False, True)
    assert failure.hint == 'The host name does not resolve: check url (KAPACITOR_URL)'


@pytest.mark.parametrize('text', ['[Errno -2] Name or service not known',
                                  '[Errno 8] nodename nor servname provided, or not known',
                                  '[Errno -3] Temporary failure in name resolution'])
def test_every_platforms_dns_failure_is_never_sent(text):
    """The hint and "was it sent?" used to disagree here: on macOS a retry POST to a bad name looked ambiguous."""
    inner = urllib3.exceptions.NewConnectionError(None, 'Failed to establish a new connection: %s' % text)
    failure = classify(requests.exceptions.ConnectionError(wrapped(inner)), 'http://kap:9092')
    assert (failure.kind, failure.sent, failure.transient) == ('dns', False, False)
    assert 'does not resolve' in failure.hint


def test_a_post_that_was_never_sent_is_not_ambiguous():
    client = KapacitorClient(server_type='kapacitor', url='http://kapacitor.invalid:9092', timeout=10)
    with pytest.raises(RequestError) as info:
        client.retry_run('0a1b2c3d4e5f6789', '0b1b2c3d4e5f6789', 10)
    assert not isinstance(info.value, AmbiguousRequest) and info.value.sent is False


def test_no_route_to_the_host_is_never_sent():
    inner = urllib3.exceptions.NewConnectionError(None, 'Failed to establish a new connection: [Errno 113] No route to host')
    failure = classify(requests.exceptions.ConnectionError(wrapped(inner)), 'http://kap:9092')
    assert (failure.kind, failure.sent, failure.transient, failure.connection_lost) == ('unreachable', False, False, True)
    assert 'no route to the host' in failure.hint


def test_a_request_that_requests_refused_to_build_is_never_sent_and_not_a_connection_failure():
    failure = classify(requests.exceptions.InvalidURL('Invalid URL'), 'http://kap:9092')
    assert (failure.kind, failure.sent, failure.transient, failure.connection_lost) == ('invalid', False, False, False)


def test_a_connect_timeout_is_never_sent():
    inner = urllib3.exceptions.ConnectTimeoutError(None, 'Connection to kap timed out. (connect timeout=1)')
    failure = classify(requests.exceptions.ConnectTimeout(wrapped(inner)), 'http://kap:9092')
    assert (failure.kind, failure.sent, failure.transient, failure.connection_lost) == ('connect_timeout', False, False, True)
    assert 'raise timeout' in failure.hint


def test_a_read_timeout_was_sent_and_is_not_repeated(servers):
    server = servers(RawServer(hang))
    failure = classify(failure_of(server.url, timeout=0.3), server.url)
    assert (failure.kind, failure.sent, failure.transient, failure.connection_lost) == ('read_timeout', True, False, True)


def test_a_reset_was_sent_and_is_worth_repeating_for_a_safe_request(servers):
    server = servers(RawServer(reset))
    failure = classify(failure_of(server.url, timeout=5), server.url)
    assert (failure.kind, failure.sent, failure.transient, failure.connection_lost) == ('disconnected', True, True, True)
    assert 'use https://' in failure.hint   # http:// to a server that hangs up: perhaps it speaks TLS


def test_tls_to_a_plain_http_server(servers):
    server = servers(JSONServer())
    url = server.url.replace('http://', 'https://')
    failure = classify(failure_of(url, timeout=5), url)
    assert (failure.kind, failure.sent, failure.connection_lost) == ('tls_version', False, False)
    assert 'use http:// instead of https://' in failure.hint


def test_tls_certificate_and_handshake_failures():
    verify = ssl.SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: '
                                             'self-signed certificate (_ssl.c:1006)')
    failure = classify(requests.exceptions.SSLError(wrapped(urllib3.exceptions.SSLError(verify))), 'https://kap:9092')
    assert (failure.kind, failure.sent, failure.connection_lost) == ('cert_verify', False, False)
    assert 'set ca_path' in failure.hint
    alert = ssl.SSLError(1, '[SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] tlsv13 alert certificate required (_ssl.c:2580)')
    failure = classify(requests.exceptions.SSLError(wrapped(urllib3.exceptions.SSLError(alert))), 'https://kap:9092')
    # The alert may come after a TLS 1.3 client has written its request: sent, to be safe.
    assert (failure.kind, failure.sent) == ('tls_handshake', True)
    assert 'set client_cert and client_key' in failure.hint


# --------------------------------------------------------------------------- the circuit breaker

class Sleeps(list):
    def __call__(self, seconds):
        self.append(seconds)


def test_a_server_that_answered_then_vanished_gets_a_fitting_hint_and_then_the_breaker(servers):
    server = servers(JSONServer())
    sleeps = Sleeps()
    client = KapacitorClient(server_type='kapacitor', url=server.url, timeout=5, sleep=sleeps)
    assert client.list_tasks_page(10) == []
    server.stop()
    errors = []
    for dummy in range(_client.BREAKER_THRESHOLD):
        with pytest.raises(RequestError) as info:
            client.list_tasks_page(10)
        errors.append(info.value)
    assert 'Connection refused' in str(errors[0]) and not isinstance(errors[0], ServerUnreachable)
    for error in errors[:-1]:
        assert 'answered earlier in this call, then stopped' in error.hint and 'check url' not in str(error)
    # The third failure in a row, and a ping that got no answer either: the breaker is open.
    assert isinstance(errors[-1], ServerUnreachable)
    started = time.monotonic()
    with pytest.raises(ServerUnreachable) as get:
        client.list_runs_page('0a1b2c3d4e5f6789', {'limit': 1})
    with pytest.raises(ServerUnreachable) as post:
        client.retry_run('0a1b2c3d4e5f6789', '0b1b2c3d4e5f6789', 30)
    assert time.monotonic() - started < 0.5
    assert str(get.value) == str(post.value) == str(errors[-1])
    assert str(get.value) == ('Kapacitor at %s became unreachable during the call: Failed to establish a new connection: '
                              '[Errno 111] Connection refused. Kapacitor answered earlier in this call, then stopped: '
                              'check that Kapacitor is still running' % server.url)
    assert post.value.sent is False and post.value.method == 'POST'
    assert client.unreachable == str(post.value)
    assert sleeps == []


def test_a_server_that_never_answered_keeps_its_hint_and_backoff_stops_when_the_breaker_opens(servers):
    server = servers(RawServer(reset))
    sleeps = Sleeps()
    client = KapacitorClient(server_type='kapacitor', url=server.url, timeout=5, sleep=sleeps)
    with pytest.raises(ServerUnreachable) as info:
        client.list_tasks_page(10)
    # Two resets backed off, the third opened the breaker (its ping was reset too): no more sleeps, not 5 of them.
    assert len(sleeps) == _client.BREAKER_THRESHOLD - 1
    assert len(server.connections) == _client.BREAKER_THRESHOLD + 1
    assert len(server.pings) == 1
    assert str(info.value).startswith('Kapacitor at %s is unreachable: Connection aborted' % server.url)
    assert 'use https://' in info.value.hint and 'answered earlier' not in info.value.hint
    with pytest.raises(ServerUnreachable):
        client.list_tasks_page(10)
    assert len(server.connections) == _client.BREAKER_THRESHOLD + 1 and len(sleeps) == _client.BREAKER_THRESHOLD - 1


def test_a_ping_that_answers_keeps_the_breaker_closed(servers):
    """Failures in a row that a live server explains (resets of some requests) must not stop the module."""
    server = servers(RawServer(ping_only))
    sleeps = Sleeps()
    client = KapacitorClient(server_type='kapacitor', url=server.url, timeout=5, sleep=sleeps)
    with pytest.raises(RequestError) as info:
        client.list_tasks_page(10)
    assert not isinstance(info.value, ServerUnreachable) and client.unreachable is None
    assert len(sleeps) == _client.SAFE_RETRIES
    assert 'Connection aborted' in str(info.value)


def test_the_breaker_is_shared_by_threads(servers):
    server = servers(JSONServer())
    client = KapacitorClient(server_type='kapacitor', url=server.url, timeout=5, pool_size=8, sleep=Sleeps())
    assert client.list_tasks_page(10) == []
    server.stop()

    def call(dummy):
        try:
            client.list_tasks_page(10)
        except RequestError as exc:
            return exc
        return None
    with ThreadPoolExecutor(max_workers=8) as pool:
        errors = list(pool.map(call, range(64)))
    assert all(isinstance(error, RequestError) for error in errors)
    unreachable = [error for error in errors if isinstance(error, ServerUnreachable)]
    assert len(unreachable) >= 64 - 8 * _client.BREAKER_THRESHOLD
    assert len({str(error) for error in unreachable}) == 1


# --------------------------------------------------------------------------- path prefix, http_retries, use_proxy

def answer(status, body=b'{"tasks": []}'):
    """A RawServer behaviour: every request answered with ``status`` and ``body``; the request lines are kept."""
    def behaviour(conn, request):
        reason = {200: 'OK', 503: 'Service Unavailable'}.get(status, 'X')
        conn.sendall(b'HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n'
                     b'Connection: close\r\n\r\n%s' % (status, reason.encode(), len(body), body))
        conn.close()
    return behaviour


def request_lines(server):
    return [conn_request.split(b'\r\n', 1)[0].decode() for conn_request in server.requests]


class RecordingServer(RawServer):
    """A RawServer that keeps every request it got."""

    def __init__(self, behaviour):
        self.requests = []

        def recorded(conn, request):
            self.requests.append(request)
            behaviour(conn, request)
        super().__init__(recorded)


def test_a_path_prefix_is_sent_before_the_api_path_and_the_ping_and_names_its_own_lock(servers):
    server = servers(RecordingServer(answer(200)))
    client = KapacitorClient(server_type='kapacitor', url=server.url + '/kapacitor-eu/', timeout=5, sleep=Sleeps())
    assert client.base_url == server.url + '/kapacitor-eu'
    assert client.list_tasks_page(10) == [] and client._ping()
    assert request_lines(server) == ['GET /kapacitor-eu/kapacitor/v1/api/v2/tasks?limit=10 HTTP/1.1',
                                     'GET /kapacitor-eu/kapacitor/v1/ping HTTP/1.1']
    # Two Kapacitors behind one gateway are two servers: each has its own lock.
    other = KapacitorClient(server_type='kapacitor', url=server.url + '/kapacitor-us', timeout=5)
    assert lock_path(client.base_url) != lock_path(other.base_url)
    assert lock_path(client.base_url) == lock_path(KapacitorClient(server_type='kapacitor', url=server.url + '/kapacitor-eu').base_url)


@pytest.mark.parametrize('retries', [0, 2, _client.SAFE_RETRIES])
def test_http_retries_is_how_often_a_get_is_sent_again_and_a_post_never_is(servers, retries):
    server = servers(RecordingServer(answer(503, b'{"code": "unavailable", "message": "busy"}')))
    sleeps = Sleeps()
    client = KapacitorClient(server_type='kapacitor', url=server.url, timeout=5, sleep=sleeps, http_retries=retries)
    with pytest.raises(RequestError) as info:
        client.list_tasks_page(10)
    assert info.value.status == 503 and 'busy' in str(info.value)
    assert len(server.requests) == retries + 1 and len(sleeps) == retries
    assert client.retry_run('0a1b2c3d4e5f6789', '0b1b2c3d4e5f6789', 5)[0] == 503
    assert len(server.requests) == retries + 2


def test_the_default_http_retries_is_five():
    assert KapacitorClient(server_type='kapacitor', url='http://127.0.0.1:9').http_retries == _client.SAFE_RETRIES == 5


@pytest.mark.parametrize('value', [-1, True, '3', 2.5])
def test_a_bad_http_retries_is_refused_naming_it(value):
    with pytest.raises(InputError, match='http_retries must be a whole number of 0 or more, got'):
        KapacitorClient(server_type='kapacitor', url='http://127.0.0.1:9', http_retries=value)


@pytest.fixture
def env_proxy(monkeypatch):
    """HTTP_PROXY set (with credentials) to a port where nothing listens; NO_PROXY empty, so 127.0.0.1 goes through it."""
    for name in ('http_proxy', 'https_proxy', 'all_proxy', 'no_proxy', 'HTTPS_PROXY', 'ALL_PROXY', 'NO_PROXY'):
        monkeypatch.delenv(name, raising=False)
    port = free_port()
    monkeypatch.setenv('HTTP_PROXY', 'http://pxuser:Proxy-pw-4Tg@127.0.0.1:%d' % port)
    return 'http://127.0.0.1:%d' % port


def test_a_failure_through_a_proxy_names_the_proxy_without_its_password(servers, env_proxy):
    server = servers(RecordingServer(answer(200)))
    client = KapacitorClient(server_type='kapacitor', url=server.url, timeout=5, sleep=Sleeps())
    assert client.proxy == (env_proxy, 'HTTP_PROXY')
    with pytest.raises(RequestError) as info:
        client.list_tasks_page(10)
    text = str(info.value)
    assert 'through the proxy %s (from HTTP_PROXY)' % env_proxy in text
    assert 'set use_proxy: false' in info.value.hint and 'Nothing listens at %s' % server.url not in text
    assert 'Proxy-pw-4Tg' not in text and server.requests == []


def test_use_proxy_false_ignores_the_proxy_of_the_environment(servers, env_proxy):
    server = servers(RecordingServer(answer(200)))
    client = KapacitorClient(server_type='kapacitor', url=server.url, timeout=5, use_proxy=False)
    assert client.proxy is None
    assert client.list_tasks_page(10) == []
    assert request_lines(server) == ['GET /kapacitor/v1/api/v2/tasks?limit=10 HTTP/1.1']


def test_a_working_proxy_gets_the_request_and_no_proxy_exempts_the_host(servers, monkeypatch):
    """The request really goes through the proxy of the environment (absolute URI, as HTTP proxies are sent)."""
    proxy = servers(RecordingServer(answer(200)))
    for name in ('http_proxy', 'no_proxy', 'all_proxy', 'ALL_PROXY'):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('HTTP_PROXY', proxy.url)
    monkeypatch.setenv('NO_PROXY', '')
    target = 'http://kapacitor.invalid:9092/eu'
    assert KapacitorClient(server_type='kapacitor', url=target, timeout=5).list_tasks_page(10) == []
    assert request_lines(proxy) == ['GET http://kapacitor.invalid:9092/eu/kapacitor/v1/api/v2/tasks?limit=10 HTTP/1.1']
    monkeypatch.setenv('NO_PROXY', 'kapacitor.invalid')
    assert KapacitorClient(server_type='kapacitor', url=target, timeout=5).proxy is None
