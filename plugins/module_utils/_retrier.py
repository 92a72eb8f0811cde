# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Retrier: retries runs idempotently, with bounded concurrency, never re-sending a POST blindly.

One decision per (task, scheduled time) from all of its attempts (docs/design.md). The rules that keep it
exactly once:

* the attempt IDs known before a retry request are recorded; after an uncertain request (a reset, a
  time-out, a 429, a proxy's 5xx) only an attempt that was NOT known before counts as this call's;
* just before each request the scheduled time is listed again unless the decision is younger than
  ``recheck_after`` seconds: an attempt that appeared meanwhile was made by someone else, and nothing is sent;
* the retries run in a random order, so two jobs do not walk the same list in lock step;
* afterwards every scheduled time retried is listed once more (one listing per task) and any that gained
  more than one new attempt during the call is reported in ``duplicates``.

Kapacitor (and InfluxDB 2.0 and 2.1: ``runs_block``) answers a retry when the new run has finished. InfluxDB 2.2+
answers at once with the new run ``scheduled`` (docs/design.md, "InfluxDB 2"): with ``wait`` the Retrier reads the new
run until it has finished or ``retry_timeout`` passed, so the outcomes mean the same on both servers; either way a
worker sends its next retry only once its previous new run has finished (or reached its ``retry_timeout``), so that
``concurrency`` bounds the new runs in flight, not only the open requests. An inactive task's runs get
``task_inactive`` there and no request (InfluxDB would answer 400).
"""


import datetime
import random
import threading
import time

from ansible_collections.tickstack.kapacitor.plugins.module_utils._client import hint_for_status
from ansible_collections.tickstack.kapacitor.plugins.module_utils._errors import (
    AmbiguousRequest,
    InputError,
    KapacitorError,
    RateLimited,
    RequestError,
    ServerUnreachable,
)
from ansible_collections.tickstack.kapacitor.plugins.module_utils._listing import (
    collect_runs,
    map_concurrently,
    newest_finished,
    scheduled_window,
)
from ansible_collections.tickstack.kapacitor.plugins.module_utils._runs import (
    COMPLETED_STATUSES,
    FAILING_OUTCOMES,
    IN_PROGRESS_STATUSES,
    RUN_STATUSES,
    Window,
    attempt_key,
    check_id,
    classify_retry_response,
    compile_patterns,
    decide,
    epoch_to_rfc3339,
    horizon_words,
    id_created_at,
    latest_of,
    log_entries,
    rfc3339_to_epoch,
    run_error,
    scheduled_instant,
    server_label,
)

POLL_INTERVAL = 1.0
# A run InfluxDB 2 accepted (it answers at once, the run starts within about a second) is read this often: first after
# FOLLOW_FIRST seconds, then each wait FOLLOW_GROWTH times longer, up to FOLLOW_MAX.
FOLLOW_FIRST = 0.5
FOLLOW_GROWTH = 1.5
FOLLOW_MAX = 2.0
# A run InfluxDB has just finished is missing (404) only between its deletion from the kv store and its write to the
# _tasks bucket, which takes well under a second; a run missing for longer than this many seconds in a row is gone
# for another reason (its task was deleted, or the token lost read access) and is not waited for until retry_timeout.
MISSING_LIMIT = 10.0
# A retry request whose fate is unknown (or that got a 429) is sent again only after a listing of its scheduled
# time showed no new attempt, at most this many times in all, RETRY_RESEND_DELAY seconds (or Retry-After) apart.
RETRY_SENDS = 4
RETRY_RESEND_DELAY = 0.5
# A decision older than this is checked against a fresh listing of its scheduled time just before the request.
RECHECK_AFTER = 1.0
# Once a check finds an attempt another job made during this call, the thread waits up to this long (at random)
# before its next run: two jobs that race through the same list otherwise reach its last free scheduled times
# together, and a duplicate needs only their checks to fall within the few milliseconds before the other's POST.
CONTENTION_PAUSE = 0.25
# The module's failure message stays readable (and a playbook's output small) whatever the number of runs.
MESSAGE_LIMIT = 2000
# The placeholders of a failure message, for the IDs of a result entry that its reason names (one cause met by many
# runs is one reason), and how many of the differing IDs it names.
_ID_MARKS = (('<task_id>', ('task_id',)), ('<run_id>', ('run_id', 'latest_attempt_id')), ('<new_run_id>', ('new_run_id',)))
SHOWN_IDS = 3


class RunGone(KapacitorError):
    """A run InfluxDB accepted could not be read for longer than MISSING_LIMIT. ``task_deleted``: its task is gone too."""

    def __init__(self, message, task_deleted=False):
        super().__init__(message)
        self.task_deleted = task_deleted


def ended_or_unstarted(runs):
    """The request's run among the new ``runs`` of a scheduled time, after a blocking server answered a failure (500
    ``could not execute task run``): that answer comes once the run has ended, unless the executor could not start it
    at all (the same words: coordinator RunRetried/RunForced wrap the ManualRun error too), and then it stays queued.
    So: the newest run that has ended; else the newest still ``scheduled`` (never started, see ``never_started``);
    else None (only another client's run is under way: wait for it, as after any other answer)."""
    ended = [run for run in runs if run['status'] not in IN_PROGRESS_STATUSES]
    pool = ended or [run for run in runs if run['status'] == 'scheduled']
    return max(pool, key=lambda run: run['id']) if pool else None


def never_started(run):
    """Why a new run is still ``scheduled`` after its request was answered a failure (``ended_or_unstarted``)."""
    return ('the new run %s is still scheduled: the server could not start it, and it may stay queued; list the runs '
            'of this scheduled time before asking for it again' % run['id'])


def follow_run(client, task_id, run, timeout, clock, sleep):
    """Read a run InfluxDB 2 accepted (``GET .../runs/{id}``) until it has finished or ``timeout`` seconds passed.

    Returns ``(run as last seen, finished)``. A 404 is not an error at once: InfluxDB deletes a finished run from its
    kv store before it writes it to the ``_tasks`` bucket, so a run can be missing for a moment (docs/design.md,
    "InfluxDB 2"). Missing for more than MISSING_LIMIT seconds in a row (since it was last read, or since it was
    accepted), it is gone for another reason, and RunGone says which when the task tells."""
    deadline = clock() + timeout
    interval = FOLLOW_FIRST
    last = run
    seen_at = clock()
    while True:
        remaining = deadline - clock()
        if remaining <= 0:
            return last, False
        sleep(min(interval, remaining))
        interval = min(FOLLOW_MAX, interval * FOLLOW_GROWTH)
        seen = client.get_run(task_id, run['id'])
        if seen is None:
            if clock() - seen_at > MISSING_LIMIT:
                raise _gone(client, task_id, run['id'])
            continue
        seen_at = clock()
        last = seen
        if seen.get('status') in COMPLETED_STATUSES:
            return seen, True


def _gone(client, task_id, run_id):
    try:
        task = client.get_task(task_id)
    except KapacitorError:
        task = {}
    if task is None:
        return RunGone('task %s not found: it was deleted while its new run %s was followed' % (task_id, run_id),
                       task_deleted=True)
    # The same words for every run it happens to (the limit, not each run's own seconds): the failure message groups
    # them as one reason.
    return RunGone('InfluxDB no longer finds run %s of task %s (HTTP 404 for more than %g s, longer than a finished '
                   'run is missing while InfluxDB records it): the run was deleted, or the token lost read access to '
                   'it' % (run_id, task_id, MISSING_LIMIT))


def _shown(reason, members):
    """A grouped reason in words, at most about 500 characters: a placeholder whose ID is the same for every run of
    the group gets it back; the others stay, followed by the IDs they stood for (the first few), which are never cut."""
    varying = []
    for mark, dummy in _ID_MARKS:
        values = list(dict.fromkeys(ids[mark] for ids in members if mark in ids))
        if len(values) == 1:
            reason = reason.replace(mark, values[0])
        elif values:
            more = ' and %d more' % (len(values) - SHOWN_IDS) if len(values) > SHOWN_IDS else ''
            varying.append('%s: %s%s' % (mark, ', '.join(values[:SHOWN_IDS]), more))
    if len(reason) > 500:
        reason = reason[:497] + '...'
    return '%s (%s)' % (reason, '; '.join(varying)) if varying else reason


def failure_message(results, limit=MESSAGE_LIMIT):
    """The module's failure message: how many runs failed, identical reasons grouped with their counts, at most
    ``limit`` characters whatever the number of runs."""
    failing = [entry for entry in results if entry['outcome'] in FAILING_OUTCOMES]
    by_reason = {}   # the reason with the run's own IDs as placeholders -> the IDs each placeholder stood for, by run
    for entry in failing:
        # A server's words may name the run's own IDs (Kapacitor's 403 names the endpoint, IDs and all): one cause
        # met by many runs is still one reason.
        reason, ids = '%s: %s' % (entry['outcome'], entry['msg']), {}
        for mark, keys in _ID_MARKS:
            named = {entry[key] for key in keys if entry.get(key) and entry[key] in reason}
            if len(named) == 1:   # a reason naming both the run and its latest attempt keeps both
                ids[mark] = named.pop()
                reason = reason.replace(ids[mark], mark)
        by_reason.setdefault(reason, []).append(ids)
    groups = sorted(((len(members), _shown(reason, members)) for reason, members in by_reason.items()),
                    key=lambda group: -group[0])
    text = '%d of %d run(s) could not be retried' % (len(failing), len(results))
    for shown, (count, reason) in enumerate(groups):
        part = '%s%d run(s) %s' % ('; ' if shown else ': ', count, reason)
        if len(text) + len(part) > limit - 80:
            text += '; and %d other reason(s) for %d run(s): see results' % (
                len(groups) - shown, sum(count for count, dummy in groups[shown:]))
            break
        text += part
    return text


def _describe(value):
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return 'a boolean (%s)' % value
    if isinstance(value, (int, float)):
        return 'a number (%r)' % (value,)
    if isinstance(value, (list, tuple)):
        return 'a list'
    if isinstance(value, dict):
        return 'a dict'
    if isinstance(value, datetime.datetime):
        return 'a date and time (%s)' % value.isoformat()
    if isinstance(value, datetime.date):
        return 'a date (%s)' % value.isoformat()
    return repr(value)


def _entry_id(entry, names, where):
    """An ID field of a ``runs`` entry: a string of 16 hexadecimal characters (the first of ``names`` set)."""
    name = names[0]
    for candidate in names:
        if entry.get(candidate) is not None:
            name = candidate
            break
    value = entry.get(name)
    label = '%s.%s' % (where, name)
    if not isinstance(value, str) or not value.strip():
        raise InputError('%s is %s: expected a Kapacitor ID, a string of 16 hexadecimal characters (quote it in YAML)'
                         % (label, 'missing' if value is None else _describe(value) if value != '' else "''"))
    return check_id(value, label)


def _entry_count(entry, name, where):
    value = entry.get(name)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError('%s.%s is %s: expected a whole number of 1 or more' % (where, name, _describe(value)))
    return value


class RetryItem:
    """One run asked about, and the outcome it gets. ``hints`` are the fields of a ``runs`` entry the module may
    trust with ``refresh: false``; ``where`` names the entry in messages (``runs[3]``)."""

    def __init__(self, task_id, run_id, hints=None, where=None, task_name=None):
        self.task_id = task_id
        self.run_id = run_id
        self.hints = hints or {}
        self.where = where
        self.task_name = task_name
        self.key = None
        self.result = None
        self.same_as = None  # the item of this call that handled the same scheduled time

    @classmethod
    def from_entry(cls, entry, index):
        """Validate one ``runs`` entry (any YAML value) before anything is sent; InputError names the bad field."""
        where = 'runs[%d]' % index
        if not isinstance(entry, dict):
            raise InputError('%s is %s: expected a dict with task_id and run_id (or id)' % (where, _describe(entry)))
        task_id = _entry_id(entry, ('task_id',), where)
        run_id = _entry_id(entry, ('run_id', 'id'), where)
        hints = {}
        if entry.get('scheduled_for') is not None:
            value = entry['scheduled_for']
            if isinstance(value, bool) or not isinstance(value, (str, datetime.datetime)):
                raise InputError('%s.scheduled_for is %s: expected an RFC3339 time such as 2026-05-01T10:00:00Z (or '
                                 'leave it out)' % (where, _describe(value)))
            try:
                hints['scheduled_for'] = epoch_to_rfc3339(scheduled_instant(value))
            except InputError:
                raise InputError('%s.scheduled_for is %s: expected an RFC3339 time such as 2026-05-01T10:00:00Z (or '
                                 'leave it out)' % (where, _describe(value))) from None
        if entry.get('status') is not None:
            if entry['status'] not in RUN_STATUSES:
                raise InputError('%s.status is %s: expected one of %s' % (where, _describe(entry['status']),
                                                                          ', '.join(RUN_STATUSES)))
            hints['status'] = entry['status']
        for name in ('attempt', 'attempts'):
            if entry.get(name) is not None:
                hints[name] = _entry_count(entry, name, where)
        if 'attempt' in hints and 'attempts' in hints and hints['attempt'] > hints['attempts']:
            raise InputError('%s.attempt (%d) is more than %s.attempts (%d): expected attempt <= attempts'
                             % (where, hints['attempt'], where, hints['attempts']))
        if entry.get('finished_at') is not None:
            value = entry['finished_at']
            try:
                if isinstance(value, bool) or not isinstance(value, (str, datetime.datetime)):
                    raise InputError(value)
                rfc3339_to_epoch(value)
            except InputError:
                raise InputError('%s.finished_at is %s: expected an RFC3339 time such as 2026-05-01T10:00:00.5Z (or leave '
                                 'it out)' % (where, _describe(value))) from None
            hints['finished_at'] = value
        if 'error' in entry:  # null is a value too: the listing found no failure reason in the run's log
            if entry['error'] is not None and not isinstance(entry['error'], str):
                raise InputError('%s.error is %s: expected a string or null' % (where, _describe(entry['error'])))
            hints['error'] = entry['error']
        task_name = entry.get('task_name')
        if task_name is not None and not isinstance(task_name, str):
            raise InputError('%s.task_name is %s: expected a string' % (where, _describe(task_name)))
        return cls(task_id, run_id, hints, where=where, task_name=task_name)

    def hinted_run(self):
        """The run as ``kapacitor_task_runs_info`` described it, when it is the latest of its ``attempts``."""
        hints = self.hints
        if any(hints.get(name) in (None, '') for name in ('scheduled_for', 'status', 'attempt', 'attempts')):
            return None
        if int(hints['attempt']) != int(hints['attempts']):
            return None  # a later attempt exists that the input does not describe: look it up
        run = {'id': self.run_id, 'taskID': self.task_id, 'status': hints['status'], 'scheduledFor': hints['scheduled_for']}
        if hints.get('finished_at') is not None:
            run['finishedAt'] = hints['finished_at']
        if 'error' in hints:
            run['error'] = hints['error']
        return run


class Job:
    """A retry to make: the item, its decision, and what was known of its scheduled time when it was decided."""

    def __init__(self, item, decision, attempts, decided_at):
        self.item = item
        self.decision = decision
        self.count = len(attempts) if isinstance(attempts, list) else attempts
        self.known = {run['id'] for run in attempts} if isinstance(attempts, list) else {item.run_id}
        self.decided_at = decided_at
        self.sent = False

    def learn(self, attempts):
        self.known.update(run['id'] for run in attempts)

    def is_new(self, run):
        """True for an attempt that did not exist when this job was decided (IDs grow with time)."""
        return run['id'] not in self.known and run['id'] > max(self.known)


class Retrier:
    """Retries runs idempotently: one decision per (task, scheduled time) from all of its attempts.

    Options are keywords: ``max_attempts``, ``force``, ``concurrency``, ``retry_timeout`` (seconds a retry request
    may take, or on InfluxDB 2 the new run), ``wait`` (InfluxDB 2: wait for the new run's end; Kapacitor always
    does), ``check_mode``, ``refresh`` (False: trust the attempt fields of the input), ``recheck_after``,
    ``min_age`` (seconds a failed latest attempt must have finished before it is retried, else ``deferred``),
    ``skip_errors`` (regular expressions, strings or compiled: a latest attempt whose error matches one is
    ``skipped``); and, for tests, ``clock`` (monotonic seconds), ``wall`` (seconds since the epoch), ``sleep`` and
    ``shuffle``.
    """

    def __init__(self, client, *, max_attempts=3, force=False, concurrency=4, retry_timeout=1800.0, wait=True,
                 check_mode=False, refresh=True, recheck_after=RECHECK_AFTER, min_age=0.0, skip_errors=(),
                 clock=time.monotonic, wall=time.time, sleep=time.sleep, shuffle=None):
        self.client = client
        self.wait = wait
        self.max_attempts = max_attempts
        self.min_age = min_age
        self.skip_errors = compile_patterns(skip_errors, 'skip_errors')
        self.force = force
        self.concurrency = concurrency
        self.retry_timeout = retry_timeout
        self.check_mode = check_mode
        self.refresh = refresh
        self.recheck_after = recheck_after
        self._clock = clock
        self._wall = wall
        self._sleep = sleep
        self._shuffle = shuffle or random.Random().shuffle
        self._lock = threading.Lock()
        self._pending = threading.local()  # InfluxDB 2: the worker's last new run, (task ID, run, deadline)
        self._task_ids = ()
        self.duplicates = []
        self.unchecked = []  # tasks whose listing after the retries failed: duplicates there could not be seen
        self._started = self._wall()   # by this host's clock (compared by the server's: server_time)

    def _server_wall(self):
        """Now by the server's clock, which wrote the run times and IDs it is compared with (see server_time)."""
        return self.client.server_time(self._wall())

    @property
    def _influx(self):
        return self.client.server_type == 'influxdb2'

    # ---------------------------------------------------------------- listing

    def _list_times(self, task_id, epochs, keep_logs=False):
        """Every run of ``task_id`` scheduled at one of ``epochs`` (one windowed listing), grouped by attempt key."""
        runs, dummy = collect_runs(self.client, task_id, scheduled_window(epochs), keep_logs=keep_logs)
        groups = {}
        for run in runs:
            groups.setdefault(attempt_key(run), []).append(run)
        return groups

    def _attempts_of(self, job, keep_logs=False):
        target = job.decision.target
        return self._list_times(target['taskID'], [scheduled_instant(target['scheduledFor'])],
                                keep_logs).get(job.item.key, [])

    def _attempts_by_key(self, task_id, items):
        """Find the attempts of every scheduled time asked about for one task.

        Runs given with their ``scheduled_for`` cost one windowed listing for the task that covers them all.
        Bare run IDs are looked up with a GET each when there are few of them, otherwise by listing the whole
        run history once.
        """
        epochs = [scheduled_instant(item.hints['scheduled_for']) for item in items if item.hints.get('scheduled_for')]
        bare = [item for item in items if not item.hints.get('scheduled_for')]
        if bare and len(bare) <= 3:
            for item in bare:
                run = self.client.get_run(task_id, item.run_id)
                if run is not None:
                    epochs.append(scheduled_instant(run['scheduledFor']))
            bare = []
        if bare:
            runs, dummy = collect_runs(self.client, task_id, Window())
            groups = {}
            for run in runs:
                groups.setdefault(attempt_key(run), []).append(run)
            return groups
        return self._list_times(task_id, epochs) if epochs else {}

    def _why_missing(self, item, cache):
        """The true reason why a run is not among the runs of its task, in words (for ``not_found``)."""
        task_id, run_id = item.task_id, item.run_id
        if self._task(task_id, cache) is None:
            return 'task %s not found: it was deleted, or task_id is wrong' % task_id
        hinted = item.hints.get('scheduled_for')
        run = self.client.get_run(task_id, run_id)
        if run is not None and hinted and scheduled_instant(run['scheduledFor']) != scheduled_instant(hinted):
            return ('run %s is scheduled for %s, not %s as %s.scheduled_for says: correct it, or leave scheduled_for '
                    'out' % (run_id, run['scheduledFor'], hinted, item.where or 'the input'))
        for other in [task for task in self._task_ids if task != task_id][:5]:
            if self.client.get_run(other, run_id) is not None:
                return 'run %s is a run of task %s, not of task %s: check %s' % (
                    run_id, other, task_id, '%s.task_id' % item.where if item.where else 'task_id')
        created = id_created_at(run_id)
        when = epoch_to_rfc3339(created)
        horizon = self.client.horizon_seconds()
        words, server = horizon_words(horizon), server_label(self.client.server_type)
        if created < self._server_wall() - horizon + 60:
            return ('run %s not found: its ID dates from %s, %s ago or more, and %s only keeps runs of the last %s'
                    % (run_id, when, words, server, words))
        return ('run %s not found among the runs of task %s: its ID dates from %s, within the %s %s keeps, so it '
                'belongs to another task or is wrong' % (run_id, task_id, when, words, server))

    # ---------------------------------------------------------------- planning

    def plan(self, items):
        """Decide every item. Returns the Jobs to run; every other item gets its result."""
        by_task = {}
        for item in items:
            by_task.setdefault(item.task_id, []).append(item)
        self._task_ids = sorted(by_task)
        plans = map_concurrently(lambda task_id: self._plan_task(task_id, by_task[task_id]), self._task_ids,
                                 self.concurrency)
        return [job for jobs in plans for job in jobs]

    def _plan_task(self, task_id, items):
        trusted = set() if self.refresh else {id(item) for item in items if self._trusts(item)}
        listed = [item for item in items if id(item) not in trusted]
        try:
            groups = self._attempts_by_key(task_id, listed) if listed else {}
        except KapacitorError as exc:
            self._fail_all(items, self._reason(exc, 'could not list the runs of task %s' % task_id))
            return []
        decided_at = self._clock()
        decided = {}
        jobs = []
        cache = {}
        for item in sorted(items, key=lambda i: i.run_id, reverse=True):
            if id(item) in trusted:
                run = latest = item.hinted_run()
                attempts = int(item.hints['attempts'])
                count = attempts
                when = None  # decided from input of unknown age: always check again before sending
            else:
                run, attempts = self._find(groups, item)
                if run is None:
                    self._not_found(item, cache)
                    continue
                latest, count = latest_of(attempts)
                when = decided_at
            item.key = attempt_key(run)
            if item.key in decided:
                item.same_as = decided[item.key]
                self._finish(item, 'superseded', 'the same scheduled time as run %s, handled in this call'
                             % item.same_as.run_id, latest=latest, count=count, scheduled_for=run['scheduledFor'])
                continue
            decided[item.key] = item
            decision = self._decide(run, latest, count, self.force)
            if not decision.retry:
                self._finish(item, decision.outcome, decision.msg, latest=latest, count=count)
            elif self._blocked(item, cache, latest, count):
                continue
            elif self.check_mode:
                self._finish(item, 'would_retry', 'would retry run %s (check mode)' % decision.target['id'],
                             latest=latest, count=count)
            else:
                jobs.append(Job(item, decision, attempts, when))
        return jobs

    def _trusts(self, item):
        """With ``refresh: false``: whether the item's own fields say all that deciding it needs, so that it is not
        listed. The policy needs the latest attempt's ``finished_at`` (``min_age``) and ``error`` (``skip_errors``);
        an item without them is listed like any other, never guessed about."""
        hinted = item.hinted_run()
        if hinted is None or hinted['status'] != 'failed':
            return hinted is not None
        if self.min_age and 'finishedAt' not in hinted:
            return False
        return not self.skip_errors or 'error' in hinted

    def _decide(self, requested, latest, count, force):
        if self.min_age:
            self.client.ensure_clock()   # measured by the server's clock, even when nothing was asked before
        return decide(requested, latest, count, self.max_attempts, force, now=self._server_wall(), min_age=self.min_age,
                      skip_errors=self.skip_errors)

    def _task(self, task_id, cache):
        """The task (one GET per task and call, kept in ``cache``), or None when it does not exist."""
        if 'task' not in cache:
            cache['task'] = self.client.get_task(task_id)
        return cache['task']

    def _blocked(self, item, cache, latest, count):
        """Whether a retry decided for ``item`` is not to be sent (then the item has its result): in check mode a
        deleted task, whose runs are still listed, would answer 404, so ``not_found`` is predicted; on InfluxDB 2 the
        task must exist and be active, since InfluxDB refuses to retry a run of an inactive task (400)."""
        if not (self.check_mode or self._influx):
            return False
        try:
            task = self._task(item.task_id, cache)
        except KapacitorError as exc:
            self._finish(item, 'error', self._reason(exc, 'could not look up task %s' % item.task_id), latest=latest,
                         count=count)
            return True
        if task is None:
            self._finish(item, 'not_found', 'task %s not found: it was deleted, or task_id is wrong' % item.task_id,
                         latest=latest, count=count)
            return True
        if self._influx and task.get('status') != 'active':
            self._finish(item, 'task_inactive', 'task %s is %s, and InfluxDB does not retry runs of an inactive task, so '
                         'no retry was sent; activate the task to retry this scheduled time'
                         % (item.task_id, task.get('status')), latest=latest, count=count)
            return True
        return False

    def _not_found(self, item, cache):
        try:
            self._finish(item, 'not_found', self._why_missing(item, cache))
        except KapacitorError as exc:
            self._finish(item, 'error', self._reason(exc, 'run %s was not listed, and looking it up failed' % item.run_id))

    @staticmethod
    def _find(groups, item):
        for attempts in groups.values():
            for run in attempts:
                if run['id'] == item.run_id:
                    return run, attempts
        return None, []

    # ---------------------------------------------------------------- execution

    def run(self, items):
        """Decide and retry every item; returns one result per item, in order. ``self.duplicates`` lists the
        scheduled times that gained more than one new attempt during the call."""
        self._started = self._wall()
        jobs = self.plan(items)
        self._shuffle(jobs)
        map_concurrently(self._retry, jobs, self.concurrency)
        for item in items:
            if item.same_as is not None and item.same_as.result is not None:
                first = item.same_as.result
                item.result.update(status_after=first['status_after'], attempts_after=first['attempts_after'])
        self.duplicates = self._detect_duplicates([job for job in jobs if job.sent])
        return [item.result for item in items]

    def refuse(self, items, msg):
        """Give every item the outcome ``error`` with one reason; nothing is sent."""
        self._fail_all(items, msg)
        return [item.result for item in items]

    def _fail_all(self, items, msg):
        for item in items:
            self._finish(item, 'error', msg)

    def _recheck(self, job):
        """List the scheduled time again just before sending. Returns True when the retry may still be sent."""
        if job.decided_at is not None and self._clock() - job.decided_at < self.recheck_after:
            return True
        item, target = job.item, job.decision.target
        attempts = self._attempts_of(job)
        if not any(run['id'] == target['id'] for run in attempts):
            self._not_found(item, {})
            return False
        newcomers = [run for run in attempts if job.is_new(run)]
        job.learn(attempts)
        if not newcomers:
            job.count = len(attempts)
            return True
        latest, count = latest_of(attempts)
        requested = next((run for run in attempts if run['id'] == item.run_id), target)
        decision = self._decide(requested, latest, count, False)
        outcome = 'superseded' if decision.retry or decision.outcome == 'not_failed' else decision.outcome
        # An attempt created after this call started is another job's at work; an older one was only missing from
        # the input (refresh: false on a stale listing).
        racing = any(id_created_at(run['id']) >= self.client.server_time(self._started) - 1 for run in newcomers)
        if racing:
            msg = 'another job created attempt %d (run %s, status %s) during this call, so it was not retried here'
        else:
            msg = 'a later attempt than the input described exists, attempt %d (run %s, status %s), so it was not retried here'
        msg %= (count, latest['id'], latest['status'])
        if outcome != 'superseded':
            msg = '%s; %s' % (msg, decision.msg)
        self._finish(item, outcome, msg, latest=latest, count=count)
        if racing:
            self._sleep(random.uniform(0, CONTENTION_PAUSE))
        return False

    def _retry(self, job):
        item, decision = job.item, job.decision
        target = decision.target
        try:
            self._pace()
            if not self._recheck(job):
                return
            sends = 0
            while True:
                sends += 1
                try:
                    outcome, message, new_run, delay = self._post(item, target)
                except RequestError as exc:
                    job.sent = job.sent or exc.sent
                    raise
                job.sent = job.sent or outcome not in ('rate_limited', 'task_inactive')  # those did nothing
                if outcome == 'accepted':
                    outcome, message, new_run = self._follow(job, new_run)
                    break
                if outcome == 'not_found':
                    self._finish(item, 'not_found', self._why_missing(item, {}), latest=target, count=job.count)
                    return
                if outcome == 'timed_out':
                    new_run = self._new_attempt(job)
                    outcome, message = self._timed_out(job, new_run)
                    break
                if outcome not in ('ambiguous', 'rate_limited'):
                    if outcome == 'retried_failed':   # answered once the run had ended: one listing shows it
                        run = ended_or_unstarted(self._new_runs(job))
                        if run is None:
                            new_run = self._new_attempt(job) or new_run
                        elif run['status'] == 'scheduled':
                            outcome, message = 'error', '%s; %s' % (message, never_started(run))
                        else:
                            new_run = run
                    break
                # The fate of the request is unknown (or it was refused with 429): wait, then look. A new attempt
                # that was not there before the request is this request's; only when none appeared may the request
                # be sent again.
                self._sleep(delay)
                new_run = self._new_attempt(job)
                if new_run is not None:
                    outcome, message = self._outcome_of(new_run)
                    break
                if sends >= RETRY_SENDS:
                    self._finish(item, 'error', 'the retry request was sent %d times without a confirmed outcome '
                                 '(last: %s), and no new attempt appeared' % (sends, message), latest=target,
                                 count=job.count)
                    return
        except KapacitorError as exc:
            reason = self._reason(exc)
            if job.sent and isinstance(exc, ServerUnreachable):
                reason = 'the retry request was sent, but its outcome is unknown: %s' % reason
            elif job.sent:
                reason = 'the retry request may have been sent, but its outcome is unknown: %s' % reason
            self._finish(item, 'error', reason, latest=target, count=job.count)
            return
        if outcome in ('retried', 'retried_failed'):
            message = '%s: %s' % (decision.msg, message) if message else decision.msg
        elif outcome == 'task_inactive':
            message = ('InfluxDB refused the retry because task %s is inactive (%s); no run was created. Activate the task '
                       'to retry this scheduled time' % (item.task_id, message))
        self._finish(item, outcome, message, latest=target, count=job.count, new_run=new_run)

    def _post(self, item, target):
        """POST the retry once. Returns ``(outcome, message, new run or None, seconds to wait before looking again)``;
        the outcome is ``ambiguous`` when the request's fate is unknown, ``rate_limited`` for a 429 and
        ``timed_out`` when ``retry_timeout`` passed without an answer."""
        started = self._clock()
        try:
            status, body, server_message = self.client.retry_run(item.task_id, target['id'], self.retry_timeout)
        except RateLimited as exc:
            return 'rate_limited', str(exc), None, exc.retry_after
        except AmbiguousRequest as exc:
            if self._clock() - started >= self.retry_timeout * 0.99:
                return 'timed_out', exc.message, None, 0
            return 'ambiguous', exc.message, None, RETRY_RESEND_DELAY
        blocking = self.client.runs_block
        outcome = classify_retry_response(status, server_message, blocking=blocking)
        if outcome == 'retried' and not blocking:  # accepted: the new run is scheduled, its fate still to come
            if not isinstance(body.get('id'), str) or not body['id']:  # not InfluxDB's answer: look before resending
                return 'ambiguous', 'HTTP %d without the ID of a new run' % status, None, RETRY_RESEND_DELAY
            return 'accepted', None, {'id': body['id'], 'status': body.get('status') or 'scheduled'}, 0
        if outcome == 'retried':
            return outcome, 'new run %s succeeded' % body.get('id'), {'id': body.get('id'), 'status': 'success'}, 0
        message = 'HTTP %d: %s' % (status, server_message)
        if outcome == 'ambiguous':
            return outcome, message, None, RETRY_RESEND_DELAY
        hint = hint_for_status(status, server_message, server_type=self.client.server_type) if outcome == 'error' else None
        if hint:
            message = '%s. %s' % (message.rstrip('.'), hint)
        return outcome, message, None, 0

    def _follow(self, job, new_run):
        """InfluxDB 2 accepted the retry: with ``wait``, read the new run until it has finished or ``retry_timeout``
        passed; without, report it as it was accepted and leave the wait to this worker's next retry (``_pace``)."""
        task_id = job.item.task_id
        if not self.wait:
            self._pending.run = (task_id, new_run, self._clock() + self.retry_timeout)
            return 'retried', 'new run %s is %s (wait is false, so its end was not waited for)' % (
                new_run['id'], new_run['status']), new_run
        try:
            run, finished = follow_run(self.client, task_id, new_run, self.retry_timeout, self._clock, self._sleep)
        except RunGone as exc:
            return 'not_found' if exc.task_deleted else 'error', str(exc), new_run
        except KapacitorError as exc:
            # The new run's ID is in the result (new_run_id), not in the message: a server that died while many runs
            # were being followed gives them one reason, which the failure message groups.
            return 'error', ('InfluxDB accepted the retry (new_run_id), but reading the new run failed, so how it ends '
                             'is unknown: %s' % self._reason(exc)), new_run
        if finished:
            outcome, message = self._outcome_of(run)
            return outcome, message, run
        return 'timed_out', ('retry_timeout (%g s) passed while the new run %s was still %s; InfluxDB goes on with it, '
                             'and a later call sees how it ended. It is attempt %d of max_attempts %d'
                             % (self.retry_timeout, run['id'], run['status'], job.count + 1, self.max_attempts)), run

    def _pace(self):
        """With ``wait: false`` on InfluxDB 2: before this worker sends another retry, its previous new run must have
        finished (or reached its ``retry_timeout``), so that at most ``concurrency`` new runs of this call are
        unfinished at once. A failure to read it ends the wait: the next request meets the same trouble."""
        pending = getattr(self._pending, 'run', None)
        if pending is None:
            return
        self._pending.run = None
        task_id, run, deadline = pending
        try:
            follow_run(self.client, task_id, run, deadline - self._clock(), self._clock, self._sleep)
        except KapacitorError:
            return

    def _new_attempt(self, job):
        """After an uncertain, timed-out or failed request, list the scheduled time again and return the newest
        attempt that did not exist before the request, waiting for it to finish (up to ``retry_timeout``)."""
        return newest_finished(lambda: self._new_runs(job), self.retry_timeout, self._clock, self._sleep, POLL_INTERVAL)

    def _new_runs(self, job):
        """The attempts of the job's scheduled time that did not exist before its request (one listing, with logs)."""
        return [run for run in self._attempts_of(job, keep_logs=True) if job.is_new(run)]

    def _timed_out(self, job, new_run):
        """The outcome after ``retry_timeout`` passed without an answer: a server whose POST blocks (Kapacitor,
        InfluxDB 2.0 and 2.1) cancels a run whose client hangs up; InfluxDB 2.2 and later cancel nothing (they answer
        before running), so the new run ends as it would have."""
        blocking = self.client.runs_block
        waited = 'retry_timeout is %s seconds: the module stopped waiting for the retry request after that long' % (
            '%g' % self.retry_timeout)
        if new_run is None:
            maybe = 'it may have been cancelled before it was recorded' if blocking else 'InfluxDB did not create one'
            return 'timed_out', ('%s, and no new attempt of this scheduled time is listed (%s). Raise retry_timeout above '
                                 'the time the task takes' % (waited, maybe))
        if new_run['status'] == 'success':
            return 'retried', 'new run %s succeeded (its answer came after retry_timeout)' % new_run['id']
        if new_run['status'] in IN_PROGRESS_STATUSES:
            return 'retried', ('new run %s is still %s after retry_timeout (%g s)'
                               % (new_run['id'], new_run['status'], self.retry_timeout))
        if not blocking:
            return self._outcome_of(new_run)
        return 'timed_out', ('%s, so %s cancelled the new run %s because the client gave up (it ended %s). '
                             'That used attempt %d of max_attempts %d. Raise retry_timeout above the time the task takes'
                             % (waited, server_label(self.client.server_type), new_run['id'], new_run['status'],
                                job.count + 1, self.max_attempts))

    @staticmethod
    def _outcome_of(new_run):
        status = new_run['status']
        if status == 'success':
            return 'retried', 'new run %s succeeded' % new_run['id']
        if status in IN_PROGRESS_STATUSES:
            return 'retried', 'new run %s is still %s' % (new_run['id'], status)
        error = new_run['error'] if 'error' in new_run else run_error(new_run)
        return 'retried_failed', 'new run %s ended %s%s' % (new_run['id'], status, ': %s' % error if error else '')

    # ---------------------------------------------------------------- after the retries

    def _detect_duplicates(self, jobs):
        """Every scheduled time retried here that gained more than one new attempt during the call: one listing
        per task, whatever the number of runs."""
        by_task = {}
        for job in jobs:
            by_task.setdefault(job.item.task_id, []).append(job)

        def check(task_id):
            task_jobs = by_task[task_id]
            try:
                groups = self._list_times(task_id, [scheduled_instant(job.decision.target['scheduledFor'])
                                                    for job in task_jobs])
            except KapacitorError as exc:
                with self._lock:
                    self.unchecked.append({'task_id': task_id, 'reason': self._reason(exc)})
                return []
            found = []
            for job in task_jobs:
                new = sorted(run['id'] for run in groups.get(job.item.key, []) if job.is_new(run))
                if len(new) > 1:
                    found.append({'task_id': task_id, 'task_name': job.item.task_name,
                                  'scheduled_for': job.decision.target['scheduledFor'], 'new_attempts': new})
            return found

        return [dup for dups in map_concurrently(check, sorted(by_task), self.concurrency) for dup in dups]

    # ---------------------------------------------------------------- results

    @staticmethod
    def _reason(exc, what=None):
        """The words for an error; a server that became unreachable gives one reason shared by every run."""
        if isinstance(exc, ServerUnreachable):  # without the method and URL, which differ from run to run
            return '%s. %s' % (exc.message.rstrip('.'), exc.hint) if exc.hint else exc.message
        return '%s: %s' % (what, exc) if what else str(exc)

    def _finish(self, item, outcome, msg, latest=None, count=None, new_run=None, scheduled_for=None):
        if scheduled_for is None:
            scheduled_for = latest['scheduledFor'] if latest else item.hints.get('scheduled_for')
        result = {
            'task_id': item.task_id,
            'task_name': item.task_name,
            'run_id': item.run_id,
            'scheduled_for': scheduled_for,
            'outcome': outcome,
            'msg': msg,
            'attempts': count,
            'latest_attempt_id': latest and latest.get('id'),
            'status_before': latest and latest.get('status'),
            'new_run_id': new_run and new_run.get('id'),
            'status_after': None,
            'attempts_after': count,
            'log': [],
        }
        if new_run is not None:
            result['status_after'] = new_run.get('status')
            result['attempts_after'] = (count or 0) + 1
            result['log'] = [entry.get('message') for entry in log_entries(new_run)][-5:]
        elif outcome in ('retried', 'retried_failed'):
            result['status_after'] = 'success' if outcome == 'retried' else 'failed'
            result['attempts_after'] = (count or 0) + 1
        else:
            result['status_after'] = result['status_before']
        with self._lock:
            item.result = result
