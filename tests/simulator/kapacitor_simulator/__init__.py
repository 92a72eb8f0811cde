"""A faithful, threaded test double of Kapacitor's Flux task HTTP API (Python standard library only).

The behaviour follows docs/kapacitor-api.md (cited as "docs/kapacitor-api.md §N"), the project's account of Kapacitor read
from its Go source at pinned versions; the command line, the scenario format and the ``/_sim/...`` control API are the
contract of docs/simulator.md.

Modules, in dependency order:

* ``constants``    the API's paths, limits and defaults
* ``encoding``     Go-compatible JSON, error bodies, times and Go's parse error texts
* ``ids``          16-hex IDs and the snowflake generator
* ``flux_options`` the ``option task = {...}`` block
* ``schedule``     the scheduler's ``every``/``cron`` grid and the API's ``offset`` form
* ``model``        tasks, runs (kv store and completed history), counters, injected faults
* ``scenarios``    scenario files and generators
* ``auth``         Basic, JWT and query-string credentials; read-only users
* ``routing``      httprouter's routes, redirects and 405s
* ``api``          the task API handlers
* ``control``      the ``/_sim/...`` back door
* ``influxdb2``    InfluxDB 2 mode (``--flavor influxdb2``): what InfluxDB 2 does differently (docs/influxdb2-api.md)
* ``server``       the HTTP server, ``KapacitorSimulator`` (in-process) and the command line

Start it as a process with ``tests/simulator/kapacitor_sim.py`` (or ``SimulatorProcess`` in
``tests/simulator/process.py``); embed it with ``KapacitorSimulator(port=0, scenario={...}).start()``.
"""

from .server import KapacitorSimulator, main

__all__ = ['KapacitorSimulator', 'main']
