# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""kapacitor_task_run_retry's retry policy for real outages: ``min_age`` (deferred) and ``skip_errors`` (skipped).
Every effect is read from the simulator's record (``/_sim/``), never from the module's report alone; against
Kapacitor and InfluxDB 2."""

import re

import pytest

from ansible_collections.tickstack.kapacitor.tests.functional.support import BOTH_FLAVORS, FLAVORS, RETRY_ROUTE, new_attempts, run_module, start_simulator

# Module logic against the simulator, the same on every ansible-core line: CI runs it on the tool line.
pytestmark = [pytest.mark.line_independent, BOTH_FLAVORS]

LIST_ROUTE = 'GET /api/v2/tasks/:id/runs'
OUTAGE = 'runtime error @4:6-4:40: to: failed to write data: Post "http://influxdb:8086/api/v2/write": connection refused'
PARSE = 'could not parse Flux script: error @3:1-3:4: invalid expression'


def module(sim, name, check_mode=False, **args):
    return run_module(name, dict(sim.connection, **args), check_mode=check_mode)


def found(sim, **args):
    """What the role does first: the scheduled times whose latest attempt failed."""
    result = module(sim, 'kapacitor_task_runs_info', status=['failed'], latest_attempt_only=True, **args)
    assert result.rc == 0, result
    return result['runs']


def load_outage(sim):
    """One task every 15 minutes, in a 45-minute InfluxDB outage: three failed scheduled times, the oldest already
    retried once (20 minutes ago), the newest failed 2 minutes ago."""
    created = sim.load({'tasks': [{'name': 'cpu_rollup', 'every': '15m', 'runs': [
        {'status': 'failed', 'scheduled_for': '-45m', 'finished_at': '-44m', 'error': OUTAGE},
        {'status': 'failed', 'scheduled_for': '-45m', 'requested_at': '-20m', 'started_at': '-20m',
         'finished_at': '-20m', 'error': OUTAGE},
        {'status': 'failed', 'scheduled_for': '-30m', 'finished_at': '-29m', 'error': OUTAGE},
        {'status': 'failed', 'scheduled_for': '-15m', 'finished_at': '-2m', 'error': OUTAGE}]}]})
    return created['tasks'][0]['id']


@pytest.mark.parametrize('min_age', ['25m', 1500, '1500'])
def test_min_age_defers_the_scheduled_times_whose_latest_failure_is_younger_and_sends_nothing_for_them(sim, min_age):
    task_id = load_outage(sim)
    runs = found(sim)
    before = sim.attempts()
    result = module(sim, 'kapacitor_task_run_retry', runs=runs, refresh=False, min_age=min_age)
    assert result.rc == 0, result
    # Out of band: only the scheduled time whose latest attempt is 29 minutes old (the middle one) got a new attempt.
    middle = sorted(before[task_id])[1]
    assert list(new_attempts(before, sim.attempts())) == [(task_id, middle)] and sim.requests_to(RETRY_ROUTE) == 1
    outcomes = {entry['scheduled_for']: entry['outcome'] for entry in result['results']}
    assert sorted(outcomes.values()) == ['deferred', 'deferred', 'retried']
    assert result['summary']['deferred'] == 2 and result['changed'] is True
    deferred = [entry for entry in result['results'] if entry['outcome'] == 'deferred']
    assert all(entry['task_name'] == 'cpu_rollup' and 'less than min_age (25m)' in entry['msg'] for entry in deferred)


@pytest.mark.parametrize('flavor', FLAVORS)
@pytest.mark.parametrize('server_type', ['auto', 'given'])
def test_min_age_is_measured_by_the_servers_clock_when_it_is_behind(flavor, server_type):
    # The server's clock is 30 minutes behind this host's: by this host's clock even the failure of 2 minutes ago
    # would look 32 minutes old, past min_age, and every scheduled time would be retried at once. With server_type
    # given and refresh false, nothing is asked before the decisions but the server's clock.
    sim = start_simulator('--clock-offset', '-1800', flavor=flavor)
    try:
        task_id = load_outage(sim)
        before = sim.attempts()
        result = module(sim, 'kapacitor_task_run_retry', runs=found(sim), refresh=False, min_age='25m',
                        server_type=flavor if server_type == 'given' else 'auto')
        assert result.rc == 0, result
        middle = sorted(before[task_id])[1]
        assert list(new_attempts(before, sim.attempts())) == [(task_id, middle)] and sim.requests_to(RETRY_ROUTE) == 1
        assert sorted(entry['outcome'] for entry in result['results']) == ['deferred', 'deferred', 'retried']
        # Date has whole seconds, and the module takes its time: the age read may be a few seconds more.
        assert any(re.search(r'failed 2m(\d+s)? ago, less than min_age \(25m\)', entry['msg'])
                   for entry in result['results']), result
    finally:
        sim.process.stop()


def test_without_min_age_the_same_outage_burns_the_attempts_at_once(sim):
    load_outage(sim)
    before = sim.attempts()
    result = module(sim, 'kapacitor_task_run_retry', runs=found(sim), refresh=False, max_attempts=2)
    assert result.rc == 0, result
    assert len(new_attempts(before, sim.attempts())) == 2  # the 45-minute-old time has used both of its attempts
    assert sorted(entry['outcome'] for entry in result['results']) == ['max_attempts_reached', 'retried', 'retried']


def test_min_age_with_runs_that_lack_finished_at_lists_them_instead_of_guessing(sim):
    load_outage(sim)
    runs = found(sim, fields=['id', 'task_id', 'status', 'scheduled_for', 'attempt', 'attempts'])
    sim.reset_stats()
    before = sim.attempts()
    result = module(sim, 'kapacitor_task_run_retry', runs=runs, refresh=False, min_age='25m')
    assert result.rc == 0, result
    assert sim.stats()['requests'][LIST_ROUTE] >= 1  # looked up
    assert len(new_attempts(before, sim.attempts())) == 1
    assert result['summary']['deferred'] == 2


def test_skip_errors_leaves_errors_no_retry_can_fix_and_retries_the_rest(sim):
    created = sim.load({'tasks': [
        {'name': 'broken_flux', 'runs': [{'status': 'failed', 'scheduled_for': '-40m', 'error': PARSE},
                                         {'status': 'failed', 'scheduled_for': '-25m', 'error': 'error @2:1-2:5: '
                                          'undefined identifier fromm'}]},
        {'name': 'cpu_rollup', 'runs': [{'status': 'failed', 'scheduled_for': '-40m', 'error': OUTAGE}]}]})
    outage_task = created['tasks'][1]['id']
    runs = found(sim)
    before = sim.attempts()
    patterns = ['could not parse Flux script', 'undefined identifier']
    result = module(sim, 'kapacitor_task_run_retry', runs=runs, refresh=False, skip_errors=patterns)
    assert result.rc == 0, result
    # Out of band: one retry request, for the outage only.
    made = new_attempts(before, sim.attempts())
    assert [task for task, dummy in made] == [outage_task] and sim.requests_to(RETRY_ROUTE) == 1
    skipped = sorted((entry for entry in result['results'] if entry['outcome'] == 'skipped'), key=lambda e: e['msg'])
    assert [entry['task_name'] for entry in skipped] == ['broken_flux', 'broken_flux']
    assert "pattern 'could not parse Flux script'" in skipped[0]['msg'] and 'invalid expression' in skipped[0]['msg']
    assert "pattern 'undefined identifier'" in skipped[1]['msg'] and 'fromm' in skipped[1]['msg']
    assert result['summary']['skipped'] == 2 and result['summary']['retried'] == 1


def test_skip_errors_in_check_mode_and_from_a_fresh_listing(sim):
    sim.load({'tasks': [{'name': 'broken_flux', 'runs': [{'status': 'failed', 'scheduled_for': '-40m', 'error': PARSE}]},
                        {'name': 'cpu_rollup', 'runs': [{'status': 'failed', 'scheduled_for': '-40m', 'error': OUTAGE}]}]})
    # Entries without error: the module lists the tasks (refresh defaults to true) and reads the error there.
    runs = found(sim, fields=['id', 'task_id', 'task_name'])
    state = sim.state()
    result = module(sim, 'kapacitor_task_run_retry', check_mode=True, runs=runs, skip_errors=['could not parse'])
    assert result.rc == 0, result
    assert sorted(entry['outcome'] for entry in result['results']) == ['skipped', 'would_retry']
    assert sim.state() == state and sim.requests_to(RETRY_ROUTE) == 0


@pytest.mark.parametrize('args, expected', [
    (dict(skip_errors=['could not parse', 'error (calling']),
     "skip_errors[1] 'error (calling' is not a valid Python regular expression: missing ), unterminated subpattern"),
    (dict(min_age='ten minutes'), "min_age 'ten minutes' is not a duration: expected a number of seconds (such as 600)"),
    (dict(min_age=-5), 'min_age -5 is negative: expected a duration of 0 or more'),
])
@pytest.mark.flavors('kapacitor')  # argument checks, before the server type matters
def test_bad_policy_options_fail_before_anything_is_sent(sim, args, expected):
    created = sim.load({'tasks': [{'name': 'cpu', 'runs': [{'status': 'failed', 'scheduled_for': '-40m'}]}]})
    task_id = created['tasks'][0]['id']
    run_id = list(sim.attempts(task_id)[task_id].values())[0][0]['id']
    sim.reset_stats()
    result = module(sim, 'kapacitor_task_run_retry', task_id=task_id, run_id=run_id, **args)
    assert result.rc != 0 and expected in result['msg'], result
    assert not any(count for count in sim.stats()['requests'].values())
