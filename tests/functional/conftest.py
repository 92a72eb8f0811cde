# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Fixtures of the functional tests (fixtures only: the code they share is in ``support.py``).

Modules run the way Ansible runs them on a host (``python -m <module> <args.json>``), talking HTTP over
real sockets to ``tests/simulator/kapacitor_sim.py``; playbooks run through ``ansible-playbook``. Effects
are checked out of band through the simulator's ``/_sim/`` routes, never by trusting a module's report.

The collection must be reachable as ``.../ansible_collections/tickstack/kapacitor`` (a copy or a link) with the
directory that holds ``ansible_collections`` on ``PYTHONPATH`` (``make functional`` and ``make test`` arrange
that; see tests/README.md).
"""

import os

import pytest

try:
    from ansible_collections.tickstack.kapacitor.tests.functional import support
except ImportError:  # not importable from here: pytest_configure says why
    support = None

HERE = os.path.dirname(os.path.abspath(__file__))


def pytest_configure(config):
    if support is None or os.path.realpath(os.path.dirname(support.__file__)) != os.path.realpath(HERE):
        raise pytest.UsageError('the collection must live in .../ansible_collections/tickstack/kapacitor, with the '
                                'directory that holds ansible_collections on PYTHONPATH, to run the functional tests: '
                                'run them with `make functional` or `make test`')


@pytest.fixture
def sim():
    """A simulator of its own for one test: its ``SimControl`` (``sim.process`` is the process)."""
    control = support.start_simulator()
    yield control
    control.process.stop()


@pytest.fixture
def influx_sim():
    """A simulator of its own in InfluxDB 2 mode for one test (its default org and all-access token: support.INFLUX_*)."""
    control = support.start_simulator(flavor='influxdb2')
    yield control
    control.process.stop()


@pytest.fixture(scope='module')
def shared_sim():
    """One simulator for a module of read-only tests (load a scenario once)."""
    control = support.start_simulator()
    yield control
    control.process.stop()


@pytest.fixture(scope='session')
def pki(tmp_path_factory):
    """A throw-away PKI for the session (see ``support.make_pki``)."""
    return support.make_pki(tmp_path_factory.mktemp('pki'))
