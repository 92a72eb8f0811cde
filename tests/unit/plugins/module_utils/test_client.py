# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the client: URL handling and redaction, error shapes, hints, backoff, the one classifier of
transport failures (fed real failures: a closed port, an unresolvable ``.invalid`` host, tiny local servers that
hang, reset or answer plain HTTP to TLS) and the circuit breaker."""


import base64
import email.utils
import socket
import ssl
import struct
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler

import pytest
import urllib3
from urllib3._collections import HTTPHeaderDict

from ansible_collections.tickstack.kapacitor.plugins.module_utils import _client
from ansible_collections.tickstack.kapacitor.plugins.module_utils._client import (
    KapacitorClient,
    classify,
    server_message,
)
from ansible_collections.tickstack.kapacitor.plugins.module_utils._errors import (
    AmbiguousRequest,
    InputError,
    RateLimited,
    RequestError,
    ServerUnreachable,
)
from ansible_collections.tickstack.kapacitor.plugins.module_utils._lock import lock_path
from ansible_collections.tickstack.kapacitor.plugins.module_utils._urls import parse_base_url, redact_url, url_secrets
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


def test_basic_credentials_are_sent_as_utf8_as_the_kapacitor_cli_does(servers):
    server = servers(RecordingServer(answer(200)))
    client = KapacitorClient(server_type='kapacitor', url=server.url, username='jos\u00e9', password='\u043f\u0430\u0440\u043e\u043b\u044c',
                             timeout=5, use_proxy=False)
    assert client.list_tasks_page(10) == []
    expected = base64.b64encode('jos\u00e9:\u043f\u0430\u0440\u043e\u043b\u044c'.encode('utf-8')).decode()
    assert authorization(server) == ['Basic ' + expected]


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


def failure_of(url, timeout):
    """The exception a GET of ``url`` fails with, as the client's transport raises it."""
    client = KapacitorClient(server_type='kapacitor', url=url, use_proxy=False)
    try:
        client._request('GET', url, None, timeout)
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        return exc
    raise AssertionError('%s answered' % url)


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
    failure = classify(inner, 'http://kap:9092')
    assert (failure.kind, failure.sent, failure.transient) == ('dns', False, False)
    assert 'does not resolve' in failure.hint


def test_a_post_that_was_never_sent_is_not_ambiguous():
    client = KapacitorClient(server_type='kapacitor', url='http://kapacitor.invalid:9092', timeout=10)
    with pytest.raises(RequestError) as info:
        client.retry_run('0a1b2c3d4e5f6789', '0b1b2c3d4e5f6789', 10)
    assert not isinstance(info.value, AmbiguousRequest) and info.value.sent is False


def test_no_route_to_the_host_is_never_sent():
    inner = urllib3.exceptions.NewConnectionError(None, 'Failed to establish a new connection: [Errno 113] No route to host')
    failure = classify(inner, 'http://kap:9092')
    assert (failure.kind, failure.sent, failure.transient, failure.connection_lost) == ('unreachable', False, False, True)
    assert 'no route to the host' in failure.hint


def test_a_request_that_urllib3_refused_to_build_is_never_sent_and_not_a_connection_failure():
    failure = classify(urllib3.exceptions.LocationParseError('kap:port'), 'http://kap:9092')
    assert (failure.kind, failure.sent, failure.transient, failure.connection_lost) == ('invalid', False, False, False)


def test_a_connect_timeout_is_never_sent():
    inner = urllib3.exceptions.ConnectTimeoutError(None, 'Connection to kap timed out. (connect timeout=1)')
    failure = classify(inner, 'http://kap:9092')
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
    failure = classify(urllib3.exceptions.SSLError(verify), 'https://kap:9092')
    assert (failure.kind, failure.sent, failure.connection_lost) == ('cert_verify', False, False)
    assert 'set ca_path' in failure.hint
    alert = ssl.SSLError(1, '[SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] tlsv13 alert certificate required (_ssl.c:2580)')
    failure = classify(urllib3.exceptions.SSLError(alert), 'https://kap:9092')
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


def post_while_pinging(client, alive):
    """Three failed GETs make one thread ping (a ping held until ``verdict`` is set, then saying ``alive``); a retry
    POST is sent while it is pending. Returns the POST's future, ``verdict`` and the pinging thread's future."""
    pinging, verdict = threading.Event(), threading.Event()

    def slow_ping():
        pinging.set()
        verdict.wait(10)
        return alive
    client._ping = slow_ping
    first = ThreadPoolExecutor(max_workers=1).submit(
        lambda: [pytest.raises(RequestError, client.list_tasks_page, 10) for dummy in range(_client.BREAKER_THRESHOLD)])
    assert pinging.wait(10)
    post = ThreadPoolExecutor(max_workers=1).submit(client.retry_run, '0a1b2c3d4e5f6789', '0b1b2c3d4e5f6789', 10)
    return post, verdict, first


def test_a_post_refused_while_another_thread_pings_waits_for_the_verdict_and_reports_the_shared_reason(servers):
    """A fast client fails many requests to a dead server while one thread's ping decides: each must report the one
    shared reason, not a reason of its own (a POST never sent included)."""
    server = servers(JSONServer())
    client = KapacitorClient(server_type='kapacitor', url=server.url, timeout=5, sleep=Sleeps(), http_retries=0)
    assert client.list_tasks_page(10) == []
    server.stop()
    post, verdict, first = post_while_pinging(client, alive=False)
    time.sleep(0.3)
    assert not post.done()   # it waits for the ping's verdict
    verdict.set()
    first.result(10)
    with pytest.raises(ServerUnreachable) as info:
        post.result(10)
    assert str(info.value).startswith('Kapacitor at %s became unreachable during the call' % server.url)


def test_a_post_that_was_sent_does_not_wait_for_a_ping_and_stays_ambiguous(servers):
    """Only a request that was never sent waits for the verdict: a POST whose connection was reset after it was sent
    is ambiguous at once, and its time towards retry_timeout is not spent waiting."""
    server = servers(RawServer(reset))
    client = KapacitorClient(server_type='kapacitor', url=server.url, timeout=5, sleep=Sleeps(), http_retries=0)
    post, verdict, first = post_while_pinging(client, alive=True)
    try:
        with pytest.raises(AmbiguousRequest):
            post.result(3)   # while the ping is still pending
    finally:
        verdict.set()
    first.result(10)


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


@pytest.mark.parametrize('quoted', ['http://pxuser:Proxy-pw-4Tg@127.0.0.1', 'pxuser:Proxy-pw-4Tg', 'Proxy-pw-4Tg'])
def test_a_transport_message_that_quotes_the_proxy_password_is_scrubbed(monkeypatch, env_proxy, quoted):
    """Whatever urllib3 puts in an exception's text, the proxy's password never goes out in a message."""
    client = KapacitorClient(server_type='kapacitor', url='http://10.9.8.7:9092', timeout=5, sleep=Sleeps(), http_retries=0)

    def refuse(manager, *args, **kwargs):
        raise urllib3.exceptions.ProxyError('Unable to connect to proxy %s' % quoted, OSError('connection refused'))
    monkeypatch.setattr(urllib3.PoolManager, 'request', refuse)
    with pytest.raises(RequestError) as info:
        client.list_tasks_page(10)
    text = str(info.value)
    assert 'Unable to connect to proxy' in text and '********' in text
    assert 'Proxy-pw-4Tg' not in text and 'Proxy-pw-4Tg' not in (info.value.hint or '')


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


# --------------------------------------------------------------------------- InfluxDB 2: detection, token, org, errors

INFLUX_HEADERS = {'X-Influxdb-Build': 'OSS', 'X-Influxdb-Version': 'v2.7.12'}
ORG_ID = '0000000000000a01'


class PingResponse(FakeResponse):
    """An answer to ``GET {base}/ping`` with these headers."""

    def __init__(self, status, text='', headers=None, content_type=None):
        super().__init__(status, text)
        self.headers = HTTPHeaderDict(headers or {})
        if content_type:
            self.headers['Content-Type'] = content_type
        self.url = 'http://127.0.0.1:8086/ping'


@pytest.mark.parametrize('response, found', [
    (PingResponse(404, '{"error":"not found"}', {'X-Kapacitor-Version': '1.8.3'}, 'application/json'), ('kapacitor', '1.8.3')),
    (PingResponse(401, '', {'X-Kapacitor-Version': '1.7.0'}), ('kapacitor', '1.7.0')),
    (PingResponse(204, '', INFLUX_HEADERS), ('influxdb2', 'v2.7.12')),
    (PingResponse(204, '', {'X-Influxdb-Version': '2.2.0'}), ('influxdb2', '2.2.0')),
    (PingResponse(204, ''), ('influxdb2', None)),                                   # InfluxDB Cloud: no version header
    (PingResponse(204, '', {'X-Influxdb-Version': ''}), ('influxdb2', None)),
])
def test_detection_tells_kapacitor_from_influxdb2_oss_and_cloud(response, found):
    assert _client.identify_server(response) == found


@pytest.mark.parametrize('response, expected', [
    (PingResponse(204, '', {'X-Influxdb-Version': '1.8.10', 'X-Influxdb-Build': 'OSS'}),
     ['InfluxDB 1.8.10 answered', 'InfluxDB 1.x has no task engine', 'Point url at Kapacitor or at InfluxDB 2']),
    (PingResponse(200, '{"version":"3.2.1","revision":"abc","process_id":"x"}', {'X-Influxdb-Build': 'Core'},
                  'application/json'),
     ['InfluxDB 3.2.1 answered', 'InfluxDB 3 has no Flux tasks']),
    (PingResponse(200, '{"version":"3.0.0"}', {'X-Influxdb-Version': '3.0.0'}, 'application/json'),
     ['InfluxDB 3.0.0 answered', 'no Flux tasks']),
    (PingResponse(200, '<html><head><title>Sign in</title></head></html>', {}, 'text/html'),
     ["HTTP 200: an HTML page titled 'Sign in' (text/html), without an X-Kapacitor-Version or X-Influxdb-Version header",
      'neither Kapacitor nor InfluxDB 2 answered', 'set server_type']),
    (PingResponse(200, '{"status":"pass","version":"2.7.1"}', {}, 'application/json'),
     ['HTTP 200: {"status":"pass","version":"2.7.1"}', 'neither Kapacitor nor InfluxDB 2']),
    (PingResponse(404, '404 page not found\n', {}, 'text/plain'),
     ['HTTP 404: 404 page not found (text/plain)', 'does not look like Kapacitor or InfluxDB 2: check url']),
    (PingResponse(502, '<html><title>502 Bad Gateway</title></html>', {}, 'text/html'),
     ["HTTP 502: an HTML page titled '502 Bad Gateway'", 'A proxy or Kapacitor or InfluxDB is unavailable']),
])
def test_detection_refuses_influxdb_1_and_3_and_anything_else_saying_what_answered(response, expected):
    with pytest.raises(RequestError) as info:
        _client.identify_server(response)
    for text in expected:
        assert text in str(info.value)
    assert info.value.method == 'GET' and info.value.url == 'http://127.0.0.1:8086/ping'


def routed(routes):
    """A RawServer behaviour: the answer ``(status, body, headers)`` of the first route whose prefix starts the request
    line (``'GET /ping'``); anything else is a Kapacitor-less 404."""
    def behaviour(conn, request):
        line = request.split(b'\r\n', 1)[0].decode()
        status, body, headers = next((answer for prefix, answer in routes if line.startswith(prefix)),
                                     (404, b'404 page not found', {'Content-Type': 'text/plain'}))
        head = ''.join('%s: %s\r\n' % item for item in dict({'Content-Type': 'application/json'}, **headers).items())
        conn.sendall(b'HTTP/1.1 %d X\r\n%sContent-Length: %d\r\nConnection: close\r\n\r\n%s'
                     % (status, head.encode(), len(body), body))
        conn.close()
    return behaviour


def influx(routes=()):
    """An InfluxDB 2 OSS: its ping, an empty task list, the UI page for any other path (as its asset handler)."""
    return routed(list(routes) + [
        ('GET /ping', (204, b'', INFLUX_HEADERS)),
        ('GET /eu/ping', (204, b'', INFLUX_HEADERS)),
        ('GET /api/v2/tasks', (200, b'{"tasks": []}', INFLUX_HEADERS)),
        ('GET /eu/api/v2/tasks', (200, b'{"tasks": []}', INFLUX_HEADERS)),
        ('', (200, b'<!doctype html><html><head><title>InfluxDB</title></head></html>',
              dict(INFLUX_HEADERS, **{'Content-Type': 'text/html; charset=utf-8'}))),
    ])


def kapacitor(prefix=''):
    """A Kapacitor (behind ``prefix``): its version header on every answer, the 404 for the root /ping included."""
    header = {'X-Kapacitor-Version': '1.8.3'}
    return routed([('GET %s/kapacitor/v1/api/v2/tasks' % prefix, (200, b'{"tasks": []}', header)),
                   ('', (404, b'{"error":"Not Found","message":"Not Found"}', header))])


def authorization(server):
    return [next((line.split(b': ', 1)[1].decode() for line in request.split(b'\r\n')
                  if line.lower().startswith(b'authorization:')), None) for request in server.requests]


def test_auto_detects_with_one_ping_then_sends_the_token_as_influxdb_wants_it(servers):
    server = servers(RecordingServer(influx()))
    client = KapacitorClient(url=server.url, token='influx-api-token==', org_id=ORG_ID, timeout=5)
    assert client.server == {'type': 'influxdb2', 'version': 'v2.7.12'} and client.server_type == 'influxdb2'
    assert client.list_tasks_page(10) == []
    assert request_lines(server) == ['GET /ping HTTP/1.1', 'GET /api/v2/tasks?orgID=%s&limit=10 HTTP/1.1' % ORG_ID]
    # The ping went before the scheme was known: without the token.
    assert authorization(server) == [None, 'Token influx-api-token==']


def test_auto_finds_kapacitor_by_its_version_header_and_sends_the_token_as_bearer(servers):
    server = servers(RecordingServer(kapacitor('/kap')))
    client = KapacitorClient(url=server.url + '/kap', token='a.b.c', org='ignored', timeout=5)
    assert client.detect() == {'type': 'kapacitor', 'version': '1.8.3'}
    assert client.list_tasks_page(10) == []
    # Kapacitor has no orgs: none is sent (it would ignore it).
    assert request_lines(server) == ['GET /kap/ping HTTP/1.1', 'GET /kap/kapacitor/v1/api/v2/tasks?limit=10 HTTP/1.1']
    assert authorization(server) == [None, 'Bearer a.b.c']


def test_an_explicit_server_type_sends_no_ping_and_takes_the_path_prefix_and_the_version_from_answers(servers):
    server = servers(RecordingServer(influx()))
    client = KapacitorClient(url=server.url + '/eu/', server_type='influxdb2', token='t0k', org='sim-org', timeout=5)
    assert client.server == {'type': 'influxdb2', 'version': None}
    assert client.list_tasks_page(10) == []
    assert request_lines(server) == ['GET /eu/api/v2/tasks?org=sim-org&limit=10 HTTP/1.1']
    assert authorization(server) == ['Token t0k'] and client.server['version'] == 'v2.7.12'
    assert client._ping() and request_lines(server)[-1] == 'GET /eu/ping HTTP/1.1'  # the breaker's ping, InfluxDB's path


def test_a_refused_detection_fails_the_first_request_and_sends_nothing_else(servers):
    server = servers(RecordingServer(routed([('GET /ping', (204, b'', {'X-Influxdb-Version': '1.8.10'}))])))
    client = KapacitorClient(url=server.url, timeout=5)
    with pytest.raises(RequestError, match='InfluxDB 1.8.10 answered: InfluxDB 1.x has no task engine'):
        client.list_tasks_page(10)
    assert request_lines(server) == ['GET /ping HTTP/1.1']


def test_listing_tasks_on_influxdb_without_an_org_is_refused_before_any_request(servers):
    server = servers(RecordingServer(influx()))
    client = KapacitorClient(url=server.url, server_type='influxdb2', token='t0k', timeout=5)
    assert not client.lists_every_task
    with pytest.raises(InputError) as info:
        client.list_tasks_page(10, name='cpu')
    assert str(info.value).startswith('org or org_id (INFLUX_ORG, INFLUX_ORG_ID) is required to list the tasks of InfluxDB')
    assert 'task_id' in str(info.value) and server.requests == []


@pytest.mark.parametrize('kwargs, message', [
    ({'server_type': 'influx'}, "server_type must be auto, kapacitor or influxdb2, got 'influx'"),
    ({'org': 'a', 'org_id': ORG_ID}, 'org and org_id are mutually exclusive'),
    ({'org': '  '}, "org must be the name of an InfluxDB organization, got '  '"),
    ({'org_id': 'my-org'}, "org_id must be the 16 hexadecimal characters of an InfluxDB organization ID (as influx org list "
                           "shows it), got 'my-org'"),
    ({'url': 'http://influx:8086/api/v2'}, "url 'http://influx:8086/api/v2' must be the server's base URL"),
])
def test_bad_influxdb_options_are_refused_naming_them(kwargs, message):
    with pytest.raises(InputError) as info:
        KapacitorClient(**dict({'url': 'http://127.0.0.1:9'}, **kwargs))
    assert message in str(info.value)


def test_the_default_url_follows_the_server_type():
    assert KapacitorClient(server_type='influxdb2').base_url == 'http://localhost:8086'
    assert KapacitorClient(server_type='kapacitor').base_url == KapacitorClient().base_url == 'http://localhost:9092'


def test_influxdbs_web_page_for_a_kapacitor_path_is_an_error_never_a_success(servers):
    server = servers(RecordingServer(influx()))
    client = KapacitorClient(url=server.url, server_type='kapacitor', timeout=5)
    with pytest.raises(RequestError) as info:
        client.list_tasks_page(10)
    text = str(info.value)
    assert "HTTP 200 with a body that is not JSON (text/html; charset=utf-8): an HTML page titled 'InfluxDB'" in text
    assert 'InfluxDB v2.7.12 answered, with its web UI: this is not Kapacitor. Set server_type: influxdb2' in text
    # A POST too: InfluxDB serves the page for it, and nothing was retried.
    with pytest.raises(RequestError, match='not JSON'):
        client.retry_run('0a1b2c3d4e5f6789', '0b1b2c3d4e5f6789', 5)
    assert request_lines(server)[-1] == 'POST /kapacitor/v1/api/v2/tasks/0a1b2c3d4e5f6789/runs/0b1b2c3d4e5f6789/retry HTTP/1.1'


@pytest.mark.parametrize('route, answer, expected', [
    ('GET /api/v2/tasks', (401, b'{"code":"unauthorized","message":"unauthorized access"}', {}),
     ['HTTP 401: unauthorized access', 'InfluxDB rejected the credentials: set token (INFLUX_TOKEN)']),
    ('GET /api/v2/tasks', (403, b'{"code":"forbidden","message":"User is inactive"}', {}),
     ['HTTP 403: User is inactive', "read and write on the org's tasks"]),
    ('GET /api/v2/tasks', (405, b'{"code":"method not allowed","message":"allow: GET, POST"}', {}),
     ['HTTP 405: allow: GET, POST', 'InfluxDB has no such API path or method']),
    ('GET /api/v2/tasks', (404, b'{"code":"not found","message":"path not found"}', {}),
     ['HTTP 404: path not found', 'InfluxDB 2.2 or later']),
    ('GET /api/v2/tasks', (400, b'{"code":"invalid","message":"failed to decode request: org x not found or '
                                b'unauthorized: org not found or unauthorized"}', {}),
     ['HTTP 400: failed to decode request: org x not found or unauthorized']),
    ('GET /api/v2/tasks', (500, b'{"code":"internal error","message":"An internal error has occurred - check server logs"}', {}),
     ['HTTP 500: An internal error has occurred - check server logs', "see InfluxDB's log"]),
])
def test_influxdb_error_bodies_give_its_message_and_a_hint_for_influxdb(servers, route, answer, expected):
    server = servers(RecordingServer(influx([(route, answer)])))
    client = KapacitorClient(url=server.url, server_type='influxdb2', org='x', timeout=5, http_retries=0)
    with pytest.raises(RequestError) as info:
        client.list_tasks_page(10)
    for text in expected:
        assert text in str(info.value)


def test_runs_of_a_task_influxdb_does_not_know_are_none_as_on_kapacitor(servers):
    not_found = (404, b'{"code":"not found","message":"failed to find runs: task not found"}', {})
    server = servers(RecordingServer(influx([
        ('GET /api/v2/tasks/0a1b2c3d4e5f6789/runs/', (404, b'{"code":"not found","message":"failed to find run: run not found"}', {})),
        ('GET /api/v2/tasks/0a1b2c3d4e5f6789/runs', not_found),
        ('GET /api/v2/tasks/0a1b2c3d4e5f6789', (404, b'{"code":"not found","message":"failed to find task: task not found"}', {})),
        ('GET /api/v2/tasks/0a1b2c3d4e5f0000/runs', (500, b'{"code":"internal error","message":"failed to find runs: unauthorized"}', {})),
    ])))
    client = KapacitorClient(url=server.url, server_type='influxdb2', timeout=5, http_retries=0)
    assert client.list_runs_page('0a1b2c3d4e5f6789', {'limit': 10}) == []
    assert client.get_task('0a1b2c3d4e5f6789') is None
    assert client.get_run('0a1b2c3d4e5f6789', '0b1b2c3d4e5f6789') is None
    with pytest.raises(RequestError, match='failed to find runs: unauthorized'):
        client.list_runs_page('0a1b2c3d4e5f0000', {'limit': 10})


@pytest.mark.parametrize('query, answer, horizon', [
    ('orgID=%s' % ORG_ID, (200, b'{"buckets":[{"name":"_tasks","retentionRules":[{"type":"expire","everySeconds":86400}]}]}', {}), 86400),
    ('orgID=%s' % ORG_ID, (200, b'{"buckets":[{"name":"_tasks","retentionRules":[]}]}', {}), 14 * 86400),
    ('orgID=%s' % ORG_ID, (200, b'{"buckets":[{"name":"_tasks","retentionRules":[{"type":"expire","everySeconds":0}]}]}', {}),
     14 * 86400),
    ('orgID=%s' % ORG_ID, (200, b'{"buckets":[{"name":"_tasks","retentionRules":[{"type":"expire","everySeconds":9999999}]}]}', {}),
     14 * 86400),
    ('orgID=%s' % ORG_ID, (200, b'{"buckets":[]}', {}), 3 * 86400),
    ('orgID=%s' % ORG_ID, (401, b'{"code":"unauthorized","message":"read:buckets is unauthorized"}', {}), 3 * 86400),
    ('org=sim-org', (200, b'{"buckets":[{"name":"_tasks","retentionRules":[{"type":"expire","everySeconds":7200}]}]}', {}), 7200),
])
def test_the_influxdb_horizon_is_the_tasks_bucket_retention_else_three_days(servers, query, answer, horizon):
    server = servers(RecordingServer(influx([('GET /api/v2/buckets', answer)])))
    org = {'org': 'sim-org'} if query.startswith('org=') else {'org_id': ORG_ID}
    client = KapacitorClient(url=server.url, server_type='influxdb2', timeout=5, http_retries=0, **org)
    assert client.horizon_seconds() == horizon and client.horizon_seconds() == horizon
    assert request_lines(server) == ['GET /api/v2/buckets?%s&name=_tasks HTTP/1.1' % query]  # asked once


@pytest.mark.parametrize('date, offset', [
    (lambda: email.utils.formatdate(time.time() - 1200, usegmt=True), -1200),  # 20 minutes behind
    (lambda: email.utils.formatdate(time.time() - 5, usegmt=True), -5),        # beyond CLOCK_SLACK
    (lambda: email.utils.formatdate(time.time() - 0.5, usegmt=True), None),    # within the Date header's resolution
    (lambda: email.utils.formatdate(time.time() + 600, usegmt=True), 600),     # ahead
    (lambda: 'yesterday', None),                                                # unreadable, or none: this host's
    (lambda: 'Mon, 21 Sep 99999999999999999999 14:00:00 GMT', None),           # no traceback either
    (lambda: None, None),
])
def test_server_time_follows_the_servers_clock_from_its_date_header_and_server_now_only_when_behind(servers, date, offset):
    def behaviour(conn, request):
        value = date()
        routed([('GET', (200, b'{"tasks": []}', {'Date': value} if value else {}))])(conn, request)
    server = servers(RecordingServer(behaviour))
    client = KapacitorClient(url=server.url, server_type='kapacitor', timeout=5)
    now = time.time()
    assert client.server_time(now) == client.server_now(now) == now   # nothing known before the first answer
    assert client.list_tasks_page(10) == []
    if offset is None:
        assert client.server_time(now) == client.server_now(now) == now
    else:   # Date has whole seconds: the offset taken is the one nearest 0 that the second it names allows
        assert now + offset - 1.5 <= client.server_time(now) <= now + offset + 1.5
        assert client.server_now(now) == min(now, client.server_time(now))


def test_a_slow_first_answer_does_not_make_a_right_clock_look_ahead(servers):
    # The server stamps Date when it answers, 3 s after the request left: the clock is right all the same.
    def behaviour(conn, request):
        time.sleep(3.2)
        value = email.utils.formatdate(time.time(), usegmt=True)
        routed([('GET', (200, b'{"tasks": []}', {'Date': value}))])(conn, request)
    client = KapacitorClient(url=servers(RecordingServer(behaviour)).url, server_type='kapacitor', timeout=10)
    assert client.list_tasks_page(10) == []
    now = time.time()
    assert client.server_time(now) == now


def test_ensure_clock_pings_once_when_no_answer_has_shown_the_clock(servers):
    def behaviour(conn, request):   # a clock 10 minutes behind
        routed([('GET', (204, b'', {'Date': email.utils.formatdate(time.time() - 600, usegmt=True)}))])(conn, request)
    server = servers(RecordingServer(behaviour))
    client = KapacitorClient(url=server.url, server_type='kapacitor', timeout=5)
    now = time.time()
    client.ensure_clock()
    client.ensure_clock()
    assert request_lines(server) == ['GET /kapacitor/v1/ping HTTP/1.1']
    assert now - 601.5 <= client.server_time(now) <= now - 598.5


def test_a_clock_ping_that_gets_no_answer_counts_for_nothing():
    with socket.socket() as sock:   # a port nothing listens on
        sock.bind(('127.0.0.1', 0))
        url = 'http://127.0.0.1:%d' % sock.getsockname()[1]
    client = KapacitorClient(url=url, server_type='kapacitor', timeout=5)
    for dummy in range(4):
        client.ensure_clock()
    now = time.time()
    assert client.server_time(now) == now and client.unreachable is None   # the breaker saw nothing


@pytest.mark.parametrize('server, blocks', [
    (kapacitor(), True),
    (routed([('GET /ping', (204, b'', {'X-Influxdb-Version': 'v2.0.9'}))]), True),
    (routed([('GET /ping', (204, b'', {'X-Influxdb-Version': '2.1.1'}))]), True),
    (routed([('GET /ping', (204, b'', {'X-Influxdb-Version': 'v2.2.0'}))]), False),
    (influx(), False),                                                            # 2.7
    (routed([('GET /ping', (204, b'', {'X-Influxdb-Build': 'Cloud'}))]), False),  # no version
    (routed([('GET /ping', (204, b'', {'X-Influxdb-Version': 'V2.1.1'}))]), True),
    (routed([('GET /ping', (204, b'', {'X-Influxdb-Version': 'v2.10.0'}))]), False),
])
def test_runs_block_on_kapacitor_and_on_influxdb_before_2_2(servers, server, blocks):
    # InfluxDB 2.0 and 2.1 answer a retry or manual run only once the run has finished, as Kapacitor does.
    client = KapacitorClient(url=servers(RecordingServer(server)).url, timeout=5)
    assert client.runs_block is blocks


def test_runs_block_reads_the_version_of_the_first_answer_when_the_type_is_given(servers):
    server = servers(RecordingServer(influx([('GET /api/v2/tasks', (200, b'{"tasks": []}',
                                                                    {'X-Influxdb-Version': 'v2.1.1'}))])))
    client = KapacitorClient(url=server.url, server_type='influxdb2', org_id=ORG_ID, timeout=5)
    assert client.runs_block is False     # nothing known yet: as InfluxDB 2.2 and later
    client.list_tasks_page(10)
    assert client.runs_block is True and request_lines(server)[0].startswith('GET /api/v2/tasks?')


def test_without_an_org_the_influxdb_horizon_is_three_days_unasked_and_kapacitors_is_14_days(servers):
    server = servers(RecordingServer(influx()))
    assert KapacitorClient(url=server.url, server_type='influxdb2').horizon_seconds() == 3 * 86400
    assert KapacitorClient(url=server.url, server_type='kapacitor').horizon_seconds() == 14 * 86400
    assert server.requests == []


@pytest.mark.parametrize('status, retry_after, least', [(429, '7', 7.0), (503, '7', 7.0), (503, '', 0.0)])
def test_a_get_answered_429_or_503_waits_as_retry_after_asks(servers, status, retry_after, least):
    answers = iter([(status, b'{"code":"too many requests","message":"over quota"}',
                     {'Retry-After': retry_after} if retry_after else {})])

    def behaviour(conn, request):
        routed([('GET', next(answers, (200, b'{"tasks": []}', {})))])(conn, request)
    server = servers(RecordingServer(behaviour))
    sleeps = Sleeps()
    client = KapacitorClient(url=server.url, server_type='influxdb2', org='o', sleep=sleeps, timeout=5)
    assert client.list_tasks_page(10) == [] and len(sleeps) == 1 and sleeps[0] >= least
    assert sleeps[0] <= (least or _client.BACKOFF_BASE)


def test_retry_after_as_an_http_date_is_read_and_capped():
    later = time.strftime('%a, %d %b %Y %H:%M:%S GMT', time.gmtime(time.time() + 30))
    assert 25 <= _client._retry_after(PingResponse(429, '', {'Retry-After': later})) <= 30
    assert _client._retry_after(PingResponse(429, '', {'Retry-After': '3600'})) == _client.RETRY_AFTER_CAP
    assert _client._retry_after(PingResponse(429, '', {'Retry-After': 'soon'})) == 1.0
    absurd = 'Mon, 21 Sep 99999999999999999999 14:00:00 GMT'   # OverflowError inside the date parser
    assert _client._retry_after(PingResponse(429, '', {'Retry-After': absurd})) == 1.0


def test_a_post_answered_429_by_influxdb_is_rate_limited_with_its_wait(servers):
    server = servers(RecordingServer(routed([('POST', (429, b'{"code":"too many requests","message":"over quota"}',
                                                       {'Retry-After': '12'}))])))
    client = KapacitorClient(url=server.url, server_type='influxdb2', timeout=5)
    with pytest.raises(RateLimited) as info:
        client.retry_run('0a1b2c3d4e5f6789', '0b1b2c3d4e5f6789', 5)
    assert info.value.retry_after == 12.0 and 'InfluxDB or a proxy is rate limiting' in str(info.value)
    assert len(server.requests) == 1


# --------------------------------------------------------------------------- credentials and TLS per server type

BOTH_ENVS = {'kapacitor': {'username': 'ops', 'password': 'kap-pw', 'validate_certs': None},
             'influxdb2': {'token': 'influx-tok', 'validate_certs': None}}
KAPACITOR_BASIC = 'Basic ' + base64.b64encode(b'ops:kap-pw').decode()


@pytest.mark.parametrize('behaviour, fallbacks, sent', [
    (kapacitor, BOTH_ENVS, KAPACITOR_BASIC),
    (influx, BOTH_ENVS, 'Token influx-tok'),
    (kapacitor, {'influxdb2': BOTH_ENVS['influxdb2']}, None),   # an InfluxDB credential never goes to Kapacitor
    (influx, {'kapacitor': BOTH_ENVS['kapacitor']}, None),      # nor Kapacitor's to InfluxDB
    (influx, {'kapacitor': {'token': 'kap-tok'}}, None),
])
def test_the_environments_credentials_go_to_a_server_of_their_own_type_only_never_with_the_ping(
        servers, behaviour, fallbacks, sent):
    server = servers(RecordingServer(behaviour()))
    client = KapacitorClient(url=server.url, fallbacks=fallbacks, org_id=ORG_ID, timeout=5)
    assert client.list_tasks_page(10) == []
    assert authorization(server) == [None, sent]


@pytest.mark.parametrize('server_type, fallbacks, message', [
    ('kapacitor', {'kapacitor': {'token': 'two words'}}, 'KAPACITOR_TOKEN holds spaces'),
    ('kapacitor', {'kapacitor': {'username': 'ops:admin'}}, 'KAPACITOR_USERNAME must not contain ":"'),
    ('influxdb2', {'influxdb2': {'token': 'two words'}}, 'INFLUX_TOKEN holds spaces'),
])
def test_a_malformed_environment_credential_fails_named_for_a_server_of_its_type_before_any_request(
        server_type, fallbacks, message):
    with pytest.raises(InputError) as info:
        KapacitorClient(url='http://127.0.0.1:1', server_type=server_type, fallbacks=fallbacks, org_id=ORG_ID)
    assert message in str(info.value) and 'two words' not in str(info.value)


@pytest.mark.parametrize('behaviour, fallbacks', [
    (kapacitor, {'influxdb2': {'token': 'two words'}}),
    (influx, {'kapacitor': {'token': 'two words', 'username': 'ops:admin'}}),
])
def test_a_malformed_credential_of_the_other_type_does_not_matter(servers, behaviour, fallbacks):
    server = servers(RecordingServer(behaviour()))
    client = KapacitorClient(url=server.url, fallbacks=fallbacks, org_id=ORG_ID, timeout=5)
    assert client.list_tasks_page(10) == []
    assert authorization(server) == [None, None]


def test_an_environment_with_a_token_and_a_user_is_refused_unless_credentials_are_given():
    both = {'kapacitor': {'token': 'env-tok', 'username': 'ops', 'password': 'env-pw'}}
    with pytest.raises(InputError) as info:
        KapacitorClient(url='http://127.0.0.1:1', server_type='kapacitor', fallbacks=both)
    assert 'KAPACITOR_TOKEN and KAPACITOR_USERNAME/KAPACITOR_PASSWORD are all set' in str(info.value)
    assert 'env-tok' not in str(info.value) and 'env-pw' not in str(info.value)
    for given in ({'token': 'given-tok'}, {'username': 'me'}, {'url': 'http://me:pw@127.0.0.1:1'}):
        client = KapacitorClient(**dict({'url': 'http://127.0.0.1:1', 'server_type': 'kapacitor', 'fallbacks': both},
                                        **given))
        assert client.server_type == 'kapacitor'
    # Only Kapacitor's variables: a server of the other type does not care.
    assert KapacitorClient(url='http://127.0.0.1:1', server_type='influxdb2', fallbacks=both,
                           org_id=ORG_ID).server_type == 'influxdb2'


def test_a_given_token_makes_a_malformed_environment_token_irrelevant():
    client = KapacitorClient(url='http://127.0.0.1:1', server_type='influxdb2', token='given-tok',
                             fallbacks={'influxdb2': {'token': 'two words'}}, org_id=ORG_ID)
    assert client.headers['Authorization'] == 'Token given-tok'


@pytest.mark.parametrize('behaviour, kwargs, sent', [
    (kapacitor, {'token': 'given-tok'}, 'Bearer given-tok'),
    (influx, {'token': 'given-tok'}, 'Token given-tok'),
    (kapacitor, {'username': 'ops', 'password': 'pw'}, 'Basic ' + base64.b64encode(b'ops:pw').decode()),
    (influx, {'username': 'ops', 'password': 'pw'}, 'Basic ' + base64.b64encode(b'ops:pw').decode()),
])
def test_given_credentials_go_to_a_server_of_either_type_after_a_ping_without_them(servers, behaviour, kwargs, sent):
    server = servers(RecordingServer(behaviour()))
    client = KapacitorClient(url=server.url, fallbacks=BOTH_ENVS, org_id=ORG_ID, timeout=5, **kwargs)
    assert client.list_tasks_page(10) == []
    assert authorization(server) == [None, sent]


@pytest.mark.parametrize('url_userinfo, kwargs, pair', [
    ('ops:url-pw@', {}, b'ops:url-pw'),
    ('ops:url-pw@', {'password': 'given-pw'}, b'ops:given-pw'),   # the option wins, the url still names the user
    ('ops@', {'password': 'given-pw'}, b'ops:given-pw'),           # the password kept out of the url
    ('ops:url-pw@', {'username': 'me', 'password': 'given-pw'}, b'me:given-pw'),
    ('ops:url-pw@', {'username': 'me'}, b'me:'),                    # the url's password is its user's, not me's
    ('ops:url-pw@', {'password': ''}, b'ops:url-pw'),               # empty is unset, as everywhere
    ('?u=ops&p=url-pw', {'password': 'given-pw'}, b'ops:given-pw'),  # Kapacitor's query credentials alike
])
def test_given_options_win_over_the_urls_credentials_field_by_field(servers, url_userinfo, kwargs, pair):
    server = servers(RecordingServer(kapacitor()))
    url = server.url + url_userinfo if url_userinfo.startswith('?') else server.url.replace('://', '://' + url_userinfo)
    client = KapacitorClient(url=url, fallbacks=BOTH_ENVS, timeout=5, server_type='kapacitor', **kwargs)
    assert client.list_tasks_page(10) == []
    assert authorization(server) == ['Basic ' + base64.b64encode(pair).decode()]


def cert_failure():
    """The RequestError of a request whose server certificate failed verification, as _send raises it."""
    cause = urllib3.exceptions.SSLError(ssl.SSLCertVerificationError(1, 'certificate verify failed: self-signed'))
    failure = classify(cause, 'https://127.0.0.1:1', server_type=None)
    error = RequestError(failure.text, method='GET', url='https://127.0.0.1:1/ping', hint=failure.hint, sent=False)
    error.__cause__ = cause
    return error


@pytest.mark.parametrize('switches, answer, verify, message', [
    # One switch: the ping goes again unverified, and its answer counts only from a server of the switch's type.
    ({'kapacitor': False}, {'X-Kapacitor-Version': '1.8.3'}, False, None),
    ({'influxdb2': False}, INFLUX_HEADERS, False, None),
    ({'kapacitor': False}, INFLUX_HEADERS, None, 'InfluxDB answered, and KAPACITOR_UNSAFE_SSL=true skips the check for '
                                                 'Kapacitor only'),
    ({'influxdb2': False}, {'X-Kapacitor-Version': '1.8.3'}, None, 'Kapacitor answered, and INFLUX_SKIP_VERIFY=true '
                                                                   'skips the check for InfluxDB only'),
    ({'kapacitor': False, 'influxdb2': False}, INFLUX_HEADERS, False, None),
    ({}, INFLUX_HEADERS, None, 'certificate verify failed'),    # no switch: the verified ping's failure, nothing resent
])
def test_a_skip_verify_switch_of_the_environment_counts_for_the_ping_only_from_a_server_of_its_type(
        monkeypatch, switches, answer, verify, message):
    sent = []

    def safe(method, url, params, verify=None):
        sent.append(verify)
        if verify is None:
            raise cert_failure()
        return PingResponse(204 if 'X-Influxdb-Version' in answer else 404, '', answer)
    fallbacks = {kind: {'validate_certs': value} for kind, value in switches.items()}
    client = KapacitorClient(url='https://127.0.0.1:1', fallbacks=fallbacks, timeout=5)
    monkeypatch.setattr(client, '_safe', safe)
    if message is None:
        client.detect()
        assert client.verify is verify and sent == [None, False]
    else:
        with pytest.raises(RequestError) as info:
            client.detect()
        assert message in str(info.value) and 'set ca_path' in str(info.value) and not client.detected
        assert sent == ([None] if not switches else [None, False])


def test_a_given_validate_certs_decides_the_ping_and_every_request_whatever_the_environment():
    switch = {'kapacitor': {'validate_certs': False}}  # KAPACITOR_UNSAFE_SSL=true
    client = KapacitorClient(url='https://127.0.0.1:1', validate_certs=True, fallbacks=switch)
    assert client.verify is True  # before detection: the ping is verified
    client._set_type('kapacitor')
    assert client.verify is True  # a Kapacitor: the given option still wins over the switch
    assert KapacitorClient(url='https://127.0.0.1:1', server_type='kapacitor', fallbacks=switch).verify is False
    client = KapacitorClient(url='https://127.0.0.1:1', validate_certs=False, server_type='influxdb2')
    assert client.verify is False


PROXY_VARIABLES = ('http_proxy', 'https_proxy', 'all_proxy', 'no_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY',
                   'NO_PROXY', 'REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE')


class Answer:
    status, headers, data = 200, HTTPHeaderDict(), b'{}'


def pools_used(monkeypatch, env, **options):
    """The urllib3 pool managers the client sends one request and the circuit breaker's ping with, under ``env``."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    client = KapacitorClient(url='https://kap.example.com:9092/prefix', server_type='kapacitor', **options)
    used = []
    monkeypatch.setattr(urllib3.PoolManager, 'request', lambda manager, *args, **kwargs: used.append(manager) or Answer())
    client._send('GET', client.base_url + '/kapacitor/v1/ping', None, 5)
    assert client._ping()
    return client, used


@pytest.mark.parametrize('env, options, ca_certs, cert_reqs', [
    ({'REQUESTS_CA_BUNDLE': '/etc/env/ca-bundle.pem'}, {}, '/etc/env/ca-bundle.pem', 'CERT_REQUIRED'),
    ({'CURL_CA_BUNDLE': '/etc/env/curl-ca.pem'}, {}, '/etc/env/curl-ca.pem', 'CERT_REQUIRED'),
    ({'REQUESTS_CA_BUNDLE': '/etc/env/ca-bundle.pem'}, {'ca_path': '/etc/kapacitor/ca.pem'}, '/etc/kapacitor/ca.pem',
     'CERT_REQUIRED'),
    ({'REQUESTS_CA_BUNDLE': '/etc/env/ca-bundle.pem'}, {'validate_certs': False}, None, 'CERT_NONE'),
    ({}, {}, None, 'CERT_REQUIRED'),   # the system's trust store
])
def test_requests_verify_with_ca_path_else_the_ca_bundle_of_the_environment(monkeypatch, env, options, ca_certs, cert_reqs):
    client, used = pools_used(monkeypatch, env, **options)
    assert len(used) == 2 and used[0] is used[1]   # one pool for both
    assert (used[0].connection_pool_kw.get('ca_certs'), used[0].connection_pool_kw['cert_reqs']) == (ca_certs, cert_reqs)


@pytest.mark.parametrize('env, options, proxy', [
    ({'HTTPS_PROXY': 'http://proxy.example.com:3128'}, {}, 'http://proxy.example.com:3128'),
    ({'https_proxy': 'http://lower.example.com:3128'}, {}, 'http://lower.example.com:3128'),
    ({'ALL_PROXY': 'http://all.example.com:3128'}, {}, 'http://all.example.com:3128'),
    ({'HTTPS_PROXY': 'proxy.example.com:3128'}, {}, 'http://proxy.example.com:3128'),
    ({'HTTP_PROXY': 'http://proxy.example.com:3128'}, {}, None),      # only for http:// URLs
    ({'HTTPS_PROXY': 'http://proxy.example.com:3128', 'NO_PROXY': 'kap.example.com'}, {}, None),
    ({'HTTPS_PROXY': 'http://proxy.example.com:3128', 'no_proxy': '.example.com'}, {}, None),
    ({'HTTPS_PROXY': 'http://proxy.example.com:3128', 'NO_PROXY': 'other.com, example.com'}, {}, None),
    ({'HTTPS_PROXY': 'http://proxy.example.com:3128', 'NO_PROXY': 'kap.example.com:9092'}, {}, None),
    ({'HTTPS_PROXY': 'http://proxy.example.com:3128', 'NO_PROXY': '*'}, {}, None),
    # An empty lowercase no_proxy leaves the uppercase one in force, as requests read them.
    ({'HTTPS_PROXY': 'http://proxy.example.com:3128', 'no_proxy': '', 'NO_PROXY': 'kap.example.com'}, {}, None),
    ({'HTTPS_PROXY': 'http://proxy.example.com:3128', 'NO_PROXY': 'ample.com,kap.example.com:9093'}, {},
     'http://proxy.example.com:3128'),
    ({'HTTPS_PROXY': 'http://proxy.example.com:3128'}, {'use_proxy': False}, None),
])
def test_requests_go_through_the_proxy_of_the_environment(monkeypatch, env, options, proxy):
    client, used = pools_used(monkeypatch, env, **options)
    assert [str(manager.proxy) if isinstance(manager, urllib3.ProxyManager) else None for manager in used] == [proxy, proxy]
    assert (client.proxy or (None,))[0] == proxy  # the proxy messages name is the one the requests go through


@pytest.mark.parametrize('no_proxy, bypassed', [
    ('10.0.0.0/8', True), ('10.1.2.3', True), ('10.1.2.3:9092', False), ('192.168.0.0/16', False), ('0.2.3', False),
])
def test_no_proxy_exempts_an_ip_address_by_itself_or_its_cidr_block(monkeypatch, no_proxy, bypassed):
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('HTTP_PROXY', 'http://proxy.example.com:3128')
    monkeypatch.setenv('NO_PROXY', no_proxy)
    assert (_client.environment_proxies('http://10.1.2.3:9092/ping') == {}) is bypassed


@pytest.mark.parametrize('userinfo, pair', [('px%40user:pw%2F1', 'px@user:pw/1'),
                                            ('us\u00e9r:p\u00e4ss\u20ac', 'us\u00e9r:p\u00e4ss\u20ac')])
def test_a_proxy_url_with_credentials_authenticates_to_the_proxy_in_utf8(monkeypatch, userinfo, pair):
    client, used = pools_used(monkeypatch, {'HTTPS_PROXY': 'http://%s@proxy.example.com:3128' % userinfo})
    expected = 'Basic ' + base64.b64encode(pair.encode('utf-8')).decode()
    assert used[0].proxy_headers == {'Proxy-Authorization': expected}
    assert client.proxy == ('http://proxy.example.com:3128', 'HTTPS_PROXY')


@pytest.mark.parametrize('proxy', ['http://user:pa/ss-9Qz@proxy.example.com:3128', 'http://user:p#ss-9Qz@proxy.example.com:3128',
                                   'socks5://user:pss-9Qz@proxy.example.com:1080'])
def test_a_proxy_url_that_cannot_be_used_is_refused_before_any_request_naming_the_variable_not_its_value(monkeypatch, proxy):
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('https_proxy', proxy)
    with pytest.raises(InputError) as info:
        KapacitorClient(url='https://kap.example.com:9092', server_type='kapacitor')
    text = str(info.value)
    assert text.startswith('https_proxy is not a proxy URL that can be used') and 'use_proxy: false' in text
    assert '9Qz' not in text and 'user' not in text.split(';')[1]
    monkeypatch.setenv('NO_PROXY', 'kap.example.com')   # not the proxy of this server: no matter
    assert KapacitorClient(url='https://kap.example.com:9092', server_type='kapacitor').proxy is None


@pytest.mark.parametrize('status', [401, 403])
def test_a_refused_unauthenticated_ping_points_at_server_type_not_at_credentials(status):
    with pytest.raises(RequestError) as info:
        _client.identify_server(PingResponse(status, '{"error":"unauthorized"}', {}, 'application/json'))
    text = str(info.value)
    assert 'HTTP %d: unauthorized' % status in text and 'refused an unauthenticated GET /ping' in text
    assert 'set server_type to kapacitor or influxdb2' in text and 'username' not in text
