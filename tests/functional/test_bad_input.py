# -*- coding: utf-8 -*-
# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Issue #7, bad input: every case fails with a message that names the problem and what to do, never a Python
traceback, and changes nothing on any server.

All servers are started once (simulators with and without auth, TLS with a self-signed certificate, with a CA and
with client certificates, the Flux task API disabled, and tiny throw-away servers that answer like a proxy or
another service), every case runs once, concurrently, as a real module process, and each case is then a test of
its own. The last test checks, out of band, that no server's record changed and that no retry request got through.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

import pytest

from conftest import COLLECTIONS_ROOT, Simulator, run_module
from _helpers import RETRY_ROUTE, FakeServer, free_port, in_parallel, make_jwt, make_pki, tls_simulator

INFO = 'kapacitor_task_runs_info'
RETRY = 'kapacitor_task_run_retry'
SECRET = 'shared-secret-of-the-test'
UNKNOWN = '0123456789abcdef'

# Explicit IDs, so that every simulator holds the same record.
SCENARIO = {'tasks': [
    {'id': '0a1b2c3d4e5f0001', 'name': 'cpu',
     'runs': [{'id': '0b00000000000%03d' % m, 'status': 'failed', 'scheduled_for': '-%dm' % m} for m in (5, 10, 15)]
     + [{'id': '0b00000000000020', 'status': 'success', 'scheduled_for': '-20m'}]},
    {'id': '0a1b2c3d4e5f0002', 'name': 'mem', 'runs': [{'id': '0b00000000000007', 'status': 'failed', 'scheduled_for': '-7m'}]},
]}

NGINX_502 = (b'<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1>'
             b'</center>\r\n<hr><center>nginx/1.25.3</center>\r\n</body>\r\n</html>\r\n')
FAKES = {
    'proxy_502': (502, NGINX_502, 'text/html'),
    'proxy_500': (500, b'<html><body><h1>500 Internal Server Error</h1></body></html>', 'text/html'),
    'login_page': (200, b'<!DOCTYPE html><html><body><form>Please sign in</form></body></html>', 'text/html; charset=utf-8'),
    'truncated': (200, b'{"tasks":[{"id":"0a1b2c3d4e5f6789","name":"cpu","status":"act', 'application/json; charset=utf-8'),
    'other_json': (200, b'{"status":"pass","version":"2.7.1"}', 'application/json'),
    'json_array': (200, b'[]', 'application/json'),
    'other_404': (404, b'404 page not found\n', 'text/plain; charset=utf-8'),
    'kit_401': (401, b'{"code":"unauthorized","message":"unauthorized access"}', 'application/json; charset=utf-8'),
    'kit_403': (403, b'{"code":"forbidden","message":"insufficient permissions for write:tasks"}',
                'application/json; charset=utf-8'),
}


def hinted(run_id, task_id):
    """A run as kapacitor_task_runs_info returns it, so that refresh=false posts without listing first."""
    return {'task_id': task_id, 'run_id': run_id, 'scheduled_for': '2026-11-26T00:00:00Z', 'status': 'failed',
            'attempt': 1, 'attempts': 1}


# (case id, module, args from the world, substrings the message must hold: the problem, then what to do)
CASES = [
    # -- URLs
    ('url-no-scheme', INFO, lambda w: {'url': 'localhost:9092'},
     ["url 'localhost:9092' is not an http:// or https:// URL", 'such as https://kapacitor.example.com:9092']),
    ('url-ftp-scheme', INFO, lambda w: {'url': 'ftp://127.0.0.1:9092'},
     ["url 'ftp://127.0.0.1:9092' is not an http:// or https:// URL", 'such as https://']),
    ('url-with-path', INFO, lambda w: {'url': w['plain'].url + '/kapacitor/v1'},
     ['must be the server\'s base URL without a path', 'adds /kapacitor/v1/api/v2/tasks itself']),
    ('url-with-query', RETRY, lambda w: {'url': w['plain'].url + '/?db=telegraf', 'runs': []},
     ['without a path, query or fragment', 'such as https://']),
    ('url-bad-port', INFO, lambda w: {'url': 'http://127.0.0.1:99999'}, ['has an invalid port', 'such as https://']),
    ('url-nothing-listens', INFO, lambda w: {'url': 'http://127.0.0.1:%d' % w['closed_port']},
     ['Connection refused', 'Nothing listens at http://127.0.0.1:', 'that Kapacitor is running']),
    ('url-does-not-resolve', INFO, lambda w: {'url': 'http://kapacitor.invalid:9092'},
     ['kapacitor.invalid', 'The host name does not resolve: check url']),
    ('url-wrong-port-other-service', INFO, lambda w: {'url': w['other_404'].url},
     ['HTTP 404: 404 page not found', 'does not look like Kapacitor: check url']),
    ('http-to-https-server', INFO, lambda w: {'url': w['tls'].url.replace('https://', 'http://')},
     ['closed the connection without answering', 'use https://']),
    ('https-to-http-server', INFO, lambda w: {'url': w['plain'].url.replace('http://', 'https://')},
     ['WRONG_VERSION_NUMBER', 'does not speak TLS on this port: use http://']),
    # -- answers that are not Kapacitor's
    ('proxy-502-html', INFO, lambda w: {'url': w['proxy_502'].url},
     ['HTTP 502', '502 Bad Gateway', 'A proxy or Kapacitor is unavailable']),
    ('proxy-500-html', INFO, lambda w: {'url': w['proxy_500'].url},
     ['HTTP 500', '500 Internal Server Error', "see Kapacitor's log"]),
    ('html-200-login-page', INFO, lambda w: {'url': w['login_page'].url},
     ['HTTP 200 with a body that is not JSON (text/html', "a proxy's page?): check url"]),
    ('truncated-json', INFO, lambda w: {'url': w['truncated'].url},
     ['not JSON (application/json', '"status":"act', 'check url']),
    ('truncated-json-retry', RETRY, lambda w: {'url': w['truncated'].url, 'task_id': UNKNOWN, 'run_id': UNKNOWN},
     ['could not list the runs of task %s' % UNKNOWN, 'not JSON', 'check url']),
    ('json-not-kapacitor', INFO, lambda w: {'url': w['other_json'].url},
     ["the answer has no 'tasks' list, so it is not what Kapacitor sends", 'Kapacitor 1.6 or later']),
    ('json-array', INFO, lambda w: {'url': w['json_array'].url},
     ['HTTP 200 with JSON that is not an object', 'check url']),
    # -- TLS
    ('tls-self-signed-no-ca', INFO, lambda w: {'url': w['self_signed'].url},
     ['self-signed certificate', 'set ca_path to the CA bundle', 'validate_certs: false']),
    ('tls-self-signed-retry', RETRY, lambda w: {'url': w['self_signed'].url, 'task_id': UNKNOWN, 'run_id': UNKNOWN},
     ['certificate verify failed', 'set ca_path']),
    ('tls-wrong-ca', INFO, lambda w: {'url': w['tls'].url, 'ca_path': w['pki']['other_ca']},
     ['unable to get local issuer certificate', 'set ca_path to the CA bundle']),
    ('tls-client-cert-required', INFO, lambda w: {'url': w['mtls'].url, 'ca_path': w['pki']['ca']},
     ['The TLS handshake failed', 'the server may require a client certificate: set client_cert and client_key']),
    ('tls-ca-path-missing-file', INFO, lambda w: {'url': w['tls'].url, 'ca_path': '/nonexistent/ca.pem'},
     ['ca_path /nonexistent/ca.pem does not exist or is not a file']),
    ('tls-key-without-cert', INFO, lambda w: {'url': w['mtls'].url, 'client_key': w['pki']['client_key']},
     ['client_key was given without client_cert', 'set both']),
    # -- authentication and authorisation, in both of Kapacitor's error shapes
    ('auth-401-no-credentials', INFO, lambda w: {'url': w['auth'].url},
     ['HTTP 401: unable to parse authentication credentials', 'set username and password', 'or token']),
    ('auth-401-wrong-password', INFO, lambda w: {'url': w['auth'].url, 'username': 'alice', 'password': 'not-her-password'},
     ['HTTP 401: authorization failed', 'Kapacitor rejected the credentials']),
    ('auth-401-url-credentials', INFO, lambda w: {'url': w['auth'].url.replace('://', '://alice:wrong-in-url@')},
     ['HTTP 401: authorization failed', 'KAPACITOR_USERNAME']),
    ('auth-401-jwt-bad-signature', INFO,
     lambda w: {'url': w['auth'].url, 'token': make_jwt({'username': 'bob', 'exp': int(time.time()) + 600}, 'not-it')},
     ['HTTP 401: signature is invalid', 'KAPACITOR_TOKEN']),
    ('auth-401-jwt-expired', RETRY,
     lambda w: {'url': w['auth'].url, 'token': make_jwt({'username': 'bob', 'exp': int(time.time()) - 600}, SECRET),
                'runs': [{'task_id': w['ids']['cpu'], 'run_id': w['runs']['cpu']}]},
     ['HTTP 401: Token is expired', 'Kapacitor rejected the credentials']),
    ('auth-401-kit-shape', INFO, lambda w: {'url': w['kit_401'].url},
     ['HTTP 401: unauthorized access', 'set username and password (KAPACITOR_USERNAME, KAPACITOR_PASSWORD)']),
    ('auth-403-httpd-shape', RETRY,
     lambda w: {'url': w['auth'].url, 'username': 'reader', 'password': 'reader-pw', 'refresh': False,
                'runs': [hinted(w['runs']['cpu'], w['ids']['cpu'])]},
     ['HTTP 403: user reader does not have "write" privilege', "grant it in Kapacitor's auth settings"]),
    ('auth-403-kit-shape', INFO, lambda w: {'url': w['kit_403'].url},
     ['HTTP 403: insufficient permissions for write:tasks', 'lacks the privilege for this endpoint']),
    ('auth-token-and-username', INFO,
     lambda w: {'url': w['auth'].url, 'token': 'a-long-enough-token-value', 'username': 'alice'},
     ['parameters are mutually exclusive: token|username']),
    # -- the Flux task API switched off
    ('fluxtask-disabled', INFO, lambda w: {'url': w['disabled'].url},
     ['HTTP 404: Not Found', 'the API is disabled on this server', '[fluxtask] enabled = true']),
    ('fluxtask-disabled-retry', RETRY, lambda w: {'url': w['disabled'].url, 'task_id': UNKNOWN, 'run_id': UNKNOWN},
     ['HTTP 404', '[fluxtask] enabled = true']),
    # -- IDs: malformed and unknown
    ('id-too-short', INFO, lambda w: {'url': w['plain'].url, 'task_id': 'abc'},
     ["task_id 'abc' is not a Kapacitor ID", 'expected 16 hexadecimal characters']),
    ('id-all-zero', INFO, lambda w: {'url': w['plain'].url, 'task_id': ['0000000000000000']},
     ['the all-zero ID is invalid']),
    ('id-17-chars', RETRY, lambda w: {'url': w['plain'].url, 'task_id': '0123456789abcdef0', 'run_id': UNKNOWN},
     ["task_id '0123456789abcdef0' is not a Kapacitor ID", 'such as 0a1b2c3d4e5f6789']),
    ('id-not-hex-in-runs', RETRY, lambda w: {'url': w['plain'].url, 'runs': [{'task_id': w['ids']['cpu'], 'id': 'zz'}]},
     ["runs[0].run_id 'zz' is not a Kapacitor ID", 'expected 16 hexadecimal characters']),
    ('id-after-cursor', INFO, lambda w: {'url': w['plain'].url, 'after': 'nothex0000000000'},
     ["after 'nothex0000000000' is not a Kapacitor ID"]),
    ('unknown-task-info', INFO, lambda w: {'url': w['plain'].url, 'task_id': UNKNOWN},
     ['task %s not found on this Kapacitor' % UNKNOWN]),
    ('unknown-task-name', INFO, lambda w: {'url': w['plain'].url, 'task_name': 'no_such_task'},
     ["no task named 'no_such_task' on this Kapacitor"]),
    ('unknown-task-retry', RETRY, lambda w: {'url': w['plain'].url, 'task_id': UNKNOWN, 'run_id': w['runs']['cpu']},
     ['task %s not found' % UNKNOWN]),
    ('unknown-run-retry', RETRY, lambda w: {'url': w['plain'].url, 'task_id': w['ids']['cpu'], 'run_id': UNKNOWN},
     ['run %s not found' % UNKNOWN, 'Kapacitor only keeps runs of the last 14 days']),
    # -- times and windows
    ('time-word', INFO, lambda w: {'url': w['plain'].url, 'after_time': 'yesterday'},
     ["after_time 'yesterday' is neither an RFC3339 time", 'such as 24h, 90m, 7d or 1h30m']),
    ('time-negative-duration', INFO, lambda w: {'url': w['plain'].url, 'after_time': '-1h'},
     ["after_time '-1h' is neither an RFC3339 time", 'meaning that long before now']),
    ('time-impossible-date', INFO, lambda w: {'url': w['plain'].url, 'before_time': '2026-02-30T00:00:00Z'},
     ["before_time '2026-02-30T00:00:00Z' is neither an RFC3339 time", 'such as 2026-05-01T10:00:00Z']),
    ('time-no-zone', INFO, lambda w: {'url': w['plain'].url, 'after_time': '2026-11-25T10:00:00'},
     ["after_time '2026-11-25T10:00:00' is neither an RFC3339 time"]),
    ('window-inverted', INFO, lambda w: {'url': w['plain'].url, 'after_time': '1h', 'before_time': '2h'},
     ['before_time', 'must be later than after_time']),
    ('window-in-future', INFO, lambda w: {'url': w['plain'].url, 'after_time': '2099-01-01T00:00:00Z'},
     ['after_time (2099-01-01T00:00:00Z) is not in the past', 'no run can be scheduled after it yet']),
    # -- limits, concurrency, attempts, timeouts
    ('limit-zero', INFO, lambda w: {'url': w['plain'].url, 'limit': 0}, ['limit must be 1 or more, got 0']),
    ('limit-negative', INFO, lambda w: {'url': w['plain'].url, 'limit': -3}, ['limit must be 1 or more, got -3']),
    ('info-concurrency-zero', INFO, lambda w: {'url': w['plain'].url, 'concurrency': 0},
     ['concurrency must be between 1 and 100, got 0']),
    ('retry-concurrency-101', RETRY, lambda w: {'url': w['plain'].url, 'runs': [], 'concurrency': 101},
     ['concurrency must be between 1 and 100', 'Kapacitor runs at most 100 task runs at once', 'got 101']),
    ('max-attempts-zero', RETRY, lambda w: {'url': w['plain'].url, 'runs': [], 'max_attempts': 0},
     ['max_attempts must be 1 or more, got 0']),
    ('max-attempts-negative', RETRY, lambda w: {'url': w['plain'].url, 'runs': [], 'max_attempts': -2},
     ['max_attempts must be 1 or more, got -2']),
    ('retry-timeout-zero', RETRY, lambda w: {'url': w['plain'].url, 'runs': [], 'retry_timeout': 0},
     ['retry_timeout must be a positive number of seconds, got 0']),
    ('timeout-negative', INFO, lambda w: {'url': w['plain'].url, 'timeout': -1},
     ['timeout must be a positive number of seconds, got -1']),
    ('task-status-choice', INFO, lambda w: {'url': w['plain'].url, 'task_status': 'paused'},
     ['value of task_status must be one of: active, inactive, any, got: paused']),
    ('run-status-choice', INFO, lambda w: {'url': w['plain'].url, 'status': ['failing']},
     ['value of status must be one or more of', 'Got no match for: failing']),
]


@pytest.fixture(scope='module')
def world(tmp_path_factory):
    """Every server of the cases, the state of the simulators before, every case's result, and the state after."""
    pki = make_pki(tmp_path_factory.mktemp('pki'))
    sims = {
        'plain': Simulator(),
        'auth': Simulator('--auth-user', 'alice:alice-pw', '--auth-user', 'reader:reader-pw:ro', '--shared-secret', SECRET),
        'disabled': Simulator('--fluxtask-disabled'),
        'self_signed': tls_simulator(pki, self_signed=True),
        'tls': tls_simulator(pki),
        'mtls': tls_simulator(pki, client_ca=True),
    }
    fakes = dict((name, FakeServer(status, body, content_type)) for name, (status, body, content_type) in FAKES.items())
    try:
        world = dict(sims, **fakes)
        world['pki'] = pki
        world['closed_port'] = free_port()
        for name in ('plain', 'auth', 'disabled'):
            created = sims[name].load(SCENARIO)
        world['ids'] = dict((task['name'], task['id']) for task in created['tasks'])
        attempts = sims['plain'].attempts()
        world['runs'] = {'cpu': '0b00000000000005', 'mem': '0b00000000000007'}
        for name in ('auth', 'disabled'):
            assert sims[name].attempts() == attempts       # same scenario, same IDs on every simulator
        world['before'] = dict((name, (sim.state(), sim.attempts())) for name, sim in sims.items())
        for sim in sims.values():
            sim.reset_stats()

        def run_case(case):
            dummy, module, args, dummy = case
            return run_module(module, args(world))
        world['results'] = dict(zip([case[0] for case in CASES], in_parallel(run_case, CASES, workers=12)))
        world['after'] = dict((name, (sim.state(), sim.attempts())) for name, sim in sims.items())
        world['stats'] = dict((name, sim.stats()) for name, sim in sims.items())
        world['fake_requests'] = dict((name, list(fake.requests)) for name, fake in fakes.items())
        yield world
    finally:
        for sim in sims.values():
            sim.stop()
        for fake in fakes.values():
            fake.stop()


def test_there_are_enough_cases():
    assert len(CASES) >= 30 and len(set(case[0] for case in CASES)) == len(CASES)


@pytest.mark.parametrize('case_id, module, args, expected', CASES, ids=[case[0] for case in CASES])
def test_fails_with_a_message_that_names_the_problem_and_what_to_do(world, case_id, module, args, expected):
    result = world['results'][case_id]
    assert result.rc == 1 and result['failed'] is True, result
    message = result['msg']
    for part in expected:
        assert part in message, (case_id, part, message)
    assert 'Traceback' not in message and 'Traceback' not in result.stderr
    assert 'exception' not in result
    assert result.get('changed', False) is False
    if module == RETRY and 'results' in result:
        assert all(entry['new_run_id'] is None for entry in result['results'])


def test_nothing_changed_on_any_server(world):
    for name, before in world['before'].items():
        assert world['after'][name] == before, name
        assert world['stats'][name]['retries_started'] == 0, name
    # The only retry request that reached a server was refused by authorisation (403) before anything was done.
    assert world['stats']['auth']['requests'].get(RETRY_ROUTE, 0) == 1
    assert sum(stats['requests'].get(RETRY_ROUTE, 0) for stats in world['stats'].values()) == 1
    # TLS that failed never got as far as a request.
    for name in ('self_signed', 'mtls'):
        assert world['stats'][name]['requests_total'] == 0, name
    # The throw-away servers only ever saw reads.
    for name, requests in world['fake_requests'].items():
        assert requests and all(method == 'GET' for method, dummy in requests), (name, requests)


@pytest.mark.parametrize('module', [INFO, RETRY])
def test_missing_requests_is_reported_as_a_missing_library(tmp_path, module):
    # A ``requests`` package that cannot be imported stands first on the module's path.
    (tmp_path / 'requests').mkdir()
    (tmp_path / 'requests' / '__init__.py').write_text('raise ImportError("No module named requests")\n')
    args = {'url': 'http://127.0.0.1:1'}
    if module == RETRY:
        args.update(task_id='0123456789abcdef', run_id='0123456789abcdef')
    result = run_module(module, args, env={'PYTHONPATH': '%s:%s' % (tmp_path, COLLECTIONS_ROOT)})
    assert result.rc == 1 and result['failed'] is True
    assert 'Failed to import the required Python library (requests)' in result['msg']
    assert 'Traceback' not in result['msg']
