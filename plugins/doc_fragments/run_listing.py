# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


class ModuleDocFragment:
    # The options that choose tasks and runs and shape each run, shared by kapacitor_task_runs_info and
    # kapacitor_task_runs_export (one argument spec, run_listing_spec() in plugins/module_utils/_module.py).
    DOCUMENTATION = r"""
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
      - The default is V(any) because a listing also answers questions about tasks that were switched off (what
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
      - Include each run's log events, as its C(log).
    type: bool
    default: false
  fields:
    description:
      - Only these keys of each run (its C(log) still follows O(include_logs)).
      - By default every key. Fewer keys make a returned listing of many thousands of runs lighter, since Ansible
        holds a returned result in memory several times; for a much larger listing, write it to a file with
        M(tickstack.kapacitor.kapacitor_task_runs_export).
    type: list
    elements: str
    choices: [id, task_id, task_name, status, scheduled_for, started_at, finished_at, requested_at, attempt, attempts,
              error]
  concurrency:
    description:
      - How many tasks are listed at the same time (1 to 100).
    type: int
    default: 4
"""
