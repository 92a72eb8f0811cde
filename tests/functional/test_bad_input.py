# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Bad input: every case fails with a message that names the problem and what to do, never a Python
traceback, and changes nothing on any server.

The servers are started once for the module (simulators with and without auth, TLS with a self-signed certificate,
with a CA and with client certificates, the Flux task API disabled, and tiny throw-away servers that answer like a
proxy or another service). Each case in ``CASES`` is one test: it runs its module as a real process, checks the
message, and then checks out of band that no server's record changed and that no retry request got through.

To add a case, add a ``Case`` to ``CASES``: an id, the module, its arguments and the substrings the message must
hold. An argument that depends on the running servers is a ``Live`` template, filled in when the case runs.
"""


import time
from collections import namedtuple

import pytest

from ansible_collections.tickstack.kapacitor.tests.functional.support import (
    COLLECTIONS_ROOT,
    RETRY_ROUTE,
    CannedHTTPServer,
    Live,
    filled,
    free_port,
    run_module,
    start_simulator,
    start_tls_simulator,
)
from ansible_collections.tickstack.kapacitor.tests.simulator.sim_support import make_jwt

INFO = 'kapacitor_task_runs_info'
EXPORT = 'kapacitor_task_runs_export'
RETRY = 'kapacitor_task_run_retry'
SECRET = 'shared-secret-of-the-test'
UNKNOWN = '0123456789abcdef'
VALID_FOR_A_DAY = int(time.time()) + 24 * 3600
EXPIRED = int(time.time()) - 600

# Explicit IDs, so that every simulator holds the same record.
CPU_TASK, CPU_RUN = '0a1b2c3d4e5f0001', '0b00000000000005'
SCENARIO = {'tasks': [
    {'id': CPU_TASK, 'name': 'cpu',
     'runs': [{'id': '0b00000000000%03d' % m, 'status': 'failed', 'scheduled_for': '-%dm' % m} for m in (5, 10, 15)]
     + [{'id': '0b00000000000020', 'status': 'success', 'scheduled_for': '-20m'}]},
    {'id': '0a1b2c3d4e5f0002', 'name': 'mem', 'runs': [{'id': '0b00000000000007', 'status': 'failed', 'scheduled_for': '-7m'}]},
]}

# Plain-HTTP simulators and their flags (the TLS ones are started from the session's PKI: tls, mtls, self_signed).
SIMULATORS = {
    'plain': (),
    'auth': ('--auth-user', 'alice:alice-pw', '--auth-user', 'reader:reader-pw:ro', '--shared-secret', SECRET),
    'disabled': ('--fluxtask-disabled',),
}
NGINX_502 = (b'<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1>'
             b'</center>\r\n<hr><center>nginx/1.25.3</center>\r\n</body>\r\n</html>\r\n')
CANNED = {
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


PLAIN, AUTH, DISABLED = Live('{plain.url}'), Live('{auth.url}'), Live('{disabled.url}')
TLS, MTLS, SELF_SIGNED = Live('{tls.url}'), Live('{mtls.url}'), Live('{self_signed.url}')


Case = namedtuple('Case', 'id module args expected retry_requests', defaults=(0,))
Case.__doc__ = """One bad input: ``id`` (the test id), ``module``, ``args`` (may hold ``Live`` templates), ``expected``
(substrings the failure message must hold: the problem, then what to do) and ``retry_requests`` (how many retry
requests may reach a server, to be refused there before anything is done)."""

CASES = [
    # -- URLs
    Case('url-no-scheme', INFO, {'url': 'localhost:9092'},
         ["url 'localhost:9092' is not an http:// or https:// URL", 'such as https://kapacitor.example.com:9092']),
    Case('url-ftp-scheme', INFO, {'url': 'ftp://127.0.0.1:9092'},
         ["url 'ftp://127.0.0.1:9092' is not an http:// or https:// URL", 'such as https://']),
    Case('url-with-path', INFO, {'url': Live('{plain.url}/kapacitor/v1')},
         ["must be the server's base URL without a path", 'adds /kapacitor/v1/api/v2/tasks itself']),
    Case('url-with-query', RETRY, {'url': Live('{plain.url}/?db=telegraf'), 'runs': []},
         ['without a path, query or fragment', 'such as https://']),
    Case('url-bad-port', INFO, {'url': 'http://127.0.0.1:99999'}, ['has an invalid port', 'such as https://']),
    Case('url-nothing-listens', INFO, {'url': Live('http://127.0.0.1:{closed_port}')},
         ['Connection refused', 'Nothing listens at http://127.0.0.1:', 'that Kapacitor or InfluxDB is running']),
    Case('url-does-not-resolve', INFO, {'url': 'http://kapacitor.invalid:9092'},
         ['kapacitor.invalid', 'The host name does not resolve: check url']),
    Case('url-wrong-port-other-service', INFO, {'url': Live('{other_404.url}')},
         ['HTTP 404: 404 page not found', 'does not look like Kapacitor or InfluxDB 2: check url']),
    Case('http-to-https-server', INFO, {'url': Live('http://127.0.0.1:{tls.port}')},
         ['closed the connection without answering', 'use https://']),
    Case('https-to-http-server', INFO, {'url': Live('https://127.0.0.1:{plain.port}')},
         ['WRONG_VERSION_NUMBER', 'does not speak TLS on this port: use http://']),
    # -- answers that are not Kapacitor's, to the API requests of a client told it talks to Kapacitor
    Case('proxy-502-html', INFO, {'url': Live('{proxy_502.url}'), 'server_type': 'kapacitor'},
         ['HTTP 502', '502 Bad Gateway', 'A proxy or Kapacitor is unavailable']),
    Case('proxy-500-html', INFO, {'url': Live('{proxy_500.url}'), 'server_type': 'kapacitor'},
         ['HTTP 500', '500 Internal Server Error', "see Kapacitor's log"]),
    Case('html-200-login-page', INFO, {'url': Live('{login_page.url}'), 'server_type': 'kapacitor'},
         ['HTTP 200 with a body that is not JSON (text/html', "a proxy's page, or InfluxDB 2's web UI?): check url",
          'set server_type: influxdb2']),
    Case('truncated-json', INFO, {'url': Live('{truncated.url}'), 'server_type': 'kapacitor'},
         ['not JSON (application/json', '"status":"act', 'check url']),
    Case('truncated-json-retry', RETRY, {'url': Live('{truncated.url}'), 'server_type': 'kapacitor', 'task_id': UNKNOWN,
                                         'run_id': UNKNOWN},
         ['could not list the runs of task %s' % UNKNOWN, 'not JSON', 'check url']),
    Case('json-not-kapacitor', INFO, {'url': Live('{other_json.url}'), 'server_type': 'kapacitor'},
         ["the answer has no 'tasks' list, so it is not what Kapacitor sends", 'Kapacitor 1.6 or later']),
    Case('json-array', INFO, {'url': Live('{json_array.url}'), 'server_type': 'kapacitor'},
         ['HTTP 200 with JSON that is not an object', 'check url']),
    # -- TLS
    Case('tls-self-signed-no-ca', INFO, {'url': SELF_SIGNED},
         ['self-signed certificate', 'set ca_path to the CA bundle', 'validate_certs: false']),
    Case('tls-self-signed-retry', RETRY, {'url': SELF_SIGNED, 'task_id': UNKNOWN, 'run_id': UNKNOWN},
         ['certificate verify failed', 'set ca_path']),
    Case('tls-wrong-ca', INFO, {'url': TLS, 'ca_path': Live('{pki[other_ca]}')},
         ['unable to get local issuer certificate', 'set ca_path to the CA bundle']),
    Case('tls-client-cert-required', INFO, {'url': MTLS, 'ca_path': Live('{pki[ca]}')},
         ['The TLS handshake failed', 'the server may require a client certificate: set client_cert and client_key']),
    Case('tls-ca-path-missing-file', INFO, {'url': TLS, 'ca_path': '/nonexistent/ca.pem'},
         ['ca_path /nonexistent/ca.pem does not exist or is not a file']),
    Case('tls-key-without-cert', INFO, {'url': MTLS, 'client_key': Live('{pki[client_key]}')},
         ['client_key was given without client_cert', 'set both']),
    # -- authentication and authorisation, in both of Kapacitor's error shapes
    Case('auth-401-no-credentials', INFO, {'url': AUTH},
         ['HTTP 401: unable to parse authentication credentials', 'set username and password', 'or token']),
    Case('auth-401-wrong-password', INFO, {'url': AUTH, 'username': 'alice', 'password': 'not-her-password'},
         ['HTTP 401: authorization failed', 'Kapacitor rejected the credentials']),
    Case('auth-401-url-credentials', INFO, {'url': Live('http://alice:wrong-in-url@127.0.0.1:{auth.port}')},
         ['HTTP 401: authorization failed', 'KAPACITOR_USERNAME']),
    Case('auth-401-jwt-bad-signature', INFO,
         {'url': AUTH, 'token': make_jwt({'username': 'bob', 'exp': VALID_FOR_A_DAY}, 'not-it')},
         ['HTTP 401: signature is invalid', 'KAPACITOR_TOKEN']),
    Case('auth-401-jwt-expired', RETRY,
         {'url': AUTH, 'token': make_jwt({'username': 'bob', 'exp': EXPIRED}, SECRET),
          'runs': [{'task_id': CPU_TASK, 'run_id': CPU_RUN}]},
         ['HTTP 401: Token is expired', 'Kapacitor rejected the credentials']),
    Case('auth-401-kit-shape', INFO, {'url': Live('{kit_401.url}'), 'server_type': 'kapacitor'},
         ['HTTP 401: unauthorized access', 'set username and password (KAPACITOR_USERNAME, KAPACITOR_PASSWORD)']),
    # The detection ping goes without credentials: a 401 to it from a server that does not name itself is no
    # Kapacitor's (which names itself on every answer).
    Case('auth-401-unnamed-ping', INFO, {'url': Live('{kit_401.url}')},
         ['GET http://', '/ping: HTTP 401: unauthorized access', 'The server refused an unauthenticated GET /ping',
          'set server_type to kapacitor or influxdb2']),
    Case('auth-403-httpd-shape', RETRY,
         {'url': AUTH, 'username': 'reader', 'password': 'reader-pw', 'runs': [{'task_id': CPU_TASK, 'run_id': CPU_RUN}]},
         ['HTTP 403: user reader does not have "write" privilege', "grant it in Kapacitor's auth settings"],
         retry_requests=1),
    # Each run's refusal names its own endpoint: the message is one reason for the four failed scheduled times.
    Case('auth-403-every-run', RETRY, {'url': AUTH, 'username': 'reader', 'password': 'reader-pw', 'failed': {}},
         ['4 of 4 run(s) could not be retried: 4 run(s) error: HTTP 403: user reader does not have "write" privilege '
          'for API endpoint "/api/api/v2/tasks/<task_id>/runs/<run_id>/retry"'],
         retry_requests=4),
    Case('auth-403-kit-shape', INFO, {'url': Live('{kit_403.url}'), 'server_type': 'kapacitor'},
         ['HTTP 403: insufficient permissions for write:tasks', 'lacks the privilege for this endpoint']),
    Case('auth-token-and-username', INFO,
         {'url': AUTH, 'token': 'a-long-enough-token-value', 'username': 'alice'},
         ['parameters are mutually exclusive: token|username']),
    # -- the Flux task API switched off
    Case('fluxtask-disabled', INFO, {'url': DISABLED},
         ['HTTP 404: Not Found', 'the API is disabled on this server', '[fluxtask] enabled = true']),
    Case('fluxtask-disabled-retry', RETRY, {'url': DISABLED, 'task_id': UNKNOWN, 'run_id': UNKNOWN},
         ['HTTP 404', '[fluxtask] enabled = true']),
    # -- IDs: malformed and unknown
    Case('id-too-short', INFO, {'url': PLAIN, 'task_id': 'abc'},
         ["task_id 'abc' is not a Kapacitor ID", 'expected 16 hexadecimal characters']),
    Case('id-all-zero', INFO, {'url': PLAIN, 'task_id': ['0000000000000000']},
         ['the all-zero ID is invalid']),
    Case('id-17-chars', RETRY, {'url': PLAIN, 'task_id': '0123456789abcdef0', 'run_id': UNKNOWN},
         ["task_id '0123456789abcdef0' is not a Kapacitor ID", 'such as 0a1b2c3d4e5f6789']),
    Case('id-not-hex-in-runs', RETRY, {'url': PLAIN, 'runs': [{'task_id': CPU_TASK, 'id': 'zz'}]},
         ["runs[0].id 'zz' is not a Kapacitor ID", 'expected 16 hexadecimal characters']),
    Case('id-after-cursor', INFO, {'url': PLAIN, 'after': 'nothex0000000000'},
         ["after 'nothex0000000000' is not a Kapacitor ID"]),
    Case('unknown-task-info', INFO, {'url': PLAIN, 'task_id': UNKNOWN},
         ['task %s not found on this Kapacitor' % UNKNOWN]),
    Case('unknown-task-name', INFO, {'url': PLAIN, 'task_name': 'no_such_task'},
         ["no task named 'no_such_task' on this Kapacitor"]),
    Case('unknown-task-retry', RETRY, {'url': PLAIN, 'task_id': UNKNOWN, 'run_id': CPU_RUN},
         ['task %s not found' % UNKNOWN]),
    Case('unknown-run-retry', RETRY, {'url': PLAIN, 'task_id': CPU_TASK, 'run_id': UNKNOWN},
         ['run %s not found' % UNKNOWN, 'Kapacitor only keeps runs of the last 14 days']),
    # -- times and windows
    Case('time-word', INFO, {'url': PLAIN, 'after_time': 'yesterday'},
         ["after_time 'yesterday' is neither an RFC3339 time", 'such as 24h or -24h, 90m, 7d or 1h30m']),
    Case('time-calendar-unit', INFO, {'url': PLAIN, 'after_time': '-1mo'},
         ["after_time '-1mo' is neither an RFC3339 time", 'meaning that long before now']),
    Case('time-impossible-date', INFO, {'url': PLAIN, 'before_time': '2026-02-30T00:00:00Z'},
         ["before_time '2026-02-30T00:00:00Z' is neither an RFC3339 time", 'such as 2026-05-01T10:00:00Z']),
    Case('time-impossible-day', INFO, {'url': PLAIN, 'after_time': '2026-11-31'},
         ["after_time '2026-11-31' is neither an RFC3339 time", 'a date (such as 2026-05-01, midnight UTC)']),
    Case('window-inverted', INFO, {'url': PLAIN, 'after_time': '1h', 'before_time': '2h'},
         ['before_time', 'must be later than after_time']),
    Case('export-time-word', EXPORT, {'url': PLAIN, 'after_time': 'yesterday', 'dest': '/tmp/never-written.jsonl'},
         ["after_time 'yesterday' is neither an RFC3339 time", 'such as 24h or -24h']),
    Case('export-dest-directory', EXPORT, {'url': PLAIN, 'dest': '/'}, ['dest / is a directory', 'the path of a file']),
    Case('window-in-future', INFO, {'url': PLAIN, 'after_time': '2099-01-01T00:00:00Z'},
         ['after_time (2099-01-01T00:00:00Z) is not in the past', 'no run can be scheduled after it yet']),
    # -- limits, concurrency, attempts, timeouts
    Case('limit-zero', INFO, {'url': PLAIN, 'limit': 0}, ['limit must be 1 or more, got 0']),
    Case('limit-negative', INFO, {'url': PLAIN, 'limit': -3}, ['limit must be 1 or more, got -3']),
    Case('info-concurrency-zero', INFO, {'url': PLAIN, 'concurrency': 0},
         ['concurrency must be between 1 and 100, got 0']),
    Case('retry-concurrency-101', RETRY, {'url': PLAIN, 'runs': [], 'concurrency': 101},
         ['concurrency must be between 1 and 100', 'Kapacitor runs at most 100 task runs at once', 'got 101']),
    Case('max-attempts-zero', RETRY, {'url': PLAIN, 'runs': [], 'max_attempts': 0},
         ['max_attempts must be 1 or more, got 0']),
    Case('max-attempts-negative', RETRY, {'url': PLAIN, 'runs': [], 'max_attempts': -2},
         ['max_attempts must be 1 or more, got -2']),
    Case('retry-timeout-zero', RETRY, {'url': PLAIN, 'runs': [], 'retry_timeout': 0},
         ['retry_timeout must be a positive number of seconds, got 0']),
    # -- retry with failed: the listing's options are checked before the lock and before any request
    Case('failed-task-id', RETRY, {'url': PLAIN, 'failed': {'task_id': ['cpu']}},
         ["failed.task_id 'cpu' is not a Kapacitor ID", 'expected 16 hexadecimal characters']),
    Case('failed-time-word', RETRY, {'url': PLAIN, 'failed': {'after_time': 'yesterday'}},
         ["failed.after_time 'yesterday' is neither an RFC3339 time", 'such as 24h or -24h']),
    Case('failed-window-inverted', RETRY, {'url': PLAIN, 'failed': {'after_time': '1h', 'before_time': '2h'}},
         ['failed.before_time', 'must be later than after_time']),
    Case('failed-task-status-choice', RETRY, {'url': PLAIN, 'failed': {'task_status': 'paused'}},
         ['value of task_status must be one of: active, inactive, any, got: paused', 'found in failed']),
    Case('failed-and-runs', RETRY, {'url': PLAIN, 'failed': {}, 'runs': []},
         ['parameters are mutually exclusive: failed|runs']),
    Case('batch-rounds-without-failed', RETRY, {'url': PLAIN, 'runs': [], 'batch_rounds': 2},
         ["missing parameter(s) required by 'batch_rounds': failed"]),
    Case('batch-rounds-negative', RETRY, {'url': PLAIN, 'failed': {}, 'batch_rounds': -1},
         ["batch_rounds must be 0 (sized from the runs' recorded durations) or more, got -1"]),
    Case('timeout-negative', INFO, {'url': PLAIN, 'timeout': -1},
         ['timeout must be a positive number of seconds, got -1']),
    Case('task-status-choice', INFO, {'url': PLAIN, 'task_status': 'paused'},
         ['value of task_status must be one of: active, inactive, any, got: paused']),
    Case('run-status-choice', INFO, {'url': PLAIN, 'status': ['failing']},
         ['value of status must be one or more of', 'Got no match for: failing']),
]


@pytest.fixture(scope='module')
def servers(pki):
    """Every server of the cases, started once, with the simulators' record before any case ran.

    ``fields`` holds what ``Live`` templates are filled from."""
    sims = {}
    canned = {}
    try:
        for name, flags in SIMULATORS.items():
            sims[name] = start_simulator(*flags)
        sims['self_signed'] = start_tls_simulator(pki, self_signed=True)
        sims['tls'] = start_tls_simulator(pki)
        sims['mtls'] = start_tls_simulator(pki, client_ca=True)
        for name, (status, body, content_type) in CANNED.items():
            canned[name] = CannedHTTPServer(status, body, content_type)
        for name in SIMULATORS:
            created = sims[name].load(SCENARIO)
            assert sorted(task['id'] for task in created['tasks']) == sorted(task['id'] for task in SCENARIO['tasks'])

        # Same scenario, same IDs on every simulator. (Not the same scheduled times: each simulator resolves the
        # scenario's relative times when it loads it, and loading them one after another may cross a second.)
        def run_ids(sim):
            return {task: sorted(run['id'] for runs in times.values() for run in runs)
                    for task, times in sim.attempts().items()}
        for name in SIMULATORS:
            assert run_ids(sims[name]) == run_ids(sims['plain']), name
        fields = dict(sims, **canned)
        fields.update(pki=pki, closed_port=free_port())
        before = {name: (sim.state(), sim.attempts()) for name, sim in sims.items()}
        yield {'sims': sims, 'canned': canned, 'fields': fields, 'before': before}
    finally:
        for sim in sims.values():
            sim.process.stop()
        for server in canned.values():
            server.stop()


def test_there_are_enough_cases():
    assert len(CASES) >= 30 and len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize('case', CASES, ids=[case.id for case in CASES])
def test_fails_with_a_message_that_names_the_problem_and_what_to_do_and_changes_nothing(servers, case):
    sims, canned = servers['sims'], servers['canned']
    for sim in sims.values():
        sim.reset_stats()
    for server in canned.values():
        del server.requests[:]
    args = filled(case.args, servers['fields'])

    result = run_module(case.module, args)

    assert result.rc == 1 and result['failed'] is True, result
    message = result['msg']
    for part in case.expected:
        assert part in message, (case.id, part, message)
    assert 'Traceback' not in message and 'Traceback' not in result.stderr
    assert 'exception' not in result
    assert result.get('changed', False) is False
    if case.module == RETRY and 'results' in result:
        assert all(entry['new_run_id'] is None for entry in result['results'])

    # Out of band: no server's record changed, and no retry was started.
    stats = {name: sim.stats() for name, sim in sims.items()}
    for name, sim in sims.items():
        assert (sim.state(), sim.attempts()) == servers['before'][name], name
        assert stats[name]['retries_started'] == 0, name
    # A retry request reaches a server only where the case says so, and is refused there (403) before anything is done.
    assert sum(figures['requests'].get(RETRY_ROUTE, 0) for figures in stats.values()) == case.retry_requests
    # TLS that failed never got as far as a request.
    for name in ('self_signed', 'mtls'):
        assert stats[name]['requests_total'] == 0, name
    # The throw-away servers only ever see reads; the one a case points at was asked.
    for name, server in canned.items():
        assert all(method == 'GET' for method, dummy in server.requests), (name, server.requests)
        if args.get('url') == server.url:
            assert server.requests, name


@pytest.mark.parametrize('module', [INFO, RETRY, EXPORT])
def test_missing_urllib3_is_reported_as_a_missing_library(tmp_path, module):
    # A ``urllib3`` package that cannot be imported stands first on the module's path.
    (tmp_path / 'urllib3').mkdir()
    (tmp_path / 'urllib3' / '__init__.py').write_text('raise ImportError("No module named urllib3")\n')
    args = {'url': 'http://127.0.0.1:1'}
    if module == RETRY:
        args.update(task_id='0123456789abcdef', run_id='0123456789abcdef')
    if module == EXPORT:
        args.update(dest=str(tmp_path / 'runs.jsonl'))
    result = run_module(module, args, env={'PYTHONPATH': '%s:%s' % (tmp_path, COLLECTIONS_ROOT)})
    assert result.rc == 1 and result['failed'] is True
    assert 'Failed to import the required Python library (urllib3)' in result['msg']
    assert 'Traceback' not in result['msg']
