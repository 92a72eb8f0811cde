# -*- coding: utf-8 -*-
# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Retrier: idempotent retries with bounded concurrency, never re-sending a POST blindly."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading
import time

from ansible_collections.tickstack.kapacitor.plugins.module_utils._client import hint_for_status
from ansible_collections.tickstack.kapacitor.plugins.module_utils._errors import (
    AmbiguousRequest,
    InputError,
    RateLimited,
    RequestError,
)
from ansible_collections.tickstack.kapacitor.plugins.module_utils._listing import (
    collect_runs,
    map_concurrently,
    scheduled_window,
)
from ansible_collections.tickstack.kapacitor.plugins.module_utils._runs import (
    Window,
    attempt_key,
    classify_retry_response,
    decide,
    latest_of,
    scheduled_epoch,
)

POLL_INTERVAL = 1.0
# A retry request whose fate is unknown (or that got a 429) is sent again only after a listing of its scheduled
# time showed no new attempt, at most this many times in all, RETRY_RESEND_DELAY seconds (or Retry-After) apart.
RETRY_SENDS = 4
RETRY_RESEND_DELAY = 0.5


class RetryItem:
    """One run asked about, and the outcome it gets."""

    def __init__(self, task_id, run_id, hints=None):
        self.task_id = task_id
        self.run_id = run_id
        self.hints = hints or {}
        self.key = None
        self.result = None

    def hinted_run(self):
        """The run as ``kapacitor_task_runs_info`` described it, when it is the latest of its ``attempts``."""
        hints = self.hints
        if any(hints.get(name) in (None, '') for name in ('scheduled_for', 'status', 'attempt', 'attempts')):
            return None
        if int(hints['attempt']) != int(hints['attempts']):
            return None  # a later attempt exists that the input does not describe: look it up
        return {'id': self.run_id, 'taskID': self.task_id, 'status': hints['status'],
                'scheduledFor': hints['scheduled_for']}


class Retrier:
    """Retries runs idempotently: one decision per (task, scheduledFor) from all of its attempts."""

    def __init__(self, client, max_attempts, force, concurrency, retry_timeout, check_mode, refresh):
        self.client = client
        self.max_attempts = max_attempts
        self.force = force
        self.concurrency = concurrency
        self.retry_timeout = retry_timeout
        self.check_mode = check_mode
        self.refresh = refresh
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- attempts

    def _attempts_by_key(self, task_id, items):
        """Find the attempts of every scheduled time asked about for one task.

        Runs given with their ``scheduled_for`` cost one windowed listing for the task that covers them all.
        Bare run IDs are looked up with a GET each when there are few of them, otherwise by listing the whole
        14-day window once.
        """
        epochs = []
        bare = []
        for item in items:
            scheduled = item.hints.get('scheduled_for')
            if scheduled:
                try:
                    epochs.append(scheduled_epoch({'scheduledFor': scheduled}))
                except InputError:
                    bare.append(item)
            else:
                bare.append(item)
        if bare and len(bare) <= 3:
            for item in bare:
                run = self._get_run(task_id, item.run_id)
                if run is not None:
                    item.hints = dict(item.hints, scheduled_for=run['scheduledFor'])
                    epochs.append(scheduled_epoch(run))
            bare = []
        if bare:
            window = Window()
        elif epochs:
            window = scheduled_window(epochs)
        else:
            return {}
        runs, dummy = collect_runs(self.client, task_id, window)
        groups = {}
        for run in runs:
            groups.setdefault(attempt_key(run), []).append(run)
        return groups

    def _get_run(self, task_id, run_id):
        try:
            return self.client.get('/tasks/%s/runs/%s' % (task_id, run_id))
        except RequestError as exc:
            if exc.status == 404:
                return None
            raise

    def _task_missing(self, task_id):
        return self.client.get_task(task_id) is None

    # ---------------------------------------------------------------- planning

    def plan(self, items):
        """Decide every item. Returns ``[(item, decision, attempts)]`` for the retries to make; other items get a result."""
        by_task = {}
        for item in items:
            by_task.setdefault(item.task_id, []).append(item)
        plans = map_concurrently(lambda task_id: self._plan_task(task_id, by_task[task_id]), sorted(by_task),
                                 self.concurrency)
        return [job for jobs in plans for job in jobs]

    def _plan_task(self, task_id, items):
        try:
            trusted = set() if self.refresh else set(id(item) for item in items if item.hinted_run() is not None)
            listed = [item for item in items if id(item) not in trusted]
            groups = self._attempts_by_key(task_id, listed) if listed else {}
        except RequestError as exc:
            for item in items:
                self._finish(item, 'error', 'could not list the runs of task %s: %s' % (task_id, exc))
            return []
        decided = {}
        jobs = []
        task_missing = None
        for item in sorted(items, key=lambda i: i.run_id, reverse=True):
            if id(item) in trusted:
                run = latest = item.hinted_run()
                count = int(item.hints['attempts'])
            else:
                run, latest, count = self._find(groups, item)
                if run is None:
                    if task_missing is None:
                        try:
                            task_missing = self._task_missing(task_id)
                        except RequestError as exc:
                            self._finish(item, 'error', str(exc))
                            continue
                    what = ('task %s not found' % task_id if task_missing
                            else 'run %s not found (Kapacitor only keeps runs of the last 14 days)' % item.run_id)
                    self._finish(item, 'not_found', what)
                    continue
            item.key = attempt_key(run)
            if item.key in decided:
                first = decided[item.key]
                self._finish(item, 'superseded', 'the same scheduled time as run %s, handled in this call' % first.run_id,
                             latest=latest, count=count)
                continue
            decided[item.key] = item
            decision = decide(run, latest, count, self.max_attempts, self.force)
            if not decision.retry:
                self._finish(item, decision.outcome, decision.msg, latest=latest, count=count)
            elif self.check_mode:
                self._finish(item, 'would_retry', 'would retry run %s (check mode)' % decision.target['id'],
                             latest=latest, count=count)
            else:
                jobs.append((item, decision, count))
        return jobs

    @staticmethod
    def _find(groups, item):
        for attempts in groups.values():
            for run in attempts:
                if run['id'] == item.run_id:
                    latest, count = latest_of(attempts)
                    return run, latest, count
        return None, None, 0

    # ---------------------------------------------------------------- execution

    def run(self, items):
        jobs = self.plan(items)
        map_concurrently(self._retry, jobs, self.concurrency)
        return [item.result for item in items]

    def _retry(self, job):
        item, decision, count = job
        target = decision.target
        try:
            sends = 0
            while True:
                sends += 1
                outcome, message, new_run, delay = self._post(item, target)
                if outcome not in ('ambiguous', 'rate_limited'):
                    if outcome == 'retried_failed':
                        new_run = self._new_attempt(target) or new_run
                    break
                # The fate of the request is unknown (or it was refused with 429): wait, then look. A new attempt
                # that appeared is this request's; only when none did may the request be sent again.
                time.sleep(delay)
                new_run = self._new_attempt(target)
                if new_run is not None:
                    outcome, message = self._outcome_of(new_run)
                    break
                if sends >= RETRY_SENDS:
                    self._finish(item, 'error', 'the retry of run %s was sent %d times without a confirmed outcome '
                                 '(last: %s), and no new attempt appeared' % (target['id'], sends, message),
                                 latest=target, count=count)
                    return
        except RequestError as exc:
            self._finish(item, 'error', 'retry of run %s: %s' % (target['id'], exc), latest=target, count=count)
            return
        if outcome in ('retried', 'retried_failed'):
            message = '%s: %s' % (decision.msg, message) if message else decision.msg
        self._finish(item, outcome, message, latest=target, count=count, new_run=new_run)

    def _post(self, item, target):
        """POST the retry once. Returns ``(outcome, message, new run or None, seconds to wait before looking again)``;
        the outcome is ``ambiguous`` when the request's fate is unknown, ``rate_limited`` for a 429."""
        try:
            status, body, server_message = self.client.retry_run(item.task_id, target['id'], self.retry_timeout)
        except RateLimited as exc:
            return 'rate_limited', str(exc), None, exc.retry_after
        except AmbiguousRequest as exc:
            return 'ambiguous', exc.message, None, RETRY_RESEND_DELAY
        outcome = classify_retry_response(status, server_message)
        if outcome == 'retried':
            return outcome, 'new run %s succeeded' % body.get('id'), {'id': body.get('id'), 'status': 'success'}, 0
        message = 'HTTP %d: %s' % (status, server_message)
        if outcome == 'ambiguous':
            return outcome, message, None, RETRY_RESEND_DELAY
        hint = hint_for_status(status, server_message) if outcome == 'error' else None
        if hint:
            message = '%s. %s' % (message.rstrip('.'), hint)
        return outcome, message, None, 0

    def _new_attempt(self, target):
        """After an uncertain or failed POST, list the scheduled time again and return the newest attempt
        created after ``target``, waiting for it to finish (up to ``retry_timeout``); None if there is none."""
        deadline = time.time() + self.retry_timeout
        window = scheduled_window([scheduled_epoch(target)])
        while True:
            runs, dummy = collect_runs(self.client, target['taskID'], window, keep_logs=True)
            newer = [run for run in runs if run['scheduledFor'] == target['scheduledFor'] and run['id'] > target['id']]
            if not newer:
                return None
            newest = max(newer, key=lambda r: r['id'])
            if newest['status'] not in ('scheduled', 'started') or time.time() >= deadline:
                return newest
            time.sleep(POLL_INTERVAL)

    @staticmethod
    def _outcome_of(new_run):
        status = new_run['status']
        if status == 'success':
            return 'retried', 'new run %s succeeded' % new_run['id']
        if status in ('scheduled', 'started'):
            return 'retried', 'new run %s is still %s' % (new_run['id'], status)
        return 'retried_failed', 'new run %s ended %s' % (new_run['id'], status)

    # ---------------------------------------------------------------- results

    def _finish(self, item, outcome, msg, latest=None, count=None, new_run=None):
        result = {
            'task_id': item.task_id,
            'run_id': item.run_id,
            'scheduled_for': item.key[1] if item.key else item.hints.get('scheduled_for'),
            'outcome': outcome,
            'msg': msg,
            'attempts': count,
            'latest_attempt_id': latest and latest.get('id'),
            'status_before': latest and latest.get('status'),
            'new_run_id': new_run and new_run.get('id'),
            'status_after': None,
            'log': [],
        }
        if new_run is not None:
            result['status_after'] = new_run.get('status')
            result['log'] = [entry.get('message') for entry in (new_run.get('log') or [])][-5:]
        elif outcome in ('retried', 'retried_failed'):
            result['status_after'] = 'success' if outcome == 'retried' else 'failed'
        else:
            result['status_after'] = result['status_before']
        with self._lock:
            item.result = result
