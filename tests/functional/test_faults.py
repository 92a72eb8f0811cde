# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reliability: the retry_failed_runs role (the playbook, as a real ansible-playbook process) under
network faults, a Kapacitor that goes away, a playbook killed with SIGKILL, and two copies at once.

Every effect is read out of band from the simulator's record (/_sim/attempts, /_sim/state, /_sim/stats) and
compared with what the role reported in its JSON report; nothing is taken on the role's word.

The network faults run against Kapacitor and InfluxDB 2 alike. The server that goes away, the kills and the two
copies at once stay on Kapacitor: they are about retries that block until the run ends (a retry in flight is a
request in flight), which is how Kapacitor answers; InfluxDB answers at once.
"""


import os
import time

import pytest

from ansible_collections.tickstack.kapacitor.tests.functional.support import (
    BOTH_FLAVORS,
    PLAYBOOK,
    RETRY_ROUTE,
    BackgroundPlaybook,
    failing_times,
    new_attempts,
    read_json,
    run_playbook,
    start_simulator,
)
from ansible_collections.tickstack.kapacitor.tests.simulator.sim_support import wait_for

# Module logic against the simulator, the same on every ansible-core line: CI runs it on the tool line.
pytestmark = pytest.mark.line_independent

FAULTS = {'seed': 7,
          'get_error_ratio': 0.10, 'get_error_status': 503,   # 10 % of GETs answered 503
          'reset_ratio': 0.05,                                 # 5 % of connections reset before processing
          'rate_limit_ratio': 0.05, 'retry_after': 1,          # 429 with Retry-After (GETs and retry POSTs alike)
          'latency_ms': 300, 'latency_ratio': 0.2,             # 300 ms extra on some requests
          'retry_drop_after_ratio': 0.2}                       # retry processed, then the connection dropped


def failed(minutes):
    return [{'status': 'failed', 'scheduled_for': '-%dm' % m} for m in minutes]


def by_key(report):
    return {(run['task_id'], run['scheduled_for']): run for run in report['runs']}


def role_vars(sim, report_path, **extra):
    values = dict(sim.role_vars, kapacitor_timeout=5, retry_failed_runs_report_path=str(report_path),
                  retry_failed_runs_since='24h')
    values.update(extra)
    return values


@BOTH_FLAVORS
def test_role_under_faults_retries_every_failed_time_exactly_once_and_reports_truthfully(sim, tmp_path):
    sim.load({'tasks': [
        {'name': 'steady', 'run_seconds': 0.05, 'runs': failed(range(1, 21)) + [
            {'status': 'success', 'scheduled_for': '-%dm' % m} for m in range(21, 31)]},
        {'name': 'broken', 'retry_outcomes': ['fail'], 'retry_error': 'influxdb is down', 'runs': failed(range(1, 16))},
        {'name': 'healed', 'runs': [{'status': 'failed', 'scheduled_for': '-50m'},
                                    {'status': 'success', 'scheduled_for': '-50m', 'requested_at': '-45m'}]},
        {'name': 'exhausted', 'runs': [{'status': 'failed', 'scheduled_for': '-60m'},
                                       {'status': 'failed', 'scheduled_for': '-60m', 'requested_at': '-55m'},
                                       {'status': 'failed', 'scheduled_for': '-60m', 'requested_at': '-50m'}]},
    ]})
    before = sim.attempts()
    to_retry = failing_times(before, max_attempts=3)
    assert len(to_retry) == 35
    sim.faults(**FAULTS)
    report_path = tmp_path / 'report.json'
    played = run_playbook(PLAYBOOK, role_vars(sim, report_path, retry_failed_runs_concurrency=8))
    stats = sim.stats()
    sim.faults()

    # The role finished, on the faults it was meant to meet.
    assert played.returncode == 0, played.stdout
    assert 'failed=0' in played.stdout
    for kind in ('get_error', 'reset', 'rate_limit', 'latency', 'retry_drop_after'):
        assert stats['faults_injected'].get(kind, 0) >= 1, (kind, stats['faults_injected'])

    # None lost, none doubled: exactly one new attempt per retryable failed scheduled time, nothing elsewhere.
    created = new_attempts(before, sim.attempts())
    assert set(created) == to_retry
    assert all(len(runs) == 1 for runs in created.values()), created
    # Each retry request the server processed created exactly one run; re-sent requests made none.
    assert sim.state()['runs'] and stats['retries_started'] == len(to_retry)

    # Every outcome reported truthfully, run by run, against the simulator's record.
    report = read_json(report_path)
    reported = by_key(report)
    for key in to_retry:
        entry, new_run = reported[key], created[key][0]
        assert entry['new_run_id'] == new_run['id'], entry
        assert entry['status_after'] == new_run['status'], entry
        assert entry['outcome'] == {'success': 'retried', 'failed': 'retried_failed'}[new_run['status']], entry
    exhausted = [entry for key, entry in reported.items() if key not in to_retry]
    assert [entry['outcome'] for entry in exhausted] == ['max_attempts_reached']
    assert exhausted[0]['new_run_id'] is None
    assert any('influxdb is down' in line for entry in report['runs'] if entry['outcome'] == 'retried_failed'
               for line in entry['log'] + [entry['msg']])
    figures = report['figures']
    successes = sum(1 for runs in created.values() if runs[0]['status'] == 'success')
    assert figures['retried'] == successes == 20
    assert figures['retried_failed'] == len(to_retry) - successes == 15
    assert figures['given_up'] == 1 and figures['errors'] == 0 and figures['failed_found'] == 36
    assert figures['remaining'] == 16 and report['error'] == ''


def mirror(state, interrupted_at, run_seconds):
    """A scenario that rebuilds a stopped simulator's record on the restarted one.

    A restarted simulator, like a restarted Kapacitor, must still know its tasks and completed runs (Kapacitor
    keeps them in InfluxDB and its kv store). Runs that were executing when the server died never finished:
    they come back failed, as Kapacitor records an interrupted run ("context canceled"). That is the honest
    and the demanding choice: an interrupted attempt counts towards max_attempts, so the rerun must decide
    from it, not ignore it.
    """
    tasks = []
    for task in state['tasks']:
        runs = []
        for run in state['runs']:
            if run['task_id'] != task['id']:
                continue
            keys = ('id', 'status', 'scheduled_for', 'started_at', 'finished_at', 'requested_at')
            spec = {key: run[key] for key in keys if run.get(key)}
            if run['status'] in ('scheduled', 'started'):
                spec.update(status='failed', finished_at=interrupted_at,
                            log=[{'time': interrupted_at, 'message': 'Completed(failed)'},
                                 {'time': interrupted_at, 'message': 'context canceled'}])
                spec.setdefault('started_at', run.get('requested_at'))
            runs.append(spec)
        tasks.append({'id': task['id'], 'name': task['name'], 'status': task['status'], 'flux': task['flux'],
                      'run_seconds': run_seconds, 'runs': runs})
    return {'tasks': tasks}


def test_kapacitor_going_away_mid_play_fails_clearly_in_time_and_a_rerun_completes_without_duplicates(tmp_path):
    # Design: 'fast' retries finish at once, 'slow' ones run for a minute, so when the server is stopped the
    # fast ones are done and the slow ones are in flight. The stopped server's record is read just before it
    # goes (/_sim/state, taken while nothing can change but the in-flight runs) and rebuilt on the restarted
    # one (see mirror); the rerun is then judged against that record.
    sim = start_simulator()
    try:
        created = sim.load({'tasks': [{'name': 'fast', 'runs': failed((1, 2, 3))},
                                      {'name': 'slow', 'run_seconds': 60, 'runs': failed((4, 5, 6))}]})
        ids = {task['name']: task['id'] for task in created['tasks']}
        original = sim.attempts()
        report_path = tmp_path / 'first.json'
        play = BackgroundPlaybook(PLAYBOOK, role_vars(sim, report_path, retry_failed_runs_concurrency=6,
                                                      retry_failed_runs_retry_timeout=300))

        def fast_done_and_slow_in_flight():
            attempts = sim.attempts()
            fast = list(attempts[ids['fast']].values())
            return (all(len(runs) == 2 and runs[1]['status'] == 'success' for runs in fast)
                    and sim.stats()['retries_in_flight'] == 3)
        wait_for(fast_done_and_slow_in_flight, timeout=60, what='the fast retries to finish and the slow ones to start')
        snapshot = sim.state()
        stopped_at = time.monotonic()
        sim.process.stop()
        returncode, output = play.wait(timeout=60)
        ended_in = time.monotonic() - stopped_at

        # A clear failure of this host, well within the configured timeouts (kapacitor_timeout 5 s), not the
        # 300 s retry_timeout the in-flight requests were allowed.
        assert returncode != 0, output
        assert ended_in < 20, (ended_in, output)
        assert 'localhost' in output and 'failed=1' in output
        assert 'Kapacitor at %s became unreachable during the call' % sim.url in output
        assert 'Traceback' not in output
        report = read_json(report_path)
        assert report['error'] and report['figures']['errors'] >= 1
        outcomes = {(run['task_id'], run['scheduled_for']): run for run in report['runs']}
        interrupted_keys = {k for k in outcomes if k[0] == ids['slow']}
        done_keys = {k for k in outcomes if k[0] == ids['fast']}
        assert len(interrupted_keys) == 3 and len(done_keys) == 3
        assert all(outcomes[k]['outcome'] == 'error' and outcomes[k]['new_run_id'] is None for k in interrupted_keys)
        before_stop = new_attempts(original, sim_attempts_of(snapshot))
        for key in done_keys:     # reported truthfully: the retries that did complete are reported as such
            assert outcomes[key]['outcome'] == 'retried'
            assert outcomes[key]['new_run_id'] == before_stop[key][0]['id']

        # It comes back, with its record.
        sim.process.start()
        sim.load(mirror(snapshot, time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()), run_seconds=0.1))
        restored = sim.attempts()
        assert failing_times(restored) == interrupted_keys
        rerun_report = tmp_path / 'rerun.json'
        rerun = run_playbook(PLAYBOOK, role_vars(sim, rerun_report, retry_failed_runs_concurrency=6))
        assert rerun.returncode == 0, rerun.stdout
        created_by_rerun = new_attempts(restored, sim.attempts())
        # No duplicates: the completed retries are not repeated, each interrupted one is retried exactly once.
        assert set(created_by_rerun) == interrupted_keys
        assert all(len(runs) == 1 and runs[0]['status'] == 'success' for runs in created_by_rerun.values())
        final = sim.attempts()
        for task_id, times in original.items():
            for scheduled_for in times:
                assert final[task_id][scheduled_for][-1]['status'] == 'success'
        figures = read_json(rerun_report)['figures']
        assert figures['retried'] == 3 and figures['errors'] == 0 and figures['remaining'] == 0
    finally:
        sim.process.stop()


def sim_attempts_of(state):
    """/_sim/attempts computed from a /_sim/state snapshot (the stopped server cannot be asked any more)."""
    out = {}
    for run in sorted(state['runs'], key=lambda r: r['id']):
        out.setdefault(run['task_id'], {}).setdefault(run['scheduled_for'], []).append(
            {'id': run['id'], 'status': run['status']})
    return out


def slow_and_fast(sim):
    created = sim.load({'tasks': [{'name': 'fast', 'runs': failed((1, 2, 3))},
                                  {'name': 'slow', 'run_seconds': 4, 'runs': failed((4, 5, 6))}]})
    return {task['name']: task['id'] for task in created['tasks']}


def start_and_wait_for_slow_in_flight(sim, ids, report_path):
    play = BackgroundPlaybook(PLAYBOOK, role_vars(sim, report_path, retry_failed_runs_concurrency=6))

    def fast_done_and_slow_in_flight():
        fast = list(sim.attempts()[ids['fast']].values())
        return (all(len(runs) == 2 and runs[1]['status'] == 'success' for runs in fast)
                and sim.stats()['retries_in_flight'] == 3)
    wait_for(fast_done_and_slow_in_flight, timeout=60, what='the fast retries to finish and the slow ones to start')
    return play


def test_sigkill_of_ansible_playbook_mid_retry_then_rerun_adds_no_attempt(sim, tmp_path):
    """``kill -9`` of ansible-playbook while retries are in flight, and an immediate rerun.

    Ansible's worker (setsid) and the module it runs outlive the killed ansible-playbook, so the in-flight
    retries finish. The rerun decides from the server's record, where those attempts are running or done:
    it creates nothing, and every failed scheduled time ends with exactly one new attempt.
    """
    ids = slow_and_fast(sim)
    original = sim.attempts()
    play = start_and_wait_for_slow_in_flight(sim, ids, tmp_path / 'killed.json')
    play.kill()
    rerun = run_playbook(PLAYBOOK, role_vars(sim, tmp_path / 'rerun.json'))
    assert rerun.returncode == 0, rerun.stdout
    wait_for(lambda: sim.stats()['retries_in_flight'] == 0, timeout=30, what='the orphaned retries to finish')
    made = new_attempts(original, sim.attempts())
    assert set(made) == failing_times(original)
    assert all(len(runs) == 1 and runs[0]['status'] == 'success' for runs in made.values()), made
    assert sim.requests_to(RETRY_ROUTE) == 6
    # The rerun saw no failed latest attempt: the in-flight ones were running (or had succeeded) by then.
    assert read_json(str(tmp_path / 'rerun.json'))['figures']['failed_found'] == 0


def test_controller_crash_mid_retry_then_reruns(sim, tmp_path):
    """SIGKILL of ansible-playbook and every process it started (a crashed controller) while retries are in
    flight, then reruns.

    What the collection guarantees, and what is asserted: the retry decision is made from the server's record
    of attempts, so it survives any crash of the client. An attempt in flight when the client died is cancelled
    and recorded failed by Kapacitor ("context canceled"); it counts as an attempt. Hence
      * a retry that completed before the crash is never repeated;
      * with max_attempts 2 (the original plus one retry), the rerun creates nothing: every failed scheduled
        time has exactly one new attempt, the interrupted ones included, and the rerun reports those as given
        up (max_attempts reached), not silently;
      * with the default max_attempts 3, the rerun retries each interrupted (failed) attempt exactly once more
        and completes the job; no scheduled time ever exceeds max_attempts attempts.
    Exactly one new attempt per failed scheduled time *and* a finished job cannot both hold when the crash
    cancelled the attempt: that scheduled time needs a second attempt to succeed (found by the reliability review).
    """
    ids = slow_and_fast(sim)
    original = sim.attempts()
    play = start_and_wait_for_slow_in_flight(sim, ids, tmp_path / 'killed.json')
    play.kill(everything=True)
    wait_for(lambda: sim.stats()['retries_in_flight'] == 0, timeout=10, what='the in-flight retries to be cancelled')
    assert sim.stats()['disconnect_cancellations'] == 3
    assert not os.path.exists(str(tmp_path / 'killed.json'))

    after_kill = sim.attempts()
    first = new_attempts(original, after_kill)
    assert len(first) == 6 and all(len(runs) == 1 for runs in first.values())
    assert sorted(runs[0]['status'] for runs in first.values()) == ['failed'] * 3 + ['success'] * 3
    interrupted = {key for key, runs in first.items() if runs[0]['status'] == 'failed'}
    assert {key[0] for key in interrupted} == {ids['slow']}

    # Rerun with max_attempts 2: exactly one new attempt per failed scheduled time holds literally.
    posts = sim.requests_to(RETRY_ROUTE)
    strict = run_playbook(PLAYBOOK, role_vars(sim, tmp_path / 'strict.json', retry_failed_runs_max_attempts=2))
    assert strict.returncode == 0, strict.stdout
    assert sim.attempts() == after_kill and sim.requests_to(RETRY_ROUTE) == posts
    report = read_json(str(tmp_path / 'strict.json'))
    assert sorted(((run['task_id'], run['scheduled_for']), run['outcome']) for run in report['runs']) == \
        sorted((key, 'max_attempts_reached') for key in interrupted)
    assert report['figures']['given_up'] == 3 and report['figures']['remaining'] == 3

    # Rerun with the default max_attempts 3: the interrupted attempts are retried exactly once more.
    finish = run_playbook(PLAYBOOK, role_vars(sim, tmp_path / 'finish.json'))
    assert finish.returncode == 0, finish.stdout
    second = new_attempts(after_kill, sim.attempts())
    assert set(second) == interrupted
    assert all(len(runs) == 1 and runs[0]['status'] == 'success' for runs in second.values())
    report = read_json(str(tmp_path / 'finish.json'))
    assert len(report['runs']) == 3
    for entry in report['runs']:
        assert entry['outcome'] == 'retried'
        assert entry['new_run_id'] == second[(entry['task_id'], entry['scheduled_for'])][0]['id']
    for times in sim.attempts().values():
        for runs in times.values():
            assert len(runs) <= 3 and runs[-1]['status'] == 'success'


def test_two_copies_at_once_never_double_a_scheduled_time(sim, tmp_path):
    # Kapacitor keeps a manual run (a retry) queued before it starts; a second retry of the same scheduled time
    # in that time gets 422 "run already queued". queue_seconds models that queue.
    created = sim.load({'tasks': [{'name': 'queued', 'queue_seconds': 3.0, 'run_seconds': 0.2, 'runs': failed(range(1, 7))},
                                  {'name': 'other', 'queue_seconds': 3.0, 'runs': failed(range(1, 4))}]})
    assert len(created['tasks']) == 2
    before = sim.attempts()
    to_retry = failing_times(before)
    reports = [tmp_path / 'one.json', tmp_path / 'two.json']
    plays = [BackgroundPlaybook(PLAYBOOK, role_vars(sim, path, retry_failed_runs_concurrency=10)) for path in reports]
    for play in plays:
        returncode, output = play.wait(timeout=120)
        assert returncode == 0, output

    made = new_attempts(before, sim.attempts())
    assert set(made) == to_retry
    assert all(len(runs) == 1 and runs[0]['status'] == 'success' for runs in made.values()), made
    outcomes = {key: [] for key in to_retry}
    for path in reports:
        for entry in read_json(str(path))['runs']:
            outcomes[(entry['task_id'], entry['scheduled_for'])].append(entry)
    collisions = 0
    for key, entries in outcomes.items():
        kinds = sorted(entry['outcome'] for entry in entries)
        # One copy created the attempt; the other collided (and said so), saw the new attempt before sending (after
        # waiting for the lock, or just before its request: superseded), or never saw the time as failed.
        assert kinds in (['retried'], ['already_queued', 'retried'], ['retried', 'superseded']), (key, entries)
        winner = [entry for entry in entries if entry['outcome'] == 'retried'][0]
        assert winner['new_run_id'] == made[key][0]['id']
        collisions += kinds.count('already_queued')
        assert all(entry['new_run_id'] is None for entry in entries if entry['outcome'] == 'already_queued')
    # Every retry request either created the one attempt or was answered 422 and reported as already_queued.
    assert sim.requests_to(RETRY_ROUTE) == len(to_retry) + collisions
