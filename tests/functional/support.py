# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Shared code of the functional tests (the fixtures that use it are in ``conftest.py``).

- the simulator: ``SimControl`` asks the ``/_sim/`` control API of a running ``SimulatorProcess`` (from
  tests/simulator/process.py) what happened, the out-of-band record every test checks effects against;
  ``start_simulator`` starts a process and returns its ``SimControl``;
- the modules and playbooks of the collection run as real processes: ``run_module``, ``run_playbook``,
  ``BackgroundPlaybook``;
- reading the simulator's record: ``new_attempts``, ``failing_times``, ``RETRY_ROUTE``; and the playbook's
  ``set_stats`` figures as it prints them: ``custom_stats``;
- table-driven cases whose arguments depend on running servers: ``Live`` templates and ``filled``;
- a throw-away PKI (``make_pki``, generated per test session, nothing committed that expires), and
  ``CannedHTTPServer``, a server that answers like a proxy or some other service instead of Kapacitor.
  (``make_jwt`` and ``wait_for`` are those of tests/simulator/sim_support.py.)

Import it by its full name, as every test module of the collection is importable
(``from ansible_collections.tickstack.kapacitor.tests.functional.support import run_module``); see tests/README.md.
"""

import calendar
import datetime
import hashlib
import ipaddress
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from ansible_collections.tickstack.kapacitor.tests.simulator.process import SimulatorProcess

COLLECTION = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(COLLECTION)))
PLAYBOOK = os.path.join(COLLECTION, 'playbooks', 'retry_failed_runs.yml')
RETRY_ROUTE = 'POST /api/v2/tasks/:id/runs/:rid/retry'
# The defaults of the simulator's InfluxDB 2 mode (tests/simulator/kapacitor_simulator/influxdb2.py): the one
# organization every scenario task belongs to, and the all-access token whose user owns them.
INFLUX_ORG = 'sim-org'
INFLUX_ORG_ID = '0000000000000a01'
INFLUX_TOKEN = 'sim-token'
# The servers the simulator plays (its --flavor). A test (or a file's pytestmark) marked BOTH_FLAVORS runs once
# on each, its sim or shared_sim playing that server (conftest.py).
FLAVORS = ('kapacitor', 'influxdb2')


def __getattr__(name):
    """``BOTH_FLAVORS``, made when a test file imports it (after conftest.py registered the marker): the unit tests
    import this module too, under ``ansible-test units``, whose ``--strict-markers`` refuses an unregistered marker
    the moment it is made."""
    if name == 'BOTH_FLAVORS':
        return pytest.mark.flavors(*FLAVORS)
    raise AttributeError('module %r has no attribute %r' % (__name__, name))


API_ROOTS = {'kapacitor': '/kapacitor/v1/api/v2', 'influxdb2': '/api/v2'}
# How far back each lists completed runs (by startedAt): Kapacitor 14 days, the simulator's InfluxDB its default
# _tasks retention (--tasks-retention), 3 days. And the name the modules give each server in their messages.
HORIZONS = {'kapacitor': 14 * 86400, 'influxdb2': 3 * 86400}
PRODUCTS = {'kapacitor': 'Kapacitor', 'influxdb2': 'InfluxDB'}


# --------------------------------------------------------------------------- the simulator

class SimControl:
    """The ``/_sim/`` control API of one running simulator: its record of what happened, its scenario and faults.
    ``process`` is the ``SimulatorProcess`` behind it; for a TLS simulator, ``verify`` is the CA file its
    certificate is checked against and ``cert`` the client certificate it may require. ``flavor`` is the server it
    plays, ``'kapacitor'`` or ``'influxdb2'``; ``url`` is the base URL a module is given in both."""

    def __init__(self, process, verify=True, cert=None, flavor='kapacitor'):
        self.process = process
        self.flavor = flavor
        self.verify = verify
        self.cert = cert
        self.session = requests.Session()   # one TLS handshake, not one a request

    @property
    def url(self):
        return self.process.url

    @property
    def port(self):
        return self.process.port

    @property
    def horizon(self):
        """Seconds back that this server lists completed runs (HORIZONS)."""
        return HORIZONS[self.flavor]

    @property
    def product(self):
        """``Kapacitor`` or ``InfluxDB``, as messages name the server."""
        return PRODUCTS[self.flavor]

    @property
    def connection(self):
        """The connection arguments a module needs for this simulator: the URL, and on InfluxDB 2 the default
        all-access token and organization."""
        if self.flavor == 'influxdb2':
            return {'url': self.url, 'token': INFLUX_TOKEN, 'org_id': INFLUX_ORG_ID}
        return {'url': self.url}

    @property
    def role_vars(self):
        """The same as the role's host variables (``kapacitor_url``, ``kapacitor_token``, ``kapacitor_org_id``)."""
        return {'kapacitor_' + key: value for key, value in self.connection.items()}

    def api(self, method, path, **kwargs):
        """A request to the server's own task API (``path`` below ``/kapacitor/v1/api/v2`` or ``/api/v2``, with the
        token on InfluxDB 2), as another client would send it; returns the ``requests`` response."""
        headers = {'Authorization': 'Token ' + INFLUX_TOKEN} if self.flavor == 'influxdb2' else {}
        return requests.request(method, self.url + API_ROOTS[self.flavor] + path, headers=headers, timeout=60,
                                verify=self.verify, cert=self.cert, **kwargs)

    def _control(self, method, path, body=None):
        response = self.session.request(method, self.url + path, json=body, timeout=60, verify=self.verify, cert=self.cert)
        response.raise_for_status()
        return response.json() if response.content else None

    def load(self, scenario):
        return self._control('POST', '/_sim/scenario', scenario)

    def state(self):
        return self._control('GET', '/_sim/state')

    def attempts(self, task_id=None):
        return self._control('GET', '/_sim/attempts' + ('?task_id=%s' % task_id if task_id else ''))

    def stats(self):
        return self._control('GET', '/_sim/stats')

    def reset_stats(self):
        return self._control('POST', '/_sim/stats/reset', {})

    def faults(self, **settings):
        return self._control('POST', '/_sim/faults', settings)

    def scheduler(self, running):
        """Stop the live scheduler (False), or restart it (True: latestCompleted becomes now, no catch-up)."""
        return self._control('POST', '/_sim/scheduler', {'running': running})

    def requests_to(self, route):
        return self.stats()['requests'].get(route, 0)


def start_simulator(*flags, flavor='kapacitor', **kwargs):
    """Start a simulator with these command-line flags; return its ``SimControl`` (``.process.stop()`` ends it).
    ``flavor='influxdb2'`` makes it an InfluxDB 2 server (``--flavor influxdb2``). Keyword arguments go to
    ``SimControl`` (``verify`` and ``cert`` for a TLS simulator)."""
    return SimControl(SimulatorProcess(*flags, flavor=flavor).start(), flavor=flavor, **kwargs)


def start_tls_simulator(pki, client_ca=False, self_signed=False):
    """An HTTPS simulator with the test CA's server certificate (or a self-signed one), optionally requiring
    client certificates signed by the test CA (its control API is then reached with one too)."""
    if self_signed:
        return start_simulator('--tls-cert', pki['self_signed_cert'], '--tls-key', pki['self_signed_key'],
                               verify=pki['self_signed_cert'])
    flags = ['--tls-cert', pki['server_cert'], '--tls-key', pki['server_key']]
    if client_ca:
        return start_simulator(*(flags + ['--tls-client-ca', pki['ca']]), verify=pki['ca'],
                               cert=(pki['client_cert'], pki['client_key']))
    return start_simulator(*flags, verify=pki['ca'])


def epoch_seconds(text):
    """The whole seconds of an RFC3339 UTC time as the simulator writes it (read here, not with the code under test)."""
    return calendar.timegm(time.strptime(text[:19], '%Y-%m-%dT%H:%M:%S'))


def listable_runs(sim, task_id):
    """The runs the server can list for a task, from the simulator's record: runs held in the kv store scheduled before
    now, and completed runs that started within its horizon."""
    now = time.time()
    runs = []
    for run in sim.state()['runs']:
        if run['task_id'] != task_id:
            continue
        if run['in_kv']:
            if epoch_seconds(run['scheduled_for']) < now:
                runs.append(run)
        elif run['started_at'] and epoch_seconds(run['started_at']) >= now - sim.horizon:
            runs.append(run)
    return runs


def lock_path(tmpdir, url):
    """Where the retry module keeps its lock for ``url`` (docs/design.md): one file per credential-free base URL."""
    digest = hashlib.sha256(url.encode('utf-8')).hexdigest()[:16]
    return os.path.join(tmpdir, 'tickstack-kapacitor-locks', '%s.lock' % digest)


def failed_runs(*ages):
    """Scenario runs, one failed run at each scheduled time (``'-10m'``, RFC3339, ...)."""
    return [{'status': 'failed', 'scheduled_for': age} for age in ages]


# --------------------------------------------------------------------------- the simulator's record

def new_attempts(before, after):
    """Per (task, scheduledFor): the attempts created between two /_sim/attempts snapshots."""
    created = {}
    for task_id, times in after.items():
        for scheduled_for, runs in times.items():
            old = {run['id'] for run in before.get(task_id, {}).get(scheduled_for, [])}
            fresh = [run for run in runs if run['id'] not in old]
            if fresh:
                created[(task_id, scheduled_for)] = fresh
    return created


def failing_times(attempts, max_attempts=None):
    """The (task, scheduledFor) whose latest attempt failed (and, given max_attempts, that may still be retried)."""
    keys = set()
    for task_id, times in attempts.items():
        for scheduled_for, runs in times.items():
            if runs[-1]['status'] == 'failed' and (max_attempts is None or len(runs) < max_attempts):
                keys.add((task_id, scheduled_for))
    return keys


# --------------------------------------------------------------------------- modules and playbooks as processes

def module_env(extra=None):
    env = dict(os.environ)
    env['PYTHONPATH'] = COLLECTIONS_ROOT + os.pathsep + env.get('PYTHONPATH', '')
    for name in list(env):
        if name.startswith(('KAPACITOR_', 'INFLUX_')):
            del env[name]
    env.update(extra or {})
    return env


class ModuleResult(dict):
    def __init__(self, data, rc, stdout, stderr):
        super().__init__(data)
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr

    @property
    def warning_texts(self):
        """Warnings as text: plain strings before ansible-core 2.19, structured summaries since."""
        texts = []
        for warning in self.get('warnings', []):
            if isinstance(warning, dict):
                warning = (warning.get('event') or {}).get('msg') or warning.get('msg') or str(warning)
            texts.append(warning)
        return texts


def run_module(name, args, check_mode=False, diff=False, env=None, timeout=300):
    """Run a module of the collection as a real process, as Ansible does on a host; return its JSON result."""
    payload = dict(args)
    payload['_ansible_check_mode'] = check_mode
    payload['_ansible_diff'] = diff
    with tempfile.NamedTemporaryFile('w', suffix='.json', delete=False) as handle:
        json.dump({'ANSIBLE_MODULE_ARGS': payload}, handle)
        path = handle.name
    try:
        proc = subprocess.run([sys.executable, '-m', 'ansible_collections.tickstack.kapacitor.plugins.modules.' + name, path],
                              capture_output=True, text=True, env=module_env(env),
                              timeout=timeout, check=False)
    finally:
        os.unlink(path)
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        raise AssertionError('module %s printed no JSON (rc=%d):\n%s\n%s' % (name, proc.returncode, proc.stdout, proc.stderr)) from None
    return ModuleResult(data, proc.returncode, proc.stdout, proc.stderr)


def playbook_command(playbook, vars_path, inventory=None, check=False, verbosity=0):
    cmd = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), playbook, '-e', '@' + vars_path]
    if inventory:
        cmd += ['-i', inventory]
    if check:
        cmd.append('--check')
    if verbosity:
        cmd.append('-' + 'v' * verbosity)
    return cmd


def playbook_env(env=None):
    """The module environment plus the collection path, the pinned interpreter and quiet, colourless output."""
    full_env = module_env(env)
    full_env.update(ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_ROOT, ANSIBLE_PYTHON_INTERPRETER=sys.executable,
                    ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0', ANSIBLE_RETRY_FILES_ENABLED='0',
                    ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_INVENTORY_UNPARSED_WARNING='0')
    return full_env


def run_playbook(playbook, extra_vars=None, inventory=None, check=False, verbosity=0, env=None, timeout=600):
    """Run ``ansible-playbook`` with the collection on the path and the interpreter pinned."""
    with tempfile.NamedTemporaryFile('w', suffix='.json', delete=False) as handle:
        json.dump(extra_vars or {}, handle)
        vars_path = handle.name
    try:
        return subprocess.run(playbook_command(playbook, vars_path, inventory, check, verbosity), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, env=playbook_env(env), timeout=timeout,
                              check=False)
    finally:
        os.unlink(vars_path)


class BackgroundPlaybook:
    """``ansible-playbook`` started in its own session (so the whole process group can be killed, as a cancelled
    AWX job or a crashed controller would be), with the same environment as ``run_playbook``; its output
    goes to a file, never to a pipe that could fill up."""

    def __init__(self, playbook, extra_vars=None, inventory=None, verbosity=0, env=None):
        self.tmp = tempfile.mkdtemp(prefix='kappb-')
        self.vars_path = os.path.join(self.tmp, 'vars.json')
        with open(self.vars_path, 'w') as handle:
            json.dump(extra_vars or {}, handle)
        cmd = playbook_command(playbook, self.vars_path, inventory, verbosity=verbosity)
        full_env = playbook_env(env)
        self.output_path = os.path.join(self.tmp, 'output.txt')
        self._output = open(self.output_path, 'w')
        self.started = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdout=self._output, stderr=subprocess.STDOUT, env=full_env,
                                     start_new_session=True)

    def wait(self, timeout=300):
        """Wait for the end; return ``(returncode, output)``."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError('ansible-playbook still ran after %ss:\n%s' % (timeout, self.output)) from None
        self._output.close()
        return self.proc.returncode, self.output

    def kill(self, everything=False):
        """SIGKILL ``ansible-playbook`` (``kill -9 <pid>``), or with ``everything`` every process it started too,
        as a crashed controller host would lose them. (Ansible's workers call setsid(), so they and the modules
        they run are in other sessions: killing the playbook's process group alone does not reach them.)"""
        victims = [self.proc.pid] + (descendants(self.proc.pid) if everything else [])
        for pid in victims:
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        self.proc.wait()
        self._output.close()

    @property
    def output(self):
        if not self._output.closed:
            self._output.flush()
        with open(self.output_path) as handle:
            return handle.read()


def descendants(root):
    """Every process below ``root`` (from /proc), children first found first."""
    children = {}
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry) as handle:
                stat = handle.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(')', 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found, queue = [], [root]
    while queue:
        for child in children.get(queue.pop(0), []):
            found.append(child)
            queue.append(child)
    return found


# --------------------------------------------------------------------------- table-driven cases

class Live:
    """A test argument known only once the servers run: a ``str.format`` template over them (``{plain.url}``,
    ``{tls.port}``, ``{pki[ca]}``...), filled in by ``filled`` when the case runs. Only ``Live`` values are
    templates: every other string, braces and all, is passed as it is."""

    def __init__(self, template):
        self.template = template

    def __repr__(self):
        return 'Live(%r)' % self.template


def filled(value, fields):
    """``value`` with every ``Live`` template in it filled in from ``fields``."""
    if isinstance(value, Live):
        return value.template.format(**fields)
    if isinstance(value, dict):
        return {key: filled(item, fields) for key, item in value.items()}
    if isinstance(value, list):
        return [filled(item, fields) for item in value]
    return value


# --------------------------------------------------------------------------- small tools

def in_parallel(func, items, workers=8):
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(func, items))


def free_port():
    """A port nothing listens on (bound, then released)."""
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def read_json(path):
    with open(path) as handle:
        return json.load(handle)


def custom_stats(stdout):
    """The aggregated set_stats figures ansible-playbook prints with ANSIBLE_SHOW_CUSTOM_STATS."""
    match = re.search(r'CUSTOM STATS: \*+\s+RUN: (\{.*\})', stdout)
    assert match, stdout
    return json.loads(match.group(1))


# --------------------------------------------------------------------------- PKI

def make_pki(directory):
    """A CA, a server certificate for 127.0.0.1 signed by it, a client certificate signed by it, a second CA
    that signed nothing of this server's, and a self-signed server certificate; all valid for one day.

    Returns a dict of file paths: ca, other_ca, server_cert, server_key, client_cert, client_key,
    client_combined (certificate and key in one file), self_signed_cert, self_signed_key.
    """
    from cryptography import x509  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives import hashes, serialization  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives.asymmetric import ec  # pylint: disable=import-outside-toplevel
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID  # pylint: disable=import-outside-toplevel

    now = datetime.datetime.now(datetime.timezone.utc)

    def name(common_name):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])

    def cert(subject, issuer, key, issuer_key, ca=False, server=False, client=False):
        builder = (x509.CertificateBuilder().subject_name(name(subject)).issuer_name(name(issuer))
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if ca:
            builder = builder.add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                                          key_encipherment=False, data_encipherment=False,
                                                          key_agreement=False, key_cert_sign=True, crl_sign=True,
                                                          encipher_only=False, decipher_only=False), critical=True)
            builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        else:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
        if server:
            builder = builder.add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address('127.0.0.1')), x509.DNSName('localhost')]), critical=False)
            builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        if client:
            builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        return builder.sign(issuer_key, hashes.SHA256())

    def pem_cert(certificate):
        return certificate.public_bytes(serialization.Encoding.PEM)

    def pem_key(key):
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())

    keys = {label: ec.generate_private_key(ec.SECP256R1()) for label in ('ca', 'other', 'server', 'client', 'self')}
    ca = cert('tickstack test CA', 'tickstack test CA', keys['ca'], keys['ca'], ca=True)
    other_ca = cert('some other CA', 'some other CA', keys['other'], keys['other'], ca=True)
    server = cert('127.0.0.1', 'tickstack test CA', keys['server'], keys['ca'], server=True)
    client = cert('ansible client', 'tickstack test CA', keys['client'], keys['ca'], client=True)
    self_signed = cert('127.0.0.1', '127.0.0.1', keys['self'], keys['self'], server=True)
    files = {
        'ca': pem_cert(ca), 'other_ca': pem_cert(other_ca),
        'server_cert': pem_cert(server), 'server_key': pem_key(keys['server']),
        'client_cert': pem_cert(client), 'client_key': pem_key(keys['client']),
        'client_combined': pem_cert(client) + pem_key(keys['client']),
        'self_signed_cert': pem_cert(self_signed), 'self_signed_key': pem_key(keys['self']),
    }
    paths = {}
    for label, data in files.items():
        path = os.path.join(str(directory), label + '.pem')
        with open(path, 'wb') as handle:
            handle.write(data)
        paths[label] = path
    return paths


# --------------------------------------------------------------------------- servers that are not Kapacitor

class LocalHTTPServer:
    """A threaded HTTP server on 127.0.0.1 (a port of its own) for one test, serving ``handler_class``:
    ``port``, ``url`` and ``stop()``."""

    def __init__(self, handler_class):
        self.server = ThreadingHTTPServer(('127.0.0.1', 0), handler_class)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = 'http://127.0.0.1:%d' % self.port
        threading.Thread(target=self.server.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class CannedHTTPServer(LocalHTTPServer):
    """A throw-away HTTP server on 127.0.0.1 that gives one canned answer to every request (the collection
    refuses URLs with a path, so each canned answer gets its own port). ``requests`` records what it got."""

    def __init__(self, status, body, content_type='text/html; charset=utf-8', headers=None):
        owner = self
        self.requests = []

        class Handler(BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *args):  # pylint: disable=arguments-differ
                pass

            def do_GET(self):
                length = int(self.headers.get('Content-Length') or 0)
                if length:
                    self.rfile.read(length)
                owner.requests.append((self.command, self.path))
                self.send_response(status)
                if content_type:
                    self.send_header('Content-Type', content_type)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

        super().__init__(Handler)
