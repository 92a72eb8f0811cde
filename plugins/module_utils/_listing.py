# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Listing: which tasks a module works on, and every run of a task in a window.

* ``resolve_tasks``: which tasks a module works on, with as few requests as possible.
* ``collect_runs``: every run of one task in a window, paged by ``beforeTime`` (never Kapacitor's broken ``after``
  cursor), or PagingError naming what it could not reach.
* ``ListingRequest``: what the options of a listing module ask for (tasks, window, ``RunFilters``), checked first.
* ``list_runs``: the runs of many tasks with the filters of ``kapacitor_task_runs_info``; ``export_runs``: the
  same runs handed on task by task and not kept (``kapacitor_task_runs_export``).
* ``map_in_order`` and ``map_concurrently``: the one bounded thread pool of the collection.
"""

from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from itertools import islice

from ansible_collections.tickstack.kapacitor.plugins.module_utils._errors import InputError, PagingError, RequestError
from ansible_collections.tickstack.kapacitor.plugins.module_utils._runs import (
    IN_PROGRESS_STATUSES,
    PAGE_LIMIT,
    RUN_STATUSES,
    RunPager,
    Window,
    annotate_attempts,
    attempt_key,
    check_id,
    epoch_to_rfc3339,
    group_attempts,
    horizon_words,
    id_created_at,
    log_entries,
    resolve_window,
    run_error,
    scheduled_epoch,
    server_label,
    snake_run,
    sort_runs,
)

# Keys of a run kept in memory while listing; ``links`` is dropped, ``log`` only kept when asked for.
_RUN_KEYS = ('id', 'taskID', 'status', 'scheduledFor', 'startedAt', 'finishedAt', 'requestedAt')
_STATUS = {status: status for status in RUN_STATUSES}


def map_in_order(func, items, concurrency, ahead):
    """``func(item)`` for each item, yielded in the order of ``items``, with at most ``concurrency`` calls at once and
    at most ``ahead`` results (the one being yielded included) computed or under way and not yet handed on: a slow
    item holds back at most that many finished ones in memory. An exception propagates when its result's turn comes;
    the calls not started by then, and those left when the generator is closed, are cancelled."""
    items = iter(items)
    if concurrency <= 1:
        yield from map(func, items)
        return
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        pending = deque(pool.submit(func, item) for item in islice(items, max(ahead, concurrency)))
        try:
            while pending:
                yield pending.popleft().result()
                pending.extend(pool.submit(func, item) for item in islice(items, 1))
        finally:
            for future in pending:
                future.cancel()


def map_concurrently(func, items, concurrency):
    """``[func(item) for item in items]`` with at most ``concurrency`` calls at once; exceptions propagate."""
    items = list(items)
    return list(map_in_order(func, items, min(concurrency, len(items)), len(items)))


# --------------------------------------------------------------------------- tasks

def list_all_tasks(client, status=None, name=None):
    """Every task, following the ``after`` cursor in pages of 500.

    The cursor is built here rather than taken from ``links.next``, because Kapacitor's ``next`` link drops
    the ``name`` and ``status`` filters (docs/kapacitor-api.md §3.4).
    """
    tasks, after = [], None
    while True:
        page = client.list_tasks_page(PAGE_LIMIT, after=after, status=status, name=name)
        tasks.extend(page)
        if len(page) < PAGE_LIMIT:
            return tasks
        after = page[-1]['id']


# Why a task name may be missing from a listing although the task exists (docs/influxdb2-api.md §3).
_UNLISTED = {'kapacitor': '',
             'influxdb2': ' (InfluxDB lists no task of a check or notification rule: give such a task by task_id)'}


def resolve_tasks(client, task_ids, task_names, task_status, missing=None):
    """The tasks to work on, sorted by ID. ``task_status`` is ``active``, ``inactive`` or ``any``.

    An ID or name given twice counts once. One ID costs one GET and one name a listing by that name; several IDs,
    several names, or IDs and names cost one pass over the task list, plus one GET per ID it lacks (on
    InfluxDB, the tasks of checks and notification rules), except on InfluxDB without an org (its listing would leave
    out the tasks of other users): there each ID costs one GET, and names cannot be listed
    (``client.list_tasks_page`` raises InputError). An unknown ID or name raises InputError naming it; when
    ``missing`` is a list (``missing_ok``), it is appended there instead.
    """
    label = server_label(client.server_type)
    server_status = None if task_status == 'any' else task_status
    if not task_ids and not task_names:
        return list_all_tasks(client, status=server_status)
    task_ids, task_names = list(dict.fromkeys(task_ids)), list(dict.fromkeys(task_names))   # each counts once
    if len(task_names) == 1 and not task_ids:
        listed = list_all_tasks(client, name=task_names[0])
    elif task_names or (len(task_ids) > 1 and client.lists_every_task):
        listed = list_all_tasks(client)
    else:
        listed = []
    by_id = {task['id']: task for task in listed}
    # Each ID the listing lacks costs one GET: every ID when nothing was listed, an ID the server does not have, and on
    # InfluxDB the task of a check or notification rule, which its listing never holds (docs/influxdb2-api.md §3).
    by_id.update((task_id, client.get_task(task_id)) for task_id in task_ids if task_id not in by_id)
    unknown = [task_id for task_id in task_ids if by_id[task_id] is None]
    if unknown:
        if missing is None:
            raise InputError('task %s not found on this %s' % (', '.join(unknown), label))
        missing.extend(unknown)
    found = {by_id[task_id]['id']: by_id[task_id] for task_id in task_ids if by_id[task_id] is not None}
    for name in task_names:
        named = [task for task in listed if task.get('name') == name]
        if not named:
            if missing is None:
                raise InputError('no task named %r on this %s%s' % (name, label, _UNLISTED[client.server_type]))
            missing.append(name)
        found.update((task['id'], task) for task in named)
    return [found[task_id] for task_id in sorted(found)
            if task_status == 'any' or found[task_id].get('status') == task_status]


# --------------------------------------------------------------------------- runs

def _slim(run, task_id, keep_logs):
    """The run without ``links``; repeated values share one string object (a listing can hold 100,000 runs).

    The log is dropped unless ``keep_logs``; the failure reason of a failed or canceled run (``error``) is taken from it
    first (Kapacitor's listing carries every run's log, docs/kapacitor-api.md §3.2), so it costs no request.
    """
    slim = {key: run[key] for key in _RUN_KEYS if key in run}
    slim['taskID'] = task_id
    slim['status'] = _STATUS.get(slim.get('status'), slim.get('status'))
    slim['error'] = run_error(run)
    log = log_entries(run) if keep_logs else None
    if log:
        slim['log'] = log
    return slim


def _check_page(task_id, page, label):
    """Every entry of a page of runs must be a run this code can order, or the listing stops with a RequestError."""
    for index, run in enumerate(page):
        problem = None
        if not isinstance(run, dict):
            problem = 'is not an object'
        elif not isinstance(run.get('id'), str) or not isinstance(run.get('status'), str):
            problem = 'has no id or status'
        else:
            try:
                scheduled_epoch(run)
            except (InputError, KeyError):
                problem = 'has no valid scheduledFor (%r)' % (run.get('scheduledFor'),)
        if problem:
            raise RequestError('entry %d of the runs %s listed for task %s %s' % (index, label, task_id, problem),
                               method='GET', status=200, hint='Check that url points at %s' % (
                                   'Kapacitor 1.6 or later' if label == 'Kapacitor' else 'InfluxDB 2.2 or later, or Cloud'))


def collect_runs(client, task_id, window, keep_logs=False, enough=None, strict=True):
    """Every run of ``task_id`` whose ``scheduledFor`` lies in ``window``, de-duplicated, in no particular order.

    ``enough(runs, boundary)``, when given, is asked after each full page whether to stop early: the runs
    with ``scheduledFor`` after ``boundary`` are complete by then. Returns ``(runs, pager)``; ``pager.gaps`` and
    ``pager.warnings`` say what could not be listed. With ``strict`` such a gap raises PagingError instead.
    Raises only PagingError and RequestError.
    """
    pager = RunPager(window)
    runs = []
    label = server_label(client.server_type)
    while not pager.done:
        page = client.list_runs_page(task_id, pager.params())
        _check_page(task_id, page, label)
        runs.extend(_slim(run, task_id, keep_logs) for run in pager.feed(page)
                    if run.get('taskID') == task_id and window.contains(run))
        if enough is not None and not pager.done and enough(runs, pager.boundary):
            break
    if strict and pager.gaps:
        raise PagingError('the runs of task %s cannot all be listed: %s' % (task_id, '; '.join(pager.warnings)))
    return runs, pager


def newest_finished(list_runs, timeout, clock, sleep, poll=1.0):
    """The newest (highest ID) of the runs ``list_runs()`` returns, listed again every ``poll`` seconds while it is
    queued or running, for at most ``timeout`` seconds; None when there is none. A run that a retry or a manual run
    created is only worth reporting once it has finished, and Kapacitor lists it as soon as it is queued."""
    deadline = clock() + timeout
    while True:
        runs = list_runs()
        if not runs:
            return None
        newest = max(runs, key=lambda run: run['id'])
        if newest['status'] not in IN_PROGRESS_STATUSES or clock() >= deadline:
            return newest
        sleep(poll)


def scheduled_window(epochs):
    """The narrowest window whose exclusive bounds contain every given whole-second ``scheduledFor``."""
    return Window(min(epochs) - 1, max(epochs) + 1)


class RunFilters:
    """What ``list_runs`` keeps of each task's runs and how it returns them; the constructor checks the values.

    ``statuses``: keep runs in these statuses (None or empty: all). ``after_id``: keep runs with a higher ID.
    ``latest_attempt_only``: keep the latest attempt of each scheduled time only (the status filter applies to it).
    ``limit``: at most this many runs per task, newest scheduled time first. ``include_logs``: keep each run's log.
    ``fields``: return only these keys of each run (None or empty: all).
    """

    def __init__(self, statuses=None, after_id=None, latest_attempt_only=False, limit=None, include_logs=False,
                 fields=None):
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise InputError('limit must be 1 or more, got %r' % (limit,))
        self.statuses = frozenset(statuses or RUN_STATUSES)
        self.after_id = None if after_id is None else check_id(after_id, 'after')
        self.latest_attempt_only = latest_attempt_only
        self.limit = limit
        self.include_logs = include_logs
        self.fields = fields or None

    def keep(self, run, note):
        """Whether to return ``run``, given its ``annotate_attempts`` note."""
        if self.latest_attempt_only and note[2]['id'] != run['id']:
            return False
        if self.after_id is not None and not run['id'] > self.after_id:
            return False
        return run['status'] in self.statuses

    def enough(self, runs, boundary):
        """With a limit: whether the runs scheduled after ``boundary`` already hold ``limit`` kept runs."""
        if self.limit is None:
            return False
        notes = annotate_attempts(runs)
        return sum(1 for run in runs if scheduled_epoch(run) > boundary and self.keep(run, notes[run['id']])) >= self.limit


def _list_task(client, task, window, filters):
    """One task's kept runs (each as a pair: API view, module view), the number of requests and the pager's warnings, naming the task."""
    runs, pager = collect_runs(client, task['id'], window, keep_logs=filters.include_logs, enough=filters.enough,
                               strict=False)
    notes = annotate_attempts(runs)
    selected = sort_runs(run for run in runs if filters.keep(run, notes[run['id']]))[:filters.limit]
    name = task.get('name')
    out = [(run, snake_run(run, name, notes[run['id']], filters.include_logs, filters.fields)) for run in selected]
    warnings = ['task %s (%s): %s' % (task['id'], name, warning) for warning in pager.warnings]
    return out, pager.pages, warnings


class ListingRequest:
    """What the options of a listing module (the ``run_listing`` doc fragment) ask for, checked before any request:
    InputError names the first bad value. ``params`` are the module's parameters, ``now`` an epoch."""

    def __init__(self, params, now):
        self.task_ids = [check_id(value, 'task_id') for value in params['task_id'] or []]
        self.task_names = list(params['task_name'] or [])
        if not all(name.strip() for name in self.task_names):
            raise InputError('task_name must not contain empty names')
        self.task_status = params['task_status']
        self.missing = [] if params['missing_ok'] else None
        self.concurrency = params['concurrency']
        self._times = (params['after_time'], params['before_time'], now)
        self.window, self.warnings = resolve_window(*self._times)
        self.filters = RunFilters(statuses=params['status'], after_id=params['after'], limit=params['limit'],
                                  latest_attempt_only=params['latest_attempt_only'],
                                  include_logs=params['include_logs'], fields=params['fields'])

    def tasks(self, client):
        """The tasks to list (``resolve_tasks``). The window's warning is made again for the server's real horizon."""
        if self.window.after is not None or self.window.before is not None:
            dummy, self.warnings = resolve_window(*self._times, horizon=client.horizon_seconds(),
                                                  server_type=client.server_type)
        return resolve_tasks(client, self.task_ids, self.task_names, self.task_status, missing=self.missing)


class _Summary:
    """The result of a listing without its runs, built task by task: ``tasks`` with counts, ``totals``,
    ``warnings``."""

    def __init__(self):
        self.tasks, self.warnings, self.requests = [], [], 0
        self.counts = dict.fromkeys(RUN_STATUSES, 0)
        self.runs = 0

    def add(self, task, runs, requests=0, warnings=()):
        """Count ``task``'s kept runs (pairs: API view, module view)."""
        counts = dict.fromkeys(RUN_STATUSES, 0)
        for run, dummy in runs:
            counts[run['status']] = counts.get(run['status'], 0) + 1
            self.counts[run['status']] = self.counts.get(run['status'], 0) + 1
        self.runs += len(runs)
        self.requests += requests
        self.warnings.extend(warnings)
        self.tasks.append({'id': task['id'], 'name': task.get('name'), 'status': task.get('status'),
                           'runs': len(runs), 'run_counts': counts})

    def result(self):
        return {'tasks': self.tasks, 'warnings': self.warnings,
                'totals': {'tasks': len(self.tasks), 'runs': self.runs, 'run_counts': self.counts,
                           'requests': self.requests}}


def list_runs(client, tasks, window, filters, concurrency):
    """The runs of ``tasks`` in ``window`` that ``filters`` keeps, listed ``concurrency`` tasks at a time.

    Returns ``{'runs', 'tasks', 'totals', 'warnings'}`` as ``kapacitor_task_runs_info`` returns them (runs grouped by
    task in the order of ``tasks``, newest scheduled time first); ``warnings`` name the task and the time range of
    every part of a window that could not be listed completely. Raises RequestError.
    """
    listed = map_concurrently(lambda task: _list_task(client, task, window, filters), tasks, concurrency)
    runs_by_task = {task['id']: runs for task, (runs, dummy, dummy) in zip(tasks, listed)}
    return _result(tasks, runs_by_task, sum(pages for dummy, pages, dummy in listed),
                   [warning for dummy, dummy, warnings in listed for warning in warnings])


# How many tasks' runs ``export_runs`` may hold, per thread, while it waits for an earlier task.
EXPORT_AHEAD = 4


def export_runs(client, tasks, window, filters, concurrency, write):
    """``list_runs`` for listings too large to return: ``write(run)`` is called for each run, in the order
    ``list_runs`` returns them, as soon as its task is listed, and the runs are not kept. Returns ``list_runs``'s
    answer without ``runs``. It holds the runs of at most ``EXPORT_AHEAD * concurrency + 1`` tasks at a time. Raises
    RequestError, and whatever ``write`` raises.
    """
    summary = _Summary()
    listed = map_in_order(lambda task: _list_task(client, task, window, filters), tasks, concurrency,
                          EXPORT_AHEAD * concurrency)
    with closing(listed):   # a failed write cancels the tasks not started yet
        for task, (pairs, pages, warnings) in zip(tasks, listed):
            for dummy, out in pairs:
                write(out)
            summary.add(task, pairs, pages, warnings)
    return summary.result()


def _result(tasks, runs_by_task, requests, warnings):
    """The answer of ``list_runs`` from the kept runs of each task (pairs: API view, module view), in the order of
    ``tasks``."""
    summary, runs = _Summary(), []
    for task in tasks:
        pairs = runs_by_task.get(task['id'], [])
        summary.add(task, pairs)
        runs.extend(out for dummy, out in pairs)
    summary.requests, summary.warnings = requests, warnings
    return dict(summary.result(), runs=runs)


# A run scheduled by the task is created when its scheduled time comes (later by the task's ``offset``, or when the
# executor is late); so a run whose ID dates from T is most likely scheduled within this many seconds before T.
ID_LOOKBACK = 3600


def find_runs(client, tasks, run_ids, filters, concurrency, now):
    """The runs with these IDs among the runs of ``tasks``, each with its attempt annotation, as ``list_runs`` returns
    runs, plus ``not_found``: the IDs no task has (each also named in ``warnings``).

    A snowflake ID carries its creation time (docs/kapacitor-api.md §5.3), and a scheduled run is created at its scheduled
    time: so first one listing per task of the scheduled times from ``ID_LOOKBACK`` seconds before the oldest ID to a
    minute after the newest finds most runs with their attempts. An ID still missing (a retry of an older scheduled
    time, or a task with a long ``offset``) is looked up with one GET per task, then its scheduled time is listed for
    its attempts. Cost: about one request per task, plus one per task for each ID the first pass did not find.
    """
    wanted = list(dict.fromkeys(run_ids))
    wanted_set = set(wanted)
    found = {}       # run ID -> (task, its attempts)
    requests = 0
    gaps = []        # what a listing could not reach: a run there would otherwise pass for not found

    def note_gaps(task, pager):
        gaps.extend('task %s (%s): %s' % (task['id'], task.get('name'), warning) for warning in pager.warnings)
    horizon = client.horizon_seconds()
    created = [id_created_at(run_id) for run_id in wanted]
    recent = [when for when in created if now - horizon - ID_LOOKBACK < when < now + 60]
    if recent:
        window = Window(int(min(recent)) - ID_LOOKBACK, int(max(recent)) + 60)

        def scan(task):
            runs, pager = collect_runs(client, task['id'], window, keep_logs=filters.include_logs, strict=False)
            return task, runs, pager

        for task, runs, pager in map_concurrently(scan, tasks, concurrency):
            requests += pager.pages
            note_gaps(task, pager)
            groups = group_attempts(runs)
            for run in runs:
                if run['id'] in wanted_set and run['id'] not in found:
                    found[run['id']] = (task, groups[attempt_key(run)])

    def probe(pair):
        task, run_id = pair
        return task, client.get_run(task['id'], run_id)

    for run_id in [run_id for run_id in wanted if run_id not in found]:
        hits = [(task, run) for task, run in map_concurrently(probe, [(task, run_id) for task in tasks], concurrency)
                if run is not None]
        requests += len(tasks)
        if hits:
            task, run = hits[0]
            runs, pager = collect_runs(client, task['id'], scheduled_window([scheduled_epoch(run)]),
                                       keep_logs=filters.include_logs, strict=False)
            requests += pager.pages
            note_gaps(task, pager)
            attempts = group_attempts(runs).get((task['id'], scheduled_epoch(run)), [])
            if not any(attempt['id'] == run_id for attempt in attempts):  # listed no more (or not yet): as fetched
                attempts = sorted(attempts + [_slim(run, task['id'], filters.include_logs)], key=lambda r: r['id'])
            found[run_id] = (task, attempts)

    by_task = {}
    for run_id in wanted:
        if run_id in found:
            task, attempts = found[run_id]
            run = next(attempt for attempt in attempts if attempt['id'] == run_id)
            note = (attempts.index(run) + 1, len(attempts), attempts[-1])
            by_task.setdefault(task['id'], []).append(
                (run, snake_run(run, task.get('name'), note, filters.include_logs, filters.fields)))
    runs_by_task = {task_id: sorted(pairs, key=lambda pair: (scheduled_epoch(pair[0]), pair[0]['id']), reverse=True)
                    for task_id, pairs in by_task.items()}
    not_found = [run_id for run_id in wanted if run_id not in found]
    warnings = list(gaps)
    for run_id in not_found:
        when = id_created_at(run_id)
        reason = 'its ID dates from %s' % epoch_to_rfc3339(when)
        if when < now - horizon:
            words = horizon_words(horizon)
            label = server_label(client.server_type)
            reason += ', %s ago or more, and %s only keeps runs of the last %s' % (words, label, words)
        warnings.append('run %s was not found among the runs of the %d task(s) searched (%s)' % (run_id, len(tasks), reason))
    result = _result(tasks, runs_by_task, requests, warnings)
    result['not_found'] = not_found
    return result
