# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the schedule core (scheduled times of every/cron/offset), no server.

The cron expectations restate facts published by influxdata/cron's own tests (the library both servers use),
written here as our own tables; the every grids restate the alignment Kapacitor's scheduler tests show
(``@every 7m`` truncates 2016-01-01T01:10:23Z to 01:04:00, Go's Truncate counting from year 1).
"""

import pytest

from ansible_collections.tickstack.kapacitor.plugins.module_utils._errors import KapacitorError
from ansible_collections.tickstack.kapacitor.plugins.module_utils._runs import epoch_to_rfc3339, rfc3339_to_epoch
from ansible_collections.tickstack.kapacitor.plugins.module_utils._schedule import (
    GO_ZERO_TIME,
    ScheduleError,
    TooManySlots,
    parse_duration,
    parse_schedule,
    parse_task_schedule,
)


def at(text):
    return int(rfc3339_to_epoch(text))


def iso(slots):
    return [epoch_to_rfc3339(slot) for slot in slots]


def window(schedule, after, before, **kwargs):
    return iso(schedule.times(at(after), at(before), **kwargs))


def refused(**kwargs):
    with pytest.raises(ScheduleError) as info:
        parse_schedule(**kwargs)
    return str(info.value)


# ------------------------------------------------------------------ durations

@pytest.mark.parametrize('text, seconds', [
    ('1s', 1), ('90s', 90), ('1h30m', 5400), ('90m', 5400), ('1d', 86400), ('1w', 604800), ('2w1d', 15 * 86400),
    ('1h0m0s', 3600), ('500ms500ms', 1), ('1s999ms1000us', 2), ('1000000000ns', 1), ('1000000us', 1),
    ('1000000\u00b5s', 1), ('-5s', -5), ('-1h30m', -5400), (' 10m ', 600),
])
def test_parse_duration(text, seconds):
    assert parse_duration(text, 'offset') == seconds


@pytest.mark.parametrize('text, words', [
    ('1mo', 'calendar units'), ('1y', 'calendar units'), ('1h1mo', 'calendar units'),
    ('1500ms', 'whole number of seconds'), ('10s1us', 'whole number of seconds'),
    ('1H', 'not a duration'), ('1hr', 'not a duration'), ('1.5h', 'not a duration'), ('h', 'not a duration'),
    ('', 'not a duration'), ('1h 30m', 'not a duration'), ('soon', 'not a duration'),
])
def test_parse_duration_refuses(text, words):
    with pytest.raises(ScheduleError) as info:
        parse_duration(text, 'offset')
    assert words in str(info.value)
    assert 'offset %r' % text in str(info.value)


def test_schedule_errors_are_collection_errors():
    assert issubclass(ScheduleError, KapacitorError)
    assert issubclass(TooManySlots, KapacitorError)


# ------------------------------------------------------------------ every: the grid counted from 0001-01-01

def test_go_zero_time_is_year_one():
    assert at('0001-01-01T00:00:00Z') == -GO_ZERO_TIME == -719162 * 86400


def test_every_7m_is_not_epoch_aligned():
    schedule = parse_schedule(every='7m')
    assert schedule.kind == 'every' and schedule.period == 420
    # Kapacitor's own scheduler test: 01:10:23 aligns down to 01:04:00, so the next slot is 01:11:00.
    assert schedule.is_slot(at('2016-01-01T01:04:00Z'))
    assert epoch_to_rfc3339(schedule.next(at('2016-01-01T01:10:23Z'))) == '2016-01-01T01:11:00Z'
    assert window(schedule, '2024-05-01T10:00:00Z', '2024-05-01T10:30:00Z') == [
        '2024-05-01T10:06:00Z', '2024-05-01T10:13:00Z', '2024-05-01T10:20:00Z', '2024-05-01T10:27:00Z']
    # Unix-epoch alignment would give 10:07, 10:14 ...
    assert not schedule.is_slot(at('2024-05-01T10:07:00Z'))


def test_every_1w_lands_on_mondays():
    schedule = parse_schedule(every='1w')
    slots = schedule.times(at('2024-05-01T00:00:00Z'), at('2024-06-01T00:00:00Z'))
    assert iso(slots) == ['2024-05-06T00:00:00Z', '2024-05-13T00:00:00Z', '2024-05-20T00:00:00Z', '2024-05-27T00:00:00Z']
    # 1970-01-01 was a Thursday: the week grid is not the Unix one.
    assert not schedule.is_slot(0) and schedule.is_slot(4 * 86400)


def test_every_2w_is_every_other_monday():
    schedule = parse_schedule(every='2w')
    assert window(schedule, '2024-01-01T00:00:00Z', '2024-02-10T00:00:00Z') == [
        '2024-01-08T00:00:00Z', '2024-01-22T00:00:00Z', '2024-02-05T00:00:00Z']


def test_every_1d_is_midnight_utc_across_dst_changes():
    schedule = parse_schedule(every='1d')
    slots = schedule.times(at('2024-03-09T12:00:00Z'), at('2024-04-01T12:00:00Z'))
    assert iso(slots[:2]) == ['2024-03-10T00:00:00Z', '2024-03-11T00:00:00Z']
    assert iso(slots[-2:]) == ['2024-03-31T00:00:00Z', '2024-04-01T00:00:00Z']
    assert {b - a for a, b in zip(slots, slots[1:])} == {86400}


def test_every_5h_drifts_against_days():
    schedule = parse_schedule(every='5h')
    assert window(schedule, '2024-05-01T00:00:00Z', '2024-05-02T05:00:00Z') == [
        '2024-05-01T01:00:00Z', '2024-05-01T06:00:00Z', '2024-05-01T11:00:00Z', '2024-05-01T16:00:00Z',
        '2024-05-01T21:00:00Z', '2024-05-02T02:00:00Z']


@pytest.mark.parametrize('every, after, first, second', [
    ('90s', '2024-05-01T10:00:00Z', '2024-05-01T10:01:30Z', '2024-05-01T10:03:00Z'),
    ('1h', '2024-05-01T10:07:31Z', '2024-05-01T11:00:00Z', '2024-05-01T12:00:00Z'),
    ('90m', '2024-05-01T00:00:00Z', '2024-05-01T01:30:00Z', '2024-05-01T03:00:00Z'),
    ('36h', '2024-05-01T00:00:00Z', '2024-05-01T12:00:00Z', '2024-05-03T00:00:00Z'),
    ('7s', '2024-05-01T00:00:00Z', '2024-05-01T00:00:02Z', '2024-05-01T00:00:09Z'),
    ('500ms500ms', '2024-05-01T00:00:00Z', '2024-05-01T00:00:01Z', '2024-05-01T00:00:02Z'),
])
def test_every_grids(every, after, first, second):
    schedule = parse_schedule(every=every)
    assert window(schedule, after, second)[:1] == [first]
    assert epoch_to_rfc3339(schedule.next(at(first))) == second


def test_every_refusals():
    assert 'calendar units' in refused(every='1mo')
    assert 'calendar units' in refused(every='1y')
    assert 'whole number of seconds' in refused(every='1500ms')
    assert 'shorter than 1 second' in refused(every='0s')
    assert 'not a positive duration' in refused(every='-1h')
    assert "every '1 hour'" in refused(every='1 hour')


# ------------------------------------------------------------------ windows, offset, limit

def test_window_bounds_are_exclusive():
    schedule = parse_schedule(every='1h')
    assert window(schedule, '2024-05-01T10:00:00Z', '2024-05-01T13:00:00Z') == [
        '2024-05-01T11:00:00Z', '2024-05-01T12:00:00Z']
    assert window(schedule, '2024-05-01T09:59:59Z', '2024-05-01T13:00:01Z') == [
        '2024-05-01T10:00:00Z', '2024-05-01T11:00:00Z', '2024-05-01T12:00:00Z', '2024-05-01T13:00:00Z']
    assert schedule.times(at('2024-05-01T10:00:00Z') - 0.5, at('2024-05-01T11:00:00Z') + 0.5) == [
        at('2024-05-01T10:00:00Z'), at('2024-05-01T11:00:00Z')]
    assert schedule.times(at('2024-05-01T10:00:00Z'), at('2024-05-01T11:00:00Z')) == []
    assert schedule.times(at('2024-05-01T12:00:00Z'), at('2024-05-01T10:00:00Z')) == []
    cron = parse_schedule(cron='0 * * * *')
    assert cron.times(at('2024-05-01T10:00:00Z'), at('2024-05-01T13:00:00Z')) == schedule.times(
        at('2024-05-01T10:00:00Z'), at('2024-05-01T13:00:00Z'))
    assert cron.times(at('2024-05-01T10:00:00Z') - 0.5, at('2024-05-01T11:00:00Z') + 0.5) == [
        at('2024-05-01T10:00:00Z'), at('2024-05-01T11:00:00Z')]


def test_offset_does_not_move_scheduled_times():
    plain = parse_schedule(every='1h')
    for offset, seconds in (('10m', 600), ('-5s', -5), ('1h30m', 5400), ('1h5s', 3605), ('', 0), (None, 0)):
        schedule = parse_schedule(every='1h', offset=offset)
        assert schedule.offset == seconds
        assert schedule.times(at('2024-05-01T00:00:00Z'), at('2024-05-02T00:00:00Z')) == plain.times(
            at('2024-05-01T00:00:00Z'), at('2024-05-02T00:00:00Z'))
    assert parse_schedule(cron='0 9 * * *', offset='-5m').offset == -300
    assert 'calendar units' in refused(every='1h', offset='1mo')
    assert 'offset' in refused(every='1h', offset='ten minutes')


def test_limit_refuses_instead_of_truncating():
    schedule = parse_schedule(every='1s')
    assert len(schedule.times(at('2024-05-01T00:00:00Z'), at('2024-05-01T00:01:41Z'), limit=100)) == 100
    with pytest.raises(TooManySlots) as info:
        schedule.times(at('2024-05-01T00:00:00Z'), at('2024-05-01T00:01:42Z'), limit=100)
    assert info.value.limit == 100
    assert 'more than 100 scheduled times' in str(info.value)
    assert '2024-05-01T00:00:00Z' in str(info.value)
    cron = parse_schedule(cron='* * * * * *')
    assert len(cron.times(at('2024-05-01T00:00:00Z'), at('2024-05-01T00:01:41Z'), limit=100)) == 100
    with pytest.raises(TooManySlots):
        cron.times(at('2024-05-01T00:00:00Z'), at('2024-05-01T00:01:42Z'), limit=100)
    # Fourteen days of every second, unlimited, is computed without building a list first.
    assert len(schedule.times(at('2024-05-01T00:00:00Z'), at('2024-05-15T00:00:00Z'), limit=None)) == 14 * 86400 - 1


# ------------------------------------------------------------------ task objects

def test_parse_task_schedule_kapacitor_and_influxdb_tasks():
    kapacitor = parse_task_schedule({'id': '0a1b2c3d4e5f6789', 'every': '1h', 'offset': '10m', 'status': 'active'})
    assert (kapacitor.kind, kapacitor.period, kapacitor.offset, kapacitor.expression) == ('every', 3600, 600, '1h')
    influxdb = parse_task_schedule({'id': '0a1b2c3d4e5f6789', 'cron': '*/5 * * * *', 'every': '', 'offset': None})
    assert (influxdb.kind, influxdb.period, influxdb.offset) == ('cron', None, 0)
    assert window(influxdb, '2024-05-01T10:00:00Z', '2024-05-01T10:16:00Z') == [
        '2024-05-01T10:05:00Z', '2024-05-01T10:10:00Z', '2024-05-01T10:15:00Z']


def test_cron_wins_over_every_as_on_the_servers():
    assert parse_task_schedule({'every': '1h', 'cron': '@daily'}).kind == 'cron'


def test_task_without_schedule():
    with pytest.raises(ScheduleError) as info:
        parse_task_schedule({'every': '', 'cron': None})
    assert 'neither every nor cron' in str(info.value)


def test_cron_every_is_aligned_like_every():
    every = parse_schedule(every='7m')
    cron = parse_schedule(cron='@every 7m')
    assert cron.kind == 'every' and cron.period == 420
    assert cron.times(at('2024-05-01T10:00:00Z'), at('2024-05-01T12:00:00Z')) == every.times(
        at('2024-05-01T10:00:00Z'), at('2024-05-01T12:00:00Z'))
    assert parse_schedule(cron='  @every 1w  ').period == 604800


@pytest.mark.parametrize('cron, words', [
    ('@every 1mo', 'calendar units'), ('@every 7y1mo', 'calendar units'),
    ('@every 10s1us', 'whole number of seconds'), ('@every 10s400ms700000us', 'whole number of seconds'),
    ('@every 2hr1s', 'not a Flux duration literal'), ('@every 1H', 'not a Flux duration literal'),
    ('@every -1s', 'not a Flux duration literal'), ('@every food', 'not a Flux duration literal'),
    ('@every 1s food', 'not a Flux duration literal'), ('@every\t1h', 'only when a space follows'),
])
def test_cron_every_refusals(cron, words):
    assert words in refused(cron=cron)


# ------------------------------------------------------------------ cron: facts from influxdata/cron's tests

FROM = '2019-06-27T06:05:12.622652Z'


@pytest.mark.parametrize('cron, first', [
    ('* * * * * * *', '2019-06-27T06:05:13Z'),
    ('* * * * * 4-6 *', '2019-06-27T06:05:13Z'),
    ('* * * * * * 2023', '2023-01-01T00:00:00Z'),
    ('10/4 * * * * * *', '2019-06-27T06:05:14Z'),
    ('3-12/2 * * * * * *', '2019-06-27T06:06:03Z'),
    ('* 3-22/3 * * * * *', '2019-06-27T06:06:00Z'),
    ('* 3/5 * * * * *', '2019-06-27T06:08:00Z'),
    ('*/2 3/2 * * * * *', '2019-06-27T06:05:14Z'),
    ('1 * * * * * *', '2019-06-27T06:06:01Z'),
    (' * * *  * \t*\t* * ', '2019-06-27T06:05:13Z'),
    ('4 * * * * * *', '2019-06-27T06:06:04Z'),
    ('*/4 * * * * * *', '2019-06-27T06:05:16Z'),
    ('*/4 * */2 * * * *', '2019-06-27T06:05:16Z'),
    ('*/4 * 4-16/4 * * * *', '2019-06-27T08:00:00Z'),
    ('* * * * * FRI,SAT,SUN,MON,TUE,WED *', '2019-06-28T00:00:00Z'),
    ('* * * * * SAT *', '2019-06-29T00:00:00Z'),
    ('4 7 * * * * *', '2019-06-27T06:07:04Z'),
    ('4 7 * * * 6 *', '2019-06-29T00:07:04Z'),
    ('4 5-10 * * * 6 *', '2019-06-29T00:05:04Z'),
    ('* * 12 3 12 * *', '2019-12-03T12:00:00Z'),
    ('* * 12 29 FEB * *', '2020-02-29T12:00:00Z'),
    ('* * 12 29 FEB WED *', '2040-02-29T12:00:00Z'),          # day of month AND day of week
    ('* * 12 29 FEB tue-thu *', '2024-02-29T12:00:00Z'),
    ('* * 12 29 2 MON,0 *', '2032-02-29T12:00:00Z'),
    ('* * * 4 7 MON,TUE,WED,4,5 *', '2019-07-04T00:00:00Z'),
    ('* * * 29 2 MON */3', '2072-02-29T00:00:00Z'),
    ('* * * 1 1 MON */3', '2024-01-01T00:00:00Z'),
    ('* * * * * * */2', '2020-01-01T00:00:00Z'),
    ('* * * * * *', '2019-06-27T06:05:13Z'),
    ('  * *  * * *  ', '2019-06-27T06:06:00Z'),
    ('@yearly', '2020-01-01T00:00:00Z'),
    ('@annually', '2020-01-01T00:00:00Z'),
    ('2-7/7 1 1 1 0-7       ', '2020-01-01T01:02:00Z'),
    ('* * * * 8-10/3 * *', '2019-08-01T00:00:00Z'),
    ('* * * * 3-10/3 * *', '2019-06-27T06:05:13Z'),
    ('2-20/2 * * * 8-10/3 * *', '2019-08-01T00:00:02Z'),
    ('2-20/2 * * * 3-10/3 * *', '2019-06-27T06:05:14Z'),
])
def test_cron_next_from_upstream_facts(cron, first):
    schedule = parse_schedule(cron=cron)
    assert epoch_to_rfc3339(schedule.next(rfc3339_to_epoch(FROM))) == first
    assert schedule.is_slot(at(first))


@pytest.mark.parametrize('cron, after, want', [
    ('* * * * * * 1970', '1960-01-01T00:00:02Z', '1970-01-01T00:00:00Z'),
    ('* * * * * * 2099', '1960-01-01T00:00:02Z', '2099-01-01T00:00:00Z'),
    ('* * * * * * 2097', '0001-01-01T00:00:00Z', '2097-01-01T00:00:00Z'),
    ('10 * * * * *', '1999-12-31T23:59:59Z', '2000-01-01T00:00:10Z'),
])
def test_cron_year_edges(cron, after, want):
    assert epoch_to_rfc3339(parse_schedule(cron=cron).next(at(after))) == want


@pytest.mark.parametrize('cron, start, count, first, last', [
    # (cron, window start, slots listed, first, last): sequences of influxdata/cron's range tests
    ('5-10 * * * * *', '2001-01-01T12:10:10Z', 13, '2001-01-01T12:11:05Z', '2001-01-01T12:13:05Z'),
    ('3 21-30 * * * *', '2001-01-01T12:10:10Z', 25, '2001-01-01T12:21:03Z', '2001-01-01T14:25:03Z'),
    ('3 47 7-13 * * *', '2001-01-01T12:10:10Z', 17, '2001-01-01T12:47:03Z', '2001-01-04T07:47:03Z'),
    ('3 47 17 23-27 * *', '2001-01-01T12:10:10Z', 11, '2001-01-23T17:47:03Z', '2001-03-23T17:47:03Z'),
    ('3 47 17 9 3-11 *', '2001-01-01T12:10:10Z', 19, '2001-03-09T17:47:03Z', '2003-03-09T17:47:03Z'),
    ('3 47 17 9 3-11/3 *', '2001-01-01T12:10:10Z', 10, '2001-03-09T17:47:03Z', '2004-03-09T17:47:03Z'),
    ('3 47 17 * 1 THU-SAT', '2001-01-01T12:10:10Z', 10, '2001-01-04T17:47:03Z', '2001-01-25T17:47:03Z'),
    ('3 47 17 9 1 * 2003-2007', '2001-01-01T12:10:10Z', 5, '2003-01-09T17:47:03Z', '2007-01-09T17:47:03Z'),
    ('3 47 17 3 1 * 2003-2007', '2001-01-01T12:10:10Z', 5, '2003-01-03T17:47:03Z', '2007-01-03T17:47:03Z'),
])
def test_cron_sequences_from_upstream_facts(cron, start, count, first, last):
    schedule = parse_schedule(cron=cron)
    slots = schedule.times(at(start), at(last) + 1)
    assert len(slots) == count
    assert iso([slots[0], slots[-1]]) == [first, last]
    # next() walks the same sequence
    walked = [schedule.next(at(start))]
    while len(walked) < count:
        walked.append(schedule.next(walked[-1]))
    assert walked == slots


def test_cron_five_fields_run_at_second_zero_and_six_fields_start_with_seconds():
    five = parse_schedule(cron='30 14 * * *')
    assert window(five, '2024-05-01T00:00:00Z', '2024-05-03T00:00:00Z') == ['2024-05-01T14:30:00Z', '2024-05-02T14:30:00Z']
    six = parse_schedule(cron='30 14 * * * *')
    assert window(six, '2024-05-01T10:00:00Z', '2024-05-01T11:00:00Z') == ['2024-05-01T10:14:30Z']
    seven = parse_schedule(cron='0 0 9 * * MON-FRI 2024')
    assert window(seven, '2024-05-03T00:00:00Z', '2024-05-08T00:00:00Z') == [
        '2024-05-03T09:00:00Z', '2024-05-06T09:00:00Z', '2024-05-07T09:00:00Z']
    assert parse_schedule(cron='0 0 9 * * MON-FRI 2023').times(at('2024-01-01T00:00:00Z'), at('2025-01-01T00:00:00Z')) == []


def test_cron_day_of_month_and_day_of_week_are_anded():
    friday_13 = parse_schedule(cron='0 0 13 * 5')
    assert window(friday_13, '2024-01-01T00:00:00Z', '2026-01-01T00:00:00Z') == [
        '2024-09-13T00:00:00Z', '2024-12-13T00:00:00Z', '2025-06-13T00:00:00Z']


@pytest.mark.parametrize('cron, after, before, want', [
    ('@monthly', '2024-11-15T00:00:00Z', '2025-02-15T00:00:00Z',
     ['2024-12-01T00:00:00Z', '2025-01-01T00:00:00Z', '2025-02-01T00:00:00Z']),
    ('@weekly', '2024-05-01T00:00:00Z', '2024-05-20T00:00:00Z', ['2024-05-05T00:00:00Z', '2024-05-12T00:00:00Z', '2024-05-19T00:00:00Z']),
    ('@daily', '2024-12-30T12:00:00Z', '2025-01-02T00:00:01Z',
     ['2024-12-31T00:00:00Z', '2025-01-01T00:00:00Z', '2025-01-02T00:00:00Z']),
    ('@midnight', '2024-02-28T01:00:00Z', '2024-03-01T00:00:01Z', ['2024-02-29T00:00:00Z', '2024-03-01T00:00:00Z']),
    ('@hourly', '2024-05-01T22:30:00Z', '2024-05-02T01:00:00Z',
     ['2024-05-01T23:00:00Z', '2024-05-02T00:00:00Z']),
    ('@every_minute', '2024-05-01T10:00:30Z', '2024-05-01T10:03:00Z', ['2024-05-01T10:01:00Z', '2024-05-01T10:02:00Z']),
    ('@every_second', '2024-05-01T10:00:00Z', '2024-05-01T10:00:03Z', ['2024-05-01T10:00:01Z', '2024-05-01T10:00:02Z']),
    ('@yearly', '2024-05-01T00:00:00Z', '2026-05-01T00:00:00Z', ['2025-01-01T00:00:00Z', '2026-01-01T00:00:00Z']),
])
def test_cron_macros(cron, after, before, want):
    assert window(parse_schedule(cron=cron), after, before) == want


def test_cron_names_are_case_insensitive():
    upper = parse_schedule(cron='0 0 * JAN-MAR MON,WED')
    lower = parse_schedule(cron='0 0 * jan-mar mon,wed')
    numbers = parse_schedule(cron='0 0 * 1-3 1,3')
    assert upper.times(at('2024-01-01T00:00:00Z'), at('2024-12-31T00:00:00Z')) == lower.times(
        at('2024-01-01T00:00:00Z'), at('2024-12-31T00:00:00Z')) == numbers.times(
        at('2024-01-01T00:00:00Z'), at('2024-12-31T00:00:00Z'))


def weekdays(cron):
    """The days of week (0 = Sunday) a daily cron expression fires on, over one week."""
    slots = parse_schedule(cron=cron).times(at('2024-05-04T23:59:59Z'), at('2024-05-12T00:00:00Z'))
    return sorted({(slot // 86400 + 4) % 7 for slot in slots})


def test_cron_day_of_week_quirks():
    assert weekdays('0 0 * * 0') == [0]
    assert weekdays('0 0 * * 1-7') == [1, 2, 3, 4, 5, 6]      # 7 stands for 6 at the end of a range
    assert weekdays('0 0 * * 1-5/2') == [2, 4]                # multiples of the step, not counted from 1
    assert weekdays('0 0 * * */2') == [0, 2, 4, 6]
    assert weekdays('0 0 * * 1/3') == [3, 6]
    assert 'day of week' in refused(cron='0 0 * * 7')
    assert 'day of week' in refused(cron='0 0 * * 5-1')


def test_cron_step_of_30_also_selects_59():
    minutes = parse_schedule(cron='*/30 * * * *')
    assert window(minutes, '2024-05-01T10:00:00Z', '2024-05-01T11:00:01Z') == [
        '2024-05-01T10:30:00Z', '2024-05-01T10:59:00Z', '2024-05-01T11:00:00Z']
    seconds = parse_schedule(cron='*/30 * * * * *')
    assert window(seconds, '2024-05-01T10:00:00Z', '2024-05-01T10:01:00Z') == [
        '2024-05-01T10:00:30Z', '2024-05-01T10:00:59Z']
    assert window(parse_schedule(cron='15/30 * * * *'), '2024-05-01T10:00:00Z', '2024-05-01T11:00:00Z') == [
        '2024-05-01T10:15:00Z', '2024-05-01T10:45:00Z']


def test_cron_open_ranges_and_zero_ended_ranges():
    # a/n runs to the field's end; a range ending at its field's first value is not bounded by the library
    assert window(parse_schedule(cron='0 0 20/2 * * *'), '2024-05-01T00:00:00Z', '2024-05-02T00:00:00Z') == [
        '2024-05-01T20:00:00Z', '2024-05-01T22:00:00Z']
    assert len(parse_schedule(cron='0-0 * * * * *').times(at('2024-05-01T00:00:00Z'), at('2024-05-01T00:01:00Z'))) == 59


def test_cron_february_29_after_an_earlier_day_of_february_is_skipped():
    # 2020-02-29 was a Saturday: the library's day search from the 22nd stops at the 28th.
    saturdays = parse_schedule(cron='0 0 * * 6')
    assert window(saturdays, '2020-02-20T00:00:00Z', '2020-03-10T00:00:00Z') == [
        '2020-02-22T00:00:00Z', '2020-03-07T00:00:00Z']
    assert not saturdays.is_slot(at('2020-02-29T00:00:00Z'))
    # Reached from the 28th or as the first day of February, it is kept.
    assert '2020-02-29T00:00:00Z' in window(parse_schedule(cron='0 0 28,29 * *'), '2020-02-01T00:00:00Z', '2020-03-02T00:00:00Z')
    assert window(parse_schedule(cron='0 12 29 2 *'), '2019-01-01T00:00:00Z', '2029-01-01T00:00:00Z') == [
        '2020-02-29T12:00:00Z', '2024-02-29T12:00:00Z', '2028-02-29T12:00:00Z']
    assert window(parse_schedule(cron='0 0 * * *'), '2024-02-28T12:00:00Z', '2024-03-01T12:00:00Z') == [
        '2024-02-29T00:00:00Z', '2024-03-01T00:00:00Z']


def test_cron_is_utc_daylight_saving_time_is_irrelevant():
    schedule = parse_schedule(cron='0 2 * * *')
    slots = schedule.times(at('2024-03-09T00:00:00Z'), at('2024-04-02T00:00:00Z'))
    assert len(slots) == 24 and {b - a for a, b in zip(slots, slots[1:])} == {86400}
    assert iso(slots)[1] == '2024-03-10T02:00:00Z' and '2024-03-31T02:00:00Z' in iso(slots)


def test_cron_is_slot():
    schedule = parse_schedule(cron='*/5 * * * *')
    assert schedule.is_slot(at('2024-05-01T10:05:00Z'))
    assert not schedule.is_slot(at('2024-05-01T10:06:00Z'))
    assert not schedule.is_slot(at('2024-05-01T10:05:00Z') + 0.5)
    every_fifth_hour = parse_schedule(cron='0 */5 * * *')
    assert every_fifth_hour.is_slot(at('2024-05-01T10:00:00Z')) and not every_fifth_hour.is_slot(at('2024-05-01T10:05:00Z'))


@pytest.mark.parametrize('cron, words', [
    # parse errors the library reports too
    ('fred likes snickerdoodles', 'fields'), ('* * 8 8 1 1 0', 'year'), ('* * 8 8 1 1 0 0', 'fields'),
    ('@notanemailaddress', 'known macros'), ('@yearlyplusextraletters', 'known macros'), ('@DAILY', 'known macros'),
    (' * * * 30,32 * * * ', 'day of month'), (' 60 * * * * * * ', 'second'), ('* 60 * * * * * ', 'minute'),
    (' * * 24 * * * * ', 'hour'), (' 61 * * 30 * * * ', 'second'), ('* * * * 0 * * ', 'month'),
    ('* * * * 13 * * ', 'month'), ('a-7/7 1 1 1 1', 'minute'), ('2-20/2 * * * 0-2 * *', 'month'),
    ('*/60 * * * *', 'minute'), ('0 */24 * * *', 'hour'), ('0 0 */31 * *', 'day of month'), ('0 0 1 */13 *', 'month'),
    ('0 0 0 * *', 'day of month'), ('* * * * * * 1969', 'year'), ('0 0 * * MONDAY', 'day of week'),
    ('0 0 * * * * * * *', 'fields'), ('* * * *', 'fields'),
    # not in the dialect
    ('0 0 ? * *', "'?' not allowed"), ('0 0 L * *', 'day of month'), ('0 0 * * 5L', 'day of week'),
    ('0 0 15W * *', 'day of month'), ('0 0 * * 1#2', "'#' not allowed"),
])
def test_cron_invalid(cron, words):
    message = refused(cron=cron)
    assert repr(cron) in message and words in message


@pytest.mark.parametrize('cron, words', [
    # valid for the servers, but the library computes some of their times wrongly: refused, not guessed
    ('0 0 1 1,7 MON', 'wrong weekday'), ('0 9 * JAN,MAR,MAY 1-5', 'wrong weekday'),
    ('0 0 30 1,3 *', 'skips some of those months'), ('0 0 1 10/3 *', 'past December'), ('0 0 1 3/5 *', 'past December'),
    ('*/0 * * * *', 'step 0'), ('* * * * * * */12', 'year step'), ('* * * * * * 2020/2', 'year item'),
])
def test_cron_refused_where_the_library_is_wrong(cron, words):
    assert words in refused(cron=cron)


def test_cron_gapped_months_without_weekday_or_late_days_are_supported():
    schedule = parse_schedule(cron='0 0 1 1,7 *')
    assert window(schedule, '2024-01-01T00:00:00Z', '2025-07-02T00:00:00Z') == [
        '2024-07-01T00:00:00Z', '2025-01-01T00:00:00Z', '2025-07-01T00:00:00Z']
    assert parse_schedule(cron='0 0 * JUN-AUG MON').kind == 'cron'


def test_cron_years_quirks():
    # a-a is every year for the library; 2034 and 2098 cannot be stored as single years
    assert parse_schedule(cron='0 0 0 1 1 * 2030-2030').next(at('2040-06-01T00:00:00Z')) == at('2041-01-01T00:00:00Z')
    assert parse_schedule(cron='0 0 0 1 1 * 2033,2034,2035').times(
        at('2030-01-01T00:00:00Z'), at('2040-01-01T00:00:00Z')) == [at('2033-01-01T00:00:00Z'), at('2035-01-01T00:00:00Z')]
    assert 'selects no year' in refused(cron='0 0 0 1 1 * 2034')
    # five and six fields stop at 2097, macros at 2099
    assert parse_schedule(cron='0 0 1 1 *').next(at('2097-06-01T00:00:00Z')) is None
    assert parse_schedule(cron='@yearly').next(at('2097-06-01T00:00:00Z')) == at('2098-01-01T00:00:00Z')
