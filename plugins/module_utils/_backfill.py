# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Backfill: create the runs a Flux task never had, one per scheduled time that has no run at all.

Kapacitor skips every scheduled time it missed while it was down (and while a task was inactive): no run exists for
them, so no retry can reach them. A manual run (``POST /tasks/{id}/runs`` with ``{"scheduledFor": ...}``) runs the
task with ``now()`` set to that time, so it computes the range the missed run would have (docs/backfill.md).

Two phases, each one call per task on a bounded thread pool:

* ``plan``: skip what cannot or must not be backfilled (inactive task, schedule that cannot be enumerated, Flux with
  side effects or ``tasks.lastSuccess``), clamp the window (never before ``createdAt``, ``updatedAt`` or the run
  history's horizon, ``client.horizon_seconds()``, never after now - offset - grace), list the runs of the window (any status), check that the run
  history can be trusted (history check, calibration) and compute the missing scheduled times; ``max_runs_per_task``
  and then ``max_runs_total`` refuse, never truncate;
* ``fill`` (not in check mode): oldest first, one at a time per task; each scheduled time is listed again just before
  its POST, the echoed ``scheduledFor`` is verified, an answer that is not a success is followed by a listing (a failed
  run exists too), an uncertain request is never sent again before a listing showed no run; a task stops at its first
  failed run unless ``continue_on_error``. Kapacitor (and InfluxDB 2.0 and 2.1: ``runs_block``) answers a manual run
  when it has finished; InfluxDB 2.2+ answers at once with the run ``scheduled``, so the run is read until it has
  finished before the next scheduled time is decided, and an inactive task (InfluxDB's 400) is skipped.
"""

import re
import time

from ansible_collections.tickstack.kapacitor.plugins.module_utils._client import hint_for_status
from ansible_collections.tickstack.kapacitor.plugins.module_utils._errors import (
    AmbiguousRequest,
    KapacitorError,
    RateLimited,
)
from ansible_collections.tickstack.kapacitor.plugins.module_utils._listing import (
    collect_runs,
    map_concurrently,
    newest_finished,
    scheduled_window,
)
from ansible_collections.tickstack.kapacitor.plugins.module_utils._retrier import (
    POLL_INTERVAL,
    RETRY_RESEND_DELAY,
    RETRY_SENDS,
    ended_or_unstarted,
    follow_run,
    never_started,
)
from ansible_collections.tickstack.kapacitor.plugins.module_utils._runs import (
    HORIZON_SECONDS,
    Window,
    classify_retry_response,
    epoch_to_rfc3339,
    horizon_words,
    latest_of,
    rfc3339_to_epoch,
    run_error,
    scheduled_epoch,
    scheduled_instant,
    server_label,
)
from ansible_collections.tickstack.kapacitor.plugins.module_utils._schedule import ScheduleError, TooManySlots, parse_task_schedule

# Slots older than the horizon minus this margin are not judged: their run may have started before the horizon.
HISTORY_MARGIN = 3600
# At most this many scheduled times are enumerated per task (a 1-second cron over 14 days would be 1.2 million).
ENUMERATION_LIMIT = 100000
FORCE_RUN_VERB = 'failed to force run:'

OUTCOMES = ('nothing_missing', 'would_backfill', 'backfilled', 'failed', 'skipped', 'refused', 'error')

# Flux packages whose functions act outside the task's own output: a backfilled run would send old alerts and
# notifications again, post to web services or publish messages. Matched on the import path.
SIDE_EFFECT_PACKAGES = (
    'http', 'http/requests', 'experimental/http/requests', 'slack', 'pagerduty', 'pushbullet', 'kafka',
    'experimental/mqtt', 'influxdata/influxdb/monitor', 'contrib/sranka/opsgenie', 'contrib/sranka/telegram',
    'contrib/sranka/teams', 'contrib/sranka/webexteams', 'contrib/sranka/sensu', 'contrib/chobbs/discord',
    'contrib/bonitoo-io/victorops', 'contrib/bonitoo-io/servicenow', 'contrib/bonitoo-io/zenoss',
    'contrib/bonitoo-io/alerta', 'contrib/bonitoo-io/tickscript', 'contrib/rhajek/bigpanda',
)
# Packages that mostly read, with one function that writes elsewhere: refused only when that function is called.
SIDE_EFFECT_CALLS = {'sql': 'to'}
TASKS_PACKAGE = 'influxdata/influxdb/tasks'
_IMPORT_RE = re.compile(r'^[ \t]*import[ \t]+(?:([A-Za-z_][A-Za-z0-9_]*)[ \t]+)?"([^"\n]+)"', re.M)


# --------------------------------------------------------------------------- the task's Flux

def flux_imports(flux):
    """``[(name the script uses, import path)]`` of a Flux script's imports (``import x "path"`` names it ``x``)."""
    return [(alias or path.rsplit('/', 1)[-1], path) for alias, path in _IMPORT_RE.findall(flux or '')]


def _calls(flux, name, function):
    return re.search(r'\b%s\s*\.\s*%s\s*\(' % (re.escape(name), re.escape(function)), flux or '') is not None


def side_effects(flux):
    """What in a Flux script acts outside the task's own output, as words (empty when nothing does)."""
    found = []
    for name, path in flux_imports(flux):
        if path in SIDE_EFFECT_PACKAGES:
            found.append('imports "%s"' % path)
        elif path in SIDE_EFFECT_CALLS and _calls(flux, name, SIDE_EFFECT_CALLS[path]):
            found.append('calls %s.%s() of "%s"' % (name, SIDE_EFFECT_CALLS[path], path))
    return found


def uses_last_success(flux):
    """Whether the script calls ``tasks.lastSuccess`` (under any import name)."""
    return any(path == TASKS_PACKAGE and _calls(flux, name, 'lastSuccess') for name, path in flux_imports(flux))


# --------------------------------------------------------------------------- the window

def _task_time(task, key):
    try:
        return rfc3339_to_epoch(task[key]) if task.get(key) else None
    except KapacitorError:
        return None


def clamp_window(task, offset, after, before, now, grace, ignore_updated_at=False, horizon=HORIZON_SECONDS):
    """The effective window of one task: ``(after, before, after_limited_by, before_limited_by)``, epoch seconds,
    both bounds exclusive (the scheduled times S with after < S < before are judged).

    ``after`` is the latest of the caller's ``after_time``, the task's ``createdAt`` (its first scheduled time is
    strictly after it), its ``updatedAt`` (the schedule or the script may have changed then) unless
    ``ignore_updated_at``, and the history horizon (the server lists runs that started within ``horizon`` seconds:
    14 days on Kapacitor, the ``_tasks`` bucket's retention on InfluxDB 2; a margin of an hour, and a negative offset,
    which starts runs before their scheduled time). ``before`` is the earlier of the
    caller's ``before_time`` and now - offset - grace: a scheduled time whose run is not due yet, or may still be on
    its way, is not missing.
    """
    lows = [('after_time', after), ('created_at', _task_time(task, 'createdAt'))]
    if not ignore_updated_at:
        lows.append(('updated_at', _task_time(task, 'updatedAt')))
    lows.append(('history_horizon', now - horizon + HISTORY_MARGIN - min(offset, 0)))
    highs = [('before_time', before), ('grace', now - offset - grace)]
    low_by, low = max(((name, value) for name, value in lows if value is not None), key=lambda pair: pair[1])
    high_by, high = min(((name, value) for name, value in highs if value is not None), key=lambda pair: pair[1])
    return low, high, low_by, high_by


# --------------------------------------------------------------------------- one task

class TaskBackfill:
    """One task's plan and what became of it; ``result()`` is its entry in the module's ``tasks``."""

    def __init__(self, task):
        self.task = task
        self.task_id = task['id']
        self.outcome = None
        self.reason = None
        self.schedule = None
        self.window = None
        self.expected = 0
        self.present = 0
        self.missing = []
        self.created = []
        self.not_created = []

    def end(self, outcome, reason=None):
        self.outcome, self.reason = outcome, reason

    def result(self):
        window = None
        if self.window is not None:
            low, high, low_by, high_by = self.window
            window = {'after_time': epoch_to_rfc3339(low), 'before_time': epoch_to_rfc3339(-(-high // 1)),
                      'after_limited_by': low_by, 'before_limited_by': high_by}
        return {
            'task_id': self.task_id,
            'task_name': self.task.get('name'),
            'task_status': self.task.get('status'),
            'schedule': None if self.schedule is None else self.schedule.describe(),
            'outcome': self.outcome,
            'reason': self.reason,
            'window': window,
            'expected': self.expected,
            'present': self.present,
            'missing': [epoch_to_rfc3339(epoch) for epoch in self.missing],
            'created': self.created,
            'not_created': self.not_created,
        }


class Backfill:
    """Plans and fills the missing runs of many tasks. Options are keywords: ``after``/``before`` (epoch seconds or
    None, the caller's window), ``now``, ``grace`` (seconds), ``ignore_updated_at``, ``allow_side_effects``,
    ``max_runs_per_task``, ``max_runs_total``, ``continue_on_error``, ``skip_history_check``, ``concurrency``,
    ``run_timeout`` (seconds a manual run's request may take: Kapacitor answers when the run has finished; on
    InfluxDB 2, seconds to wait for the run to finish),
    ``check_mode``; for tests ``clock`` (monotonic seconds) and ``sleep``."""

    def __init__(self, client, *, after, before, now, grace=300.0, ignore_updated_at=False, allow_side_effects=False,
                 max_runs_per_task=100, max_runs_total=500, continue_on_error=False, skip_history_check=False,
                 concurrency=4, run_timeout=1800.0, check_mode=False, clock=time.monotonic, sleep=time.sleep):
        self.client = client
        self.after = after
        self.before = before
        self.host_now = self.now = now   # now by this host's clock; run() makes self.now the server's when it is behind
        self.grace = grace
        self.ignore_updated_at = ignore_updated_at
        self.allow_side_effects = allow_side_effects
        self.max_runs_per_task = max_runs_per_task
        self.max_runs_total = max_runs_total
        self.continue_on_error = continue_on_error
        self.skip_history_check = skip_history_check
        self.concurrency = concurrency
        self.run_timeout = run_timeout
        self.check_mode = check_mode
        self._clock = clock
        self._sleep = sleep
        self.horizon = HORIZON_SECONDS
        self.server = 'Kapacitor'
        self.clock_behind = 0.0   # seconds the server's clock is behind this host's (see run)

    def run(self, tasks):
        """Plan every task, refuse them all if together they exceed ``max_runs_total``, then fill (not in check
        mode). Returns ``(results, totals)``."""
        self.horizon = self.client.horizon_seconds()
        self.server = server_label(self.client.server_type)
        # Scheduled times are judged by the server's clock when it is behind this host's: a time the server has not
        # reached yet is not missed, and a manual run for it would move the task's latestCompleted past the times
        # its scheduler still has to run (docs/backfill.md).
        self.now = self.client.server_now(self.host_now)
        self.clock_behind = self.host_now - self.now
        plans = map_concurrently(self.plan, tasks, self.concurrency)
        pending = [plan for plan in plans if plan.outcome is None]
        total = sum(len(plan.missing) for plan in pending)
        if total > self.max_runs_total:
            for plan in pending:
                plan.end('refused', 'the %d task(s) selected miss %d scheduled times in all, more than max_runs_total '
                                    '(%d); nothing was created. Narrow the window or the tasks, or raise max_runs_total'
                         % (len(pending), total, self.max_runs_total))
            pending = []
        for plan in pending:
            if self.check_mode:
                plan.end('would_backfill', 'would create %d run(s) (check mode)' % len(plan.missing))
        if not self.check_mode:
            map_concurrently(self.fill, pending, self.concurrency)
        results = [plan.result() for plan in plans]
        return results, totals_of(results)

    # ---------------------------------------------------------------- planning

    def plan(self, task):
        plan = TaskBackfill(task)
        try:
            self._plan(plan)
        except KapacitorError as exc:
            plan.end('error', 'could not list the runs of task %s: %s' % (plan.task_id, exc))
        return plan

    def _plan(self, plan):
        task = plan.task
        if task.get('status') != 'active':
            plan.end('skipped', 'the task is %s: %s does not schedule it, and a backfill would run what someone '
                                'stopped' % (task.get('status'), self.server))
            return
        try:
            plan.schedule = schedule = parse_task_schedule(task)
        except ScheduleError as exc:
            plan.end('skipped', str(exc))
            return
        flux = task.get('flux')
        if task.get('scriptID') or not isinstance(flux, str) or not flux.strip():
            # InfluxDB Cloud: a task that runs a stored script (scriptID) has no flux in its task object; should one
            # come with a scriptID, it need not be what the task runs.
            if not self.allow_side_effects:
                plan.end('refused', '%s, so what a backfilled run would do (alerts, notifications, writes elsewhere) '
                                    'cannot be checked. Set allow_side_effects to backfill it anyway'
                         % ('the task runs the stored script %s, which its task object does not show' % task['scriptID']
                            if task.get('scriptID') else 'the task object carries no Flux script'))
                return
            flux = ''
        effects = side_effects(flux)
        if effects and not self.allow_side_effects:
            plan.end('refused', 'the task %s: a backfilled run would do that again for every missed time (alerts, '
                                'notifications, writes elsewhere). Set allow_side_effects to backfill it anyway'
                     % ' and '.join(effects))
            return
        # InfluxDB 2 gives a run its latest success time only behind a feature flag that is off by default
        # (docs/backfill.md); with it on, the first backfilled run fails and stops the task.
        if uses_last_success(flux) and self.client.server_type != 'influxdb2':
            plan.end('refused', 'the task calls tasks.lastSuccess(): Kapacitor gives every run the time of the latest '
                                'success, so a run for an earlier time queries an empty range and fails')
            return
        plan.window = clamp_window(task, schedule.offset, self.after, self.before, self.now, self.grace,
                                   self.ignore_updated_at, self.horizon)
        low, high = plan.window[:2]
        if high <= low + 1:
            plan.end('nothing_missing', 'the effective window is empty')
            return
        try:
            expected = schedule.times(low, high, ENUMERATION_LIMIT)
        except TooManySlots as exc:
            plan.end('refused', '%s: narrow the window' % exc)
            return
        plan.expected = len(expected)
        runs, dummy = collect_runs(self.client, plan.task_id, Window(low, high))
        problem = calibration_problem(schedule, runs)
        if problem is None and not self.skip_history_check:
            problem = self._history_problem(task, schedule, runs, low, high)
        if problem:
            plan.end('refused', problem)
            return
        present = {scheduled_epoch(run) for run in runs}
        plan.missing = [epoch for epoch in expected if epoch not in present]
        plan.present = plan.expected - len(plan.missing)
        if not plan.missing:
            plan.end('nothing_missing')
        elif len(plan.missing) > self.max_runs_per_task:
            plan.end('refused', '%d scheduled times have no run, more than max_runs_per_task (%d); nothing was '
                                'created. Narrow the window, or raise max_runs_per_task'
                     % (len(plan.missing), self.max_runs_per_task))

    def _history_problem(self, task, schedule, runs, low, high):
        """Why the runs Kapacitor lists cannot be trusted to show what ran, or None (docs/backfill.md)."""
        horizon = self.now - self.horizon + HISTORY_MARGIN
        created = _task_time(task, 'createdAt') or 0
        latest = _task_time(task, 'latestCompleted')
        # latestCompleted is the scheduled time of the latest finished run (or a restart time, off the grid).
        if latest is not None and schedule.is_slot(latest) and horizon < latest <= self.now and latest > created:
            if low < latest < high:
                listed = any(scheduled_epoch(run) == latest for run in runs)
            else:
                listed = bool(self._runs_at(task['id'], latest))
            if not listed:
                return ('the task says its latest finished run was scheduled for %s (latestCompleted), but %s lists '
                        'no run for that time: its run history is off (task-run-influxdb = "none" on Kapacitor) or lost, '
                        'so every scheduled time would look missed. Set skip_history_check only if you know why'
                        % (epoch_to_rfc3339(latest), self.server))
        if runs or not task.get('lastRunStatus'):
            return None
        start = max(horizon, created)
        slot, slots = start, 0
        while slots < 3:
            slot = schedule.next(slot)
            if slot is None or slot >= self.now - schedule.offset - self.grace:
                return None
            slots += 1
        listed, dummy = collect_runs(self.client, task['id'], Window(start, self.now + max(0, -schedule.offset) + 1),
                                     enough=lambda found, boundary: bool(found), strict=False)
        if not listed:
            return ('the task has run (lastRunStatus is %s), but %s lists no run of it in the last %s: its run '
                    'history is off (task-run-influxdb = "none" on Kapacitor) or lost, so every scheduled time would '
                    'look missed. Set skip_history_check only if you know why'
                    % (task.get('lastRunStatus'), self.server, horizon_words(self.horizon)))
        return None

    def _runs_at(self, task_id, epoch, keep_logs=False):
        runs, dummy = collect_runs(self.client, task_id, scheduled_window([epoch]), keep_logs=keep_logs)
        return [run for run in runs if scheduled_epoch(run) == epoch]

    # ---------------------------------------------------------------- filling

    def fill(self, plan):
        stopped = None
        for epoch in plan.missing:
            when = epoch_to_rfc3339(epoch)
            if stopped:
                plan.not_created.append({'scheduled_for': when, 'reason': 'not attempted: ' + stopped})
                continue
            try:
                stopped = self._fill_one(plan, epoch, when)
            except KapacitorError as exc:
                reason = str(exc)
                plan.not_created.append({'scheduled_for': when, 'reason': reason})
                plan.end('error', 'stopped at %s: %s' % (when, reason))
                stopped = 'the task stopped at %s' % when
        if plan.outcome is None:
            failed = [entry for entry in plan.created if entry['status'] != 'success']
            if failed:
                plan.end('failed', '%d of %d backfilled run(s) did not succeed' % (len(failed), len(plan.created)))
            else:
                plan.end('backfilled')

    def _fill_one(self, plan, epoch, when):
        """Create the run of one missing scheduled time. Returns why the task stops, or None to go on."""
        others = self._runs_at(plan.task_id, epoch)
        if others:
            run = latest_of(others)[0]
            plan.not_created.append({'scheduled_for': when, 'reason': 'another job created run %s (%s) for this '
                                     'scheduled time during this call' % (run['id'], run['status'])})
            return None
        sends = 0
        while True:
            sends += 1
            started = self._clock()
            timed_out, kind, delay, status, server_message = False, None, 0, None, None
            try:
                status, body, message = self.client.force_run(plan.task_id, when, self.run_timeout)
            except RateLimited as exc:
                kind, message, delay = 'uncertain', str(exc), exc.retry_after
            except AmbiguousRequest as exc:
                timed_out = self._clock() - started >= self.run_timeout * 0.99
                kind, message, delay = 'uncertain', exc.message, RETRY_RESEND_DELAY
            else:
                if 200 <= status < 300:
                    return self._created(plan, epoch, when, body)
                kind = classify_retry_response(status, message, FORCE_RUN_VERB, blocking=self.client.runs_block)
                server_message, message = message, 'HTTP %d: %s' % (status, message)
                if kind == 'ambiguous':
                    kind, delay = 'uncertain', RETRY_RESEND_DELAY
            if kind == 'already_queued':
                plan.not_created.append({'scheduled_for': when, 'reason': 'another job queued a run for this '
                                         'scheduled time during this call (%s)' % message})
                return None
            if kind == 'task_inactive':  # InfluxDB 2 refuses a manual run of an inactive task; nothing was created
                reason = 'the task was deactivated during this call, and %s refuses its manual runs (%s)' % (
                    self.server, message)
                plan.not_created.append({'scheduled_for': when, 'reason': reason})
                plan.end('skipped', reason)
                return 'the task was deactivated'
            if kind == 'error' and not self.client.runs_block:
                self._refused_on_influxdb(plan.task_id, epoch, status, server_message)
            # Not a success: a run may exist all the same (a failed run is recorded; an uncertain request may have
            # been acted on). Only a run listed now, none having been listed before the request, is this request's.
            self._sleep(delay)
            run = None
            if kind == 'retried_failed':   # a blocking server's failure answer comes once the run has ended
                run = ended_or_unstarted(self._runs_at(plan.task_id, epoch, keep_logs=False))
                if run is not None and run['status'] == 'scheduled':
                    raise KapacitorError('the manual run was answered %s, but %s' % (message, never_started(run)))
            run = run or self._new_run(plan.task_id, epoch)
            if run is not None:
                return self._record(plan, when, run, timed_out)
            if timed_out:
                raise KapacitorError('no answer within run_timeout (%g s), and no run is listed for this scheduled '
                                     'time; raise run_timeout above the time the task takes' % self.run_timeout)
            if kind != 'uncertain':
                hint = hint_for_status(status, server_message, server_type=self.client.server_type) if kind == 'error' else None
                raise KapacitorError('the manual run was refused: %s' % message, hint=hint)
            if sends >= RETRY_SENDS:
                raise KapacitorError('the manual run request was sent %d times without a confirmed outcome (last: %s), '
                                     'and no run appeared' % (sends, message))

    def _refused_on_influxdb(self, task_id, epoch, status, message):
        """Raise the error of a refused manual run on InfluxDB 2.2+: it answers before running anything, so an error is
        never the run's failure. After a 500 ``could not execute task run`` the run exists but was not scheduled and
        may stay queued: one listing names it, and nothing waits for it to end."""
        reason = 'the manual run was refused: HTTP %d: %s' % (status, message)
        runs = self._runs_at(task_id, epoch) if status >= 500 else []
        if runs:
            run = latest_of(runs)[0]
            reason += '; InfluxDB created run %s (%s) all the same, but did not schedule it' % (run['id'], run['status'])
        raise KapacitorError(reason, hint=hint_for_status(status, message, server_type='influxdb2'))

    def _created(self, plan, epoch, when, body):
        """A 201. Kapacitor (and InfluxDB 2.0 and 2.1) answer when the run has finished, and answer an error when it
        failed; InfluxDB 2.2 and later answer at once with the run ``scheduled``, so it is read until it has finished
        (up to ``run_timeout``)."""
        run_id = body.get('id')
        try:
            echoed = scheduled_instant(body.get('scheduledFor'))
        except (KapacitorError, TypeError):
            echoed = None
        scheduled = not self.client.runs_block
        entry = {'scheduled_for': epoch_to_rfc3339(echoed) if echoed is not None else body.get('scheduledFor'),
                 'run_id': run_id, 'status': (body.get('status') or 'scheduled') if scheduled else 'success',
                 'error': None}
        plan.created.append(entry)
        if echoed != epoch:
            reason = ('%s created run %s for %s instead of %s (it ignores a body it cannot read, and then runs '
                      'for now)' % (self.server, run_id, body.get('scheduledFor'), when))
            plan.end('error', reason)
            return reason
        if not scheduled:
            return None
        try:
            run, finished = follow_run(self.client, plan.task_id, {'id': run_id, 'status': entry['status']},
                                       self.run_timeout, self._clock, self._sleep)
        except KapacitorError as exc:
            entry['error'] = 'reading the run failed, so how it ends is unknown: %s' % exc
            reason = 'InfluxDB created run %s for %s, but %s' % (run_id, when, entry['error'])
            plan.end('error', reason)
            return reason
        entry['status'] = run['status']
        if not finished:
            entry['error'] = ('still %s after run_timeout (%g s); InfluxDB goes on with it, but the task stops here, '
                              'since the next scheduled time is decided only once a run has ended'
                              % (run['status'], self.run_timeout))
            return 'run %s for %s had not finished after run_timeout (%g s)' % (run_id, when, self.run_timeout)
        entry['error'] = run_error(run)
        if run['status'] == 'success' or self.continue_on_error:
            return None
        return 'the task stopped at its first failed backfilled run (%s, run %s); set continue_on_error to go on' % (
            when, run_id)

    def _record(self, plan, when, run, timed_out):
        status = run['status']
        error = run.get('error')
        if timed_out and status != 'success' and self.client.runs_block:  # InfluxDB 2.2+ cancels nothing
            error = ('%s; run_timeout (%g s) passed first and %s cancels a run whose client hangs up: raise '
                     'run_timeout above the time the task takes' % (error or status, self.run_timeout, self.server))
        plan.created.append({'scheduled_for': when, 'run_id': run['id'], 'status': status, 'error': error})
        if status == 'success' or self.continue_on_error:
            return None
        return 'the task stopped at its first failed backfilled run (%s, run %s); set continue_on_error to go on' % (when, run['id'])

    def _new_run(self, task_id, epoch):
        """The newest run of this scheduled time, waiting (up to ``run_timeout``) while it is queued or running."""
        return newest_finished(lambda: self._runs_at(task_id, epoch, keep_logs=False), self.run_timeout, self._clock,
                               self._sleep, POLL_INTERVAL)


def calibration_problem(schedule, runs):
    """Why the task's schedule, as computed, does not match where its scheduler put runs, or None: every run the
    scheduler created (no ``requestedAt``) must sit on a computed scheduled time."""
    off = sorted({scheduled_epoch(run) for run in runs if not run.get('requestedAt') and not schedule.is_slot(scheduled_epoch(run))})
    if not off:
        return None
    shown = ', '.join(epoch_to_rfc3339(epoch) for epoch in off[:3]) + (' and %d more' % (len(off) - 3) if len(off) > 3 else '')
    return ('the scheduler ran the task at %s, which is not on its schedule as computed (%s): the schedule changed in the '
            'window, or Kapacitor runs in a time zone other than UTC. Nothing was created'
            % (shown, schedule.describe()))


def totals_of(results):
    totals = {'tasks': len(results), 'expected': 0, 'present': 0, 'missing': 0, 'created': 0, 'created_failed': 0}
    totals.update(dict.fromkeys(OUTCOMES, 0))
    for entry in results:
        totals[entry['outcome']] += 1
        totals['expected'] += entry['expected']
        totals['present'] += entry['present']
        totals['missing'] += len(entry['missing'])
        totals['created'] += len(entry['created'])
        totals['created_failed'] += sum(1 for run in entry['created'] if run['status'] != 'success')
    return totals
