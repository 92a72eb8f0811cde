#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: kapacitor_task_run_retry
short_description: Retry Kapacitor Flux task runs idempotently
version_added: 0.1.0
description:
  - Retries one run or many runs of Kapacitor 1.6+ Flux tasks, concurrently, without ever retrying a scheduled
    time twice by accident.
  - A retry creates a new run with the same scheduled time and leaves the original C(failed) forever. So the module
    decides per task and scheduled time from all of its attempts, ordered by run ID. It retries only when the latest
    attempt failed and fewer than O(max_attempts) attempts exist; otherwise it does nothing and says why. Running the
    same play twice retries nothing twice.
  - Every run asked about gets exactly one outcome in RV(results). C(changed) is true exactly when a new run was
    created (in check mode, when one would be).
  - The retry request is never re-sent blindly. When its fate is unknown (a dropped connection, a read timeout, a
    proxy's 502, 503 or 504) or it was refused with 429, the module lists that scheduled time again and reports the
    new attempt if one appeared; only if none did is the request sent again, at most 4 sends in all.
  - The module fails when any outcome is V(error) or V(not_found), and still returns every result.
author:
  - Tickstack maintainers (@tickstack)
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
      - Many runs to retry, each a dict with C(task_id) and C(run_id) (or C(id)).
      - The RV(tickstack.kapacitor.kapacitor_task_runs_info#module:runs) output of
        M(tickstack.kapacitor.kapacitor_task_runs_info) is accepted as is.
    type: list
    elements: dict
  max_attempts:
    description:
      - Retry a scheduled time only while it has fewer attempts than this (the original run counts as one).
    type: int
    default: 3
  force:
    description:
      - Retry the runs asked about even when they did not fail, were superseded by a later attempt, or reached
        O(max_attempts).
    type: bool
    default: false
  concurrency:
    description:
      - How many retries run at the same time, from 1 to 100 (Kapacitor runs at most 100 task runs at once).
      - Each retry request lasts as long as the new run executes, so concurrency is what makes many retries fast.
    type: int
    default: 4
  retry_timeout:
    description:
      - Seconds to wait for one retry request to answer.
      - Kapacitor answers a retry only when the new run has finished, and a client that gives up B(cancels) that run.
        So this must be longer than your slowest task runs; the default is 30 minutes.
    type: float
    default: 1800
  refresh:
    description:
      - List the runs of each task again (one windowed request per task covering the runs asked about) to see every
        attempt, including those made since O(runs) was produced.
      - Set to V(false) to decide from the attempt fields of O(runs) when it comes straight from
        M(tickstack.kapacitor.kapacitor_task_runs_info) in the same play, which saves one request per task. Runs
        without those fields are always looked up.
    type: bool
    default: true
notes:
  - Retrying runs of the same scheduled time at once makes Kapacitor answer C(422 run already queued) to the later
    request; the module reports it as V(already_queued) and creates nothing.
seealso:
  - module: tickstack.kapacitor.kapacitor_task_runs_info
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
  register: retried

- name: Report what happened
  ansible.builtin.debug:
    msg: "{{ retried.summary }}"
"""

RETURN = r"""
results:
  description: One result per run asked about, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    task_id:
      description: The task ID.
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
          created and failed again), V(would_retry) (check mode), V(superseded) (a later attempt exists, or another
          run of the same scheduled time was handled in this call), V(not_failed), V(max_attempts_reached),
          V(already_queued) (Kapacitor's 422), V(not_found) (404) or V(error).
      type: str
      sample: retried
    msg:
      description: What happened and why, in words.
      type: str
    attempts:
      description: How many attempts the scheduled time had before this call.
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
      description: The status of the latest attempt after this call.
      type: str
    log:
      description: The last log messages of the new run, when it was looked up (after a failure or an uncertain request).
      type: list
      elements: str
summary:
  description: How many results had each outcome.
  returned: always
  type: dict
  sample: {"retried": 3, "retried_failed": 1, "would_retry": 0, "superseded": 2, "not_failed": 0,
           "max_attempts_reached": 1, "already_queued": 0, "not_found": 0, "error": 0}
"""

from ansible_collections.tickstack.kapacitor.plugins.module_utils._errors import InputError
from ansible_collections.tickstack.kapacitor.plugins.module_utils._module import KapacitorModule
from ansible_collections.tickstack.kapacitor.plugins.module_utils._retrier import Retrier, RetryItem
from ansible_collections.tickstack.kapacitor.plugins.module_utils._runs import (
    FAILING_OUTCOMES,
    check_id,
    summarize,
)

_HINT_KEYS = ('scheduled_for', 'status', 'attempt', 'attempts')


def items_from(params):
    """The runs asked about, validated before any request is made."""
    items = []
    if params['task_id'] or params['run_id']:
        items.append(RetryItem(check_id(params['task_id'], 'task_id'), check_id(params['run_id'], 'run_id')))
    for index, entry in enumerate(params['runs'] or []):
        where = 'runs[%d]' % index
        run_id = entry.get('run_id', entry.get('id'))
        hints = dict((key, entry.get(key)) for key in _HINT_KEYS if entry.get(key) is not None)
        items.append(RetryItem(check_id(entry.get('task_id'), where + '.task_id'), check_id(run_id, where + '.run_id'),
                               hints))
    return items


def main():
    module = KapacitorModule(
        argument_spec=dict(
            task_id=dict(type='str'),
            run_id=dict(type='str'),
            runs=dict(type='list', elements='dict'),
            max_attempts=dict(type='int', default=3),
            force=dict(type='bool', default=False),
            concurrency=dict(type='int', default=4),
            retry_timeout=dict(type='float', default=1800.0),
            refresh=dict(type='bool', default=True),
        ),
        required_together=[('task_id', 'run_id')],
        mutually_exclusive=[('task_id', 'runs'), ('run_id', 'runs')],
        required_one_of=[('run_id', 'runs')],
        supports_check_mode=True,
    )
    params = module.params
    module.check_option(params['max_attempts'] >= 1, 'max_attempts must be 1 or more, got %s' % params['max_attempts'])
    module.check_option(1 <= params['concurrency'] <= 100,
                        'concurrency must be between 1 and 100 (Kapacitor runs at most 100 task runs at once), got %s'
                        % params['concurrency'])
    module.check_option(params['retry_timeout'] > 0, 'retry_timeout must be a positive number of seconds, got %s'
                        % params['retry_timeout'])
    try:
        items = items_from(params)
    except InputError as exc:
        module.fail_json(msg=str(exc))

    retrier = Retrier(module.client(pool_size=params['concurrency'] + 2), params['max_attempts'], params['force'],
                      params['concurrency'], params['retry_timeout'], module.check_mode, params['refresh'])
    results = retrier.run(items)
    summary = summarize(results)
    changed = summary['retried'] + summary['retried_failed'] + summary['would_retry'] > 0
    result = dict(changed=changed, results=results, summary=summary)
    if module._diff:
        before, after = {}, {}
        for entry in results:
            if entry['scheduled_for'] and entry['status_before']:
                key = '%s %s' % (entry['task_id'], entry['scheduled_for'])
                before[key] = entry['status_before']
                after[key] = 'retrying' if entry['outcome'] == 'would_retry' else entry['status_after']
        result['diff'] = {'before': before, 'after': after}
    failing = [entry for entry in results if entry['outcome'] in FAILING_OUTCOMES]
    if failing:
        first = failing[0]
        module.fail_json(msg='%d of %d run(s) could not be retried; first: task %s run %s: %s'
                         % (len(failing), len(results), first['task_id'], first['run_id'], first['msg']), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
