"""The HTTP server, the in-process simulator object and the command line (docs/simulator.md)."""

import argparse
import email.parser
import http.client
import json
import os
import re
import select
import signal
import socket
import ssl
import sys
import tempfile
import threading
import time
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from . import encoding
from .api import Request, TaskAPI
from .auth import Auth, AuthError
from .constants import API_PREFIX, NS, TASKS_PREFIX, VERSION
from .control import handle_control
from .encoding import APIError, Response, error_response, kapacitor_error, now_ns
from .influxdb2 import INFLUX_VERSION, TASKS_RETENTION_SECONDS, InfluxDB2
from .model import State
from .routing import HANDLERS, ROUTER_METHODS, clean_path, fixed_path, has_handler, join_task_path, match_route, redirect_response, route_template
from .scenarios import load_scenario
from .scheduler import Scheduler


class RequestHeaders(http.client.HTTPMessage):
    """The class of a request's headers (Handler.MessageClass), which parse_headers below parses itself."""


# A header line as the email parser splits and reads it: a field name (printable ASCII but colon), a colon, a value
# without CR or LF (the email parser ends a line at either), one line ending.
_PLAIN_HEADER = re.compile(rb'[\x21-\x39\x3b-\x7e]+:[^\r\n]*\r?\n')

# poll() flag for "the peer shut its writing side down" (Linux only; elsewhere 0: client_gone falls back on a peek).
_POLLRDHUP = getattr(select, 'POLLRDHUP', 0)


def parse_headers(fp, _class=http.client.HTTPMessage, _stdlib=http.client.parse_headers):
    """http.client.parse_headers, which http.server calls for every request; for RequestHeaders only, when every line is
    a plain header line, the same headers (and empty payload) built without the email parser: that parser was a sixth of the simulator's
    CPU for a small request, and the fleet benchmark runs 10 simulators on the controller's 2 cores. The stdlib reads
    the lines (with its limits), and any other header block (a folded line, a line that is not a header, no blank
    line) goes through the email parser as before; test_sim_api compares the two."""
    if _class is not RequestHeaders:
        return _stdlib(fp, _class)
    lines = http.client._read_headers(fp)  # pylint: disable=protected-access
    if lines[-1] in (b'\r\n', b'\n') and all(_PLAIN_HEADER.fullmatch(line) for line in lines[:-1]):
        message = _class()
        for line in lines[:-1]:
            # email.policy.compat32's header_source_parse, which the email parser applies to each header line
            name, value = line.decode('iso-8859-1').split(':', 1)
            message.set_raw(name, value.lstrip(' \t').rstrip('\r\n'))
        message.set_payload('')
        return message
    return email.parser.Parser(_class=_class).parsestr(b''.join(lines).decode('iso-8859-1'))


http.client.parse_headers = parse_headers


class Handler(BaseHTTPRequestHandler):
    """One connection. Routing order: /_sim, path cleaning, ping, task prefix (CORS, auth, disabled, router), catch-all."""

    protocol_version = 'HTTP/1.1'
    MessageClass = RequestHeaders
    server_version = 'kapacitor-sim'
    sys_version = ''

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """Silence the default per-request stderr logging."""

    def setup(self):
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            try:
                self.connection.do_handshake()
            except (ssl.SSLError, OSError):
                self.close_connection = True
                raise

    def handle(self):
        try:
            super().handle()
        except (ConnectionError, ssl.SSLError, TimeoutError):
            self.close_connection = True

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    # -- dispatch -----------------------------------------------------------------------------------------------------
    def dispatch(self):
        sim = self.server.sim
        split = urlsplit(self.path)
        path, raw_query = split.path, split.query
        body = self.read_body()
        if body is None:
            return
        if path.startswith('/_sim/') or path == '/_sim':
            self.send(handle_control(sim.state, self.command, path, raw_query, body))
            if (self.command, path) == ('POST', '/_sim/stop'):
                sim.stop_async()                # only after the answer is on the wire
            return
        faults = self.count_and_plan(path)
        if 'reset' in faults:
            self.reset_connection()
            return
        if 'latency' in faults:
            time.sleep(sim.state.faults.latency_ms / 1000.0)
        if 'rate_limit' in faults:
            response = error_response(APIError('too many requests', 'too many requests'))
            response.headers.append(('Retry-After', str(sim.state.faults.retry_after)))
            self.send(response)
            return
        if 'get_error' in faults:
            status = sim.state.faults.get_error_status
            response = error_response(APIError('unavailable', 'service unavailable (injected fault)'))
            response.status = status
            self.send(response)
            return
        try:
            response = self.route(path, raw_query, body)
        except Exception as exc:  # pylint: disable=broad-except
            # mirror the handler's panic recovery (docs/kapacitor-api.md §5.2)
            traceback.print_exc()
            response = error_response(APIError('internal error', 'a panic has occurred: %s: %s' % (self.path, exc)))
        if response is None:                    # the client went away during a blocking run
            self.close_connection = True
            return
        if 'retry_drop_after' in faults:
            self.reset_connection()
            return
        self.send(response)

    def count_and_plan(self, path):
        template = self.template_for(path)
        state = self.server.sim.state
        with state.lock:
            stats = state.stats
            stats.requests[template] = stats.requests.get(template, 0) + 1
            stats.requests_total += 1
            faults = state.faults.plan(self.command, template)
            for kind in faults:
                stats.faults_injected[kind] = stats.faults_injected.get(kind, 0) + 1
        return faults

    def template_for(self, path):
        if self.server.sim.influx is not None:
            return self.server.sim.influx.template_for(self.command, path)
        if path == API_PREFIX + '/ping':
            return '%s /ping' % self.command
        if path == TASKS_PREFIX or path.startswith(TASKS_PREFIX + '/'):
            matched = match_route(self.task_segments(path))
            if matched:
                return route_template(self.command, matched[0])
        return '%s (unmatched)' % self.command

    @staticmethod
    def task_segments(path):
        rest = path[len(TASKS_PREFIX):]
        return tuple(rest[1:].split('/')) if rest else ()

    def route(self, path, raw_query, body):
        sim = self.server.sim
        if sim.influx is not None:
            return sim.influx.route(self, path, raw_query, body)
        cleaned = clean_path(path)
        if cleaned != path:                     # Kapacitor's mux cleanPath: 301 (docs/kapacitor-api.md §2)
            return redirect_response(301, cleaned + ('?' + raw_query if raw_query else ''), self.command)
        query = parse_qs(raw_query, keep_blank_values=True)
        in_tasks = path == TASKS_PREFIX or path.startswith(TASKS_PREFIX + '/')
        if path == API_PREFIX + '/ping' and self.command in ('GET', 'HEAD'):
            return Response(204)
        if in_tasks and self.command == 'OPTIONS':
            return Response(200)                # the CORS wrapper answers before any handler (docs/kapacitor-api.md §2)
        try:
            user = sim.auth.authenticate(self.headers, query)
        except AuthError as exc:
            return kapacitor_error(exc.status, exc.message)
        if not in_tasks or self.command not in ('GET', 'POST', 'PUT', 'PATCH', 'DELETE') or sim.fluxtask_disabled:
            # Catch-all serve404, pretty-printed (docs/kapacitor-api.md §7); HEAD is not registered for the prefix (docs/kapacitor-api.md §2).
            return kapacitor_error(404, 'Not Found', pretty=True)
        return self.route_tasks(path, raw_query, query, body, user)

    def route_tasks(self, path, raw_query, query, body, user):
        """httprouter: handle, trailing-slash / fixed-path redirect, 405 with Allow, NotFound (docs/kapacitor-api.md §2)."""
        sim = self.server.sim
        segments = self.task_segments(path)
        matched = match_route(segments)
        method = self.command
        suffix = '?' + raw_query if raw_query else ''
        if matched and method in matched[1]:
            try:
                sim.auth.authorize(user, method, path)
            except AuthError as exc:
                return kapacitor_error(exc.status, exc.message)
            return self.call(matched, query, body, user)
        if method in ROUTER_METHODS:
            code = 301 if method == 'GET' else 308
            if segments and segments[-1] == '' and has_handler(segments[:-1], method):
                return redirect_response(code, join_task_path(segments[:-1]) + suffix, method)
            fixed = fixed_path(segments, method)
            if fixed is not None:
                return redirect_response(code, join_task_path(fixed) + suffix, method)
        allowed = sorted({m for m in ROUTER_METHODS if m != method and has_handler(segments, m)})
        if allowed:
            return Response(405, b'Method Not Allowed\n', [('Content-Type', 'text/plain; charset=utf-8'),
                                                           ('X-Content-Type-Options', 'nosniff'),
                                                           ('Allow', ', '.join(sorted(allowed + ['OPTIONS'])))])
        return error_response(APIError('not found', 'url not found: %s: not found' % self.path))

    def call(self, matched, query, body, user):
        """Run the task API handler of a matched route; platform errors become their JSON answer."""
        handler = getattr(self.server.sim.api, HANDLERS[(matched[0], self.command)])
        flat_query = {key: values[0] for key, values in query.items()}
        chunked = self.headers.get('Transfer-Encoding', '').lower() == 'chunked'
        request = Request(self.command, matched[2], flat_query, body, user, self.client_gone, -1 if chunked else len(body))
        try:
            return handler(request)
        except APIError as exc:
            return error_response(exc)

    # -- I/O ----------------------------------------------------------------------------------------------------------
    def read_body(self):
        length = self.headers.get('Content-Length')
        if self.headers.get('Transfer-Encoding', '').lower() == 'chunked':
            return self.read_chunked()
        try:
            length = int(length or 0)
        except ValueError:
            self.send(Response(400, b'bad Content-Length'))
            self.close_connection = True
            return None
        return self.rfile.read(length) if length > 0 else b''

    def read_chunked(self):
        chunks = []
        while True:
            size = int(self.rfile.readline().split(b';')[0].strip() or b'0', 16)
            if size == 0:
                while self.rfile.readline() not in (b'\r\n', b'\n', b''):
                    pass
                return b''.join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def send(self, response):
        self.send_response_only(response.status)
        self.send_header('Date', self.date_time_string(now_ns() / NS))   # the simulated server's clock
        if self.server.sim.influx is not None:
            for key, value in self.server.sim.influx.version_headers():
                self.send_header(key, value)
        else:
            self.send_header('Request-Id', str(uuid.uuid1()))
            self.send_header('X-Kapacitor-Version', VERSION)
        for key, value in response.headers:
            self.send_header(key, value)
        if response.status != 204:
            self.send_header('Content-Length', str(len(response.body)))
        self.end_headers()
        if self.command != 'HEAD' and response.body:
            self.wfile.write(response.body)
        self.wfile.flush()

    def client_gone(self, timeout=0):
        """True once the client closed its side, waiting up to ``timeout`` seconds on the socket for that: a blocking
        run sees a disconnect at once, without polling. Gone is what Go's net/http server reads as EOF, which cancels
        the request's context while the handler runs: a close, a reset, or a half-close (shutdown(SHUT_WR)) while the
        client waits for the answer. Signs: POLLHUP/POLLERR/POLLNVAL; recv(MSG_PEEK) == b'' (a FIN with nothing
        unread before it); and for TLS, POLLRDHUP (Linux: the peer shut its writing side with bytes unread, the
        close_notify record a TLS client sends before its FIN, which Go's tls.Conn reads as EOF; elsewhere such a close
        goes unseen). On a plain socket, unread bytes (a pipelined request) come before any FIN, as Go's background
        read stops at the first byte and cancels nothing: then it sleeps the timeout out, not to spin. ``poll``, not
        ``select``: select() refuses file descriptors from 1024 up, which a simulator with many connections can reach."""
        sock = self.connection
        try:
            poller = select.poll()
            poller.register(sock, select.POLLIN | _POLLRDHUP)
            events = poller.poll(timeout * 1000)
            if not events:
                return False
            gone = select.POLLERR | select.POLLHUP | select.POLLNVAL | (_POLLRDHUP if isinstance(sock, ssl.SSLSocket) else 0)
            if events[0][1] & gone or self.peer_closed(sock):
                return True
            time.sleep(timeout)
            return False
        except (OSError, ValueError):
            return True

    @staticmethod
    def peer_closed(sock):
        """recv(MSG_PEEK) == b'' on a readable socket."""
        if isinstance(sock, ssl.SSLSocket):
            # MSG_PEEK is not allowed on SSL sockets: peek at the raw TCP stream instead. That sees a FIN with nothing
            # before it; a client that sent close_notify first has bytes there (client_gone's POLLRDHUP sees it).
            raw = socket.socket(fileno=sock.fileno())
            try:
                return raw.recv(1, socket.MSG_PEEK) == b''
            finally:
                raw.detach()
        return sock.recv(1, socket.MSG_PEEK) == b''

    def reset_connection(self):
        """Abort with RST (SO_LINGER 0)."""
        self.close_connection = True
        try:
            sock = self.connection
            raw = sock if not isinstance(sock, ssl.SSLSocket) else socket.socket(fileno=sock.fileno())
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b'\x01\x00\x00\x00\x00\x00\x00\x00')
            if raw is not sock:
                raw.detach()
            sock.close()
        except OSError:
            pass


class SimulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, sim, ssl_context=None):
        self.sim = sim
        self.ssl_context = ssl_context
        super().__init__(address, Handler)

    def get_request(self):
        sock, addr = super().get_request()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.ssl_context is not None:
            # The handshake runs in the handler thread so a slow client cannot block accept().
            sock = self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request, client_address):
        """Connection-level errors (client resets, failed TLS handshakes) are expected; stay quiet."""


class KapacitorSimulator:
    """The whole simulator: state, Kapacitor API, control API and the HTTP server."""

    def __init__(self, port=0, scenario=None, auth_users=(), shared_secret=None, tls_cert=None, tls_key=None,
                 tls_client_ca=None, fluxtask_disabled=False, host='127.0.0.1', flavor='kapacitor',
                 influx_version=INFLUX_VERSION, tasks_retention=TASKS_RETENTION_SECONDS):
        self.state = State()
        self.flavor = flavor
        # InfluxDB 2 mode: what differs lives in influxdb2.py; None serves Kapacitor.
        self.influx = InfluxDB2(self.state, influx_version, tasks_retention) if flavor == 'influxdb2' else None
        self.api = self.influx.api if self.influx is not None else TaskAPI(self.state)
        self.auth = Auth(auth_users, shared_secret)
        self.fluxtask_disabled = fluxtask_disabled
        if scenario is not None:
            load_scenario(self.state, scenario)
        context = None
        if tls_cert:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(tls_cert, tls_key)
            if tls_client_ca:
                context.load_verify_locations(tls_client_ca)
                context.verify_mode = ssl.CERT_REQUIRED
        self.scheme = 'https' if context else 'http'
        self.server = SimulatorHTTPServer((host, port), self, context)
        self.host = host
        self.port = self.server.server_address[1]
        self.thread = None
        self.stopped = threading.Event()
        self.state.scheduler = Scheduler(self.state)     # once the port is bound: nothing to leak if binding fails

    @property
    def url(self):
        return '%s://%s:%d' % (self.scheme, self.host, self.port)

    def ready_line(self):
        return 'kapacitor-sim: listening on ' + self.url

    def start(self):
        """Serve in a background daemon thread (for in-process tests)."""
        self.thread = threading.Thread(target=self.serve_forever, name='kapacitor-sim', daemon=True)
        self.thread.start()
        return self

    def serve_forever(self):
        try:
            self.server.serve_forever(poll_interval=0.1)
        finally:
            self.stopped.set()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.state.scheduler.stop()
        if self.influx is not None:
            self.influx.stop()

    def stop_async(self):
        self.state.scheduler.stop()
        if self.influx is not None:
            self.influx.stop()
        threading.Thread(target=self.server.shutdown, daemon=True).start()


def parse_args(argv):
    parser = argparse.ArgumentParser(description='Kapacitor Flux task API simulator (docs/simulator.md)')
    parser.add_argument('--port', type=int, required=True, help='port on 127.0.0.1; 0 picks a free one')
    parser.add_argument('--scenario', help='JSON scenario loaded at start')
    parser.add_argument('--ready-file', metavar='PATH', help='written atomically with the base URL once listening')
    parser.add_argument('--pid-file', metavar='PATH', help='written atomically with the process ID before the ready file')
    parser.add_argument('--auth-user', action='append', default=[], metavar='NAME:PASS[:ro]')
    parser.add_argument('--shared-secret')
    parser.add_argument('--tls-cert')
    parser.add_argument('--tls-key')
    parser.add_argument('--tls-client-ca')
    parser.add_argument('--fluxtask-disabled', action='store_true')
    parser.add_argument('--flavor', choices=('kapacitor', 'influxdb2'), default='kapacitor',
                        help='the server to be: Kapacitor (default) or InfluxDB 2 OSS / Cloud')
    parser.add_argument('--influx-version', default=INFLUX_VERSION,
                        help="influxdb2: the X-Influxdb-Version header; '' leaves it out, as InfluxDB Cloud does")
    parser.add_argument('--clock-offset', type=float, default=0.0, metavar='SECONDS',
                        help="the server's clock minus this host's (negative: behind), for every time it uses and its "
                             'Date header')
    parser.add_argument('--tasks-retention', type=int, default=TASKS_RETENTION_SECONDS, metavar='SECONDS',
                        help='influxdb2: retention of the _tasks bucket, how long completed runs stay listed (0 = forever)')
    args = parser.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error('--tls-cert and --tls-key go together')
    if args.tls_client_ca and not args.tls_cert:
        parser.error('--tls-client-ca needs --tls-cert/--tls-key')
    for entry in args.auth_user:
        if ':' not in entry:
            parser.error('--auth-user takes NAME:PASSWORD[:ro]')
    if args.flavor == 'influxdb2' and (args.auth_user or args.shared_secret or args.fluxtask_disabled):
        parser.error('--auth-user, --shared-secret and --fluxtask-disabled are Kapacitor flags; '
                     'with --flavor influxdb2 the tokens come from the scenario ("tokens")')
    return args


def write_atomically(path, text):
    """Write ``text`` to a temporary file next to ``path`` and rename it: a reader sees nothing or everything."""
    directory = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix='.' + os.path.basename(path) + '.', dir=directory)
    try:
        with os.fdopen(handle, 'w', encoding='utf-8') as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def remove_if_ours(path, text):
    """Remove a pid or ready file on exit, unless another process has written it since."""
    try:
        with open(path, encoding='utf-8') as handle:
            if handle.read() == text:
                os.unlink(path)
    except OSError:
        pass


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    scenario = None
    if args.scenario:
        try:
            with open(args.scenario, encoding='utf-8') as handle:
                scenario = json.load(handle)
        except (OSError, ValueError) as exc:
            sys.exit('kapacitor-sim: cannot load the scenario %s: %s' % (args.scenario, exc))
    encoding.CLOCK_OFFSET_NS = int(args.clock_offset * NS)   # before the first time is taken
    sim = KapacitorSimulator(port=args.port, scenario=scenario, auth_users=args.auth_user, shared_secret=args.shared_secret,
                             tls_cert=args.tls_cert, tls_key=args.tls_key, tls_client_ca=args.tls_client_ca,
                             fluxtask_disabled=args.fluxtask_disabled, flavor=args.flavor,
                             influx_version=args.influx_version, tasks_retention=args.tasks_retention)

    def on_signal(_signum, _frame):
        sim.stop_async()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # The socket listens from here on. The pid file comes first, so whoever sees the ready file can also stop us.
    written = []
    for path, text in ((args.pid_file, str(os.getpid())), (args.ready_file, sim.url)):
        if path:
            write_atomically(path, text)
            written.append((path, text))
    print(sim.ready_line(), flush=True)
    try:
        sim.serve_forever()
    finally:
        sim.server.server_close()
        for path, text in written:
            remove_if_ours(path, text)
    return 0
