# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""tickstack.kapacitor.kapacitor_retry_summary outside the role: what it does when its report cannot be written or a
name is wrong, and that a summary in check mode says so (the role's own tests cover the rest)."""

import json

import pytest

from ansible_collections.tickstack.kapacitor.tests.functional.support import RETRY_ROUTE, failed_runs, run_playbook


def play(tmp_path, sim, summary_args, check=False, **summary_task):
    """Retry the failed runs of the last day, sum them up with ``summary_args`` (and task keywords ``summary_task``),
    and dump the registered summary to summary.json (the dump runs whatever the summary did)."""
    tasks = [
        {'name': 'Retry', 'tickstack.kapacitor.kapacitor_task_run_retry': dict(sim.connection, failed={'after_time': '24h'}),
         'register': 'found'},
        dict({'name': 'Sum up', 'tickstack.kapacitor.kapacitor_retry_summary': dict({'found': 'found', 'host': 'kap1'},
                                                                                    **summary_args),
              'register': 'summary', 'ignore_errors': True, 'vars': {'alias': '{{ found }}'}}, **summary_task),
        {'name': 'Dump', 'ansible.builtin.copy': {'content': '{{ summary | to_json }}', 'dest': str(tmp_path / 'summary.json')},
         'check_mode': False},
    ]
    path = tmp_path / 'play.yml'
    path.write_text(json.dumps([{'hosts': 'localhost', 'gather_facts': False, 'tasks': tasks}]))
    played = run_playbook(str(path), check=check)
    return played, json.loads((tmp_path / 'summary.json').read_text())


def test_a_report_that_cannot_be_written_fails_the_task_and_the_summary_does_not_point_at_it(sim, tmp_path):
    sim.load({'tasks': [{'name': 'cpu', 'runs': failed_runs('-30m', '-20m')}]})
    report = tmp_path / 'missing-directory' / 'report.json'
    played, summary = play(tmp_path, sim, {'report_path': str(report)})
    assert 'ignored=1' in played.stdout, played.stdout
    assert summary['failed'] is True and summary['msg'].startswith('cannot write the report %s: ' % report), summary
    assert summary['report'] is None and not report.parent.exists()
    # The summary is still complete: both failed scheduled times were retried, as the simulator saw.
    assert summary['figures']['retried'] == 2 == sim.requests_to(RETRY_ROUTE)


@pytest.mark.parametrize('args, why', [({'retry': 'retried_rest'}, 'retry names the variable retried_rest, which is not defined'),
                                       ({'found': 'alias'}, 'found names the variable alias, which does not hold a dict')])
def test_a_name_that_is_not_a_registered_result_fails_naming_it(sim, tmp_path, args, why):
    """An undefined name, or a template (an alias in vars, which the action does not render): never an empty
    summary that passes for "nothing failed"."""
    sim.load({'tasks': [{'name': 'cpu', 'runs': failed_runs('-30m')}]})
    played, summary = play(tmp_path, sim, args)
    assert 'ignored=1' in played.stdout, played.stdout
    assert summary['msg'] == why + ': expected the name of a registered result', summary
    assert 'figures' not in summary


def test_a_delegate_that_cannot_be_reached_fails_the_task_and_keeps_the_summary(sim, tmp_path):
    """The copy raises (it cannot connect to the host the report goes to): the task fails, naming the report, and the
    summary is still there (the table over every host shows it)."""
    sim.load({'tasks': [{'name': 'cpu', 'runs': failed_runs('-30m')}]})
    report = tmp_path / 'report.json'
    played, summary = play(tmp_path, sim, {'report_path': str(report)}, delegate_to='unreachable-reports',
                           vars={'ansible_host': '127.0.0.1', 'ansible_port': 1, 'ansible_connection': 'ssh',
                                 'ansible_ssh_common_args': '-o ConnectTimeout=5 -o BatchMode=yes'})
    assert 'ignored=1' in played.stdout, played.stdout
    assert summary['failed'] is True and summary['msg'].startswith('cannot write the report %s: ' % report), summary
    assert summary['report'] is None and summary['figures']['retried'] == 1 == sim.requests_to(RETRY_ROUTE)
    assert not report.exists()


def test_in_check_mode_the_summary_is_a_dry_run_and_its_report_is_written(sim, tmp_path):
    sim.load({'tasks': [{'name': 'cpu', 'runs': failed_runs('-30m')}]})
    report = tmp_path / 'report.json'
    played, summary = play(tmp_path, sim, {'report_path': str(report)}, check=True)
    assert 'failed=0' in played.stdout and 'ignored=0' in played.stdout, played.stdout
    assert summary['dry_run'] is True and summary['figures']['would_retry'] == 1 and summary['report'] == str(report)
    written = json.loads(report.read_text())
    assert written['dry_run'] is True and written['report'] is None and written['figures'] == summary['figures']
    assert sim.requests_to(RETRY_ROUTE) == 0
