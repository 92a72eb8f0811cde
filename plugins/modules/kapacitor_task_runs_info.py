#!/usr/bin/python
# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: kapacitor_task_runs_info
short_description: List the runs of Flux tasks on Kapacitor or InfluxDB 2, completely
version_added: 0.1.0
description:
  - Lists the runs of one task, several tasks or every task on a Kapacitor 1.6+ server, an InfluxDB 2 OSS (2.2 or
    later) or InfluxDB Cloud, with filters on the run's status, its scheduled time and its ID.
  - Returns every run in the window, never a silent first page. The server answers at most 500 runs per request
    and its C(after) cursor does not work, so the module pages by moving C(beforeTime) back and de-duplicates
    runs by ID. When the server's answers leave part of the window out of reach (more completed runs in one second
    than a page holds, or a page's worth of queued and running runs), the module warns, naming the task and the
    time range.
  - Returns the failure reason RV(runs[].error) of every failed run, taken from the log that the listing
    carries anyway (no O(include_logs) needed, no extra request).
  - On InfluxDB 2, listing tasks (by name, by status, or all of them) needs O(org) or O(org_id); tasks chosen by
    O(task_id) alone do not.
  - Finds runs by ID alone with O(run_id) (alerts often carry only the run ID), across every task or the tasks selected.
  - Annotates each run with its attempt number among the runs that share its task and scheduled time (a retry
    creates a new run with the same scheduled time).
  - Read-only; never reports C(changed).
extends_documentation_fragment:
  - tickstack.kapacitor.connection
  - tickstack.kapacitor.attributes
attributes:
  check_mode:
    description: Can run in check mode and return the same listing; it never changes anything.
    support: full
  diff_mode:
    description: Nothing changes, so there is no diff.
    support: none
options:
  task_id:
    description:
      - The ID of a task, or a list of IDs (16 hexadecimal characters each).
      - With neither O(task_id) nor O(task_name), every task on the server is listed.
    type: list
    elements: str
  task_name:
    description:
      - The name of a task, or a list of names. Names are matched exactly; every task with that name is used.
    type: list
    elements: str
  task_status:
    description:
      - Only tasks with this status. V(any) includes active and inactive tasks.
      - The default is V(any) because this module also answers questions about tasks that were switched off (what
        did they run, why did they fail). The role P(tickstack.kapacitor.retry_failed_runs#role) defaults to
        V(active), because retrying a run of a task someone deactivated would run what they stopped.
    type: str
    choices: [active, inactive, any]
    default: any
  missing_ok:
    description:
      - With V(true), a O(task_id) or O(task_name) that this server does not have is not an error; it is returned in
        RV(missing_tasks) and the other tasks are listed. Useful for a fleet where not every server has every task.
      - With V(false), such a task fails the module, naming it.
      - When none of the tasks asked for exists, nothing is listed (never every task).
    type: bool
    default: false
    version_added: 0.2.0
  status:
    description:
      - Only runs with one of these statuses.
      - With O(latest_attempt_only=true) the filter applies to the latest attempt of each scheduled time.
      - By default runs of every status are returned.
    type: list
    elements: str
    choices: [scheduled, started, success, failed, canceled]
  after_time:
    description:
      - Only runs scheduled after this time (exclusive).
      - An RFC3339 time such as V(2026-05-01T10:00:00Z) (any offset, or none for UTC; an unquoted YAML timestamp
        works too), or a duration such as V(24h), V(90m), V(7d) or V(1h30m) meaning that long before now.
      - Kapacitor only returns runs that started within the last 14 days, InfluxDB those its C(_tasks) bucket still
        holds (3 days unless its retention was changed); the module warns when the window reaches further back.
    type: str
  before_time:
    description:
      - Only runs scheduled before this time (exclusive). Same formats as O(after_time).
      - If not set, the server's own clock decides "now", and queued or running runs scheduled in the future are not
        returned.
    type: str
  run_id:
    description:
      - Find these runs by ID (16 hexadecimal characters each), each with its attempt annotation, in the tasks
        selected by O(task_id), O(task_name) and O(task_status) (by default every task). Replaces the window and
        the filters on runs (O(after_time), O(before_time), O(after), O(status), O(limit), O(latest_attempt_only)).
      - An ID's snowflake timestamp says when the run was created, so the module first lists each task's runs
        scheduled in the hour before that (one request per task, usually); a run it did not find that way (a retry
        of an older scheduled time) is looked up with one request per task.
      - An ID found on no task is listed in RV(not_found), with a warning saying when that ID was created.
    type: list
    elements: str
  after:
    description:
      - A run ID; only runs created after that run (with a higher ID; run IDs grow with time).
      - Applied by the module, because the server's own C(after) parameter drops every completed run.
    type: str
  limit:
    description:
      - At most this many runs per task, the newest scheduled times first.
      - If not set, every run in the window is returned.
    type: int
  latest_attempt_only:
    description:
      - Return only the latest attempt (highest ID) of each task and scheduled time.
    type: bool
    default: false
  include_logs:
    description:
      - Include each run's log events in RV(runs[].log).
    type: bool
    default: false
  fields:
    description:
      - Return only these keys of each run in RV(runs) (RV(runs[].log) still follows O(include_logs)).
      - By default every key is returned. Fewer keys make a listing of many thousands of runs lighter for
        Ansible, which holds the whole result in memory several times.
    type: list
    elements: str
    choices: [id, task_id, task_name, status, scheduled_for, started_at, finished_at, requested_at, attempt, attempts,
              error]
  concurrency:
    description:
      - How many tasks are listed at the same time (1 to 100).
    type: int
    default: 4
notes:
  - Kapacitor keeps completed runs visible for 14 days (they must have started within that time); InfluxDB 2 for the
    retention of the org's C(_tasks) bucket, 3 days by default. Older runs cannot be listed.
seealso:
  - module: tickstack.kapacitor.kapacitor_task_run_retry
author:
  - Tickstack maintainers (@tickstack)
"""

EXAMPLES = r"""
- name: List the failed runs of the last day on every task
  tickstack.kapacitor.kapacitor_task_runs_info:
    url: http://127.0.0.1:9092
    status: [failed]
    after_time: 24h
  register: failed_runs

- name: Show the failed runs whose scheduled time was already retried
  ansible.builtin.debug:
    msg: "{{ item.task_name }} {{ item.scheduled_for }}: attempt {{ item.attempt }} of {{ item.attempts }}"
  loop: "{{ failed_runs.runs | rejectattr('attempts', 'equalto', 1) | list }}"
  loop_control:
    label: "{{ item.id }}"

- name: The latest attempt of each scheduled time of two tasks, with logs
  tickstack.kapacitor.kapacitor_task_runs_info:
    url: http://127.0.0.1:9092
    task_name: [cpu_rollup, disk_rollup]
    after_time: 6h
    latest_attempt_only: true
    include_logs: true
  register: latest

- name: Find the run an alert names, on whichever task it belongs to, with its failure reason
  tickstack.kapacitor.kapacitor_task_runs_info:
    url: http://127.0.0.1:9092
    run_id: 0d5f1a2b3c4d5e6f
  register: alerted

- name: Say what failed
  ansible.builtin.debug:
    msg: "{{ item.task_name }} {{ item.scheduled_for }} (attempt {{ item.attempt }} of {{ item.attempts }}): {{ item.error }}"
  loop: "{{ alerted.runs }}"
  loop_control:
    label: "{{ item.id }}"

- name: Set the connection once for every module of the collection
  module_defaults:
    group/tickstack.kapacitor.kapacitor:
      url: http://127.0.0.1:9092
      timeout: 60
  block:
    - name: The 10 newest runs of active tasks
      tickstack.kapacitor.kapacitor_task_runs_info:
        task_status: active
        limit: 10
      register: newest
"""

RETURN = r"""
runs:
  description:
    - The runs, grouped by task (in task ID order), newest scheduled time first, newest attempt first.
  returned: success
  type: list
  elements: dict
  contains:
    id:
      description: The run ID.
      type: str
      sample: 0d5f1a2b3c4d5e6f
    task_id:
      description: The task ID.
      type: str
      sample: 0a1b2c3d4e5f6789
    task_name:
      description: The task name.
      type: str
      sample: cpu_rollup
    status:
      description: One of V(scheduled), V(started), V(success), V(failed), V(canceled).
      type: str
      sample: failed
    scheduled_for:
      description: The time the run was scheduled for (RFC3339). Retries keep the original's.
      type: str
      sample: "2026-11-25T10:00:00Z"
    started_at:
      description: When the run started (RFC3339Nano), or null.
      type: str
    finished_at:
      description: When the run finished (RFC3339Nano), or null.
      type: str
    requested_at:
      description: When a manual run or retry was requested, or null for scheduled runs.
      type: str
    attempt:
      description:
        - This run's number among the attempts of its task and scheduled time, by ID (1 = the original).
        - The latest attempt has RV(runs[].attempt) equal to RV(runs[].attempts).
      type: int
      sample: 1
    attempts:
      description: How many attempts that task and scheduled time has.
      type: int
      sample: 2
    error:
      description:
        - The failure reason of a V(failed) or V(canceled) run, from its log - the lines the server wrote after
          C(Completed(failed)), joined with C(; ), without the echo of the Flux script. Null for other runs, and when
          the log holds no reason.
      type: str
      sample: 'runtime error @4:6-4:40: to: failed to write data: Post "http://influxdb:8086/api/v2/write": connection refused'
    log:
      description: The run's log events (V(time), V(message), V(run_id)), only with O(include_logs=true).
      type: list
      elements: dict
      returned: when O(include_logs=true)
tasks:
  description: The tasks that were listed, with run counts by status among the returned runs.
  returned: success
  type: list
  elements: dict
  contains:
    id:
      description: The task ID.
      type: str
    name:
      description: The task name.
      type: str
    status:
      description: V(active) or V(inactive).
      type: str
    runs:
      description: How many runs of this task were returned.
      type: int
    run_counts:
      description: Returned runs of this task by status.
      type: dict
      sample: {"scheduled": 0, "started": 0, "success": 95, "failed": 4, "canceled": 0}
totals:
  description: Counts over all listed tasks.
  returned: success
  type: dict
  contains:
    tasks:
      description: Tasks listed.
      type: int
    runs:
      description: Runs returned.
      type: int
    run_counts:
      description: Returned runs by status.
      type: dict
    requests:
      description: List requests made to the server for the runs.
      type: int
  sample: {"tasks": 2, "runs": 99, "run_counts": {"failed": 4, "success": 95}, "requests": 2}
missing_tasks:
  description: The task IDs and names asked for that this server does not have (only with O(missing_ok=true)).
  returned: success
  type: list
  elements: str
  sample: [cpu_rollup]
  version_added: 0.2.0
not_found:
  description: The IDs of O(run_id) that no task searched has.
  returned: when O(run_id) is set
  type: list
  elements: str
  sample: []
server:
  description:
    - The server the module talked to, its type (V(kapacitor) or V(influxdb2)) and version (null when it did not say
      one, as InfluxDB Cloud does).
  returned: when the server type is known (given in O(server_type), or detected)
  type: dict
  sample: {"type": "influxdb2", "version": "v2.7.12"}
  version_added: 0.2.0
window:
  description: The window on the runs' scheduled times, as sent to the server (null bounds are open).
  returned: success
  type: dict
  sample: {"after_time": "2026-11-25T10:00:00Z", "before_time": null}
"""

from ansible_collections.tickstack.kapacitor.plugins.module_utils._errors import InputError, KapacitorError
from ansible_collections.tickstack.kapacitor.plugins.module_utils._listing import RunFilters, find_runs, list_runs, resolve_tasks
from ansible_collections.tickstack.kapacitor.plugins.module_utils._module import KapacitorModule, task_selection_spec
from ansible_collections.tickstack.kapacitor.plugins.module_utils._runs import (
    RUN_FIELDS,
    RUN_STATUSES,
    check_id,
    resolve_window,
    utc_now,
)


def main():
    module = KapacitorModule(
        argument_spec=dict(
            task_selection_spec(task_status='any'),
            status=dict(type='list', elements='str', choices=list(RUN_STATUSES)),
            after_time=dict(type='str'),
            before_time=dict(type='str'),
            after=dict(type='str'),
            run_id=dict(type='list', elements='str'),
            limit=dict(type='int'),
            latest_attempt_only=dict(type='bool', default=False),
            include_logs=dict(type='bool', default=False),
            fields=dict(type='list', elements='str', choices=list(RUN_FIELDS)),
            concurrency=dict(type='int', default=4),
        ),
        mutually_exclusive=[('run_id', other) for other in ('after_time', 'before_time', 'after', 'status', 'limit',
                                                            'latest_attempt_only')],
        supports_check_mode=True,
    )
    params = module.params
    module.check_concurrency()
    concurrency = params['concurrency']
    task_names = list(params['task_name'] or [])
    module.check_option(all(name.strip() for name in task_names), 'task_name must not contain empty names')
    try:
        task_ids = [check_id(value, 'task_id') for value in params['task_id'] or []]
        run_ids = [check_id(value, 'run_id') for value in params['run_id'] or []]
        now = utc_now()
        window, warnings = resolve_window(params['after_time'], params['before_time'], now)
        filters = RunFilters(statuses=params['status'], after_id=params['after'], limit=params['limit'],
                             latest_attempt_only=params['latest_attempt_only'], include_logs=params['include_logs'],
                             fields=params['fields'])
    except InputError as exc:
        module.fail_json(msg=str(exc))

    client = module.client(pool_size=concurrency)
    try:
        if window.after is not None or window.before is not None:  # the warning about the server's real horizon
            dummy, warnings = resolve_window(params['after_time'], params['before_time'], now,
                                             horizon=client.horizon_seconds(), server_type=client.server_type)
        missing = [] if params['missing_ok'] else None
        tasks = resolve_tasks(client, task_ids, task_names, params['task_status'], missing=missing)
        if run_ids:
            listing = find_runs(client, tasks, run_ids, filters, concurrency, utc_now())
        else:
            listing = list_runs(client, tasks, window, filters, concurrency)
    except KapacitorError as exc:
        module.fail_from(exc)
    for warning in warnings + listing.pop('warnings'):
        module.warn(warning)
    module.exit_json(changed=False, window=window.as_dict(), missing_tasks=missing or [], **listing)


if __name__ == '__main__':
    main()
