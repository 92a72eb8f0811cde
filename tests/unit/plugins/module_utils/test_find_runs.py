# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of _listing.find_runs (runs_info's run_id) and of the failure reason every listed run carries."""

from ansible_collections.tickstack.kapacitor.plugins.module_utils._errors import RequestError
from ansible_collections.tickstack.kapacitor.plugins.module_utils._listing import RunFilters, find_runs, list_runs
from ansible_collections.tickstack.kapacitor.plugins.module_utils._runs import (
    SNOWFLAKE_EPOCH,
    Window,
    epoch_to_rfc3339,
    rfc3339_to_epoch,
)

NOW = 1790000000
CPU, DISK, MEM = '0a1b2c3d4e5f0001', '0a1b2c3d4e5f0002', '0a1b2c3d4e5f0003'
TASKS = [{'id': CPU, 'name': 'cpu', 'status': 'active'}, {'id': DISK, 'name': 'disk', 'status': 'active'},
         {'id': MEM, 'name': 'mem', 'status': 'active'}]
ECHO = 'Started task from script: "option task = {name: \\"cpu\\", every: 15m}"'


def snowflake(seconds, sequence=0):
    return '%016x' % ((int((seconds - SNOWFLAKE_EPOCH) * 1000) << 22) + sequence)


def run(task, created, scheduled, status='success', error=None):
    rid = snowflake(created)
    out = {'id': rid, 'taskID': task, 'status': status, 'scheduledFor': epoch_to_rfc3339(scheduled),
           'finishedAt': epoch_to_rfc3339(created + 2), 'links': {'self': '/x'},
           'log': [{'runID': rid, 'message': ECHO}, {'runID': rid, 'message': 'Completed(%s)' % status}]}
    if error:
        out['log'].append({'runID': rid, 'message': error})
    return out


class FakeServer:
    """Lists runs by scheduled time (newest first) and answers GET of one run; counts both kinds of request."""

    def __init__(self, runs):
        self.runs = runs
        self.lists = []
        self.gets = []

    def list_runs_page(self, task_id, params):
        self.lists.append((task_id, dict(params)))
        before = rfc3339_to_epoch(params['beforeTime']) if 'beforeTime' in params else NOW
        after = rfc3339_to_epoch(params['afterTime']) if 'afterTime' in params else None
        if 'after' in params:
            return []
        found = [r for r in self.runs if r['taskID'] == task_id and rfc3339_to_epoch(r['scheduledFor']) < before
                 and (after is None or rfc3339_to_epoch(r['scheduledFor']) > after)]
        found.sort(key=lambda r: (r['scheduledFor'], r['id']), reverse=True)
        return [dict(r) for r in found[:params['limit']]]

    def get(self, path):
        self.gets.append(path)
        dummy, task_id, dummy, run_id = path.strip('/').split('/')
        for candidate in self.runs:
            if candidate['taskID'] == task_id and candidate['id'] == run_id:
                return dict(candidate)
        raise RequestError('HTTP 404: failed to find run: run not found', status=404)


def scenario():
    """Every task runs every 15 minutes for a day; cpu's 10:00-like time failed twice, and was retried hours later."""
    runs = []
    for index, task in enumerate((CPU, DISK, MEM)):
        for step in range(96):
            scheduled = NOW - 86400 + step * 900
            runs.append(run(task, scheduled + 1 + index * 0.01, scheduled))
    old = NOW - 43200
    runs = [r for r in runs if not (r['taskID'] == CPU and r['scheduledFor'] == epoch_to_rfc3339(old))]
    runs.append(run(CPU, old + 1, old, 'failed', 'runtime error: connection refused'))
    runs.append(run(CPU, NOW - 3000, old, 'failed', 'runtime error: connection refused again'))
    runs.append(run(CPU, NOW - 600, old, 'success'))
    return runs


def test_a_run_id_of_a_scheduled_run_is_found_with_one_listing_per_task_and_its_attempts():
    runs = scenario()
    target = next(r for r in runs if r['taskID'] == DISK and r['scheduledFor'] == epoch_to_rfc3339(NOW - 7200))
    server = FakeServer(runs)
    result = find_runs(server, TASKS, [target['id']], RunFilters(), 4, NOW)
    assert [r['id'] for r in result['runs']] == [target['id']] and result['not_found'] == []
    assert result['runs'][0]['task_name'] == 'disk' and result['runs'][0]['attempt'] == 1
    assert len(server.lists) == 3 and server.gets == []
    # The window: the hour before the ID's time, to a minute after it.
    params = server.lists[0][1]
    assert rfc3339_to_epoch(params['beforeTime']) - rfc3339_to_epoch(params['afterTime']) <= 3600 + 62
    assert result['totals']['runs'] == 1 and [t['runs'] for t in result['tasks']] == [0, 1, 0]


def test_a_retry_of_an_older_scheduled_time_is_found_by_a_get_per_task_with_every_attempt():
    server = FakeServer(scenario())
    retry = snowflake(NOW - 3000)
    result = find_runs(server, TASKS, [retry], RunFilters(), 1, NOW)
    (found,) = result['runs']
    assert (found['id'], found['task_name'], found['attempt'], found['attempts']) == (retry, 'cpu', 2, 3)
    assert found['error'] == 'runtime error: connection refused again'
    assert len(server.gets) == 3  # one per task, at most
    assert len(server.lists) == 3 + 1  # the first pass, then the scheduled time of the run found


def test_an_unknown_id_is_not_found_with_a_warning_that_dates_it():
    server = FakeServer(scenario())
    ghost = snowflake(NOW - 20 * 86400)
    result = find_runs(server, TASKS, [ghost], RunFilters(), 4, NOW)
    assert result['runs'] == [] and result['not_found'] == [ghost]
    (warning,) = result['warnings']
    assert 'run %s was not found among the runs of the 3 task(s) searched' % ghost in warning
    assert 'Kapacitor only keeps runs of the last 14 days' in warning
    assert server.lists == [] and len(server.gets) == 3  # a 20-day-old ID gets no listing window


def test_several_ids_share_the_first_pass():
    runs = scenario()
    wanted = [r['id'] for r in runs if r['scheduledFor'] == epoch_to_rfc3339(NOW - 1800)]
    server = FakeServer(runs)
    result = find_runs(server, TASKS, wanted + wanted[:1], RunFilters(fields=['id', 'status']), 2, NOW)
    assert sorted(r['id'] for r in result['runs']) == sorted(wanted) and len(server.lists) == 3
    assert all(set(r) == {'id', 'status'} for r in result['runs'])


def test_every_listed_failed_run_carries_its_error_without_the_logs():
    server = FakeServer(scenario())
    result = list_runs(server, TASKS[:1], Window(NOW - 86400, None), RunFilters(statuses=['failed']), 1)
    assert [r['error'] for r in result['runs']] == ['runtime error: connection refused again',
                                                    'runtime error: connection refused']
    assert all('log' not in r for r in result['runs'])
    assert all(r['error'] is None for r in list_runs(server, TASKS[:1], Window(NOW - 3600, None), RunFilters(), 1)['runs'])
