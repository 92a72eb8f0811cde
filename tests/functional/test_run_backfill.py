# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""kapacitor_task_run_backfill against the simulator, whose scheduler puts runs on each task's real grid with gaps
where an outage is declared. Every effect is read from the simulator's record (``/_sim/state``, ``/_sim/stats``,
``/_sim/faults``), never from the module's report alone; the grids are computed here by their own formulas
(docs/backfill.md), not by the collection's code."""

import calendar
import re
import time

import pytest

from ansible_collections.tickstack.kapacitor.plugins.module_utils._runs import id_created_at, rfc3339_to_epoch
from ansible_collections.tickstack.kapacitor.tests.functional.support import (
    INFLUX_ORG_ID,
    INFLUX_TOKEN,
    run_module,
    start_simulator,
)

# Module logic against the simulator, the same on every ansible-core line: CI runs it on the tool line.
pytestmark = pytest.mark.line_independent

BACKFILL = 'kapacitor_task_run_backfill'
FORCE_ROUTE = 'POST /api/v2/tasks/:id/runs'
GO_ZERO = 62135596800          # seconds from 0001-01-01T00:00:00Z to the Unix epoch
MINUTE, HOUR, DAY = 60, 3600, 86400


def rfc(epoch):
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(epoch))


def epoch_of(text):
    return calendar.timegm(time.strptime(text, '%Y-%m-%dT%H:%M:%SZ'))


def backfill(sim, check_mode=False, **args):
    args.setdefault('url', sim.url)
    return run_module(BACKFILL, args, check_mode=check_mode)


def runs_of(sim, task_id):
    """Every run the simulator holds for the task: ``[(scheduled epoch, manual, status)]``."""
    return [(epoch_of(run['scheduled_for']), run['manual'], run['status'])
            for run in sim.state()['runs'] if run['task_id'] == task_id]


def manual_runs(sim, task_id):
    return sorted(when for when, manual, dummy in runs_of(sim, task_id) if manual)


def every_slots(period, after, before):
    """The ``every`` grid counted from Go's zero time: S with after < S < before."""
    first = after - (after + GO_ZERO) % period + period
    return list(range(first, before, period))


def load_task(sim, **task):
    task.setdefault('name', 'rollup')
    return sim.load({'tasks': [task]})['tasks'][0]['id']


def outage_task(sim, now, every='7m', offset=None, cron=None, **extra):
    """A task scheduled for 6 hours with an outage from 3 hours to 2 hours ago; returns (task ID, down, up)."""
    down, up = now - 3 * HOUR, now - 2 * HOUR
    task = dict(schedule_runs={'from': rfc(now - 6 * HOUR), 'outages': [{'from': rfc(down), 'to': rfc(up)}]}, **extra)
    if cron:
        task['cron'] = cron
    else:
        task['every'] = every
    if offset:
        task['offset'] = offset
    return load_task(sim, **task), down, up


@pytest.mark.parametrize('every, period, offset, offset_seconds', [
    ('7m', 7 * MINUTE, None, 0),             # does not divide a day: not the Unix-epoch grid (10:06, 10:13, ...)
    ('5m', 5 * MINUTE, '2m', 2 * MINUTE),    # an offset delays the run; its scheduledFor stays on the grid
])
def test_an_outage_gap_of_an_every_task_is_filled_exactly(sim, every, period, offset, offset_seconds):
    now = int(time.time())
    task_id, down, up = outage_task(sim, now, every=every, offset=offset)
    before = runs_of(sim, task_id)
    scheduler = {when for when, manual, dummy in before}
    assert all((when + GO_ZERO) % period == 0 for when in scheduler)
    # The slots the outage swallowed (S + offset > down, S <= up), by this test's own arithmetic.
    gap = every_slots(period, down - offset_seconds, up + 1)
    assert gap and not scheduler & set(gap)

    result = backfill(sim, after_time='5h')
    assert result.rc == 0, result
    after = runs_of(sim, task_id)
    # Out of band: exactly one manual run per missed slot, nothing else created, every slot of the window now has a run.
    assert manual_runs(sim, task_id) == gap
    assert len(after) == len(before) + len(gap)
    assert sim.requests_to(FORCE_ROUTE) == len(gap)
    assert all(status == 'success' for dummy, manual, status in after if manual)
    covered = {when for when, dummy, dummy in after}
    assert set(every_slots(period, now - 5 * HOUR, now - offset_seconds - 10 * MINUTE)) <= covered
    entry = result['tasks'][0]
    assert entry['outcome'] == 'backfilled' and result['changed'] is True
    assert [created['scheduled_for'] for created in entry['created']] == [rfc(slot) for slot in gap]

    # A second call creates nothing.
    sim.reset_stats()
    again = backfill(sim, after_time='5h')
    assert again.rc == 0 and again['changed'] is False, again
    assert sim.requests_to(FORCE_ROUTE) == 0 and runs_of(sim, task_id) == after
    assert again['tasks'][0]['outcome'] == 'nothing_missing'


def test_a_cron_task_with_an_offset_is_filled_on_its_cron_times(sim):
    now = int(time.time())
    task_id, down, up = outage_task(sim, now, cron='*/10 * * * *', offset='1m')
    result = backfill(sim, after_time='5h')
    assert result.rc == 0, result
    gap = list(range(down - 60 - (down - 60) % 600 + 600, up + 1, 600))
    assert manual_runs(sim, task_id) == gap and sim.requests_to(FORCE_ROUTE) == len(gap)


def test_a_weekly_task_runs_on_mondays_and_the_missed_monday_is_backfilled(sim):
    now = int(time.time())
    # The latest Monday 00:00 UTC that is at least a day old and inside the horizon (0001-01-01 was a Monday).
    monday = now - DAY - (now - DAY + GO_ZERO) % (7 * DAY)
    assert time.gmtime(monday).tm_wday == 0
    task_id = load_task(sim, every='1w', created_at=rfc(now - 13 * DAY),
                        schedule_runs={'from': rfc(now - 13 * DAY),
                                       'outages': [{'from': rfc(monday - HOUR), 'to': rfc(monday + HOUR)}]})
    before = runs_of(sim, task_id)
    assert all(time.gmtime(when).tm_wday == 0 for when, dummy, dummy in before)
    result = backfill(sim, after_time='13d')
    assert result.rc == 0, result
    assert manual_runs(sim, task_id) == [monday] and sim.requests_to(FORCE_ROUTE) == 1


def test_check_mode_lists_exactly_the_missing_times_and_creates_nothing(sim):
    now = int(time.time())
    task_id, down, up = outage_task(sim, now, every='7m')
    before = sim.state()
    result = backfill(sim, check_mode=True, after_time='5h')
    assert result.rc == 0 and result['changed'] is True, result
    assert sim.state() == before and sim.requests_to(FORCE_ROUTE) == 0
    gap = every_slots(7 * MINUTE, down, up + 1)
    entry = result['tasks'][0]
    assert entry['outcome'] == 'would_backfill' and entry['missing'] == [rfc(slot) for slot in gap]
    assert entry['created'] == [] and result['totals']['would_backfill'] == 1


def test_a_failed_backfilled_run_stops_the_task_unless_continue_on_error(sim):
    now = int(time.time())
    task_id, down, up = outage_task(sim, now, every='15m', retry_outcomes=['fail'], retry_error='influxdb is down')
    gap = every_slots(15 * MINUTE, down, up + 1)
    assert len(gap) >= 3
    result = backfill(sim, after_time='5h')
    assert result.rc == 0, result
    # Out of band: one manual run (the oldest), which failed; nothing after it.
    assert manual_runs(sim, task_id) == gap[:1] and sim.requests_to(FORCE_ROUTE) == 1
    assert [status for dummy, manual, status in runs_of(sim, task_id) if manual] == ['failed']
    entry = result['tasks'][0]
    assert entry['outcome'] == 'failed' and 'influxdb is down' in entry['created'][0]['error']
    assert [item['scheduled_for'] for item in entry['not_created']] == [rfc(slot) for slot in gap[1:]]
    assert result['changed'] is True

    more = backfill(sim, after_time='5h', continue_on_error=True)
    assert more.rc == 0, more
    # The failed run counts as present: the rest are created, each once.
    assert manual_runs(sim, task_id) == gap and sim.requests_to(FORCE_ROUTE) == len(gap)


def influx_backfill(sim, **args):
    return backfill(sim, token=INFLUX_TOKEN, org_id=INFLUX_ORG_ID, **args)


def manual_records(sim, task_id):
    """The simulator's record of the task's manual runs, oldest first."""
    return sorted((run for run in sim.state()['runs'] if run['task_id'] == task_id and run['manual']),
                  key=lambda run: run['id'])


@pytest.mark.flavors('influxdb2')
def test_influxdb_fills_the_gap_one_finished_run_after_another_and_skips_an_inactive_task(sim):
    now = int(time.time())
    down, up = now - 3 * HOUR, now - 2 * HOUR
    schedule = {'from': rfc(now - 6 * HOUR), 'outages': [{'from': rfc(down), 'to': rfc(up)}]}
    loaded = sim.load({'tasks': [{'name': 'rollup', 'every': '15m', 'run_seconds': 0.5, 'schedule_runs': schedule},
                                 {'name': 'paused', 'every': '15m', 'status': 'inactive', 'schedule_runs': schedule}]})
    task_id, paused_id = (task['id'] for task in loaded['tasks'])
    gap = every_slots(15 * MINUTE, down, up + 1)
    result = influx_backfill(sim, after_time='5h', task_status='any')
    assert result.rc == 0, result
    assert result['server']['type'] == 'influxdb2'
    # Out of band: one manual run per missed slot, each created only once the one before had finished, all succeeded.
    records = manual_records(sim, task_id)
    assert [epoch_of(run['scheduled_for']) for run in records] == gap and sim.requests_to(FORCE_ROUTE) == len(gap)
    assert all(run['status'] == 'success' for run in records)
    for earlier, later in zip(records, records[1:]):
        assert id_created_at(later['id']) >= rfc3339_to_epoch(earlier['finished_at'])
    assert manual_records(sim, paused_id) == []
    outcomes = {entry['task_id']: entry for entry in result['tasks']}
    assert outcomes[task_id]['outcome'] == 'backfilled'
    assert [run['status'] for run in outcomes[task_id]['created']] == ['success'] * len(gap)
    assert outcomes[paused_id]['outcome'] == 'skipped' and 'inactive' in outcomes[paused_id]['reason']

    sim.reset_stats()
    again = influx_backfill(sim, after_time='5h', task_status='any')
    assert again.rc == 0 and again['changed'] is False, again
    assert sim.requests_to(FORCE_ROUTE) == 0 and manual_records(sim, task_id) == records


@pytest.mark.flavors('influxdb2')
def test_influxdb_a_backfilled_run_that_fails_after_the_201_stops_the_task(sim):
    assert_a_failed_run_stops_the_task_on_influxdb(sim)


def test_influxdb_2_1_answers_a_manual_run_that_failed_with_a_500_and_the_failure_stops_the_task():
    # InfluxDB 2.0 and 2.1 answer once the run has finished; a failed one is a 500 "could not execute task run", which
    # on 2.2 and later would mean that the run was never scheduled.
    sim = start_simulator('--influx-version', 'v2.1.1', flavor='influxdb2')
    try:
        assert_a_failed_run_stops_the_task_on_influxdb(sim)
    finally:
        sim.process.stop()


def assert_a_failed_run_stops_the_task_on_influxdb(sim):
    now = int(time.time())
    task_id, down, up = outage_task(sim, now, every='15m', run_seconds=0.5, retry_outcomes=['fail'],
                                    retry_error='influxdb is down')
    gap = every_slots(15 * MINUTE, down, up + 1)
    result = influx_backfill(sim, after_time='5h')
    assert result.rc == 0, result
    records = manual_records(sim, task_id)
    assert [epoch_of(run['scheduled_for']) for run in records] == gap[:1] and records[0]['status'] == 'failed'
    assert sim.requests_to(FORCE_ROUTE) == 1
    entry = result['tasks'][0]
    assert entry['outcome'] == 'failed' and entry['created'][0]['status'] == 'failed'
    assert 'influxdb is down' in entry['created'][0]['error']
    assert [item['scheduled_for'] for item in entry['not_created']] == [rfc(slot) for slot in gap[1:]]


SIDE_EFFECT_FLUX = """import "slack"
option task = {name: "notify", every: 10m}
from(bucket: "b") |> range(start: -task.every) |> slack.message(url: "https://slack.example", channel: "#a", text: "x", color: "good")
"""
LAST_SUCCESS_FLUX = """import t "influxdata/influxdb/tasks"
option task = {name: "incremental", every: 10m}
from(bucket: "b") |> range(start: t.lastSuccess(orTime: -task.every)) |> to(bucket: "c")
"""
SQL_FLUX = """import "sql"
option task = {name: "export", every: 10m}
from(bucket: "b") |> range(start: -task.every) |> sql.to(driverName: "postgres", dataSourceName: "x", table: "t")
"""


@pytest.mark.parametrize('flux, words', [(SIDE_EFFECT_FLUX, 'imports "slack"'), (SQL_FLUX, 'calls sql.to()')])
def test_a_task_with_side_effects_is_refused_unless_allowed(sim, flux, words):
    now = int(time.time())
    task_id, down, up = outage_task(sim, now, flux=flux)
    result = backfill(sim, after_time='5h')
    assert result.rc == 0 and result['changed'] is False, result
    assert sim.requests_to(FORCE_ROUTE) == 0 and manual_runs(sim, task_id) == []
    entry = result['tasks'][0]
    assert entry['outcome'] == 'refused' and words in entry['reason'] and 'allow_side_effects' in entry['reason']
    assert any('refused' in text for text in result.warning_texts)

    allowed = backfill(sim, after_time='5h', allow_side_effects=True)
    assert allowed.rc == 0, allowed
    assert manual_runs(sim, task_id) == every_slots(10 * MINUTE, down, up + 1)


def test_influxdb_cloud_a_task_that_runs_a_stored_script_is_refused_unless_allowed():
    # Its task object has scriptID and no flux: nothing tells what a backfilled run would do.
    sim = start_simulator('--influx-version', '', flavor='influxdb2')   # Cloud: the only one with stored scripts
    try:
        now = int(time.time())
        task_id, down, up = outage_task(sim, now, every='15m', script_id='0d0d0d0d0d0d0d0d')
        result = influx_backfill(sim, after_time='5h')
        assert result.rc == 0 and result['changed'] is False, result
        assert sim.requests_to(FORCE_ROUTE) == 0 and manual_runs(sim, task_id) == []
        entry = result['tasks'][0]
        assert entry['outcome'] == 'refused' and 'stored script 0d0d0d0d0d0d0d0d' in entry['reason'], entry
        allowed = influx_backfill(sim, after_time='5h', allow_side_effects=True)
        assert allowed.rc == 0, allowed
        assert manual_runs(sim, task_id) == every_slots(15 * MINUTE, down, up + 1)
    finally:
        sim.process.stop()


def test_a_server_whose_clock_is_behind_gets_no_run_for_a_time_it_has_not_reached():
    # The server's clock is 20 minutes behind this host's: its scheduler ran every slot up to its own now. The slots
    # of the last 20 minutes by this host's clock are still to come for it: a manual run for one would be a run of the
    # future, and would move latestCompleted past slots its scheduler then skips.
    sim = start_simulator('--clock-offset', '-1200')
    try:
        server_now = int(time.time()) - 1200
        task_id, down, up = outage_task(sim, server_now, every='5m')
        result = backfill(sim, after_time='5h')
        assert result.rc == 0, result
        assert manual_runs(sim, task_id) == every_slots(5 * MINUTE, down, up + 1)
        # The Date header has whole seconds: a second either way.
        assert any(re.search(r"Kapacitor's clock \(or that of a proxy in front of it\) is (1199|120[012]) s behind this host's",
                             text)
                   for text in result.warning_texts), result.warning_texts
    finally:
        sim.process.stop()


@pytest.mark.flavors('kapacitor', 'influxdb2')
def test_a_real_restart_gap_is_filled_while_the_live_scheduler_goes_on_and_no_slot_gets_two_runs(sim):
    # The server's scheduler runs the task every 2 s, is down for about 6 s, restarts (skipping those slots, as
    # Kapacitor and InfluxDB do) and keeps going while the module backfills: the gap gets one run per slot, and no
    # slot the scheduler ran or runs meanwhile gets a second one.
    now = int(time.time())
    task_id = load_task(sim, every='2s', run_seconds=0.2, live=True, schedule_runs={'from': rfc(now - 60)})
    time.sleep(2.5)
    sim.scheduler(False)
    stopped = time.time()
    time.sleep(6)
    sim.scheduler(True)
    restarted = time.time()
    time.sleep(8)     # past grace, and a few slots after the restart: the window holds both sides of the gap
    args = dict(after_time='2m', grace='3s')
    result = influx_backfill(sim, **args) if sim.flavor == 'influxdb2' else backfill(sim, **args)
    assert result.rc == 0, result
    # Every slot the module judged (before its now minus grace), read once the scheduler's last run there ended.
    window = result['tasks'][0]['window']
    assert window['before_limited_by'] == 'grace', window
    before = int(rfc3339_to_epoch(window['before_time']))
    time.sleep(0.5)
    runs = [(when, manual) for when, manual, dummy in runs_of(sim, task_id) if when < before]
    slots = sorted(when for when, dummy in runs)
    assert len(slots) == len(set(slots)), sorted(runs)                     # no slot has two runs
    assert slots == every_slots(2, slots[0] - 1, before), sorted(runs)     # and none is missing, to the window's end
    assert any(when > restarted and not is_manual for when, is_manual in runs), sorted(runs)   # the scheduler's, after
    manual = sorted(when for when, is_manual in runs if is_manual)
    gap = every_slots(2, int(stopped) - 2, int(restarted) + 1)
    assert manual and set(manual) <= set(gap), (manual, gap)              # only the restart's gap was filled
    assert result['tasks'][0]['outcome'] == 'backfilled' and len(result['tasks'][0]['created']) == len(manual)


def test_a_task_that_calls_tasks_last_success_is_refused(sim):
    now = int(time.time())
    task_id, dummy, dummy = outage_task(sim, now, flux=LAST_SUCCESS_FLUX)
    result = backfill(sim, after_time='5h', allow_side_effects=True)
    assert result.rc == 0, result
    assert sim.requests_to(FORCE_ROUTE) == 0 and manual_runs(sim, task_id) == []
    assert result['tasks'][0]['outcome'] == 'refused' and 'tasks.lastSuccess' in result['tasks'][0]['reason']


def test_max_runs_per_task_refuses_rather_than_truncates(sim):
    now = int(time.time())
    task_id, down, up = outage_task(sim, now, every='7m')
    missing = len(every_slots(7 * MINUTE, down, up + 1))
    result = backfill(sim, after_time='5h', max_runs_per_task=missing - 1)
    assert result.rc == 0, result
    assert sim.requests_to(FORCE_ROUTE) == 0 and manual_runs(sim, task_id) == []
    entry = result['tasks'][0]
    assert entry['outcome'] == 'refused' and 'max_runs_per_task (%d)' % (missing - 1) in entry['reason']
    assert len(entry['missing']) == missing


def test_max_runs_total_refuses_every_task(sim):
    now = int(time.time())
    down, up = now - 3 * HOUR, now - 2 * HOUR
    schedule = {'from': rfc(now - 6 * HOUR), 'outages': [{'from': rfc(down), 'to': rfc(up)}]}
    ids = [task['id'] for task in sim.load({'tasks': [
        {'name': 'a', 'every': '15m', 'schedule_runs': schedule},
        {'name': 'b', 'every': '20m', 'schedule_runs': schedule}]})['tasks']]
    total = len(every_slots(15 * MINUTE, down, up + 1)) + len(every_slots(20 * MINUTE, down, up + 1))
    result = backfill(sim, after_time='5h', max_runs_total=total - 1)
    assert result.rc == 0, result
    assert sim.requests_to(FORCE_ROUTE) == 0 and all(manual_runs(sim, task_id) == [] for task_id in ids)
    assert [entry['outcome'] for entry in result['tasks']] == ['refused', 'refused']
    assert 'max_runs_total (%d)' % (total - 1) in result['tasks'][0]['reason']
    exact = backfill(sim, after_time='5h', max_runs_total=total)
    assert exact.rc == 0 and sim.requests_to(FORCE_ROUTE) == total, exact


def test_a_task_whose_run_history_is_off_is_refused(sim):
    now = int(time.time())
    task_id, dummy, dummy = outage_task(sim, now, every='10m', history=False)
    result = backfill(sim, after_time='5h')
    assert result.rc == 0, result
    assert sim.requests_to(FORCE_ROUTE) == 0 and manual_runs(sim, task_id) == []
    entry = result['tasks'][0]
    assert entry['outcome'] == 'refused' and 'run history' in entry['reason']


def test_scheduler_runs_off_the_computed_grid_refuse_the_task(sim):
    now = int(time.time())
    shifted = sim.load({'tasks': [{'name': 'shifted', 'every': '10m', 'schedule_runs': {
        'from': rfc(now - 6 * HOUR), 'grid_shift_seconds': 30,
        'outages': [{'from': rfc(now - 3 * HOUR), 'to': rfc(now - 2 * HOUR)}]}}]})['tasks'][0]['id']
    result = backfill(sim, after_time='5h')
    assert result.rc == 0, result
    assert sim.requests_to(FORCE_ROUTE) == 0 and manual_runs(sim, shifted) == []
    entry = result['tasks'][0]
    assert entry['outcome'] == 'refused' and 'not on its schedule' in entry['reason']


def test_inactive_and_unschedulable_tasks_are_skipped(sim):
    ids = [task['id'] for task in sim.load({'tasks': [
        {'name': 'off', 'every': '10m', 'status': 'inactive', 'created_at': '-3h'},
        {'name': 'monthly', 'every': '1mo', 'created_at': '-3h'}]})['tasks']]
    result = backfill(sim, after_time='2h', task_status='any')
    assert result.rc == 0, result
    assert sim.requests_to(FORCE_ROUTE) == 0
    reasons = {entry['task_name']: (entry['outcome'], entry['reason']) for entry in result['tasks']}
    assert reasons['off'][0] == 'skipped' and 'inactive' in reasons['off'][1]
    assert reasons['monthly'][0] == 'skipped' and 'calendar units' in reasons['monthly'][1]
    assert all(manual_runs(sim, task_id) == [] for task_id in ids)


def test_the_window_is_clamped_to_created_at_and_updated_at(sim):
    now = int(time.time())
    # Created 4 hours ago, updated 90 minutes ago; no run at all since the scheduler was down all the time.
    task_id = load_task(sim, every='30m', created_at=rfc(now - 4 * HOUR), updated_at=rfc(now - 90 * MINUTE))
    result = backfill(sim, after_time='6h')
    assert result.rc == 0, result
    assert manual_runs(sim, task_id) == every_slots(30 * MINUTE, now - 90 * MINUTE, now - 5 * MINUTE)
    assert result['tasks'][0]['window']['after_limited_by'] == 'updated_at'
    wider = backfill(sim, after_time='6h', ignore_updated_at=True)
    assert wider.rc == 0 and wider['tasks'][0]['window']['after_limited_by'] == 'created_at', wider
    assert manual_runs(sim, task_id) == every_slots(30 * MINUTE, now - 4 * HOUR, now - 5 * MINUTE)


def test_a_post_that_never_gets_an_answer_is_not_resent_blindly(sim):
    now = int(time.time())
    task_id, dummy, dummy = outage_task(sim, now, every='30m')
    sim.faults(reset_ratio=1.0, routes=[FORCE_ROUTE])
    result = backfill(sim, after_time='5h')
    # Each send was reset before Kapacitor acted; the module listed the time after each and gave up after 4 sends.
    assert result.rc != 0 and result['tasks'][0]['outcome'] == 'error', result
    assert 'sent 4 times' in result['msg']
    assert sim.stats()['faults_injected'].get('reset') == 4 and manual_runs(sim, task_id) == []


@pytest.mark.parametrize('args, words', [
    ({}, 'after_time'),
    ({'after_time': 'yesterday'}, "after_time 'yesterday'"),
    ({'after_time': '5h', 'before_time': '6h'}, 'must be later than after_time'),
    ({'after_time': '5h', 'grace': 'soon'}, "grace 'soon'"),
    ({'after_time': '5h', 'max_runs_per_task': 0}, 'max_runs_per_task must be 1 or more'),
    ({'after_time': '5h', 'task_id': 'cpu'}, "task_id 'cpu' is not a Kapacitor ID"),
    ({'after_time': '5h', 'concurrency': 0}, 'concurrency must be between 1 and 100'),
])
def test_bad_input_is_named_and_nothing_is_sent(sim, args, words):
    outage_task(sim, int(time.time()))
    sim.reset_stats()
    result = backfill(sim, **args)
    assert result.rc != 0 and words in result['msg'] and 'Traceback' not in result.stderr, result
    assert sim.stats()['requests_total'] == 0
