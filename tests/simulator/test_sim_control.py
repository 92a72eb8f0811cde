"""The simulator's own contract (docs/simulator.md): scenarios, generator, control API, faults, process lifecycle."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
import requests
from process import SIMULATOR as SIM
from process import SimulatorProcess
from sim_support import TASKS

TASK_ID = '0a1b2c3d4e5f6789'
FAILED = '0b00000000000002'
RETRY_PATH = '%s/%s/runs/%s/retry' % (TASKS, TASK_ID, FAILED)
ONE_TASK = {'tasks': [{'id': TASK_ID, 'name': 'cpu', 'runs': [{'id': FAILED, 'status': 'failed', 'scheduled_for': '-2h'}]}]}


def test_generator_counts(make_sim):
    scenario = {'generate': {'tasks': 20, 'name_prefix': 'gen', 'runs_per_task': 50, 'every': '1m', 'failed_ratio': 0.1,
                             'retried_ratio': 0.4, 'inactive_ratio': 0.25, 'seed': 7},
                'tasks': [{'name': 'extra', 'generate_runs': {'count': 30, 'every': '1h', 'end': '-1h', 'failed_ratio': 0.5,
                                                              'retried_ratio': 1.0, 'seed': 2}}]}
    dummy, client = make_sim()
    loaded = client.post('/_sim/scenario', json=scenario).json()
    # 20 x (50 + 5 failed x 40% = 2 retries) + (30 + 15 retries)
    assert loaded['runs'] == 20 * 52 + 45
    assert len(loaded['tasks']) == 21 and loaded['tasks'][-1]['name'] == 'gen_0020'
    tasks = client.tasks()
    assert sum(t['status'] == 'inactive' for t in tasks) == 5
    state = client.get('/_sim/state').json()
    assert len(state['runs']) == loaded['runs'] and len(state['tasks']) == 21
    extra = next(t['id'] for t in tasks if t['name'] == 'extra')
    runs = client.runs(extra)
    assert len(runs) == 45
    assert sum(r['status'] == 'failed' for r in runs) == 15 and sum('requestedAt' in r for r in runs) == 15
    attempts = client.get('/_sim/attempts?task_id=' + extra).json()[extra]
    retried = [group for group in attempts.values() if len(group) == 2]
    assert len(retried) == 15
    assert all(g[0]['status'] == 'failed' and g[1]['status'] == 'success' and g[1]['created_by_retry'] and g[1]['manual'] for g in retried)
    # deterministic: the same seed picks the same runs (IDs and times move with the load time)
    pattern = [len(group) for dummy, group in sorted(attempts.items())]
    again = client.post('/_sim/scenario', json=scenario).json()
    assert [t['name'] for t in again['tasks']] == [t['name'] for t in loaded['tasks']]
    extra = next(t['id'] for t in again['tasks'] if t['name'] == 'extra')
    assert [len(group) for dummy, group in sorted(client.get('/_sim/attempts?task_id=' + extra).json()[extra].items())] == pattern


def test_stats_and_reset(make_sim):
    dummy, client = make_sim(ONE_TASK)
    client.get(TASKS)
    client.get('%s/%s/runs' % (TASKS, TASK_ID))
    client.post(RETRY_PATH)
    stats = client.stats()
    assert stats['requests'] == {'GET /api/v2/tasks': 1, 'GET /api/v2/tasks/:id/runs': 1, 'POST /api/v2/tasks/:id/runs/:rid/retry': 1}
    assert stats['requests_total'] == 3 and stats['retries_started'] == 1 and stats['peak_concurrent_retries'] == 1
    client.post('/_sim/stats/reset')
    stats = client.stats()
    assert stats['requests_total'] == 0 and stats['retries_started'] == 0 and stats['peak_concurrent_retries'] == 0


def test_fault_get_error_and_rate_limit(make_sim):
    dummy, client = make_sim(ONE_TASK)
    client.post('/_sim/faults', json={'get_error_ratio': 1.0, 'get_error_status': 503})
    response = client.get(TASKS)
    assert response.status_code == 503 and response.json()['code'] == 'unavailable'
    assert client.post(RETRY_PATH).status_code == 200                   # only GETs
    client.post('/_sim/faults', json={'rate_limit_ratio': 1.0, 'retry_after': 2, 'routes': ['GET /api/v2/tasks/:id/runs']})
    response = client.get('%s/%s/runs' % (TASKS, TASK_ID))
    assert response.status_code == 429 and response.headers['Retry-After'] == '2'
    assert client.get(TASKS).status_code == 200                         # other routes untouched
    client.post('/_sim/faults', json={})
    assert client.get('%s/%s/runs' % (TASKS, TASK_ID)).status_code == 200
    assert client.stats()['faults_injected'] == {'get_error': 1, 'rate_limit': 1}


def retry_under_fault(client, faults):
    """POST the retry with ``faults`` on: the connection must break; the faults are off again afterwards."""
    client.post('/_sim/faults', json=faults)
    with pytest.raises(requests.exceptions.ConnectionError):
        client.post(RETRY_PATH)
    client.post('/_sim/faults', json={})


def test_fault_reset_changes_nothing(make_sim):
    dummy, client = make_sim(ONE_TASK)
    retry_under_fault(client, {'reset_ratio': 1.0})
    assert len(client.state_runs()) == 1
    assert client.stats()['faults_injected'] == {'reset': 1}


def test_fault_drop_after_processing(make_sim):
    dummy, client = make_sim(ONE_TASK)
    retry_under_fault(client, {'retry_drop_after_ratio': 1.0})
    runs = client.state_runs()
    assert [(r['id'] == FAILED, r['status'], r['manual']) for r in runs] == [(True, 'failed', False), (False, 'success', True)]


def test_fault_latency(make_sim):
    dummy, client = make_sim()
    client.post('/_sim/faults', json={'latency_ms': 300, 'latency_ratio': 1.0})
    started = time.monotonic()
    assert client.get(TASKS).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_cli_prints_its_ready_line_from_any_directory(tmp_path):
    """The stdout ready line stays a contract (docs/simulator.md), and the entry needs no PYTHONPATH or cwd."""
    env = dict(os.environ)
    env.pop('PYTHONPATH', None)
    proc = subprocess.Popen([sys.executable, SIM, '--port', '0'], cwd=str(tmp_path), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline().strip()
        assert re.fullmatch(r'kapacitor-sim: listening on http://127\.0\.0\.1:\d+', line), (line, proc.stderr.read() if proc.poll() is not None else '')
        assert requests.get(line.rsplit(' ', 1)[1] + '/kapacitor/v1/ping', timeout=5).status_code == 204
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def test_subprocess_scenario_and_sigterm(tmp_path):
    scenario_file = tmp_path / 'scenario.json'
    scenario_file.write_text(json.dumps(ONE_TASK))
    sim = SimulatorProcess('--scenario', scenario_file).start()
    try:
        runs = requests.get('%s%s/%s/runs' % (sim.url, TASKS, TASK_ID), timeout=5).json()['runs']
        assert [r['id'] for r in runs] == [FAILED]
    finally:
        assert sim.stop() == 0                      # SIGTERM is a clean exit


def test_subprocess_control_stop():
    with SimulatorProcess() as sim:
        assert requests.post(sim.url + '/_sim/stop', timeout=5).status_code == 200
        assert sim.proc.wait(timeout=5) == 0
