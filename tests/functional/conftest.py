# -*- coding: utf-8 -*-
# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Fixtures for the functional tests: a real simulator process, and the modules run as real processes.

Modules run the way Ansible runs them on a host (``python -m <module> <args.json>``), talking HTTP over
real sockets to ``tests/simulator/kapacitor_sim.py``; playbooks run through ``ansible-playbook``. Effects
are checked out of band through the simulator's ``/_sim/`` routes, never by trusting a module's report.

The collection must sit in a physical or linked ``ansible_collections/tickstack/kapacitor`` directory
(``make functional`` and ``make test`` arrange that).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import signal
import subprocess
import sys
import tempfile

import pytest
import requests

COLLECTION = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(COLLECTION)))
SIMULATOR = os.path.join(COLLECTION, 'tests', 'simulator', 'kapacitor_sim.py')
READY = re.compile(r'kapacitor-sim: listening on (https?://127\.0\.0\.1:\d+)')


def pytest_configure(config):
    if os.path.basename(os.path.dirname(os.path.dirname(COLLECTION))) != 'ansible_collections':
        raise pytest.UsageError('the collection must live in .../ansible_collections/tickstack/kapacitor to run the '
                                'functional tests: run them with `make functional` or `make test`')


class Simulator:
    """A running ``kapacitor_sim.py`` process and its control API."""

    def __init__(self, *flags, **kwargs):
        self.flags = list(flags)
        self.tmp = tempfile.mkdtemp(prefix='kapsim-')
        self.proc = None
        self.url = None
        self.port = kwargs.get('port', 0)
        self.start()

    def start(self):
        self.proc = subprocess.Popen([sys.executable, SIMULATOR, '--port', str(self.port)] + self.flags,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
        line = self.proc.stdout.readline()
        match = READY.search(line or '')
        if not match:
            self.proc.kill()
            raise RuntimeError('the simulator did not start: %r' % line)
        self.url = match.group(1)
        self.port = int(self.url.rsplit(':', 1)[1])

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def restart(self):
        """Start again on the same port (state is lost, as with a real restart)."""
        self.stop()
        self.start()

    # control API ------------------------------------------------------
    def _control(self, method, path, body=None):
        response = requests.request(method, self.url + path, json=body, timeout=60, verify=False)
        response.raise_for_status()
        return response.json() if response.content else None

    def load(self, scenario):
        return self._control('POST', '/_sim/scenario', scenario)

    def state(self):
        return self._control('GET', '/_sim/state')

    def attempts(self, task_id=None):
        return self._control('GET', '/_sim/attempts' + ('?task_id=%s' % task_id if task_id else ''))

    def stats(self):
        return self._control('GET', '/_sim/stats')

    def reset_stats(self):
        return self._control('POST', '/_sim/stats/reset', {})

    def faults(self, **settings):
        return self._control('POST', '/_sim/faults', settings)

    def requests_to(self, route):
        return self.stats()['requests'].get(route, 0)


@pytest.fixture
def sim():
    simulator = Simulator()
    yield simulator
    simulator.stop()


@pytest.fixture(scope='module')
def shared_sim():
    """One simulator for a module of read-only tests (load a scenario once)."""
    simulator = Simulator()
    yield simulator
    simulator.stop()


def module_env(extra=None):
    env = dict(os.environ)
    env['PYTHONPATH'] = COLLECTIONS_ROOT + os.pathsep + env.get('PYTHONPATH', '')
    for name in list(env):
        if name.startswith('KAPACITOR_'):
            del env[name]
    env.update(extra or {})
    return env


class ModuleResult(dict):
    def __init__(self, data, rc, stdout, stderr):
        super(ModuleResult, self).__init__(data)
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr

    @property
    def warning_texts(self):
        """Warnings as text: plain strings before ansible-core 2.19, structured summaries since."""
        texts = []
        for warning in self.get('warnings', []):
            if isinstance(warning, dict):
                warning = (warning.get('event') or {}).get('msg') or warning.get('msg') or str(warning)
            texts.append(warning)
        return texts


def run_module(name, args, check_mode=False, diff=False, env=None, timeout=300):
    """Run a module of the collection as a real process, as Ansible does on a host; return its JSON result."""
    payload = dict(args)
    payload['_ansible_check_mode'] = check_mode
    payload['_ansible_diff'] = diff
    with tempfile.NamedTemporaryFile('w', suffix='.json', delete=False) as handle:
        json.dump({'ANSIBLE_MODULE_ARGS': payload}, handle)
        path = handle.name
    try:
        proc = subprocess.run([sys.executable, '-m', 'ansible_collections.tickstack.kapacitor.plugins.modules.' + name, path],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, env=module_env(env),
                              timeout=timeout, check=False)
    finally:
        os.unlink(path)
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        raise AssertionError('module %s printed no JSON (rc=%d):\n%s\n%s' % (name, proc.returncode, proc.stdout, proc.stderr))
    return ModuleResult(data, proc.returncode, proc.stdout, proc.stderr)


def playbook_command(playbook, vars_path, inventory=None, check=False, verbosity=0):
    cmd = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), playbook, '-e', '@' + vars_path]
    if inventory:
        cmd += ['-i', inventory]
    if check:
        cmd.append('--check')
    if verbosity:
        cmd.append('-' + 'v' * verbosity)
    return cmd


def playbook_env(env=None):
    """The module environment plus the collection path, the pinned interpreter and quiet, colourless output."""
    full_env = module_env(env)
    full_env.update(ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_ROOT, ANSIBLE_PYTHON_INTERPRETER=sys.executable,
                    ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0', ANSIBLE_RETRY_FILES_ENABLED='0',
                    ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_INVENTORY_UNPARSED_WARNING='0')
    return full_env


def run_playbook(playbook, extra_vars=None, inventory=None, check=False, verbosity=0, env=None, timeout=600):
    """Run ``ansible-playbook`` with the collection on the path and the interpreter pinned."""
    with tempfile.NamedTemporaryFile('w', suffix='.json', delete=False) as handle:
        json.dump(extra_vars or {}, handle)
        vars_path = handle.name
    try:
        return subprocess.run(playbook_command(playbook, vars_path, inventory, check, verbosity), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, universal_newlines=True, env=playbook_env(env), timeout=timeout,
                              check=False)
    finally:
        os.unlink(vars_path)
