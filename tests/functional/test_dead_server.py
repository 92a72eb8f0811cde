# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""kapacitor_task_run_retry when the server (Kapacitor or InfluxDB 2) dies in the middle of a call: it stops sending,
gives every run not yet tried one shared reason, and fails with a short message, in seconds."""

import threading
import time

import pytest

from ansible_collections.tickstack.kapacitor.tests.functional.support import BOTH_FLAVORS, run_module
from ansible_collections.tickstack.kapacitor.tests.simulator.sim_support import wait_for

# Module logic against the simulator, the same on every ansible-core line: CI runs it on the tool line.
pytestmark = [pytest.mark.line_independent, BOTH_FLAVORS]

RUNS = 200


def test_a_server_that_dies_during_200_retries_ends_the_call_quickly_with_one_grouped_reason(sim):
    sim.load({'tasks': [{'name': 'busy', 'run_seconds': 0.05,
                         'runs': [{'status': 'failed', 'scheduled_for': '-%dm' % (m + 1)} for m in range(RUNS)]}]})
    listed = run_module('kapacitor_task_runs_info', dict(sim.connection, status=['failed']))
    assert listed.rc == 0 and len(listed['runs']) == RUNS
    done = {}

    def call():
        done['result'] = run_module('kapacitor_task_run_retry', dict(sim.connection, runs=listed['runs'], concurrency=4))
        done['at'] = time.monotonic()

    worker = threading.Thread(target=call)
    worker.start()
    wait_for(lambda: sim.stats()['retries_started'] >= 20, timeout=120, what='20 retries to start')
    retried_before_death = sim.stats()['retries_started']
    sim.process.proc.kill()  # the server dies: nothing listens on its port any more
    died = time.monotonic()
    worker.join(120)
    assert not worker.is_alive()
    result = done['result']

    # Seconds, not a minute: the module stopped sending once the server was found gone.
    assert done['at'] - died < 20
    assert result.rc == 1 and len(result['results']) == RUNS
    outcomes = [entry['outcome'] for entry in result['results']]
    assert outcomes.count('retried') >= retried_before_death - 4  # the ones in flight when it died may be errors
    errors = [entry for entry in result['results'] if entry['outcome'] == 'error']
    assert len(errors) >= RUNS - retried_before_death - 8
    # One shared reason for the runs not yet tried, naming the server and that it vanished during the call.
    shared = '%s at %s became unreachable during the call' % (sim.product, sim.url)
    assert sum(1 for entry in errors if entry['msg'].startswith(shared)) >= len(errors) - 8
    message = result['msg']
    assert len(message) < 2000, len(message)
    assert message.startswith('%d of %d run(s) could not be retried: ' % (len(errors), RUNS))
    # At most two groups carry it: the runs never sent, and those whose request was in flight when it died; on
    # InfluxDB 2 a third, the runs it had accepted whose end could not be read any more (one reason for all).
    groups = 3 if sim.flavor == 'influxdb2' else 2
    assert 1 <= message.count(shared) <= groups and 'run(s) error: ' + shared in message
    # The hint fits a server that answered earlier: not a wrong url.
    assert 'still running' in message and 'check url' not in message.lower()
    assert 'Traceback' not in result.stderr
