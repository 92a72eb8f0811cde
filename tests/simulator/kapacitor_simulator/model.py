"""The simulated state: tasks, runs (kv store and completed history), counters and injected faults."""

import bisect
import random
import threading
from collections import namedtuple

from .constants import DEFAULT_RETRY_ERROR, HORIZON_NS, NS, TASKS_PREFIX
from .encoding import format_time, go_marshal, go_quote, go_string, now_ns
from .flux_options import parse_task_options
from .ids import IdGenerator, fmt_id
from .schedule import format_offset, offset_seconds


class Task:
    """A task record as the kv store holds it, plus the simulator's execution knobs."""

    __slots__ = ('id', 'name', 'status', 'flux', 'every', 'cron', 'offset', 'description', 'owner', 'created_at',
                 'updated_at', 'latest_completed', 'last_run_status', 'last_run_error', 'run_seconds', 'queue_seconds',
                 'retry_outcomes', 'retry_error', 'kv_linger_seconds', 'org_id', 'type', 'script_id', 'live',
                 'live_status')

    def __init__(self, task_id, flux, owner, created_at):
        self.id = task_id
        self.flux = flux
        self.owner = owner
        self.status = 'active'
        self.description = ''
        self.created_at = created_at
        self.updated_at = None
        self.latest_completed = created_at
        self.last_run_status = ''
        self.last_run_error = ''
        self.run_seconds = 0.0
        self.queue_seconds = 0.0
        self.retry_outcomes = ['success']
        self.retry_error = DEFAULT_RETRY_ERROR
        self.kv_linger_seconds = 0.0
        self.org_id = None                      # InfluxDB 2 mode only: the owning organization's ID
        self.type = 'system'                    # InfluxDB 2 mode only: a check's or notification rule's type otherwise
        self.script_id = None                   # InfluxDB 2 mode only: a Cloud task that runs a stored script has no flux
        self.live = None                        # a LiveSchedule: the live scheduler creates its runs (scheduler.py) ...
        self.live_status = 'success'            # ... which end so
        self.name = self.every = self.cron = self.offset = ''
        self.apply_options(parse_task_options(flux))

    def apply_options(self, options):
        self.name = options.get('name', '')
        self.every = options.get('every', '')
        self.cron = options.get('cron', '')
        self.offset = wire_offset(options.get('offset', ''))

    def to_json(self, prefix=TASKS_PREFIX):
        """Task object, key order and omitempty as docs/kapacitor-api.md §3.1."""
        tid = fmt_id(self.id)
        out = {'links': {'logs': '%s/%s/logs' % (prefix, tid), 'runs': '%s/%s/runs' % (prefix, tid),
                         'self': '%s/%s' % (prefix, tid)},
               'labels': None, 'id': tid, 'ownerID': self.owner, 'orgID': '', 'name': self.name}
        optional = [('description', self.description), ('status', self.status), ('flux', self.flux), ('every', self.every),
                    ('cron', self.cron), ('offset', self.offset),
                    ('latestCompleted', self.latest_completed and format_time(self.latest_completed, False)),
                    ('lastRunStatus', self.last_run_status), ('lastRunError', self.last_run_error),
                    ('createdAt', self.created_at and format_time(self.created_at, False)),
                    ('updatedAt', self.updated_at and format_time(self.updated_at, False))]
        for key, value in optional:
            if value or key in ('status', 'flux'):
                out[key] = value
        return out


def wire_offset(text):
    """The task's ``offset`` as the API renders it (customParseDuration: ``90m`` -> ``1h30m``, ``0s`` -> omitted); a
    value Go's time.ParseDuration would refuse (``1d``) is kept as written."""
    try:
        return format_offset(offset_seconds(text))
    except ValueError:
        return text


class Run:
    """One run. ``log`` None means "the executor's default lines", built lazily (cheap 100k-run scenarios)."""

    __slots__ = ('id', 'task_id', 'status', 'scheduled_for', 'started_at', 'finished_at', 'requested_at', 'log',
                 'error', 'manual', 'created_by_retry', 'cancel', 'done', 'flux', 'kv_until', 'log_prefix', 'recorded_at',
                 'listed')

    def __init__(self, run_id, task_id, status, scheduled_for):
        self.id = run_id
        self.task_id = task_id
        self.status = status
        self.scheduled_for = scheduled_for      # ns, whole seconds
        self.started_at = self.finished_at = self.requested_at = None
        self.log = None
        self.error = ''
        self.manual = False
        self.created_by_retry = False
        self.cancel = None
        self.done = None
        self.flux = None
        self.kv_until = None                    # a finished run held in kv moves to the history at this time (ns)
        self.log_prefix = ()                    # entries copied from the run that a kv retry copied
        self.recorded_at = None                 # in the history but readable only from this time (ns): the gap between
        #                                         the kv delete and the history write (InfluxDB 2 mode)
        self.listed = None                      # (what to_json read, its encoding): see listed_bytes

    def log_entries(self, task_flux):
        """The executor's lines (docs/kapacitor-api.md §3.2): "Started task from script" once started, then "Completed(...)"
        and the error once finished; after the entries a kv retry copied from another run."""
        if self.log is not None:
            return self.log
        entries = list(self.log_prefix)
        if self.started_at is None or self.status == 'scheduled':
            return entries
        rid = fmt_id(self.id)
        script = self.flux if self.flux is not None else task_flux
        entries.append({'runID': rid, 'time': format_time(self.started_at), 'message': 'Started task from script: ' + go_quote(script or '')})
        if self.finished_at is None or self.status not in ('success', 'failed', 'canceled'):
            return entries
        end = self.finished_at
        entries.append({'runID': rid, 'time': format_time(end), 'message': 'Completed(%s)' % ('success' if self.status == 'success' else 'failed')})
        if self.status != 'success':
            entries.append({'runID': rid, 'time': format_time(end), 'message': self.error or DEFAULT_RETRY_ERROR})
        return entries

    def to_json(self, task_flux, prefix=TASKS_PREFIX):
        """Run object as docs/kapacitor-api.md §3.2: scheduledFor always, other times and log omitted when empty."""
        tid, rid = fmt_id(self.task_id), fmt_id(self.id)
        base = '%s/%s/runs/%s' % (prefix, tid, rid)
        out = {'links': {'logs': base + '/logs', 'retry': base + '/retry', 'self': base, 'task': '%s/%s' % (prefix, tid)},
               'id': rid, 'taskID': tid, 'status': self.status, 'scheduledFor': format_time(self.scheduled_for)}
        for key, value in (('startedAt', self.started_at), ('finishedAt', self.finished_at), ('requestedAt', self.requested_at)):
            if value is not None:
                out[key] = format_time(value)
        log = self.log_entries(task_flux)
        if log:
            out['log'] = log
        return out

    def listed_bytes(self, task_flux, prefix=TASKS_PREFIX):
        """go_marshal(to_json()) for a listing, kept while nothing it reads changes: a finished run with the executor's
        default log is listed again and again (every listing, pre-POST check and duplicate check of a window that holds
        it), and building and encoding it was most of a listing's CPU; the fleet benchmark runs 10 simulators on the
        controller's cores. The bytes are those the whole listing's encoding would hold for it (TaskAPI.list_runs)."""
        if self.finished_at is None or self.log is not None:
            return go_marshal(self.to_json(task_flux, prefix))
        key = (self.status, self.started_at, self.finished_at, self.requested_at, self.error, self.flux,
               self.log_prefix, task_flux, prefix)
        if self.listed is None or self.listed[0] != key:
            self.listed = (key, self.encoded(task_flux, prefix))
        return self.listed[1]

    def encoded(self, task_flux, prefix=TASKS_PREFIX):
        """go_marshal(self.to_json(task_flux, prefix)) written out in to_json's order: about half the time, for the first
        listing of a scenario's runs. The status and each log message go through go_string's cache (a task's runs share
        their messages); the IDs (fmt_id), the times (format_time) and the prefix need no escaping, and neither do a log
        entry's runID and time as log_entries writes them (listed_bytes calls this only for runs whose log it writes; a
        scenario's own log is encoded by go_marshal). test_sim_runs compares the two for runs in every state."""
        tid, rid = fmt_id(self.task_id), fmt_id(self.id)
        base = '%s/%s/runs/%s' % (prefix, tid, rid)
        head = ('{"links":{"logs":"%s/logs","retry":"%s/retry","self":"%s","task":"%s/%s"},"id":"%s","taskID":"%s",'
                '"status":%s,"scheduledFor":"%s"')
        parts = [head % (base, base, base, prefix, tid, rid, tid, go_string(self.status), format_time(self.scheduled_for))]
        for key, value in (('startedAt', self.started_at), ('finishedAt', self.finished_at), ('requestedAt', self.requested_at)):
            if value is not None:
                parts.append(',"%s":"%s"' % (key, format_time(value)))
        log = self.log_entries(task_flux)
        if log:
            parts.append(',"log":[%s]' % ','.join('{"runID":"%s","time":"%s","message":%s}' % (
                entry['runID'], entry['time'], go_string(entry['message'])) for entry in log))
        parts.append('}')
        return ''.join(parts).encode('utf-8')

    def sort_key(self):
        return (self.scheduled_for, self.id)


class TaskRuns:
    """Runs of one task ID. Survives task deletion: completed history lives in InfluxDB (docs/kapacitor-api.md §1, §4.3)."""

    def __init__(self):
        self.queued = []            # queued manual runs, insertion order (kv manualRuns list)
        self.running = {}           # run id -> Run (kv taskRunsv1/<task>/<run>): scheduled, started, and
        #                             finished runs still held there (scenario "in_kv", "kv_linger_seconds")
        self.completed = []         # sorted by (scheduled_for, id); ties are shuffled per listing
        self.keys = []              # parallel sort keys for bisect
        self.completed_by_id = {}
        self.max_lag = 0            # max(started_at - scheduled_for): bounds the 14-day scan
        self.attempts = {}          # scheduled_for -> attempts created live by retry / force run
        self.manual_runs_key = False  # kv holds <task>/manualRuns once a manual run was queued (docs/kapacitor-api.md §6.1)
        self.history = True         # False: completed runs are never listed (task-run-influxdb = "none", history lost)

    def add_completed(self, run, bulk=False):
        if run.requested_at is not None:   # the run recorder writes RFC3339 seconds (docs/kapacitor-api.md §3.2)
            run.requested_at -= run.requested_at % NS
        self.completed_by_id[run.id] = run
        if bulk:
            self.completed.append(run)
        else:
            index = bisect.bisect(self.keys, run.sort_key())
            self.keys.insert(index, run.sort_key())
            self.completed.insert(index, run)
        self.max_lag = max(self.max_lag, (run.started_at or run.scheduled_for) - run.scheduled_for)

    def move_finished_to_history(self, now):
        """Finished runs whose time in kv is over leave it for the completed history."""
        for run in [run for run in self.running.values() if run.kv_until is not None and run.kv_until <= now]:
            del self.running[run.id]
            run.kv_until = None
            self.add_completed(run)

    def finish_bulk(self):
        self.completed.sort(key=Run.sort_key)
        self.keys = [run.sort_key() for run in self.completed]

    def visible_completed(self, now, after_ns=None, before_ns=None, horizon_ns=HORIZON_NS):
        """Completed runs newest scheduledFor first, as AnalyticalStorage.FindRuns reads them (docs/kapacitor-api.md §4.4):
        ``range(start: -14d)`` on the point time (startedAt; the stop is now), and a scheduledFor filter only when a
        window is given, with beforeTime defaulting to now then. Without a window a completed run scheduled in the
        future (a manual run for a later time) is returned; the kv part, by contrast, always stops at now."""
        if not self.history:
            return
        horizon = now - horizon_ns
        low = horizon - self.max_lag
        if after_ns is not None:
            low = max(low, after_ns + 1)
        high = before_ns if before_ns is not None else (now if after_ns is not None else None)
        start = bisect.bisect_left(self.keys, (low, -1))
        stop = len(self.keys) if high is None else bisect.bisect_left(self.keys, (high, -1))
        for index in range(stop - 1, start - 1, -1):
            run = self.completed[index]
            if horizon <= point_time(run) < now and recorded(run, now):
                yield run

    def find_completed(self, run_id, now, horizon_ns=HORIZON_NS):
        """FindRunByID's history part: the same ``range(start: -14d)``, no scheduledFor filter."""
        run = self.completed_by_id.get(run_id)
        if run is None or not self.history or not now - horizon_ns <= point_time(run) < now or not recorded(run, now):
            return None
        return run


def recorded(run, now):
    """Whether the history write of a finished run has happened by ``now``."""
    return run.recorded_at is None or run.recorded_at <= now


def point_time(run):
    """The time of a run's point in the history: its startedAt (run_recorder.go)."""
    return run.started_at if run.started_at is not None else run.scheduled_for


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
        return {'requests': dict(sorted(self.requests.items())), 'requests_total': self.requests_total,
                'retries_started': self.retries_started, 'retries_in_flight': self.retries_in_flight,
                'peak_concurrent_retries': self.peak_concurrent_retries,
                'disconnect_cancellations': self.disconnect_cancellations, 'faults_injected': dict(self.faults_injected)}


class Faults:
    """Seeded fault injection (docs/simulator.md); kinds: latency, get_error, rate_limit, reset, retry_drop_after."""

    def __init__(self, spec=None):
        spec = spec or {}
        self.rng = random.Random(spec.get('seed', 1))
        self.latency_ms = float(spec.get('latency_ms', 0))
        self.latency_ratio = float(spec.get('latency_ratio', 1.0 if spec.get('latency_ms') else 0.0))
        self.get_error_ratio = float(spec.get('get_error_ratio', 0))
        self.get_error_status = int(spec.get('get_error_status', 503))
        self.rate_limit_ratio = float(spec.get('rate_limit_ratio', 0))
        self.retry_after = spec.get('retry_after', 1)
        self.reset_ratio = float(spec.get('reset_ratio', 0))
        self.retry_drop_after_ratio = float(spec.get('retry_drop_after_ratio', 0))
        # Not a per-request fault: every run finishing from now on is out of both kv and the history for this long.
        self.history_gap_ms = float(spec.get('history_gap_ms', 0))
        self.routes = set(spec.get('routes') or ())

    def draw(self, ratio):
        return ratio > 0 and self.rng.random() < ratio

    def plan(self, method, template):
        """Decide, once per request, which faults hit it. Returns a set of kinds."""
        if self.routes and template not in self.routes:
            return set()
        hits = set()
        if self.draw(self.reset_ratio):
            return {'reset'}
        if self.latency_ms > 0 and self.draw(self.latency_ratio):
            hits.add('latency')
        if self.draw(self.rate_limit_ratio):
            hits.add('rate_limit')
        elif method == 'GET' and self.draw(self.get_error_ratio):
            hits.add('get_error')
        elif template == 'POST /api/v2/tasks/:id/runs/:rid/retry' and self.draw(self.retry_drop_after_ratio):
            hits.add('retry_drop_after')
        return hits


ExecutionPlan = namedtuple('ExecutionPlan', 'created_json outcome queue_seconds run_seconds retry_error')


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
        self.horizon_ns = HORIZON_NS   # how far back completed runs are visible
        self.tenancy = None            # InfluxDB 2 mode: orgs, users and tokens (influxdb2.Tenancy)
        self.task_view = Task.to_json  # the task object of the API served, for /_sim/state
        self.rng = random.Random()  # orders runs that share a scheduledFor, differently on every listing
        self.scheduler = None          # the live scheduler (scheduler.Scheduler), for /_sim/scheduler ...
        self.live_tasks = []           # ... and the scenario's tasks it creates runs for (Task.live)

    # -- helpers ------------------------------------------------------------------------------------------------------
    def runs_of(self, task_id):
        runs = self.runs.get(task_id)
        if runs is None:
            runs = self.runs[task_id] = TaskRuns()
        return runs

    def task_flux(self, task_id):
        task = self.tasks.get(task_id)
        return task.flux if task else ''

    def add_task(self, task):
        self.tasks[task.id] = task
        bisect.insort(self.task_ids, task.id)
        self.runs_of(task.id)


def finish_run(state, run, status, error):
    """Executor finish (docs/kapacitor-api.md §3.2): set finishedAt and logs, move the run to completed, update the task summary."""
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
    task = state.tasks.get(run.task_id)
    if task is not None and task.kv_linger_seconds > 0 and run.manual:
        # Held in kv for a while, as between the executor's last kv update and its write to the history.
        run.kv_until = now + int(task.kv_linger_seconds * NS)
        task_runs.running[run.id] = run
    else:
        if state.faults.history_gap_ms > 0:
            # AnalyticalStorage.FinishRun deletes the run from kv before it writes it to the history.
            run.recorded_at = now + int(state.faults.history_gap_ms * 1_000_000)
        task_runs.add_completed(run)
    if task is not None:
        task.latest_completed = max(task.latest_completed or 0, run.scheduled_for)
        task.last_run_status = status if status == 'success' else 'failed'
        task.last_run_error = '' if status == 'success' else 'Completed(failed)'   # the second-to-last log line
