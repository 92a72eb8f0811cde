"""Command-line entry of the Kapacitor simulator (docs/simulator.md).

    python tests/simulator/kapacitor_sim.py --port 0 [--scenario FILE] [--ready-file PATH] [--pid-file PATH] [...]
    python tests/simulator/kapacitor_sim.py --port 0 --flavor influxdb2 [...]     # an InfluxDB 2 server instead

Works from any directory, with no install and no PYTHONPATH: the ``kapacitor_simulator`` package sits next to it.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from kapacitor_simulator.server import main  # noqa: E402  pylint: disable=wrong-import-position

if __name__ == '__main__':
    sys.exit(main())
