# -*- coding: utf-8 -*-
# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Listing: which tasks a module works on, and every run of a task in a window.

* ``resolve_tasks``: which tasks a module works on, with as few requests as possible.
* ``collect_runs``: every run of one task in a window, paged by ``beforeTime`` (never Kapacitor's broken ``after``).
* ``map_concurrently``: the one bounded thread pool of the collection.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from concurrent.futures import ThreadPoolExecutor

from ansible_collections.tickstack.kapacitor.plugins.module_utils._errors import InputError
from ansible_collections.tickstack.kapacitor.plugins.module_utils._runs import (
    PAGE_LIMIT,
    RUN_STATUSES,
    RunPager,
    Window,
)

# Keys of a run kept in memory while listing; ``links`` is dropped, ``log`` only kept when asked for.
_RUN_KEYS = ('id', 'taskID', 'status', 'scheduledFor', 'startedAt', 'finishedAt', 'requestedAt')
_STATUS = dict((status, status) for status in RUN_STATUSES)


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
        by_id = dict((task['id'], task) for task in every)
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
    slim = dict((key, run[key]) for key in _RUN_KEYS if key in run)
    slim['taskID'] = task_id
    slim['status'] = _STATUS.get(slim.get('status'), slim.get('status'))
    if keep_logs and run.get('log'):
        slim['log'] = run['log']
    return slim


def collect_runs(client, task_id, window, keep_logs=False, enough=None):
    """Every run of ``task_id`` whose ``scheduledFor`` lies in ``window``, de-duplicated, in no particular order.

    ``enough(runs, boundary)``, when given, is asked after each full page whether to stop early: the runs
    with ``scheduledFor`` after ``boundary`` are complete by then. Returns ``(runs, pager)``.
    """
    pager = RunPager(window)
    runs = []
    while not pager.done:
        page = client.list_runs_page(task_id, pager.params())
        runs.extend(_slim(run, task_id, keep_logs) for run in pager.feed(page)
                    if run.get('taskID') == task_id and window.contains(run))
        if enough is not None and not pager.done and enough(runs, pager.boundary):
            break
    return runs, pager


def scheduled_window(epochs):
    """The narrowest window whose exclusive bounds contain every given whole-second ``scheduledFor``."""
    return Window(min(epochs) - 1, max(epochs) + 1)
