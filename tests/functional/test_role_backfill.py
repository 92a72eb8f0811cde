# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The role's opt-in backfill step (retry_failed_runs_backfill) through real ansible-playbook runs: it fills an
outage's gap, then the same play retries the backfilled runs that failed. What was created is read from the
simulator's record (/_sim/attempts, /_sim/state, /_sim/stats); the gap is computed here by its own arithmetic."""

import calendar
import time

from ansible_collections.tickstack.kapacitor.tests.functional.support import (
    PLAYBOOK,
    RETRY_ROUTE,
    new_attempts,
    read_json,
    run_playbook,
)

FORCE_ROUTE = 'POST /api/v2/tasks/:id/runs'
EVERY = 600          # 10m divides a day, so Kapacitor's grid (counted from 0001-01-01) is the Unix-epoch one
HOUR = 3600


def rfc(epoch):
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(epoch))


def epoch_of(text):
    return calendar.timegm(time.strptime(text[:19], '%Y-%m-%dT%H:%M:%S'))


def outage(sim, **task):
    """One 10-minute task scheduled for 6 hours, with an outage from 3 to 2 hours ago; returns (task ID, gap), the
    gap being the slots the outage swallowed (S > down and S <= up), oldest first."""
    now = int(time.time())
    down, up = now - 3 * HOUR, now - 2 * HOUR
    task = dict(name='rollup', every='10m', schedule_runs={
        'from': rfc(now - 6 * HOUR), 'outages': [{'from': rfc(down), 'to': rfc(up)}]}, **task)
    task_id = sim.load({'tasks': [task]})['tasks'][0]['id']
    return task_id, list(range(down - down % EVERY + EVERY, up + 1, EVERY))


def play(sim, tmp_path, check=False, **extra):
    report = tmp_path / ('report-check.json' if check else 'report.json')
    extra_vars = {'kapacitor_url': sim.url, 'retry_failed_runs_report_path': str(report)}
    extra_vars.update(extra)
    played = run_playbook(PLAYBOOK, extra_vars, check=check, env={'ANSIBLE_SHOW_CUSTOM_STATS': 'true'})
    assert played.returncode == 0, played.stdout
    return played, read_json(str(report))


def test_the_gap_is_filled_exactly_then_the_failed_backfilled_runs_are_retried_in_the_same_play(sim, tmp_path):
    # Every run created through the API fails first, and its retry succeeds.
    task_id, gap = outage(sim, retry_outcomes=['fail', 'success'], retry_error='influxdb is down')
    assert len(gap) >= 5
    before = sim.attempts()
    played, report = play(sim, tmp_path, retry_failed_runs_backfill=True,
                          retry_failed_runs_backfill_continue_on_error=True)
    # Out of band: every slot of the gap, and nothing else, got a backfilled run that failed and then one retry.
    fresh = new_attempts(before, sim.attempts())
    assert sorted(epoch_of(scheduled) for (owner, scheduled) in fresh) == gap and {t for t, s in fresh} == {task_id}
    assert all([run['status'] for run in runs] == ['failed', 'success'] for runs in fresh.values())
    assert sim.requests_to(FORCE_ROUTE) == len(gap) and sim.requests_to(RETRY_ROUTE) == len(gap)
    # The summary and the report say both.
    backfill = report['backfill']['figures']
    assert (backfill['missing'], backfill['created'], backfill['created_failed']) == (len(gap), len(gap), len(gap))
    assert report['figures']['failed_found'] == len(gap) and report['figures']['retried'] == len(gap)
    assert ('backfill: %d missing scheduled time(s), created %d run(s) (%d of them failed'
            % (len(gap), len(gap), len(gap))) in played.stdout
    assert 'backfill over 1 host(s)' in played.stdout
    # set_stats, for AWX workflows (the line ansible-playbook prints with ANSIBLE_SHOW_CUSTOM_STATS).
    for key, value in (('created', len(gap)), ('created_failed', len(gap)), ('refused', 0)):
        assert '"kapacitor_backfill_%s": %d' % (key, value) in played.stdout, key
    assert '"kapacitor_retry_retried": %d' % len(gap) in played.stdout

    # A second play creates nothing: no manual run, no retry.
    sim.reset_stats()
    state = sim.state()
    played, report = play(sim, tmp_path, retry_failed_runs_backfill=True)
    assert sim.requests_to(FORCE_ROUTE) == 0 and sim.requests_to(RETRY_ROUTE) == 0 and sim.state() == state
    assert report['backfill']['figures']['missing'] == 0 and report['backfill']['figures']['created'] == 0


def test_check_mode_creates_nothing_and_says_what_it_would_backfill(sim, tmp_path):
    dummy, gap = outage(sim)
    state = sim.state()
    played, report = play(sim, tmp_path, check=True, retry_failed_runs_backfill=True)
    assert sim.state() == state and sim.requests_to(FORCE_ROUTE) == 0 and sim.requests_to(RETRY_ROUTE) == 0
    assert 'would backfill %d missing scheduled time(s)' % len(gap) in played.stdout
    assert report['dry_run'] is True and report['backfill']['figures']['would_backfill'] == len(gap)
    [task] = report['backfill']['tasks']
    assert task['outcome'] == 'would_backfill' and [epoch_of(when) for when in task['missing']] == gap


def test_a_refused_task_is_named_with_its_reason_and_nothing_is_created(sim, tmp_path):
    flux = ('import "slack"\noption task = {name: "notify", every: 10m}\nfrom(bucket: "b") |> range(start: -task.every)'
            ' |> slack.message(url: "https://slack.example", channel: "#a", text: "x", color: "good")\n')
    outage(sim, flux=flux)
    played, report = play(sim, tmp_path, retry_failed_runs_backfill=True)
    assert sim.requests_to(FORCE_ROUTE) == 0
    assert report['backfill']['figures']['outcomes']['refused'] == 1
    assert 'allow_side_effects' in report['backfill']['tasks'][0]['reason']
    assert 'refused 1 task(s)' in played.stdout and 'imports' in played.stdout
    assert '"kapacitor_backfill_refused": 1' in played.stdout and '"kapacitor_backfill_created": 0' in played.stdout


def test_without_retry_failed_runs_backfill_no_run_is_backfilled(sim, tmp_path):
    sim.load({'tasks': [{'name': 'rollup', 'every': '10m', 'schedule_runs': {
        'from': '-6h', 'failed_ratio': 0.1, 'seed': 3, 'outages': [{'from': '-3h', 'to': '-2h'}]}}]})
    played, report = play(sim, tmp_path)
    # The failed runs were retried (one retry request each), the gap was left alone.
    assert sim.requests_to(RETRY_ROUTE) == report['figures']['failed_found'] > 0
    assert sim.requests_to(FORCE_ROUTE) == 0
    assert report['backfill'] is None and '"backfill: ' not in played.stdout and 'backfill over' not in played.stdout
    assert '"kapacitor_backfill_missing": 0' in played.stdout
