# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of _listing: ``list_runs`` with its filters and ``collect_runs``, against a scripted fake client (no HTTP)."""

import pytest

from ansible_collections.tickstack.kapacitor.plugins.module_utils._errors import InputError, PagingError, RequestError
from ansible_collections.tickstack.kapacitor.plugins.module_utils._listing import (
    ListingRequest,
    RunFilters,
    collect_runs,
    export_runs,
    find_runs,
    list_runs,
    map_concurrently,
    map_in_order,
    resolve_tasks,
)
from ansible_collections.tickstack.kapacitor.plugins.module_utils._runs import (
    RUN_FIELDS,
    Window,
    epoch_to_rfc3339,
    rfc3339_to_epoch,
)
from ansible_collections.tickstack.kapacitor.tests.unit.plugins.module_utils.fakes import FakeServer, snowflake

NOW = 1790000000
CPU, DISK = '0a1b2c3d4e5f0001', '0a1b2c3d4e5f0002'
TASKS = [{'id': CPU, 'name': 'cpu', 'status': 'active'}, {'id': DISK, 'name': 'disk', 'status': 'inactive'}]


def run(task, number, scheduled, status='success', **extra):
    out = {'id': '%016x' % number, 'taskID': task, 'status': status, 'scheduledFor': epoch_to_rfc3339(scheduled),
           'links': {'self': '/x'}}
    out.update(extra)
    return out


class ScriptedClient(FakeServer):
    """Answers ``list_runs_page`` from per-task run lists the way Kapacitor orders completed runs, and records calls."""

    def __init__(self, runs_by_task):
        self.runs_by_task = runs_by_task
        self.calls = []

    def list_runs_page(self, task_id, params):
        self.calls.append((task_id, dict(params)))
        before = rfc3339_to_epoch(params['beforeTime']) if 'beforeTime' in params else NOW
        after = rfc3339_to_epoch(params['afterTime']) if 'afterTime' in params else None
        if 'after' in params:
            return []
        runs = [r for r in self.runs_by_task.get(task_id, []) if rfc3339_to_epoch(r['scheduledFor']) < before
                and (after is None or rfc3339_to_epoch(r['scheduledFor']) > after)]
        runs.sort(key=lambda r: (r['scheduledFor'], r['id']), reverse=True)
        return [dict(r) for r in runs[:params['limit']]]

    def get_run(self, task_id, run_id):
        """One run, as GET /tasks/:id/runs/:rid answers (None for the 404 of a run of another task)."""
        self.calls.append(('GET', '/tasks/%s/runs/%s' % (task_id, run_id)))
        for candidate in self.runs_by_task.get(task_id, []):
            if candidate['id'] == run_id:
                return dict(candidate)
        return None

    def lists(self):
        return [call for call in self.calls if call[0] != 'GET']

    def gets(self):
        return [call for call in self.calls if call[0] == 'GET']


def many(task, count, failed_every=10, first=1):
    """``count`` runs a minute apart, the newest a minute ago; every ``failed_every``-th failed."""
    return [run(task, first + i, NOW - 60 * (count - i), 'failed' if i % failed_every == 0 else 'success')
            for i in range(count)]


def attempts(task, scheduled, statuses, first):
    return [run(task, first + k, scheduled, status) for k, status in enumerate(statuses)]


@pytest.fixture
def client():
    cpu = many(CPU, 1200)
    # Three attempts of one scheduled time: failed, failed, success; and two of another: success, failed.
    cpu += attempts(CPU, NOW - 30, ['failed', 'failed', 'success'], 5000)
    cpu += attempts(CPU, NOW - 45, ['success', 'failed'], 6000)
    disk = many(DISK, 40, failed_every=4, first=9000)
    return ScriptedClient({CPU: cpu, DISK: disk})


def listed(client, **filters):
    return list_runs(client, TASKS, Window(), RunFilters(**filters), concurrency=2)


def test_every_run_of_every_task_grouped_by_task_newest_first(client):
    result = listed(client)
    assert [task['id'] for task in result['tasks']] == [CPU, DISK]
    cpu = [r for r in result['runs'] if r['task_id'] == CPU]
    assert len(cpu) == 1205 and len(result['runs']) == 1245
    assert [r['task_id'] for r in result['runs']] == [CPU] * 1205 + [DISK] * 40
    assert cpu == sorted(cpu, key=lambda r: (r['scheduled_for'], r['id']), reverse=True)
    assert result['totals'] == {'tasks': 2, 'runs': 1245, 'run_counts': {
        'scheduled': 0, 'started': 0, 'success': 1080 + 2 + 30, 'failed': 120 + 3 + 10, 'canceled': 0},
        'requests': len(client.calls)}
    assert result['tasks'][1] == {'id': DISK, 'name': 'disk', 'status': 'inactive', 'runs': 40,
                                  'run_counts': {'scheduled': 0, 'started': 0, 'success': 30, 'failed': 10, 'canceled': 0}}
    assert result['warnings'] == []
    # Snake-case keys, the task name and the attempt annotation; no links.
    assert sorted(cpu[0]) == sorted(RUN_FIELDS)
    assert (cpu[0]['task_name'], cpu[0]['attempt'], cpu[0]['attempts'], cpu[0]['status']) == ('cpu', 3, 3, 'success')


def test_limit_stops_listing_early_and_keeps_the_newest(client):
    result = listed(client, limit=3)
    cpu = [r for r in result['runs'] if r['task_id'] == CPU]
    assert [r['id'] for r in cpu] == ['%016x' % n for n in (5002, 5001, 5000)]
    # One page each: the first page already holds three runs newer than its oldest second.
    assert sorted(task_id for task_id, dummy in client.calls) == [CPU, DISK]
    assert result['totals']['requests'] == 2 and result['totals']['runs'] == 6


def test_limit_with_a_status_filter_reads_on_until_enough_runs_match(client):
    result = listed(client, limit=130, statuses=['failed'])
    cpu = [r for r in result['runs'] if r['task_id'] == CPU]
    assert len(cpu) == 123 and all(r['status'] == 'failed' for r in cpu)  # fewer failed runs than the limit: all of them
    assert len([r for r in result['runs'] if r['task_id'] == DISK]) == 10


def test_latest_attempt_only_filters_on_the_latest_attempts_status(client):
    result = listed(client, latest_attempt_only=True, statuses=['failed'])
    cpu = {r['scheduled_for']: r for r in result['runs'] if r['task_id'] == CPU}
    # The time whose third attempt succeeded is gone; the one whose second attempt failed stays, as that attempt.
    assert epoch_to_rfc3339(NOW - 30) not in cpu
    latest = cpu[epoch_to_rfc3339(NOW - 45)]
    assert (latest['id'], latest['attempt'], latest['attempts']) == ('%016x' % 6001, 2, 2)
    assert len(cpu) == 121


def test_after_keeps_only_runs_with_a_higher_id(client):
    result = listed(client, after_id='%016X' % 5001)
    expected = ['%016x' % n for n in (5002, 6000, 6001)] + ['%016x' % n for n in range(9000, 9040)]
    assert sorted(r['id'] for r in result['runs']) == sorted(expected)


def test_include_logs_and_fields(client):
    client.runs_by_task[DISK][-1]['log'] = [{'runID': 'x', 'time': 't', 'message': 'Completed(success)'}]
    result = listed(client, include_logs=True, fields=['id', 'status'])
    newest_disk = [r for r in result['runs'] if r['id'] == client.runs_by_task[DISK][-1]['id']][0]
    assert newest_disk == {'id': client.runs_by_task[DISK][-1]['id'], 'status': 'success',
                           'log': [{'time': 't', 'message': 'Completed(success)', 'run_id': 'x'}]}
    assert all(sorted(r) == ['id', 'log', 'status'] for r in result['runs'])
    assert 'log' not in listed(client)['runs'][0]


@pytest.mark.parametrize('concurrency', [1, 2])
def test_export_hands_on_what_list_runs_returns_in_the_same_order(client, concurrency):
    written = []
    exported = export_runs(client, TASKS, Window(), RunFilters(statuses=['failed']), concurrency, written.append)
    listing = list_runs(client, TASKS, Window(), RunFilters(statuses=['failed']), concurrency)
    assert written == listing.pop('runs') and len(written) == 133
    assert exported == listing


def test_export_stops_at_the_first_failure_with_what_it_wrote():
    class FailsOnDisk(ScriptedClient):
        def list_runs_page(self, task_id, params):
            if task_id == DISK:
                raise RequestError('boom', method='GET', status=500)
            return super().list_runs_page(task_id, params)
    written = []
    with pytest.raises(RequestError):
        export_runs(FailsOnDisk({CPU: many(CPU, 3)}), TASKS, Window(), RunFilters(), 2, written.append)
    assert [run['task_id'] for run in written] == [CPU] * 3


def test_export_cancels_the_tasks_not_started_when_a_write_fails():
    import time

    class Slow(ScriptedClient):
        def list_runs_page(self, task_id, params):
            time.sleep(0.05)
            return super().list_runs_page(task_id, params)
    tasks = [{'id': '%016x' % n, 'name': 't%d' % n} for n in range(1, 201)]
    client = Slow({task['id']: many(task['id'], 2) for task in tasks})

    def write(run):
        raise OSError(28, 'No space left on device')
    with pytest.raises(OSError) as info:   # info keeps export_runs' frame, and so its generator, alive
        export_runs(client, tasks, Window(), RunFilters(), 2, write)
    time.sleep(0.3)   # what was not cancelled has run by now
    # The first task, and what the two threads had started: not the 8 tasks queued ahead, nor the 200.
    assert len(client.calls) <= 4 and info.value.errno == 28


def test_map_in_order_yields_in_order_with_a_bounded_number_ahead():
    import threading
    import time
    lock, started, yielded = threading.Lock(), [], []

    def work(item):
        with lock:
            started.append(item)
        time.sleep(0.05 if item == 0 else 0.001)   # the first item is the slowest
        return item * 10

    for value in map_in_order(work, range(40), 4, 8):
        with lock:
            # Never more than `ahead` items started and not yet yielded (the one being yielded included).
            assert len(started) - len(yielded) <= 8
        yielded.append(value // 10)
    assert yielded == list(range(40)) and sorted(started) == list(range(40))
    assert list(map_in_order(work, [], 4, 8)) == [] and list(map_in_order(work, [3, 1], 1, 1)) == [30, 10]


def test_map_in_order_raises_an_items_error_in_its_turn_and_cancels_what_has_not_started():
    import time
    called = []

    def work(item):
        called.append(item)
        if item == 0:
            raise ValueError(item)
        time.sleep(0.05)
        return item
    with pytest.raises(ValueError):
        list(map_in_order(work, range(40), 2, 40))
    assert len(called) < 10      # not the 40 submitted
    called[:] = []
    with pytest.raises(ValueError):
        map_concurrently(work, range(40), 2)
    assert len(called) < 10


def params(**given):
    base = dict.fromkeys(('task_id', 'task_name', 'status', 'after_time', 'before_time', 'after', 'limit', 'fields'))
    base.update(task_status='any', missing_ok=False, concurrency=4, latest_attempt_only=False, include_logs=False)
    base.update(given)
    return base


@pytest.mark.parametrize('given, message', [
    ({'task_id': ['nothex']}, "task_id 'nothex' is not a Kapacitor ID"),
    ({'task_name': ['cpu', ' ']}, 'task_name must not contain empty names'),
    ({'after_time': 'yesterday'}, "after_time 'yesterday'"),
    ({'limit': 0}, 'limit must be 1 or more, got 0'),
])
def test_a_listing_request_names_a_bad_value(given, message):
    with pytest.raises(InputError) as info:
        ListingRequest(params(**given), NOW)
    assert message in str(info.value)


def test_a_listing_request_resolves_its_tasks_and_warns_for_the_servers_horizon():
    request = ListingRequest(params(after_time='20d', missing_ok=True, task_name=['cpu', 'gone']), NOW)
    assert request.window.after == NOW - 20 * 86400 and len(request.warnings) == 1

    class Server(ScriptedClient):
        server_type = 'kapacitor'
        lists_every_task = True

        def horizon_seconds(self):
            return 30 * 86400

        def list_tasks_page(self, limit, after=None, status=None, name=None):
            return [] if after else [task for task in TASKS if name in (None, task['name'])]
    assert request.tasks(Server({})) == TASKS[:1]
    assert request.missing == ['gone'] and request.warnings == []   # 20 days are within this server's 30


@pytest.mark.parametrize('kwargs, message', [
    ({'limit': 0}, 'limit must be 1 or more, got 0'),
    ({'limit': True}, 'limit must be 1 or more, got True'),
    ({'after_id': ''}, "after '' is not a Kapacitor ID"),
    ({'after_id': 'nothex'}, "after 'nothex' is not a Kapacitor ID"),
])
def test_filters_reject_bad_values(kwargs, message):
    with pytest.raises(InputError) as info:
        RunFilters(**kwargs)
    assert message in str(info.value)


# ------------------------------------------------------------------ collect_runs: only PagingError and RequestError

class KvOnlyClient(FakeServer):
    """Kapacitor holding a page of queued runs for the task: every answer, kv-only or not, is 500 of them."""

    def list_runs_page(self, task_id, params):
        return [run(task_id, 100 + k, NOW - 100 - k, 'scheduled') for k in range(500)]


def test_collect_runs_raises_a_paging_error_naming_the_task_and_the_range():
    with pytest.raises(PagingError) as info:
        collect_runs(KvOnlyClient(), CPU, Window(after=NOW - 3600))
    text = str(info.value)
    assert 'task %s' % CPU in text and 'after %s and before now' % epoch_to_rfc3339(NOW - 3600) in text


def test_list_runs_warns_instead_and_returns_what_it_could_list():
    result = list_runs(KvOnlyClient(), TASKS[:1], Window(), RunFilters(), 1)
    assert len(result['runs']) == 500
    assert len(result['warnings']) == 1 and result['warnings'][0].startswith('task %s (cpu): runs scheduled' % CPU)


@pytest.mark.parametrize('entry', ['text', {'id': 1, 'status': 'failed'}, {'id': '0b00000000000001', 'status': 'failed'},
                                   {'id': '0b00000000000001', 'status': 'failed', 'scheduledFor': 'soon'},
                                   {'id': '0b00000000000001', 'status': 'failed', 'scheduledFor': None}])
def test_a_malformed_run_is_a_request_error(entry):
    class Malformed(FakeServer):
        def list_runs_page(self, task_id, params):
            return [entry]
    with pytest.raises(RequestError) as info:
        collect_runs(Malformed(), CPU, Window())
    assert 'entry 0 of the runs Kapacitor listed for task %s' % CPU in str(info.value)


# ------------------------------------------------------------------ find_runs (runs_info's run_id) and error

MEM_ID = '0a1b2c3d4e5f0003'
ALL_TASKS = TASKS + [{'id': MEM_ID, 'name': 'mem', 'status': 'active'}]
ECHO = 'Started task from script: "option task = {name: \\"cpu\\", every: 15m}"'


def logged_run(task, created, scheduled, status='success', error=None):
    rid = snowflake(created)
    out = {'id': rid, 'taskID': task, 'status': status, 'scheduledFor': epoch_to_rfc3339(scheduled),
           'finishedAt': epoch_to_rfc3339(created + 2), 'links': {'self': '/x'},
           'log': [{'runID': rid, 'message': ECHO}, {'runID': rid, 'message': 'Completed(%s)' % status}]}
    if error:
        out['log'].append({'runID': rid, 'message': error})
    return out


def server_of(runs):
    by_task = {}
    for entry in runs:
        by_task.setdefault(entry['taskID'], []).append(entry)
    return ScriptedClient(by_task)


def scenario():
    """Every task runs every 15 minutes for a day; cpu's 10:00-like time failed twice, and was retried hours later."""
    runs = []
    for index, task in enumerate((CPU, DISK, MEM_ID)):
        for step in range(96):
            scheduled = NOW - 86400 + step * 900
            runs.append(logged_run(task, scheduled + 1 + index * 0.01, scheduled))
    old = NOW - 43200
    runs = [r for r in runs if not (r['taskID'] == CPU and r['scheduledFor'] == epoch_to_rfc3339(old))]
    runs.append(logged_run(CPU, old + 1, old, 'failed', 'runtime error: connection refused'))
    runs.append(logged_run(CPU, NOW - 3000, old, 'failed', 'runtime error: connection refused again'))
    runs.append(logged_run(CPU, NOW - 600, old, 'success'))
    return runs


def test_a_run_id_of_a_scheduled_run_is_found_with_one_listing_per_task_and_its_attempts():
    runs = scenario()
    target = next(r for r in runs if r['taskID'] == DISK and r['scheduledFor'] == epoch_to_rfc3339(NOW - 7200))
    server = server_of(runs)
    result = find_runs(server, ALL_TASKS, [target['id']], RunFilters(), 4, NOW)
    assert [r['id'] for r in result['runs']] == [target['id']] and result['not_found'] == []
    assert result['runs'][0]['task_name'] == 'disk' and result['runs'][0]['attempt'] == 1
    assert len(server.lists()) == 3 and server.gets() == []
    # The window: the hour before the ID's time, to a minute after it.
    params = server.lists()[0][1]
    assert rfc3339_to_epoch(params['beforeTime']) - rfc3339_to_epoch(params['afterTime']) <= 3600 + 62
    assert result['totals']['runs'] == 1 and [t['runs'] for t in result['tasks']] == [0, 1, 0]


def test_a_retry_of_an_older_scheduled_time_is_found_by_a_get_per_task_with_every_attempt():
    server = server_of(scenario())
    retry = snowflake(NOW - 3000)
    result = find_runs(server, ALL_TASKS, [retry], RunFilters(), 1, NOW)
    (found,) = result['runs']
    assert (found['id'], found['task_name'], found['attempt'], found['attempts']) == (retry, 'cpu', 2, 3)
    assert found['error'] == 'runtime error: connection refused again'
    assert len(server.gets()) == 3  # one per task, at most
    assert len(server.lists()) == 3 + 1  # the first pass, then the scheduled time of the run found


def test_an_unknown_id_is_not_found_with_a_warning_that_dates_it():
    server = server_of(scenario())
    ghost = snowflake(NOW - 20 * 86400)
    result = find_runs(server, ALL_TASKS, [ghost], RunFilters(), 4, NOW)
    assert result['runs'] == [] and result['not_found'] == [ghost]
    (warning,) = result['warnings']
    assert 'run %s was not found among the runs of the 3 task(s) searched' % ghost in warning
    assert 'Kapacitor only keeps runs of the last 14 days' in warning
    assert server.lists() == [] and len(server.gets()) == 3  # a 20-day-old ID gets no listing window


def test_several_ids_share_the_first_pass():
    runs = scenario()
    wanted = [r['id'] for r in runs if r['scheduledFor'] == epoch_to_rfc3339(NOW - 1800)]
    server = server_of(runs)
    result = find_runs(server, ALL_TASKS, wanted + wanted[:1], RunFilters(fields=['id', 'status']), 2, NOW)
    assert sorted(r['id'] for r in result['runs']) == sorted(wanted) and len(server.lists()) == 3
    assert all(set(r) == {'id', 'status'} for r in result['runs'])


def test_every_listed_failed_run_carries_its_error_without_the_logs():
    server = server_of(scenario())
    result = list_runs(server, ALL_TASKS[:1], Window(NOW - 86400, None), RunFilters(statuses=['failed']), 1)
    assert [r['error'] for r in result['runs']] == ['runtime error: connection refused again',
                                                    'runtime error: connection refused']
    assert all('log' not in r for r in result['runs'])
    assert all(r['error'] is None for r in list_runs(server, ALL_TASKS[:1], Window(NOW - 3600, None), RunFilters(), 1)['runs'])


# ------------------------------------------------------------------ InfluxDB 2

class TaskServer(FakeServer):
    """Knows these tasks, and ``unlisted`` ones that only a GET finds (InfluxDB's tasks of checks and notification
    rules); records each GET of a task and each page of the task list."""

    def __init__(self, tasks, server_type='kapacitor', org=None, unlisted=()):
        self.tasks = {task['id']: task for task in tasks}
        self.unlisted = {task['id']: task for task in unlisted}
        self.server_type, self.org = server_type, org
        self.calls = []

    def get_task(self, task_id):
        self.calls.append(('get', task_id))
        return self.tasks.get(task_id) or self.unlisted.get(task_id)

    def list_tasks_page(self, limit, after=None, status=None, name=None):
        self.calls.append(('list', name))
        return [task for task in self.tasks.values() if name is None or task['name'] == name][:limit]


def test_task_ids_on_influxdb_without_an_org_are_fetched_one_by_one_never_listed():
    """Without an org InfluxDB would list only the token owner's tasks, and an ID owned by another user would pass
    for missing."""
    server = TaskServer(ALL_TASKS, server_type='influxdb2')
    missing = []
    tasks = resolve_tasks(server, [MEM_ID, CPU, 'ffffffffffffffff', CPU], [], 'any', missing=missing)
    assert [task['id'] for task in tasks] == [CPU, MEM_ID] and missing == ['ffffffffffffffff']
    assert server.calls == [('get', MEM_ID), ('get', CPU), ('get', 'ffffffffffffffff')]
    with pytest.raises(InputError, match='task ffffffffffffffff, eeeeeeeeeeeeeeee not found on this InfluxDB'):
        resolve_tasks(server, [CPU, 'ffffffffffffffff', 'eeeeeeeeeeeeeeee'], [], 'any')


@pytest.mark.parametrize('server_type, org', [('kapacitor', None), ('influxdb2', 'ops')])
def test_several_task_ids_cost_one_listing_where_it_holds_every_task(server_type, org):
    server = TaskServer(ALL_TASKS, server_type=server_type, org=org)
    assert [task['id'] for task in resolve_tasks(server, [MEM_ID, CPU], [], 'active')] == [CPU, MEM_ID]
    assert server.calls == [('list', None)]


@pytest.mark.parametrize('server_type, org', [('kapacitor', None), ('influxdb2', None), ('influxdb2', 'ops')])
def test_a_repeated_unknown_task_id_or_name_is_named_once(server_type, org):
    """Whether the IDs were listed or read one by one, an ID given twice is read once and reported once; so is a name."""
    server = TaskServer(ALL_TASKS, server_type=server_type, org=org)
    missing = []
    tasks = resolve_tasks(server, ['ffffffffffffffff', CPU, 'ffffffffffffffff'], [], 'any', missing=missing)
    assert [task['id'] for task in tasks] == [CPU] and missing == ['ffffffffffffffff']
    assert server.calls.count(('get', 'ffffffffffffffff')) == 1
    with pytest.raises(InputError) as info:
        resolve_tasks(server, ['ffffffffffffffff', CPU, 'ffffffffffffffff'], [], 'any')
    assert str(info.value) == 'task ffffffffffffffff not found on this %s' % ('InfluxDB' if server_type == 'influxdb2' else 'Kapacitor')
    server.calls = []
    resolve_tasks(server, [CPU, CPU], [], 'any')   # one ID given twice costs what one costs
    assert server.calls == [('get', CPU)]
    if org or server_type == 'kapacitor':   # names can be listed
        missing = []
        resolve_tasks(server, [], ['nope', 'mem', 'nope'], 'any', missing=missing)
        assert missing == ['nope']


def test_task_ids_the_listing_lacks_are_read_one_by_one():
    """InfluxDB never lists the task of a check or a notification rule: an ID of one must not pass for missing."""
    check = {'id': '0c0c0c0c0c0c0c0c', 'name': 'CPU check', 'status': 'active'}
    server = TaskServer(ALL_TASKS, server_type='influxdb2', org='ops', unlisted=[check])
    missing = []
    tasks = resolve_tasks(server, [check['id'], CPU, 'ffffffffffffffff'], ['mem'], 'any', missing=missing)
    assert [task['id'] for task in tasks] == sorted([CPU, MEM_ID, check['id']]) and missing == ['ffffffffffffffff']
    assert server.calls == [('list', None), ('get', check['id']), ('get', 'ffffffffffffffff')]


@pytest.mark.parametrize('server_type, hint', [('kapacitor', False), ('influxdb2', True)])
def test_an_unknown_task_name_names_the_server(server_type, hint):
    """On InfluxDB the message says why a task that exists may not be found by name."""
    for names in (['nope'], ['nope', 'mem']):   # one name (a listing by name), several (one listing)
        with pytest.raises(InputError) as info:
            resolve_tasks(TaskServer(ALL_TASKS, server_type=server_type, org='ops'), [], names, 'any')
        assert "no task named 'nope' on this %s" % ('InfluxDB' if hint else 'Kapacitor') in str(info.value)
        assert ('give such a task by task_id' in str(info.value)) is hint


def test_an_id_older_than_influxdbs_horizon_is_not_found_naming_it():
    server = server_of(scenario())
    server.server_type = 'influxdb2'
    ghost = snowflake(NOW - 4 * 86400)
    result = find_runs(server, ALL_TASKS, [ghost], RunFilters(), 4, NOW)
    (warning,) = result['warnings']
    assert '3 days ago or more, and InfluxDB only keeps runs of the last 3 days' in warning
    assert server.lists() == []  # older than the horizon: no listing window, one GET per task
