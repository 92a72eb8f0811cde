# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the backfill orchestration: the Flux scan, the window clamp, the refusals and the missing times, and
the POST rules, with a scripted fake client (no HTTP) and a fake clock."""

import pytest

from ansible_collections.tickstack.kapacitor.plugins.module_utils._backfill import (
    HISTORY_MARGIN,
    Backfill,
    clamp_window,
    side_effects,
    uses_last_success,
)
from ansible_collections.tickstack.kapacitor.plugins.module_utils._errors import AmbiguousRequest, RequestError
from ansible_collections.tickstack.kapacitor.plugins.module_utils._retrier import FOLLOW_MAX, MISSING_LIMIT
from ansible_collections.tickstack.kapacitor.plugins.module_utils._runs import (
    HORIZON_SECONDS,
    epoch_to_rfc3339,
    rfc3339_to_epoch,
)
from ansible_collections.tickstack.kapacitor.tests.unit.plugins.module_utils.fakes import FakeClock, snowflake

NOW = 1790000000 - 1790000000 % 3600   # 2026-09-21T14:00:00Z, on every grid used below
TASK = '0a1b2c3d4e5f6789'


class FakeKapacitor:
    """Runs per task, listed by scheduled time as Kapacitor does; each manual run POST takes the next step of
    ``script``. ``posts`` holds the scheduled times posted, ``lists`` counts listings."""
    server_type = 'kapacitor'
    runs_block = True   # a manual run is answered once it has finished

    @staticmethod
    def horizon_seconds():
        return HORIZON_SECONDS

    def server_now(self, now):
        return now - self.clock_behind   # as the client gives it: this host's now, or a server's that is behind

    def __init__(self, script=()):
        self.clock_behind = 0
        self.runs = {}
        self.script = list(script)
        self.posts = []
        self.lists = 0
        self.serial = 0

    def add(self, epoch, status='success', manual=False, task_id=TASK):
        self.serial += 1
        run = {'id': snowflake(NOW + self.serial, self.serial), 'taskID': task_id, 'status': status,
               'scheduledFor': epoch_to_rfc3339(epoch)}
        if manual:
            run['requestedAt'] = epoch_to_rfc3339(NOW)
        self.runs.setdefault(task_id, []).append(run)
        return run

    def list_runs_page(self, task_id, params):
        self.lists += 1
        after = rfc3339_to_epoch(params['afterTime']) if 'afterTime' in params else None
        before = rfc3339_to_epoch(params['beforeTime']) if 'beforeTime' in params else None
        return [dict(run) for run in self.runs.get(task_id, [])
                if (after is None or rfc3339_to_epoch(run['scheduledFor']) > after)
                and (before is None or rfc3339_to_epoch(run['scheduledFor']) < before)][:params['limit']]

    def force_run(self, task_id, scheduled_for, timeout):
        self.posts.append(scheduled_for)
        step = self.script.pop(0) if self.script else 'ok'
        epoch = rfc3339_to_epoch(scheduled_for)
        if step == 'ok':
            run = self.add(epoch, 'success', manual=True, task_id=task_id)
            return 201, dict(run, status='scheduled'), None
        if step == 'now':   # the body was ignored: a run for another time
            run = self.add(NOW, 'success', manual=True, task_id=task_id)
            return 201, dict(run, status='scheduled'), None
        if step == 'fail':
            self.add(epoch, 'failed', manual=True, task_id=task_id)
            return 500, None, 'failed to force run: could not execute task run: boom'
        if step == 'fail+other':   # ours failed; another job's manual run of the same time, sent meanwhile, runs on
            self.add(epoch, 'failed', manual=True, task_id=task_id)
            self.add(epoch, 'started', manual=True, task_id=task_id)
            return 500, None, 'failed to force run: could not execute task run: boom'
        if step == 'unstarted':   # the executor could not start it: the same words, and the run stays queued
            self.add(epoch, 'scheduled', manual=True, task_id=task_id)
            return 500, None, 'failed to force run: could not execute task run: failed to find permission for user'
        if step == 'lost':      # sent, acted on, answer lost
            self.add(epoch, 'success', manual=True, task_id=task_id)
            raise AmbiguousRequest('connection reset', method='POST')
        if step == 'reset':     # never acted on
            raise AmbiguousRequest('connection reset', method='POST')
        if step == 'race':      # another job created it just before this request
            self.add(epoch, 'success', manual=True, task_id=task_id)
            return 422, None, 'failed to force run: run already queued'
        raise AssertionError(step)


def task(every='10m', created=NOW - 6 * 3600, **extra):
    data = {'id': TASK, 'name': 'rollup', 'status': 'active', 'every': every, 'flux': 'from(bucket: "b")',
            'createdAt': epoch_to_rfc3339(created)}
    data.update(extra)
    return data


def backfill(client, **options):
    clock = FakeClock()
    options.setdefault('after', NOW - 3 * 3600)
    options.setdefault('before', None)
    return Backfill(client, now=NOW, grace=300, clock=clock, sleep=clock.sleep, **options)


def seed_with_gap(client, period=600, start=NOW - 6 * 3600, gap=(NOW - 2 * 3600, NOW - 3600)):
    """Scheduler runs every ``period`` from ``start`` to now, none in ``gap`` (exclusive, inclusive)."""
    slot = start - start % period + period
    missing = []
    while slot < NOW - 60:
        if gap[0] < slot <= gap[1]:
            missing.append(slot)
        else:
            client.add(slot)
        slot += period
    return missing


# --------------------------------------------------------------------------- the Flux scan

@pytest.mark.parametrize('flux, found', [
    ('import "slack"\nx', ['imports "slack"']),
    ('import s "contrib/sranka/telegram"\n', ['imports "contrib/sranka/telegram"']),
    ('import "influxdata/influxdb/monitor"\n', ['imports "influxdata/influxdb/monitor"']),
    ('import "sql"\nsql.from(driverName: "x")', []),
    ('import "sql"\ndata |> sql.to(driverName: "x")', ['calls sql.to() of "sql"']),
    ('import db "sql"\ndata |> db.to(table: "t")', ['calls db.to() of "sql"']),
    ('import "experimental/http"\nhttp.get(url: "u")', []),
    ('from(bucket: "http")\n|> to(bucket: "slack")', []),
])
def test_side_effects_are_named_by_import_path(flux, found):
    assert side_effects(flux) == found


def test_tasks_last_success_is_found_under_any_import_name():
    assert uses_last_success('import "influxdata/influxdb/tasks"\nrange(start: tasks.lastSuccess(orTime: -1h))')
    assert uses_last_success('import t "influxdata/influxdb/tasks"\nrange(start: t.lastSuccess(orTime: -1h))')
    assert not uses_last_success('range(start: tasks.lastSuccess(orTime: -1h))')   # no import: no such function


# --------------------------------------------------------------------------- the window

def test_the_window_is_clamped_by_each_bound_in_turn():
    horizon = NOW - HORIZON_SECONDS + HISTORY_MARGIN
    base = task(created=NOW - 20 * 86400)
    assert clamp_window(base, 0, None, None, NOW, 300) == (horizon, NOW - 300, 'history_horizon', 'grace')
    assert clamp_window(base, 0, NOW - 3600, NOW - 1800, NOW, 300) == (NOW - 3600, NOW - 1800, 'after_time', 'before_time')
    created = task(created=NOW - 7200)
    assert clamp_window(created, 0, NOW - 86400, None, NOW, 300)[::2] == (NOW - 7200, 'created_at')
    updated = task(created=NOW - 86400, updatedAt=epoch_to_rfc3339(NOW - 600))
    assert clamp_window(updated, 0, NOW - 7200, None, NOW, 300)[::2] == (NOW - 600, 'updated_at')
    assert clamp_window(updated, 0, NOW - 7200, None, NOW, 300, ignore_updated_at=True)[::2] == (NOW - 7200, 'after_time')
    # A positive offset ends the window earlier; a negative one starts it later (runs start before their time).
    assert clamp_window(base, 600, None, None, NOW, 300)[1] == NOW - 900
    assert clamp_window(base, -600, None, None, NOW, 300)[0] == horizon + 600


# --------------------------------------------------------------------------- planning and filling

def test_the_missing_times_are_created_oldest_first_each_checked_just_before():
    client = FakeKapacitor()
    missing = seed_with_gap(client)
    results, totals = backfill(client).run([task()])
    entry = results[0]
    assert client.posts == [epoch_to_rfc3339(slot) for slot in missing]
    assert entry['outcome'] == 'backfilled' and [run['scheduled_for'] for run in entry['created']] == client.posts
    assert entry['missing'] == client.posts and entry['expected'] == entry['present'] + len(missing)
    # One listing of the window, then one check before each POST.
    assert client.lists == 1 + len(missing)
    assert totals['created'] == len(missing) and totals['backfilled'] == 1


def test_check_mode_posts_nothing_and_lists_the_missing_times():
    client = FakeKapacitor()
    missing = seed_with_gap(client)
    results, dummy = backfill(client, check_mode=True).run([task()])
    assert client.posts == [] and results[0]['outcome'] == 'would_backfill'
    assert results[0]['missing'] == [epoch_to_rfc3339(slot) for slot in missing]


def test_a_failed_run_stops_the_task_and_continue_on_error_goes_on():
    client = FakeKapacitor(script=['fail'])
    missing = seed_with_gap(client)
    entry = backfill(client).run([task()])[0][0]
    assert len(client.posts) == 1 and entry['outcome'] == 'failed'
    assert entry['created'][0]['status'] == 'failed'
    assert [item['scheduled_for'] for item in entry['not_created']] == [epoch_to_rfc3339(s) for s in missing[1:]]
    client = FakeKapacitor(script=['fail'])
    missing = seed_with_gap(client)
    entry = backfill(client, continue_on_error=True).run([task()])[0][0]
    assert len(client.posts) == len(missing) and entry['outcome'] == 'failed' and entry['not_created'] == []


def test_an_uncertain_post_is_resolved_by_listing_and_only_resent_when_nothing_appeared():
    client = FakeKapacitor(script=['lost', 'reset', 'ok'])
    missing = seed_with_gap(client)[:2]
    entry = backfill(client, before=missing[-1] + 1).run([task()])[0][0]
    # The first POST was acted on: not sent again. The second was not: sent again once.
    assert client.posts == [epoch_to_rfc3339(missing[0]), epoch_to_rfc3339(missing[1]), epoch_to_rfc3339(missing[1])]
    assert entry['outcome'] == 'backfilled' and len(entry['created']) == 2
    assert sum(1 for run in client.runs[TASK] if run.get('requestedAt')) == 2


def test_a_post_that_never_gets_an_answer_gives_up_after_four_sends():
    client = FakeKapacitor(script=['reset'] * 10)
    missing = seed_with_gap(client)
    entry = backfill(client).run([task()])[0][0]
    assert client.posts == [epoch_to_rfc3339(missing[0])] * 4
    assert entry['outcome'] == 'error' and 'sent 4 times' in entry['reason']
    assert len(entry['not_created']) == len(missing)


def test_a_time_another_job_filled_is_not_posted_again():
    client = FakeKapacitor(script=['race'])
    missing = seed_with_gap(client)
    entry = backfill(client).run([task()])[0][0]
    assert entry['not_created'][0]['scheduled_for'] == epoch_to_rfc3339(missing[0])
    assert 'another job' in entry['not_created'][0]['reason'] and len(entry['created']) == len(missing) - 1


def test_a_run_for_another_time_than_asked_stops_the_task():
    client = FakeKapacitor(script=['now'])
    seed_with_gap(client)
    entry = backfill(client).run([task()])[0][0]
    assert len(client.posts) == 1 and entry['outcome'] == 'error' and 'instead of' in entry['reason']


@pytest.mark.parametrize('changes, words', [
    ({'status': 'inactive'}, 'inactive'),
    ({'every': '1mo'}, 'calendar units'),
    ({'flux': 'import "pagerduty"\n'}, 'allow_side_effects'),
    ({'flux': 'import "influxdata/influxdb/tasks"\ntasks.lastSuccess(orTime: -1h)'}, 'tasks.lastSuccess'),
])
def test_tasks_that_must_not_be_backfilled_are_skipped_or_refused_without_a_request(changes, words):
    client = FakeKapacitor()
    seed_with_gap(client)
    entry = backfill(client).run([task(**changes)])[0][0]
    assert entry['outcome'] in ('skipped', 'refused') and words in entry['reason']
    assert client.posts == [] and client.lists == 0


@pytest.mark.parametrize('changes, named', [
    ({'flux': None, 'scriptID': '0c1d2e3f4a5b6c7d'}, 'the task runs the stored script 0c1d2e3f4a5b6c7d'),
    ({'flux': 'from(bucket: "b")', 'scriptID': '0c1d2e3f4a5b6c7d'}, 'the task runs the stored script 0c1d2e3f4a5b6c7d'),
    ({'flux': '  '}, 'the task object carries no Flux script'),
])
def test_a_task_without_its_script_is_refused_unless_side_effects_are_allowed(changes, named):
    # InfluxDB Cloud: a task that runs a stored script (scriptID) has no flux; its side effects cannot be checked.
    client = FakeKapacitor()
    missing = seed_with_gap(client)
    scriptless = task(**changes)
    if changes['flux'] is None:
        del scriptless['flux']
    entry = backfill(client).run([scriptless])[0][0]
    assert entry['outcome'] == 'refused' and named in entry['reason'] and 'allow_side_effects' in entry['reason']
    assert client.posts == [] and client.lists == 0
    entry = backfill(client, allow_side_effects=True).run([scriptless])[0][0]
    assert entry['outcome'] == 'backfilled' and len(client.posts) == len(missing)


def test_a_server_clock_behind_this_hosts_decides_which_times_are_past():
    # The server's clock is 40 minutes behind: its scheduler has not reached the slots of the last 40 minutes, so
    # they are not missing, and no manual run is made for them (it would move latestCompleted past them).
    client = FakeKapacitor()
    client.clock_behind = 2400
    missing = seed_with_gap(client, gap=(NOW - 2 * 3600, NOW - 3600))
    # The scheduler's runs stop an hour ago, as the server's clock has them.
    late = [epoch for epoch in (rfc3339_to_epoch(run['scheduledFor']) for run in client.runs[TASK]) if epoch > NOW - 3600]
    client.runs[TASK] = [run for run in client.runs[TASK] if rfc3339_to_epoch(run['scheduledFor']) <= NOW - 3600]
    runner = backfill(client)
    entry = runner.run([task()])[0][0]
    assert entry['outcome'] == 'backfilled' and runner.clock_behind == 2400
    assert [rfc3339_to_epoch(when) for when in client.posts] == [
        slot for slot in missing + late if slot < NOW - 2400 - 300]
    assert max(rfc3339_to_epoch(when) for when in client.posts) < NOW - 2400


def test_the_limits_refuse_and_never_truncate():
    client = FakeKapacitor()
    missing = seed_with_gap(client)
    entry = backfill(client, max_runs_per_task=len(missing) - 1).run([task()])[0][0]
    assert entry['outcome'] == 'refused' and client.posts == [] and len(entry['missing']) == len(missing)
    other = dict(task(), id='0a1b2c3d4e5f6790')
    for slot in missing:
        client.add(slot - 3 * 86400, task_id=other['id'])   # another task, with no run in the window at all
    results, totals = backfill(client, max_runs_total=len(missing), skip_history_check=True).run([task(), other])
    assert [entry['outcome'] for entry in results] == ['refused', 'refused'] and client.posts == []
    assert 'max_runs_total' in results[0]['reason'] and totals['refused'] == 2


def test_scheduler_runs_off_the_grid_refuse_the_task():
    client = FakeKapacitor()
    seed_with_gap(client)
    client.add(NOW - 2 * 3600 + 30)             # a scheduler run 30 s off the 10-minute grid
    client.add(NOW - 2 * 3600 + 90, manual=True)  # a manual run off the grid is fine
    entry = backfill(client).run([task()])[0][0]
    assert entry['outcome'] == 'refused' and 'not on its schedule' in entry['reason'] and client.posts == []


def test_the_history_check_refuses_a_task_whose_runs_are_not_listed():
    client = FakeKapacitor()
    # latestCompleted on the grid, inside the horizon, but no run listed for it.
    entry = backfill(client).run([task(latestCompleted=epoch_to_rfc3339(NOW - 600))])[0][0]
    assert entry['outcome'] == 'refused' and 'latestCompleted' in entry['reason']
    # lastRunStatus says it ran, nothing listed in 14 days.
    entry = backfill(client).run([task(lastRunStatus='success')])[0][0]
    assert entry['outcome'] == 'refused' and 'lastRunStatus' in entry['reason'] and client.posts == []
    # A whole window without runs is fine when runs outside it are listed (a long outage).
    client.add(NOW - 5 * 3600)
    entry = backfill(client, after=NOW - 4 * 3600, before=NOW - 3600).run([task(lastRunStatus='success')])[0][0]
    assert entry['outcome'] == 'backfilled' and len(entry['created']) == 17
    # skip_history_check turns it off.
    entry = backfill(FakeKapacitor(), skip_history_check=True).run([task(lastRunStatus='success')])[0][0]
    assert entry['outcome'] == 'backfilled'


# --------------------------------------------------------------------------- InfluxDB 2: the run is created at once

class FakeInfluxDB(FakeKapacitor):
    """InfluxDB 2 as the backfill meets it: a manual run answers 201 at once with the run ``scheduled``; it starts a
    second later on the fake clock, runs ``run_seconds`` and ends as the script's step says; a GET of it may answer
    404 for ``gone_seconds`` after its end. ``finished_before_post`` records, at each POST, whether every run created
    before had finished."""

    server_type = 'influxdb2'
    runs_block = False   # InfluxDB 2.2 and later

    def __init__(self, clock, script=(), run_seconds=4.0, gone_seconds=0.0):
        super().__init__(script)
        self.clock = clock
        self.run_seconds = run_seconds
        self.gone_seconds = gone_seconds
        self.fates = {}
        self.finished_before_post = []

    @staticmethod
    def horizon_seconds():
        return 3 * 86400

    def _status(self, run):
        if run['id'] not in self.fates:
            return run['status']
        start, end, final = self.fates[run['id']]
        return 'scheduled' if self.clock.now < start else 'started' if self.clock.now < end else final

    def list_runs_page(self, task_id, params):
        return [dict(run, status=self._status(run)) for run in super().list_runs_page(task_id, params)]

    def get_run(self, task_id, run_id):
        for run in self.runs.get(task_id, []):
            if run['id'] == run_id:
                end = self.fates.get(run_id, (0, 0))[1]
                if end <= self.clock.now < end + self.gone_seconds:
                    return None
                return dict(run, status=self._status(run))
        return None

    def get_task(self, task_id):
        return {'id': task_id, 'status': 'active'} if task_id in self.runs else None

    def force_run(self, task_id, scheduled_for, timeout):
        statuses = [self._status(run) for runs in self.runs.values() for run in runs]
        self.finished_before_post.append(all(status in ('success', 'failed') for status in statuses))
        self.posts.append(scheduled_for)
        step = self.script.pop(0) if self.script else 'ok'
        if step == 'inactive':
            return 400, None, 'failed to force run: inactive task'
        run = self.add(rfc3339_to_epoch(scheduled_for), 'scheduled', manual=True, task_id=task_id)
        if step == 'unscheduled':  # created, but the coordinator could not schedule it: it stays queued
            return 500, None, 'failed to force run: could not execute task run: failed to find permission for user'
        self.fates[run['id']] = (self.clock.now + 1, self.clock.now + 1 + self.run_seconds,
                                 'success' if step == 'ok' else 'failed')
        if step == 'timeout':  # the answer is lost; the run goes on and fails on its own
            self.clock.now += timeout
            raise AmbiguousRequest('Read timed out. (read timeout=%s)' % timeout, method='POST')
        return 201, dict(run), None


class FakeInfluxDB21(FakeKapacitor):
    """InfluxDB 2.0 or 2.1: a manual run is answered once it has finished, as on Kapacitor (a failed one with a
    500), and a client that hangs up cancels it; ``gets`` counts the reads of a single run."""

    server_type = 'influxdb2'
    runs_block = True

    def __init__(self, clock, script=()):
        super().__init__(script)
        self.clock = clock
        self.gets = 0

    @staticmethod
    def horizon_seconds():
        return 3 * 86400

    def get_task(self, task_id):
        return {'id': task_id, 'status': 'active'} if task_id in self.runs else None

    def get_run(self, task_id, run_id):
        self.gets += 1
        return next((dict(run) for run in self.runs.get(task_id, []) if run['id'] == run_id), None)

    def force_run(self, task_id, scheduled_for, timeout):
        if self.script and self.script[0] == 'timeout':   # the client gave up first: the run is cancelled
            self.script.pop(0)
            self.posts.append(scheduled_for)
            self.clock.now += timeout
            self.add(rfc3339_to_epoch(scheduled_for), 'failed', manual=True, task_id=task_id)
            raise AmbiguousRequest('Read timed out. (read timeout=%s)' % timeout, method='POST')
        return super().force_run(task_id, scheduled_for, timeout)


def influx_backfill(client, **options):
    options.setdefault('after', NOW - 3 * 3600)
    options.setdefault('before', None)
    return Backfill(client, now=NOW, grace=300, clock=client.clock, sleep=client.clock.sleep, **options)


def test_influxdb_each_created_run_is_read_to_its_end_before_the_next_post():
    client = FakeInfluxDB(FakeClock(), gone_seconds=2.0)
    missing = seed_with_gap(client)
    entry = influx_backfill(client).run([task()])[0][0]
    assert client.posts == [epoch_to_rfc3339(slot) for slot in missing]
    assert client.finished_before_post == [True] * len(missing)
    assert entry['outcome'] == 'backfilled' and [run['status'] for run in entry['created']] == ['success'] * len(missing)
    assert client.clock.sleeps[0] == 0.5 and max(client.clock.sleeps) <= 2.0


def test_influxdb_a_run_that_fails_later_stops_the_task():
    client = FakeInfluxDB(FakeClock(), script=['fail'])
    missing = seed_with_gap(client)
    entry = influx_backfill(client).run([task()])[0][0]
    assert len(client.posts) == 1 and entry['outcome'] == 'failed'
    assert entry['created'][0]['status'] == 'failed'
    assert len(entry['not_created']) == len(missing) - 1 and 'first failed' in entry['not_created'][0]['reason']


def test_influxdb_a_run_unfinished_at_run_timeout_stops_the_task():
    client = FakeInfluxDB(FakeClock(), run_seconds=600.0)
    missing = seed_with_gap(client)
    entry = influx_backfill(client, run_timeout=20.0).run([task()])[0][0]
    assert len(client.posts) == 1 and entry['created'][0]['status'] == 'started'
    assert 'run_timeout' in entry['created'][0]['error'] and entry['outcome'] == 'failed'
    assert len(entry['not_created']) == len(missing) - 1


def test_influxdb_a_task_deactivated_during_the_call_is_skipped_with_the_reason():
    client = FakeInfluxDB(FakeClock(), script=['ok', 'inactive'])
    missing = seed_with_gap(client)
    entry = influx_backfill(client).run([task()])[0][0]
    assert len(client.posts) == 2 and len(entry['created']) == 1
    assert entry['outcome'] == 'skipped' and 'failed to force run: inactive task' in entry['reason']
    assert len(entry['not_created']) == len(missing) - 1


def test_influxdb_the_window_stops_at_its_own_horizon():
    client = FakeInfluxDB(FakeClock())
    entry = influx_backfill(client, after=NOW - 10 * 86400, skip_history_check=True).run(
        [task(created=NOW - 20 * 86400)])[0][0]
    assert entry['window']['after_limited_by'] == 'history_horizon'
    assert entry['window']['after_time'] == epoch_to_rfc3339(NOW - 3 * 86400 + HISTORY_MARGIN)


def test_influxdb_does_not_refuse_a_task_that_calls_tasks_last_success():
    client = FakeInfluxDB(FakeClock())
    missing = seed_with_gap(client)
    flux = 'import "influxdata/influxdb/tasks"\nrange(start: tasks.lastSuccess(orTime: -1h))'
    entry = influx_backfill(client).run([task(flux=flux)])[0][0]
    assert entry['outcome'] == 'backfilled' and len(client.posts) == len(missing)


def test_influxdb_a_created_run_that_cannot_be_read_stops_the_task_with_an_error_naming_it():
    client = FakeInfluxDB(FakeClock())
    missing = seed_with_gap(client)

    def failing(task_id, run_id):
        raise RequestError('HTTP 500: internal error', method='GET', status=500)
    client.get_run = failing
    entry = influx_backfill(client).run([task()])[0][0]
    assert len(client.posts) == 1 and entry['outcome'] == 'error'
    assert entry['created'][0]['run_id'] in entry['reason'] and 'HTTP 500' in entry['created'][0]['error']
    assert [item['scheduled_for'] for item in entry['not_created']] == [epoch_to_rfc3339(slot) for slot in missing[1:]]


def test_influxdb_a_created_run_missing_for_longer_than_a_moment_stops_the_task_long_before_run_timeout():
    client = FakeInfluxDB(FakeClock(), gone_seconds=10000.0)
    missing = seed_with_gap(client)
    entry = influx_backfill(client, run_timeout=1800.0).run([task()])[0][0]
    run_id = entry['created'][0]['run_id']
    assert len(client.posts) == 1 and entry['outcome'] == 'error'
    assert 'InfluxDB no longer finds run %s' % run_id in entry['reason']
    assert client.clock.now - 1000.0 <= 1 + 4.0 + MISSING_LIMIT + FOLLOW_MAX
    assert len(entry['not_created']) == len(missing) - 1


def test_influxdb_a_task_deleted_while_its_created_run_is_followed_is_named():
    client = FakeInfluxDB(FakeClock(), run_seconds=600.0)
    seed_with_gap(client)

    def deleted(task_id, run_id):
        client.runs.pop(task_id, None)
        return None
    client.get_run = deleted
    entry = influx_backfill(client, run_timeout=1800.0).run([task()])[0][0]
    assert entry['outcome'] == 'error' and 'task %s not found' % TASK in entry['reason']
    assert client.clock.now - 1000.0 <= 1 + MISSING_LIMIT + FOLLOW_MAX


def test_influxdb_a_500_could_not_execute_task_run_stops_the_task_naming_the_queued_run_without_waiting():
    client = FakeInfluxDB(FakeClock(), script=['unscheduled'])
    missing = seed_with_gap(client)
    entry = influx_backfill(client, run_timeout=1800.0).run([task()])[0][0]
    queued = client.runs[TASK][-1]
    assert len(client.posts) == 1 and entry['outcome'] == 'error'
    assert 'HTTP 500: failed to force run: could not execute task run' in entry['reason']
    assert 'created run %s (scheduled)' % queued['id'] in entry['reason'] and client.clock.now - 1000.0 < 5.0
    assert 'without scheduling it' in entry['reason']  # the client's hint, the same words as for a retry
    assert len(entry['not_created']) == len(missing)


def test_influxdb_2_1_a_manual_run_is_done_when_answered_and_its_failure_is_a_failed_run_not_a_refusal():
    client = FakeInfluxDB21(FakeClock())
    missing = seed_with_gap(client)
    entry = influx_backfill(client).run([task()])[0][0]
    assert entry['outcome'] == 'backfilled' and [run['status'] for run in entry['created']] == ['success'] * len(missing)
    assert client.gets == 0   # the 201 came once the run had succeeded: nothing to read
    client = FakeInfluxDB21(FakeClock(), script=['fail'])
    missing = seed_with_gap(client)
    entry = influx_backfill(client).run([task()])[0][0]
    assert len(client.posts) == 1 and entry['outcome'] == 'failed' and entry['created'][0]['status'] == 'failed'
    assert len(entry['not_created']) == len(missing) - 1


def test_a_500_while_another_jobs_run_is_under_way_records_this_requests_failed_run_at_once():
    client = FakeInfluxDB21(FakeClock(), script=['fail+other'])   # blocking, as Kapacitor: its clock is the test's
    seed_with_gap(client)
    entry = influx_backfill(client, run_timeout=1800.0).run([task()])[0][0]
    ours = client.runs[TASK][-2]
    assert entry['outcome'] == 'failed' and client.clock.now - 1000.0 < 5
    assert [(run['run_id'], run['status']) for run in entry['created']] == [(ours['id'], 'failed')]


def test_a_500_for_a_manual_run_that_never_started_stops_the_task_at_once():
    client = FakeInfluxDB21(FakeClock(), script=['unstarted'])   # blocking, as Kapacitor: its clock is the test's
    seed_with_gap(client)
    entry = influx_backfill(client, run_timeout=1800.0).run([task()])[0][0]
    assert len(client.posts) == 1 and entry['outcome'] == 'error' and client.clock.now - 1000.0 < 5
    assert 'is still scheduled: the server could not start it' in entry['reason']


def test_influxdb_2_1_a_manual_run_post_timed_out_says_the_run_was_cancelled():
    client = FakeInfluxDB21(FakeClock(), script=['timeout'])
    seed_with_gap(client)
    entry = influx_backfill(client, run_timeout=30.0).run([task()])[0][0]
    assert len(client.posts) == 1 and entry['created'][0]['status'] == 'failed'
    assert 'InfluxDB cancels a run whose client hangs up' in entry['created'][0]['error']


def test_influxdb_a_manual_run_post_timed_out_records_the_run_and_never_says_it_was_cancelled():
    client = FakeInfluxDB(FakeClock(), script=['timeout'])
    seed_with_gap(client)
    entry = influx_backfill(client, run_timeout=30.0).run([task()])[0][0]
    assert len(client.posts) == 1 and entry['created'][0]['status'] == 'failed'
    assert 'cancel' not in (entry['created'][0]['error'] or '') and 'cancel' not in entry['reason']
