# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Every module's and filter's EXAMPLES block runs, as written, against the simulator: a Kapacitor, and an InfluxDB 2 whose token
and organization come from the environment (INFLUX_TOKEN, INFLUX_ORG_ID), as an AWX credential injects them."""


import ast
import importlib
import json
import os
import tempfile

import yaml

from ansible_collections.tickstack.kapacitor.tests.functional.support import (
    BOTH_FLAVORS,
    INFLUX_ORG_ID,
    INFLUX_TOKEN,
    RETRY_ROUTE,
    run_playbook,
)

pytestmark = BOTH_FLAVORS

EXAMPLE_URL = 'http://127.0.0.1:9092'
# The IDs and names the examples use.
SCENARIO = {'tasks': [
    {'id': '0a1b2c3d4e5f6789', 'name': 'cpu_rollup',
     'runs': [{'id': '0d5f1a2b3c4d5e6f', 'status': 'failed', 'scheduled_for': '-3h'},
              {'status': 'success', 'scheduled_for': '-2h'},
              {'status': 'failed', 'scheduled_for': '-1h'}]},
    # Its first retry fails again, its second succeeds: the bulk example retries it, then the one-call example.
    {'name': 'disk_rollup', 'retry_outcomes': ['fail', 'success'], 'retry_error': 'disk is full',
     'runs': [{'status': 'failed', 'scheduled_for': '-30m'}]},
]}


def run_examples(module_name, sim, tmp_dir=None):
    """Run the module's EXAMPLES as one playbook, with the example URL pointed at ``sim`` (and on InfluxDB 2 its token
    and organization in the environment), and the files they write under ``/tmp/`` written in ``tmp_dir``."""
    module = importlib.import_module('ansible_collections.tickstack.kapacitor.plugins.modules.' + module_name)
    assert EXAMPLE_URL in module.EXAMPLES
    examples = module.EXAMPLES.replace(EXAMPLE_URL, sim.url)
    if tmp_dir is not None:
        assert ' /tmp/' in examples
        examples = examples.replace(' /tmp/', ' %s/' % tmp_dir).replace("'/tmp/", "'%s/" % tmp_dir)
    tasks = yaml.safe_load(examples)
    env = {'INFLUX_TOKEN': INFLUX_TOKEN, 'INFLUX_ORG_ID': INFLUX_ORG_ID} if sim.flavor == 'influxdb2' else None
    play = [{'name': 'EXAMPLES of ' + module_name, 'hosts': 'localhost', 'gather_facts': False, 'tasks': tasks}]
    with tempfile.NamedTemporaryFile('w', suffix='.yml', delete=False) as handle:
        json.dump(play, handle)
    try:
        return run_playbook(handle.name, env=env)
    finally:
        os.unlink(handle.name)


def test_runs_info_examples_run(sim):
    sim.load(SCENARIO)
    result = run_examples('kapacitor_task_runs_info', sim)
    assert result.returncode == 0, result.stdout
    assert 'failed=0' in result.stdout
    # Read-only: nothing was retried.
    assert sim.requests_to(RETRY_ROUTE) == 0
    assert sim.stats()['requests']['GET /api/v2/tasks/:id/runs'] >= 2


def test_runs_export_examples_run(sim, tmp_path):
    sim.load(SCENARIO)
    result = run_examples('kapacitor_task_runs_export', sim, tmp_path)
    assert result.returncode == 0, result.stdout
    runs = sim.state()['runs']
    with open(tmp_path / 'kapacitor-runs.jsonl') as handle:
        everything = [json.loads(line) for line in handle]
    assert sorted(run['id'] for run in everything) == sorted(run['id'] for run in runs)
    assert '%d runs of 2 tasks, 3 failed' % len(runs) in result.stdout
    with open(tmp_path / 'cpu_rollup-failed.jsonl') as handle:
        failed = [json.loads(line) for line in handle]
    assert sorted(run['id'] for run in failed) == sorted(
        run['id'] for run in runs if run['task_id'] == '0a1b2c3d4e5f6789' and run['status'] == 'failed')
    assert all(run['log'] and run['error'] for run in failed)
    assert oct(os.stat(tmp_path / 'cpu_rollup-failed.jsonl').st_mode & 0o777) == '0o600'
    assert sim.requests_to(RETRY_ROUTE) == 0


def assert_each_failure_retried_to_success(sim, before):
    """As the simulator records it, since ``before`` (its attempts then): every scheduled time of SCENARIO whose
    latest attempt had failed got exactly one new attempt, a success, except disk_rollup's, whose first retry failed
    and whose second succeeded; nothing else changed. Returns the attempts now."""
    after = sim.attempts()
    disk = [task['id'] for task in sim.state()['tasks'] if task['name'] == 'disk_rollup'][0]
    for task_id, times in after.items():
        for scheduled_for, runs in times.items():
            old = before[task_id][scheduled_for]
            if task_id == disk:
                assert [run['status'] for run in runs] == ['failed', 'failed', 'success'], runs
            elif old[-1]['status'] == 'failed':
                assert [run['status'] for run in runs] == [run['status'] for run in old] + ['success'], runs
            else:
                assert runs == old
    return after


def test_run_retry_examples_run(sim):
    sim.load(SCENARIO)
    before = sim.attempts()
    result = run_examples('kapacitor_task_run_retry', sim)
    assert result.returncode == 0, result.stdout
    # The single-run example retried 0d5f1a2b3c4d5e6f and the bulk example the other two failures, once each;
    # disk_rollup's retry failed again, so the one-call example (failed) retried it once more, and it succeeded.
    # The batch examples found nothing left to retry.
    after = assert_each_failure_retried_to_success(sim, before)
    single = [runs for runs in after['0a1b2c3d4e5f6789'].values() if runs[0]['id'] == '0d5f1a2b3c4d5e6f']
    assert len(single) == 1 and len(single[0]) == 2 and single[0][1]['status'] == 'success'


def test_run_backfill_examples_run(sim):
    # cpu_rollup every 10 minutes, with the scheduler down from 5 to 4 hours ago; the task was created 10 hours ago.
    sim.load({'tasks': [{'id': '0a1b2c3d4e5f6789', 'name': 'cpu_rollup', 'every': '10m',
                         'schedule_runs': {'from': '-10h', 'outages': [{'from': '-5h', 'to': '-4h'}]}}]})
    before = sim.state()['runs']
    result = run_examples('kapacitor_task_run_backfill', sim)
    assert result.returncode == 0, result.stdout
    created = [run for run in sim.state()['runs'] if run['manual']]
    # The check-mode example created nothing; the second example filled the outage's six scheduled times, once each.
    assert len(sim.state()['runs']) == len(before) + len(created) and len(created) == 6
    assert len({run['scheduled_for'] for run in created}) == 6
    assert sim.requests_to('POST /api/v2/tasks/:id/runs') == 6


def test_retry_summary_examples_run(sim, tmp_path):
    sim.load(SCENARIO)
    result = run_examples('kapacitor_retry_summary', sim, tmp_path)
    assert result.returncode == 0, result.stdout
    # Every failed scheduled time (3) was retried once, as the simulator records it; the report counts what it did.
    assert sim.requests_to(RETRY_ROUTE) == 3
    with open(tmp_path / 'kapacitor-retries.json') as handle:
        report = json.load(handle)
    assert report['figures']['failed_found'] == 3 and report['figures']['retried'] == 2, report['figures']
    assert report['figures']['retried_failed'] == 1 and report['report'] is None
    # The summary the action returned, as the example shows it, points at the report it wrote.
    assert '3 failed scheduled time(s) found' in result.stdout, result.stdout
    assert 'report: %s' % (tmp_path / 'kapacitor-retries.json') in result.stdout


def test_every_module_and_filter_has_its_examples_run():
    """A new module or filter gets its examples run here, as CONTRIBUTING.md asks: a call in this file must name it
    (read from the code's syntax tree, so a comment or a string does not count)."""
    root = os.path.join(os.path.dirname(__file__), '..', '..', 'plugins')
    modules = {name[:-3] for name in os.listdir(os.path.join(root, 'modules')) if name.endswith('.py')}
    filters = {name[:-4] for name in os.listdir(os.path.join(root, 'filter')) if name.endswith('.yml')}
    with open(__file__) as handle:
        tree = ast.parse(handle.read())
    called = {(node.func.id, node.args[0].value) for node in ast.walk(tree)
              if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args
              and isinstance(node.args[0], ast.Constant)}
    assert modules - {name for function, name in called if function == 'run_examples'} == set()
    assert filters - {name for function, name in called if function == 'filter_examples'} == set()


def filter_examples(name):
    """The EXAMPLES of a filter's documentation file, parsed."""
    path = os.path.join(os.path.dirname(__file__), '..', '..', 'plugins', 'filter', name + '.yml')
    with open(path) as handle:
        text = yaml.safe_load(handle)['EXAMPLES']
    return text, yaml.safe_load(text)


def test_filter_examples_run(sim, tmp_path):
    """Every filter's EXAMPLES, as written, in one play that gives them the variables they name: the settings example;
    a listing of the failed runs (``found``) and one retry call over them (``retried``) for the summary example, its
    lines and the fleet table over the host's result; then a new listing for the batch examples, which retry."""
    sim.load(SCENARIO)
    before = sim.attempts()
    settings_text, settings_vars = filter_examples('retry_settings')
    dummy, batch_tasks = filter_examples('retry_batches')
    dummy, summary_vars = filter_examples('retry_summary')
    dummy, lines_tasks = filter_examples('retry_summary_lines')
    dummy, fleet_tasks = filter_examples('retry_fleet_lines')
    out = tmp_path / 'out.json'
    listing = {'name': 'The failed runs', 'register': 'found',
               'tickstack.kapacitor.kapacitor_task_runs_info': {'status': ['failed'], 'latest_attempt_only': True,
                                                                'after_time': '24h'}}
    tasks = ([{'name': 'The retry_settings example', 'ansible.builtin.set_fact': settings_vars},
              listing,
              {'name': 'Retry them', 'tickstack.kapacitor.kapacitor_task_run_retry': {'runs': '{{ found.runs }}'},
               'register': 'retried'},
              {'name': 'The retry_summary example', 'ansible.builtin.set_fact': summary_vars}]
             + lines_tasks
             + [{'name': 'The summary, where the fleet table reads it',
                 'ansible.builtin.set_fact': {'retry_failed_runs_result': '{{ summary }}'}}]
             + fleet_tasks
             + [listing]
             + batch_tasks
             + [{'name': 'Keep what the examples computed', 'ansible.builtin.copy': {
                 'content': '{{ {"settings": settings, "summary": summary} | to_json }}', 'dest': str(out),
                 'mode': '0600'}}])
    play = [{'name': 'EXAMPLES of the filters', 'hosts': 'localhost', 'gather_facts': False,
             'module_defaults': {'group/tickstack.kapacitor.kapacitor': {'url': sim.url}},
             'vars': {'kapacitor_url': sim.url, 'retry_failed_runs_after_time': '2026-11-28T10:00:00Z'},
             'tasks': tasks}]
    playbook = tmp_path / 'filters.yml'
    playbook.write_text(json.dumps(play))
    env = {'INFLUX_TOKEN': INFLUX_TOKEN, 'INFLUX_ORG_ID': INFLUX_ORG_ID} if sim.flavor == 'influxdb2' else None
    result = run_playbook(str(playbook), env=env)
    assert result.returncode == 0, result.stdout
    with open(out) as handle:
        computed = json.load(handle)
    # The settings are the output the example's comment shows.
    shown = ''.join(line.lstrip('#=> ') for line in settings_text.splitlines() if line.startswith('#'))
    assert computed['settings'] == json.loads(shown)
    # The summary counts what the simulator did in the first retry call: two runs retried, disk_rollup's failed again.
    figures = computed['summary']['figures']
    assert (figures['failed_found'], figures['retried'], figures['retried_failed']) == (3, 2, 1), figures
    assert '3 failed scheduled time(s) found' in result.stdout, result.stdout
    assert 'localhost %s disk_rollup' % sim.flavor in result.stdout   # a row of the fleet table
    # Then the first batch example retried disk_rollup's new failure (it succeeded); the others found nothing left.
    assert_each_failure_retried_to_success(sim, before)
    assert sim.requests_to(RETRY_ROUTE) == 4
