"""The launcher: --ready-file/--pid-file and SimulatorProcess (start, stop, restart on the same port, errors)."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest
import requests
from process import SIMULATOR, SimulatorProcess
from sim_support import TASKS, wait_for

SCENARIO = {'tasks': [{'id': '0a1b2c3d4e5f6789', 'name': 'cpu', 'runs': [{'status': 'failed', 'scheduled_for': '-2h'}]}]}


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_ready_and_pid_files_are_written_and_removed(tmp_path):
    ready, pid_file = tmp_path / 'url', tmp_path / 'pid'
    proc = subprocess.Popen([sys.executable, SIMULATOR, '--port', '0', '--ready-file', str(ready), '--pid-file', str(pid_file)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = proc.stdout.readline().strip()
        # Both files exist before the ready line is printed; the URL has no newline.
        assert ready.read_text() == line.rsplit(' ', 1)[1]
        assert pid_file.read_text() == str(proc.pid)
        assert requests.get(ready.read_text() + '/kapacitor/v1/ping', timeout=5).status_code == 204
        assert sorted(os.listdir(str(tmp_path))) == ['pid', 'url']        # no temporary file left behind
        proc.terminate()
        assert proc.wait(timeout=5) == 0
        assert not ready.exists() and not pid_file.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def test_simulator_process_lifecycle(tmp_path):
    scenario = tmp_path / 'scenario.json'
    scenario.write_text(json.dumps(SCENARIO))
    sim = SimulatorProcess('--scenario', scenario)
    with sim:
        assert sim.url == 'http://127.0.0.1:%d' % sim.port and sim.port > 0
        assert alive(sim.pid)
        with open(sim.pid_file) as handle:
            assert int(handle.read()) == sim.pid
        task_runs = '%s%s/0a1b2c3d4e5f6789/runs' % (sim.url, TASKS)
        requests.post(sim.url + '/_sim/scenario', json={}, timeout=5).raise_for_status()
        assert requests.get(task_runs, timeout=5).json()['runs'] == []
        first_pid, port = sim.pid, sim.port
        sim.restart()
        # Same port, a new process, the state of the scenario file again (what the control API changed is lost).
        assert sim.port == port and sim.pid != first_pid and not alive(first_pid)
        assert [run['status'] for run in requests.get(task_runs, timeout=5).json()['runs']] == ['failed']
        pid = sim.pid
    wait_for(lambda: not alive(pid))
    assert sim.proc.returncode == 0
    assert not os.path.exists(sim.workdir)          # its temporary directory is gone


def test_start_failure_names_the_cause(tmp_path):
    sim = SimulatorProcess('--scenario', tmp_path / 'missing.json')
    with pytest.raises(RuntimeError, match=r'exited with 1 before it was ready:(.|\n)*missing\.json'):
        sim.start()
    sim.stop()


def test_importable_by_file_path():
    spec = importlib.util.spec_from_file_location('any_name', SIMULATOR.replace('kapacitor_sim.py', 'process.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with module.SimulatorProcess(workdir=None) as sim:
        assert requests.get(sim.url + '/kapacitor/v1/ping', timeout=5).status_code == 204
