# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The connection to InfluxDB 2, as the modules run: ``server_type: auto`` tells Kapacitor, InfluxDB 2 OSS and Cloud
apart with one ``GET /ping`` and refuses InfluxDB 1.x, InfluxDB 3 and anything else, naming what answered; an
explicit ``server_type`` sends no ping; the token goes as ``Token`` to InfluxDB and ``Bearer`` to Kapacitor; the org
scopes the task listing (a task another user owns is found only with it), and without one a listing fails before
anything is sent; InfluxDB's web page for a Kapacitor path is an error, never a success; a listing of runs is the
same on both servers.

Effects are read out of band: the simulator's request counters and state, or what a test's own server recorded.
"""

from http.server import BaseHTTPRequestHandler

import pytest

from ansible_collections.tickstack.kapacitor.tests.functional.support import (
    INFLUX_ORG,
    INFLUX_ORG_ID,
    INFLUX_TOKEN,
    CannedHTTPServer,
    LocalHTTPServer,
    failed_runs,
    run_module,
    start_simulator,
)

INFO = 'kapacitor_task_runs_info'
RETRY = 'kapacitor_task_run_retry'
CPU, MEM, OTHERS = '0a1b2c3d4e5f0001', '0a1b2c3d4e5f0002', '0a1b2c3d4e5f0003'
OTHER_USER = '0000000000000b02'
SCENARIO = {'tasks': [
    {'id': CPU, 'name': 'cpu', 'runs': failed_runs('-50m', '-30m') + [{'status': 'success', 'scheduled_for': '-40m'}]},
    {'id': MEM, 'name': 'mem', 'status': 'inactive', 'runs': failed_runs('-20m')},
    # Owned by another user of the same org: InfluxDB lists it only to a listing scoped by the org.
    {'id': OTHERS, 'name': 'others', 'owner': OTHER_USER, 'runs': failed_runs('-10m')},
]}
INFLUX_CONNECTION = {'token': INFLUX_TOKEN, 'org_id': INFLUX_ORG_ID}


@pytest.fixture(scope='module')
def influx():
    sim = start_simulator(flavor='influxdb2')
    sim.load(SCENARIO)
    yield sim
    sim.process.stop()


@pytest.fixture(scope='module')
def kapacitor():
    sim = start_simulator()
    sim.load(SCENARIO)
    yield sim
    sim.process.stop()


def fresh(sim):
    sim.reset_stats()
    return sim


def requests_of(sim):
    return sim.stats()['requests']


# --------------------------------------------------------------------------- detection

def test_auto_detects_influxdb2_with_one_ping_and_reports_it(influx):
    result = run_module(INFO, dict(INFLUX_CONNECTION, url=fresh(influx).url, task_id=[CPU]))
    assert result.rc == 0, result
    assert result['server'] == {'type': 'influxdb2', 'version': 'v2.7.12'}
    assert requests_of(influx) == {'GET /ping': 1, 'GET /api/v2/tasks/:id': 1, 'GET /api/v2/tasks/:id/runs': 1}


def test_auto_detects_kapacitor_by_its_version_header(kapacitor):
    result = run_module(INFO, {'url': fresh(kapacitor).url, 'task_id': [CPU]})
    assert result.rc == 0, result
    assert result['server']['type'] == 'kapacitor' and result['server']['version']
    # The ping is the root /ping, which Kapacitor answers 404 with its version header; then its own API.
    assert requests_of(kapacitor)['GET /api/v2/tasks/:id'] == 1
    assert sum(requests_of(kapacitor).values()) == 3


def test_influxdb_cloud_is_influxdb2_without_a_version():
    cloud = start_simulator('--influx-version', '', flavor='influxdb2')
    try:
        cloud.load(SCENARIO)
        result = run_module(INFO, dict(INFLUX_CONNECTION, url=cloud.url, task_id=[CPU]))
        assert result.rc == 0, result
        assert result['server'] == {'type': 'influxdb2', 'version': None}
        assert requests_of(cloud)['GET /ping'] == 1
    finally:
        cloud.process.stop()


@pytest.mark.parametrize('server_type, version', [('influxdb2', 'v2.7.12'), ('kapacitor', None)])
def test_an_explicit_server_type_sends_no_ping(influx, kapacitor, server_type, version):
    sim = fresh(influx if server_type == 'influxdb2' else kapacitor)
    connection = INFLUX_CONNECTION if server_type == 'influxdb2' else {}
    result = run_module(INFO, dict(connection, url=sim.url, server_type=server_type, task_id=[CPU]))
    assert result.rc == 0, result
    assert 'GET /ping' not in requests_of(sim) and 'GET (unmatched)' not in requests_of(sim)
    assert result['server']['type'] == server_type
    if version:  # read from the answers' own version header
        assert result['server']['version'] == version


@pytest.mark.parametrize('answer, expected', [
    ((204, b'', 'text/plain', {'X-Influxdb-Version': '1.8.10', 'X-Influxdb-Build': 'OSS'}),
     ['InfluxDB 1.8.10 answered: InfluxDB 1.x has no task engine', 'Point url at Kapacitor or at InfluxDB 2']),
    ((200, b'{"version":"3.1.0","revision":"a1b2c3","process_id":"7c5e"}', 'application/json',
      {'X-Influxdb-Build': 'Core'}),
     ['InfluxDB 3.1.0 answered: InfluxDB 3 has no Flux tasks']),
    ((200, b'<!DOCTYPE html><html><head><title>Grafana</title></head></html>', 'text/html', {}),
     ["HTTP 200: an HTML page titled 'Grafana'", 'neither Kapacitor nor InfluxDB 2 answered', 'set server_type']),
])
def test_auto_refuses_influxdb_1_and_3_and_others_naming_what_answered_and_sends_nothing_more(answer, expected):
    status, body, content_type, headers = answer
    server = CannedHTTPServer(status, body, content_type, headers)
    try:
        result = run_module(RETRY, {'url': server.url, 'token': 'tok-1', 'runs': [{'task_id': CPU, 'run_id': MEM}]})
        assert result.rc == 1 and result['failed'], result
        for text in expected:
            assert text in result['msg'], result['msg']
        assert 'server' not in result
        assert server.requests == [('GET', '/ping')]   # the detection, and nothing after it
    finally:
        server.stop()


# --------------------------------------------------------------------------- token

class RecordingServer(LocalHTTPServer):
    """Plays Kapacitor or InfluxDB 2 (its ping, an empty task list) and records each request's Authorization."""

    def __init__(self, server_type):
        owner = self
        self.requests = []
        version = {'X-Kapacitor-Version': '1.8.3'} if server_type == 'kapacitor' else {'X-Influxdb-Version': 'v2.7.12'}

        class Handler(BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *args):  # pylint: disable=arguments-differ
                pass

            def do_GET(self):
                owner.requests.append((self.path.split('?')[0], self.headers.get('Authorization')))
                status, body = (204, b'') if self.path == '/ping' and server_type == 'influxdb2' else (200, b'{"tasks": []}')
                self.send_response(status)
                for key, value in dict(version, **{'Content-Type': 'application/json'}).items():
                    self.send_header(key, value)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        super().__init__(Handler)


@pytest.mark.parametrize('server_type, path, sent', [('influxdb2', '/api/v2/tasks', 'Token Env-token-5Rw'),
                                                     ('kapacitor', '/kapacitor/v1/api/v2/tasks', None)])
def test_the_influx_token_of_the_environment_goes_to_influxdb_only_with_its_scheme(server_type, path, sent):
    server = RecordingServer(server_type)
    try:
        env = {'INFLUX_HOST': server.url, 'INFLUX_TOKEN': 'Env-token-5Rw', 'INFLUX_ORG': INFLUX_ORG}
        result = run_module(INFO, {}, env=env)
        assert result.rc == 0, result
        # The ping goes before the type is known: without the token, which a Kapacitor never gets.
        assert server.requests == [('/ping', None), (path, sent)]
        assert 'Env-token-5Rw' not in result.stdout + result.stderr
    finally:
        server.stop()


KAPACITOR_BASIC = 'Basic b3BzOkthcC1wdy0yUXo='   # ops:Kap-pw-2Qz


@pytest.mark.parametrize('given, kapacitor_auth, influx_auth', [
    # Each credential of the environment goes to a server of its own type only, as in a job with both AWX credentials.
    ({}, KAPACITOR_BASIC, 'Token Env-token-5Rw'),
    # An explicit one goes to either.
    ({'token': 'Given-token-4Kd'}, 'Bearer Given-token-4Kd', 'Token Given-token-4Kd'),
])
def test_the_environments_credentials_go_to_a_server_of_their_own_type_only(given, kapacitor_auth, influx_auth):
    servers = {'kapacitor': RecordingServer('kapacitor'), 'influxdb2': RecordingServer('influxdb2')}
    try:
        env = {'KAPACITOR_USERNAME': 'ops', 'KAPACITOR_PASSWORD': 'Kap-pw-2Qz', 'INFLUX_TOKEN': 'Env-token-5Rw',
               'INFLUX_ORG': INFLUX_ORG}
        for server in servers.values():
            result = run_module(INFO, dict(given, url=server.url), env=env)
            assert result.rc == 0, result
            assert not [secret for secret in ('Kap-pw-2Qz', 'Env-token-5Rw', 'Given-token-4Kd')
                        if secret in result.stdout + result.stderr]
        # Out of band: what each server got. The detection ping carries no credential.
        assert servers['kapacitor'].requests == [('/ping', None), ('/kapacitor/v1/api/v2/tasks', kapacitor_auth)]
        assert servers['influxdb2'].requests == [('/ping', None), ('/api/v2/tasks', influx_auth)]
    finally:
        for server in servers.values():
            server.stop()


def test_a_rejected_token_fails_with_influxdbs_message_and_a_hint_for_it(influx):
    result = run_module(INFO, {'url': fresh(influx).url, 'token': 'Not-the-token-8Xa', 'org': INFLUX_ORG})
    assert result.rc == 1, result
    assert 'HTTP 401: unauthorized access' in result['msg'] and 'set token (INFLUX_TOKEN)' in result['msg']
    assert result['error']['status'] == 401 and result['server']['type'] == 'influxdb2'
    assert 'Not-the-token-8Xa' not in result.stdout + result.stderr
    assert requests_of(influx) == {'GET /ping': 1, 'GET /api/v2/tasks': 1}


# --------------------------------------------------------------------------- org

def test_a_task_of_another_user_is_listed_only_with_the_org(influx):
    # The premise, out of band: InfluxDB's own listing without an org leaves the other user's task out.
    unscoped = influx.api('GET', '/tasks').json()['tasks']
    assert OTHERS not in [task['id'] for task in unscoped] and CPU in [task['id'] for task in unscoped]
    for scope in ({'org_id': INFLUX_ORG_ID}, {'org': INFLUX_ORG}):
        result = run_module(INFO, dict(scope, url=fresh(influx).url, token=INFLUX_TOKEN, status=['failed']))
        assert result.rc == 0, result
        assert [task['id'] for task in result['tasks']] == [CPU, MEM, OTHERS]
        assert sorted(run['id'] for run in result['runs']) == sorted(
            run['id'] for run in influx.state()['runs'] if run['status'] == 'failed')
        assert requests_of(influx)['GET /api/v2/tasks'] == 1


@pytest.mark.parametrize('server_type, sent', [('influxdb2', {}), ('auto', {'GET /ping': 1})])
def test_listing_tasks_without_an_org_fails_before_any_listing(influx, server_type, sent):
    result = run_module(INFO, {'url': fresh(influx).url, 'token': INFLUX_TOKEN, 'server_type': server_type,
                               'task_name': ['cpu']})
    assert result.rc == 1, result
    assert result['msg'].startswith('org or org_id (INFLUX_ORG, INFLUX_ORG_ID) is required to list the tasks of InfluxDB')
    assert requests_of(influx) == sent


def test_tasks_chosen_by_id_need_no_org_and_find_another_users_task(influx):
    result = run_module(INFO, {'url': fresh(influx).url, 'token': INFLUX_TOKEN, 'task_id': [CPU, OTHERS],
                               'status': ['failed']})
    assert result.rc == 0, result
    assert [task['id'] for task in result['tasks']] == [CPU, OTHERS]
    assert 'GET /api/v2/tasks' not in requests_of(influx) and requests_of(influx)['GET /api/v2/tasks/:id'] == 2


def test_a_task_influxdb_does_not_have_is_missing_as_on_kapacitor(influx):
    result = run_module(INFO, dict(INFLUX_CONNECTION, url=influx.url, task_id=[CPU, 'ffffffffffffffff'], missing_ok=True))
    assert result.rc == 0, result
    assert result['missing_tasks'] == ['ffffffffffffffff'] and [task['id'] for task in result['tasks']] == [CPU]
    result = run_module(INFO, dict(INFLUX_CONNECTION, url=influx.url, task_id=['ffffffffffffffff']))
    assert result.rc == 1 and 'task ffffffffffffffff not found on this InfluxDB' in result['msg'], result


# --------------------------------------------------------------------------- the wrong server type

def test_influxdbs_web_page_for_a_kapacitor_path_is_an_error_never_a_success(influx):
    before = influx.attempts()
    failed = next(run for run in influx.state()['runs'] if run['task_id'] == CPU and run['status'] == 'failed')
    for module, args in ((INFO, {}), (RETRY, {'runs': [{'task_id': CPU, 'run_id': failed['id']}]})):
        result = run_module(module, dict(args, url=fresh(influx).url, server_type='kapacitor'))
        assert result.rc == 1, result
        assert 'HTTP 200 with a body that is not JSON (text/html; charset=utf-8): an HTML page titled' in result['msg']
        assert 'InfluxDB v2.7.12 answered, with its web UI: this is not Kapacitor' in result['msg']
        assert set(requests_of(influx)) == {'GET (unmatched)'}
    assert influx.attempts() == before   # nothing retried


# --------------------------------------------------------------------------- parity

def listing(sim, connection):
    result = run_module(INFO, dict(connection, url=sim.url, after_time='2h'))
    assert result.rc == 0, result
    # Out of band: exactly the runs the simulator holds, each once.
    assert sorted(run['id'] for run in result['runs']) == sorted(run['id'] for run in sim.state()['runs'])
    return [(run['task_name'], run['scheduled_for'][:16], run['status'], run['attempt'], run['attempts'])
            for run in result['runs']], result['totals']['run_counts'], result['window']


def test_a_listing_is_the_same_on_kapacitor_and_influxdb2():
    sims = [start_simulator(), start_simulator(flavor='influxdb2')]
    try:
        for sim in sims:
            sim.load(SCENARIO)
        kapacitor_listing, influx_listing = listing(sims[0], {}), listing(sims[1], INFLUX_CONNECTION)
        assert kapacitor_listing[:2] == influx_listing[:2] and len(kapacitor_listing[0]) == 5
    finally:
        for sim in sims:
            sim.process.stop()
