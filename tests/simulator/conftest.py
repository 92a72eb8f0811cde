"""Fixtures of the simulator's tests: in-process simulators on port 0 and a client for each.

Shared non-fixture code is in sim_support.py. This directory goes on sys.path here, so the tests import
``kapacitor_simulator``, ``process`` and ``sim_support`` under any pytest import mode.
"""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from kapacitor_simulator import KapacitorSimulator  # noqa: E402  pylint: disable=wrong-import-position
from sim_support import ApiClient  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture
def make_sim():
    """Factory: make_sim(scenario=..., **KapacitorSimulator kwargs) -> (simulator, client); all stopped at teardown."""
    started = []

    def factory(scenario=None, **kwargs):
        sim = KapacitorSimulator(port=0, scenario=scenario, **kwargs).start()
        started.append(sim)
        return sim, ApiClient(sim.url)

    yield factory
    for sim in started:
        sim.stop()


@pytest.fixture
def sim_client(make_sim):
    return make_sim()[1]
