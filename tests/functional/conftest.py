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
    config.addinivalue_line('markers', 'flavors(*names): run the test once per simulator flavor named (kapacitor, '
                                       'influxdb2): its sim or shared_sim plays that server; the flavor is in the test ID')
    config.addinivalue_line('markers', 'kapacitor_only(reason): in a test or file marked flavors(...), skip the '
                                       'InfluxDB 2 case; the reason names the Kapacitor behaviour the test is about')


def pytest_generate_tests(metafunc):
    """``flavors(...)`` (on a test, or a file's ``pytestmark``) parametrizes the simulator fixtures the test takes,
    ``sim`` and ``shared_sim``, with those flavors; ``kapacitor_only(reason)`` turns the other flavors into skips.
    A test of a marked file that takes no simulator runs once."""
    marker = metafunc.definition.get_closest_marker('flavors')
    names = [name for name in ('sim', 'shared_sim') if name in metafunc.fixturenames]
    if marker is None or not names:
        return
    unknown = set(marker.args) - set(support.FLAVORS)
    if unknown or not marker.args:
        raise pytest.UsageError('flavors(%s): expected one or more of %s' % (', '.join(marker.args), ', '.join(support.FLAVORS)))
    only = metafunc.definition.get_closest_marker('kapacitor_only')
    if only and len(only.args) != 1:
        raise pytest.UsageError('kapacitor_only(reason): say which Kapacitor behaviour the test is about')
    skip = pytest.mark.skip(reason='Kapacitor only: %s' % only.args[0]) if only else None
    params = [pytest.param(*[flavor] * len(names), id=flavor, marks=skip if skip and flavor != 'kapacitor' else ())
              for flavor in marker.args]
    metafunc.parametrize(names, params, indirect=True)


@pytest.fixture
def sim(request):
    """A simulator of its own for one test: its ``SimControl`` (``sim.process`` is the process); a Kapacitor unless
    the test is marked ``flavors(...)``."""
    control = support.start_simulator(flavor=getattr(request, 'param', 'kapacitor'))
    yield control
    control.process.stop()


@pytest.fixture(scope='module')
def shared_sim(request):
    """One simulator for a module of read-only tests (load a scenario once); one per flavor under ``flavors(...)``."""
    control = support.start_simulator(flavor=getattr(request, 'param', 'kapacitor'))
    yield control
    control.process.stop()


@pytest.fixture(scope='session')
def pki(tmp_path_factory):
    """A throw-away PKI for the session (see ``support.make_pki``)."""
    return support.make_pki(tmp_path_factory.mktemp('pki'))
