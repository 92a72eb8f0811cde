# -*- coding: utf-8 -*-
# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Every module's EXAMPLES block runs, as written, against the simulator."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import json
import os
import tempfile

import yaml

from conftest import run_playbook

EXAMPLE_URL = 'http://127.0.0.1:9092'
# The IDs and names the examples use.
SCENARIO = {'tasks': [
    {'id': '0a1b2c3d4e5f6789', 'name': 'cpu_rollup',
     'runs': [{'id': '0d5f1a2b3c4d5e6f', 'status': 'failed', 'scheduled_for': '-3h'},
              {'status': 'success', 'scheduled_for': '-2h'},
              {'status': 'failed', 'scheduled_for': '-1h'}]},
    {'name': 'disk_rollup', 'runs': [{'status': 'failed', 'scheduled_for': '-30m'}]},
]}


def examples_playbook(module_name, url):
    module = importlib.import_module('ansible_collections.tickstack.kapacitor.plugins.modules.' + module_name)
    assert EXAMPLE_URL in module.EXAMPLES
    tasks = yaml.safe_load(module.EXAMPLES.replace(EXAMPLE_URL, url))
    play = [{'name': 'EXAMPLES of ' + module_name, 'hosts': 'localhost', 'gather_facts': False, 'tasks': tasks}]
    handle = tempfile.NamedTemporaryFile('w', suffix='.yml', delete=False)
    with handle:
        json.dump(play, handle)
    return handle.name


def test_runs_info_examples_run(sim):
    sim.load(SCENARIO)
    path = examples_playbook('kapacitor_task_runs_info', sim.url)
    try:
        result = run_playbook(path)
    finally:
        os.unlink(path)
    assert result.returncode == 0, result.stdout
    assert 'failed=0' in result.stdout
    # Read-only: nothing was retried.
    assert sim.stats()['requests'].get('POST /api/v2/tasks/:id/runs/:rid/retry', 0) == 0
    assert sim.stats()['requests']['GET /api/v2/tasks/:id/runs'] >= 2


def test_run_retry_examples_run(sim):
    sim.load(SCENARIO)
    before = sim.attempts()
    path = examples_playbook('kapacitor_task_run_retry', sim.url)
    try:
        result = run_playbook(path)
    finally:
        os.unlink(path)
    assert result.returncode == 0, result.stdout
    after = sim.attempts()
    # The single-run example retried 0d5f1a2b3c4d5e6f; the bulk example retried the other two failures once each.
    for task_id, times in after.items():
        for scheduled_for, runs in times.items():
            old = before[task_id][scheduled_for]
            if old[-1]['status'] == 'failed':
                assert len(runs) == len(old) + 1, (task_id, scheduled_for, runs)
            else:
                assert runs == old
    assert [run['id'] for runs in before['0a1b2c3d4e5f6789'].values() for run in runs].count('0d5f1a2b3c4d5e6f') == 1
