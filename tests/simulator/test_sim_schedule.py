"""Scheduler-created runs on a task's real grid, outages, task times, and the manual-run body (docs/simulator.md).

The expected times here are worked out by hand (or with datetime arithmetic from 0001-01-01), not with the
simulator's own schedule code.
"""

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from sim_support import TASKS, assert_error, wait_for

TASK_ID = '0a1b2c3d4e5f6789'
UTC = timezone.utc
YEAR_ONE = datetime(1, 1, 1, tzinfo=UTC)


def scheduled(client, task_id=TASK_ID):
    """Every run the simulator holds for the task, read out of band: (scheduledFor, run) sorted."""
    return sorted(((run['scheduled_for'], run) for run in client.state_runs(task_id)), key=lambda pair: (pair[0], pair[1]['id']))


def scheduled_times(client, task_id=TASK_ID):
    return [text for text, dummy in scheduled(client, task_id)]


def task_json(client, task_id=TASK_ID):
    response = client.get('%s/%s' % (TASKS, task_id))
    assert response.status_code == 200, response.text
    return response.json()


def load(make_sim, **task):
    task.setdefault('id', TASK_ID)
    task.setdefault('name', 'sched')
    return make_sim({'tasks': [task]})


def parse(text):
    return datetime.strptime(text, '%Y-%m-%dT%H:%M:%SZ').replace(tzinfo=UTC)


def parse_nanos(text):
    """An RFC3339Nano UTC time to datetime (microseconds kept)."""
    head, dummy, frac = text.rstrip('Z').partition('.')
    return parse(head + 'Z') + timedelta(microseconds=int((frac + '000000')[:6]))


def rfc(moment):
    return moment.strftime('%Y-%m-%dT%H:%M:%SZ')


def test_every_7m_counts_from_year_one_not_the_unix_epoch(make_sim):
    dummy, client = load(make_sim, every='7m', schedule_runs={'from': '2024-05-01T10:00:00Z', 'to': '2024-05-01T10:30:00Z'})
    # 10:06 is a multiple of 7 minutes after 0001-01-01T00:00Z; a Unix-epoch grid would give 10:07, 10:14, ...
    assert scheduled_times(client) == ['2024-05-01T10:06:00Z', '2024-05-01T10:13:00Z', '2024-05-01T10:20:00Z', '2024-05-01T10:27:00Z']
    for text in scheduled_times(client):
        assert (parse(text) - YEAR_ONE) % timedelta(minutes=7) == timedelta(0)
        assert parse(text).timestamp() % 420 != 0


def test_every_7m_matches_kapacitors_own_alignment_vector(make_sim):
    """scheduler_test.go "align to minute with @every 7m": from 01:10:23 the grid point below is 01:04, so 01:11 next."""
    dummy, client = load(make_sim, every='7m', created_at='2016-01-01T01:10:23Z',
                         schedule_runs={'from': '2016-01-01T00:00:00Z', 'to': '2016-01-01T01:25:00Z'})
    assert scheduled_times(client) == ['2016-01-01T01:11:00Z', '2016-01-01T01:18:00Z', '2016-01-01T01:25:00Z']
    assert task_json(client)['createdAt'] == '2016-01-01T01:10:23Z'


def test_every_7m_recent_runs_are_listed_by_the_api(make_sim):
    now = datetime.now(UTC)
    dummy, client = load(make_sim, every='7m', schedule_runs={'from': '-2h', 'to': '-1m'})
    low, high = now - timedelta(hours=2), now - timedelta(minutes=1)
    grid = YEAR_ONE + ((low - YEAR_ONE) // timedelta(minutes=7)) * timedelta(minutes=7)
    expected = [grid + k * timedelta(minutes=7) for k in range(1, 20)]
    expected = [rfc(moment) for moment in expected if low < moment <= high]
    listed = client.runs(TASK_ID, '?afterTime=%s&beforeTime=%s&limit=500' % (rfc(now - timedelta(hours=3)), rfc(now)))
    # Within a second of the window's edges the load time and this test's clock may disagree.
    assert abs(len(listed) - len(expected)) <= 1
    assert {run['scheduledFor'] for run in listed} >= set(expected[1:-1])
    assert all('requestedAt' not in run and run['status'] == 'success' for run in listed)


def test_weekly_every_lands_on_mondays(make_sim):
    dummy, client = load(make_sim, every='1w', schedule_runs={'from': '2024-05-01T00:00:00Z', 'to': '2024-05-31T00:00:00Z'})
    times = scheduled_times(client)
    assert times == ['2024-05-06T00:00:00Z', '2024-05-13T00:00:00Z', '2024-05-20T00:00:00Z', '2024-05-27T00:00:00Z']
    assert {parse(text).strftime('%A') for text in times} == {'Monday'}


def test_every_5h_runs_on_one_continuous_grid(make_sim):
    dummy, client = load(make_sim, every='5h', schedule_runs={'from': '2024-05-01T00:00:00Z', 'to': '2024-05-02T03:00:00Z'})
    assert scheduled_times(client) == ['2024-05-01T01:00:00Z', '2024-05-01T06:00:00Z', '2024-05-01T11:00:00Z',
                                       '2024-05-01T16:00:00Z', '2024-05-01T21:00:00Z', '2024-05-02T02:00:00Z']


@pytest.mark.parametrize('cron, low, high, expected', [
    ('0 */2 * * *', '2024-05-01T00:00:00Z', '2024-05-01T07:00:00Z', ['00:00', '02:00', '04:00', '06:00']),
    ('@hourly', '2024-05-01T00:30:00Z', '2024-05-01T03:00:00Z', ['01:00', '02:00', '03:00']),
    ('@every 1h', '2024-05-01T00:30:00Z', '2024-05-01T03:00:00Z', ['01:00', '02:00', '03:00']),
    ('30 15 10 * * *', '2024-05-01T00:00:00Z', '2024-05-02T23:00:00Z', ['10:15:30', '10:15:30']),     # seconds first
])
def test_cron_schedules(make_sim, cron, low, high, expected):
    dummy, client = load(make_sim, cron=cron, schedule_runs={'from': low, 'to': high})
    assert [text[11:11 + len(expected[0])] for text in scheduled_times(client)] == expected
    assert task_json(client)['cron'] == cron and 'every' not in task_json(client)


def test_cron_day_of_month_and_day_of_week_both_match(make_sim):
    """influxdata/cron ANDs the two day fields: Friday the 13th only (Vixie cron would OR them)."""
    dummy, client = load(make_sim, cron='0 0 13 * 5', schedule_runs={'from': '2024-01-01T00:00:00Z', 'to': '2025-12-31T00:00:00Z'})
    assert scheduled_times(client) == ['2024-09-13T00:00:00Z', '2024-12-13T00:00:00Z', '2025-06-13T00:00:00Z']


def test_cron_weekly_macro_is_sunday_and_a_range_to_7_ends_on_saturday(make_sim):
    dummy, client = load(make_sim, cron='@weekly', schedule_runs={'from': '2024-05-01T00:00:00Z', 'to': '2024-05-20T00:00:00Z'})
    assert scheduled_times(client) == ['2024-05-05T00:00:00Z', '2024-05-12T00:00:00Z', '2024-05-19T00:00:00Z']
    dummy, client = load(make_sim, cron='0 0 * * 1-7', schedule_runs={'from': '2024-05-03T01:00:00Z', 'to': '2024-05-07T01:00:00Z'})
    assert scheduled_times(client) == ['2024-05-04T00:00:00Z', '2024-05-06T00:00:00Z', '2024-05-07T00:00:00Z']   # no Sunday


def test_offset_delays_the_start_not_the_scheduled_time(make_sim):
    dummy, client = load(make_sim, every='1h', offset='90m', schedule_runs={'from': '2024-05-01T00:00:00Z', 'to': '2024-05-01T03:00:00Z'})
    runs = scheduled(client)
    assert [text for text, dummy in runs] == ['2024-05-01T00:00:00Z', '2024-05-01T01:00:00Z', '2024-05-01T02:00:00Z', '2024-05-01T03:00:00Z']
    for text, run in runs:
        delay = parse_nanos(run['started_at']) - parse(text)
        assert timedelta(minutes=90) < delay < timedelta(minutes=90, seconds=1)
        assert run['requested_at'] is None and not run['manual']
    task = task_json(client)
    assert task['offset'] == '1h30m'            # rendered as h/m/s by the API ...
    assert 'offset: 90m' in task['flux']        # ... while the script keeps what was written
    assert task['every'] == '1h'


@pytest.mark.parametrize('offset, wire', [('5m', '5m'), ('-5s', '-5s'), ('3605s', '1h5s'), ('0s', None)])
def test_offset_wire_format(make_sim, offset, wire):
    dummy, client = load(make_sim, every='1h', offset=offset)
    assert task_json(client).get('offset') == wire


def test_a_future_execution_time_has_no_run_yet(make_sim):
    """A slot whose scheduledFor + offset is still ahead has not been dispatched."""
    dummy, client = load(make_sim, every='1m', offset='10m', schedule_runs={'from': '-30m'})
    newest = parse(scheduled_times(client)[-1])
    assert datetime.now(UTC) - timedelta(minutes=12) < newest <= datetime.now(UTC) - timedelta(minutes=10)


def test_an_outage_leaves_exactly_the_slots_the_restart_skipped(make_sim):
    schedule = {'from': '2024-05-01T00:00:00Z', 'to': '2024-05-01T08:00:00Z',
                'outages': [{'from': '2024-05-01T02:30:00Z', 'to': '2024-05-01T05:00:00Z'}]}
    dummy, client = load(make_sim, every='1h', schedule_runs=schedule)
    # Down after 02:30, back at 05:00: the restarted scheduler starts strictly after 05:00, so 05:00 is missed too.
    assert [text[11:16] for text in scheduled_times(client)] == ['00:00', '01:00', '02:00', '06:00', '07:00', '08:00']
    assert task_json(client)['latestCompleted'] == '2024-05-01T08:00:00Z'


def test_an_outage_with_a_positive_offset_also_misses_the_slot_due_after_going_down(make_sim):
    schedule = {'from': '2024-05-01T00:00:00Z', 'to': '2024-05-01T06:00:00Z',
                'outages': [{'from': '2024-05-01T02:05:00Z', 'to': '2024-05-01T04:30:00Z'}]}
    dummy, client = load(make_sim, every='1h', offset='10m', schedule_runs=schedule)
    # 02:00 would have executed at 02:10, after the server went down at 02:05.
    assert [text[11:16] for text in scheduled_times(client)] == ['00:00', '01:00', '05:00', '06:00']


def test_latest_completed_is_the_restart_time_until_a_later_run_finishes(make_sim):
    schedule = {'from': '2024-05-01T00:00:00Z', 'to': '2024-05-01T06:00:00Z',
                'outages': [{'from': '2024-05-01T04:10:00Z', 'to': '2024-05-01T07:30:17Z'}]}
    dummy, client = load(make_sim, every='1h', schedule_runs=schedule)
    assert scheduled_times(client)[-1] == '2024-05-01T04:00:00Z'
    assert task_json(client)['latestCompleted'] == '2024-05-01T07:30:17Z'      # off the grid


def test_failed_ratio_is_exact_and_seeded(make_sim):
    schedule = {'from': '2024-05-01T00:00:00Z', 'to': '2024-05-01T19:00:00Z', 'failed_ratio': 0.25, 'seed': 7}
    dummy, client = load(make_sim, every='1h', schedule_runs=schedule)
    first = [run['status'] for dummy, run in scheduled(client)]
    assert len(first) == 20 and first.count('failed') == 5
    dummy, client = load(make_sim, every='1h', schedule_runs=schedule)
    assert [run['status'] for dummy, run in scheduled(client)] == first


def test_task_times_from_the_scenario(make_sim):
    dummy, client = load(make_sim, every='1h', created_at='2024-05-01T03:20:00.7Z', updated_at='2024-05-01T03:25:09Z',
                         schedule_runs={'from': '2024-05-01T00:00:00Z', 'to': '2024-05-01T06:00:00Z'})
    task = task_json(client)
    assert (task['createdAt'], task['updatedAt']) == ('2024-05-01T03:20:00Z', '2024-05-01T03:25:09Z')
    # Nothing before the task existed: the first slot is the first one strictly after createdAt.
    assert [text[11:16] for text in scheduled_times(client)] == ['04:00', '05:00', '06:00']
    assert task['latestCompleted'] == '2024-05-01T06:00:00Z'
    keys = list(task)
    assert keys[keys.index('latestCompleted'):] == ['latestCompleted', 'lastRunStatus', 'createdAt', 'updatedAt']


def test_default_created_at_is_just_before_from(make_sim):
    dummy, client = load(make_sim, every='1h', schedule_runs={'from': '2024-05-01T02:00:00Z', 'to': '2024-05-01T03:00:00Z'})
    task = task_json(client)
    assert task['createdAt'] == '2024-05-01T01:59:59Z' and 'updatedAt' not in task
    assert scheduled_times(client) == ['2024-05-01T02:00:00Z', '2024-05-01T03:00:00Z']


def test_latest_completed_override(make_sim):
    dummy, client = load(make_sim, every='1h', latest_completed='-30m', schedule_runs={'from': '-3h'})
    expected = rfc(datetime.now(UTC) - timedelta(minutes=30))
    assert abs(parse(task_json(client)['latestCompleted']) - parse(expected)) <= timedelta(seconds=2)


def test_history_off_lists_no_completed_runs(make_sim):
    dummy, client = load(make_sim, every='10m', history=False, schedule_runs={'from': '-2h', 'failed_ratio': 0.5})
    held = client.state_runs(TASK_ID)
    assert len(held) >= 11
    assert client.runs(TASK_ID) == []
    assert_error(client.get('%s/%s/runs/%s' % (TASKS, TASK_ID, held[0]['id'])), 404, 'not found', 'failed to find run: run not found')
    task = task_json(client)
    assert task['lastRunStatus'] in ('success', 'failed') and task['latestCompleted'] == max(run['scheduled_for'] for run in held)


def test_grid_shift_puts_scheduler_runs_off_the_grid(make_sim):
    schedule = {'from': '2024-05-01T00:00:00Z', 'to': '2024-05-01T02:00:00Z', 'grid_shift_seconds': 30}
    dummy, client = load(make_sim, every='1h', schedule_runs=schedule)
    assert scheduled_times(client) == ['2024-05-01T00:00:30Z', '2024-05-01T01:00:30Z', '2024-05-01T02:00:30Z']


@pytest.mark.parametrize('task, needle', [
    ({'every': '1mo'}, "calendar unit 'mo'"),
    ({'cron': '0 0 * * 7'}, "dow '7' out of range"),
    ({'cron': '0 0 L * *'}, "bad dom value 'L'"),
    ({'every': '1h', 'offset': '1d'}, "bad duration '1d'"),
])
def test_schedules_that_cannot_be_enumerated_are_refused_with_the_value(make_sim, task, needle):
    dummy, client = make_sim()
    task = dict(task, name='bad', schedule_runs={'from': '-1h'})
    response = client.post('/_sim/scenario', json={'tasks': [task]})
    assert response.status_code == 400 and needle in response.json()['error'], response.text


def test_schedule_runs_needs_from(make_sim):
    dummy, client = make_sim()
    response = client.post('/_sim/scenario', json={'tasks': [{'name': 'x', 'every': '1h', 'schedule_runs': {'to': '-1h'}}]})
    assert response.status_code == 400 and "schedule_runs 'from'" in response.json()['error']


# -- the manual-run body ------------------------------------------------------------------------------------------------
def force(client, body=None, data=None, task_id=TASK_ID):
    return client.post('%s/%s/runs' % (TASKS, task_id), json=body, data=data)


def test_manual_run_takes_any_second_off_grid_or_in_the_future(make_sim):
    dummy, client = load(make_sim, every='1h', schedule_runs={'from': '-3h'})
    future = datetime.now(UTC) + timedelta(days=2)
    for asked, echoed in (('2024-05-01T10:07:31.999Z', '2024-05-01T10:07:31Z'),      # off the grid, truncated
                          ('2024-05-01T12:00:00+02:00', '2024-05-01T10:00:00Z'),     # another zone, stored in UTC
                          (rfc(future), rfc(future))):                               # in the future
        before = datetime.now(UTC).replace(microsecond=0)
        response = force(client, {'scheduledFor': asked})
        assert response.status_code == 201, response.text
        run = response.json()
        assert run['scheduledFor'] == echoed and run['status'] == 'scheduled'
        assert 'startedAt' not in run and 'finishedAt' not in run
        assert before <= parse_nanos(run['requestedAt']) <= datetime.now(UTC)
    # The future one moved latestCompleted forward with it (it only ever moves forward).
    assert task_json(client)['latestCompleted'] == rfc(future)


def test_manual_run_blocks_until_the_run_finished(make_sim):
    dummy, client = load(make_sim, every='1h', run_seconds=0.4)
    started = time.monotonic()
    response = force(client, {'scheduledFor': '2024-05-01T10:00:00Z'})
    assert response.status_code == 201 and time.monotonic() - started >= 0.4
    [(text, run)] = scheduled(client)
    assert text == '2024-05-01T10:00:00Z' and run['status'] == 'success' and run['manual'] and run['requested_at']
    assert run['id'] == response.json()['id'] and not run['in_kv']


def test_manual_run_without_a_usable_body_runs_for_now(make_sim):
    dummy, client = load(make_sim, every='1h')
    bodies = [None, {}, {'scheduledFor': ''}, {'scheduledFor': None}, 'null',
              '{"scheduledFor": "2024-05-01T10:00:00Z", "pad": "%s"}' % ('x' * 1000)]      # >= 1000 bytes: not read
    for body in bodies:
        before = datetime.now(UTC).replace(microsecond=0)
        response = force(client, data=body) if isinstance(body, str) else force(client, body)
        assert response.status_code == 201, (body, response.text)
        assert before <= parse(response.json()['scheduledFor']) <= datetime.now(UTC)


def test_manual_run_body_is_decoded_as_go_decodes_it(make_sim):
    dummy, client = load(make_sim, every='1h')
    # Keys match case-insensitively; only the first JSON value is read.
    for data, echoed in (('{"SCHEDULEDFOR": "2024-05-01T10:00:00Z"}', '2024-05-01T10:00:00Z'),
                         ('{"scheduledFor": "2024-05-01T11:00:00Z"} trailing', '2024-05-01T11:00:00Z')):
        response = force(client, data=data)
        assert response.status_code == 201 and response.json()['scheduledFor'] == echoed, response.text
    struct = 'struct { ScheduledFor string \\"json:\\\\\\"scheduledFor\\\\\\"\\" }'
    for data, message in (('{"scheduledFor": 1714557600}', 'json: cannot unmarshal number into Go struct field .scheduledFor of type string'),
                          ('["2024-05-01T10:00:00Z"]', 'json: cannot unmarshal array into Go value of type ' + struct),
                          ('{"scheduledFor": "2024-05-01 10:00:00"}',
                           'parsing time \\"2024-05-01 10:00:00\\" as \\"2006-01-02T15:04:05Z07:00\\": cannot parse \\" 10:00:00\\" as \\"T\\"'),
                          ('{"scheduledFor": ', 'unexpected EOF')):
        assert_error(force(client, data=data), 400, 'invalid', 'failed to decode request: ' + message)


def test_manual_run_of_a_queued_scheduled_for_is_422_and_failures_answer_like_retries(make_sim):
    dummy, client = load(make_sim, every='1h', queue_seconds=0.6, retry_outcomes=['fail', 'success'], retry_error='boom')
    body = {'scheduledFor': '2024-05-01T10:00:00Z'}
    first = {}
    thread = threading.Thread(target=lambda: first.setdefault('response', force(client, body)))
    thread.start()
    time.sleep(0.2)
    assert_error(force(client, body), 422, 'conflict', 'failed to force run: run already queued')
    thread.join()
    # The first attempt fails: 500 like a failed retry, yet the run exists, recorded failed.
    assert_error(first['response'], 500, 'internal error', 'failed to force run: could not execute task run: boom')
    assert [run['status'] for dummy, run in scheduled(client)] == ['failed']
    assert task_json(client)['lastRunStatus'] == 'failed'
    # A completed run for that second does not block the next one, which succeeds.
    assert force(client, body).status_code == 201
    assert sorted(run['status'] for dummy, run in scheduled(client)) == ['failed', 'success']
    assert task_json(client)['lastRunStatus'] == 'success'


def test_manual_run_of_an_inactive_task_runs(make_sim):
    dummy, client = load(make_sim, every='1h', status='inactive')
    assert force(client, {'scheduledFor': '2024-05-01T10:00:00Z'}).status_code == 201
    assert [run['status'] for dummy, run in scheduled(client)] == ['success']


def test_a_chunked_manual_run_body_is_read_whatever_its_size(make_sim):
    """Go sees ContentLength -1 for a chunked body, and -1 passes the ``!= 0 && < 1000`` test."""
    dummy, client = load(make_sim, every='1h')
    body = '{"scheduledFor": "2024-05-01T10:00:00Z", "pad": "%s"}' % ('x' * 1000)
    response = force(client, data=(chunk.encode() for chunk in (body[:500], body[500:])))
    assert response.status_code == 201 and response.json()['scheduledFor'] == '2024-05-01T10:00:00Z', response.text
    assert response.request.headers.get('Transfer-Encoding') == 'chunked'


def unix(text):
    return int(parse(text).timestamp())


def test_a_live_task_gets_each_slot_once_as_it_comes_and_a_restart_skips_the_slots_it_was_down_for(make_sim):
    # every 2s: the scheduler dispatches each slot once its time has come, the run takes run_seconds, then ends
    # and moves latestCompleted; stopped, it dispatches nothing; restarted, it resets latestCompleted to now and
    # goes on strictly after it, so the slots in between never get a run (docs/backfill.md, "Why there are gaps").
    dummy, client = load(make_sim, every='2s', run_seconds=0.3, live=True)
    first = wait_for(lambda: [run for run in client.state_runs(TASK_ID) if run['status'] == 'success'], timeout=5.0,
                     what='a live run finished')[0]
    assert not first['manual'] and parse_nanos(first['started_at']) >= parse(first['scheduled_for'])
    assert unix(first['scheduled_for']) % 2 == 0                          # on the grid (62135596800 is even)
    assert unix(task_json(client)['latestCompleted']) >= unix(first['scheduled_for'])
    assert client.post('/_sim/scheduler', json={'running': False}).json() == {'running': False}
    time.sleep(0.3)   # a run dispatched just before the stop ends
    stopped_at, before = time.time(), client.state_runs(TASK_ID)
    time.sleep(4.5)
    assert client.state_runs(TASK_ID) == before                          # down: nothing dispatched
    assert client.post('/_sim/scheduler', json={'running': True}).json() == {'running': True}
    restarted_at = time.time()
    assert unix(task_json(client)['latestCompleted']) >= int(restarted_at) - 1   # the restart reset
    after = wait_for(lambda: [run for run in client.state_runs(TASK_ID) if unix(run['scheduled_for']) > restarted_at],
                     timeout=5.0, what='a run after the restart')
    times = sorted(unix(run['scheduled_for']) for run in client.state_runs(TASK_ID))
    assert len(times) == len(set(times))                                   # each slot once
    skipped = [slot for slot in range(times[0], times[-1], 2) if slot not in times]
    assert skipped and all(stopped_at - 2 < slot <= restarted_at for slot in skipped), (skipped, stopped_at, restarted_at)
    assert all(not run['manual'] for run in after)


def test_a_live_task_skips_its_inactive_period_and_the_outages_its_scenario_declares(make_sim):
    # Reactivation sets latestCompleted to now and the scheduler goes on strictly after it; an outage that ended
    # (a restart) after the scenario's last scheduler run is not filled in either.
    now = int(time.time())
    schedule = {'from': datetime.fromtimestamp(now - 60, UTC).strftime('%Y-%m-%dT%H:%M:%SZ'),
                'outages': [{'from': '-30s', 'to': '-1s'}]}
    dummy, client = load(make_sim, every='2s', run_seconds=0.1, live=True, schedule_runs=schedule)
    time.sleep(0.5)
    assert all(unix(run['scheduled_for']) <= now - 30 or unix(run['scheduled_for']) > now - 1
               for run in client.state_runs(TASK_ID)), 'the outage was filled in'
    assert client.request('PATCH', '%s/%s' % (TASKS, TASK_ID), json={'status': 'inactive'}).status_code == 200
    inactive_from = time.time()
    time.sleep(4.5)
    assert client.request('PATCH', '%s/%s' % (TASKS, TASK_ID), json={'status': 'active'}).status_code == 200
    active_from = time.time()
    wait_for(lambda: any(unix(run['scheduled_for']) > active_from for run in client.state_runs(TASK_ID)), timeout=5.0,
             what='a run after the reactivation')
    inside = [run for run in client.state_runs(TASK_ID) if inactive_from + 1 < unix(run['scheduled_for']) <= active_from]
    assert inside == [], inside


def test_a_live_task_with_a_schedule_the_scheduler_cannot_follow_stops_alone(make_sim):
    tasks = [{'id': TASK_ID, 'name': 'a', 'every': '2s', 'run_seconds': 0.1, 'live': True},
             {'id': '0a1b2c3d4e5f6790', 'name': 'b', 'every': '2s', 'run_seconds': 0.1, 'live': True}]
    dummy, client = make_sim({'tasks': tasks})
    # Kapacitor accepts every: 1mo, but no scheduler grid follows it: the other live task goes on.
    assert client.request('PATCH', '%s/0a1b2c3d4e5f6790' % TASKS, json={'every': '1mo'}).status_code == 200
    count = len(client.state_runs(TASK_ID))
    wait_for(lambda: len(client.state_runs(TASK_ID)) > count, timeout=5.0, what='the other live task goes on')


def test_live_needs_a_schedule_and_a_known_status(make_sim):
    dummy, client = make_sim()
    for task, words in (({'name': 'x', 'every': '1m', 'live': 'yes'}, 'live must be true'),
                        ({'name': 'x', 'every': '1mo', 'live': True}, 'live needs a schedule the scheduler can follow'),
                        ({'name': 'x', 'every': '1m', 'live': True, 'live_status': 'maybe'}, 'live_status')):
        response = client.post('/_sim/scenario', json={'tasks': [task]})
        assert response.status_code == 400 and words in response.json()['error'], response.text
    response = client.post('/_sim/scheduler', json={'running': 'no'})
    assert response.status_code == 400 and 'running' in response.json()['error']
