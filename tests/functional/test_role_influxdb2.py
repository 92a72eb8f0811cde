# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The retry_failed_runs playbook over a mixed inventory: a Kapacitor server and an InfluxDB 2 server in one play.

Each host has its own kapacitor_url, and the InfluxDB host its kapacitor_token and kapacitor_org (or
kapacitor_org_id and kapacitor_server_type); the playbook is the collection's, unchanged. What was retried is
read from each simulator's own record (/_sim/attempts, /_sim/stats), never taken from the role's word; the
summary, the table over every host, set_stats and the JSON reports must say which server type each host is.
"""

import json
import re

from ansible_collections.tickstack.kapacitor.tests.functional.support import (
    INFLUX_ORG,
    INFLUX_ORG_ID,
    INFLUX_TOKEN,
    PLAYBOOK,
    RETRY_ROUTE,
    custom_stats,
    failed_runs,
    failing_times,
    new_attempts,
    read_json,
    run_playbook,
    start_simulator,
)

STATS_ENV = {'ANSIBLE_SHOW_CUSTOM_STATS': 'true'}


def inventory(tmp_path, hosts):
    """An inventory file with the group ``kapacitor``: ``hosts`` maps each host name to its variables."""
    path = tmp_path / 'inventory.json'
    path.write_text(json.dumps({'kapacitor': {'hosts': hosts}}))
    return str(path)


def recap(stdout, host):
    """The PLAY RECAP counters of one host, as a dict."""
    match = re.search(r'^%s\s+: (.*)$' % re.escape(host), stdout, re.MULTILINE)
    assert match, stdout
    return {key: int(value) for key, value in re.findall(r'(\w+)=(\d+)', match.group(1))}


def scenario(flaky_retry=False):
    """Two tasks with failed scheduled times: one whose retries succeed, one whose retries fail again."""
    return {'tasks': [
        {'name': 'rollup', 'run_seconds': 0.2, 'runs': failed_runs('-3h', '-2h', '-1h')},
        {'name': 'downsample', 'run_seconds': 0.2, 'retry_outcomes': ['fail' if flaky_retry else 'success'],
         'retry_error': 'bucket "rollups" not found', 'runs': failed_runs('-90m')},
    ]}


def test_one_play_retries_each_failed_time_once_on_kapacitor_and_on_influxdb2_and_says_which_is_which(sim, tmp_path):
    influx = start_simulator(flavor='influxdb2')
    try:
        sims = {'kap1': sim, 'influx1': influx}
        sim.load(scenario())
        influx.load(scenario(flaky_retry=True))
        before = {host: control.attempts() for host, control in sims.items()}
        to_retry = {host: failing_times(attempts) for host, attempts in before.items()}
        assert len(to_retry['kap1']) == len(to_retry['influx1']) == 4
        reports = tmp_path / 'reports'
        reports.mkdir()
        hosts = inventory(tmp_path, {
            'kap1': {'kapacitor_url': sim.url},
            # server_type left to detection (auto); the token and the org as an InfluxDB user has them.
            'influx1': {'kapacitor_url': influx.url, 'kapacitor_token': INFLUX_TOKEN, 'kapacitor_org': INFLUX_ORG},
        })
        # max_attempts 2: the time whose retry fails again is given up by the second run, not retried a third time.
        extra = {'retry_failed_runs_report_path': str(reports) + '/{{ inventory_hostname }}.json',
                 'retry_failed_runs_max_attempts': 2}
        played = run_playbook(PLAYBOOK, extra, inventory=hosts, env=STATS_ENV)
        assert played.returncode == 0, played.stdout

        # Out of band: each failed scheduled time got exactly one new attempt on its own server, nothing else did.
        for host, control in sims.items():
            fresh = new_attempts(before[host], control.attempts())
            assert set(fresh) == to_retry[host], (host, sorted(fresh))
            assert all(len(runs) == 1 for runs in fresh.values()), (host, fresh)
            assert control.requests_to(RETRY_ROUTE) == 4, host
        # InfluxDB answers a retry at once: the role must have waited for the new runs to finish.
        influx_fresh = new_attempts(before['influx1'], influx.attempts())
        statuses = sorted(runs[0]['status'] for runs in influx_fresh.values())
        assert statuses == ['failed', 'success', 'success', 'success'], statuses

        # The reports, the summary lines, the table over every host and set_stats say which server each host is.
        kap_report, influx_report = (read_json(str(reports / (host + '.json'))) for host in ('kap1', 'influx1'))
        assert kap_report['server']['type'] == 'kapacitor' and influx_report['server']['type'] == 'influxdb2'
        assert influx_report['figures']['retried'] == 3 and influx_report['figures']['retried_failed'] == 1
        assert kap_report['figures']['retried'] == 4 and kap_report['figures']['remaining'] == 0
        assert re.search(r'"kap1 \(%s\) Kapacitor[^:"]*: 2 task\(s\) scanned' % re.escape(sim.url), played.stdout)
        assert re.search(r'"influx1 \(%s\) InfluxDB[^:"]*: 2 task\(s\) scanned' % re.escape(influx.url), played.stdout)
        table = played.stdout[played.stdout.index('2 host(s), 0 with errors'):]
        rows = re.findall(r'"(kap1|influx1) +(kapacitor|influxdb2) +(\w+) +(\d+) +(\d+) +(\d+)', table)
        assert sorted({row[:2] for row in rows}) == [('influx1', 'influxdb2'), ('kap1', 'kapacitor')], table
        stats = custom_stats(played.stdout)
        assert stats['kapacitor_retry_server_types'] == {'kap1': 'kapacitor', 'influx1': 'influxdb2'}
        assert stats['kapacitor_retry_hosts'] == 2 and stats['kapacitor_retry_hosts_failed'] == 0
        assert stats['kapacitor_retry_retried'] == 7 and stats['kapacitor_retry_retried_failed'] == 1
        assert stats['kapacitor_retry_task_inactive'] == 0
        # The token never shows.
        assert INFLUX_TOKEN not in played.stdout and INFLUX_TOKEN not in json.dumps(influx_report)

        # The same playbook again changes nothing on either server: the fixed times are not failing any more, the one
        # that failed again has reached max_attempts.
        middle = {host: control.attempts() for host, control in sims.items()}
        played = run_playbook(PLAYBOOK, extra, inventory=hosts, env=STATS_ENV)
        assert played.returncode == 0, played.stdout
        for host, control in sims.items():
            assert not new_attempts(middle[host], control.attempts()), host
            assert recap(played.stdout, host)['changed'] == 0, played.stdout
        stats = custom_stats(played.stdout)
        assert stats['kapacitor_retry_retried'] == 0 and stats['kapacitor_retry_given_up'] == 1
    finally:
        influx.process.stop()


def test_org_id_and_an_explicit_server_type_reach_the_modules_and_an_inactive_task_is_never_retried(tmp_path):
    influx = start_simulator(flavor='influxdb2')
    try:
        influx.load({'tasks': [
            {'name': 'rollup', 'run_seconds': 0.2, 'runs': failed_runs('-2h', '-1h')},
            {'name': 'paused', 'status': 'inactive', 'runs': failed_runs('-2h')},
        ]})
        before = influx.attempts()
        names = {task['id']: task['name'] for task in influx.state()['tasks']}
        report = tmp_path / 'report.json'
        hosts = inventory(tmp_path, {'influx1': {
            'kapacitor_url': influx.url, 'kapacitor_token': INFLUX_TOKEN, 'kapacitor_org_id': INFLUX_ORG_ID,
            'kapacitor_server_type': 'influxdb2'}})
        influx.reset_stats()
        played = run_playbook(PLAYBOOK, {'retry_failed_runs_task_status': 'any',
                                         'retry_failed_runs_report_path': str(report)}, inventory=hosts, env=STATS_ENV)
        assert played.returncode == 0, played.stdout

        # Out of band: the active task's failed times were retried once each; the inactive task's never (no POST).
        fresh = new_attempts(before, influx.attempts())
        assert sorted(names[task_id] for task_id, _time in fresh) == ['rollup', 'rollup']
        assert influx.requests_to(RETRY_ROUTE) == 2
        # server_type influxdb2 was given: no detection request reached the server.
        requests_seen = influx.stats()['requests']
        assert not [route for route in requests_seen if 'ping' in route], requests_seen

        written = read_json(str(report))
        assert written['server']['type'] == 'influxdb2'
        assert written['figures']['task_inactive'] == 1 and written['figures']['retried'] == 2
        assert [run['outcome'] for run in written['runs'] if run.get('task_name') == 'paused'] == ['task_inactive']
        assert custom_stats(played.stdout)['kapacitor_retry_task_inactive'] == 1
    finally:
        influx.process.stop()


def test_the_influx_environment_serves_the_influxdb_host_of_a_mixed_inventory(sim, tmp_path):
    """As an AWX credential of type InfluxDB 2 injects them (docs/awx.md): INFLUX_TOKEN and INFLUX_ORG reach the
    InfluxDB host, which has only its URL, while the Kapacitor host (no authentication) is served as before."""
    influx = start_simulator(flavor='influxdb2')
    try:
        sims = {'kap1': sim, 'influx1': influx}
        for control in sims.values():
            control.load({'tasks': [{'name': 'rollup', 'run_seconds': 0.2, 'runs': failed_runs('-2h', '-1h')}]})
        before = {host: control.attempts() for host, control in sims.items()}
        hosts = inventory(tmp_path, {host: {'kapacitor_url': control.url} for host, control in sims.items()})
        played = run_playbook(PLAYBOOK, {}, inventory=hosts,
                              env=dict(STATS_ENV, INFLUX_TOKEN=INFLUX_TOKEN, INFLUX_ORG=INFLUX_ORG, INFLUX_ORG_ID=''))
        assert played.returncode == 0, played.stdout
        for host, control in sims.items():
            fresh = new_attempts(before[host], control.attempts())
            assert set(fresh) == failing_times(before[host]) and all(len(runs) == 1 for runs in fresh.values()), host
        assert custom_stats(played.stdout)['kapacitor_retry_server_types'] == {'kap1': 'kapacitor', 'influx1': 'influxdb2'}
    finally:
        influx.process.stop()


def test_a_job_with_both_credentials_serves_each_server_with_its_own(tmp_path):
    """docs/awx.md: a job that carries a Kapacitor credential that authenticates and an InfluxDB 2 one, as
    environment variables: each server gets its own (the Kapacitor user never reaches InfluxDB, the token never
    Kapacitor, which would refuse them). Then the extra-variables variant, made the InfluxDB hosts' own by their
    group variables."""
    kapacitor = start_simulator('--auth-user', 'ops:ops-Pw-71')
    influx = start_simulator(flavor='influxdb2')
    try:
        sims = {'kap1': kapacitor, 'influx1': influx}
        for control in sims.values():
            control.load({'tasks': [{'name': 'rollup', 'run_seconds': 0.2, 'runs': failed_runs('-3h', '-2h', '-1h')}]})
        kapacitor_credential = {'KAPACITOR_USERNAME': 'ops', 'KAPACITOR_PASSWORD': 'ops-Pw-71'}
        path = tmp_path / 'inventory.yml'
        path.write_text('kapacitor:\n  hosts:\n    kap1:\n      kapacitor_url: "%s"\n    influx1:\n      kapacitor_url: "%s"\n'
                        'influxdb:\n  hosts:\n    influx1:\n  vars:\n    kapacitor_token: "{{ influxdb_token }}"\n'
                        '    kapacitor_org: "{{ influxdb_org }}"\n    kapacitor_org_id: "{{ influxdb_org_id }}"\n'
                        % (kapacitor.url, influx.url))
        before = {host: control.attempts() for host, control in sims.items()}
        # The first run takes the two newer failed times (since 150m), the second the oldest: each run must reach both.
        first = {'influxdb_token': '', 'influxdb_org': '', 'influxdb_org_id': '', 'retry_failed_runs_since': '150m'}

        # Both environment injectors: every host is served with its own credential.
        played = run_playbook(PLAYBOOK, first, inventory=str(path),
                              env=dict(kapacitor_credential, INFLUX_TOKEN=INFLUX_TOKEN, INFLUX_ORG=INFLUX_ORG))
        assert played.returncode == 0, played.stdout
        middle = {host: control.attempts() for host, control in sims.items()}
        for host in sims:
            fresh = new_attempts(before[host], middle[host])
            assert len(fresh) == 2 and all(len(runs) == 1 for runs in fresh.values()), (host, fresh)

        # The extra-variables injector: the InfluxDB host's own token and org; the Kapacitor host as before.
        played = run_playbook(PLAYBOOK, {'influxdb_token': INFLUX_TOKEN, 'influxdb_org': INFLUX_ORG, 'influxdb_org_id': ''},
                              inventory=str(path), env=kapacitor_credential)
        assert played.returncode == 0, played.stdout
        for host, control in sims.items():
            fresh = new_attempts(middle[host], control.attempts())
            assert set(fresh) == failing_times(middle[host]) and len(fresh) == 1, (host, fresh)
        assert INFLUX_TOKEN not in played.stdout and 'ops-Pw-71' not in played.stdout
    finally:
        kapacitor.process.stop()
        influx.process.stop()
