"""Kapacitor task API surface: routing, error bodies, JSON formatting, task CRUD and paging (docs/kapacitor-api.md §2-§5)."""

import datetime
import email.parser
import email.utils
import io
import os
import re
import resource
import socket
import time
import types

import pytest
from kapacitor_simulator.server import Handler, RequestHeaders, parse_headers
from sim_support import ERROR_CONTENT_TYPE, TASKS, assert_error

FLUX = 'option task = {name: "poster", every: 1m}\nfrom(bucket: "a") |> range(start: -1m) |> filter(fn: (r) => r.x < 1 and r.y > 2)'


def create(client, flux=FLUX, **extra):
    response = client.post(TASKS, json=dict(flux=flux, **extra))
    assert response.status_code == 201, response.text
    return response.json()


def test_common_headers_and_json_encoding(sim_client):
    response = sim_client.post(TASKS, json={'flux': FLUX, 'description': 'a & b'})
    assert response.status_code == 201
    assert response.headers['X-Kapacitor-Version']
    assert re.fullmatch(r'[0-9a-f-]{36}', response.headers['Request-Id'])
    assert response.headers['Content-Type'] == 'application/json; charset=utf-8'
    assert int(response.headers['Content-Length']) == len(response.content)
    body = response.content
    assert body.endswith(b'}\n')
    assert b'|\\u003e' in body and b'\\u003c 1' in body and b'a \\u0026 b' in body and b'|>' not in body


def test_clock_offset_moves_every_time_and_the_date_header(make_sim, monkeypatch):
    """--clock-offset: a server whose clock is behind (or ahead): its Date header, the times it writes and the scenario
    times relative to its now all follow its own clock."""
    from kapacitor_simulator import encoding
    from kapacitor_simulator.server import parse_args
    assert parse_args(['--port', '0', '--clock-offset', '-1200']).clock_offset == -1200.0
    monkeypatch.setattr(encoding, 'CLOCK_OFFSET_NS', -1200 * 10 ** 9)
    dummy, client = make_sim({'tasks': [{'name': 'cpu', 'every': '1h',
                                         'runs': [{'status': 'success', 'scheduled_for': '-1h'}]}]})
    response = client.get(TASKS)
    date = email.utils.parsedate_to_datetime(response.headers['Date']).timestamp()
    assert -1202 <= date - time.time() <= -1198
    task = response.json()['tasks'][0]
    run = client.get('%s/%s/runs' % (TASKS, task['id'])).json()['runs'][0]
    scheduled = datetime.datetime.strptime(run['scheduledFor'], '%Y-%m-%dT%H:%M:%SZ').replace(
        tzinfo=datetime.timezone.utc).timestamp()
    assert -1200 - 3600 - 2 <= scheduled - time.time() <= -1200 - 3600 + 1


PLAIN_BLOCKS = [
    b'Host: a\r\nAuthorization: Token t\r\nX-Empty:\r\nX-Spaces: \t v  \r\nx-dup: 1\r\nX-Dup: 2\r\n\r\n',
    b'Host: a\nX-Latin: caf\xe9\n\n',                    # bare LF, a byte that is not ASCII
    b'\r\n',
]
OTHER_BLOCKS = [
    b'Host: a\r\nX-Folded: one\r\n two\r\n\r\n',          # obsolete line folding
    b'Host: a\r\nnot a header\r\nX-After: lost\r\n\r\n',   # the email parser ends the headers here
    b'Host: a\r\nX-CR: a\rb\r\n\r\n',                   # the email parser ends a line at a lone CR too
    b'Host: a\r\n:no name\r\nX-After: kept\r\n\r\n',
    b'Host: a\r\nX-No-End: v',                           # the connection closed before the blank line
]


@pytest.mark.parametrize('block', PLAIN_BLOCKS + OTHER_BLOCKS)
def test_request_headers_parse_as_the_email_parser_does(block, monkeypatch):
    """The simulator parses plain header lines without the email parser (server.parse_headers), and hands any other
    block to it: the same fields, values, order and payload as the email parser gives either way."""
    expected = email.parser.Parser(_class=RequestHeaders).parsestr(block.decode('iso-8859-1'))
    if block in PLAIN_BLOCKS:   # the short path must not need the email parser
        monkeypatch.setattr(email.parser, 'Parser', None)
    parsed = parse_headers(io.BytesIO(block), _class=RequestHeaders)
    assert isinstance(parsed, RequestHeaders)
    assert parsed.items() == expected.items()
    assert parsed.get_payload() == expected.get_payload()


@pytest.mark.parametrize('ending, gone', [('close', True), ('half-close', True), ('pipelined, then half-close', False)])
@pytest.mark.parametrize('high_fd', [False, True], ids=['fd below 1024', 'fd 1024 or more'])
def test_client_gone_sees_an_open_and_a_closed_client(high_fd, ending, gone):
    """A blocking run asks the handler whether its client is gone: False while the client's side is open (even with
    a file descriptor of 1024 or more, which select() cannot watch), True at once when the client closed it or shut
    its writing side down (Go's net/http reads EOF either way and cancels the request's context); but not when a
    pipelined request came first: Go's background read stops at its first byte and cancels nothing."""
    if high_fd and resource.getrlimit(resource.RLIMIT_NOFILE)[0] <= 1500:
        pytest.skip('the open-files limit is below 1501')
    server_side, client_side = socket.socketpair()
    if high_fd:
        moved = socket.socket(fileno=os.dup2(server_side.fileno(), 1500))
        server_side.close()
        server_side = moved
    handler = types.SimpleNamespace(connection=server_side, peer_closed=Handler.peer_closed)
    try:
        assert Handler.client_gone(handler, 0) is False
        assert Handler.client_gone(handler, 0.01) is False
        if ending == 'close':
            client_side.close()
        else:
            if ending.startswith('pipelined'):
                client_side.sendall(b'GET /kapacitor/v1/ping HTTP/1.1\r\n\r\n')
            client_side.shutdown(socket.SHUT_WR)
        assert Handler.client_gone(handler, 0.2 if ending.startswith('pipelined') else 1) is gone
    finally:
        server_side.close()
        client_side.close()


def test_task_shape(sim_client):
    task = create(sim_client)
    assert list(task)[:6] == ['links', 'labels', 'id', 'ownerID', 'orgID', 'name']
    assert task['labels'] is None and task['orgID'] == '' and task['ownerID'] == 'ADMIN_USER'
    assert re.fullmatch(r'[0-9a-f]{16}', task['id'])
    assert task['name'] == 'poster' and task['every'] == '1m' and task['status'] == 'active'
    assert re.fullmatch(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ', task['createdAt'])
    assert 'description' not in task and 'cron' not in task and 'updatedAt' not in task and 'lastRunError' not in task
    assert task['links'] == {'logs': '%s/%s/logs' % (TASKS, task['id']), 'runs': '%s/%s/runs' % (TASKS, task['id']),
                             'self': '%s/%s' % (TASKS, task['id'])}


def test_ids_increase_and_uppercase_is_accepted(sim_client):
    first, second = create(sim_client), create(sim_client)
    assert second['id'] > first['id']
    response = sim_client.get('%s/%s' % (TASKS, first['id'].upper()))
    assert response.status_code == 200 and response.json()['id'] == first['id']


@pytest.mark.parametrize('body, message', [
    ({}, 'failed to decode request: missing flux'),
    ({'flux': FLUX, 'status': 'paused'}, 'failed to decode request: invalid task status: \\"paused\\"'),
    ({'flux': FLUX, 'orgID': ''}, 'failed to decode request: id must have a length of 16 bytes'),
    ({'flux': 'from(bucket: "a")'}, 'invalid options: no task options defined'),
])
def test_create_errors(sim_client, body, message):
    assert_error(sim_client.post(TASKS, json=body), 400, 'invalid', message)


def test_create_empty_body_is_eof(sim_client):
    assert_error(sim_client.post(TASKS, data=b''), 400, 'invalid', 'failed to decode request: EOF')


def test_get_update_delete(sim_client):
    task = create(sim_client)
    path = '%s/%s' % (TASKS, task['id'])
    response = sim_client.request('PATCH', path, json={'every': '5m', 'status': 'inactive', 'description': 'd'})
    assert response.status_code == 200
    updated = response.json()
    assert updated['every'] == '5m' and 'every: 5m' in updated['flux'] and updated['status'] == 'inactive'
    assert updated['description'] == 'd' and 'updatedAt' in updated
    assert_error(sim_client.request('PATCH', path, json={'every': '1m', 'cron': '* * * * *'}), 400, 'invalid',
                 'failed to decode request: cannot specify both every and cron')
    assert_error(sim_client.request('PATCH', path, json={}), 400, 'invalid', 'failed to decode request: cannot update task without content')
    response = sim_client.request('DELETE', path)
    assert response.status_code == 204 and response.content == b''
    assert_error(sim_client.get(path), 404, 'not found', 'failed to find task: task not found')
    assert_error(sim_client.request('DELETE', path), 404, 'not found', 'failed to delete task: task not found')
    assert_error(sim_client.request('PATCH', path, json={'status': 'active'}), 404, 'not found', 'failed to update task: task not found')


@pytest.mark.parametrize('task_id, message', [
    ('abc', 'id must have a length of 16 bytes'),
    ('zzzzzzzzzzzzzzzz', 'invalid ID'),
    ('0000000000000000', 'invalid ID'),
])
def test_bad_ids(sim_client, task_id, message):
    assert_error(sim_client.get('%s/%s' % (TASKS, task_id)), 400, 'invalid', 'failed to decode request: ' + message)
    assert_error(sim_client.get('%s/%s/runs' % (TASKS, task_id)), 400, 'invalid', 'failed to decode request: ' + message)
    assert_error(sim_client.post('%s/%s/runs/%s/retry' % (TASKS, '0a1b2c3d4e5f6789', task_id)), 400, 'invalid',
                 'failed to decode request: ' + message)


def test_method_not_allowed(sim_client):
    for method, path, allow in [('POST', '/0a1b2c3d4e5f6789/runs/0a1b2c3d4e5f6789', 'DELETE, GET, OPTIONS'),
                                ('PUT', '/0a1b2c3d4e5f6789', 'DELETE, GET, OPTIONS, PATCH'),
                                ('DELETE', '', 'GET, OPTIONS, POST'),
                                ('GET', '/0a1b2c3d4e5f6789/runs/0a1b2c3d4e5f6789/retry', 'OPTIONS, POST')]:
        response = sim_client.request(method, TASKS + path)
        assert response.status_code == 405, (method, path)
        assert response.content == b'Method Not Allowed\n'
        assert response.headers['Content-Type'].startswith('text/plain')
        assert response.headers['Allow'] == allow


def test_redirects_and_not_found(sim_client):
    response = sim_client.get(TASKS + '/?limit=5')
    assert response.status_code == 301 and response.headers['Location'] == TASKS + '?limit=5'
    response = sim_client.post(TASKS + '/0a1b2c3d4e5f6789/runs/')
    assert response.status_code == 308 and response.headers['Location'] == TASKS + '/0a1b2c3d4e5f6789/runs'
    response = sim_client.get('/kapacitor/v1//api/v2/tasks')
    assert response.status_code == 301 and response.headers['Location'] == TASKS
    assert_error(sim_client.get(TASKS + '/x/y/z/w'), 404, 'not found', 'url not found: %s/x/y/z/w: not found' % TASKS)
    response = sim_client.get('/kapacitor/v1/nothing')
    assert response.status_code == 404 and response.content == b'{\n    "error": "Not Found",\n    "message": "Not Found"\n}'
    assert sim_client.get('/kapacitor/v1/ping').status_code == 204
    assert sim_client.request('OPTIONS', TASKS).status_code == 200


def test_list_tasks_paging_and_filters(make_sim):
    scenario = {'generate': {'tasks': 5, 'name_prefix': 'job', 'inactive_ratio': 0.4, 'seed': 3}}
    dummy, client = make_sim(scenario)
    response = client.get(TASKS)
    body = response.json()
    assert body['links'] == {'self': TASKS + '?limit=100'} and len(body['tasks']) == 5
    ids = [task['id'] for task in body['tasks']]
    assert ids == sorted(ids)
    page = client.get(TASKS + '?limit=2').json()
    assert [t['id'] for t in page['tasks']] == ids[:2]
    assert page['links']['next'] == '%s?after=%s&limit=2' % (TASKS, ids[1])
    page = client.get(page['links']['next']).json()
    assert [t['id'] for t in page['tasks']] == ids[2:4]
    assert page['links']['self'] == '%s?after=%s&limit=2' % (TASKS, ids[1])
    last = client.get('%s?after=%s&limit=2' % (TASKS, ids[3])).json()
    assert [t['id'] for t in last['tasks']] == ids[4:] and 'next' not in last['links']
    inactive = client.get(TASKS + '?status=inactive&limit=1').json()
    assert len(inactive['tasks']) == 1 and inactive['tasks'][0]['status'] == 'inactive'
    assert 'status' not in inactive['links']['next']          # §3.4: filters are not echoed
    assert len(client.get(TASKS + '?status=bogus').json()['tasks']) == 5
    assert [t['name'] for t in client.get(TASKS + '?name=job_0003').json()['tasks']] == ['job_0003']
    assert_error(client.get(TASKS + '?limit=501'), 400, 'invalid', 'failed to decode request: limit must be between 1 and 500')
    assert_error(client.get(TASKS + '?limit=x'), 400, 'invalid', 'failed to decode request: strconv.Atoi: parsing \\"x\\": invalid syntax')


def test_fluxtask_disabled(make_sim):
    dummy, client = make_sim(fluxtask_disabled=True)
    for method, path in [('GET', TASKS), ('POST', TASKS + '/0a1b2c3d4e5f6789/runs/0a1b2c3d4e5f6789/retry'), ('GET', TASKS + '/abc')]:
        response = client.request(method, path)
        assert response.status_code == 404
        assert response.content == b'{\n    "error": "Not Found",\n    "message": "Not Found"\n}'
        assert response.headers['Content-Type'] == ERROR_CONTENT_TYPE
