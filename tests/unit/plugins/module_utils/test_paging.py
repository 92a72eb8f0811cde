# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the paging plan (``RunPager``) against a model of Kapacitor's run listing, and of scheduled times
compared as instants. No HTTP.

``ListRunsModel`` answers as docs/kapacitor-api.md §4.4 describes: the kv store's runs first (queued manual runs
in insertion order, then the runs held under their own key by ascending ID, whatever their status or
``scheduledFor``), then completed runs by ``scheduledFor`` descending with ties in a new random order on every
request; ``after`` drops every completed run.
"""

import datetime
import random

import pytest

from ansible_collections.tickstack.kapacitor.plugins.module_utils._errors import InputError
from ansible_collections.tickstack.kapacitor.plugins.module_utils._runs import (
    KV_ONLY_AFTER,
    PAGE_LIMIT,
    RunPager,
    Window,
    attempt_key,
    epoch_to_rfc3339,
    group_attempts,
    rfc3339_to_epoch,
    scheduled_instant,
    sort_runs,
)

NOW = 1790000000
TASK = '0a1b2c3d4e5f6789'


def run(run_id, scheduled, status='success'):
    return {'id': '%016x' % run_id, 'taskID': TASK, 'status': status, 'scheduledFor': epoch_to_rfc3339(scheduled)}


class ListRunsModel:
    """Kapacitor's list-runs answer over ``queued`` (list), ``held`` (kv runs under their own key) and ``history``."""

    def __init__(self, history=(), held=(), queued=(), seed=11, shuffle_ties=True):
        self.history = list(history)
        self.held = list(held)
        self.queued = list(queued)
        self.random = random.Random(seed)
        self.shuffle_ties = shuffle_ties
        self.requests = []
        self.before_request = None

    def list(self, params):
        if self.before_request:
            self.before_request(self, params)
        self.requests.append(dict(params))
        after = rfc3339_to_epoch(params['afterTime']) if 'afterTime' in params else None
        before = rfc3339_to_epoch(params['beforeTime']) if 'beforeTime' in params else None
        limit = params['limit']

        def inside(r, default_before=None):
            sched = rfc3339_to_epoch(r['scheduledFor'])
            upper = before if before is not None else default_before
            return (after is None or sched > after) and (upper is None or sched < upper)
        kv = [r for r in self.queued + sorted(self.held, key=lambda r: r['id']) if inside(r, NOW)]
        if len(kv) >= limit:
            return kv[:limit]
        if 'after' in params:
            return kv
        completed = [r for r in self.history if inside(r)]
        if self.shuffle_ties:
            self.random.shuffle(completed)
        else:
            completed.sort(key=lambda r: r['id'])
        completed.sort(key=lambda r: r['scheduledFor'], reverse=True)
        completed = completed[:limit - len(kv)]
        ids = {r['id'] for r in completed}
        return [r for r in kv if r['id'] not in ids] + completed


def drain(server, window=None):
    pager = RunPager(window or Window())
    found = []
    while not pager.done:
        found.extend(pager.feed(server.list(pager.params())))
        assert len(server.requests) < 100 + len(server.history) // 400, 'the pager does not end'
    return found, pager


def ids(runs):
    return sorted(r['id'] for r in runs)


def spaced(count, first_id=1, step=60, end=NOW - 60):
    """``count`` completed runs ``step`` seconds apart ending at ``end``, IDs growing with time."""
    return [run(first_id + i, end - step * (count - 1 - i)) for i in range(count)]


# ------------------------------------------------------------------ kv runs at the front of every page

def test_kv_held_finished_runs_at_old_times_do_not_move_the_cursor():
    history = spaced(1002)
    # Just finished and still in the kv store: completed statuses, old scheduled times, the newest IDs.
    held = [run(5000 + k, NOW - 60 * (1000 - k), status) for k, status in enumerate(('failed', 'success', 'canceled'))]
    server = ListRunsModel(history, held)
    found, pager = drain(server)
    assert ids(found) == ids(history + held)
    assert len(found) == len({r['id'] for r in found})
    assert pager.warnings == []
    # No request beyond paging: every page proved its completed part by position.
    assert not any('after' in params for params in server.requests)
    assert len(server.requests) == 3


def test_a_kv_run_that_happens_to_fit_the_order_is_harmless():
    history = spaced(1200, first_id=10000)
    # Held runs newer than every completed run, with IDs below every completed one: the last fits the order.
    held = [run(5000 + k, NOW - 10 + k, 'failed') for k in range(3)]
    server = ListRunsModel(history, held)
    found, pager = drain(server)
    assert ids(found) == ids(history + held) and pager.warnings == []


def test_running_and_queued_runs_lead_every_page_and_are_listed_once():
    history = spaced(1300)
    held = [run(7000 + k, NOW - 30 * k - 5, 'started') for k in range(4)]
    queued = [dict(run(8000 + k, NOW - 60 * (900 + k), 'scheduled'), requestedAt='x') for k in range(2)]
    server = ListRunsModel(history, held, queued)
    found, pager = drain(server)
    assert ids(found) == ids(history + held + queued) and pager.warnings == []


def test_a_page_proven_by_nothing_asks_for_the_kv_runs_alone():
    # 499 kv runs with ascending IDs below every completed one, then one completed run: the page alone cannot tell
    # where its completed part starts.
    held = [run(1 + k, NOW - 10 * (600 - k), 'failed') for k in range(499)]
    history = spaced(300, first_id=1000, step=3600)
    server = ListRunsModel(history, held)
    found, pager = drain(server)
    assert ids(found) == ids(history + held) and pager.warnings == []
    probes = [params for params in server.requests if 'after' in params]
    assert probes and all(params['after'] == KV_ONLY_AFTER for params in probes)
    assert len(server.requests) <= 2 * len(probes) + 2


def test_a_page_of_kv_runs_alone_is_a_gap_named_in_the_warnings():
    held = [run(10000 + k, NOW - 5 * (600 - k), 'started') for k in range(600)]
    history = spaced(50, step=7200)
    server = ListRunsModel(history, held)
    window = Window(after=NOW - 40 * 86400 // 4)
    found, pager = drain(server, window)
    assert pager.done and len(pager.gaps) == 1
    after, before, message = pager.gaps[0]
    assert (after, before) == (window.server_after(), None)
    assert 'runs scheduled after %s and before now could not be listed' % epoch_to_rfc3339(after) in message
    assert 'queued or running runs' in message


def test_kv_runs_that_fit_the_order_on_a_full_page_of_kv_runs_never_move_the_cursor():
    # 500 kv runs, the last of them finished and in descending scheduledFor: without the kv-only request
    # the pager would take them for the completed part and skip every completed run newer than them.
    held = [run(20000 + k, NOW - 100000 + k, 'started') for k in range(497)]
    held += [run(30000 + k, NOW - 200000 - k, 'failed') for k in range(3)]
    history = spaced(100, step=60)
    server = ListRunsModel(history, held)
    found, pager = drain(server)
    assert pager.gaps and 'could not be listed' in pager.warnings[0]
    assert not {r['id'] for r in history} & {r['id'] for r in found}  # nothing claimed that was not seen


def test_a_kv_store_that_changes_between_the_page_and_the_kv_only_request_is_read_again():
    held = [run(10000 + k, NOW - 10 * (600 - k), 'started') for k in range(500)]
    history = spaced(30, step=3600)
    server = ListRunsModel(history, held)

    def finish_two(srv, params):
        if 'after' in params and len(srv.held) == 500:
            finished = srv.held[-2:]
            del srv.held[-2:]
            srv.history.extend(dict(r, status='success') for r in finished)
    server.before_request = finish_two
    found, pager = drain(server)
    assert ids(found) == sorted(set(ids(history + held))) and pager.warnings == []
    assert sum(1 for params in server.requests if 'after' in params) == 1


# ------------------------------------------------------------------ one second, ties

def test_exactly_a_page_in_one_second_is_listed_without_a_warning():
    history = [run(i + 1, NOW - 100) for i in range(PAGE_LIMIT)] + spaced(20, first_id=1000, end=NOW - 200)
    for shuffle in (True, False):
        server = ListRunsModel(history, shuffle_ties=shuffle)
        found, pager = drain(server)
        assert ids(found) == ids(history)
        assert pager.warnings == [] and pager.gaps == []


def test_exactly_a_page_in_the_last_second_of_a_narrow_window_is_listed_without_a_warning():
    history = [run(i + 1, NOW - 100) for i in range(PAGE_LIMIT)]
    server = ListRunsModel(history)
    found, pager = drain(server, Window(NOW - 101, NOW - 99))
    assert ids(found) == ids(history) and pager.warnings == []


def test_more_than_a_page_in_one_second_is_a_gap_once_it_is_proven():
    crowd = [run(i + 1, NOW - 100) for i in range(650)]
    older = spaced(20, first_id=1000, end=NOW - 200)
    server = ListRunsModel(crowd + older)
    found, pager = drain(server, Window(before=NOW))
    assert {r['id'] for r in older} <= {r['id'] for r in found}
    assert len(pager.gaps) == 1
    after, before, message = pager.gaps[0]
    assert (after, before) == (NOW - 101, NOW - 99)
    assert message.startswith('runs scheduled for %s may be missing: at least ' % epoch_to_rfc3339(NOW - 100))
    assert 'more than the 500 a page could hold' in message


def test_ties_at_every_page_boundary_in_random_order_are_all_listed():
    history = []
    next_id = 1
    for second in range(400):
        for dummy in range(1 + second % 7):  # up to 7 attempts of one scheduled time
            history.append(run(next_id, NOW - 60 * (400 - second)))
            next_id += 1
    random.Random(3).shuffle(history)
    server = ListRunsModel(history)
    found, pager = drain(server)
    assert ids(found) == ids(history) and pager.warnings == []


def test_a_first_page_that_is_not_full_ends_the_listing():
    history = spaced(499)
    server = ListRunsModel(history)
    found, pager = drain(server)
    assert ids(found) == ids(history) and len(server.requests) == 1 and pager.boundary is None


def test_many_attempts_of_the_scheduled_time_at_a_page_boundary_are_all_listed():
    history = spaced(1000)
    boundary = rfc3339_to_epoch(history[505]['scheduledFor'])
    history += [run(5000 + k, boundary, 'failed') for k in range(40)]  # 40 retries: same scheduledFor, later IDs
    server = ListRunsModel(history)
    found, pager = drain(server)
    assert ids(found) == ids(history) and pager.warnings == []


def test_a_large_window_costs_one_request_per_499_runs():
    history = spaced(20000)
    server = ListRunsModel(history)
    found, pager = drain(server)
    assert ids(found) == ids(history) and len(found) == len({r['id'] for r in found})
    assert pager.pages == len(server.requests) == 20000 // (PAGE_LIMIT - 1) + 1


def test_a_normal_listing_costs_one_request_per_page():
    history = spaced(2495)
    server = ListRunsModel(history)
    found, pager = drain(server)
    assert ids(found) == ids(history)
    assert pager.pages == len(server.requests) == 5  # 499 new runs per page of 500 (one second re-read)


def test_the_lower_bound_of_the_window_ends_the_listing():
    history = spaced(2000)
    window = Window(after=NOW - 60 * 700)
    server = ListRunsModel(history)
    found, pager = drain(server, window)
    assert ids(r for r in found if window.contains(r)) == ids(r for r in history if window.contains(r))
    assert len(server.requests) == 2


# ------------------------------------------------------------------ scheduled times as instants

@pytest.mark.parametrize('value', [
    '2026-05-01T10:00:00Z', '2026-05-01T10:00:00+00:00', '2026-05-01 10:00:00', '2026-05-01t10:00:00z',
    '2026-05-01T12:00:00+02:00', '2026-05-01T08:30:00-01:30', '2026-05-01T10:00:00.999999Z',
    '2026-05-01T10:00:00.5+00:00', ' 2026-05-01T10:00:00Z ',
    datetime.datetime(2026, 5, 1, 10, 0, 0),
    datetime.datetime(2026, 5, 1, 10, 0, 0, 250000),
    datetime.datetime(2026, 5, 1, 12, 0, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=2))),
])
def test_every_form_of_one_scheduled_time_is_the_same_instant(value):
    assert scheduled_instant(value) == 1777629600


@pytest.mark.parametrize('value', [None, 1777629600, 1777629600.0, True, '', 'yesterday', '2026-05-01',
                                   '2026-05-01T10:00Z', '2026-02-30T10:00:00Z', ['2026-05-01T10:00:00Z'],
                                   datetime.date(2026, 5, 1)])
def test_anything_else_is_not_a_scheduled_time(value):
    with pytest.raises(InputError) as info:
        scheduled_instant(value)
    assert 'is not a time' in str(info.value) and 'RFC3339' in str(info.value) and repr(value) in str(info.value)


def test_attempts_written_in_different_forms_are_one_scheduled_time():
    runs = [dict(run(1, 0, 'failed'), scheduledFor='2026-05-01T10:00:00Z'),
            dict(run(2, 0, 'failed'), scheduledFor='2026-05-01T10:00:00+00:00'),
            dict(run(3, 0, 'success'), scheduledFor='2026-05-01 12:00:00.000+02:00')]
    groups = group_attempts(runs)
    assert list(groups) == [(TASK, 1777629600)] and attempt_key(runs[1]) == (TASK, 1777629600)
    assert [r['id'][-1] for r in groups[(TASK, 1777629600)]] == ['1', '2', '3']


def test_sort_runs_compares_instants_not_strings():
    early = dict(run(1, 0), scheduledFor='2026-05-01T11:30:00+02:00')   # 09:30Z
    late = dict(run(2, 0), scheduledFor='2026-05-01T10:00:00Z')
    assert [r['id'][-1] for r in sort_runs([early, late])] == ['2', '1']
