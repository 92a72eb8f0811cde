"""Retry and manual runs: blocking, outcomes, 422 collisions, client disconnects (docs/kapacitor-api.md §4.7, §6)."""

import socket
import threading
import time

from sim_support import TASKS, ApiClient, assert_error, wait_for

TASK_ID = '0a1b2c3d4e5f6789'
FAILED = '0b00000000000002'
OLD = '0b00000000000004'
RETRY_PATH = '%s/%s/runs/%s/retry' % (TASKS, TASK_ID, FAILED)


def scenario(**task_extra):
    task = {'id': TASK_ID, 'name': 'cpu', 'every': '1h', 'runs': [
        {'id': '0b00000000000001', 'status': 'success', 'scheduled_for': '-3h'},
        {'id': FAILED, 'status': 'failed', 'scheduled_for': '-2h'},
        {'id': OLD, 'status': 'failed', 'scheduled_for': '-15d'}]}
    task.update(task_extra)
    return {'tasks': [task]}


def test_retry_blocks_and_answers_scheduled(make_sim):
    dummy, client = make_sim(scenario(run_seconds=1.0))
    started = time.monotonic()
    response = client.post(RETRY_PATH)
    elapsed = time.monotonic() - started
    assert response.status_code == 200, response.text
    assert elapsed >= 1.0
    run = response.json()
    assert run['status'] == 'scheduled' and run['id'] > FAILED and run['taskID'] == TASK_ID
    assert 'requestedAt' in run and 'startedAt' not in run and 'finishedAt' not in run
    assert run['links']['self'] == '%s/%s/runs/%s' % (TASKS, TASK_ID, run['id'])
    original = client.get('%s/%s/runs/%s' % (TASKS, TASK_ID, FAILED)).json()
    assert original['status'] == 'failed'
    assert run['scheduledFor'] == original['scheduledFor']
    recorded = client.get('%s/%s/runs/%s' % (TASKS, TASK_ID, run['id'])).json()
    assert recorded['status'] == 'success' and recorded['finishedAt'] > recorded['startedAt']
    # requestedAt: nanoseconds in the answer, whole seconds once read back from the history (the recorder's RFC3339).
    assert '.' in run['requestedAt'] and recorded['requestedAt'] == run['requestedAt'].split('.')[0] + 'Z'
    attempts = client.get('/_sim/attempts?task_id=' + TASK_ID).json()[TASK_ID][original['scheduledFor']]
    assert [(a['id'], a['status'], a['created_by_retry']) for a in attempts] == [(FAILED, 'failed', False), (run['id'], 'success', True)]


def test_retry_failure_is_500_and_recorded(make_sim):
    dummy, client = make_sim(scenario(retry_outcomes=['fail', 'flux_error', 'success'], retry_error='boom @1:1'))
    assert_error(client.post(RETRY_PATH), 500, 'internal error', 'failed to retry run: could not execute task run: boom @1:1')
    response = client.post(RETRY_PATH)
    assert response.status_code == 400 and response.json()['message'].startswith('failed to retry run: could not parse Flux script: ')
    assert client.post(RETRY_PATH).status_code == 200
    assert client.post(RETRY_PATH).status_code == 200        # the last outcome repeats
    runs = [r for r in client.runs(TASK_ID) if r['id'] > OLD]
    assert sorted(r['status'] for r in runs) == ['failed', 'failed', 'success', 'success']
    failed = min(runs, key=lambda r: r['id'])
    assert [e['message'] for e in failed['log']][1:] == ['Completed(failed)', 'boom @1:1']
    task = client.get('%s/%s' % (TASKS, TASK_ID)).json()
    assert task['lastRunStatus'] == 'success'


def test_retry_not_found(make_sim):
    dummy, client = make_sim(scenario())
    assert_error(client.post('%s/0fffffffffffffff/runs/%s/retry' % (TASKS, FAILED)), 404, 'not found', 'failed to retry run: task not found')
    assert_error(client.post('%s/%s/runs/0b0000000000000f/retry' % (TASKS, TASK_ID)), 404, 'not found', 'failed to retry run: run not found')
    assert_error(client.post('%s/%s/runs/%s/retry' % (TASKS, TASK_ID, OLD)), 404, 'not found', 'failed to retry run: run not found')


def test_concurrent_retries_collide_with_422(make_sim):
    sim, client = make_sim(scenario(queue_seconds=0.5))
    results = []
    first = threading.Thread(target=lambda: results.append(client.post(RETRY_PATH)))
    first.start()
    wait_for(lambda: client.stats()['retries_in_flight'] == 1)
    second = ApiClient(sim.url)
    assert_error(second.post(RETRY_PATH), 422, 'conflict', 'failed to retry run: run already queued')
    # while queued, the new run is listed first but not found by ID
    listed = client.runs(TASK_ID)
    assert listed[0]['status'] == 'scheduled' and 'requestedAt' in listed[0]
    first.join()
    assert results[0].status_code == 200
    assert client.stats()['retries_started'] == 1


def test_force_run(make_sim):
    dummy, client = make_sim(scenario(retry_outcomes=['success', 'fail'], retry_error='nope'))
    response = client.post('%s/%s/runs' % (TASKS, TASK_ID), json={'scheduledFor': '2026-01-02T03:04:05.678Z'})
    assert response.status_code == 201, response.text
    assert response.json()['scheduledFor'] == '2026-01-02T03:04:05Z' and response.json()['status'] == 'scheduled'
    assert_error(client.post('%s/%s/runs' % (TASKS, TASK_ID), json={'scheduledFor': '2026-01-02T03:04:05Z'}), 500, 'internal error',
                 'failed to force run: could not execute task run: nope')
    assert_error(client.post('%s/0fffffffffffffff/runs' % TASKS), 404, 'not found', 'failed to force run: task not found')
    response = client.post('%s/%s/runs' % (TASKS, TASK_ID), json={'scheduledFor': 'yesterday'})
    assert response.status_code == 400 and response.json()['message'].startswith('failed to decode request: parsing time "yesterday"')


def test_client_disconnect_cancels_the_run(make_sim):
    sim, client = make_sim(scenario(run_seconds=3.0))
    before = time.monotonic()
    with socket.create_connection(('127.0.0.1', sim.port)) as raw:
        raw.sendall(('POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n' % RETRY_PATH).encode())
        time.sleep(0.2)
    wait_for(lambda: client.stats()['disconnect_cancellations'] == 1)
    assert time.monotonic() - before < 2.0
    new = [r for r in client.state_runs(TASK_ID) if r['id'] > OLD]
    assert len(new) == 1 and new[0]['status'] == 'failed' and new[0]['manual']
    logs = client.get('%s/%s/runs/%s/logs' % (TASKS, TASK_ID, new[0]['id'])).json()['events']
    assert logs[-1]['message'] == 'context canceled'
    assert client.stats()['retries_in_flight'] == 0


def test_cancel_a_blocking_retry(make_sim):
    sim, client = make_sim(scenario(run_seconds=3.0))
    results = []
    worker = threading.Thread(target=lambda: results.append(ApiClient(sim.url).post(RETRY_PATH)))
    worker.start()
    running = wait_for(lambda: [r for r in client.state_runs(TASK_ID) if r['status'] == 'started'])
    response = client.request('DELETE', '%s/%s/runs/%s' % (TASKS, TASK_ID, running[0]['id']))
    assert response.status_code == 200
    worker.join(5)
    assert_error(results[0], 500, 'internal error', 'failed to retry run: could not execute task run: context canceled')
    assert client.get('%s/%s/runs/%s' % (TASKS, TASK_ID, running[0]['id'])).json()['status'] == 'failed'


def running_scenario(requested=True, **task_extra):
    """A task with a run still executing in kv; ``requested`` adds a past manual run, so kv has a manualRuns key."""
    runs = [{'id': '0b00000000000005', 'status': 'started', 'scheduled_for': '-5m'},
            {'id': FAILED, 'status': 'failed', 'scheduled_for': '-2h'}]
    if requested:
        runs.append({'id': '0b00000000000003', 'status': 'success', 'scheduled_for': '-2h', 'requested_at': '-90m'})
    task = {'id': TASK_ID, 'name': 'cpu', 'every': '1h', 'runs': runs}
    task.update(task_extra)
    return {'tasks': [task]}


def test_retry_of_a_running_run_copies_it(make_sim):
    dummy, client = make_sim(running_scenario())
    original = client.get('%s/%s/runs/0b00000000000005' % (TASKS, TASK_ID)).json()
    assert [entry['message'][:24] for entry in original['log']] == ['Started task from script']
    response = client.post('%s/%s/runs/0b00000000000005/retry' % (TASKS, TASK_ID))
    assert response.status_code == 200, response.text
    copy = response.json()
    # kv retryRun: a new ID, status scheduled, startedAt/finishedAt/requestedAt cleared, the original's log kept.
    assert copy['id'] > original['id'] and copy['status'] == 'scheduled' and copy['scheduledFor'] == original['scheduledFor']
    assert not {'startedAt', 'finishedAt', 'requestedAt'} & set(copy)
    assert copy['log'] == original['log']
    done = client.get('%s/%s/runs/%s' % (TASKS, TASK_ID, copy['id'])).json()
    assert done['status'] == 'success' and 'requestedAt' not in done
    assert done['log'][0] == original['log'][0]                                       # still the original's runID
    assert [(e['runID'] == copy['id'], e['message'][:12]) for e in done['log'][1:]] == [(True, 'Started task'), (True, 'Completed(su')]
    assert client.get('%s/%s/runs/0b00000000000005' % (TASKS, TASK_ID)).json() == original     # untouched


def test_retry_of_a_running_run_without_a_manual_runs_key_forces_a_run(make_sim):
    dummy, client = make_sim(running_scenario(requested=False))
    copy = client.post('%s/%s/runs/0b00000000000005/retry' % (TASKS, TASK_ID)).json()
    # kv retryRun answers "run not found" without the key: the ForceRun path, requestedAt set and an empty log.
    assert 'requestedAt' in copy and 'log' not in copy
    # From then on the key exists, and a retry of a running run copies it.
    assert 'requestedAt' not in client.post('%s/%s/runs/0b00000000000005/retry' % (TASKS, TASK_ID)).json()


def test_retries_of_a_running_run_do_not_collide(make_sim):
    sim, client = make_sim(running_scenario(queue_seconds=1.0))
    path = '%s/%s/runs/0b00000000000005/retry' % (TASKS, TASK_ID)
    results = []
    workers = [threading.Thread(target=lambda: results.append(ApiClient(sim.url).post(path))) for dummy in range(2)]
    workers[0].start()
    wait_for(lambda: client.stats()['retries_in_flight'] == 1)
    workers[1].start()
    for worker in workers:
        worker.join(10)
    # kv retryRun has no "already queued" check (only forceRun has): both copies are queued and run.
    assert sorted(response.status_code for response in results) == [200, 200]
    attempts = client.get('/_sim/attempts?task_id=' + TASK_ID).json()[TASK_ID]
    assert len(next(runs for runs in attempts.values() if any(r['id'] == '0b00000000000005' for r in runs))) == 3


def test_a_blocking_answer_comes_after_a_history_gap_so_its_run_is_listed_at_once(make_sim):
    # The executor writes the finished run to the history before the coordinator answers: the gap is for others.
    dummy, client = make_sim(scenario(run_seconds=0.2, retry_outcomes=['fail'], retry_error='boom'))
    client.post('/_sim/faults', json={'history_gap_ms': 800}).raise_for_status()
    started = time.monotonic()
    response = client.post(RETRY_PATH)
    assert response.status_code == 500 and time.monotonic() - started >= 0.95, response.text
    statuses = [run['status'] for run in client.runs(TASK_ID)]
    assert statuses.count('failed') == 2, statuses     # the original and the new run, listed right after the answer
