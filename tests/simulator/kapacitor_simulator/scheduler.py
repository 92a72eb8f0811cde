"""The live scheduler: runs for the scheduled times of a scenario task marked ``live``, created as time passes.

Kapacitor's (and InfluxDB 2's) TreeScheduler dispatches a task's next scheduled time S once its execution time
S + offset has come, on the server's clock; the executor runs it, and finishing it moves ``latestCompleted`` to S.
The schedule is anchored on the last scheduled time: a slot is dispatched once, and slots are never skipped while the
process runs. A restart resets ``latestCompleted`` to now for every task and anchors the schedule there, so every
slot the process was down for is skipped: there is no catch-up run (docs/backfill.md, "Why there are gaps").

Here, ``POST /_sim/scheduler {"running": false}`` stops dispatching (the process is down, as far as the scheduler
goes; the API still answers, so a test can look), and ``{"running": true}`` restarts it with those semantics. A live
task's runs take its ``run_seconds`` and succeed, unless its ``live_status`` is ``failed``.
"""

import threading

from .constants import NS
from .encoding import now_ns
from .model import Run, finish_run
from .schedule import next_slot_function, offset_seconds

POLL_SECONDS = 0.05


class LiveSchedule:
    """A live task's place in its schedule: the next slot after ``anchor`` (its latestScheduled), parsed once."""

    def __init__(self, task, anchor):
        self.offset = offset_seconds(task.offset)           # ValueError for a schedule that cannot be enumerated
        self.next_after = next_slot_function(task.every, task.cron)
        self.anchor(anchor)

    def anchor(self, after):
        self.latest = after                                  # the task's latestScheduled
        self.next = self.next_after(after)

    def due(self, now):
        """The slots whose execution time has come, each once, oldest first."""
        while self.next is not None and self.next + self.offset <= now:
            self.latest = self.next
            self.next = self.next_after(self.next)
            yield self.latest


class Scheduler:
    """One thread for the live tasks of the state's scenario (State.live_tasks, each with its Task.live schedule)."""

    def __init__(self, state):
        self.state = state
        self.running = True
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.loop, name='sim-scheduler', daemon=True)
        self.thread.start()

    def stop(self):
        self.stopped.set()

    def set_running(self, running):
        """Stop dispatching, or restart: every active task's latestCompleted moves to now (never back), and each live
        task's schedule goes on strictly after now (TaskNotifyCoordinatorOfExisting, docs/backfill.md)."""
        with self.state.lock:
            if running and not self.running:
                now = now_ns() // NS
                for task in self.state.tasks.values():
                    if task.status == 'active':
                        task.latest_completed = max(task.latest_completed or 0, now * NS)
                        if task.live:
                            task.live.anchor(now)
            self.running = running

    def loop(self):
        while not self.stopped.wait(POLL_SECONDS):
            due = []
            with self.state.lock:
                if not self.running or not self.state.live_tasks:
                    continue
                now = now_ns() // NS
                for task in self.state.live_tasks:
                    if not task.live or task.status != 'active' or self.state.tasks.get(task.id) is not task:
                        continue    # no schedule it can follow since a PATCH, inactive, or deleted meanwhile
                    due.extend(self.dispatch(task, slot) for slot in task.live.due(now))
            for run, seconds, status in due:
                threading.Thread(target=self.execute, args=(run, seconds, status), daemon=True).start()

    def dispatch(self, task, slot):
        """The executor's new run for ``slot``: in kv, ``started`` at once (no queue)."""
        run = Run(self.state.ids.live(), task.id, 'started', slot * NS)
        run.started_at = now_ns()
        run.flux = task.flux
        run.done = threading.Event()
        run.cancel = threading.Event()
        self.state.runs_of(task.id).running[run.id] = run
        return run, task.run_seconds, task.live_status

    def execute(self, run, seconds, status):
        run.cancel.wait(seconds)
        with self.state.lock:
            runs = self.state.runs.get(run.task_id)
            if runs is not None and runs.running.get(run.id) is run:   # not deleted, nor the scenario replaced
                if run.cancel.is_set():
                    finish_run(self.state, run, 'failed', 'context canceled')
                else:
                    finish_run(self.state, run, status, '' if status == 'success' else 'live run failed')
            run.done.set()
