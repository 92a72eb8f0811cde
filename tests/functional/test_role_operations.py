# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What an on-call engineer sees and relies on, through real ansible-playbook runs of the role and its playbook.

Progress in batches, the table over every host, check mode with its dry-run report, the playbook's targeting,
time values as Flux users type them, and task names absent on some servers. What was retried is read from the
simulator's record (/_sim/attempts, /_sim/stats), never taken from the role's word. The batches and check mode run
against InfluxDB 2 too (test_role_influxdb2.py has the mixed inventory); the rest is the role's own logic, the same
whatever the server, and runs against Kapacitor.
"""

import datetime
import re

from ansible_collections.tickstack.kapacitor.tests.functional.support import (
    BOTH_FLAVORS,
    PLAYBOOK,
    RETRY_ROUTE,
    failed_runs,
    failing_times,
    new_attempts,
    read_json,
    run_playbook,
    start_simulator,
)


def inventory_of(tmp_path, sims, group='kapacitor'):
    path = tmp_path / 'inventory.yml'
    path.write_text('%s:\n  hosts:\n' % group + ''.join(
        '    %s:\n      kapacitor_url: "%s"\n' % (host, control.url) for host, control in sorted(sims.items())))
    return str(path)


def created(sim, before):
    return new_attempts(before, sim.attempts())


@BOTH_FLAVORS
def test_retries_run_in_batches_whose_labels_show_progress_and_whose_figures_are_summed(sim, tmp_path):
    sim.load({'tasks': [{'name': 'rollup', 'runs': failed_runs('-5h', '-4h', '-3h', '-2h', '-1h')}]})
    before = sim.attempts()
    report = tmp_path / 'report.json'
    played = run_playbook(PLAYBOOK, dict(sim.role_vars, retry_failed_runs_concurrency=1, retry_failed_runs_batch_rounds=2,
                                         retry_failed_runs_report_path=str(report)))
    assert played.returncode == 0, played.stdout
    # Out of band: every failed scheduled time got exactly one new attempt, in five retry requests.
    fresh = created(sim, before)
    assert sorted(fresh) == sorted(failing_times(before)) and all(len(runs) == 1 for runs in fresh.values())
    assert sim.requests_to(RETRY_ROUTE) == 5
    # Three module calls of 2, 2 and 1 runs: the first also listed them; the others announced as each ended, in order.
    assert re.search(r'TASK \[[^]]*Find the scheduled times whose latest attempt failed and retry the first batch of '
                     r'them\] \**\nchanged: ', played.stdout), played.stdout
    labels = re.findall(r'\(item=(batch \d/\d: runs \d-\d of 5)\)', played.stdout)
    assert labels == ['batch 2/3: runs 3-4 of 5', 'batch 3/3: runs 5-5 of 5'], played.stdout
    figures = read_json(str(report))['figures']
    assert figures['retried'] == 5 and figures['failed_found'] == 5 and figures['remaining'] == 0


def test_one_table_over_every_host_says_what_is_broken_where(sim, tmp_path):
    other = start_simulator()
    try:
        sims = {'kap1': sim, 'kap2': other}
        sim.load({'tasks': [{'name': 'rollup', 'runs': failed_runs('-3h', '-2h')}]})
        other.load({'tasks': [
            {'name': 'rollup', 'runs': failed_runs('-2h')},
            {'name': 'downsample', 'retry_outcomes': ['fail'], 'retry_error': 'bucket "rollups" not found',
             'runs': failed_runs('-2h', '-1h')}]})
        before = {host: control.attempts() for host, control in sims.items()}
        played = run_playbook(PLAYBOOK, {}, inventory=inventory_of(tmp_path, sims))
        assert played.returncode == 0, played.stdout
        # Out of band: kap2's downsample runs were retried once each and failed again.
        fresh = created(other, before['kap2'])
        names = {task['id']: task['name'] for task in other.state()['tasks']}
        statuses = sorted((names[task_id], runs[0]['status']) for (task_id, _time), runs in fresh.items())
        assert statuses == [('downsample', 'failed'), ('downsample', 'failed'), ('rollup', 'success')]

        # One table, printed once, the failing row first with the failure message (no script echo).
        assert played.stdout.count('host(s), 0 with errors') == 1, played.stdout
        table = played.stdout[played.stdout.index('2 host(s), 0 with errors'):]
        assert '2 host(s), 0 with errors: found 5, retried 3, failed again 2, given up 0' in table
        rows = re.findall(r'"(kap\d) +kapacitor +(\w+) +(\d+) +(\d+) +(\d+) +(\d+) +(\d+) +(\d+) *((?:[^"\\]|\\.)*)"', table)
        assert rows[0][:8] == ('kap2', 'downsample', '2', '0', '2', '0', '0', '0')
        assert 'bucket \\"rollups\\" not found' in rows[0][8] and 'Started task' not in table
        assert sorted(row[:4] for row in rows[1:]) == [('kap1', 'rollup', '2', '2'), ('kap2', 'rollup', '1', '1')]
    finally:
        other.process.stop()


@BOTH_FLAVORS
def test_check_mode_says_what_it_would_do_and_writes_a_dry_run_report(sim, tmp_path):
    sim.load({'tasks': [{'name': 'rollup', 'runs': failed_runs('-3h', '-2h') + [
        {'status': 'failed', 'scheduled_for': '-1h'}, {'status': 'failed', 'scheduled_for': '-1h'},
        {'status': 'failed', 'scheduled_for': '-1h'}]}]})
    before = sim.attempts()
    report = tmp_path / 'report.json'
    played = run_playbook(PLAYBOOK, dict(sim.role_vars, retry_failed_runs_report_path=str(report)), check=True)
    assert played.returncode == 0, played.stdout
    assert not created(sim, before) and not sim.requests_to(RETRY_ROUTE)
    assert 'would retry 2, would give up 1 (max_attempts 3 reached)' in played.stdout
    written = read_json(str(report))
    assert written['dry_run'] is True and written['figures']['would_retry'] == 2
    assert 'dry-run report: %s' % report in played.stdout


def test_the_summary_does_not_point_at_a_report_when_none_is_written(sim, tmp_path):
    sim.load({'tasks': [{'name': 'rollup', 'retry_outcomes': ['fail'], 'runs': failed_runs('-3h', '-2h', '-1h')}]})
    played = run_playbook(PLAYBOOK, {'kapacitor_url': sim.url, 'retry_failed_runs_summary_runs': 1})
    assert played.returncode == 0, played.stdout
    assert '... and 2 more run(s) (set retry_failed_runs_report_path for a JSON report of every run)' in played.stdout
    assert 'report:' not in played.stdout


def test_an_inventory_without_the_target_group_fails_naming_kapacitor_hosts(sim, tmp_path):
    sim.load({'tasks': [{'name': 'rollup', 'runs': failed_runs('-1h')}]})
    sim.reset_stats()
    inventory = inventory_of(tmp_path, {'kap1': sim}, group='kapacitors_eu')
    # KAPACITOR_URL as an AWX credential injects it: without the check, localhost would retry that one server.
    played = run_playbook(PLAYBOOK, {}, inventory=inventory, env={'KAPACITOR_URL': sim.url})
    assert played.returncode != 0
    assert "kapacitor_hosts is 'kapacitor' (the default), but no host of the inventory is in the group" in played.stdout
    assert 'groups: kapacitors_eu' in played.stdout
    assert not sim.stats()['requests']

    # An empty group, or a pattern that matches nothing, fails the same way.
    empty = tmp_path / 'empty.yml'
    empty.write_text('kapacitor:\n  hosts: {}\nkapacitors_eu:\n  hosts:\n    kap1:\n')
    played = run_playbook(PLAYBOOK, {}, inventory=str(empty), env={'KAPACITOR_URL': sim.url})
    assert played.returncode != 0 and "kapacitor_hosts is 'kapacitor' (the default)" in played.stdout
    played = run_playbook(PLAYBOOK, {'kapacitor_hosts': 'kapacitors_us'}, inventory=inventory)
    assert played.returncode != 0 and "kapacitor_hosts is 'kapacitors_us', but" in played.stdout
    assert not sim.stats()['requests']

    # Naming the group works.
    before = sim.attempts()
    played = run_playbook(PLAYBOOK, {'kapacitor_hosts': 'kapacitors_eu'}, inventory=inventory)
    assert played.returncode == 0, played.stdout
    assert len(created(sim, before)) == 1


def test_the_one_server_form_without_an_inventory_still_works(sim):
    sim.load({'tasks': [{'name': 'rollup', 'runs': failed_runs('-1h')}]})
    before = sim.attempts()
    played = run_playbook(PLAYBOOK, {'kapacitor_url': sim.url})
    assert played.returncode == 0, played.stdout
    assert len(created(sim, before)) == 1


def test_time_values_as_flux_users_type_them(sim, tmp_path):
    now = datetime.datetime.now(datetime.timezone.utc)
    yesterday = (now - datetime.timedelta(days=1)).date().isoformat()
    sim.load({'tasks': [{'name': 'rollup', 'runs': failed_runs('-60h', '-50h', '-3h')}]})
    before = sim.attempts()
    times = sorted(scheduled_for for _task, scheduled_for in failing_times(before))
    # -55h to -24h, as Flux writes durations: only the run of -50h is inside.
    played = run_playbook(PLAYBOOK, {'kapacitor_url': sim.url, 'retry_failed_runs_after_time': '-55h',
                                     'retry_failed_runs_before_time': '-24h'})
    assert played.returncode == 0, played.stdout
    assert sorted(time for _task, time in created(sim, before)) == [times[1]]
    # A date alone is midnight UTC: yesterday's midnight leaves -60h out and takes -3h.
    before = sim.attempts()
    played = run_playbook(PLAYBOOK, {'kapacitor_url': sim.url, 'retry_failed_runs_after_time': yesterday})
    assert played.returncode == 0, played.stdout
    assert sorted(time for _task, time in created(sim, before)) == [times[2]]


def test_task_names_absent_on_some_hosts_with_missing_ok(sim, tmp_path):
    other = start_simulator()
    try:
        sims = {'kap1': sim, 'kap2': other}
        sim.load({'tasks': [{'name': 'alpha', 'runs': failed_runs('-2h')}, {'name': 'beta', 'runs': failed_runs('-2h')}]})
        other.load({'tasks': [{'name': 'alpha', 'runs': failed_runs('-2h')}, {'name': 'gamma', 'runs': failed_runs('-2h')}]})
        inventory = inventory_of(tmp_path, sims)
        names = {'retry_failed_runs_task_names': ['alpha', 'beta']}

        # Without missing_ok, kap2 (no beta) fails, naming the task; kap1 is handled.
        before = {host: control.attempts() for host, control in sims.items()}
        played = run_playbook(PLAYBOOK, names, inventory=inventory)
        assert played.returncode != 0
        assert "no task named 'beta' on this Kapacitor" in played.stdout
        assert len(created(sim, before['kap1'])) == 2 and not created(other, before['kap2'])

        # With it, kap2 retries alpha (never gamma) and says beta is missing.
        before = {host: control.attempts() for host, control in sims.items()}
        played = run_playbook(PLAYBOOK, dict(names, retry_failed_runs_missing_ok=True), inventory=inventory)
        assert played.returncode == 0, played.stdout
        fresh = created(other, before['kap2'])
        task_names = {task['id']: task['name'] for task in other.state()['tasks']}
        assert [task_names[task_id] for task_id, _time in fresh] == ['alpha']
        assert 'not on this server (missing_ok): beta' in played.stdout

        # None of the names on a server: nothing of it is listed or retried (never every task).
        before = other.attempts()
        played = run_playbook(PLAYBOOK, {'retry_failed_runs_task_names': ['beta'], 'retry_failed_runs_missing_ok': True,
                                         'kapacitor_hosts': 'kap2'}, inventory=inventory)
        assert played.returncode == 0, played.stdout
        assert not created(other, before) and 'not on this server (missing_ok): beta' in played.stdout
    finally:
        other.process.stop()


def test_skip_errors_and_min_age_leave_runs_alone_and_are_counted(sim, tmp_path):
    sim.load({'tasks': [
        {'name': 'broken_script', 'runs': [{'status': 'failed', 'scheduled_for': '-2h',
                                            'error': 'could not parse Flux script: expected RPAREN'}]},
        {'name': 'outage', 'runs': failed_runs('-3m', '-2h')},
    ]})
    before = sim.attempts()
    report = tmp_path / 'report.json'
    played = run_playbook(PLAYBOOK, {'kapacitor_url': sim.url, 'retry_failed_runs_min_age': '10m',
                                     'retry_failed_runs_skip_errors': ['could not parse Flux script'],
                                     'retry_failed_runs_report_path': str(report)},
                          env={'ANSIBLE_SHOW_CUSTOM_STATS': 'true'})
    assert played.returncode == 0, played.stdout
    # Out of band: only the outage run of two hours ago was retried; the script error and the fresh failure were not.
    names = {task['id']: task['name'] for task in sim.state()['tasks']}
    fresh = created(sim, before)
    assert [names[task_id] for task_id, _time in fresh] == ['outage']
    assert sim.requests_to(RETRY_ROUTE) == 1
    written = read_json(str(report))
    assert written['figures']['skipped'] == 1 and written['figures']['deferred'] == 1
    assert written['figures']['retried'] == 1 and written['figures']['remaining'] == 2
    assert written['tasks']['broken_script']['skipped'] == 1 and written['tasks']['outage']['deferred'] == 1
    assert 'skipped: 1, deferred: 1' in played.stdout
    assert '"kapacitor_retry_skipped": 1' in played.stdout and '"kapacitor_retry_deferred": 1' in played.stdout
