#!/usr/bin/python
# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: kapacitor_task_run_backfill
short_description: Create the runs Kapacitor Flux tasks missed during an outage
version_added: 0.2.0
description:
  - After an outage, or while a task was inactive, Kapacitor 1.6+ skips every scheduled time it missed - on restart
    its scheduler starts again from now - so those times have no run at all, and no retry can reach them.
  - For each task selected, the module computes the scheduled times the task should have had in a window (its
    C(every) on the grid Kapacitor uses, counted from 0001-01-01, or its C(cron) in the influxdata/cron dialect, in
    UTC), lists the runs that exist (any status, scheduled or manual), and creates a manual run with that
    C(scheduledFor) for every scheduled time that has none. Kapacitor runs the task with C(now()) set to it, so the
    run computes the range the missed one would have.
  - Runs are created oldest first, one at a time per task (tasks are worked on concurrently, O(concurrency)). Just
    before each request the scheduled time is listed again, so a run another job created meanwhile is not doubled; the
    C(scheduledFor) Kapacitor echoes is checked, and a task stops when it differs.
  - Kapacitor (and InfluxDB 2.0 and 2.1, told by their version header) answers a manual run when it has finished,
    with an error when the run failed (the run exists all the same). InfluxDB 2.2+ answers at once with the run
    C(scheduled); the module reads the run until it has finished (every 0.5 to 2 seconds, for at most
    O(run_timeout)) before it decides the task's next scheduled time, and skips a task InfluxDB refuses a manual run
    of because it was deactivated meanwhile. After any answer that is not a success
    the module lists the scheduled time before deciding; a request whose fate is unknown (a dropped connection, a
    proxy's 502, 503 or 504, a 429) is sent again only when that listing shows no run. A task stops at its first
    failed backfilled run unless O(continue_on_error=true).
  - Safeguards, each an outcome with its reason in RV(tasks) (and a warning) - inactive tasks and schedules that cannot
    be enumerated (C(every) in C(mo) or C(y), some cron expressions) are V(skipped); tasks whose Flux would act outside
    its own output (alerts, notifications, C(http.post), C(sql.to), see the docs), tasks that call
    C(tasks.lastSuccess()) on Kapacitor, more missing scheduled times than O(max_runs_per_task) or (over all tasks)
    O(max_runs_total), a run history that cannot be trusted (history check) and scheduler runs off the computed
    schedule (calibration) are V(refused). A refusal creates nothing for that task; limits never truncate.
  - The window is clamped per task (RV(tasks[].window)) - never before the task's C(createdAt), nor its C(updatedAt)
    unless O(ignore_updated_at=true), nor before the run history's horizon less an hour (14 days on Kapacitor; on
    InfluxDB 2 the retention of the C(_tasks) bucket, 3 days by default), nor after now minus the task's offset minus
    O(grace). Now is the server's clock when its C(Date) header shows it more than 2 s behind this host's (the module
    then warns), so that no run is created for a time the server's scheduler has not reached.
  - The module fails when a task's outcome is V(error) (a request failed, the task vanished, Kapacitor ran another
    time than asked), and still returns every task's result.
extends_documentation_fragment:
  - tickstack.kapacitor.connection
  - tickstack.kapacitor.attributes
attributes:
  check_mode:
    description: Can run in check mode and return, per task, exactly the scheduled times it would create runs for.
    support: full
    details: Lists runs only; creates nothing. Refusals and limits apply as without check mode.
  diff_mode:
    description: Nothing to show beyond the result.
    support: none
options:
  task_id:
    description:
      - The ID of a task, or a list of IDs (16 hexadecimal characters each).
      - With neither O(task_id) nor O(task_name), every task with status O(task_status) is worked on.
    type: list
    elements: str
  task_name:
    description:
      - The name of a task, or a list of names, matched exactly.
    type: list
    elements: str
  task_status:
    description:
      - Only tasks with this status. Inactive tasks selected with V(any) or V(inactive) are reported as V(skipped),
        because Kapacitor runs a manual run of an inactive task, and a backfill would run what someone stopped.
    type: str
    choices: [active, inactive, any]
    default: active
  missing_ok:
    description:
      - With V(true), a O(task_id) or O(task_name) this server does not have is returned in RV(missing_tasks)
        instead of failing the module.
    type: bool
    default: false
  after_time:
    description:
      - Backfill scheduled times after this time (exclusive). Required, so that a backfill is always bounded.
      - An RFC3339 time such as V(2026-05-01T10:00:00Z), or a duration such as V(24h), V(90m) or V(7d) meaning that
        long before now.
      - Clamped per task, see RV(tasks[].window).
    type: str
    required: true
  before_time:
    description:
      - Backfill scheduled times before this time (exclusive). Same formats as O(after_time). Default now (then
        clamped to now minus the task's offset minus O(grace)).
    type: str
  grace:
    description:
      - How long after a scheduled time (plus the task's offset) its run may still be on its way; newer scheduled
        times are never backfilled. A duration such as V(60s), V(5m), or a number of seconds.
    type: raw
    default: 5m
  ignore_updated_at:
    description:
      - Also backfill scheduled times before the task's last update (C(updatedAt)). By default they are left alone,
        because the schedule or the script may have been different then; an update from inactive to active also sets
        it, so set this to backfill the time a task was switched off.
    type: bool
    default: false
  allow_side_effects:
    description:
      - Backfill tasks whose Flux imports a package that acts outside the task's output (alerts, notification
        endpoints, C(http), C(mqtt), C(kafka), C(influxdata/influxdb/monitor)) or calls C(sql.to). A backfilled run sends
        old notifications again and writes duplicate rows.
      - Also needed for a task whose script cannot be read, an InfluxDB Cloud task that runs a stored script
        (C(scriptID), no C(flux)).
    type: bool
    default: false
  max_runs_per_task:
    description:
      - A task missing more scheduled times than this is refused (nothing is created for it), never truncated.
    type: int
    default: 100
  max_runs_total:
    description:
      - When the tasks selected miss more scheduled times than this in all, every one of them is refused and nothing
        is created.
    type: int
    default: 500
  continue_on_error:
    description:
      - Go on with a task's next scheduled time after a backfilled run failed. By default the task stops there (its
        remaining scheduled times are listed in RV(tasks[].not_created)), as a task that reads its own output needs its
        runs in order.
    type: bool
    default: false
  skip_history_check:
    description:
      - Skip the history check, which refuses a task whose C(latestCompleted) or C(lastRunStatus) says it has run
        while Kapacitor lists none of those runs (run history off with C(task-run-influxdb = "none"), or lost), as
        every scheduled time would then look missed.
    type: bool
    default: false
  run_timeout:
    description:
      - Seconds one manual run's request may take. Kapacitor answers when the run has finished, and cancels the run
        when the client hangs up, so set it above the time the task takes.
      - On InfluxDB 2.2+, which answers at once, the seconds to wait for the run to finish. A run still unfinished then
        stops its task (InfluxDB does not cancel it). A run InfluxDB no longer finds (HTTP 404) for more than 10
        seconds in a row stops its task at once with an error naming it.
    type: float
    default: 1800
  concurrency:
    description:
      - How many tasks are worked on at the same time (1 to 100). Each task's runs are created one at a time.
    type: int
    default: 4
  lock:
    description:
      - Hold the same per-server lock as M(tickstack.kapacitor.kapacitor_task_run_retry) while creating runs, so that
        two jobs on one host never work on one server at once. Check mode takes no lock.
    type: bool
    default: true
  lock_timeout:
    description:
      - Seconds to wait for the lock before failing (nothing is created then).
    type: float
    default: 3600
notes:
  - Kapacitor lists runs that started within the last 14 days, InfluxDB 2 those its C(_tasks) bucket still holds (3 days
    by default); older scheduled times cannot be judged and are never backfilled.
  - Scheduled times are computed in UTC. A Kapacitor running in another local time zone computes cron times after
    the first one in that zone; the calibration refuses such tasks when their runs show it.
  - A run Kapacitor lost (it executed, but its record never reached the run history) looks missed and would run
    twice; bound the window to the outage you know of.
  - Kapacitor keeps runs only as long as the retention policy of its run database allows, which it does not report; a
    window reaching further back than that retention (but within the 14 days Kapacitor reads) finds every older
    scheduled time without a run and backfills it again. Keep O(after_time) within that retention.
seealso:
  - module: tickstack.kapacitor.kapacitor_task_runs_info
  - module: tickstack.kapacitor.kapacitor_task_run_retry
author:
  - Tickstack maintainers (@tickstack)
"""

EXAMPLES = r"""
- name: What would be backfilled for the last 12 hours (check mode)
  tickstack.kapacitor.kapacitor_task_run_backfill:
    url: http://127.0.0.1:9092
    after_time: 12h
  check_mode: true
  register: plan

- name: Show the scheduled times each task would get a run for
  ansible.builtin.debug:
    msg: "{{ item.task_name }}: {{ item.missing | length }} missing {{ item.missing }}"
  loop: "{{ plan.tasks | selectattr('outcome', 'equalto', 'would_backfill') | list }}"
  loop_control:
    label: "{{ item.task_id }}"

- name: Backfill an outage of one task, going on after a failed run
  tickstack.kapacitor.kapacitor_task_run_backfill:
    url: http://127.0.0.1:9092
    task_name: cpu_rollup
    after_time: "2026-11-29T02:00:00Z"
    before_time: 1h
    continue_on_error: true
    run_timeout: 600
  register: backfill

- name: Say what was refused or skipped, and why
  ansible.builtin.debug:
    msg: "{{ item.task_name }} {{ item.outcome }}: {{ item.reason }}"
  loop: "{{ backfill.tasks | selectattr('outcome', 'in', ['refused', 'skipped']) | list }}"
  loop_control:
    label: "{{ item.task_id }}"
"""

RETURN = r"""
tasks:
  description: One entry per task selected, in task ID order.
  returned: success
  type: list
  elements: dict
  contains:
    task_id:
      description: The ID of the task this entry is about.
      type: str
    task_name:
      description: Its name.
      type: str
    task_status:
      description: V(active) or V(inactive).
      type: str
    schedule:
      description: The task's schedule as the module read it, or null when it is not known.
      type: str
      sample: every '7m' with offset 30s
    outcome:
      description:
        - V(nothing_missing) - every scheduled time in the window has a run.
        - V(would_backfill) - check mode; RV(tasks[].missing) are the scheduled times it would create runs for.
        - V(backfilled) - a run was created for every missing scheduled time (or another job created it meanwhile).
        - V(failed) - a backfilled run failed; without O(continue_on_error) the task stopped there.
        - V(skipped) - inactive (on InfluxDB 2 also when the task was deactivated during the call, which InfluxDB
          answers with its 400), or a schedule that cannot be enumerated.
        - V(refused) - a safeguard refused the task; nothing was created for it.
        - V(error) - a request failed, or Kapacitor ran another time than asked; the task stopped.
      type: str
      sample: backfilled
    reason:
      description: Why the task was skipped, refused, failed or stopped, or null.
      type: str
    window:
      description:
        - The effective window of scheduled times judged (both bounds exclusive), and what limited each bound - one of
          V(after_time), V(created_at), V(updated_at), V(history_horizon); V(before_time), V(grace). Null when the
          task was skipped or refused before the window was computed.
      type: dict
      sample: {"after_time": "2026-11-29T02:00:00Z", "before_time": "2026-11-29T15:55:00Z",
               "after_limited_by": "after_time", "before_limited_by": "grace"}
    expected:
      description: How many scheduled times the window holds.
      type: int
    present:
      description: How many of them have at least one run (any status).
      type: int
    missing:
      description: The scheduled times that had no run when the task was listed (RFC3339, oldest first).
      type: list
      elements: str
      sample: ["2026-11-29T02:06:00Z", "2026-11-29T02:13:00Z"]
    created:
      description: The runs this call created, oldest first.
      type: list
      elements: dict
      contains:
        scheduled_for:
          description: The scheduled time of the run.
          type: str
        run_id:
          description: The new run's ID.
          type: str
        status:
          description: Its status when the call ended (V(success), V(failed), ...).
          type: str
        error:
          description: Why it failed, or null.
          type: str
    not_created:
      description: Missing scheduled times this call created no run for, each with a C(scheduled_for) and a C(reason)
        (another job created one meanwhile, the task stopped, a request failed).
      type: list
      elements: dict
totals:
  description: Sums over every task, and how many tasks had each outcome.
  returned: success
  type: dict
  sample: {"tasks": 3, "expected": 240, "present": 228, "missing": 12, "created": 12, "created_failed": 0,
           "nothing_missing": 1, "would_backfill": 0, "backfilled": 1, "failed": 0, "skipped": 0, "refused": 1,
           "error": 0}
missing_tasks:
  description: The task IDs and names asked for that this server does not have (only with O(missing_ok=true)).
  returned: success
  type: list
  elements: str
server:
  description: The server the module worked with, as it found it (or as O(server_type) said).
  returned: whenever the module got as far as the server
  type: dict
  contains:
    type:
      description: V(kapacitor) or V(influxdb2).
      type: str
    version:
      description: The version the server announced, or null when it announces none (InfluxDB Cloud).
      type: str
  sample: {"type": "influxdb2", "version": "v2.7.12"}
lock:
  description: The lock held while creating runs (O(lock)); null when none was taken.
  returned: success
  type: dict
"""

from ansible_collections.tickstack.kapacitor.plugins.module_utils._backfill import Backfill
from ansible_collections.tickstack.kapacitor.plugins.module_utils._errors import InputError, KapacitorError
from ansible_collections.tickstack.kapacitor.plugins.module_utils._listing import resolve_tasks
from ansible_collections.tickstack.kapacitor.plugins.module_utils._lock import ServerLock
from ansible_collections.tickstack.kapacitor.plugins.module_utils._module import KapacitorModule, task_selection_spec
from ansible_collections.tickstack.kapacitor.plugins.module_utils._runs import check_id, parse_duration, resolve_window, utc_now


def main():
    module = KapacitorModule(
        argument_spec=dict(
            task_selection_spec(task_status='active'),
            after_time=dict(type='str', required=True),
            before_time=dict(type='str'),
            grace=dict(type='raw', default='5m'),
            ignore_updated_at=dict(type='bool', default=False),
            allow_side_effects=dict(type='bool', default=False),
            max_runs_per_task=dict(type='int', default=100),
            max_runs_total=dict(type='int', default=500),
            continue_on_error=dict(type='bool', default=False),
            skip_history_check=dict(type='bool', default=False),
            run_timeout=dict(type='float', default=1800.0),
            concurrency=dict(type='int', default=4),
            lock=dict(type='bool', default=True),
            lock_timeout=dict(type='float', default=3600.0),
        ),
        supports_check_mode=True,
    )
    params = module.params
    for name in ('max_runs_per_task', 'max_runs_total'):
        module.check_option(params[name] >= 1, '%s must be 1 or more, got %s' % (name, params[name]))
    module.check_concurrency()
    module.check_option(params['run_timeout'] > 0, 'run_timeout must be a positive number of seconds, got %s'
                        % params['run_timeout'])
    module.check_option(params['lock_timeout'] >= 0, 'lock_timeout must be 0 or more seconds, got %s'
                        % params['lock_timeout'])
    task_names = list(params['task_name'] or [])
    module.check_option(all(name.strip() for name in task_names), 'task_name must not contain empty names')
    now = utc_now()
    try:
        task_ids = [check_id(value, 'task_id') for value in params['task_id'] or []]
        grace = parse_duration(params['grace'], 'grace')
        window, dummy = resolve_window(params['after_time'], params['before_time'], now)
    except InputError as exc:
        module.fail_json(msg=str(exc))

    client = module.client(pool_size=params['concurrency'] + 2)
    backfill = Backfill(client, after=window.after, before=window.before, now=now, grace=grace,
                        ignore_updated_at=params['ignore_updated_at'], allow_side_effects=params['allow_side_effects'],
                        max_runs_per_task=params['max_runs_per_task'], max_runs_total=params['max_runs_total'],
                        continue_on_error=params['continue_on_error'], skip_history_check=params['skip_history_check'],
                        concurrency=params['concurrency'], run_timeout=params['run_timeout'],
                        check_mode=module.check_mode)
    missing = [] if params['missing_ok'] else None
    lock = None
    try:
        tasks = resolve_tasks(client, task_ids, task_names, params['task_status'], missing=missing)
        if params['lock'] and not module.check_mode:
            lock = ServerLock(client.base_url, params['lock_timeout'])
            lock.acquire()
        results, totals = backfill.run(tasks)
    except KapacitorError as exc:
        module.fail_from(exc, changed=False, lock=lock.as_dict() if lock is not None else None)
    finally:
        if lock is not None:
            lock.release()
    result = dict(changed=totals['created'] > 0 or totals['would_backfill'] > 0, tasks=results, totals=totals,
                  missing_tasks=missing or [], lock=lock.as_dict() if lock is not None else None)
    if backfill.clock_behind:
        module.warn("%s's clock (or that of a proxy in front of it) is %d s behind this host's, by the Date header of "
                    "its first answer: scheduled times were judged by that clock. Check NTP on both"
                    % (backfill.server, round(backfill.clock_behind)))
    for entry in results:
        if entry['outcome'] in ('refused', 'failed'):
            module.warn('Task %s (%s) %s: %s' % (entry['task_name'], entry['task_id'], entry['outcome'], entry['reason']))
    errors = [entry for entry in results if entry['outcome'] == 'error']
    if errors:
        module.fail_json(msg='%d task(s) could not be backfilled: %s' % (
            len(errors), '; '.join('%s (%s): %s' % (e['task_name'], e['task_id'], e['reason']) for e in errors)[:1800]),
            **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
