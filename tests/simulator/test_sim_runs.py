"""Listing and reading runs: ordering, exclusive windows, 14-day horizon, broken `after` (docs/kapacitor-api.md §4.4-§4.6)."""

import json
import re
from datetime import datetime, timedelta, timezone

import pytest
from kapacitor_simulator.constants import TASKS_PREFIX
from kapacitor_simulator.encoding import go_json, go_marshal
from sim_support import TASKS, assert_error

TASK_ID = '0a1b2c3d4e5f6789'
UNKNOWN = '0fffffffffffffff'


def rfc(delta):
    return (datetime.now(timezone.utc) + delta).strftime('%Y-%m-%dT%H:%M:%SZ')


def scenario(**task_extra):
    runs = [
        {'id': '0b00000000000001', 'status': 'success', 'scheduled_for': '-3h'},
        {'id': '0b00000000000002', 'status': 'failed', 'scheduled_for': '-2h'},
        {'id': '0b00000000000003', 'status': 'success', 'scheduled_for': '-1h'},
        {'id': '0b00000000000009', 'status': 'success', 'scheduled_for': '-2h', 'requested_at': '-50m'},
        {'id': '0b00000000000004', 'status': 'failed', 'scheduled_for': '-15d'},
        {'id': '0b00000000000005', 'status': 'started', 'scheduled_for': '-5m'},
        {'id': '0b00000000000006', 'status': 'started', 'scheduled_for': '-6m'},
        {'id': '0b00000000000008', 'status': 'scheduled', 'scheduled_for': '-4h', 'requested_at': '-1m'},
        {'id': '0b00000000000007', 'status': 'scheduled', 'scheduled_for': '-3h', 'requested_at': '-1m'},
        {'id': '0b0000000000000a', 'status': 'started', 'scheduled_for': '+1h'},
    ]
    task = {'id': TASK_ID, 'name': 'cpu', 'every': '1h', 'runs': runs}
    task.update(task_extra)
    return {'tasks': [task]}


def ids(runs):
    return [run['id'][-1] for run in runs]


def test_order_queued_running_completed(make_sim):
    dummy, client = make_sim(scenario())
    runs = client.runs(TASK_ID)
    # queued manual runs in insertion order, running by ascending ID (future scheduledFor hidden), completed by scheduledFor desc
    assert ids(runs[:4]) == ['8', '7', '5', '6']
    assert [r['status'] for r in runs[:4]] == ['scheduled', 'scheduled', 'started', 'started']
    assert ids(runs[4:5]) == ['3']
    assert sorted(ids(runs[5:7])) == ['2', '9']        # same scheduledFor: order unspecified
    assert ids(runs[7:]) == ['1']                      # "4" started 15 days ago: beyond the horizon
    assert '4' in ids(client.state_runs())
    assert ids(client.runs(TASK_ID, '?limit=5')) == ['8', '7', '5', '6', '3']
    assert ids(client.runs(TASK_ID, '?limit=3')) == ['8', '7', '5']


def test_run_shape(make_sim):
    dummy, client = make_sim(scenario())
    run = client.get('%s/%s/runs/0b00000000000002' % (TASKS, TASK_ID)).json()
    base = '%s/%s/runs/0b00000000000002' % (TASKS, TASK_ID)
    assert run['links'] == {'logs': base + '/logs', 'retry': base + '/retry', 'self': base, 'task': '%s/%s' % (TASKS, TASK_ID)}
    assert list(run)[:6] == ['links', 'id', 'taskID', 'status', 'scheduledFor', 'startedAt']
    assert re.fullmatch(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ', run['scheduledFor'])
    assert re.fullmatch(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z', run['startedAt'])
    assert 'requestedAt' not in run
    assert [entry['message'][:25] for entry in run['log']] == ['Started task from script:', 'Completed(failed)', run['log'][2]['message'][:25]]
    assert all(entry['runID'] == '0b00000000000002' for entry in run['log'])


def test_a_listing_is_go_encoded_byte_for_byte_from_each_runs_kept_encoding(make_sim):
    """The listing splices each run's kept encoding: it must be the bytes Go's encoder gives the whole body (compact,
    HTML-escaped, a trailing newline), for finished runs listed again and for running and queued ones."""
    flux = 'option task = {name: "cpu", every: 1h}\nfrom(bucket: "a&b") |> range(start: -1h) // \u2028 <x>'
    dummy, client = make_sim(scenario(flux=flux))
    first, again = [client.get('%s/%s/runs' % (TASKS, TASK_ID)).content for dummy in range(2)]
    for body in (first, again):   # the second from the kept encodings (in another order: two share a scheduledFor)
        assert body == go_json(json.loads(body)) and body.endswith(b']}\n')
    assert sorted(json.loads(first)['runs'], key=str) == sorted(json.loads(again)['runs'], key=str)
    assert b'\\u003e range' in first and b'a\\u0026b' in first and b'\\u2028' in first and b'|>' not in first
    assert len(json.loads(first)['runs']) == 8 and json.loads(first)['links']['task'] == '%s/%s' % (TASKS, TASK_ID)


def test_a_runs_kept_encoding_is_go_marshal_of_its_json(make_sim):
    """Run.encoded, what a listing keeps for a finished run, writes go_marshal(Run.to_json()) out by hand: the same bytes
    for runs in every state, with a log copied by a kv retry, an error to escape, under both APIs' prefixes."""
    flux = 'option task = {name: "cpu", every: 1h}\nfrom(bucket: "a&b") |> range(start: -1h) // \u2028 <x> caf\u00e9'
    sim, dummy = make_sim(scenario(flux=flux))
    with sim.state.lock:
        task_runs = sim.state.runs_of(int(TASK_ID, 16))
        runs = task_runs.completed + task_runs.queued + list(task_runs.running.values())
    assert {run.status for run in runs} == {'success', 'failed', 'started', 'scheduled'}
    failed = next(run for run in runs if run.status == 'failed')
    failed.error = 'write "x" <failed> & \u2029 \U0001f600'
    runs[0].log_prefix = failed.log_entries(flux)
    canceled = next(run for run in runs if run.status == 'success')
    canceled.status, canceled.error = 'canceled', 'context canceled'
    for run in runs:
        for prefix in (TASKS_PREFIX, '/api/v2/tasks'):
            assert run.encoded(flux, prefix) == go_marshal(run.to_json(flux, prefix))


def test_runs_sharing_a_scheduled_for_come_back_in_a_random_order(make_sim):
    """Flux sort is not stable (§4.4 point 4): each request orders ties anew, and a page cut keeps any of them."""
    runs = [{'id': '0c00000000000001', 'status': 'failed', 'scheduled_for': '-10m'},
            {'id': '0c00000000000002', 'status': 'success', 'scheduled_for': '-10m', 'requested_at': '-1m'},
            {'id': '0c00000000000003', 'status': 'success', 'scheduled_for': '-20m'}]
    dummy, client = make_sim({'tasks': [{'id': TASK_ID, 'name': 't', 'runs': runs}]})
    orders, first_pages = set(), set()
    for dummy in range(40):
        listed = [run['id'][-1] for run in client.runs(TASK_ID)]
        assert sorted(listed[:2]) == ['1', '2'] and listed[2] == '3'
        orders.add(tuple(listed))
        first_pages.add(tuple(run['id'][-1] for run in client.runs(TASK_ID, '?limit=1')))
    assert orders == {('1', '2', '3'), ('2', '1', '3')}
    assert first_pages == {('1',), ('2',)}


def test_windows_are_exclusive_on_scheduled_for(make_sim):
    dummy, client = make_sim({'tasks': [{'id': TASK_ID, 'name': 't', 'runs': [
        {'id': '0b00000000000001', 'status': 'success', 'scheduled_for': '2026-01-01T00:00:00Z', 'started_at': '-1h'},
        {'id': '0b00000000000002', 'status': 'success', 'scheduled_for': '2026-01-01T01:00:00Z', 'started_at': '-1h'},
        {'id': '0b00000000000003', 'status': 'success', 'scheduled_for': '2026-01-01T02:00:00Z', 'started_at': '-1h'}]}]})
    window = '?afterTime=2026-01-01T00:00:00Z&beforeTime=2026-01-01T02:00:00Z'
    assert ids(client.runs(TASK_ID, window)) == ['2']
    assert ids(client.runs(TASK_ID, '?afterTime=2025-12-31T23:59:59Z&beforeTime=2026-01-01T02:00:01Z')) == ['3', '2', '1']
    assert ids(client.runs(TASK_ID, '?afterTime=2026-01-01T01:30:00%2B01:00')) == ['3', '2']   # 00:30Z


def test_validation_order_and_messages(make_sim):
    dummy, client = make_sim(scenario())
    path = '%s/%s/runs' % (TASKS, TASK_ID)
    assert_error(client.get(path + '?limit=0'), 400, 'invalid', 'failed to decode request: run limit is out of bounds, must be between 1 and 500')
    assert_error(client.get(path + '?limit=501&after=abc'), 400, 'invalid', 'failed to decode request: id must have a length of 16 bytes')
    assert_error(client.get(path + '?limit=abc'), 400, 'invalid', 'failed to decode request: strconv.Atoi: parsing \\"abc\\": invalid syntax')
    assert_error(client.get(path + '?afterTime=2024-13-01'), 400, 'invalid', 'failed to decode request: parsing time \\"2024-13-01\\": month out of range')
    assert_error(client.get(path + '?afterTime=2026-01-01T00:00:00Z&beforeTime=2026-01-01T00:00:00Z'), 400, 'invalid',
                 'failed to decode request: beforeTime must be later than afterTime')
    # afterTime alone >= now: AnalyticalStorage's implicit beforeTime = now fails (§4.4)
    assert_error(client.get(path + '?afterTime=' + rfc(timedelta(hours=2))), 500, 'internal error',
                 'failed to find runs: given after time must be prior to before time')
    # ... unless the kv runs already fill the page
    assert client.get(path + '?limit=1&afterTime=' + rfc(timedelta(hours=-5))).status_code == 200


def test_after_is_broken(make_sim):
    dummy, client = make_sim(scenario())
    runs = client.runs(TASK_ID, '?after=0b00000000000001')
    assert ids(runs) == ['8', '7', '5', '6']          # kv ignores it, every completed run is dropped


def test_unknown_task_and_run(make_sim):
    dummy, client = make_sim(scenario())
    response = client.get('%s/%s/runs' % (TASKS, UNKNOWN))
    assert response.status_code == 200
    assert response.json() == {'links': {'self': '%s/%s/runs' % (TASKS, UNKNOWN), 'task': '%s/%s' % (TASKS, UNKNOWN)}, 'runs': []}
    assert_error(client.get('%s/%s/runs/0b00000000000001' % (TASKS, UNKNOWN)), 404, 'not found', 'failed to find run: run not found')
    assert_error(client.get('%s/%s/runs/0b00000000000004' % (TASKS, TASK_ID)), 404, 'not found', 'failed to find run: run not found')
    # queued manual runs are not found by ID until they start (§4.5)
    assert_error(client.get('%s/%s/runs/0b00000000000007' % (TASKS, TASK_ID)), 404, 'not found', 'failed to find run: run not found')
    assert_error(client.get('%s/%s/runs/0b00000000000004/logs' % (TASKS, TASK_ID)), 404, 'not found', 'failed to find task logs: run not found')
    response = client.get('%s/%s/logs' % (TASKS, UNKNOWN))
    assert response.status_code == 200 and response.content == b'{"events":null}\n'


def test_task_logs_concatenate_runs(make_sim):
    dummy, client = make_sim(scenario())
    events = client.get('%s/%s/logs' % (TASKS, TASK_ID)).json()['events']
    # In the run order of a listing: the running runs (which have started: one line each), then the completed ones.
    assert [e['runID'][-1] for e in events if e['message'].startswith('Started')][:3] == ['5', '6', '3']
    assert sum(1 for e in events if e['message'].startswith('Completed(')) == 4


def test_cancel(make_sim):
    dummy, client = make_sim(scenario())
    response = client.request('DELETE', '%s/%s/runs/0b00000000000005' % (TASKS, TASK_ID))
    assert response.status_code == 200 and response.content == b''
    assert 'Content-Type' not in response.headers
    # A run without a worker in the executor stays in kv as kv cancelRun saved it: canceled, not finished.
    run = client.get('%s/%s/runs/0b00000000000005' % (TASKS, TASK_ID)).json()
    assert run['status'] == 'canceled' and 'finishedAt' not in run
    listed = client.runs(TASK_ID)
    assert ids(listed[:4]) == ['8', '7', '5', '6'] and [r['status'] for r in listed[2:4]] == ['canceled', 'started']
    assert client.request('DELETE', '%s/%s/runs/0b00000000000005' % (TASKS, TASK_ID)).status_code == 200   # still in kv
    assert [r['in_kv'] for r in client.state_runs(TASK_ID) if r['id'] == '0b00000000000005'] == [True]
    assert_error(client.request('DELETE', '%s/%s/runs/0b00000000000003' % (TASKS, TASK_ID)), 404, 'not found',
                 'failed to cancel run: run not found')


def test_a_completed_run_scheduled_in_the_future_is_listed_without_a_window(make_sim):
    """The history part filters on scheduledFor only when afterTime or beforeTime is given (§4.4); kv always stops at now."""
    runs = [{'id': '0b00000000000001', 'status': 'success', 'scheduled_for': '-1h'},
            {'id': '0b00000000000002', 'status': 'failed', 'scheduled_for': '+2h', 'started_at': '-5m'},
            {'id': '0b00000000000003', 'status': 'success', 'scheduled_for': '+1h', 'requested_at': '-3m'},
            {'id': '0b00000000000004', 'status': 'started', 'scheduled_for': '+1h'}]
    dummy, client = make_sim({'tasks': [{'id': TASK_ID, 'name': 'cpu', 'every': '1h', 'runs': runs}]})
    assert ids(client.runs(TASK_ID)) == ['2', '3', '1']                                   # the running one: kv, hidden
    assert ids(client.runs(TASK_ID, '?afterTime=' + rfc(timedelta(hours=-3)))) == ['1']   # beforeTime is now then
    assert ids(client.runs(TASK_ID, '?beforeTime=' + rfc(timedelta(hours=3)))) == ['4', '2', '3', '1']
    assert client.get('%s/%s/runs/0b00000000000002' % (TASKS, TASK_ID)).status_code == 200
    # A manual run for a later time runs now and is then listed, first.
    created = client.post('%s/%s/runs' % (TASKS, TASK_ID), json={'scheduledFor': rfc(timedelta(hours=5))})
    assert created.status_code == 201, created.text
    assert client.runs(TASK_ID)[0]['id'] == created.json()['id']


LAYOUT = ' as "2006-01-02T15:04:05Z07:00": cannot parse '


@pytest.mark.parametrize('value, error', [
    # Range errors are reported as soon as the element is read, so "2024-13-01" never reaches its missing "T".
    ('2024-13-01', 'parsing time "2024-13-01": month out of range'),
    ('2024-00-10T00:00:00Z', 'parsing time "2024-00-10T00:00:00Z": month out of range'),
    ('2024-01-01T24:00:00Z', 'parsing time "2024-01-01T24:00:00Z": hour out of range'),
    ('2024-01-01T00:60:00Z', 'parsing time "2024-01-01T00:60:00Z": minute out of range'),
    ('2024-01-01T00:00:60Z', 'parsing time "2024-01-01T00:00:60Z": second out of range'),
    ('2024-01-01T00:00:00+25:00', 'parsing time "2024-01-01T00:00:00+25:00": time zone offset hour out of range'),
    # The day is checked against the month only at the end, after any leftover text.
    ('2023-02-29T00:00:00Z', 'parsing time "2023-02-29T00:00:00Z": day out of range'),
    ('2024-01-32T00:00:00Zx', 'parsing time "2024-01-32T00:00:00Zx": extra text: "x"'),
    # Syntax errors quote the input from the element that failed on, and that element of the layout.
    ('2024-01-01', 'parsing time "2024-01-01"' + LAYOUT + '"" as "T"'),
    ('yesterday', 'parsing time "yesterday"' + LAYOUT + '"yesterday" as "2006"'),
    ('2024-1-01T00:00:00Z', 'parsing time "2024-1-01T00:00:00Z"' + LAYOUT + '"1-01T00:00:00Z" as "01"'),
    ('2024-01-01 00:00:00Z', 'parsing time "2024-01-01 00:00:00Z"' + LAYOUT + '" 00:00:00Z" as "T"'),
    ('2024-01-01T00:00:00', 'parsing time "2024-01-01T00:00:00"' + LAYOUT + '"" as "Z07:00"'),
    ('2024-01-01T00:00:00+0100', 'parsing time "2024-01-01T00:00:00+0100"' + LAYOUT + '"+0100" as "Z07:00"'),
    ('2024-01-01T00:00:00x01:00', 'parsing time "2024-01-01T00:00:00x01:00"' + LAYOUT + '"x01:00" as "Z07:00"'),
    ('é2024', 'parsing time "\\xc3\\xa92024"' + LAYOUT + '"\\xc3\\xa92024" as "2006"'),
])
def test_time_parse_errors_are_go_texts(make_sim, value, error):
    """time.Parse(time.RFC3339, v) as Go's src/time/format.go words its errors (§4.4), for afterTime, beforeTime and
    the scheduledFor of a manual run."""
    dummy, client = make_sim(scenario())
    for response in (client.get('%s/%s/runs' % (TASKS, TASK_ID), params={'afterTime': value}),
                     client.get('%s/%s/runs' % (TASKS, TASK_ID), params={'beforeTime': value}),
                     client.post('%s/%s/runs' % (TASKS, TASK_ID), json={'scheduledFor': value})):
        assert response.status_code == 400, response.text
        assert response.json() == {'code': 'invalid', 'message': 'failed to decode request: ' + error}


@pytest.mark.parametrize('value, expected', [
    ('2024-01-01T1:00:00Z', '2024-01-01T01:00:00Z'),          # Go reads the hour with one or two digits
    ('2024-01-01T00:00:00,5-01:30', '2024-01-01T01:30:00Z'),  # a fraction after a comma; the offset applied
    ('2024-02-29T23:59:59+24:00', '2024-02-28T23:59:59Z'),    # offsets up to 24 hours
])
def test_what_go_time_parse_accepts(make_sim, value, expected):
    dummy, client = make_sim(scenario())
    created = client.post('%s/%s/runs' % (TASKS, TASK_ID), json={'scheduledFor': value})
    assert created.status_code == 201, created.text
    assert created.json()['scheduledFor'] == expected
