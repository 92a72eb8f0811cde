# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Stand-ins the orchestration layer's unit tests share: a clock that only moves when slept on, and run IDs."""

from ansible_collections.tickstack.kapacitor.plugins.module_utils._client import INFLUX_DEFAULT_HORIZON
from ansible_collections.tickstack.kapacitor.plugins.module_utils._runs import HORIZON_SECONDS, SNOWFLAKE_EPOCH


def snowflake(seconds, sequence=0):
    """A Kapacitor run ID created at ``seconds`` (epoch): milliseconds since SNOWFLAKE_EPOCH in the top 42 bits."""
    return '%016x' % ((int((seconds - SNOWFLAKE_EPOCH) * 1000) << 22) + sequence)


class FakeClock:
    """Monotonic seconds for the code under test; ``sleep`` records the wait and moves the clock instead."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


class FakeServer:
    """What a scripted fake client says about its server, as KapacitorClient does: Kapacitor unless ``server_type``
    is set to ``influxdb2`` (then the default 3-day horizon, and a task listing needs ``org`` unless it is set)."""

    server_type = 'kapacitor'
    org = None

    @property
    def lists_every_task(self):
        return self.server_type == 'kapacitor' or self.org is not None

    def horizon_seconds(self):
        return HORIZON_SECONDS if self.server_type == 'kapacitor' else INFLUX_DEFAULT_HORIZON
