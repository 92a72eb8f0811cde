# -*- coding: utf-8 -*-
# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Helpers of the reliability and security tests (issue #7): out-of-band checks on the simulator's record,
a throw-away PKI (generated per test session, nothing committed that expires), HS256 JWTs, and a tiny HTTP
server that answers like a proxy or some other service instead of Kapacitor."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import datetime
import hashlib
import hmac
import ipaddress
import json
import os
import socket
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

from conftest import COLLECTION, Simulator, playbook_command, playbook_env

PLAYBOOK = os.path.join(COLLECTION, 'playbooks', 'retry_failed_runs.yml')
RETRY_ROUTE = 'POST /api/v2/tasks/:id/runs/:rid/retry'


# --------------------------------------------------------------------------- the simulator's record

def new_attempts(before, after):
    """Per (task, scheduledFor): the attempts created between two /_sim/attempts snapshots."""
    created = {}
    for task_id, times in after.items():
        for scheduled_for, runs in times.items():
            old = set(run['id'] for run in before.get(task_id, {}).get(scheduled_for, []))
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


# --------------------------------------------------------------------------- playbooks in the background

class BackgroundPlaybook:
    """``ansible-playbook`` started in its own session (so the whole process group can be killed, as a cancelled
    AWX job or a crashed controller would be), with the same environment as conftest.run_playbook; its output
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
            raise AssertionError('ansible-playbook still ran after %ss:\n%s' % (timeout, self.output))
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
        except (IOError, OSError):
            continue
        ppid = int(stat.rsplit(')', 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found, queue = [], [root]
    while queue:
        for child in children.get(queue.pop(0), []):
            found.append(child)
            queue.append(child)
    return found


def wait_for(condition, timeout=60, interval=0.05, what='a condition'):
    """Poll ``condition()`` until it returns something true; return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError('timed out after %ss waiting for %s' % (timeout, what))
        time.sleep(interval)


def read_json(path):
    with open(path) as handle:
        return json.load(handle)


# --------------------------------------------------------------------------- JWT

def make_jwt(payload, secret):
    """An HS256 JWT, as Kapacitor's [http] shared-secret expects (no PyJWT needed)."""
    def enc(data):
        return base64.urlsafe_b64encode(data).rstrip(b'=').decode()
    head = enc(json.dumps({'alg': 'HS256', 'typ': 'JWT'}).encode())
    body = enc(json.dumps(payload).encode())
    signature = hmac.new(secret.encode(), ('%s.%s' % (head, body)).encode(), hashlib.sha256).digest()
    return '%s.%s.%s' % (head, body, enc(signature))


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

    keys = dict((label, ec.generate_private_key(ec.SECP256R1())) for label in ('ca', 'other', 'server', 'client', 'self'))
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


class CertSimulator(Simulator):
    """A simulator that requires client certificates: its control API is reached with one too."""

    def __init__(self, *flags, **kwargs):
        self.control_cert = kwargs.pop('control_cert')
        super(CertSimulator, self).__init__(*flags, **kwargs)

    def _control(self, method, path, body=None):
        response = requests.request(method, self.url + path, json=body, timeout=60, verify=False, cert=self.control_cert)
        response.raise_for_status()
        return response.json() if response.content else None


def tls_simulator(pki, client_ca=False, self_signed=False):
    """An HTTPS simulator with the test CA's server certificate (or a self-signed one), optionally requiring
    client certificates signed by the test CA."""
    if self_signed:
        return Simulator('--tls-cert', pki['self_signed_cert'], '--tls-key', pki['self_signed_key'])
    flags = ['--tls-cert', pki['server_cert'], '--tls-key', pki['server_key']]
    if client_ca:
        return CertSimulator(*(flags + ['--tls-client-ca', pki['ca']]), control_cert=(pki['client_cert'], pki['client_key']))
    return Simulator(*flags)


# --------------------------------------------------------------------------- a server that is not Kapacitor

class FakeServer:
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

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.server.daemon_threads = True
        self.url = 'http://127.0.0.1:%d' % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
