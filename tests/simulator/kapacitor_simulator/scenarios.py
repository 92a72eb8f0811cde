"""Scenario files: build tasks and runs from JSON, including the compact generators (docs/simulator.md)."""

import random
import re

from .constants import ADMIN_USER, DEFAULT_RETRY_ERROR, NS
from .encoding import now_ns, parse_rfc3339
from .flux_options import default_flux
from .ids import IdGenerator, fmt_id, parse_id
from .model import Run, Task, TaskRuns
from .schedule import offset_seconds, slots
from .scheduler import LiveSchedule

_REL_TIME = re.compile(r'^([+-])(\d+(?:\.\d+)?)([smhd])$')
_UNIT_NS = {'s': NS, 'm': 60 * NS, 'h': 3600 * NS, 'd': 86400 * NS}
MAX_SCHEDULED_RUNS = 200000


def parse_scenario_time(value, base_ns):
    """Scenario times: RFC3339 or an offset from load time such as -90m (docs/simulator.md)."""
    match = _REL_TIME.match(str(value).strip())
    if match:
        delta = int(float(match.group(2)) * _UNIT_NS[match.group(3)])
        return base_ns + delta if match.group(1) == '+' else base_ns - delta
    return parse_rfc3339(str(value))


def parse_duration(value):
    """Parse a simple duration such as 1m, 90s, 1h30m, 2d into nanoseconds."""
    total, pos = 0, 0
    for match in re.finditer(r'(\d+(?:\.\d+)?)(ns|us|ms|s|m|h|d|w)', value):
        if match.start() != pos:
            raise ValueError('bad duration %r' % value)
        mult = {'ns': 1, 'us': 1000, 'ms': 1000000, 's': NS, 'm': 60 * NS, 'h': 3600 * NS, 'd': 86400 * NS, 'w': 7 * 86400 * NS}
        total += int(float(match.group(1)) * mult[match.group(2)])
        pos = match.end()
    if pos != len(value) or not value:
        raise ValueError('bad duration %r' % value)
    return total


_RFC3339_LAYOUT = '2006-01-02T15:04:05Z07:00'


class ScenarioLoader:
    """Builds tasks and runs from a scenario dict without touching the live state."""

    def __init__(self, machine, base_ns, tenancy=None):
        self.tenancy = tenancy          # InfluxDB 2 mode: gives each task its organization and owner
        self.ids = IdGenerator(machine)
        self.base = base_ns
        self.tasks = []
        self.runs = {}
        self.run_count = 0

    def load(self, scenario):
        specs = list(scenario.get('tasks') or [])
        # Reserve explicit IDs first so derived ones never collide with them.
        for spec in specs:
            if spec.get('id'):
                self.ids.reserve(parse_id(spec['id']))
            for run in spec.get('runs') or []:
                if run.get('id'):
                    self.ids.reserve(parse_id(run['id']))
        specs.extend(self.generated_task_specs(scenario.get('generate')))
        for spec in specs:
            self.load_task(spec)
        for task_runs in self.runs.values():
            task_runs.finish_bulk()

    @staticmethod
    def generated_task_specs(gen):
        if not gen:
            return []
        count = int(gen.get('tasks', 0))
        rng = random.Random(gen.get('seed', 1))
        inactive = set(rng.sample(range(count), round(count * float(gen.get('inactive_ratio', 0)))))
        prefix = gen.get('name_prefix', 'task')
        every = gen.get('every', '1m')
        specs = []
        for index in range(count):
            spec = {'name': '%s_%04d' % (prefix, index + 1), 'every': every,
                    'status': 'inactive' if index in inactive else 'active',
                    'run_seconds': gen.get('run_seconds', 0), 'queue_seconds': gen.get('queue_seconds', 0)}
            for key in ('retry_outcomes', 'retry_error', 'kv_linger_seconds'):
                if key in gen:
                    spec[key] = gen[key]
            runs_per_task = int(gen.get('runs_per_task', 0))
            if runs_per_task:
                spec['generate_runs'] = {'count': runs_per_task, 'every': every, 'end': gen.get('end', '-' + every),
                                         'failed_ratio': gen.get('failed_ratio', 0), 'retried_ratio': gen.get('retried_ratio', 0),
                                         'seed': int(gen.get('seed', 1)) * 100003 + index}
            specs.append(spec)
        return specs

    def load_task(self, spec):
        flux = spec.get('flux') or default_flux(spec.get('name', 'task'), spec.get('every'), spec.get('cron'), spec.get('offset'))
        run_specs = list(spec.get('runs') or [])
        generated = generate_run_specs(spec.get('generate_runs'), self.base) if spec.get('generate_runs') else []
        times = [parse_scenario_time(r['scheduled_for'], self.base) for r in run_specs if r.get('scheduled_for')]
        times += [g[0] for g in generated]
        candidates = [time - 3600 * NS for time in times]
        schedule = spec.get('schedule_runs')
        if schedule:
            # The task was created just before the first scheduled time asked for: the scheduler's first slot is the
            # first one strictly after createdAt.
            candidates.append(self.scenario_time(schedule, 'from') - NS)
        created = min(candidates) if candidates else self.base - 3600 * NS
        if spec.get('created_at'):
            created = parse_scenario_time(spec['created_at'], self.base)
        created -= created % NS
        task_id = parse_id(spec['id']) if spec.get('id') else self.ids.derived(created)
        task = Task(task_id, flux, spec.get('owner', ADMIN_USER), created)
        if self.tenancy is not None:
            self.tenancy.adopt(task, spec)
        elif spec.get('script_id'):
            raise ValueError('task %r: script_id is for InfluxDB Cloud tasks (--flavor influxdb2); a Kapacitor task '
                             'always carries its flux' % task.name)
        if spec.get('updated_at'):
            task.updated_at = parse_scenario_time(spec['updated_at'], self.base)
        task.status = spec.get('status', 'active')
        task.description = spec.get('description', '')
        task.run_seconds = float(spec.get('run_seconds', 0))
        task.queue_seconds = float(spec.get('queue_seconds', 0))
        task.retry_outcomes = list(spec.get('retry_outcomes') or ['success'])
        task.retry_error = spec.get('retry_error') or DEFAULT_RETRY_ERROR
        task.kv_linger_seconds = float(spec.get('kv_linger_seconds', 0))
        task_runs = self.runs.setdefault(task_id, TaskRuns())
        for run_spec in run_specs:
            self.add_run(task_runs, self.build_run(task_id, run_spec), in_kv=bool(run_spec.get('in_kv')))
        for scheduled_for, status, retried in generated:
            self.add_generated(task, task_runs, scheduled_for, status, retried)
        restarts = []
        if schedule:
            restarts = self.add_scheduled(task, task_runs, schedule)
        # A run that was requested (queued, or a past retry or manual run) went through the manualRuns kv key.
        task_runs.manual_runs_key = any(run_spec.get('requested_at') for run_spec in run_specs) or any(g[2] for g in generated)
        task_runs.history = spec.get('history', True) is not False
        self.update_task_summary(task, task_runs, restarts)
        if spec.get('latest_completed'):
            task.latest_completed = parse_scenario_time(spec['latest_completed'], self.base)
        self.make_live(task, spec, task_runs, restarts)
        self.tasks.append(task)

    def make_live(self, task, spec, task_runs, restarts):
        """``live``: the live scheduler goes on from the last run ``schedule_runs`` created, the task's creation or the
        last restart it declared, whichever is latest; without ``schedule_runs``, from now, as a process that has just
        started."""
        if spec.get('live') is None:
            return
        if spec['live'] is not True or not (task.every or task.cron):
            raise ValueError('task %r: live must be true, for a task with every or cron' % task.name)
        task.live_status = spec.get('live_status', 'success')
        if task.live_status not in ('success', 'failed'):
            raise ValueError('task %r: live_status %r: expected success or failed' % (task.name, task.live_status))
        if spec.get('schedule_runs'):
            scheduled = [run.scheduled_for for run in task_runs.completed if not run.manual]
            anchor = max([task.created_at] + scheduled + list(restarts)) // NS
        else:
            anchor = self.base // NS
        try:
            task.live = LiveSchedule(task, anchor)
        except ValueError as exc:
            raise ValueError('task %r: live needs a schedule the scheduler can follow: %s' % (task.name, exc)) from None

    def scenario_time(self, spec, key, default=None):
        """A time of a scenario block, naming the block's key when it is missing or bad."""
        if spec.get(key) is None and default is not None:
            return default
        try:
            return parse_scenario_time(spec[key], self.base)
        except (KeyError, ValueError) as exc:
            raise ValueError('schedule_runs %r: expected RFC3339 or a relative time such as -6h (%s)' % (key, exc)) from None

    def add_scheduled(self, task, task_runs, schedule):
        """``schedule_runs``: the runs Kapacitor's scheduler created on the task's grid (docs/simulator.md); returns the
        restart times that ended the outages.

        A slot S gets a completed run when ``from <= S <= to``, S is after ``createdAt``, its execution time
        ``S + offset`` lies at least a second in the past, and no outage swallowed it: an outage ``[down, up]`` misses
        every slot with ``S + offset > down`` and ``S <= up``, because the restarted scheduler jumps to ``up`` and
        only creates slots strictly after it (no catch-up)."""
        offset = offset_seconds(task.offset)
        low = self.scenario_time(schedule, 'from') // NS
        high = self.scenario_time(schedule, 'to', self.base) // NS
        outages = [(self.scenario_time(outage, 'from'), self.scenario_time(outage, 'to')) for outage in schedule.get('outages') or []]
        after = max(low - 1, task.created_at // NS)
        until = min(high, self.base // NS - offset - 1)
        try:
            times = slots(task.every, task.cron, after, until, MAX_SCHEDULED_RUNS)
        except ValueError as exc:
            raise ValueError('schedule_runs of task %r: %s' % (task.name, exc)) from None
        times = [slot for slot in times if not any((slot + offset) * NS > down and slot * NS <= up for down, up in outages)]
        rng = random.Random(schedule.get('seed', 1))
        failed = set(rng.sample(range(len(times)), round(len(times) * float(schedule.get('failed_ratio', 0)))))
        shift = int(schedule.get('grid_shift_seconds', 0))
        for index, slot in enumerate(times):
            self.add_generated(task, task_runs, (slot + shift) * NS, 'failed' if index in failed else 'success', False, offset * NS)
        return [up for dummy, up in outages if up <= self.base]

    def build_run(self, task_id, spec):
        base = self.base
        status = spec.get('status', 'success')
        scheduled_for = parse_scenario_time(spec.get('scheduled_for', '-1m'), base)
        scheduled_for -= scheduled_for % NS
        run = Run(0, task_id, status, scheduled_for)
        for attr, key in (('started_at', 'started_at'), ('finished_at', 'finished_at'), ('requested_at', 'requested_at')):
            if spec.get(key):
                setattr(run, attr, parse_scenario_time(spec[key], base))
        if status in ('success', 'failed', 'canceled', 'started'):
            if run.started_at is None:
                # A run that has started did so before now, whatever its scheduledFor (a manual run may be for later).
                run.started_at = min(max(scheduled_for, run.requested_at or 0) + 12_345_678, base - NS)
        if status in ('success', 'failed', 'canceled') and run.finished_at is None:
            run.finished_at = run.started_at + 250_000_000
        run.manual = run.requested_at is not None
        if spec.get('log') is not None:
            run.log = [{'runID': '', 'time': entry.get('time', ''), 'message': entry.get('message', '')} for entry in spec['log']]
        run.error = spec.get('error', '')
        run_id = parse_id(spec['id']) if spec.get('id') else self.ids.derived(run.started_at or run.requested_at or scheduled_for)
        run.id = run_id
        if run.log is not None:
            for entry in run.log:
                entry['runID'] = fmt_id(run_id)
        return run

    def add_run(self, task_runs, run, in_kv=False):
        self.run_count += 1
        if in_kv:
            task_runs.running[run.id] = run      # held in kv whatever its status, until the scenario is replaced
        elif run.status in ('success', 'failed', 'canceled'):
            task_runs.add_completed(run, bulk=True)
        elif run.status == 'started':
            task_runs.running[run.id] = run
        elif run.requested_at is not None:
            task_runs.queued.append(run)
        else:
            task_runs.running[run.id] = run      # a scheduled (not yet started) run held in kv

    def add_generated(self, task, task_runs, scheduled_for, status, retried, delay=0):
        """A completed scheduler run that started just after its execution time ``scheduled_for + delay`` (offset)."""
        run = Run(0, task.id, status, scheduled_for)
        run.started_at = scheduled_for + delay + 10_000_000 + (scheduled_for // NS % 7) * 1_000_000
        run.finished_at = run.started_at + 180_000_000
        run.error = task.retry_error if status == 'failed' else ''
        self.assign_derived_id(run, run.started_at)
        self.add_run(task_runs, run)
        if retried:
            retry = Run(0, task.id, 'success', scheduled_for)
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

    @staticmethod
    def update_task_summary(task, task_runs, restarts=()):
        """latestCompleted moves forward only: createdAt, each restart (the startup reset sets it to now) and each
        finished run's scheduledFor (Kapacitor's kv ``finishRun`` and ``TaskNotifyCoordinatorOfExisting``)."""
        task.latest_completed = max([task.created_at] + list(restarts))
        if not task_runs.completed:
            return
        latest = max(task_runs.completed, key=lambda r: (r.scheduled_for, r.id))
        task.latest_completed = max(task.latest_completed, latest.scheduled_for)
        task.last_run_status = latest.status if latest.status == 'success' else 'failed'
        # docs/kapacitor-api.md §3.2: lastRunError takes the second-to-last log line, usually "Completed(failed)".
        task.last_run_error = '' if latest.status == 'success' else 'Completed(failed)'


def generate_run_specs(gen, base):
    """(scheduled_for, status, retried) tuples for ``generate_runs``; exact, seeded counts."""
    count = int(gen.get('count', 0))
    every = parse_duration(str(gen.get('every', '1m')))
    end = parse_scenario_time(gen.get('end', '-' + str(gen.get('every', '1m'))), base)
    end -= end % NS
    rng = random.Random(gen.get('seed', 1))
    failed = set(rng.sample(range(count), round(count * float(gen.get('failed_ratio', 0)))))
    retried = set(rng.sample(sorted(failed), round(len(failed) * float(gen.get('retried_ratio', 0)))))
    return [(end - index * every, 'failed' if index in failed else 'success', index in retried) for index in range(count)]


def load_scenario(state, scenario):
    """Replace all state of ``state`` (docs/simulator.md "Scenario format"); returns the tasks and the run count."""
    scenario = scenario or {}
    tenancy = state.tenancy.reload(scenario) if state.tenancy is not None else None
    loader = ScenarioLoader(state.ids.machine, now_ns(), tenancy)
    loader.load(scenario)
    with state.lock:
        state.tenancy = tenancy
        state.ids = loader.ids
        state.tasks = {}
        state.task_ids = []
        state.runs = loader.runs
        for task in loader.tasks:
            state.add_task(task)
        state.live_tasks = [task for task in loader.tasks if task.live]
        return {'tasks': [{'id': fmt_id(task.id), 'name': task.name} for task in loader.tasks], 'runs': loader.run_count}
