"""InfluxDB 2 mode (--flavor influxdb2, docs/influxdb2-api.md): root, ping, token auth, orgs, the listing's owner-only
default, asynchronous retries on a 1-second ticker, the authorizer's refusals, the _tasks horizon, error shapes."""

import json
import socket
import time

import pytest
import requests
from process import SimulatorProcess
from sim_support import ApiClient, assert_error, wait_for

TASKS = '/api/v2/tasks'
TOKEN = {'Authorization': 'Token sim-token'}
ORG_ID = '0000000000000a01'
USER_ID = '0000000000000b01'
OTHER_USER = '0000000000000b02'
TASK_ID = '0a1b2c3d4e5f6789'
FAILED = '0b00000000000002'
RETRY_PATH = '%s/%s/runs/%s/retry' % (TASKS, TASK_ID, FAILED)
RETRY_ROUTE = 'POST /api/v2/tasks/:id/runs/:rid/retry'
UNAUTHORIZED = b'{"code":"unauthorized","message":"unauthorized access"}'


def scenario(**task_extra):
    task = {'id': TASK_ID, 'name': 'cpu', 'every': '1h', 'runs': [
        {'id': '0b00000000000001', 'status': 'success', 'scheduled_for': '-3h'},
        {'id': FAILED, 'status': 'failed', 'scheduled_for': '-2h'}]}
    task.update(task_extra)
    return {'tasks': [task]}


@pytest.fixture
def influx(make_sim):
    """make_influx(scenario, **KapacitorSimulator kwargs) -> a client of an InfluxDB 2 simulator that sends the default token."""
    def factory(scenario_=None, **kwargs):
        sim, dummy = make_sim(scenario_, flavor='influxdb2', **kwargs)
        return ApiClient(sim.url, headers=dict(TOKEN))
    return factory


def attempts(client, task_id=TASK_ID):
    return client.get('/_sim/attempts?task_id=' + task_id).json()[task_id]


def run_status(client, run_id, task_id=TASK_ID):
    response = client.get('%s/%s/runs/%s' % (TASKS, task_id, run_id))
    return response.json()['status'] if response.status_code == 200 else response.status_code


# -- the server around the task API ---------------------------------------------------------------------------------------
def test_ping_and_health_need_no_token(influx):
    client = influx()
    for method in ('GET', 'HEAD'):
        response = client.request(method, '/ping', headers={})
        assert response.status_code == 204 and response.content == b''
        assert response.headers['X-Influxdb-Build'] == 'OSS' and response.headers['X-Influxdb-Version'] == 'v2.7.12'
        assert 'X-Kapacitor-Version' not in response.headers
    health = client.get('/health', headers={})
    assert health.status_code == 200
    assert health.json()['status'] == 'pass' and health.json()['version'] == 'v2.7.12' and health.json()['name'] == 'influxdb'
    # The version headers are on every answer, errors included.
    assert client.get(TASKS, headers={}).headers['X-Influxdb-Version'] == 'v2.7.12'


def test_cloud_process_has_no_version_header():
    with SimulatorProcess('--influx-version', '', flavor='influxdb2') as sim:
        response = requests.get(sim.url + '/ping', timeout=5)
        assert response.status_code == 204
        assert 'X-Influxdb-Version' not in response.headers and 'X-Kapacitor-Version' not in response.headers
        assert requests.get(sim.url + TASKS, headers=TOKEN, timeout=5).json()['tasks'] == []


def test_kapacitor_mode_versions_every_answer_including_root_ping(make_sim):
    sim, client = make_sim()
    for path in ('/ping', '/health', '/api/v2/tasks'):
        response = client.get(path)
        assert response.status_code == 404 and response.headers['X-Kapacitor-Version'] == '1.8.3'
        assert 'X-Influxdb-Version' not in response.headers
    authed, dummy = make_sim(auth_users=['admin:secret'])
    response = ApiClient(authed.url).get('/ping')
    assert response.status_code == 401 and response.headers['X-Kapacitor-Version'] == '1.8.3'


@pytest.mark.parametrize('method', ['GET', 'POST'])
def test_every_other_path_is_the_ui_page(influx, method):
    client = influx(scenario())
    for path in ('/kapacitor/v1/api/v2/tasks', '/kapacitor/v1/api/v2/tasks/%s/runs/%s/retry' % (TASK_ID, FAILED), '/', '/signin'):
        response = client.request(method, path, headers={})
        assert response.status_code == 200 and response.headers['Content-Type'] == 'text/html; charset=utf-8'
        assert response.content.startswith(b'<!doctype html>')
    assert client.stats()['retries_started'] == 0


def test_token_and_bearer_are_accepted_basic_and_others_get_json_401(influx):
    client = influx(scenario())
    for header in ('Token sim-token', 'Bearer sim-token', 'token sim-token', 'BEARER sim-token'):
        assert client.get(TASKS, headers={'Authorization': header}).status_code == 200, header
    for headers in ({}, {'Authorization': 'Basic YWRtaW46c2VjcmV0'}, {'Authorization': 'Token wrong'},
                    {'Authorization': 'Token'}, {'Authorization': 'sim-token'}):
        response = client.get('%s/%s/runs' % (TASKS, TASK_ID), headers=headers)
        assert response.status_code == 401 and response.content == UNAUTHORIZED, headers
        assert response.headers['Content-Type'] == 'application/json; charset=utf-8'
    # Authentication comes before routing under /api/v2.
    assert client.get('/api/v2/nothing', headers={}).content == UNAUTHORIZED


def test_json_404_and_405_under_api_v2(influx):
    client = influx(scenario())
    for path in ('/api/v2/nothing', TASKS + '/%s/runs/%s/retry/more' % (TASK_ID, FAILED), TASKS + '/'):
        assert_error(client.get(path), 404, 'not found', 'path not found')
    response = client.request('PUT', TASKS)
    assert_error(response, 405, 'method not allowed', 'allow: GET, OPTIONS, POST')
    assert response.headers['Allow'] == 'GET, OPTIONS, POST'
    assert_error(client.get(RETRY_PATH), 405, 'method not allowed', 'allow: OPTIONS, POST')


def test_rate_limit_fault_is_429_with_retry_after(influx):
    client = influx(scenario())
    client.post('/_sim/faults', json={'rate_limit_ratio': 1.0, 'retry_after': 7}).raise_for_status()
    response = client.get(TASKS)
    assert_error(response, 429, 'too many requests', 'too many requests')
    assert response.headers['Retry-After'] == '7'
    assert client.stats()['faults_injected'] == {'rate_limit': 1}


# -- organizations and the task listing ------------------------------------------------------------------------------------
ORGS_SCENARIO = {
    'orgs': [{'id': ORG_ID, 'name': 'sim-org'}, {'id': '0000000000000a02', 'name': 'other-org'}],
    'tokens': [{'token': 'sim-token', 'user_id': USER_ID}, {'token': 'op', 'user_id': '0000000000000b09', 'operator': True},
               {'token': 'reader', 'user_id': '0000000000000b03', 'write': False, 'read_buckets': False}],
    'tasks': [{'id': '0a00000000000001', 'name': 'mine'},
              {'id': '0a00000000000002', 'name': 'theirs', 'owner': OTHER_USER},
              {'id': '0a00000000000003', 'name': 'elsewhere', 'org': 'other-org'},
              {'id': '0a00000000000004', 'name': 'elsewhere_theirs', 'org_id': '0000000000000a02', 'owner': OTHER_USER}]}


def names(response):
    assert response.status_code == 200, response.text
    return [task['name'] for task in response.json()['tasks']]


def test_listing_without_org_returns_only_the_token_users_tasks(influx):
    client = influx(ORGS_SCENARIO)
    body = client.get(TASKS).json()
    assert [task['name'] for task in body['tasks']] == ['mine']
    assert body['links'] == {'self': TASKS + '?limit=100'}
    assert names(client.get(TASKS + '?orgID=' + ORG_ID)) == ['mine', 'theirs']
    assert names(client.get(TASKS + '?org=sim-org')) == ['mine', 'theirs']
    assert names(client.get(TASKS + '?user=' + OTHER_USER)) == ['theirs']          # user wins over org; the token reads sim-org only
    # An operator token reads both organizations; without a filter it still gets only its own user's tasks (none).
    operator = {'Authorization': 'Token op'}
    assert names(client.get(TASKS, headers=operator)) == []
    assert names(client.get(TASKS + '?orgID=0000000000000a02', headers=operator)) == ['elsewhere', 'elsewhere_theirs']
    assert names(client.get(TASKS + '?user=' + OTHER_USER, headers=operator)) == ['theirs', 'elsewhere_theirs']


def test_listing_org_errors_and_links(influx):
    client = influx(ORGS_SCENARIO)
    assert_error(client.get(TASKS + '?org=nope'), 400, 'invalid',
                 'failed to decode request: org nope not found or unauthorized: org not found or unauthorized')
    # A name the token cannot read is refused the same way.
    assert client.get(TASKS + '?org=other-org').status_code == 400
    assert_error(client.get(TASKS + '?orgID=xyz'), 400, 'invalid', 'failed to decode request: id must have a length of 16 bytes')
    # A well-formed, unknown orgID lists nothing; a readable org of the token's is scoped.
    assert names(client.get(TASKS + '?orgID=00000000000000ff')) == []
    body = client.get(TASKS + '?orgID=%s&limit=1&name=mine' % ORG_ID).json()
    # TaskFilter.QueryParams: name is dropped from the links, orgID and limit kept, next after the last task.
    assert body['links'] == {'self': TASKS + '?limit=1&orgID=' + ORG_ID,
                             'next': TASKS + '?after=0a00000000000001&limit=1&orgID=' + ORG_ID}


def test_the_authorizer_shortens_a_page_it_filters(influx):
    client = influx(ORGS_SCENARIO)
    # user= ignores the org: kv fills the page with both of OTHER_USER's tasks, the token reads only one of them.
    body = client.get(TASKS + '?user=%s&limit=2' % OTHER_USER).json()
    assert [task['name'] for task in body['tasks']] == ['theirs'] and 'next' not in body['links']


def test_the_tasks_of_checks_and_notification_rules_are_never_listed(influx):
    """kv newTaskMatchFn: every HTTP listing asks for type system; a check's task (type threshold) is reached by ID only,
    and its runs and their retry work as any task's. The task object does not show the type."""
    check_id = '0c0c0c0c0c0c0c0c'
    check = {'id': check_id, 'name': 'CPU check', 'type': 'threshold', 'every': '1h',
             'runs': [{'id': '0b00000000000009', 'status': 'failed', 'scheduled_for': '-2h'}]}
    client = influx({'tasks': [scenario()['tasks'][0], check]})
    for query in ('', '&type=system', '&type=basic', '&name=CPU%20check', '&limit=1&after=' + TASK_ID):
        assert names(client.get(TASKS + '?orgID=' + ORG_ID + query)) == ([] if 'name=' in query or 'after=' in query
                                                                         else ['cpu']), query
    assert_error(client.get(TASKS + '?orgID=%s&type=threshold' % ORG_ID), 400, 'invalid',
                 'failed to decode request: \\"threshold\\" is not a valid task type')
    task = client.get('%s/%s' % (TASKS, check_id)).json()
    assert task['name'] == 'CPU check' and 'type' not in task
    assert [run['id'] for run in client.get('%s/%s/runs' % (TASKS, check_id)).json()['runs']] == ['0b00000000000009']
    assert client.post('%s/%s/runs/0b00000000000009/retry' % (TASKS, check_id)).status_code == 200


def test_a_cloud_script_task_has_a_script_id_and_no_flux(influx, make_sim):
    """InfluxDB Cloud: a task that runs a stored script carries scriptID, not flux (openapi src/cloud Task.yml); it runs
    as any task does."""
    client = influx(scenario(script_id='0d0d0d0d0d0d0d0d'), influx_version='')
    task = client.get('%s/%s' % (TASKS, TASK_ID)).json()
    assert task['scriptID'] == '0d0d0d0d0d0d0d0d' and 'flux' not in task and task['every'] == '1h'
    listed = client.get(TASKS + '?orgID=' + ORG_ID).json()['tasks']
    assert [(item['id'], item.get('scriptID'), 'flux' in item) for item in listed] == [(TASK_ID, '0d0d0d0d0d0d0d0d', False)]
    assert client.post(RETRY_PATH).status_code == 200
    # A task without script_id keeps its flux; in OSS and Kapacitor modes the key is refused, not ignored.
    assert 'flux' in influx(scenario(), influx_version='').get('%s/%s' % (TASKS, TASK_ID)).json()
    for flavor, needs in (('influxdb2', 'InfluxDB Cloud'), ('kapacitor', 'InfluxDB Cloud tasks')):
        dummy, server = make_sim(flavor=flavor)
        response = server.post('/_sim/scenario', json=scenario(script_id='0d0d0d0d0d0d0d0d'))
        assert response.status_code == 400 and 'script_id' in response.json()['error'], response.text
        assert needs in response.json()['error']


def test_task_object_has_org_owner_and_labels(influx):
    client = influx(ORGS_SCENARIO)
    task = client.get(TASKS + '/0a00000000000002').json()
    assert task['orgID'] == ORG_ID and task['org'] == 'sim-org' and task['ownerID'] == OTHER_USER and task['labels'] == []
    assert list(task)[:6] == ['links', 'labels', 'id', 'orgID', 'org', 'ownerID']
    assert task['links']['self'] == TASKS + '/0a00000000000002' and task['links']['runs'] == TASKS + '/0a00000000000002/runs'
    assert client.get('/_sim/state').json()['tasks'][1] == task
    # A task of an organization the token cannot read.
    assert_error(client.get(TASKS + '/0a00000000000003'), 404, 'not found', 'failed to find task: unauthorized')
    assert_error(client.get(TASKS + '/0a00000000000003/runs'), 500, 'internal error', 'failed to find runs: unauthorized')


def test_created_task_belongs_to_the_org_and_the_token_user(influx):
    client = influx()
    flux = 'option task = {name: "new", every: 1m}\nfrom(bucket: "b") |> range(start: -1m)'
    assert_error(client.post(TASKS, json={'flux': flux}), 400, 'invalid', 'failed to decode request: missing orgID and org')
    response = client.post(TASKS, json={'flux': flux, 'org': 'sim-org'})
    assert response.status_code == 201, response.text
    assert response.json()['ownerID'] == USER_ID and response.json()['orgID'] == ORG_ID
    assert names(client.get(TASKS)) == ['new']


def test_scenario_naming_an_unknown_org_is_refused(influx):
    client = influx()
    response = client.post('/_sim/scenario', json={'tasks': [{'name': 'x', 'org': 'nope'}]})
    assert response.status_code == 400 and 'nope' in response.json()['error']


def test_tasks_bucket_retention(influx):
    client = influx(ORGS_SCENARIO)
    body = client.get('/api/v2/buckets?orgID=%s&name=_tasks' % ORG_ID).json()
    assert [(b['name'], b['orgID'], b['retentionRules']) for b in body['buckets']] == [
        ('_tasks', ORG_ID, [{'type': 'expire', 'everySeconds': 259200, 'shardGroupDurationSeconds': 86400}])]
    # A token without read on buckets sees none; no token is a 401.
    assert client.get('/api/v2/buckets?orgID=%s&name=_tasks' % ORG_ID, headers={'Authorization': 'Token reader'}).json()['buckets'] == []
    assert client.get('/api/v2/buckets', headers={}).status_code == 401
    other = influx(ORGS_SCENARIO, tasks_retention=7 * 86400)
    rules = other.get('/api/v2/buckets?org=sim-org&name=_tasks').json()['buckets'][0]['retentionRules']
    assert rules[0]['everySeconds'] == 604800


# -- runs --------------------------------------------------------------------------------------------------------------------
def test_runs_of_an_unknown_task_are_a_404(influx):
    client = influx(scenario())
    assert_error(client.get(TASKS + '/0fffffffffffffff/runs'), 404, 'not found', 'failed to find runs: task not found')
    assert_error(client.get(TASKS + '/0fffffffffffffff/runs/' + FAILED), 404, 'not found', 'failed to find run: task not found')
    assert_error(client.get(TASKS + '/0fffffffffffffff/logs'), 404, 'not found', 'failed to find task logs: task not found')
    # A deleted task's history is no longer reachable either.
    assert client.request('DELETE', TASKS + '/' + TASK_ID).status_code == 204
    assert_error(client.get(TASKS + '/%s/runs' % TASK_ID), 404, 'not found', 'failed to find runs: task not found')


def test_listing_order_is_kapacitors_and_links_are_root_relative(influx):
    client = influx(scenario())
    body = client.get('%s/%s/runs' % (TASKS, TASK_ID)).json()
    assert [run['id'] for run in body['runs']] == [FAILED, '0b00000000000001']
    assert body['links'] == {'self': '%s/%s/runs' % (TASKS, TASK_ID), 'task': '%s/%s' % (TASKS, TASK_ID)}
    assert body['runs'][0]['links']['retry'] == RETRY_PATH


@pytest.mark.parametrize('retention, visible', [(None, ['-2d']), (7 * 86400, ['-2d', '-4d']), (0, ['-2d', '-4d', '-13d'])])
def test_completed_runs_horizon_is_the_tasks_retention(influx, retention, visible):
    ages = ['-2d', '-4d', '-13d', '-15d']
    runs = [{'id': '0b0000000000001%d' % index, 'status': 'failed', 'scheduled_for': age} for index, age in enumerate(ages)]
    kwargs = {} if retention is None else {'tasks_retention': retention}
    client = influx({'tasks': [{'id': TASK_ID, 'name': 'cpu', 'runs': runs}]}, **kwargs)
    listed = [run['id'] for run in client.get('%s/%s/runs' % (TASKS, TASK_ID)).json()['runs']]
    assert listed == [run['id'] for run in runs if run['scheduled_for'] in visible]
    assert client.get('%s/%s/runs/0b00000000000011' % (TASKS, TASK_ID)).status_code == (200 if '-4d' in visible else 404)


# -- retry and manual runs -------------------------------------------------------------------------------------------------
def test_retry_answers_at_once_and_runs_on_the_next_tick(influx):
    client = influx(scenario(run_seconds=1.5, retry_outcomes=['fail', 'success'], retry_error='boom'))
    before = time.monotonic()
    response = client.post(RETRY_PATH)
    assert time.monotonic() - before < 0.5
    assert response.status_code == 200, response.text
    run = response.json()
    assert run['status'] == 'scheduled' and 'startedAt' not in run and 'finishedAt' not in run and 'requestedAt' in run
    assert run['links']['self'] == '%s/%s/runs/%s' % (TASKS, TASK_ID, run['id'])
    # Listed at once with the kv runs, scheduled.
    assert client.get('%s/%s/runs' % (TASKS, TASK_ID)).json()['runs'][0]['status'] == 'scheduled'
    wait_for(lambda: run_status(client, run['id']) == 'started', timeout=1.6, what='started on the next tick')
    started = time.monotonic()
    assert started - before <= 1.6
    final = wait_for(lambda: run_status(client, run['id']) in ('success', 'failed') and run_status(client, run['id']), timeout=3.0, what='finished')
    assert final == 'failed' and time.monotonic() - started >= 1.3
    recorded = client.get('%s/%s/runs/%s' % (TASKS, TASK_ID, run['id'])).json()
    assert recorded['log'][-1]['message'] == 'boom' and recorded['requestedAt'].endswith(':%sZ' % recorded['requestedAt'][17:19])
    assert [a['status'] for a in attempts(client)[run['scheduledFor']]] == ['failed', 'failed']
    # The second retry takes the next outcome.
    second = client.post(RETRY_PATH).json()
    assert wait_for(lambda: run_status(client, second['id']) == 'success', timeout=4.0, what='second retry succeeded')
    stats = client.stats()
    assert stats['retries_started'] == 2 and stats['retries_in_flight'] == 0 and stats['requests'][RETRY_ROUTE] == 2


def test_client_disconnect_does_not_cancel_the_run(influx):
    client = influx(scenario(run_seconds=0.5))
    host, port = client.base.rsplit('/', 1)[1].split(':')
    request = ('POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Token sim-token\r\nContent-Length: 0\r\n\r\n' % RETRY_PATH).encode()
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(request)
    wait_for(lambda: client.stats()['retries_started'] == 1, timeout=2.0, what='retry received')
    created = wait_for(lambda: [a for a in attempts(client).values() if len(a) == 2], timeout=2.0, what='new attempt')[0][1]
    wait_for(lambda: run_status(client, created['id']) == 'success', timeout=4.0, what='retried run finished')
    assert client.stats()['disconnect_cancellations'] == 0


@pytest.mark.parametrize('version', ['v2.0.9', 'v2.1.1'])
def test_before_2_2_a_retry_or_manual_run_blocks_until_its_run_has_finished(influx, version):
    # coordinator.RunRetried and RunForced wait on the promise with the request's context, as Kapacitor does.
    client = influx(scenario(run_seconds=0.5, retry_outcomes=['fail', 'success', 'success'], retry_error='boom'),
                    influx_version=version)
    before = time.monotonic()
    assert_error(client.post(RETRY_PATH), 500, 'internal error', 'failed to retry run: could not execute task run: boom')
    assert time.monotonic() - before >= 0.45
    statuses = sorted([run['status'] for run in runs] for runs in attempts(client).values())
    assert statuses == [['failed', 'failed'], ['success']]
    before = time.monotonic()
    response = client.post(RETRY_PATH)
    assert response.status_code == 200 and time.monotonic() - before >= 0.45
    assert response.json()['status'] == 'scheduled'        # the run as created, though it has finished
    assert run_status(client, response.json()['id']) == 'success'
    before = time.monotonic()     # a manual run for now: its first attempt, so the first outcome
    assert_error(client.post('%s/%s/runs' % (TASKS, TASK_ID), json={}), 500, 'internal error',
                 'failed to force run: could not execute task run: boom')
    assert time.monotonic() - before >= 0.45
    # A client that hangs up cancels the run.
    host, port = client.base.rsplit('/', 1)[1].split(':')
    request = ('POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Token sim-token\r\nContent-Length: 0\r\n\r\n'
               % RETRY_PATH).encode()
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(request)
        wait_for(lambda: client.stats()['retries_in_flight'] == 1, timeout=2.0, what='retry started')
    wait_for(lambda: client.stats()['disconnect_cancellations'] == 1, timeout=2.0, what='retry cancelled')


def test_inactive_task_refuses_retry_and_manual_run(influx):
    client = influx(scenario(status='inactive'))
    assert_error(client.post(RETRY_PATH), 400, 'invalid', 'failed to retry run: inactive task')
    # The inactive check comes before the run lookup.
    assert_error(client.post('%s/%s/runs/0fffffffffffffff/retry' % (TASKS, TASK_ID)), 400, 'invalid', 'failed to retry run: inactive task')
    assert_error(client.post('%s/%s/runs' % (TASKS, TASK_ID), json={}), 400, 'invalid', 'failed to force run: inactive task')
    assert_error(client.post('%s/0fffffffffffffff/runs/%s/retry' % (TASKS, FAILED)), 404, 'not found', 'failed to retry run: task not found')
    assert client.stats()['retries_started'] == 0 and len(client.state_runs()) == 2


def test_token_without_write_cannot_retry(influx):
    client = influx(dict(scenario(), tokens=[{'token': 'sim-token'}, {'token': 'reader', 'write': False}]))
    reader = {'Authorization': 'Token reader'}
    assert client.get('%s/%s/runs' % (TASKS, TASK_ID), headers=reader).status_code == 200
    assert_error(client.post(RETRY_PATH, headers=reader), 500, 'internal error', 'failed to retry run: unauthorized')
    assert client.stats()['retries_started'] == 0


def test_manual_run_answers_201_at_once_and_waits_for_its_time(influx):
    client = influx(scenario(run_seconds=0.1))
    now = time.time()
    later = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(int(now) + 3))
    response = client.post('%s/%s/runs' % (TASKS, TASK_ID), json={'scheduledFor': later})
    assert response.status_code == 201 and response.json()['status'] == 'scheduled' and response.json()['scheduledFor'] == later
    run_id = response.json()['id']
    time.sleep(max(0.0, int(now) + 2 - time.time()))
    assert run_status(client, run_id) == 'scheduled'           # not before its scheduledFor
    wait_for(lambda: run_status(client, run_id) == 'success', timeout=4.0, what='manual run finished')


def test_history_gap_gives_a_transient_404(influx):
    client = influx(scenario(run_seconds=0.2))
    client.post('/_sim/faults', json={'history_gap_ms': 1500}).raise_for_status()
    run_id = client.post(RETRY_PATH).json()['id']
    wait_for(lambda: run_status(client, run_id) == 'started', timeout=2.0, what='started')
    wait_for(lambda: run_status(client, run_id) == 404, timeout=2.0, what='gone from kv')
    response = client.get('%s/%s/runs/%s' % (TASKS, TASK_ID, run_id))
    assert_error(response, 404, 'not found', 'failed to find run: run not found')
    assert run_id not in [run['id'] for run in client.get('%s/%s/runs' % (TASKS, TASK_ID)).json()['runs']]
    # The control API still sees it, finished.
    assert [run['status'] for run in client.state_runs() if run['id'] == run_id] == ['success']
    wait_for(lambda: run_status(client, run_id) == 'success', timeout=2.5, what='written to the history')


def test_process_flag_and_scenario_file(tmp_path):
    path = tmp_path / 'scenario.json'
    path.write_text(json.dumps(scenario()))
    with SimulatorProcess('--scenario', path, flavor='influxdb2') as sim:
        assert sim.flags[:2] == ['--flavor', 'influxdb2']
        response = requests.get(sim.url + '%s/%s/runs' % (TASKS, TASK_ID), headers=TOKEN, timeout=5)
        assert [run['id'] for run in response.json()['runs']] == [FAILED, '0b00000000000001']


def test_a_run_in_flight_does_not_leak_into_a_new_scenario(influx):
    client = influx(scenario(run_seconds=0.3))
    run_id = client.post(RETRY_PATH).json()['id']
    client.post('/_sim/scenario', json=scenario()).raise_for_status()      # same task and run IDs, fresh state
    time.sleep(1.8)                                                        # a tick and the run's duration have passed
    assert [run['id'] for run in client.state_runs()] == ['0b00000000000001', FAILED]
    assert run_status(client, run_id) == 404
    assert client.stats()['retries_in_flight'] == 0


def test_kapacitor_flags_are_refused_in_influxdb2_mode():
    sim = SimulatorProcess('--auth-user', 'admin:secret', flavor='influxdb2')
    with pytest.raises(RuntimeError, match='Kapacitor flags'):
        sim.start()
    sim.stop()


def test_cancelling_a_scheduled_retry_fails_it(influx):
    client = influx(scenario(run_seconds=5))
    run_id = client.post(RETRY_PATH).json()['id']
    wait_for(lambda: run_status(client, run_id) == 'started', timeout=2.0, what='started')
    before = time.monotonic()
    assert client.request('DELETE', '%s/%s/runs/%s' % (TASKS, TASK_ID, run_id)).status_code == 200
    assert time.monotonic() - before < 2.0
    recorded = client.get('%s/%s/runs/%s' % (TASKS, TASK_ID, run_id)).json()
    assert recorded['status'] == 'failed' and recorded['log'][-1]['message'] == 'context canceled'
