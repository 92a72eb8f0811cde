#!/usr/bin/python
# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


DOCUMENTATION = r"""
module: kapacitor_task_run_retry
short_description: Retry Kapacitor and InfluxDB 2 Flux task runs idempotently
version_added: 0.1.0
description:
  - Retries one run or many runs of Flux tasks of Kapacitor 1.6+, InfluxDB 2 OSS or InfluxDB Cloud, concurrently,
    without ever retrying a scheduled time twice by accident.
  - A retry creates a new run with the same scheduled time and leaves the original C(failed) forever. So the module
    decides per task and scheduled time from all of its attempts, ordered by run ID. It retries only when the latest
    attempt failed and fewer than O(max_attempts) attempts exist; otherwise it does nothing and says why. Running the
    same play twice retries nothing twice.
  - Every run asked about gets exactly one outcome in RV(results). C(changed) is true exactly when a new run was
    created (in check mode, when one would be).
  - The retry request is never re-sent blindly. When its fate is unknown (a dropped connection, a read timeout, a
    proxy's 502, 503 or 504) or it was refused with 429, the module lists that scheduled time again and reports the
    new attempt if one appeared; only if none did is the request sent again, at most 4 sends in all.
  - Kapacitor answers a retry request when the new run has finished. InfluxDB 2 (2.2 and later, and Cloud) answers
    at once with the new run C(scheduled) and runs it about a second later; with O(wait) (the default) the module
    reads the new run until it has finished, so V(retried), V(retried_failed) and V(timed_out) mean the same on both
    servers. InfluxDB 2.0 and 2.1 answered as Kapacitor does; the module tells them by their version header.
  - On InfluxDB 2 no retry is sent for a run of an inactive task (InfluxDB would refuse it); its outcome is
    V(task_inactive). On Kapacitor, which retries runs of inactive tasks, nothing changes.
  - The module fails when any outcome is V(error) or V(not_found), and still returns every result; its message
    groups identical errors with their counts (errors that differ only in each run's own task ID, run or latest
    attempt ID, or new run ID, are one group, the IDs that differ shown as C(<task_id>), C(<run_id>) or
    C(<new_run_id>) and listed after it, the first three). When the server stops answering during the call, every
    run not yet tried gets V(error) with that one reason and nothing more is sent to it.
extends_documentation_fragment:
  - tickstack.kapacitor.connection
  - tickstack.kapacitor.attributes
attributes:
  check_mode:
    description: Can run in check mode and return what would be retried without retrying it.
    support: full
    details: Makes no retry request and reports V(would_retry) for the runs it would retry.
  diff_mode:
    description: Returns details on what changed.
    support: full
    details: Shows, per task and scheduled time, the status of the latest attempt before and after.
options:
  task_id:
    description:
      - The task of the run to retry. Use with O(run_id).
    type: str
  run_id:
    description:
      - The run to retry. Use with O(task_id).
    type: str
  runs:
    description:
      - Many runs to retry, each a dict with C(task_id) and C(run_id) (or C(id)), 16 hexadecimal characters each.
      - Optional fields, used when present and checked before anything is sent (a bad one fails the module with an
        error that names it, for example C(runs[3].attempt)) - C(scheduled_for) (an RFC3339 time or a YAML date and
        time), C(status), C(attempt) and C(attempts) (whole numbers), C(finished_at) (an RFC3339 time, for
        O(min_age)), C(error) (a string or null, for O(skip_errors)), C(task_name) (copied into the results).
      - The RV(tickstack.kapacitor.kapacitor_task_runs_info#module:runs) output of
        M(tickstack.kapacitor.kapacitor_task_runs_info) is accepted as is.
    type: list
    elements: dict
  failed:
    description:
      - Find the runs to retry instead of being given them - every scheduled time whose latest attempt failed, of the
        tasks chosen here, scheduled in the window chosen here. One call lists and retries, as
        C(kapacitor flux task retry-failed) does; use it in place of O(runs), O(task_id) and O(run_id).
      - The listing is made after O(lock) is taken, so a job that waited sees what the other job did, and the module
        decides from it (O(refresh) does not apply); each scheduled time is still listed again just before its retry.
      - V({}) chooses every active task and every run the server still lists.
    type: dict
    version_added: 0.3.0
    suboptions:
      task_id:
        description: The ID of a task, or a list of IDs. With neither O(failed.task_id) nor O(failed.task_name), every task.
        type: list
        elements: str
      task_name:
        description: The name of a task, or a list of names, matched exactly.
        type: list
        elements: str
      task_status:
        description:
          - Only tasks with this status. The default leaves tasks someone deactivated alone, because retrying their
            runs would run what they stopped.
        type: str
        choices: [active, inactive, any]
        default: active
      missing_ok:
        description:
          - With V(true), a task asked for that the server does not have is returned in RV(missing_tasks) instead of
            failing the module.
        type: bool
        default: false
      after_time:
        description:
          - Only runs scheduled after this time - an RFC3339 time, or a duration such as V(24h) meaning that long
            before now. The format of O(tickstack.kapacitor.kapacitor_task_runs_info#module:after_time).
        type: str
      before_time:
        description: Only runs scheduled before this time; the same formats as O(failed.after_time).
        type: str
  batch_rounds:
    description:
      - With O(failed), handle only the first O(concurrency) times this many scheduled times found, in the order of
        M(tickstack.kapacitor.kapacitor_task_runs_info), and return the others untouched in RV(pending), in the form
        O(runs) takes, for later calls. A caller that prints progress between calls uses it, as the role
        P(tickstack.kapacitor.retry_failed_runs#role) does.
      - V(0) sizes it to about 30 seconds of retrying, from the run times the attempts found recorded.
      - Unset, every scheduled time found is handled in this call.
    type: int
    version_added: 0.3.0
  max_attempts:
    description:
      - Retry a scheduled time only while it has fewer attempts than this (the original run counts as one).
    type: int
    default: 3
  force:
    description:
      - Retry the runs asked about even when they did not fail, were superseded by a later attempt, reached
        O(max_attempts), failed less than O(min_age) ago or with an error that matches O(skip_errors). A run for
        which another job created a new attempt during this call is still not retried.
    type: bool
    default: false
  min_age:
    description:
      - Retry a scheduled time only when its latest failed attempt finished at least this long ago; otherwise its
        outcome is V(deferred) and nothing is sent. A later call retries it once it is old enough.
      - A duration such as V(90s), V(10m), V(1h) or V(1h30m), or a number of seconds. V(0) (the default) retries at once.
      - Why - with a task that runs every 15 minutes, O(max_attempts=3) and a retry job every 15 minutes, a 45-minute
        InfluxDB outage would otherwise burn every attempt of the first failed scheduled times while InfluxDB is still
        down. With O(min_age=30m) each attempt waits until the previous one is 30 minutes old, so three attempts
        span an hour.
      - Decided from the latest attempt's finish time as Kapacitor listed it, against the server's clock (read from
        the C(Date) header of its first answer, or of a reverse proxy in front of it; one C(GET) of its ping when the
        module has nothing else to ask first) when that differs from this host's by more than 2 seconds. With
        O(refresh=false), O(runs) entries without C(finished_at) are listed again rather than guessed about.
    type: raw
    default: 0
  skip_errors:
    description:
      - Python regular expressions. A scheduled time whose latest failed attempt's error matches any of them (searched
        anywhere in it, case-sensitive; start a pattern with C((?i)) to ignore case) is not retried; its outcome is
        V(skipped), and its message names the pattern and the error.
      - The error is the failure message Kapacitor writes in the run's log, without the echo of the Flux script (the
        RV(tickstack.kapacitor.kapacitor_task_runs_info#module:runs[].error) of
        M(tickstack.kapacitor.kapacitor_task_runs_info)). It comes with the listing the module makes anyway, so it
        costs no request. With O(refresh=false), O(runs) entries without C(error) are listed again.
      - A bad pattern fails the module before anything is sent, naming the pattern.
      - Recommended, errors in the Flux script that no retry can fix (a retry runs the same script) -
        V(could not parse Flux script), V(undefined identifier), V(type error), V(missing required argument),
        V(expected .* but found). Do not add a pattern as broad as V(error calling function), which Flux also uses
        for failures of an outage, such as a write to InfluxDB that was refused.
    type: list
    elements: str
    default: []
  concurrency:
    description:
      - How many retries run at the same time, from 1 to 100 (Kapacitor runs at most 100 task runs at once).
      - Each retry request lasts as long as the new run executes, so concurrency is what makes many retries fast.
      - On InfluxDB 2.2+ it bounds the new runs in flight, not only the open requests - each of the O(concurrency)
        workers sends its next retry only when its previous new run has finished (or reached O(retry_timeout)), also
        with O(wait=false).
    type: int
    default: 4
  retry_timeout:
    description:
      - Seconds to wait for one retry request to answer.
      - Kapacitor (and InfluxDB 2.0 and 2.1) answer a retry only when the new run has finished, and a client that
        gives up B(cancels) that run. So this must be longer than your slowest task runs; the default is 30 minutes. A
        retry that outlasts it gets the outcome V(timed_out), and the cancelled run counts as an attempt.
      - On InfluxDB 2.2+, the seconds to wait for the new run to finish (O(wait)). A run still unfinished then gets
        V(timed_out) too, but InfluxDB does not cancel it; a later call sees how it ended. A new run InfluxDB no
        longer finds (HTTP 404) for more than 10 seconds in a row ends the wait at once with V(error) (V(not_found)
        when its task was deleted), as a finished run is missing only for a moment while InfluxDB records it.
    type: float
    default: 1800
  wait:
    description:
      - On InfluxDB 2.2+, wait for each new run to finish (reading it every 0.5 to 2 seconds, for at most
        O(retry_timeout)) and report how it ended - V(retried) when it succeeded, V(retried_failed) when it failed.
      - With V(false), a retry InfluxDB accepted is V(retried) at once, with RV(results[].status_after) as InfluxDB
        answered (V(scheduled)), whatever becomes of the run; a later call (or
        M(tickstack.kapacitor.kapacitor_task_runs_info)) shows how it ended. The module still paces itself - a worker
        waits for its previous new run to finish before it sends the next retry, so at most O(concurrency) new runs
        are unfinished at once - but it does not wait for the last new run of each worker.
      - Kapacitor (and InfluxDB 2.0 and 2.1) answer only when the new run has finished, so there the option changes
        nothing.
    type: bool
    default: true
    version_added: 0.2.0
  refresh:
    description:
      - List the runs of each task again (one windowed request per task covering the runs asked about) to see every
        attempt, including those made since O(runs) was produced.
      - Set to V(false) to decide from the attempt fields of O(runs) when it comes straight from
        M(tickstack.kapacitor.kapacitor_task_runs_info) in the same play, which saves one request per task. Runs
        without those fields are always looked up, each scheduled time is listed again just before its retry, and
        V(false) is ignored when the module had to wait for O(lock).
      - With O(failed) the module lists the runs itself, under O(lock), and this option does not apply.
    type: bool
    default: true
  lock:
    description:
      - Hold an advisory lock per Kapacitor server while deciding and retrying, so that two jobs on the same host
        (two cron entries, a cron entry and a manual C(ansible-playbook) run) never retry the same run twice.
        A job that had to wait for the lock decides from a fresh listing.
      - AWX and Automation Platform run each job in its own execution-environment container, with a temporary
        directory of its own that the lock does not reach; there, turn Enable Concurrent Jobs off on the job template.
      - The lock is a file in the temporary directory of the host that runs the module,
        C(<tmp>/tickstack-kapacitor-locks/<16 hexadecimal characters>.lock), named after the server's URL without
        credentials and locked with C(flock); any user of that host can take it. It covers that one host only.
      - Check mode takes no lock.
    type: bool
    default: true
  lock_timeout:
    description:
      - Seconds to wait for O(lock). When another job still holds it after that long, every run gets the outcome
        V(error), nothing is sent, and the module fails with a message that names the lock file.
    type: float
    default: 3600
notes:
  - Retrying runs of the same scheduled time at once makes Kapacitor answer C(422 run already queued) to the later
    request; the module reports it as V(already_queued) and creates nothing.
  - Kapacitor has no lock of its own. Jobs on different hosts are kept apart by the listing of each scheduled time
    just before its retry request and by the random order in which each call works through its runs; when a scheduled
    time gains more than one new attempt during a call anyway, the module says so in RV(duplicates_detected) and in a
    warning.
seealso:
  - module: tickstack.kapacitor.kapacitor_task_runs_info
author:
  - Tickstack maintainers (@tickstack)
"""

EXAMPLES = r"""
- name: Retry one run
  tickstack.kapacitor.kapacitor_task_run_retry:
    url: http://127.0.0.1:9092
    task_id: 0a1b2c3d4e5f6789
    run_id: 0d5f1a2b3c4d5e6f

- name: Find the scheduled times of the last day whose latest attempt failed
  tickstack.kapacitor.kapacitor_task_runs_info:
    url: http://127.0.0.1:9092
    after_time: 24h
    status: [failed]
    latest_attempt_only: true
  register: failed

- name: Retry them all, eight at a time, at most three attempts per scheduled time
  tickstack.kapacitor.kapacitor_task_run_retry:
    url: http://127.0.0.1:9092
    runs: "{{ failed.runs }}"
    concurrency: 8
    max_attempts: 3
    # Leave a failure alone until it is 10 minutes old: an outage that is still on would burn the attempt.
    min_age: 10m
    # Errors in the Flux script itself: a retry runs the same script, so it cannot fix them.
    skip_errors:
      - could not parse Flux script
      - undefined identifier
      - type error
    # Wait at most ten minutes for another job on this host that is retrying runs of the same server.
    lock_timeout: 600
  register: retried

- name: Report what happened, and the scheduled times left for a later run
  ansible.builtin.debug:
    msg:
      - "{{ retried.summary }}"
      - "{{ retried.results | selectattr('outcome', 'in', ['deferred', 'skipped']) | map(attribute='msg') | list }}"

- name: Fail loudly if an overlapping job on another host retried a scheduled time as well
  ansible.builtin.assert:
    that: retried.duplicates_detected | length == 0
    fail_msg: "Retried twice: {{ retried.duplicates_detected }}"

- name: Or list and retry in one call - every failed scheduled time of the last day of two tasks
  tickstack.kapacitor.kapacitor_task_run_retry:
    url: http://127.0.0.1:9092
    failed:
      task_name: [cpu_rollup, disk_rollup]
      after_time: 24h
    concurrency: 8
  register: retried_failed

- name: The same, about 30 s of retrying per call, the rest left for the next call
  tickstack.kapacitor.kapacitor_task_run_retry:
    url: http://127.0.0.1:9092
    failed:
      after_time: 24h
    batch_rounds: 0
  register: first_batch

- name: Retry what the first call left, in one more call
  tickstack.kapacitor.kapacitor_task_run_retry:
    url: http://127.0.0.1:9092
    runs: "{{ first_batch.pending }}"
    refresh: false
  when: first_batch.pending | length > 0
"""

RETURN = r"""
results:
  description: One result per run asked about, in the order given (with O(failed), per scheduled time found and
    handled in this call, in the order of M(tickstack.kapacitor.kapacitor_task_runs_info)).
  returned: always
  type: list
  elements: dict
  contains:
    task_id:
      description: The task ID.
      type: str
    task_name:
      description: The task name, when the O(runs) entry carried one (as the output of
        M(tickstack.kapacitor.kapacitor_task_runs_info) does), else null.
      type: str
    run_id:
      description: The run asked about.
      type: str
    scheduled_for:
      description: Its scheduled time, when known.
      type: str
    outcome:
      description:
        - V(retried) (a new run was created and succeeded, or is still running), V(retried_failed) (a new run was
          created and failed again), V(timed_out) (O(retry_timeout) passed before Kapacitor answered, so the module hung
          up and Kapacitor cancelled the new run (InfluxDB 2.2+ goes on with it); it counts as an attempt when it is
          listed afterwards, and the scheduled time still needs a retry), V(would_retry) (check mode), V(superseded) (a later attempt exists, another run of the
          same scheduled time was handled in this call, or another job created an attempt during this call),
          V(not_failed), V(max_attempts_reached), V(deferred) (the latest attempt failed less than O(min_age) ago;
          nothing was sent, a later call retries it), V(skipped) (the latest attempt's error matches a pattern of
          O(skip_errors), which the message names; nothing was sent), V(already_queued) (the server's 422),
          V(task_inactive) (InfluxDB 2 only - the task is inactive, and InfluxDB does not retry its runs; nothing was
          sent, or InfluxDB refused the request with its 400 because the task was deactivated meanwhile),
          V(not_found) (the message says why - a deleted task, a run of another task, a wrong C(scheduled_for), a run
          older than the server keeps - 14 days on Kapacitor, the retention of the C(_tasks) bucket on InfluxDB 2,
          3 days by default) or V(error).
        - On InfluxDB 2 with O(wait=false), V(retried) means InfluxDB accepted the retry; RV(results[].status_after)
          is then V(scheduled).
        - V(error) and V(not_found) fail the module. V(timed_out), V(deferred) and V(task_inactive) do not, but the
          scheduled time has not been fixed - it still fails.
      type: str
      sample: retried
    msg:
      description: What happened and why, in words.
      type: str
    attempts:
      description: How many attempts the scheduled time had before this call.
      type: int
    attempts_after:
      description: How many attempts the scheduled time has after this call (as far as this call knows).
      type: int
    latest_attempt_id:
      description: The latest attempt before this call (the run that was retried, when one was).
      type: str
    status_before:
      description: The status of the latest attempt before this call.
      type: str
    new_run_id:
      description: The run this call created, or null.
      type: str
    status_after:
      description: The status of the latest attempt after this call (as last seen; V(scheduled) for a retry InfluxDB 2
        accepted when O(wait=false)).
      type: str
    error:
      description: With O(failed), why the latest attempt before this call failed (the RV(tickstack.kapacitor.kapacitor_task_runs_info#module:runs[].error)
        of the listing), or null. Not returned otherwise.
      type: str
      version_added: 0.3.0
    log:
      description: The last log messages of the new run, when it was looked up (after a failure or an uncertain request;
        on InfluxDB 2 whenever the module waited for the run).
      type: list
      elements: str
summary:
  description: How many results had each outcome.
  returned: always
  type: dict
  sample: {"retried": 3, "retried_failed": 1, "timed_out": 0, "would_retry": 0, "superseded": 2, "not_failed": 0,
           "max_attempts_reached": 1, "deferred": 2, "skipped": 1, "already_queued": 0, "task_inactive": 0,
           "not_found": 0, "error": 0}
duplicates_detected:
  description:
    - The scheduled times retried by this call that gained more than one new attempt while it ran (another job
      retried them too). Each also gives a warning. Empty when nothing was retried twice.
  returned: always
  type: list
  elements: dict
  contains:
    task_id:
      description: The ID of the task whose scheduled time was retried more than once.
      type: str
    task_name:
      description: Its name, when the O(runs) entry carried one.
      type: str
    scheduled_for:
      description: The scheduled time that gained the attempts.
      type: str
    new_attempts:
      description: The IDs of the attempts created during the call, oldest first.
      type: list
      elements: str
  sample: []
found:
  description: With O(failed), how many scheduled times of the tasks and window chosen had a failed latest attempt.
  returned: when O(failed) is set and the listing was made
  type: int
  sample: 12
  version_added: 0.3.0
pending:
  description:
    - With O(failed) and O(batch_rounds), the scheduled times found that this call left for later calls, untouched, in
      the form of RV(tickstack.kapacitor.kapacitor_task_runs_info#module:runs) (which O(runs) takes as is). Empty
      when every one was handled.
  returned: when O(failed) is set and the listing was made
  type: list
  elements: dict
  sample: []
  version_added: 0.3.0
tasks:
  description: With O(failed), the tasks listed, as RV(tickstack.kapacitor.kapacitor_task_runs_info#module:tasks)
    returns them (their C(runs) and C(run_counts) count the failed scheduled times found).
  returned: when O(failed) is set and the listing was made
  type: list
  elements: dict
  sample: [{"id": "0a1b2c3d4e5f6789", "name": "cpu_rollup", "status": "active", "runs": 1, "run_counts": {"failed": 1}}]
  version_added: 0.3.0
missing_tasks:
  description: With O(failed) and O(failed.missing_ok=true), the task IDs and names asked for that the server does not have.
  returned: when O(failed) is set and the listing was made
  type: list
  elements: str
  sample: []
  version_added: 0.3.0
window:
  description: With O(failed), the window on the runs' scheduled times, as sent to the server (null bounds are open).
  returned: when O(failed) is set and the listing was made
  type: dict
  sample: {"after_time": "2026-11-25T10:00:00Z", "before_time": null}
  version_added: 0.3.0
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
  version_added: 0.2.0
lock:
  description: The lock held while deciding and retrying (O(lock)); null when no lock was taken (check mode, or
    O(lock=false)).
  returned: always
  type: dict
  contains:
    path:
      description: The lock file.
      type: str
    waited:
      description: Seconds spent waiting for another job to release it.
      type: float
  sample: {"path": "/tmp/tickstack-kapacitor-locks/3f1c0a9be2d4e5f6.lock", "waited": 0.0}
diff:
  description: In diff mode, per task name (or ID) and scheduled time, the status and number of the latest attempt
    before and after, such as C(failed (attempt 1)) and C(success (attempt 2)).
  returned: when diff mode is on
  type: dict
"""

from ansible_collections.tickstack.kapacitor.plugins.module_utils._errors import InputError, KapacitorError
from ansible_collections.tickstack.kapacitor.plugins.module_utils._listing import ListingRequest, list_runs
from ansible_collections.tickstack.kapacitor.plugins.module_utils._lock import ServerLock
from ansible_collections.tickstack.kapacitor.plugins.module_utils._module import KapacitorModule, task_selection_spec
from ansible_collections.tickstack.kapacitor.plugins.module_utils._retrier import Retrier, RetryItem, failure_message
from ansible_collections.tickstack.kapacitor.plugins.module_utils._runs import (
    FAILING_OUTCOMES,
    batch_rounds,
    check_id,
    compile_patterns,
    parse_duration,
    summarize,
    utc_now,
)


def items_from(params):
    """The runs asked about, validated before any request is made."""
    items = []
    if params['task_id'] is not None or params['run_id'] is not None:
        items.append(RetryItem(check_id(params['task_id'], 'task_id'), check_id(params['run_id'], 'run_id')))
    for index, entry in enumerate(params['runs'] or []):
        items.append(RetryItem.from_entry(entry, index))
    return items


def failed_listing(params, now):
    """With ``failed``: the listing of the scheduled times whose latest attempt failed, checked before any request
    (InputError names the suboption, such as ``failed.task_id``)."""
    try:
        return ListingRequest(dict(params['failed'], concurrency=params['concurrency'], status=['failed'],
                                   latest_attempt_only=True, after=None, limit=None, include_logs=False, fields=None),
                              now)
    except InputError as exc:
        raise InputError('failed.%s' % exc) from None


def find_failed(module, request, client):
    """List what ``failed`` asks for; the scheduled times to handle in this call (as items) and the result's listing
    keys, ``pending`` holding the runs left for later calls (``batch_rounds``)."""
    params = module.params
    listing = list_runs(client, request.tasks(client), request.window, request.filters, request.concurrency)
    for warning in request.warnings + listing['warnings']:
        module.warn(warning)
    runs = listing['runs']
    size = len(runs)
    if params['batch_rounds'] is not None:
        size = params['concurrency'] * batch_rounds(runs, params['batch_rounds'], params['retry_timeout'],
                                                    client.runs_block)
    items = [RetryItem.from_entry(run, index) for index, run in enumerate(runs[:size])]
    found = dict(found=len(runs), pending=runs[size:], tasks=listing['tasks'], window=request.window.as_dict(),
                 missing_tasks=request.missing or [])
    return items, found


def diff_of(results):
    """Per task and scheduled time, the latest attempt before and after: ``failed (attempt 1)`` -> ``success (attempt 2)``."""
    before, after = {}, {}
    for entry in results:
        if entry['scheduled_for'] and entry['status_before']:
            key = '%s %s' % (entry['task_name'] or entry['task_id'], entry['scheduled_for'])
            before[key] = '%s (attempt %s)' % (entry['status_before'], entry['attempts'])
            if entry['outcome'] == 'would_retry':
                after[key] = 'retrying (attempt %s)' % (entry['attempts'] + 1)
            else:
                after[key] = '%s (attempt %s)' % (entry['status_after'], entry['attempts_after'])
    return {'before': before, 'after': after}


def main():
    module = KapacitorModule(
        argument_spec=dict(
            task_id=dict(type='str'),
            run_id=dict(type='str'),
            runs=dict(type='list', elements='dict'),
            max_attempts=dict(type='int', default=3),
            force=dict(type='bool', default=False),
            min_age=dict(type='raw', default=0),
            skip_errors=dict(type='list', elements='str', default=[]),
            concurrency=dict(type='int', default=4),
            retry_timeout=dict(type='float', default=1800.0),
            wait=dict(type='bool', default=True),
            refresh=dict(type='bool', default=True),
            lock=dict(type='bool', default=True),
            lock_timeout=dict(type='float', default=3600.0),
            failed=dict(type='dict', options=dict(task_selection_spec(task_status='active'),
                                                  after_time=dict(type='str'), before_time=dict(type='str'))),
            batch_rounds=dict(type='int'),
        ),
        required_together=[('task_id', 'run_id')],
        mutually_exclusive=[('task_id', 'runs'), ('run_id', 'runs'), ('failed', 'runs'), ('failed', 'run_id'),
                            ('failed', 'task_id')],
        required_one_of=[('run_id', 'runs', 'failed')],
        required_by={'batch_rounds': 'failed'},
        supports_check_mode=True,
    )
    params = module.params
    module.check_option(params['max_attempts'] >= 1, 'max_attempts must be 1 or more, got %s' % params['max_attempts'])
    module.check_concurrency()
    module.check_option(params['retry_timeout'] > 0, 'retry_timeout must be a positive number of seconds, got %s'
                        % params['retry_timeout'])
    module.check_option(params['lock_timeout'] >= 0, 'lock_timeout must be 0 or more seconds, got %s'
                        % params['lock_timeout'])
    module.check_option(params['batch_rounds'] is None or params['batch_rounds'] >= 0,
                        "batch_rounds must be 0 (sized from the runs' recorded durations) or more, got %s"
                        % params['batch_rounds'])
    try:
        items = items_from(params)
        request = failed_listing(params, utc_now()) if params['failed'] is not None else None
        min_age = parse_duration(params['min_age'], 'min_age')
        skip_errors = compile_patterns(params['skip_errors'], 'skip_errors')
    except InputError as exc:
        module.fail_json(msg=str(exc))

    client = module.client(pool_size=params['concurrency'] + 2)
    options = dict(max_attempts=params['max_attempts'], force=params['force'], concurrency=params['concurrency'],
                   retry_timeout=params['retry_timeout'], wait=params['wait'], check_mode=module.check_mode,
                   refresh=params['refresh'],
                   min_age=min_age, skip_errors=skip_errors)
    lock = None
    if params['lock'] and not module.check_mode:
        lock = ServerLock(client.base_url, params['lock_timeout'])
        try:
            lock.acquire()
        except KapacitorError as exc:
            retrier = Retrier(client, **options)
            results = retrier.refuse(items, str(exc))
            # With failed, nothing was listed yet: the lock's message alone says what happened.
            module.fail_json(msg=failure_message(results) if results else str(exc), changed=False, results=results,
                             summary=summarize(results), duplicates_detected=[], lock=lock.as_dict())
        # A job that waited may have waited for another one that retried these very runs: look again.
        options['refresh'] = options['refresh'] or lock.contended
    found = {}   # with failed: the listing's keys of the result
    try:
        if request is not None:
            # Listed under the lock: the listing is as fresh as a refresh would be.
            items, found = find_failed(module, request, client)
            options['refresh'] = False
        retrier = Retrier(client, **options)
        results = retrier.run(items)
    except KapacitorError as exc:
        module.fail_from(exc)
    finally:
        if lock is not None:
            lock.release()
    if request is not None:
        for item, entry in zip(items, results):
            entry['error'] = item.hints.get('error')
    summary = summarize(results)
    changed = summary['retried'] + summary['retried_failed'] + summary['timed_out'] + summary['would_retry'] > 0
    result = dict(found, changed=changed, results=results, summary=summary, duplicates_detected=retrier.duplicates,
                  lock=lock.as_dict() if lock is not None else None)
    for dup in retrier.duplicates:
        module.warn('Scheduled time %s of task %s gained %d new attempts during this call (%s): another job retried '
                    'it too' % (dup['scheduled_for'], dup['task_name'] or dup['task_id'], len(dup['new_attempts']),
                                ', '.join(dup['new_attempts'])))
    for task in retrier.unchecked:
        module.warn('Task %s could not be listed after its retries, so a scheduled time retried twice (by another job '
                    'too) would go unseen there: %s' % (task['task_id'], task['reason']))
    if module._diff:
        result['diff'] = diff_of(results)
    if any(entry['outcome'] in FAILING_OUTCOMES for entry in results):
        module.fail_json(msg=failure_message(results), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
