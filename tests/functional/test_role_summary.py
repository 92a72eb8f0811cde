# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The retry_failed_runs role's settings and summary, through real ansible-playbook runs.

The window variables as YAML gives them (unquoted timestamps, null), bad settings refused before any request,
the summary's task names and URL, and the set_stats figures summed over hosts. What was retried is read from
the simulator's record (/_sim/attempts, /_sim/state, /_sim/stats), never taken from the role's word. A retry that
outlives retry_timeout runs against InfluxDB 2 too, where the run goes on (test_role_influxdb2.py has the mixed
inventory's figures); the rest is the role's own logic and runs against Kapacitor.
"""

import datetime
import re

import pytest

from ansible_collections.tickstack.kapacitor.tests.functional.support import (
    BOTH_FLAVORS,
    PLAYBOOK,
    custom_stats,
    failed_runs,
    failing_times,
    new_attempts,
    read_json,
    run_playbook,
    start_simulator,
)
from ansible_collections.tickstack.kapacitor.tests.simulator.sim_support import wait_for


def utc(hours_ago):
    """An RFC3339 time that many hours ago, whole seconds, as YAML reads it unquoted (a datetime)."""
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0, tzinfo=None)
    return (now - datetime.timedelta(hours=hours_ago)).isoformat() + 'Z'


def role_play(tmp_path, play_vars):
    """A playbook whose play vars are written as YAML text, so that YAML (not JSON) types them."""
    path = tmp_path / 'play.yml'
    lines = ['- name: The role with YAML-typed variables', '  hosts: localhost', '  gather_facts: false', '  vars:']
    lines += ['    %s: %s' % item for item in sorted(play_vars.items())]
    lines += ['  roles:', '    - role: tickstack.kapacitor.retry_failed_runs', '']
    path.write_text('\n'.join(lines))
    return str(path)


def created_times(sim, before):
    return sorted(scheduled_for for _task, scheduled_for in new_attempts(before, sim.attempts()))


def test_unquoted_yaml_timestamps_and_null_bound_the_window(sim, tmp_path):
    sim.load({'tasks': [{'name': 'rollup', 'runs': failed_runs('-3h', '-90m', '-30m')}]})
    before = sim.attempts()
    times = sorted(scheduled_for for _task, scheduled_for in failing_times(before))
    report = tmp_path / 'report.json'
    # after_time and before_time unquoted (datetimes), since null: only the run of -90m is inside.
    after_time = utc(2)
    played = run_playbook(role_play(tmp_path, {
        'kapacitor_url': sim.url, 'retry_failed_runs_since': 'null', 'retry_failed_runs_after_time': after_time,
        'retry_failed_runs_before_time': utc(1), 'retry_failed_runs_report_path': str(report)}))
    assert played.returncode == 0, played.stdout
    assert created_times(sim, before) == [times[1]]
    assert read_json(str(report))['window']['after_time'] == after_time

    # after_time null: since (a string) bounds the window; the run of -30m is retried, nothing else.
    before = sim.attempts()
    played = run_playbook(role_play(tmp_path, {
        'kapacitor_url': sim.url, 'retry_failed_runs_since': '45m', 'retry_failed_runs_after_time': 'null',
        'retry_failed_runs_before_time': '~'}))
    assert played.returncode == 0, played.stdout
    assert created_times(sim, before) == [times[2]]


@pytest.mark.parametrize('play_vars, message', [
    ({'retry_failed_runs_concurrency': 0},
     'retry_failed_runs_concurrency must be a whole number from 1 to 100 (Kapacitor runs at most 100 task runs at '
     'once), got 0'),
    ({'retry_failed_runs_max_attempts': 0}, 'retry_failed_runs_max_attempts must be a whole number, 1 or more, got 0'),
    ({'retry_failed_runs_task_name': 'rollup'},
     'unknown role variable(s) retry_failed_runs_task_name (did you mean retry_failed_runs_task_names?)'),
    ({'retry_failed_runs_batch_rounds': -1},
     "retry_failed_runs_batch_rounds must be a whole number, 0 (sized from the runs' durations) or more, got -1"),
    ({'retry_failed_runs_since': "''", 'retry_failed_runs_after_time': 'null'},
     'a window is needed: set retry_failed_runs_since'),
    ({'retry_failed_runs_since': 'abc'}, "retry_failed_runs_since 'abc' is neither an RFC3339 time"),
    ({'retry_failed_runs_min_age': '5x'}, "retry_failed_runs_min_age '5x' is not a duration"),
    ({'retry_failed_runs_skip_errors': '["("]'}, "retry_failed_runs_skip_errors[0] '(' is not a valid Python regular"),
])
def test_bad_settings_fail_with_their_name_before_any_request(sim, tmp_path, play_vars, message):
    sim.load({'tasks': [{'name': 'rollup', 'runs': failed_runs('-30m')}]})
    sim.reset_stats()
    play_vars = dict(play_vars, kapacitor_url=sim.url)
    played = run_playbook(role_play(tmp_path, play_vars))
    assert played.returncode != 0
    assert message in played.stdout
    assert 'Traceback' not in played.stdout
    assert not sim.stats()['requests']


def test_the_summary_names_each_run_by_its_own_task_and_never_shows_the_password(sim, tmp_path):
    sim.load({'tasks': [
        {'name': 'alpha', 'retry_outcomes': ['fail'], 'retry_error': 'alpha is broken', 'runs': failed_runs('-3h', '-2h')},
        {'name': 'beta', 'retry_outcomes': ['fail'], 'retry_error': 'beta is broken', 'runs': failed_runs('-90m')},
        {'name': 'gamma', 'runs': failed_runs('-80m', '-70m')},
    ]})
    before = sim.attempts()
    report = tmp_path / 'report.json'
    url = sim.url.replace('://', '://ops:Pw%2FSec%23ret@')
    played = run_playbook(PLAYBOOK, {'kapacitor_url': url, 'retry_failed_runs_report_path': str(report)})
    assert played.returncode == 0, played.stdout
    names = {task['id']: task['name'] for task in sim.state()['tasks']}
    task_of_run = {run['id']: task_id for task_id, times in sim.attempts().items()
                   for runs in times.values() for run in runs}

    # Every run the summary lists is named after the task the simulator ran it for.
    listed = re.findall(r'"retried_failed (\w+) \S+ run ([0-9a-f]{16}) ', played.stdout)
    assert sorted(name for name, _run in listed) == ['alpha', 'alpha', 'beta']
    assert all(names[task_of_run[run_id]] == name for name, run_id in listed), listed
    runs = read_json(str(report))['runs']
    assert len(runs) == 5 and all(names[task_of_run[run['run_id']]] == run['task_name'] for run in runs)
    assert len(new_attempts(before, sim.attempts())) == 5

    # The URL is shown without its credentials, in the lines and the report.
    assert '(%s)' % sim.url in played.stdout and read_json(str(report))['url'] == sim.url
    for secret in ('Pw%2FSec%23ret', 'Pw/Sec#ret', 'ops:Pw'):
        assert secret not in played.stdout and secret not in report.read_text(), secret


def test_the_figures_of_several_hosts_are_summed_as_numbers(sim, tmp_path):
    other = start_simulator()
    try:
        sims = {'kap1': sim, 'kap2': other}
        sim.load({'tasks': [{'name': 'rollup', 'runs': failed_runs('-3h', '-2h', '-1h')}]})
        other.load({'tasks': [{'name': 'rollup', 'retry_outcomes': ['fail'], 'runs': failed_runs('-2h', '-1h')}]})
        before = {host: control.attempts() for host, control in sims.items()}
        inventory = tmp_path / 'inventory.yml'
        inventory.write_text('kapacitor:\n  hosts:\n' + ''.join(
            '    %s:\n      kapacitor_url: "%s"\n' % (host, control.url) for host, control in sorted(sims.items())))
        played = run_playbook(PLAYBOOK, {}, inventory=str(inventory), env={'ANSIBLE_SHOW_CUSTOM_STATS': 'true'})
        assert played.returncode == 0, played.stdout
        created = [run for host, control in sims.items()
                   for runs in new_attempts(before[host], control.attempts()).values() for run in runs]
        stats = custom_stats(played.stdout)
        assert stats['kapacitor_retry_hosts'] == 2 and stats['kapacitor_retry_hosts_failed'] == 0
        assert stats['kapacitor_retry_failed_found'] == 5
        assert stats['kapacitor_retry_retried'] == sum(1 for run in created if run['status'] == 'success') == 3
        assert stats['kapacitor_retry_retried_failed'] == sum(1 for run in created if run['status'] == 'failed') == 2
        assert stats['kapacitor_retry_remaining'] == 2 and stats['kapacitor_retry_timed_out'] == 0
    finally:
        other.process.stop()


@BOTH_FLAVORS
def test_a_retry_that_outlives_retry_timeout_is_reported_as_timed_out_and_still_failing(sim, tmp_path):
    sim.load({'tasks': [{'name': 'slow', 'run_seconds': 8, 'runs': failed_runs('-30m')},
                        {'name': 'quick', 'runs': failed_runs('-20m')}]})
    before = sim.attempts()
    report = tmp_path / 'report.json'
    played = run_playbook(PLAYBOOK, dict(sim.role_vars, retry_failed_runs_retry_timeout=2,
                                         retry_failed_runs_report_path=str(report)),
                          env={'ANSIBLE_SHOW_CUSTOM_STATS': 'true'})
    names = {task['id']: task['name'] for task in sim.state()['tasks']}
    created = new_attempts(before, sim.attempts())
    # Out of band: one new attempt each. Kapacitor canceled the slow one when the client gave up; InfluxDB goes on
    # with it to its end.
    assert sorted(names[task_id] for task_id, _time in created) == ['quick', 'slow']
    assert all(len(runs) == 1 for runs in created.values())
    slow = [runs[0] for (task_id, _time), runs in created.items() if names[task_id] == 'slow'][0]
    if sim.flavor == 'kapacitor':
        assert slow['status'] != 'success'
        fate = 'Kapacitor canceled the new run'
    else:
        wait_for(lambda: [run for run in sim.state()['runs'] if run['id'] == slow['id']][0]['status'] == 'success',
                 timeout=30, what='the timed-out run to finish on InfluxDB')
        fate = 'InfluxDB goes on with the new run'

    assert played.returncode == 0, played.stdout
    assert 'timed out (retry_timeout reached; %s): 1' % fate in played.stdout
    assert re.search(r'"timed_out slow \S+ run [0-9a-f]{16} ', played.stdout), played.stdout
    figures = read_json(str(report))['figures']
    assert figures['timed_out'] == 1 and figures['retried'] == 1 and figures['remaining'] == 1
    assert custom_stats(played.stdout)['kapacitor_retry_timed_out'] == 1
