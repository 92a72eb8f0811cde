"""A faithful, threaded test double of Kapacitor's Flux task HTTP API.

The behaviour mirrors /work/shared/kapacitor-api.md (cited below as "spec §N"), the project's reference read
from Kapacitor's Go source; the command line, scenario format and ``/_sim/...`` control API are the contract of
docs/simulator.md.  Python standard library only.

Run it:   python tests/simulator/kapacitor_sim.py --port 9092 [--scenario FILE] [...]
Embed it: sim = Simulator(port=0, scenario={...}); sim.start(); ... sim.url ...; sim.stop()
"""

import argparse
import base64
import bisect
import binascii
import hashlib
import hmac
import json
import random
import re
import select
import signal
import socket
import ssl
import sys
import threading
import time
import traceback
import uuid
from collections import namedtuple
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlencode, urlsplit

VERSION = "1.8.3"
API_PREFIX = "/kapacitor/v1"
TASKS_PREFIX = API_PREFIX + "/api/v2/tasks"
ADMIN_USER = "ADMIN_USER"
NS = 1_000_000_000
HORIZON_NS = 14 * 86400 * NS           # spec §4.4: every read of completed runs uses range(start: -14d)
SNOWFLAKE_EPOCH_MS = 1491696000000     # spec §5.3
DEFAULT_LIMIT, MAX_LIMIT = 100, 500    # spec §4.1 / §4.4
POLL_SECONDS = 0.02
DEFAULT_RETRY_ERROR = 'runtime error @4:6-4:40: to: failed to write data: Post "http://influxdb:8086/api/v2/write": connection refused'
DEFAULT_FLUX_ERROR = "error @3:1-3:4: invalid expression"


# ---------------------------------------------------------------------------------------------------------------------
# Errors and encoding helpers
# ---------------------------------------------------------------------------------------------------------------------

class APIError(Exception):
    """An influxdb platform error: rendered as {"code","message"} (spec §5.1)."""

    STATUS = {"internal error": 500, "not implemented": 501, "not found": 404, "conflict": 422, "invalid": 400,
              "unprocessable entity": 422, "empty value": 400, "unavailable": 503, "forbidden": 403,
              "too many requests": 429, "unauthorized": 401, "method not allowed": 405, "request too large": 413}

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def status(self):
        return self.STATUS.get(self.code, 500)


def decode_error(inner):
    """Every decode error is wrapped with code invalid, whatever the inner code (spec §5.1)."""
    return APIError("invalid", "failed to decode request: " + inner)


def go_json(obj):
    """Encode like Go's json.Encoder: compact, UTF-8, HTML-escaped, trailing newline (spec §2)."""
    return go_marshal(obj) + b"\n"


def go_marshal(obj):
    """Encode like Go's json.Marshal (no trailing newline)."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return text.encode("utf-8")


def go_quote(text):
    """Approximates Go's %q / strconv.Quote for the strings that appear in messages."""
    return json.dumps(text, ensure_ascii=False)


def format_time(ns, nanos=True):
    """Go time.Time JSON (RFC3339Nano, trailing zeros trimmed) or RFC3339 seconds, in UTC."""
    secs, frac = divmod(ns, NS)
    base = datetime.fromtimestamp(secs, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    if nanos and frac:
        return base + "." + ("%09d" % frac).rstrip("0") + "Z"
    return base + "Z"


def now_ns():
    return time.time_ns()


_REL_TIME = re.compile(r"^([+-])(\d+(?:\.\d+)?)([smhd])$")
_UNIT_NS = {"s": NS, "m": 60 * NS, "h": 3600 * NS, "d": 86400 * NS}


def parse_scenario_time(value, base_ns):
    """Scenario times: RFC3339 or an offset from load time such as -90m (docs/simulator.md)."""
    match = _REL_TIME.match(str(value).strip())
    if match:
        delta = int(float(match.group(2)) * _UNIT_NS[match.group(3)])
        return base_ns + delta if match.group(1) == "+" else base_ns - delta
    return parse_rfc3339(str(value))


def parse_duration(value):
    """Parse a simple duration such as 1m, 90s, 1h30m, 2d into nanoseconds."""
    total, pos = 0, 0
    for match in re.finditer(r"(\d+(?:\.\d+)?)(ns|us|ms|s|m|h|d|w)", value):
        if match.start() != pos:
            raise ValueError("bad duration %r" % value)
        mult = {"ns": 1, "us": 1000, "ms": 1000000, "s": NS, "m": 60 * NS, "h": 3600 * NS, "d": 86400 * NS, "w": 7 * 86400 * NS}
        total += int(float(match.group(1)) * mult[match.group(2)])
        pos = match.end()
    if pos != len(value) or not value:
        raise ValueError("bad duration %r" % value)
    return total


_RFC3339_LAYOUT = "2006-01-02T15:04:05Z07:00"


def parse_rfc3339(value):
    """time.Parse(time.RFC3339, v) with Go's error texts (approximated); returns ns since the epoch."""
    pos = 0
    fields = {}

    def fail(rest_at, elem):
        raise ValueError('parsing time %s as "%s": cannot parse %s as "%s"' % (go_quote(value), _RFC3339_LAYOUT, go_quote(value[rest_at:]), elem))

    def number(name, width, elem):
        nonlocal pos
        chunk = value[pos:pos + width]
        if len(chunk) != width or not chunk.isdigit():
            fail(pos, elem)
        fields[name] = int(chunk)
        pos += width

    def literal(text):
        nonlocal pos
        if not value.startswith(text, pos):
            fail(pos, text)
        pos += len(text)

    number("year", 4, "2006")
    literal("-")
    number("month", 2, "01")
    literal("-")
    number("day", 2, "02")
    literal("T")
    number("hour", 2, "15")
    literal(":")
    number("minute", 2, "04")
    literal(":")
    number("second", 2, "05")
    frac_ns = 0
    match = re.compile(r"[.,](\d+)").match(value, pos)
    if match:
        frac_ns = int((match.group(1) + "000000000")[:9])
        pos = match.end()
    if value.startswith("Z", pos):
        offset, pos = 0, pos + 1
    else:
        match = re.compile(r"([+-])(\d\d):(\d\d)").match(value, pos)
        if not match:
            fail(pos, "Z07:00")
        offset = (int(match.group(2)) * 60 + int(match.group(3))) * 60 * (1 if match.group(1) == "+" else -1)
        pos = match.end()
    for name, low, high in (("month", 1, 12), ("hour", 0, 23), ("minute", 0, 59), ("second", 0, 59)):
        if not low <= fields[name] <= high:
            raise ValueError("parsing time %s: %s out of range" % (go_quote(value), name))
    if pos != len(value):
        raise ValueError("parsing time %s: extra text: %s" % (go_quote(value), go_quote(value[pos:])))
    try:
        stamp = datetime(fields["year"], fields["month"], fields["day"], fields["hour"], fields["minute"], fields["second"], tzinfo=timezone.utc)
    except ValueError:
        raise ValueError("parsing time %s: day out of range" % go_quote(value)) from None
    return (int(stamp.timestamp()) - offset) * NS + frac_ns


def go_atoi(text):
    """strconv.Atoi with Go's error messages."""
    if not re.fullmatch(r"[+-]?\d+", text):
        raise ValueError('strconv.Atoi: parsing %s: invalid syntax' % go_quote(text))
    number = int(text)
    if not -(1 << 63) <= number < (1 << 63):
        raise ValueError('strconv.Atoi: parsing %s: value out of range' % go_quote(text))
    return number


def parse_id(text):
    """platform.ID decoding (spec §5.3): 16 bytes, hex in either case, non-zero."""
    if len(text.encode("utf-8")) != 16:
        raise ValueError("id must have a length of 16 bytes")
    if not re.fullmatch(r"[0-9a-fA-F]{16}", text) or int(text, 16) == 0:
        raise ValueError("invalid ID")
    return int(text, 16)


def fmt_id(value):
    return "%016x" % value


# ---------------------------------------------------------------------------------------------------------------------
# IDs
# ---------------------------------------------------------------------------------------------------------------------

class IdGenerator:
    """Snowflake IDs (spec §5.3): ms since 2017-04-09 << 22 | machine << 12 | sequence, strictly increasing for live IDs."""

    def __init__(self, machine=None):
        self.machine = (random.getrandbits(10) if machine is None else machine) & 0x3FF
        self.last = 0
        self.sequences = {}
        self.used = set()

    def _compose(self, ms, seq):
        return (max(ms - SNOWFLAKE_EPOCH_MS, 1) << 22) | (self.machine << 12) | seq

    def derived(self, at_ns):
        """An ID for a seeded object created at ``at_ns``: unique, ordered by time among seeded IDs."""
        ms = at_ns // 1_000_000
        while True:
            seq = self.sequences.get(ms, 0)
            if seq < 4096:
                self.sequences[ms] = seq + 1
                value = self._compose(ms, seq)
                if value not in self.used:
                    self.reserve(value)
                    return value
            else:
                ms += 1

    def live(self):
        """An ID for an object created now: larger than every ID handed out so far."""
        value = max(self._compose(now_ns() // 1_000_000, 0), self.last + 1)
        while value in self.used:
            value += 1
        self.reserve(value)
        return value

    def reserve(self, value):
        self.used.add(value)
        self.last = max(self.last, value)


# ---------------------------------------------------------------------------------------------------------------------
# Flux task options
# ---------------------------------------------------------------------------------------------------------------------

_OPTION_BLOCK = re.compile(r"option\s+task\s*=\s*\{(?P<body>[^{}]*)\}")
_OPTION_ITEM = re.compile(r'\s*(?P<key>[A-Za-z_]\w*)\s*:\s*(?P<value>"(?:[^"\\]|\\.)*"|[^,]+?)\s*(?:,|$)', re.S)


def parse_task_options(flux):
    """Extract name/every/cron/offset from ``option task = {...}`` (spec §3.1 / §4.2)."""
    match = _OPTION_BLOCK.search(flux or "")
    if not match:
        raise APIError("invalid", "invalid options: no task options defined")
    options = {}
    for item in _OPTION_ITEM.finditer(match.group("body")):
        value = item.group("value").strip()
        if value.startswith('"'):
            value = json.loads(value)
        options[item.group("key")] = value
    if not options.get("name"):
        raise APIError("invalid", "invalid options: missing required option: name")
    if bool(options.get("every")) == bool(options.get("cron")):
        raise APIError("invalid", "invalid options: must specify exactly one of either cron or every")
    return options


def render_option_value(key, value):
    return json.dumps(value) if key in ("name", "cron") else str(value)


def rewrite_task_options(flux, updates):
    """Write name/every/cron/offset updates into the Flux option block (spec §4.3); empty string deletes."""
    options = parse_task_options(flux)
    for key, value in updates.items():
        if key == "every" and value:
            options.pop("cron", None)
        if key == "cron" and value:
            options.pop("every", None)
        if value in ("", None):
            options.pop(key, None)
        else:
            options[key] = value
    body = ", ".join("%s: %s" % (key, render_option_value(key, value)) for key, value in options.items())
    return _OPTION_BLOCK.sub(lambda _m: "option task = {%s}" % body, flux, count=1)


def default_flux(name, every=None, cron=None):
    """A plausible task script for scenario tasks that give no ``flux``."""
    schedule = "cron: %s" % json.dumps(cron) if cron else "every: %s" % (every or "1m")
    return ('option task = {name: %s, %s}\n\nfrom(bucket: "telegraf/autogen")\n    |> range(start: -1h)\n'
            '    |> filter(fn: (r) => r._measurement == "cpu")\n    |> aggregateWindow(every: 1m, fn: mean)\n'
            '    |> to(bucket: "rollups/autogen")\n' % (json.dumps(name), schedule))


# ---------------------------------------------------------------------------------------------------------------------
# State
# ---------------------------------------------------------------------------------------------------------------------

class Task:
    """A task record as the kv store holds it, plus the simulator's execution knobs."""

    __slots__ = ("id", "name", "status", "flux", "every", "cron", "offset", "description", "owner", "created_at",
                 "updated_at", "latest_completed", "last_run_status", "last_run_error", "run_seconds", "queue_seconds",
                 "retry_outcomes", "retry_error")

    def __init__(self, task_id, flux, owner, created_at):
        self.id = task_id
        self.flux = flux
        self.owner = owner
        self.status = "active"
        self.description = ""
        self.created_at = created_at
        self.updated_at = None
        self.latest_completed = created_at
        self.last_run_status = ""
        self.last_run_error = ""
        self.run_seconds = 0.0
        self.queue_seconds = 0.0
        self.retry_outcomes = ["success"]
        self.retry_error = DEFAULT_RETRY_ERROR
        self.name = self.every = self.cron = self.offset = ""
        self.apply_options(parse_task_options(flux))

    def apply_options(self, options):
        self.name = options.get("name", "")
        self.every = options.get("every", "")
        self.cron = options.get("cron", "")
        self.offset = options.get("offset", "")

    def to_json(self):
        """Task object, key order and omitempty as spec §3.1."""
        tid = fmt_id(self.id)
        out = {"links": {"logs": "%s/%s/logs" % (TASKS_PREFIX, tid), "runs": "%s/%s/runs" % (TASKS_PREFIX, tid),
                         "self": "%s/%s" % (TASKS_PREFIX, tid)},
               "labels": None, "id": tid, "ownerID": self.owner, "orgID": "", "name": self.name}
        optional = [("description", self.description), ("status", self.status), ("flux", self.flux), ("every", self.every),
                    ("cron", self.cron), ("offset", self.offset),
                    ("latestCompleted", self.latest_completed and format_time(self.latest_completed, False)),
                    ("lastRunStatus", self.last_run_status), ("lastRunError", self.last_run_error),
                    ("createdAt", self.created_at and format_time(self.created_at, False)),
                    ("updatedAt", self.updated_at and format_time(self.updated_at, False))]
        for key, value in optional:
            if value or key in ("status", "flux"):
                out[key] = value
        return out


def tie_key(run_id):
    """Completed runs sharing a scheduledFor come back in an unspecified order (spec §4.4 point 4): ties are
    sorted by a scrambled ID, so a client that relies on ID order sees both orders."""
    return (run_id * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF


class Run:
    """One run. ``log`` None means "the executor's default lines", built lazily (cheap 100k-run scenarios)."""

    __slots__ = ("id", "task_id", "status", "scheduled_for", "started_at", "finished_at", "requested_at", "log",
                 "error", "manual", "created_by_retry", "tie", "cancel", "done", "flux")

    def __init__(self, run_id, task_id, status, scheduled_for):
        self.id = run_id
        self.task_id = task_id
        self.status = status
        self.scheduled_for = scheduled_for      # ns, whole seconds
        self.started_at = self.finished_at = self.requested_at = None
        self.log = None
        self.error = ""
        self.manual = False
        self.created_by_retry = False
        self.tie = tie_key(run_id)
        self.cancel = None
        self.done = None
        self.flux = None

    def log_entries(self, task_flux):
        if self.log is not None:
            return self.log
        if self.status not in ("success", "failed", "canceled") or self.started_at is None:
            return []
        rid = fmt_id(self.id)
        script = self.flux if self.flux is not None else task_flux
        end = self.finished_at or self.started_at
        entries = [{"runID": rid, "time": format_time(self.started_at), "message": "Started task from script: " + go_quote(script or "")},
                   {"runID": rid, "time": format_time(end), "message": "Completed(%s)" % ("success" if self.status == "success" else "failed")}]
        if self.status != "success":
            entries.append({"runID": rid, "time": format_time(end), "message": self.error or DEFAULT_RETRY_ERROR})
        return entries

    def to_json(self, task_flux):
        """Run object as spec §3.2: scheduledFor always, other times and log omitted when empty."""
        tid, rid = fmt_id(self.task_id), fmt_id(self.id)
        base = "%s/%s/runs/%s" % (TASKS_PREFIX, tid, rid)
        out = {"links": {"logs": base + "/logs", "retry": base + "/retry", "self": base, "task": "%s/%s" % (TASKS_PREFIX, tid)},
               "id": rid, "taskID": tid, "status": self.status, "scheduledFor": format_time(self.scheduled_for)}
        for key, value in (("startedAt", self.started_at), ("finishedAt", self.finished_at), ("requestedAt", self.requested_at)):
            if value is not None:
                out[key] = format_time(value)
        log = self.log_entries(task_flux)
        if log:
            out["log"] = log
        return out

    def sort_key(self):
        return (self.scheduled_for, self.tie)


class TaskRuns:
    """Runs of one task ID. Survives task deletion: completed history lives in InfluxDB (spec §1, §4.3)."""

    def __init__(self):
        self.queued = []            # queued manual runs, insertion order (kv manualRuns list)
        self.running = {}           # run id -> Run (kv taskRunsv1/<task>/<run>)
        self.completed = []         # sorted by (scheduled_for, tie)
        self.keys = []              # parallel sort keys for bisect
        self.completed_by_id = {}
        self.max_lag = 0            # max(started_at - scheduled_for): bounds the 14-day scan
        self.attempts = {}          # scheduled_for -> attempts created live by retry / force run

    def add_completed(self, run, bulk=False):
        self.completed_by_id[run.id] = run
        if bulk:
            self.completed.append(run)
        else:
            index = bisect.bisect(self.keys, run.sort_key())
            self.keys.insert(index, run.sort_key())
            self.completed.insert(index, run)
        self.max_lag = max(self.max_lag, (run.started_at or run.scheduled_for) - run.scheduled_for)

    def finish_bulk(self):
        self.completed.sort(key=Run.sort_key)
        self.keys = [run.sort_key() for run in self.completed]

    def visible_completed(self, now, after_ns=None, before_ns=None):
        """Completed runs newest scheduledFor first, started within 14 days, scheduledFor in (after, before)."""
        horizon = now - HORIZON_NS
        low = horizon - self.max_lag
        if after_ns is not None:
            low = max(low, after_ns + 1)
        high = before_ns if before_ns is not None else now
        start = bisect.bisect_left(self.keys, (low, -1))
        stop = bisect.bisect_left(self.keys, (high, -1))
        for index in range(stop - 1, start - 1, -1):
            run = self.completed[index]
            if (run.started_at if run.started_at is not None else run.scheduled_for) >= horizon:
                yield run

    def find_completed(self, run_id, now):
        run = self.completed_by_id.get(run_id)
        if run is None or (run.started_at if run.started_at is not None else run.scheduled_for) < now - HORIZON_NS:
            return None
        return run


class Stats:
    def __init__(self):
        self.reset()

    def reset(self):
        self.requests = {}
        self.requests_total = 0
        self.retries_started = 0
        self.retries_in_flight = 0
        self.peak_concurrent_retries = 0
        self.disconnect_cancellations = 0
        self.faults_injected = {}

    def to_json(self):
        return {"requests": dict(sorted(self.requests.items())), "requests_total": self.requests_total,
                "retries_started": self.retries_started, "retries_in_flight": self.retries_in_flight,
                "peak_concurrent_retries": self.peak_concurrent_retries,
                "disconnect_cancellations": self.disconnect_cancellations, "faults_injected": dict(self.faults_injected)}


class Faults:
    """Seeded fault injection (docs/simulator.md); kinds: latency, get_error, rate_limit, reset, retry_drop_after."""

    def __init__(self, spec=None):
        spec = spec or {}
        self.rng = random.Random(spec.get("seed", 1))
        self.latency_ms = float(spec.get("latency_ms", 0))
        self.latency_ratio = float(spec.get("latency_ratio", 1.0 if spec.get("latency_ms") else 0.0))
        self.get_error_ratio = float(spec.get("get_error_ratio", 0))
        self.get_error_status = int(spec.get("get_error_status", 503))
        self.rate_limit_ratio = float(spec.get("rate_limit_ratio", 0))
        self.retry_after = spec.get("retry_after", 1)
        self.reset_ratio = float(spec.get("reset_ratio", 0))
        self.retry_drop_after_ratio = float(spec.get("retry_drop_after_ratio", 0))
        self.routes = set(spec.get("routes") or ())

    def draw(self, ratio):
        return ratio > 0 and self.rng.random() < ratio

    def plan(self, method, template):
        """Decide, once per request, which faults hit it. Returns a set of kinds."""
        if self.routes and template not in self.routes:
            return set()
        hits = set()
        if self.draw(self.reset_ratio):
            return {"reset"}
        if self.latency_ms > 0 and self.draw(self.latency_ratio):
            hits.add("latency")
        if self.draw(self.rate_limit_ratio):
            hits.add("rate_limit")
        elif method == "GET" and self.draw(self.get_error_ratio):
            hits.add("get_error")
        elif template == "POST /api/v2/tasks/:id/runs/:rid/retry" and self.draw(self.retry_drop_after_ratio):
            hits.add("retry_drop_after")
        return hits


ExecutionPlan = namedtuple("ExecutionPlan", "created_json outcome queue_seconds run_seconds retry_error")


class ClientGone(Exception):
    """The HTTP client went away while its retry / force run was blocking."""


class State:
    """All simulated state, guarded by one lock (never held while a run "executes")."""

    def __init__(self, machine=None):
        self.lock = threading.RLock()
        self.ids = IdGenerator(machine)
        self.tasks = {}            # id -> Task
        self.task_ids = []         # sorted ids for paging
        self.runs = {}             # task id -> TaskRuns
        self.stats = Stats()
        self.faults = Faults()

    # -- helpers ------------------------------------------------------------------------------------------------------
    def runs_of(self, task_id):
        runs = self.runs.get(task_id)
        if runs is None:
            runs = self.runs[task_id] = TaskRuns()
        return runs

    def task_flux(self, task_id):
        task = self.tasks.get(task_id)
        return task.flux if task else ""

    def add_task(self, task):
        self.tasks[task.id] = task
        bisect.insort(self.task_ids, task.id)
        self.runs_of(task.id)

    # -- scenario -----------------------------------------------------------------------------------------------------
    def load_scenario(self, scenario):
        """Replace all state (docs/simulator.md "Scenario format")."""
        loader = ScenarioLoader(self.ids.machine, now_ns())
        loader.load(scenario or {})
        with self.lock:
            self.ids = loader.ids
            self.tasks = {}
            self.task_ids = []
            self.runs = loader.runs
            for task in loader.tasks:
                self.add_task(task)
            return {"tasks": [{"id": fmt_id(task.id), "name": task.name} for task in loader.tasks], "runs": loader.run_count}

    def sim_state(self):
        with self.lock:
            tasks = [self.tasks[tid].to_json() for tid in self.task_ids]
            runs = []
            for task_id, task_runs in sorted(self.runs.items()):
                for run in sorted(task_runs.queued + list(task_runs.running.values()) + task_runs.completed, key=lambda r: r.id):
                    runs.append({"id": fmt_id(run.id), "task_id": fmt_id(task_id), "status": run.status,
                                 "scheduled_for": format_time(run.scheduled_for),
                                 "started_at": run.started_at and format_time(run.started_at),
                                 "finished_at": run.finished_at and format_time(run.finished_at),
                                 "requested_at": run.requested_at and format_time(run.requested_at), "manual": run.manual})
            return {"tasks": tasks, "runs": runs}

    def sim_attempts(self, task_filter=None):
        with self.lock:
            out = {}
            for task_id, task_runs in sorted(self.runs.items()):
                if task_filter is not None and task_id != task_filter:
                    continue
                groups = {}
                for run in task_runs.queued + list(task_runs.running.values()) + task_runs.completed:
                    groups.setdefault(run.scheduled_for, []).append(run)
                out[fmt_id(task_id)] = {
                    format_time(sf): [{"id": fmt_id(r.id), "status": r.status, "manual": r.manual, "created_by_retry": r.created_by_retry}
                                      for r in sorted(runs, key=lambda r: r.id)]
                    for sf, runs in sorted(groups.items())}
            return out


class ScenarioLoader:
    """Builds tasks and runs from a scenario dict without touching the live state."""

    def __init__(self, machine, base_ns):
        self.ids = IdGenerator(machine)
        self.base = base_ns
        self.tasks = []
        self.runs = {}
        self.run_count = 0

    def load(self, scenario):
        specs = list(scenario.get("tasks") or [])
        # Reserve explicit IDs first so derived ones never collide with them.
        for spec in specs:
            if spec.get("id"):
                self.ids.reserve(parse_id(spec["id"]))
            for run in spec.get("runs") or []:
                if run.get("id"):
                    self.ids.reserve(parse_id(run["id"]))
        specs.extend(self.generated_task_specs(scenario.get("generate")))
        for spec in specs:
            self.load_task(spec)
        for task_runs in self.runs.values():
            task_runs.finish_bulk()

    @staticmethod
    def generated_task_specs(gen):
        if not gen:
            return []
        count = int(gen.get("tasks", 0))
        rng = random.Random(gen.get("seed", 1))
        inactive = set(rng.sample(range(count), round(count * float(gen.get("inactive_ratio", 0)))))
        prefix = gen.get("name_prefix", "task")
        every = gen.get("every", "1m")
        specs = []
        for index in range(count):
            spec = {"name": "%s_%04d" % (prefix, index + 1), "every": every,
                    "status": "inactive" if index in inactive else "active",
                    "run_seconds": gen.get("run_seconds", 0), "queue_seconds": gen.get("queue_seconds", 0)}
            for key in ("retry_outcomes", "retry_error"):
                if key in gen:
                    spec[key] = gen[key]
            runs_per_task = int(gen.get("runs_per_task", 0))
            if runs_per_task:
                spec["generate_runs"] = {"count": runs_per_task, "every": every, "end": gen.get("end", "-" + every),
                                         "failed_ratio": gen.get("failed_ratio", 0), "retried_ratio": gen.get("retried_ratio", 0),
                                         "seed": int(gen.get("seed", 1)) * 100003 + index}
            specs.append(spec)
        return specs

    def load_task(self, spec):
        flux = spec.get("flux") or default_flux(spec.get("name", "task"), spec.get("every"), spec.get("cron"))
        run_specs = list(spec.get("runs") or [])
        generated = generate_run_specs(spec.get("generate_runs"), self.base) if spec.get("generate_runs") else []
        times = [parse_scenario_time(r["scheduled_for"], self.base) for r in run_specs if r.get("scheduled_for")]
        times += [g[0] for g in generated]
        created = (min(times) if times else self.base) - 3600 * NS
        created -= created % NS
        task_id = parse_id(spec["id"]) if spec.get("id") else self.ids.derived(created)
        task = Task(task_id, flux, spec.get("owner", ADMIN_USER), created)
        task.status = spec.get("status", "active")
        task.description = spec.get("description", "")
        task.run_seconds = float(spec.get("run_seconds", 0))
        task.queue_seconds = float(spec.get("queue_seconds", 0))
        task.retry_outcomes = list(spec.get("retry_outcomes") or ["success"])
        task.retry_error = spec.get("retry_error") or DEFAULT_RETRY_ERROR
        task_runs = self.runs.setdefault(task_id, TaskRuns())
        for run_spec in run_specs:
            self.add_run(task_runs, self.build_run(task_id, run_spec))
        for scheduled_for, status, retried in generated:
            self.add_generated(task, task_runs, scheduled_for, status, retried)
        self.update_task_summary(task, task_runs)
        self.tasks.append(task)

    def build_run(self, task_id, spec):
        base = self.base
        status = spec.get("status", "success")
        scheduled_for = parse_scenario_time(spec.get("scheduled_for", "-1m"), base)
        scheduled_for -= scheduled_for % NS
        run = Run(0, task_id, status, scheduled_for)
        for attr, key in (("started_at", "started_at"), ("finished_at", "finished_at"), ("requested_at", "requested_at")):
            if spec.get(key):
                setattr(run, attr, parse_scenario_time(spec[key], base))
        if status in ("success", "failed", "canceled", "started"):
            if run.started_at is None:
                run.started_at = max(scheduled_for, run.requested_at or 0) + 12_345_678
        if status in ("success", "failed", "canceled") and run.finished_at is None:
            run.finished_at = run.started_at + 250_000_000
        run.manual = run.requested_at is not None
        if spec.get("log") is not None:
            run.log = [{"runID": "", "time": entry.get("time", ""), "message": entry.get("message", "")} for entry in spec["log"]]
        run.error = spec.get("error", "")
        run_id = parse_id(spec["id"]) if spec.get("id") else self.ids.derived(run.started_at or run.requested_at or scheduled_for)
        run.id = run_id
        run.tie = tie_key(run_id)
        if run.log is not None:
            for entry in run.log:
                entry["runID"] = fmt_id(run_id)
        return run

    def add_run(self, task_runs, run):
        self.run_count += 1
        if run.status in ("success", "failed", "canceled"):
            task_runs.add_completed(run, bulk=True)
        elif run.status == "started":
            task_runs.running[run.id] = run
        elif run.requested_at is not None:
            task_runs.queued.append(run)
        else:
            task_runs.running[run.id] = run      # a scheduled (not yet started) run held in kv

    def add_generated(self, task, task_runs, scheduled_for, status, retried):
        run = Run(0, task.id, status, scheduled_for)
        run.started_at = scheduled_for + 10_000_000 + (scheduled_for // NS % 7) * 1_000_000
        run.finished_at = run.started_at + 180_000_000
        run.error = task.retry_error if status == "failed" else ""
        self.assign_derived_id(run, run.started_at)
        self.add_run(task_runs, run)
        if retried:
            retry = Run(0, task.id, "success", scheduled_for)
            retry.requested_at = min(scheduled_for + 5 * 60 * NS, self.base - NS)
            retry.requested_at -= retry.requested_at % NS
            retry.requested_at = max(retry.requested_at, run.finished_at + NS - run.finished_at % NS)
            retry.started_at = retry.requested_at + 2_000_000
            retry.finished_at = retry.started_at + 180_000_000
            retry.manual = retry.created_by_retry = True
            self.assign_derived_id(retry, retry.requested_at)
            self.add_run(task_runs, retry)

    def assign_derived_id(self, run, at_ns):
        run.id = self.ids.derived(at_ns)
        run.tie = tie_key(run.id)

    @staticmethod
    def update_task_summary(task, task_runs):
        if not task_runs.completed:
            return
        latest = max(task_runs.completed, key=lambda r: (r.scheduled_for, r.id))
        task.latest_completed = max(task.created_at, latest.scheduled_for)
        task.last_run_status = latest.status if latest.status == "success" else "failed"
        # spec §3.2: lastRunError takes the second-to-last log line, usually "Completed(failed)".
        task.last_run_error = "" if latest.status == "success" else "Completed(failed)"


def generate_run_specs(gen, base):
    """(scheduled_for, status, retried) tuples for ``generate_runs``; exact, seeded counts."""
    count = int(gen.get("count", 0))
    every = parse_duration(str(gen.get("every", "1m")))
    end = parse_scenario_time(gen.get("end", "-" + str(gen.get("every", "1m"))), base)
    end -= end % NS
    rng = random.Random(gen.get("seed", 1))
    failed = set(rng.sample(range(count), round(count * float(gen.get("failed_ratio", 0)))))
    retried = set(rng.sample(sorted(failed), round(len(failed) * float(gen.get("retried_ratio", 0)))))
    return [(end - index * every, "failed" if index in failed else "success", index in retried) for index in range(count)]


# ---------------------------------------------------------------------------------------------------------------------
# Auth (spec §7)
# ---------------------------------------------------------------------------------------------------------------------

class AuthError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def b64url_decode(text):
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise AuthError(401, "illegal base64 data at input byte 0") from None


def verify_jwt(token, secret):
    """jwt-go v3 Parse + Kapacitor's claim checks, HS256/384/512 only; returns the username."""
    parts = token.split(".")
    if len(parts) != 3:
        raise AuthError(401, "token contains an invalid number of segments")
    try:
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
    except ValueError:
        raise AuthError(401, "invalid character looking for beginning of value") from None
    digests = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}
    alg = header.get("alg") if isinstance(header, dict) else None
    if alg not in digests:
        raise AuthError(401, "unexpected signing method: %s" % alg)
    if not isinstance(claims, dict):
        raise AuthError(401, "problem authenticating token")
    now = time.time()
    # jwt-go validates claims first, but a bad signature's error replaces the claim error (ValidationError.Inner).
    claim_error = None
    exp = claims.get("exp")
    if isinstance(exp, (int, float)) and not isinstance(exp, bool) and exp != 0 and now > exp:
        claim_error = "Token is expired"
    nbf = claims.get("nbf")
    if isinstance(nbf, (int, float)) and not isinstance(nbf, bool) and now < nbf:
        claim_error = "Token is not valid yet"
    expected = hmac.new(secret.encode(), (parts[0] + "." + parts[1]).encode(), digests[alg]).digest()
    if not hmac.compare_digest(expected, b64url_decode(parts[2])):
        raise AuthError(401, "signature is invalid")
    if claim_error:
        raise AuthError(401, claim_error)
    if not isinstance(exp, (int, float)) or isinstance(exp, bool) or exp <= 0:
        raise AuthError(401, "token expiration required")
    username = claims.get("username")
    if not isinstance(username, str):
        raise AuthError(401, "username in token must be a string")
    if not username:
        raise AuthError(401, "token must contain a username")
    return username


class Auth:
    """HTTP authentication; on when any user or a shared secret is configured."""

    def __init__(self, users=(), shared_secret=None):
        self.users = {}
        self.readonly = set()
        for entry in users:
            name, dummy, rest = entry.partition(":")
            password, dummy, flag = rest.partition(":")
            if flag == "ro":
                self.readonly.add(name)
            elif flag:
                password = rest
            self.users[name] = password
        self.shared_secret = shared_secret
        self.enabled = bool(self.users) or bool(shared_secret)

    def authenticate(self, headers, query):
        """parseCredentials order (spec §7): Bearer, Basic, then ?u=&p=. Returns the username."""
        if not self.enabled:
            return ADMIN_USER
        header = headers.get("Authorization", "")
        if header:
            parts = header.split(" ")
            if len(parts) == 2 and parts[0] == "Bearer":
                if not self.shared_secret:
                    raise AuthError(401, "signature is invalid")
                return verify_jwt(parts[1], self.shared_secret)
            basic = parse_basic(header)
            if basic is not None:
                return self.check_password(*basic)
        user, password = query.get("u", [""])[0], query.get("p", [""])[0]
        if user and password:
            return self.check_password(user, password)
        raise AuthError(401, "unable to parse authentication credentials")

    def check_password(self, user, password):
        if not user:
            raise AuthError(401, "username required")
        if user not in self.users or not hmac.compare_digest(self.users[user].encode(), password.encode()):
            raise AuthError(401, "authorization failed")
        return user

    def authorize(self, user, method, path):
        """Read-only users may only GET; the resource is path.Join("/api", path minus /kapacitor/v1) (spec §7)."""
        if user not in self.readonly or method == "GET":
            return
        privilege = {"DELETE": "delete"}.get(method, "write")
        resource = "/api" + path[len(API_PREFIX):]
        resource = re.sub(r"/+", "/", resource).rstrip("/") or "/"
        raise AuthError(403, 'user %s does not have "%s" privilege for API endpoint "%s"' % (user, privilege, resource))


def parse_basic(header):
    """net/http Request.BasicAuth."""
    if not header[:6].lower() == "basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:], validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


# ---------------------------------------------------------------------------------------------------------------------
# Routing (httprouter semantics, spec §2)
# ---------------------------------------------------------------------------------------------------------------------

# (segments after /api/v2/tasks, methods). ":id"/":rid" are parameters.
ROUTES = [
    ((), ("GET", "POST")),
    ((":id",), ("GET", "PATCH", "DELETE")),
    ((":id", "logs"), ("GET",)),
    ((":id", "runs"), ("GET", "POST")),
    ((":id", "runs", ":rid"), ("GET", "DELETE")),
    ((":id", "runs", ":rid", "logs"), ("GET",)),
    ((":id", "runs", ":rid", "retry"), ("POST",)),
]
ROUTER_METHODS = {"GET", "POST", "PATCH", "DELETE"}


def match_route(segments, case_insensitive=False):
    """Returns (pattern, params, canonical segments) or None."""
    for pattern, methods in ROUTES:
        if len(pattern) != len(segments):
            continue
        params, canonical = {}, []
        for want, got in zip(pattern, segments):
            if want.startswith(":"):
                if not got:
                    break
                params[want[1:]] = got
                canonical.append(got)
            elif want == got or (case_insensitive and want == got.lower()):
                canonical.append(want)
            else:
                break
        else:
            return pattern, methods, params, canonical
    return None


def route_template(method, pattern):
    return "%s /api/v2/tasks%s" % (method, "".join("/" + part for part in pattern))


# ---------------------------------------------------------------------------------------------------------------------
# The Kapacitor API
# ---------------------------------------------------------------------------------------------------------------------

class Response:
    __slots__ = ("status", "headers", "body")

    def __init__(self, status, body=b"", headers=None):
        self.status = status
        self.body = body
        self.headers = headers or []


def json_response(status, obj):
    return Response(status, go_json(obj), [("Content-Type", "application/json; charset=utf-8")])


def error_response(err):
    """influxdb WriteErrorResponse: compact, no newline, X-Platform-Error-Code (spec §5.1)."""
    body = go_marshal({"code": err.code, "message": err.message})
    return Response(err.status, body, [("Content-Type", "application/json; charset=utf-8"), ("X-Platform-Error-Code", err.code)])


def kapacitor_error(status, message, pretty=False):
    """Kapacitor's HttpError {"error","message"} (spec §7)."""
    if pretty:
        body = json.dumps({"error": message, "message": message}, indent=4).encode()
    else:
        body = go_marshal({"error": message, "message": message})
    return Response(status, body, [("Content-Type", "application/json; charset=utf-8")])


class TaskAPI:
    """Handlers of spec §2 #1-#12. ``request`` gives method, params, query, body, user and a disconnect probe."""

    def __init__(self, state):
        self.state = state

    @staticmethod
    def decode_limit(query, out_of_bounds):
        """``limit``: default 100, Go's Atoi message for a non-integer, ``out_of_bounds`` outside 1..500 (spec §4.1, §4.4)."""
        if not query.get("limit"):
            return DEFAULT_LIMIT
        try:
            limit = go_atoi(query["limit"])
        except ValueError as exc:
            raise decode_error(str(exc)) from None
        if not 1 <= limit <= MAX_LIMIT:
            raise decode_error(out_of_bounds)
        return limit

    # -- tasks --------------------------------------------------------------------------------------------------------
    def list_tasks(self, req):
        query = req.query
        after = None
        if query.get("after"):
            after = self.decode_id(query["after"])
        limit = self.decode_limit(query, "limit must be between 1 and 500")
        status = query.get("status") if query.get("status") in ("active", "inactive") else None   # spec §4.1: others ignored
        name, user = query.get("name"), query.get("user")
        with self.state.lock:
            start = bisect.bisect_right(self.state.task_ids, after) if after is not None else 0
            tasks = []
            for task_id in self.state.task_ids[start:]:
                task = self.state.tasks[task_id]
                if (status and task.status != status) or (name and task.name != name) or (user and task.owner != user):
                    continue
                tasks.append(task.to_json())
                if len(tasks) >= limit:
                    break
        # spec §3.4: self/next rebuilt from after/limit/username only (name and status are dropped).
        params = {"limit": str(limit)}
        if after is not None:
            params["after"] = fmt_id(after)
        if user:
            params["username"] = user
        links = {"self": TASKS_PREFIX + "?" + urlencode(sorted(params.items()))}
        if tasks and len(tasks) >= limit:
            params["after"] = tasks[-1]["id"]
            links["next"] = TASKS_PREFIX + "?" + urlencode(sorted(params.items()))
        return json_response(200, {"links": links, "tasks": tasks})

    def create_task(self, req):
        body = self.decode_body(req, {"flux": str, "description": str, "status": str, "type": str, "orgID": str, "org": str})
        if body.get("orgID") is not None:
            self.decode_id(body["orgID"])
        if not body.get("flux"):
            raise decode_error("missing flux")
        status = body.get("status") or "active"
        if status not in ("active", "inactive"):
            raise decode_error("invalid task status: %s" % go_quote(status))
        created = now_ns()
        created -= created % NS               # spec §3.1: createdAt truncated to the second
        with self.state.lock:
            task = Task(self.state.ids.live(), body["flux"], req.user, created)
            task.status = status
            task.description = body.get("description") or ""
            self.state.add_task(task)
            return json_response(201, task.to_json())

    def get_task(self, req):
        task_id = self.decode_id(req.params["id"])
        with self.state.lock:
            task = self.state.tasks.get(task_id)
            if task is None:
                raise APIError("not found", "failed to find task: task not found")
            return json_response(200, task.to_json())

    def update_task(self, req):
        task_id = self.decode_id(req.params["id"])
        body = self.decode_body(req, {"flux": str, "status": str, "description": str, "name": str, "every": str,
                                      "cron": str, "offset": str, "concurrency": int, "retry": int})
        options = {key: body[key] for key in ("name", "every", "cron", "offset") if body.get(key) is not None}
        # TaskUpdate.Validate order (spec §4.3).
        if body.get("every") and body.get("cron"):
            raise decode_error("cannot specify both every and cron")
        if all(body.get(key) is None for key in ("flux", "status", "description", "name", "every", "cron", "offset", "concurrency", "retry")):
            raise decode_error("cannot update task without content")
        if body.get("status") is not None and body["status"] not in ("active", "inactive"):
            raise decode_error("invalid task status: %s" % go_quote(body["status"]))
        with self.state.lock:
            task = self.state.tasks.get(task_id)
            if task is None:
                raise APIError("not found", "failed to update task: task not found")
            flux = body["flux"] if body.get("flux") is not None else task.flux
            try:
                if options:
                    flux = rewrite_task_options(flux, options)
                parsed = parse_task_options(flux)
            except APIError as exc:
                raise APIError(exc.code, "failed to update task: " + exc.message) from None
            now = now_ns()
            task.flux = flux
            task.apply_options(parsed)
            if body.get("description") is not None:
                task.description = body["description"]
            if body.get("status") is not None:
                if task.status == "inactive" and body["status"] == "active":
                    task.latest_completed = now - now % NS    # spec §4.3: no backfill after re-activation
                task.status = body["status"]
            task.updated_at = now
            return json_response(200, task.to_json())

    def delete_task(self, req):
        task_id = self.decode_id(req.params["id"])
        with self.state.lock:
            if self.state.tasks.pop(task_id, None) is None:
                raise APIError("not found", "failed to delete task: task not found")
            self.state.task_ids.remove(task_id)
            task_runs = self.state.runs_of(task_id)
            # kv runs go with the task; completed history stays in InfluxDB (spec §4.3).
            task_runs.queued.clear()
            task_runs.running.clear()
        return Response(204)

    # -- runs ---------------------------------------------------------------------------------------------------------
    def list_runs(self, req):
        task_id, filters = self.decode_runs_request(req)
        with self.state.lock:
            runs = self.find_runs(task_id, *filters)
            flux = self.state.task_flux(task_id)
            body = {"links": {"self": "%s/%s/runs" % (TASKS_PREFIX, fmt_id(task_id)), "task": "%s/%s" % (TASKS_PREFIX, fmt_id(task_id))},
                    "runs": [run.to_json(flux) for run in runs]}
        return json_response(200, body)

    def decode_runs_request(self, req):
        """Validation in the handler's order (spec §4.4)."""
        task_id = self.decode_id(req.params["id"])
        query = req.query
        after = self.decode_id(query["after"]) if query.get("after") else None
        limit = self.decode_limit(query, "run limit is out of bounds, must be between 1 and 500")
        times = []
        for key in ("afterTime", "beforeTime"):
            value = None
            if query.get(key):
                try:
                    value = parse_rfc3339(query[key])
                except ValueError as exc:
                    raise decode_error(str(exc)) from None
            times.append(value)
        after_time, before_time = times
        if after_time is not None and before_time is not None and before_time <= after_time:
            raise decode_error("beforeTime must be later than afterTime")
        return task_id, (after, limit, after_time, before_time)

    def find_runs(self, task_id, after, limit, after_time, before_time):
        """AnalyticalStorage.FindRuns (spec §4.4): kv queued + running, then completed by scheduledFor desc."""
        now = now_ns()
        task_runs = self.state.runs.get(task_id)
        if task_runs is None:
            return []                              # unknown task: 200 [] (spec §4.4)
        kv_before = before_time if before_time is not None else now
        kv_runs = []
        # kv ignores `after` completely (spec §4.4).
        for run in task_runs.queued + sorted(task_runs.running.values(), key=lambda r: r.id):
            if (after_time is None or run.scheduled_for > after_time) and run.scheduled_for < kv_before:
                kv_runs.append(run)
                if len(kv_runs) >= limit:
                    return kv_runs
        if after_time is not None and before_time is None and after_time >= now:
            raise APIError("internal error", "failed to find runs: given after time must be prior to before time")
        if after is not None:
            # The Flux filter on runID runs before pivot(), so it drops every completed run (spec §4.4).
            return kv_runs
        for run in task_runs.visible_completed(now, after_time, before_time):
            kv_runs.append(run)
            if len(kv_runs) >= limit:
                break
        return kv_runs

    def find_run(self, task_id, run_id):
        """FindRunByID: kv running first, then completed within 14 days; queued runs are not found (spec §4.5)."""
        task_runs = self.state.runs.get(task_id)
        if task_runs is None:
            return None
        return task_runs.running.get(run_id) or task_runs.find_completed(run_id, now_ns())

    def get_run(self, req):
        task_id, run_id = self.decode_id(req.params["id"]), self.decode_id(req.params["rid"])
        with self.state.lock:
            run = self.find_run(task_id, run_id)
            if run is None:
                raise APIError("not found", "failed to find run: run not found")
            return json_response(200, run.to_json(self.state.task_flux(task_id)))

    def task_logs(self, req):
        task_id = self.decode_id(req.params["id"])
        with self.state.lock:
            flux = self.state.task_flux(task_id)
            events = []
            for run in self.find_runs(task_id, None, DEFAULT_LIMIT, None, None):
                events.extend(run.log_entries(flux))
        return json_response(200, {"events": events or None})     # spec §3.5: nil slice -> null

    def run_logs(self, req):
        task_id, run_id = self.decode_id(req.params["id"]), self.decode_id(req.params["rid"])
        with self.state.lock:
            run = self.find_run(task_id, run_id)
            if run is None:
                raise APIError("not found", "failed to find task logs: run not found")
            events = list(run.log_entries(self.state.task_flux(task_id)))
        return json_response(200, {"events": events or None})

    def cancel_run(self, req):
        """Only kv (running / scheduled) runs can be cancelled (spec §4.8)."""
        task_id, run_id = self.decode_id(req.params["id"]), self.decode_id(req.params["rid"])
        with self.state.lock:
            task_runs = self.state.runs.get(task_id)
            run = task_runs.running.get(run_id) if task_runs else None
            if run is None:
                raise APIError("not found", "failed to cancel run: run not found")
            run.status = "canceled"
            if run.cancel is None:
                # A seeded run has no worker: the executor's failure path records it failed (spec §6.7).
                finish_run(self.state, run, "failed", "context canceled")
                return Response(200)
            run.cancel.set()
            done = run.done
        done.wait(10)
        return Response(200)

    def force_run(self, req):
        """POST /runs (spec §4.7): optional {"scheduledFor"} read only when 0 != Content-Length < 1000."""
        task_id = self.decode_id(req.params["id"])
        scheduled_for = None
        if 0 < len(req.body) < 1000:
            try:
                body = json.loads(req.body)
            except ValueError:
                raise decode_error(json_error_text(req.body)) from None
            value = body.get("scheduledFor") if isinstance(body, dict) else None
            if value:
                try:
                    scheduled_for = parse_rfc3339(value)
                except ValueError as exc:
                    raise decode_error(str(exc)) from None
        if scheduled_for is None:
            scheduled_for = now_ns()
        scheduled_for -= scheduled_for % NS
        run, plan = self.queue_manual_run("failed to force run", task_id, scheduled_for, retry=False)
        return self.execute_manual_run(req, run, plan, "failed to force run", 201)

    def retry_run(self, req):
        """POST /retry (spec §6): 404 task, 404 run, 422 queued collision, then block while the new run executes."""
        task_id, run_id = self.decode_id(req.params["id"]), self.decode_id(req.params["rid"])
        with self.state.lock:
            if task_id not in self.state.tasks:
                raise APIError("not found", "failed to retry run: task not found")
            original = self.find_run(task_id, run_id)
            if original is None:
                raise APIError("not found", "failed to retry run: run not found")
            # ForceRun(taskID, original.ScheduledFor.Unix()); the original is never modified (spec §6.1, §6.2).
            run, plan = self.queue_manual_run("failed to retry run", task_id, original.scheduled_for, retry=True)
        return self.execute_manual_run(req, run, plan, "failed to retry run", 200)

    def queue_manual_run(self, verb, task_id, scheduled_for, retry):
        with self.state.lock:
            task = self.state.tasks.get(task_id)
            if task is None:
                raise APIError("not found", verb + ": task not found")
            task_runs = self.state.runs_of(task_id)
            if any(run.scheduled_for == scheduled_for for run in task_runs.queued):
                raise APIError("conflict", verb + ": run already queued")       # EConflict -> 422 (spec §5.1)
            run = Run(self.state.ids.live(), task_id, "scheduled", scheduled_for)
            run.requested_at = now_ns()
            run.manual = True
            run.created_by_retry = retry
            run.cancel = threading.Event()
            run.done = threading.Event()
            task_runs.queued.append(run)
            attempt = task_runs.attempts.get(scheduled_for, 0) + 1
            task_runs.attempts[scheduled_for] = attempt
            outcome = task.retry_outcomes[min(attempt, len(task.retry_outcomes)) - 1]
            stats = self.state.stats
            stats.retries_started += 1
            stats.retries_in_flight += 1
            stats.peak_concurrent_retries = max(stats.peak_concurrent_retries, stats.retries_in_flight)
            plan = ExecutionPlan(run.to_json(task.flux), outcome, task.queue_seconds, task.run_seconds, task.retry_error)
            return run, plan

    def execute_manual_run(self, req, run, plan, verb, success_status):
        """The coordinator blocks on the promise (spec §6.1 step 5, §6.6). The lock is not held while waiting.

        Returns the response, or None when the client disconnected (the run is then cancelled)."""
        created_json, outcome, queue_seconds, run_seconds, retry_error = plan
        state = self.state
        try:
            try:
                self.wait(req, run, queue_seconds)
                with state.lock:
                    task_runs = state.runs_of(run.task_id)
                    if run in task_runs.queued:
                        task_runs.queued.remove(run)
                    run.status = "started"
                    run.started_at = now_ns()
                    run.flux = state.task_flux(run.task_id)
                    task_runs.running[run.id] = run
                self.wait(req, run, run_seconds)
            except ClientGone:
                with state.lock:
                    state.stats.disconnect_cancellations += 1
                    finish_run(state, run, "failed", "context canceled")
                return None
            with state.lock:
                if run.cancel.is_set():
                    finish_run(state, run, "failed", "context canceled")
                    raise APIError("internal error", verb + ": could not execute task run: context canceled")
                if outcome == "success":
                    finish_run(state, run, "success", "")
                    return json_response(success_status, created_json)
                if outcome == "flux_error":
                    message = "could not parse Flux script: " + (retry_error if retry_error != DEFAULT_RETRY_ERROR else DEFAULT_FLUX_ERROR)
                    finish_run(state, run, "failed", message)
                    raise APIError("invalid", verb + ": " + message)
                finish_run(state, run, "failed", retry_error)
                raise APIError("internal error", verb + ": could not execute task run: " + retry_error)
        finally:
            with state.lock:
                state.stats.retries_in_flight -= 1
                run.done.set()

    @staticmethod
    def wait(req, run, seconds):
        """Sleep ``seconds``, polling the client socket every 20 ms; raise ClientGone on disconnect."""
        deadline = time.monotonic() + seconds
        while True:
            if run.cancel.is_set():
                return
            if req.client_gone():
                raise ClientGone()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            run.cancel.wait(min(POLL_SECONDS, remaining))

    # -- decoding -----------------------------------------------------------------------------------------------------
    @staticmethod
    def decode_id(text):
        try:
            return parse_id(text)
        except ValueError as exc:
            raise decode_error(str(exc)) from None

    @staticmethod
    def decode_body(req, fields):
        """json.Decoder into a Go struct: EOF for empty bodies, type errors named after the field."""
        if not req.body.strip():
            raise decode_error("EOF")
        try:
            body = json.loads(req.body)
        except ValueError:
            raise decode_error(json_error_text(req.body)) from None
        if not isinstance(body, dict):
            raise decode_error("json: cannot unmarshal %s into Go value of type struct" % go_json_type(body))
        for key, kind in fields.items():
            value = body.get(key)
            if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
                raise decode_error("json: cannot unmarshal %s into Go struct field .%s of type %s"
                                   % (go_json_type(value), key, "string" if kind is str else "int"))
        return body


def go_json_type(value):
    return {bool: "bool", int: "number", float: "number", str: "string", list: "array", dict: "object"}.get(type(value), "null")


def json_error_text(raw):
    text = raw.decode("utf-8", "replace").strip()
    if not text:
        return "EOF"
    if text[0] not in '{["-0123456789tfn':
        return "invalid character %s looking for beginning of value" % ("'%s'" % text[0])
    return "unexpected EOF"


def finish_run(state, run, status, error):
    """Executor finish (spec §3.2): set finishedAt and logs, move the run to completed, update the task summary."""
    task_runs = state.runs_of(run.task_id)
    if run in task_runs.queued:
        task_runs.queued.remove(run)
    task_runs.running.pop(run.id, None)
    now = now_ns()
    if run.started_at is None:
        run.started_at = now
    run.status = status
    run.finished_at = now
    run.error = error
    run.log = run.log_entries(state.task_flux(run.task_id))
    task_runs.add_completed(run)
    task = state.tasks.get(run.task_id)
    if task is not None:
        task.latest_completed = max(task.latest_completed or 0, run.scheduled_for)
        task.last_run_status = status if status == "success" else "failed"
        task.last_run_error = "" if status == "success" else "Completed(failed)"   # the second-to-last log line


# ---------------------------------------------------------------------------------------------------------------------
# HTTP plumbing
# ---------------------------------------------------------------------------------------------------------------------

class Request:
    __slots__ = ("method", "params", "query", "body", "user", "client_gone")

    def __init__(self, method, params, query, body, user, client_gone):
        self.method = method
        self.params = params
        self.query = query
        self.body = body
        self.user = user
        self.client_gone = client_gone


class Handler(BaseHTTPRequestHandler):
    """One connection. Routing order: /_sim, path cleaning, ping, task prefix (CORS, auth, disabled, router), catch-all."""

    protocol_version = "HTTP/1.1"
    server_version = "kapacitor-sim"
    sys_version = ""

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """Silence the default per-request stderr logging."""

    def setup(self):
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            try:
                self.connection.do_handshake()
            except (ssl.SSLError, OSError):
                self.close_connection = True
                raise

    def handle(self):
        try:
            super().handle()
        except (ConnectionError, ssl.SSLError, TimeoutError):
            self.close_connection = True

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    # -- dispatch -----------------------------------------------------------------------------------------------------
    def dispatch(self):
        sim = self.server.sim
        split = urlsplit(self.path)
        path, raw_query = split.path, split.query
        body = self.read_body()
        if body is None:
            return
        if path.startswith("/_sim/") or path == "/_sim":
            self.send(sim.control(self.command, path, raw_query, body))
            if (self.command, path) == ("POST", "/_sim/stop"):
                sim.stop_async()                # only after the answer is on the wire
            return
        faults = self.count_and_plan(path)
        if "reset" in faults:
            self.reset_connection()
            return
        if "latency" in faults:
            time.sleep(sim.state.faults.latency_ms / 1000.0)
        if "rate_limit" in faults:
            response = error_response(APIError("too many requests", "too many requests"))
            response.headers.append(("Retry-After", str(sim.state.faults.retry_after)))
            self.send(response)
            return
        if "get_error" in faults:
            status = sim.state.faults.get_error_status
            response = error_response(APIError("unavailable", "service unavailable (injected fault)"))
            response.status = status
            self.send(response)
            return
        try:
            response = self.route(path, raw_query, body)
        except Exception as exc:  # pylint: disable=broad-except
            # mirror the handler's panic recovery (spec §5.2)
            traceback.print_exc()
            response = error_response(APIError("internal error", "a panic has occurred: %s: %s" % (self.path, exc)))
        if response is None:                    # the client went away during a blocking run
            self.close_connection = True
            return
        if "retry_drop_after" in faults:
            self.reset_connection()
            return
        self.send(response)

    def count_and_plan(self, path):
        template = self.template_for(path)
        state = self.server.sim.state
        with state.lock:
            stats = state.stats
            stats.requests[template] = stats.requests.get(template, 0) + 1
            stats.requests_total += 1
            faults = state.faults.plan(self.command, template)
            for kind in faults:
                stats.faults_injected[kind] = stats.faults_injected.get(kind, 0) + 1
        return faults

    def template_for(self, path):
        if path == API_PREFIX + "/ping":
            return "%s /ping" % self.command
        if path == TASKS_PREFIX or path.startswith(TASKS_PREFIX + "/"):
            matched = match_route(self.task_segments(path))
            if matched:
                return route_template(self.command, matched[0])
        return "%s (unmatched)" % self.command

    @staticmethod
    def task_segments(path):
        rest = path[len(TASKS_PREFIX):]
        return tuple(rest[1:].split("/")) if rest else ()

    def route(self, path, raw_query, body):
        sim = self.server.sim
        cleaned = clean_path(path)
        if cleaned != path:                     # Kapacitor's mux cleanPath: 301 (spec §2)
            return redirect_response(301, cleaned + ("?" + raw_query if raw_query else ""), self.command)
        query = parse_qs(raw_query, keep_blank_values=True)
        in_tasks = path == TASKS_PREFIX or path.startswith(TASKS_PREFIX + "/")
        if path == API_PREFIX + "/ping" and self.command in ("GET", "HEAD"):
            return Response(204)
        if in_tasks and self.command == "OPTIONS":
            return Response(200)                # the CORS wrapper answers before any handler (spec §2)
        try:
            user = sim.auth.authenticate(self.headers, query)
        except AuthError as exc:
            return kapacitor_error(exc.status, exc.message)
        if not in_tasks or self.command not in ("GET", "POST", "PUT", "PATCH", "DELETE") or sim.fluxtask_disabled:
            # Catch-all serve404, pretty-printed (spec §7); HEAD is not registered for the prefix (spec §2).
            return kapacitor_error(404, "Not Found", pretty=True)
        return self.route_tasks(path, raw_query, query, body, user)

    def route_tasks(self, path, raw_query, query, body, user):
        """httprouter: handle, trailing-slash / fixed-path redirect, 405 with Allow, NotFound (spec §2)."""
        sim = self.server.sim
        segments = self.task_segments(path)
        matched = match_route(segments)
        method = self.command
        suffix = "?" + raw_query if raw_query else ""
        if matched and method in matched[1]:
            try:
                sim.auth.authorize(user, method, path)
            except AuthError as exc:
                return kapacitor_error(exc.status, exc.message)
            handler = getattr(sim.api, HANDLERS[(matched[0], method)])
            flat_query = {key: values[0] for key, values in query.items()}
            request = Request(method, matched[2], flat_query, body, user, self.client_gone)
            try:
                return handler(request)
            except APIError as exc:
                return error_response(exc)
        if method in ROUTER_METHODS:
            code = 301 if method == "GET" else 308
            if segments and segments[-1] == "" and has_handler(segments[:-1], method):
                return redirect_response(code, join_task_path(segments[:-1]) + suffix, method)
            fixed = fixed_path(segments, method)
            if fixed is not None:
                return redirect_response(code, join_task_path(fixed) + suffix, method)
        allowed = sorted({m for m in ROUTER_METHODS if m != method and has_handler(segments, m)})
        if allowed:
            return Response(405, b"Method Not Allowed\n", [("Content-Type", "text/plain; charset=utf-8"),
                                                           ("X-Content-Type-Options", "nosniff"),
                                                           ("Allow", ", ".join(sorted(allowed + ["OPTIONS"])))])
        return error_response(APIError("not found", "url not found: %s: not found" % self.path))

    # -- I/O ----------------------------------------------------------------------------------------------------------
    def read_body(self):
        length = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self.read_chunked()
        try:
            length = int(length or 0)
        except ValueError:
            self.send(Response(400, b"bad Content-Length"))
            self.close_connection = True
            return None
        return self.rfile.read(length) if length > 0 else b""

    def read_chunked(self):
        chunks = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def send(self, response):
        self.send_response_only(response.status)
        self.send_header("Date", self.date_time_string())
        self.send_header("Request-Id", str(uuid.uuid1()))
        self.send_header("X-Kapacitor-Version", VERSION)
        for key, value in response.headers:
            self.send_header(key, value)
        if response.status != 204:
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD" and response.body:
            self.wfile.write(response.body)
        self.wfile.flush()

    def client_gone(self):
        """True once the peer closed its side (select + recv(MSG_PEEK) == b'')."""
        sock = self.connection
        try:
            readable, dummy, dummy = select.select([sock], [], [], 0)
            if not readable:
                return False
            if isinstance(sock, ssl.SSLSocket):
                # MSG_PEEK is not allowed on SSL sockets: peek at the raw TCP stream instead.
                raw = socket.socket(fileno=sock.fileno())
                try:
                    return raw.recv(1, socket.MSG_PEEK) == b""
                finally:
                    raw.detach()
            return sock.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    def reset_connection(self):
        """Abort with RST (SO_LINGER 0)."""
        self.close_connection = True
        try:
            sock = self.connection
            raw = sock if not isinstance(sock, ssl.SSLSocket) else socket.socket(fileno=sock.fileno())
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            if raw is not sock:
                raw.detach()
            sock.close()
        except OSError:
            pass


HANDLERS = {
    ((), "GET"): "list_tasks", ((), "POST"): "create_task",
    ((":id",), "GET"): "get_task", ((":id",), "PATCH"): "update_task", ((":id",), "DELETE"): "delete_task",
    ((":id", "logs"), "GET"): "task_logs",
    ((":id", "runs"), "GET"): "list_runs", ((":id", "runs"), "POST"): "force_run",
    ((":id", "runs", ":rid"), "GET"): "get_run", ((":id", "runs", ":rid"), "DELETE"): "cancel_run",
    ((":id", "runs", ":rid", "logs"), "GET"): "run_logs",
    ((":id", "runs", ":rid", "retry"), "POST"): "retry_run",
}


def has_handler(segments, method):
    matched = match_route(tuple(segments))
    return bool(matched) and method in matched[1]


def fixed_path(segments, method):
    """httprouter RedirectFixedPath: case-insensitive static segments, optionally without a trailing slash."""
    for candidate in (tuple(segments), tuple(segments[:-1]) if segments and segments[-1] == "" else None):
        if candidate is None:
            continue
        matched = match_route(candidate, case_insensitive=True)
        if matched and method in matched[1] and (tuple(matched[3]) != tuple(segments)):
            return matched[3]
    return None


def join_task_path(segments):
    return TASKS_PREFIX + "".join("/" + quote(part, safe="") for part in segments)


def clean_path(path):
    """Go's path.Clean as used by Kapacitor's mux (keeps a trailing slash)."""
    if not path:
        return "/"
    parts = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    cleaned = "/" + "/".join(parts)
    if path.endswith("/") and cleaned != "/":
        cleaned += "/"
    return cleaned


def redirect_response(code, location, method):
    """http.Redirect: HTML body only for GET/HEAD."""
    headers = [("Location", location)]
    body = b""
    if method in ("GET", "HEAD"):
        headers.append(("Content-Type", "text/html; charset=utf-8"))
        body = ('<a href="%s">%s</a>.\n\n' % (location, "Moved Permanently" if code == 301 else "Permanent Redirect")).encode()
    return Response(code, body, headers)


class SimHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, sim, ssl_context=None):
        self.sim = sim
        self.ssl_context = ssl_context
        super().__init__(address, Handler)

    def get_request(self):
        sock, addr = super().get_request()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.ssl_context is not None:
            # The handshake runs in the handler thread so a slow client cannot block accept().
            sock = self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request, client_address):
        """Connection-level errors (client resets, failed TLS handshakes) are expected; stay quiet."""


# ---------------------------------------------------------------------------------------------------------------------
# The simulator
# ---------------------------------------------------------------------------------------------------------------------

class Simulator:
    """The whole simulator: state, Kapacitor API, control API and the HTTP server."""

    def __init__(self, port=0, scenario=None, auth_users=(), shared_secret=None, tls_cert=None, tls_key=None,
                 tls_client_ca=None, fluxtask_disabled=False, host="127.0.0.1"):
        self.state = State()
        self.api = TaskAPI(self.state)
        self.auth = Auth(auth_users, shared_secret)
        self.fluxtask_disabled = fluxtask_disabled
        if scenario is not None:
            self.state.load_scenario(scenario)
        context = None
        if tls_cert:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(tls_cert, tls_key)
            if tls_client_ca:
                context.load_verify_locations(tls_client_ca)
                context.verify_mode = ssl.CERT_REQUIRED
        self.scheme = "https" if context else "http"
        self.server = SimHTTPServer((host, port), self, context)
        self.host = host
        self.port = self.server.server_address[1]
        self.thread = None
        self.stopped = threading.Event()

    @property
    def url(self):
        return "%s://%s:%d" % (self.scheme, self.host, self.port)

    def ready_line(self):
        return "kapacitor-sim: listening on " + self.url

    def start(self):
        """Serve in a background daemon thread (for in-process tests)."""
        self.thread = threading.Thread(target=self.serve_forever, name="kapacitor-sim", daemon=True)
        self.thread.start()
        return self

    def serve_forever(self):
        try:
            self.server.serve_forever(poll_interval=0.1)
        finally:
            self.stopped.set()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def stop_async(self):
        threading.Thread(target=self.server.shutdown, daemon=True).start()

    # -- control API (docs/simulator.md) -----------------------------------------------------------------------------
    def control(self, method, path, raw_query, body):
        try:
            return self._control(method, path, parse_qs(raw_query), body)
        except (ValueError, KeyError, TypeError, APIError) as exc:
            message = exc.message if isinstance(exc, APIError) else str(exc)
            return json_response(400, {"error": message})

    def _control(self, method, path, query, body):
        state = self.state
        if (method, path) == ("POST", "/_sim/scenario"):
            return json_response(200, state.load_scenario(json.loads(body or b"{}")))
        if (method, path) == ("GET", "/_sim/state"):
            return json_response(200, state.sim_state())
        if (method, path) == ("GET", "/_sim/attempts"):
            task_filter = parse_id(query["task_id"][0]) if query.get("task_id") else None
            return json_response(200, state.sim_attempts(task_filter))
        if (method, path) == ("GET", "/_sim/stats"):
            with state.lock:
                return json_response(200, state.stats.to_json())
        if (method, path) == ("POST", "/_sim/stats/reset"):
            with state.lock:
                in_flight = state.stats.retries_in_flight
                state.stats.reset()
                state.stats.retries_in_flight = in_flight
                state.stats.peak_concurrent_retries = in_flight
                return json_response(200, state.stats.to_json())
        if (method, path) == ("POST", "/_sim/faults"):
            faults = Faults(json.loads(body or b"{}"))
            with state.lock:
                state.faults = faults
            return json_response(200, {"ok": True})
        if (method, path) == ("POST", "/_sim/stop"):
            return json_response(200, {"ok": True})     # the handler stops the server once this is sent
        return json_response(404, {"error": "unknown control route %s %s" % (method, path)})


def parse_args(argv):
    parser = argparse.ArgumentParser(description="Kapacitor Flux task API simulator")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--scenario")
    parser.add_argument("--auth-user", action="append", default=[], metavar="NAME:PASS[:ro]")
    parser.add_argument("--shared-secret")
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--tls-client-ca")
    parser.add_argument("--fluxtask-disabled", action="store_true")
    args = parser.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    if args.tls_client_ca and not args.tls_cert:
        parser.error("--tls-client-ca needs --tls-cert/--tls-key")
    for entry in args.auth_user:
        if ":" not in entry:
            parser.error("--auth-user takes NAME:PASSWORD[:ro]")
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    scenario = None
    if args.scenario:
        with open(args.scenario, encoding="utf-8") as handle:
            scenario = json.load(handle)
    sim = Simulator(port=args.port, scenario=scenario, auth_users=args.auth_user, shared_secret=args.shared_secret,
                    tls_cert=args.tls_cert, tls_key=args.tls_key, tls_client_ca=args.tls_client_ca,
                    fluxtask_disabled=args.fluxtask_disabled)

    def on_signal(_signum, _frame):
        sim.stop_async()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(sim.ready_line(), flush=True)
    sim.serve_forever()
    sim.server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
