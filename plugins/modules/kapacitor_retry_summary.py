#!/usr/bin/python
# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: kapacitor_retry_summary
short_description: Sum up the retries of one Kapacitor or InfluxDB 2 server and write its JSON report
version_added: 0.3.0
description:
  - Builds the summary of one server that the P(tickstack.kapacitor.retry_failed_runs#role) role reports, exactly as
    the P(tickstack.kapacitor.retry_summary#filter) filter does, from the registered results of
    M(tickstack.kapacitor.kapacitor_task_run_retry) (and of M(tickstack.kapacitor.kapacitor_task_run_backfill)), and
    returns it as the task's result. With O(report_path) it writes the summary as a JSON report first.
  - The registered results are given by the B(names) of their variables, not as values. The action reads them as they
    are; a template over them would cost ansible-core 2.19 and later a pass through every value of every run, a few
    tenths of a second per host for 500 runs. A name must be that of a registered result (or of a C(set_fact) of
    one), not of a template such as an alias in C(vars), which the action does not render.
  - The role calls it once per server; use it the same way after your own calls of the retry module.
  - This is an action plugin; it runs on the controller and sends nothing to any server. Only the report is written on
    the host the task runs on (with C(delegate_to), the host delegated to).
attributes:
  check_mode:
    description: The summary says that it is a dry run (C(check_mode), C(dry_run)); the report is written in check mode
      too.
    support: full
  diff_mode:
    description: No diff.
    support: none
  platform:
    description: Runs on the controller; the report is written on the target or delegate host.
    support: full
    platforms: posix
options:
  found:
    description:
      - The name of the variable that holds the registered result of the call that found the runs - a
        M(tickstack.kapacitor.kapacitor_task_run_retry) call with C(failed), or M(tickstack.kapacitor.kapacitor_task_runs_info).
    type: str
    required: true
  retry:
    description:
      - The name of the variable that holds the registered result of the M(tickstack.kapacitor.kapacitor_task_run_retry)
        calls that retried the rest (one call, or a loop over batches), if any.
    type: str
  backfill:
    description:
      - The name of the variable that holds the registered result of M(tickstack.kapacitor.kapacitor_task_run_backfill),
        when its step is on (C(backfill) in O(settings)).
    type: str
  settings:
    description:
      - The settings the retries ran with, as P(tickstack.kapacitor.retry_settings#filter) returns them for the role.
        Read are C(max_attempts) (default V(3), as the retry module's), C(after_time) and C(before_time) (the window
        shown when the result of O(found) has none), and C(backfill) (whether O(backfill) is reported; default V(false)).
    type: dict
    default: {}
  host:
    description: The inventory host name the summary is about.
    type: str
    required: true
  url:
    description:
      - The URL the modules were given. Used when the result of O(found) carries no C(url) of its own; shown without
        credentials.
    type: str
  error:
    description: Why the server could not be handled, or empty.
    type: str
    default: ""
  server_type:
    description: The server type the modules were given; used only when no module result says which server it was.
    type: str
  report_path:
    description:
      - Write the summary as a JSON report (keys sorted, indented by 2) to this file, on the host the task runs on.
      - The returned summary's RV(report) names the file only once it is written. A report that cannot be written
        fails the task; the rest of the summary is still returned.
    type: str
notes:
  - Registered results and the summary are plain data; nothing in them is templated.
seealso:
  - plugin: tickstack.kapacitor.retry_summary
    plugin_type: filter
  - plugin: tickstack.kapacitor.retry_summary_lines
    plugin_type: filter
author:
  - Tickstack maintainers (@tickstack)
"""

EXAMPLES = r"""
- name: Retry the failed runs of the last day
  tickstack.kapacitor.kapacitor_task_run_retry:
    url: http://127.0.0.1:9092
    failed:
      after_time: 24h
  register: retried

- name: Sum up, and write the JSON report
  tickstack.kapacitor.kapacitor_retry_summary:
    found: retried
    settings:
      max_attempts: 3
    host: "{{ inventory_hostname }}"
    url: http://127.0.0.1:9092
    report_path: /tmp/kapacitor-retries.json
  register: summary

- name: Show it
  ansible.builtin.debug:
    msg: "{{ summary | tickstack.kapacitor.retry_summary_lines }}"
"""

RETURN = r"""
host:
  description: The inventory host.
  returned: always
  type: str
url:
  description: The server's URL, without credentials.
  returned: always
  type: str
server:
  description: The server the modules talked to, C(type) and C(version) (see P(tickstack.kapacitor.retry_summary#filter)).
  returned: always
  type: dict
check_mode:
  description: Whether nothing was retried because of check mode.
  returned: always
  type: bool
dry_run:
  description: The same as RV(check_mode), under the name the JSON report shows.
  returned: always
  type: bool
max_attempts:
  description: C(max_attempts) of O(settings).
  returned: always
  type: int
window:
  description: The window on scheduled times, C(after_time) and C(before_time) (null is open).
  returned: always
  type: dict
error:
  description: Why the server could not be handled, or empty.
  returned: always
  type: str
figures:
  description: The counts, as P(tickstack.kapacitor.retry_summary#filter) describes them (C(failed_found), C(retried),
    C(remaining), ...).
  returned: always
  type: dict
missing_tasks:
  description: Task names and IDs asked for that this server does not have.
  returned: always
  type: list
  elements: str
tasks:
  description: Per task name, the counts and the first failure message.
  returned: always
  type: dict
failed_again:
  description: The runs whose retry failed again, timed out, or could not be done.
  returned: always
  type: list
  elements: dict
would_retry:
  description: The runs that would be retried (check mode).
  returned: always
  type: list
  elements: dict
runs:
  description: One result of the retry module per run found, with its C(task_name) (and C(error) when still failing).
  returned: always
  type: list
  elements: dict
backfill:
  description: Null when the backfill step is off; else what it created and refused (see P(tickstack.kapacitor.retry_summary#filter)).
  returned: always
  type: dict
report:
  description: The JSON report's path once it is written, else null.
  returned: always
  type: str
  sample: /tmp/kapacitor-retries.json
"""
