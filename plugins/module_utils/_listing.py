# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Listing: which tasks a module works on, and every run of a task in a window.

* ``resolve_tasks``: which tasks a module works on, with as few requests as possible.
* ``collect_runs``: every run of one task in a window, paged by ``beforeTime`` (never Kapacitor's broken ``after``
  cursor), or PagingError naming what it could not reach.
* ``list_runs``: the runs of many tasks with the filters of ``kapacitor_task_runs_info`` (``RunFilters``).
* ``map_concurrently``: the one bounded thread pool of the collection.
"""

from concurrent.futures import ThreadPoolExecutor

from ansible_collections.tickstack.kapacitor.plugins.module_utils._errors import InputError, PagingError, RequestError
from ansible_collections.tickstack.kapacitor.plugins.module_utils._runs import (
    PAGE_LIMIT,
    RUN_STATUSES,
    RunPager,
    Window,
    annotate_attempts,
    check_id,
    scheduled_epoch,
    snake_run,
    sort_runs,
)

# Keys of a run kept in memory while listing; ``links`` is dropped, ``log`` only kept when asked for.
_RUN_KEYS = ('id', 'taskID', 'status', 'scheduledFor', 'startedAt', 'finishedAt', 'requestedAt')
_STATUS = {status: status for status in RUN_STATUSES}


def map_concurrently(func, items, concurrency):
    """``[func(item) for item in items]`` with at most ``concurrency`` calls at once; exceptions propagate."""
    items = list(items)
    if concurrency <= 1 or len(items) <= 1:
        return [func(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(concurrency, len(items))) as pool:
        return list(pool.map(func, items))


# --------------------------------------------------------------------------- tasks

def list_all_tasks(client, status=None, name=None):
    """Every task, following the ``after`` cursor in pages of 500.

    The cursor is built here rather than taken from ``links.next``, because Kapacitor's ``next`` link drops
    the ``name`` and ``status`` filters (kapacitor-api.md 3.4).
    """
    tasks, after = [], None
    while True:
        page = client.list_tasks_page(PAGE_LIMIT, after=after, status=status, name=name)
        tasks.extend(page)
        if len(page) < PAGE_LIMIT:
            return tasks
        after = page[-1]['id']


def resolve_tasks(client, task_ids, task_names, task_status):
    """The tasks to work on, sorted by ID. ``task_status`` is ``active``, ``inactive`` or ``any``.

    One ID costs one GET; several IDs or names cost one pass over the task list. An unknown ID or name
    raises InputError naming it.
    """
    server_status = None if task_status == 'any' else task_status
    if not task_ids and not task_names:
        return list_all_tasks(client, status=server_status)
    found = {}
    if len(task_ids) == 1 and not task_names:
        task = client.get_task(task_ids[0])
        if task is None:
            raise InputError('task %s not found on this Kapacitor' % task_ids[0])
        found[task['id']] = task
    elif len(task_names) == 1 and not task_ids:
        for task in list_all_tasks(client, name=task_names[0]):
            found[task['id']] = task
        if not found:
            raise InputError('no task named %r on this Kapacitor' % task_names[0])
    else:
        every = list_all_tasks(client)
        by_id = {task['id']: task for task in every}
        missing = [task_id for task_id in task_ids if task_id not in by_id]
        if missing:
            raise InputError('task %s not found on this Kapacitor' % ', '.join(missing))
        for task_id in task_ids:
            found[task_id] = by_id[task_id]
        for name in task_names:
            named = [task for task in every if task.get('name') == name]
            if not named:
                raise InputError('no task named %r on this Kapacitor' % name)
            for task in named:
                found[task['id']] = task
    return [found[task_id] for task_id in sorted(found)
            if task_status == 'any' or found[task_id].get('status') == task_status]


# --------------------------------------------------------------------------- runs

def _slim(run, task_id, keep_logs):
    """The run without ``links``; repeated values share one string object (a listing can hold 100,000 runs)."""
    slim = {key: run[key] for key in _RUN_KEYS if key in run}
    slim['taskID'] = task_id
    slim['status'] = _STATUS.get(slim.get('status'), slim.get('status'))
    if keep_logs and run.get('log'):
        slim['log'] = run['log']
    return slim


def _check_page(task_id, page):
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
            raise RequestError('entry %d of the runs Kapacitor listed for task %s %s' % (index, task_id, problem),
                               method='GET', status=200,
                               hint='Check that url (KAPACITOR_URL) points at Kapacitor 1.6 or later')


def collect_runs(client, task_id, window, keep_logs=False, enough=None, strict=True):
    """Every run of ``task_id`` whose ``scheduledFor`` lies in ``window``, de-duplicated, in no particular order.

    ``enough(runs, boundary)``, when given, is asked after each full page whether to stop early: the runs
    with ``scheduledFor`` after ``boundary`` are complete by then. Returns ``(runs, pager)``; ``pager.gaps`` and
    ``pager.warnings`` say what could not be listed. With ``strict`` such a gap raises PagingError instead.
    Raises only PagingError and RequestError.
    """
    pager = RunPager(window)
    runs = []
    while not pager.done:
        page = client.list_runs_page(task_id, pager.params())
        _check_page(task_id, page)
        runs.extend(_slim(run, task_id, keep_logs) for run in pager.feed(page)
                    if run.get('taskID') == task_id and window.contains(run))
        if enough is not None and not pager.done and enough(runs, pager.boundary):
            break
    if strict and pager.gaps:
        raise PagingError('the runs of task %s cannot all be listed: %s' % (task_id, '; '.join(pager.warnings)))
    return runs, pager


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
    """One task's kept runs (module view), its summary and the pager's warnings, each naming the task."""
    runs, pager = collect_runs(client, task['id'], window, keep_logs=filters.include_logs, enough=filters.enough,
                               strict=False)
    notes = annotate_attempts(runs)
    selected = sort_runs(run for run in runs if filters.keep(run, notes[run['id']]))[:filters.limit]
    counts = dict.fromkeys(RUN_STATUSES, 0)
    for run in selected:
        counts[run['status']] = counts.get(run['status'], 0) + 1
    name = task.get('name')
    summary = {'id': task['id'], 'name': name, 'status': task.get('status'), 'runs': len(selected), 'run_counts': counts}
    out = [snake_run(run, name, notes[run['id']], filters.include_logs, filters.fields) for run in selected]
    warnings = ['task %s (%s): %s' % (task['id'], name, warning) for warning in pager.warnings]
    return out, summary, pager.pages, warnings


def list_runs(client, tasks, window, filters, concurrency):
    """The runs of ``tasks`` in ``window`` that ``filters`` keeps, listed ``concurrency`` tasks at a time.

    Returns ``{'runs', 'tasks', 'totals', 'warnings'}`` as ``kapacitor_task_runs_info`` returns them (runs grouped by
    task in the order of ``tasks``, newest scheduled time first); ``warnings`` name the task and the time range of
    every part of a window that could not be listed completely. Raises RequestError.
    """
    listed = map_concurrently(lambda task: _list_task(client, task, window, filters), tasks, concurrency)
    result = {'runs': [], 'tasks': [], 'warnings': []}
    totals = dict.fromkeys(RUN_STATUSES, 0)
    requests = 0
    for runs, summary, pages, warnings in listed:
        result['runs'].extend(runs)
        result['tasks'].append(summary)
        result['warnings'].extend(warnings)
        requests += pages
        for status, count in summary['run_counts'].items():
            totals[status] = totals.get(status, 0) + count
    result['totals'] = {'tasks': len(result['tasks']), 'runs': len(result['runs']), 'run_counts': totals,
                        'requests': requests}
    return result
