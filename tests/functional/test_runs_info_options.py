# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Every option of kapacitor_task_runs_info with a value of the wrong type or shape fails with a message naming the
option and what was expected, and sends nothing: the simulator's counters (``/_sim/stats``) show no request at all.
Times are accepted in every form Ansible may hand over, an unquoted YAML timestamp included.

(The cases of ``test_bad_input.py`` may reach a server; these must not, so they are checked here with that stronger
condition.)
"""

import datetime
import json

import pytest

from ansible_collections.tickstack.kapacitor.tests.functional.support import run_module, run_playbook

INFO = 'kapacitor_task_runs_info'
TASK = '0a1b2c3d4e5f0001'
# A day two days back (UTC): its runs stay within every server's horizon, whenever the tests run.
DAY = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=2)).date().isoformat()
SCENARIO = {'tasks': [{'id': TASK, 'name': 'cpu', 'runs': [
    {'status': 'failed', 'scheduled_for': DAY + 'T09:00:00Z'},
    {'status': 'success', 'scheduled_for': DAY + 'T10:00:00Z'},
    {'status': 'failed', 'scheduled_for': DAY + 'T11:00:00Z'},
    {'status': 'success', 'scheduled_for': '-1h'}]}]}

CASES = [
    # after_time / before_time: anything but a time or a duration
    ('after-time-number', {'after_time': 5}, ["after_time '5' is neither an RFC3339 time", 'relative duration']),
    ('after-time-bool', {'after_time': True}, ["after_time 'True' is neither an RFC3339 time"]),
    ('before-time-list', {'before_time': ['2026-11-25T10:00:00Z']}, ['before_time', 'is neither an RFC3339 time']),
    ('before-time-dict', {'before_time': {'at': '10:00'}}, ['before_time', 'is neither an RFC3339 time']),
    ('after-time-hour-out-of-range', {'after_time': '2026-11-25T24:00:00Z'}, ["after_time '2026-11-25T24:00:00Z'"]),
    # task_id and after: IDs
    ('task-id-empty', {'task_id': ''}, ["task_id '' is not a Kapacitor ID", '16 hexadecimal characters']),
    ('task-id-null-element', {'task_id': [None]}, ['task_id']),  # named by the module, or by ansible-core 2.18 itself
    ('task-id-number', {'task_id': 12345}, ["task_id '12345' is not a Kapacitor ID"]),
    ('task-id-dict', {'task_id': {'id': TASK}}, ["'task_id'", 'list']),
    ('after-empty', {'after': ''}, ["after '' is not a Kapacitor ID"]),
    ('after-number', {'after': 42}, ["after '42' is not a Kapacitor ID"]),
    # numbers
    ('limit-bool', {'limit': True}, ['limit must be 1 or more, got True']),
    ('limit-word', {'limit': 'many'}, ["'limit'", 'int']),
    ('limit-fraction', {'limit': 2.5}, ["'limit'", 'int']),
    ('concurrency-null', {'concurrency': None}, ["'concurrency'", 'int']),
    ('concurrency-bool', {'concurrency': True}, ['concurrency must be between 1 and 100, got True']),
    # booleans and choices
    ('latest-attempt-only-word', {'latest_attempt_only': 'sometimes'}, ["'latest_attempt_only'", 'bool']),
    ('include-logs-null', {'include_logs': None}, ["'include_logs'", 'bool']),
    ('status-null-element', {'status': [None]}, ['status']),
    ('fields-unknown', {'fields': ['id', 'owner']}, ['value of fields must be one or more of', 'owner']),
    ('task-status-null', {'task_status': None}, ['task_status']),
    ('task-name-null-element', {'task_name': [None]}, ['task_name']),
]


@pytest.fixture(scope='module')
def loaded(shared_sim):
    shared_sim.load(SCENARIO)
    return shared_sim


@pytest.mark.parametrize('args, expected', [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_a_bad_value_names_the_option_and_sends_nothing(loaded, args, expected):
    loaded.reset_stats()
    result = run_module(INFO, dict(args, url=loaded.url))
    assert result.rc == 1 and result['failed'] is True, result
    for part in expected:
        assert part in result['msg'], (part, result['msg'])
    assert 'Traceback' not in result['msg'] and 'Traceback' not in result.stderr
    assert loaded.stats()['requests_total'] == 0


def test_there_are_enough_cases():
    assert len(CASES) >= 8 and len({case[0] for case in CASES}) == len(CASES)


def scheduled(sim, status=None):
    return sorted(run['scheduled_for'] for run in sim.state()['runs']
                  if run['scheduled_for'].startswith(DAY) and status in (None, run['status']))


@pytest.mark.parametrize('after_time, before_time', [
    (DAY + 'T09:00:00+00:00', DAY + 'T12:29:59.5+01:30'),   # what Ansible makes of an aware YAML timestamp
    (DAY + 'T09:00:00', DAY + ' 11:00:00'),                 # of a naive one, and Python's str() of it: UTC
])
def test_times_in_every_form_ansible_hands_over(loaded, after_time, before_time):
    result = run_module(INFO, {'url': loaded.url, 'after_time': after_time, 'before_time': before_time})
    assert result.rc == 0, result
    assert [run['scheduled_for'] for run in result['runs']] == [DAY + 'T10:00:00Z']
    assert scheduled(loaded) == [DAY + 'T09:00:00Z', DAY + 'T10:00:00Z', DAY + 'T11:00:00Z']


def test_null_times_mean_an_open_window(loaded):
    result = run_module(INFO, {'url': loaded.url, 'after_time': None, 'before_time': None, 'status': ['failed']})
    assert result.rc == 0, result
    assert sorted(run['scheduled_for'] for run in result['runs']) == scheduled(loaded, 'failed')


def test_unquoted_yaml_timestamps_are_times(loaded, tmp_path):
    out = tmp_path / 'result.json'
    playbook = tmp_path / 'play.yml'
    playbook.write_text("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Unquoted YAML timestamps for the window
      tickstack.kapacitor.kapacitor_task_runs_info:
        url: %(url)s
        after_time: %(day)sT09:00:00Z
        before_time: %(day)s 11:00:00
      register: listed
    - name: Keep the result
      ansible.builtin.copy:
        content: "{{ listed | to_json }}"
        dest: %(out)s
        mode: '0600'
""" % {'url': loaded.url, 'day': DAY, 'out': out})
    proc = run_playbook(str(playbook))
    assert proc.returncode == 0, proc.stdout
    with open(str(out)) as handle:
        listed = json.load(handle)
    assert [run['scheduled_for'] for run in listed['runs']] == [DAY + 'T10:00:00Z']
    assert listed['window'] == {'after_time': DAY + 'T09:00:00Z', 'before_time': DAY + 'T11:00:00Z'}
