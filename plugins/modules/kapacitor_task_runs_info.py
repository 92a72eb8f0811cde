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
  - tickstack.kapacitor.run_listing
  - tickstack.kapacitor.attributes
attributes:
  check_mode:
    description: Can run in check mode and return the same listing; it never changes anything.
    support: full
  diff_mode:
    description: Nothing changes, so there is no diff.
    support: none
options:
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
from ansible_collections.tickstack.kapacitor.plugins.module_utils._listing import ListingRequest, find_runs, list_runs
from ansible_collections.tickstack.kapacitor.plugins.module_utils._module import KapacitorModule, run_listing_spec
from ansible_collections.tickstack.kapacitor.plugins.module_utils._runs import check_id, utc_now


def main():
    module = KapacitorModule(
        argument_spec=dict(run_listing_spec(), run_id=dict(type='list', elements='str')),
        mutually_exclusive=[('run_id', other) for other in ('after_time', 'before_time', 'after', 'status', 'limit',
                                                            'latest_attempt_only')],
        supports_check_mode=True,
    )
    module.check_concurrency()
    try:
        request = ListingRequest(module.params, utc_now())
        run_ids = [check_id(value, 'run_id') for value in module.params['run_id'] or []]
    except InputError as exc:
        module.fail_json(msg=str(exc))

    client = module.client(pool_size=request.concurrency)
    try:
        tasks = request.tasks(client)
        if run_ids:
            listing = find_runs(client, tasks, run_ids, request.filters, request.concurrency, utc_now())
        else:
            listing = list_runs(client, tasks, request.window, request.filters, request.concurrency)
    except KapacitorError as exc:
        module.fail_from(exc)
    module.exit_listing(request, listing, changed=False)


if __name__ == '__main__':
    main()
