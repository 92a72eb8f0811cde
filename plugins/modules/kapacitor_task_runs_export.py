#!/usr/bin/python
# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: kapacitor_task_runs_export
short_description: Write the runs of Flux tasks on Kapacitor or InfluxDB 2 to a file, for listings too large to return
version_added: 0.3.0
description:
  - Lists runs exactly as M(tickstack.kapacitor.kapacitor_task_runs_info) does (every run in the window, the same
    options, the same keys and order), and writes them to O(dest) as JSON Lines, one run per line, instead of returning
    them.
  - For tens of thousands of runs and more. Ansible holds a returned result in memory several times over, in the
    module, its worker and the main process, and goes through every value of it more than once; a run written to a
    file costs none of that. The module holds the runs of about 4 x O(concurrency) tasks at a time, whatever the
    number of tasks.
  - O(dest) is replaced at once, by renaming a complete file over it, and only when the listing succeeded; a listing
    that fails leaves it as it was. When the new content is the same as the file's, the file is not touched and the
    module reports no change.
  - Secrets are masked in the file as in any module output - the password, the token and the credentials O(url)
    carries never appear in it.
  - Returns the per-task counts and totals of M(tickstack.kapacitor.kapacitor_task_runs_info), without the runs.
extends_documentation_fragment:
  - tickstack.kapacitor.connection
  - tickstack.kapacitor.run_listing
  - tickstack.kapacitor.attributes
  - ansible.builtin.files
attributes:
  check_mode:
    description: Lists the runs and reports whether O(dest) would change; writes nothing.
    support: full
  diff_mode:
    description: The runs are not shown as a diff; RV(checksum) says whether the content changed.
    support: none
options:
  dest:
    description:
      - The file to write, on the host the module runs on (with C(delegate_to), the host delegated to). Its directory
        must exist.
      - Each line is one run, a JSON object with the keys of RV(tickstack.kapacitor.kapacitor_task_runs_info#module:runs)
        (fewer with O(fields), C(log) with O(include_logs)), grouped by task in task ID order, newest scheduled time
        first, newest attempt first, in UTF-8.
    type: path
    required: true
notes:
  - Kapacitor keeps completed runs visible for 14 days (they must have started within that time); InfluxDB 2 for the
    retention of the org's C(_tasks) bucket, 3 days by default. Older runs cannot be listed.
  - In an AWX job, or any execution environment, the file is written inside the job's container unless the task is
    delegated to a host that keeps it; copy it out with M(ansible.builtin.fetch) or write it to a mounted volume.
seealso:
  - module: tickstack.kapacitor.kapacitor_task_runs_info
author:
  - Tickstack maintainers (@tickstack)
"""

EXAMPLES = r"""
- name: Export every run of the last day on every task, for analysis
  tickstack.kapacitor.kapacitor_task_runs_export:
    url: http://127.0.0.1:9092
    after_time: 24h
    concurrency: 8
    dest: /tmp/kapacitor-runs.jsonl
  register: exported

- name: Say how many runs were written
  ansible.builtin.debug:
    msg: "{{ exported.totals.runs }} runs of {{ exported.totals.tasks }} tasks, {{ exported.totals.run_counts.failed }} failed"

- name: The failed runs of one task, with their logs, readable by their owner only
  tickstack.kapacitor.kapacitor_task_runs_export:
    url: http://127.0.0.1:9092
    task_name: cpu_rollup
    status: [failed]
    include_logs: true
    dest: /tmp/cpu_rollup-failed.jsonl
    mode: "0600"

- name: Read it back
  ansible.builtin.debug:
    msg: "{{ lookup('ansible.builtin.file', '/tmp/cpu_rollup-failed.jsonl').splitlines() | map('from_json') | map(attribute='error') }}"
"""

RETURN = r"""
dest:
  description: The file written.
  returned: success
  type: str
  sample: /tmp/kapacitor-runs.jsonl
checksum:
  description: The SHA-1 of the runs written (in check mode, of the runs that would be written).
  returned: success
  type: str
  sample: 2aae6c35c94fcfb415dbe95f408b9ce91ee846ed
tasks:
  description: The tasks that were listed, with run counts by status among the runs written.
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
      description: How many runs of this task were written.
      type: int
    run_counts:
      description: Written runs of this task by status.
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
      description: Runs written.
      type: int
    run_counts:
      description: Written runs by status.
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
server:
  description:
    - The server the module talked to, its type (V(kapacitor) or V(influxdb2)) and version (null when it did not say
      one, as InfluxDB Cloud does).
  returned: when the server type is known (given in O(server_type), or detected)
  type: dict
  sample: {"type": "kapacitor", "version": "1.7.5"}
window:
  description: The window on the runs' scheduled times, as sent to the server (null bounds are open).
  returned: success
  type: dict
  sample: {"after_time": "2026-11-25T10:00:00Z", "before_time": null}
"""

import os
import tempfile

from ansible_collections.tickstack.kapacitor.plugins.module_utils._errors import InputError, KapacitorError
from ansible_collections.tickstack.kapacitor.plugins.module_utils._listing import ListingRequest, export_runs
from ansible_collections.tickstack.kapacitor.plugins.module_utils._module import KapacitorModule, RunWriter, run_listing_spec
from ansible_collections.tickstack.kapacitor.plugins.module_utils._runs import utc_now


def check_dest(module, dest):
    """Fail, before any request, on a ``dest`` that cannot be written, naming it and what was expected; else return
    its directory."""
    module.check_option(dest.strip() != '', 'dest is empty: expected the path of the file to write')
    module.check_option(not os.path.isdir(dest), 'dest %s is a directory: expected the path of a file' % dest)
    directory = os.path.dirname(os.path.abspath(dest))
    module.check_option(os.path.isdir(directory), 'the directory of dest %s does not exist: create %s first'
                        % (dest, directory))
    module.check_option(os.access(directory, os.W_OK | os.X_OK),
                        'the directory of dest %s is not writable by this user' % dest)
    return directory


def main():
    module = KapacitorModule(
        argument_spec=dict(run_listing_spec(), dest=dict(type='path', required=True)),
        add_file_common_args=True,
        supports_check_mode=True,
    )
    module.check_concurrency()
    dest = module.params['dest']
    directory = check_dest(module, dest)
    try:
        request = ListingRequest(module.params, utc_now())
    except InputError as exc:
        module.fail_json(msg=str(exc))

    client = module.client(pool_size=request.concurrency)
    temp = None
    try:
        stream = None
        if not module.check_mode:
            handle, temp = tempfile.mkstemp(dir=directory, prefix='.%s.' % os.path.basename(dest), suffix='.tmp')
            stream = os.fdopen(handle, 'wb')
        with RunWriter(stream, module.no_log_values) as writer:
            listing = export_runs(client, request.tasks(client), request.window, request.filters,
                                  request.concurrency, writer.write)
        checksum = writer.digest.hexdigest()
        changed = not os.path.exists(dest) or module.sha1(dest) != checksum
        if temp is not None and changed:
            try:
                module.atomic_move(temp, dest, unsafe_writes=module.params['unsafe_writes'])
            except Exception as exc:  # pylint: disable=broad-exception-caught  # ansible-core 2.19+ raises Exception
                # whose message leaves out why: the OS error is its cause
                cause = exc.__cause__
                why = (cause.strerror or str(cause)) if isinstance(cause, OSError) else ''
                module.fail_json(msg='cannot replace %s%s: %s' % (dest, ' (%s)' % why if why else '', exc), dest=dest)
    except KapacitorError as exc:
        module.fail_from(exc, dest=dest)
    except OSError as exc:
        module.fail_json(msg='cannot write the runs to %s: %s' % (dest, exc), dest=dest)
    finally:
        if temp is not None and os.path.exists(temp):   # not moved (or copied, with unsafe_writes)
            os.unlink(temp)
    if os.path.exists(dest):
        changed = module.set_fs_attributes_if_different(module.load_file_common_arguments(module.params), changed)
    module.exit_listing(request, listing, changed=changed, dest=dest, checksum=checksum)


if __name__ == '__main__':
    main()
