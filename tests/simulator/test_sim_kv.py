"""Runs that Kapacitor still holds in its kv store: finished runs held there for a while ("kv_linger_seconds"),
seeded ones ("in_kv"), and how a listing returns them (docs/kapacitor-api.md §1, §4.4)."""

import time
from datetime import datetime, timedelta, timezone

from sim_support import TASKS, wait_for

TASK_ID = '0a1b2c3d4e5f6789'
FAILED = '0b00000000000002'


def rfc(delta):
    return (datetime.now(timezone.utc) + delta).strftime('%Y-%m-%dT%H:%M:%SZ')


def scenario(runs=(), **task_extra):
    task = {'id': TASK_ID, 'name': 'cpu', 'every': '1h', 'runs': [
        {'id': '0b00000000000001', 'status': 'success', 'scheduled_for': '-3h'},
        {'id': FAILED, 'status': 'failed', 'scheduled_for': '-2h'},
        {'id': '0b00000000000003', 'status': 'success', 'scheduled_for': '-1h'}] + list(runs)}
    task.update(task_extra)
    return {'tasks': [task]}


def in_kv(client):
    return {run['id']: run['in_kv'] for run in client.state_runs(TASK_ID)}


def test_a_finished_retry_lingers_in_kv_then_moves_to_history(make_sim):
    dummy, client = make_sim(scenario(kv_linger_seconds=1.5))
    response = client.post('%s/%s/runs/%s/retry' % (TASKS, TASK_ID, FAILED))
    assert response.status_code == 200, response.text
    new_id = response.json()['id']
    runs = client.runs(TASK_ID)
    # The finished retry comes first, in the kv group, before the scheduledFor-descending completed part ...
    assert [run['id'] for run in runs] == [new_id, '0b00000000000003', FAILED, '0b00000000000001']
    assert runs[0]['status'] == 'success' and runs[0]['scheduledFor'] == runs[2]['scheduledFor'] and 'finishedAt' in runs[0]
    assert in_kv(client)[new_id] is True
    # ... and is filtered by the window as the kv part is: on scheduledFor, both bounds exclusive.
    assert [run['id'] for run in client.runs(TASK_ID, '?afterTime=' + rfc(timedelta(minutes=-90)))] == ['0b00000000000003']
    window = '?afterTime=%s&beforeTime=%s' % (rfc(timedelta(minutes=-150)), rfc(timedelta(minutes=-90)))
    assert [run['id'] for run in client.runs(TASK_ID, window)] == [new_id, FAILED]
    assert client.get('%s/%s/runs/%s' % (TASKS, TASK_ID, new_id)).json()['status'] == 'success'
    # Once its time in kv is over it is part of the completed history, next to the run it retried.
    wait_for(lambda: not in_kv(client)[new_id], timeout=5)
    ids = [run['id'] for run in client.runs(TASK_ID)]
    assert ids[0] == '0b00000000000003' and sorted(ids[1:3]) == sorted([FAILED, new_id]) and len(ids) == 4


def test_without_linger_a_finished_retry_goes_straight_to_history(make_sim):
    dummy, client = make_sim(scenario())
    new_id = client.post('%s/%s/runs/%s/retry' % (TASKS, TASK_ID, FAILED)).json()['id']
    assert in_kv(client)[new_id] is False
    assert [run['id'] for run in client.runs(TASK_ID)][0] == '0b00000000000003'


def test_seeded_runs_held_in_kv(make_sim):
    held = [{'id': '0b00000000000009', 'status': 'failed', 'scheduled_for': '-10d', 'in_kv': True},
            {'id': '0b00000000000008', 'status': 'canceled', 'scheduled_for': '-20d', 'in_kv': True},
            {'id': '0b00000000000007', 'status': 'success', 'scheduled_for': '-20d'}]
    dummy, client = make_sim(scenario(held))
    runs = client.runs(TASK_ID)
    # kv runs first in ascending ID order, whatever their age (no 14-day horizon in kv); the old completed one is gone.
    assert [run['id'] for run in runs] == ['0b00000000000008', '0b00000000000009', '0b00000000000003', FAILED, '0b00000000000001']
    assert [run['status'] for run in runs[:2]] == ['canceled', 'failed']
    assert 'finishedAt' in runs[1] and runs[1]['log'][-1]['message']
    # They come back on every page whose window holds their scheduledFor, and only there.
    assert [run['id'] for run in client.runs(TASK_ID, '?afterTime=' + rfc(timedelta(days=-5)))] == ['0b00000000000003', FAILED, '0b00000000000001']
    window = '?afterTime=%s&beforeTime=%s' % (rfc(timedelta(days=-11)), rfc(timedelta(days=-9)))
    assert [run['id'] for run in client.runs(TASK_ID, window)] == ['0b00000000000009']
    assert [run['id'] for run in client.runs(TASK_ID, '?limit=1')] == ['0b00000000000008']
    assert client.get('%s/%s/runs/0b00000000000008' % (TASKS, TASK_ID)).status_code == 200
    time.sleep(0.2)
    assert in_kv(client)['0b00000000000009'] is True and in_kv(client)['0b00000000000007'] is False
