"""The handlers of the Kapacitor Flux task API (docs/kapacitor-api.md, "Endpoint details" and "Retry semantics")."""

import bisect
import json
import threading
import time
from collections import namedtuple
from urllib.parse import urlencode

from .constants import DEFAULT_FLUX_ERROR, DEFAULT_LIMIT, DEFAULT_RETRY_ERROR, MAX_LIMIT, NS, POLL_SECONDS, TASKS_PREFIX
from .encoding import (
    APIError,
    Response,
    decode_error,
    encoded_json_response,
    go_atoi,
    go_json_type,
    go_marshal,
    go_quote,
    json_error_text,
    json_response,
    now_ns,
    parse_rfc3339,
)
from .flux_options import parse_task_options, rewrite_task_options
from .ids import fmt_id, parse_id
from .model import ClientGone, ExecutionPlan, Run, Task, finish_run
from .scheduler import LiveSchedule


class TaskAPI:
    """Handlers of the endpoints of docs/kapacitor-api.md §2 (rows 1-12). ``request`` gives method, params, query, body, user and a disconnect probe.

    InfluxDB 2 mode subclasses it (influxdb2.py): ``prefix``, ``task_json``, ``task_owner``, ``require_task`` and
    ``execute_manual_run`` are what differs; the listing code is the same."""

    prefix = TASKS_PREFIX

    def __init__(self, state):
        self.state = state

    def task_json(self, task):
        return task.to_json()

    def task_owner(self, req, body):
        """The owner and organization of a task created by ``req`` (Kapacitor: the user name, no organization)."""
        return req.user, None

    def require_task(self, req, task_id, verb, write=False):
        """Kapacitor's handlers look no task up before their own work (docs/kapacitor-api.md §4.4): nothing to do."""

    @staticmethod
    def decode_limit(query, out_of_bounds):
        """``limit``: default 100, Go's Atoi message for a non-integer, ``out_of_bounds`` outside 1..500 (docs/kapacitor-api.md §4.1, §4.4)."""
        if not query.get('limit'):
            return DEFAULT_LIMIT
        try:
            limit = go_atoi(query['limit'])
        except ValueError as exc:
            raise decode_error(str(exc)) from None
        if not 1 <= limit <= MAX_LIMIT:
            raise decode_error(out_of_bounds)
        return limit

    # -- tasks --------------------------------------------------------------------------------------------------------
    def list_tasks(self, req):
        query = req.query
        after = None
        if query.get('after'):
            after = self.decode_id(query['after'])
        limit = self.decode_limit(query, 'limit must be between 1 and 500')
        status = query.get('status') if query.get('status') in ('active', 'inactive') else None   # docs/kapacitor-api.md §4.1: others ignored
        name, user = query.get('name'), query.get('user')
        with self.state.lock:
            start = bisect.bisect_right(self.state.task_ids, after) if after is not None else 0
            tasks = []
            for task_id in self.state.task_ids[start:]:
                task = self.state.tasks[task_id]
                if (status and task.status != status) or (name and task.name != name) or (user and task.owner != user):
                    continue
                tasks.append(self.task_json(task))
                if len(tasks) >= limit:
                    break
        # docs/kapacitor-api.md §3.4: self/next rebuilt from after/limit/username only (name and status are dropped).
        params = {'limit': str(limit)}
        if after is not None:
            params['after'] = fmt_id(after)
        if user:
            params['username'] = user
        links = {'self': TASKS_PREFIX + '?' + urlencode(sorted(params.items()))}
        if tasks and len(tasks) >= limit:
            params['after'] = tasks[-1]['id']
            links['next'] = TASKS_PREFIX + '?' + urlencode(sorted(params.items()))
        return json_response(200, {'links': links, 'tasks': tasks})

    def create_task(self, req):
        body = self.decode_body(req, {'flux': str, 'description': str, 'status': str, 'type': str, 'orgID': str, 'org': str})
        if body.get('orgID') is not None:
            self.decode_id(body['orgID'])
        if not body.get('flux'):
            raise decode_error('missing flux')
        status = body.get('status') or 'active'
        if status not in ('active', 'inactive'):
            raise decode_error('invalid task status: %s' % go_quote(status))
        created = now_ns()
        created -= created % NS               # docs/kapacitor-api.md §3.1: createdAt truncated to the second
        with self.state.lock:
            owner, org_id = self.task_owner(req, body)
            task = Task(self.state.ids.live(), body['flux'], owner, created)
            task.org_id = org_id
            task.status = status
            task.description = body.get('description') or ''
            self.state.add_task(task)
            return json_response(201, self.task_json(task))

    def get_task(self, req):
        task_id = self.decode_id(req.params['id'])
        with self.state.lock:
            task = self.state.tasks.get(task_id)
            if task is None:
                raise APIError('not found', 'failed to find task: task not found')
            return json_response(200, self.task_json(task))

    def update_task(self, req):
        task_id = self.decode_id(req.params['id'])
        body = self.decode_body(req, {'flux': str, 'status': str, 'description': str, 'name': str, 'every': str,
                                      'cron': str, 'offset': str, 'concurrency': int, 'retry': int})
        options = {key: body[key] for key in ('name', 'every', 'cron', 'offset') if body.get(key) is not None}
        # TaskUpdate.Validate order (docs/kapacitor-api.md §4.3).
        if body.get('every') and body.get('cron'):
            raise decode_error('cannot specify both every and cron')
        if all(body.get(key) is None for key in ('flux', 'status', 'description', 'name', 'every', 'cron', 'offset', 'concurrency', 'retry')):
            raise decode_error('cannot update task without content')
        if body.get('status') is not None and body['status'] not in ('active', 'inactive'):
            raise decode_error('invalid task status: %s' % go_quote(body['status']))
        with self.state.lock:
            task = self.state.tasks.get(task_id)
            if task is None:
                raise APIError('not found', 'failed to update task: task not found')
            flux = body['flux'] if body.get('flux') is not None else task.flux
            try:
                if options:
                    flux = rewrite_task_options(flux, options)
                parsed = parse_task_options(flux)
            except APIError as exc:
                raise APIError(exc.code, 'failed to update task: ' + exc.message) from None
            now = now_ns()
            task.flux = flux
            task.apply_options(parsed)
            if task.live:   # the scheduler re-aligns the task from its latestScheduled (docs/backfill.md)
                try:
                    task.live = LiveSchedule(task, task.live.latest)
                except ValueError:
                    task.live = None                          # a schedule it cannot follow: no more live runs
            if body.get('description') is not None:
                task.description = body['description']
            if body.get('status') is not None:
                if task.status == 'inactive' and body['status'] == 'active':
                    task.latest_completed = now - now % NS    # docs/kapacitor-api.md §4.3: no backfill after re-activation
                    if task.live:
                        task.live.anchor(now // NS)           # and the live scheduler skips the inactive period
                task.status = body['status']
            task.updated_at = now
            return json_response(200, self.task_json(task))

    def delete_task(self, req):
        task_id = self.decode_id(req.params['id'])
        with self.state.lock:
            if self.state.tasks.pop(task_id, None) is None:
                raise APIError('not found', 'failed to delete task: task not found')
            self.state.task_ids.remove(task_id)
            task_runs = self.state.runs_of(task_id)
            # kv runs go with the task; completed history stays in InfluxDB (docs/kapacitor-api.md §4.3).
            task_runs.queued.clear()
            task_runs.running.clear()
        return Response(204)

    # -- runs ---------------------------------------------------------------------------------------------------------
    def list_runs(self, req):
        task_id, filters = self.decode_runs_request(req)
        with self.state.lock:
            self.require_task(req, task_id, 'failed to find runs')
            runs = self.find_runs(task_id, *filters)
            flux = self.state.task_flux(task_id)
            links = {'self': '%s/%s/runs' % (self.prefix, fmt_id(task_id)), 'task': '%s/%s' % (self.prefix, fmt_id(task_id))}
            runs = b','.join([run.listed_bytes(flux, self.prefix) for run in runs])
        # go_json({'links': links, 'runs': [...]}) byte for byte, from each run's kept encoding.
        body = b'{"links":' + go_marshal(links) + b',"runs":[' + runs + b']}\n'
        return encoded_json_response(200, body)

    def decode_runs_request(self, req):
        """Validation in the handler's order (docs/kapacitor-api.md §4.4)."""
        task_id = self.decode_id(req.params['id'])
        query = req.query
        after = self.decode_id(query['after']) if query.get('after') else None
        limit = self.decode_limit(query, 'run limit is out of bounds, must be between 1 and 500')
        times = []
        for key in ('afterTime', 'beforeTime'):
            value = None
            if query.get(key):
                try:
                    value = parse_rfc3339(query[key])
                except ValueError as exc:
                    raise decode_error(str(exc)) from None
            times.append(value)
        after_time, before_time = times
        if after_time is not None and before_time is not None and before_time <= after_time:
            raise decode_error('beforeTime must be later than afterTime')
        return task_id, (after, limit, after_time, before_time)

    def find_runs(self, task_id, after, limit, after_time, before_time):
        """AnalyticalStorage.FindRuns (docs/kapacitor-api.md §4.4): kv queued + running, then completed by scheduledFor desc."""
        now = now_ns()
        task_runs = self.state.runs.get(task_id)
        if task_runs is None:
            return []                              # unknown task: 200 [] (docs/kapacitor-api.md §4.4)
        task_runs.move_finished_to_history(now)
        kv_before = before_time if before_time is not None else now
        kv_runs = []
        # kv ignores `after` completely (docs/kapacitor-api.md §4.4).
        for run in task_runs.queued + sorted(task_runs.running.values(), key=lambda r: r.id):
            if (after_time is None or run.scheduled_for > after_time) and run.scheduled_for < kv_before:
                kv_runs.append(run)
                if len(kv_runs) >= limit:
                    return kv_runs
        if after_time is not None and before_time is None and after_time >= now:
            raise APIError('internal error', 'failed to find runs: given after time must be prior to before time')
        if after is not None:
            # The Flux filter on runID runs before pivot(), so it drops every completed run (docs/kapacitor-api.md §4.4).
            return kv_runs
        return kv_runs + self.completed_page(task_runs, now, after_time, before_time, limit - len(kv_runs))

    def completed_page(self, task_runs, now, after_time, before_time, size):
        """Flux ``sort(columns: ["scheduledFor"], desc: true) |> limit(n)``: sort is not stable, so runs that share a
        scheduledFor come back in any order (docs/kapacitor-api.md §4.4 point 4), a different one on every request here,
        including which of them a page cut keeps."""
        runs = []
        for run in task_runs.visible_completed(now, after_time, before_time, self.state.horizon_ns):
            if len(runs) >= size and run.scheduled_for != runs[-1].scheduled_for:
                break
            runs.append(run)
        start = 0
        while start < len(runs):
            stop = start + 1
            while stop < len(runs) and runs[stop].scheduled_for == runs[start].scheduled_for:
                stop += 1
            if stop - start > 1:
                ties = runs[start:stop]
                self.state.rng.shuffle(ties)
                runs[start:stop] = ties
            start = stop
        return runs[:size]

    def find_run(self, task_id, run_id):
        """FindRunByID: kv running first, then completed within 14 days; queued runs are not found (docs/kapacitor-api.md §4.5)."""
        task_runs = self.state.runs.get(task_id)
        if task_runs is None:
            return None
        now = now_ns()
        task_runs.move_finished_to_history(now)
        return task_runs.running.get(run_id) or task_runs.find_completed(run_id, now, self.state.horizon_ns)

    def request_run(self, req, verb):
        """The task ID, the run named by the path (404 ``<verb>: run not found`` without one) and its task's script."""
        task_id, run_id = self.decode_id(req.params['id']), self.decode_id(req.params['rid'])
        self.require_task(req, task_id, verb)
        run = self.find_run(task_id, run_id)
        if run is None:
            raise APIError('not found', verb + ': run not found')
        return run, self.state.task_flux(task_id)

    def get_run(self, req):
        with self.state.lock:
            run, flux = self.request_run(req, 'failed to find run')
            return json_response(200, run.to_json(flux, self.prefix))

    def task_logs(self, req):
        task_id = self.decode_id(req.params['id'])
        with self.state.lock:
            self.require_task(req, task_id, 'failed to find task logs')
            flux = self.state.task_flux(task_id)
            events = []
            for run in self.find_runs(task_id, None, DEFAULT_LIMIT, None, None):
                events.extend(run.log_entries(flux))
        return json_response(200, {'events': events or None})     # docs/kapacitor-api.md §3.5: nil slice -> null

    def run_logs(self, req):
        with self.state.lock:
            run, flux = self.request_run(req, 'failed to find task logs')
            events = list(run.log_entries(flux))
        return json_response(200, {'events': events or None})

    def cancel_run(self, req):
        """Only runs in kv can be cancelled (docs/kapacitor-api.md §4.8): kv cancelRun sets their status to canceled and
        saves them, then the executor cancels the run's promise and waits for it.

        A run with a worker ends failed once its query sees the cancelled context (docs/kapacitor-api.md §6.7). A run without
        one (a seeded run, or a finished one held in kv) has no promise: executor.Cancel returns at once
        (task/backend/executor/executor.go ``Cancel``), so the run stays in kv with status canceled."""
        task_id, run_id = self.decode_id(req.params['id']), self.decode_id(req.params['rid'])
        with self.state.lock:
            task_runs = self.state.runs.get(task_id)
            if task_runs is not None:
                task_runs.move_finished_to_history(now_ns())
            run = task_runs.running.get(run_id) if task_runs else None
            if run is None:
                raise APIError('not found', 'failed to cancel run: run not found')
            run.status = 'canceled'
            if run.done is None or run.done.is_set():
                return Response(200)
            run.cancel.set()
            done = run.done
        done.wait(10)
        return Response(200)

    def force_run(self, req):
        """POST /runs (docs/kapacitor-api.md §4.7): optional {"scheduledFor"} read only when 0 != Content-Length < 1000
        (a chunked body has the length -1, so it is always read)."""
        task_id = self.decode_id(req.params['id'])
        scheduled_for = None
        if req.content_length != 0 and req.content_length < 1000:
            value = self.decode_force_run_body(req.body)
            if value:
                try:
                    scheduled_for = parse_rfc3339(value)
                except ValueError as exc:
                    raise decode_error(str(exc)) from None
        if scheduled_for is None:
            scheduled_for = now_ns()
        # No alignment, range or history check (kv ForceRun: "may or may not align with the task's schedule").
        scheduled_for -= scheduled_for % NS
        with self.state.lock:
            self.require_task(req, task_id, 'failed to force run', write=True)
        run, plan = self.queue_manual_run('failed to force run', task_id, scheduled_for, retry=False)
        return self.execute_manual_run(req, run, plan, 'failed to force run', 201)

    @staticmethod
    def decode_force_run_body(raw):
        """json.NewDecoder(body).Decode into ``struct { ScheduledFor string `json:"scheduledFor"` }``: the first JSON
        value only (trailing bytes are never read), keys matched case-insensitively with the last one winning, null
        leaving the field empty; returns the string, '' when absent."""
        text = raw.decode('utf-8', 'replace')
        try:
            body, dummy = json.JSONDecoder().raw_decode(text, len(text) - len(text.lstrip()))
        except ValueError:
            raise decode_error(json_error_text(raw)) from None
        if body is None:
            return ''
        if not isinstance(body, dict):
            raise decode_error('json: cannot unmarshal %s into Go value of type struct { ScheduledFor string "json:\\"scheduledFor\\"" }'
                               % go_json_type(body))
        value = ''
        for key, item in body.items():
            if key.lower() != 'scheduledfor' or item is None:
                continue
            if not isinstance(item, str):
                raise decode_error('json: cannot unmarshal %s into Go struct field .scheduledFor of type string' % go_json_type(item))
            value = item
        return value

    def retry_run(self, req):
        """POST /retry (docs/kapacitor-api.md §6): 404 task, 404 run, 422 queued collision, then block while the new run executes."""
        task_id, run_id = self.decode_id(req.params['id']), self.decode_id(req.params['rid'])
        with self.state.lock:
            self.require_task(req, task_id, 'failed to retry run', write=True)
            if task_id not in self.state.tasks:
                raise APIError('not found', 'failed to retry run: task not found')
            original = self.find_run(task_id, run_id)
            if original is None:
                raise APIError('not found', 'failed to retry run: run not found')
            if original.id in self.state.runs_of(task_id).running and self.state.runs_of(task_id).manual_runs_key:
                # kv retryRun (docs/kapacitor-api.md §6.1 step 4): a run still in kv is copied into the manual runs with a
                # new ID, status scheduled, no startedAt/finishedAt/requestedAt, and its log kept; no 422 check.
                run, plan = self.queue_manual_run('failed to retry run', task_id, original.scheduled_for, retry=True, copy_of=original)
            else:
                # kv retryRun answered "run not found" (the run is in the history, or the task never had a manualRuns
                # key): ForceRun(taskID, original.ScheduledFor.Unix()). The original is never modified (§6.1, §6.2).
                run, plan = self.queue_manual_run('failed to retry run', task_id, original.scheduled_for, retry=True)
        return self.execute_manual_run(req, run, plan, 'failed to retry run', 200)

    def queue_manual_run(self, verb, task_id, scheduled_for, retry, copy_of=None):
        """Append a run to the task's manual runs: kv forceRun, or kv retryRun's copy of ``copy_of``."""
        with self.state.lock:
            task = self.state.tasks.get(task_id)
            if task is None:
                raise APIError('not found', verb + ': task not found')
            task_runs = self.state.runs_of(task_id)
            if copy_of is None and any(run.scheduled_for == scheduled_for for run in task_runs.queued):
                raise APIError('conflict', verb + ': run already queued')       # EConflict -> 422 (docs/kapacitor-api.md §5.1)
            run = Run(self.state.ids.live(), task_id, 'scheduled', scheduled_for)
            if copy_of is None:
                run.requested_at = now_ns()
            else:
                run.log_prefix = list(copy_of.log_entries(task.flux))
            task_runs.manual_runs_key = True
            run.manual = True
            run.created_by_retry = retry
            run.cancel = threading.Event()
            run.done = threading.Event()
            task_runs.queued.append(run)
            attempt = task_runs.attempts.get(scheduled_for, 0) + 1
            task_runs.attempts[scheduled_for] = attempt
            outcome = task.retry_outcomes[min(attempt, len(task.retry_outcomes)) - 1]
            stats = self.state.stats
            stats.retries_started += 1
            stats.retries_in_flight += 1
            stats.peak_concurrent_retries = max(stats.peak_concurrent_retries, stats.retries_in_flight)
            plan = ExecutionPlan(run.to_json(task.flux, self.prefix), outcome, task.queue_seconds, task.run_seconds, task.retry_error)
            return run, plan

    def execute_manual_run(self, req, run, plan, verb, success_status):
        """The coordinator blocks on the promise (docs/kapacitor-api.md §6.1 step 5, §6.6). The lock is not held while waiting.

        Returns the response, or None when the client disconnected (the run is then cancelled)."""
        created_json, outcome, queue_seconds, run_seconds, retry_error = plan
        state = self.state
        try:
            try:
                self.wait(req, run, queue_seconds)
                with state.lock:
                    task_runs = state.runs_of(run.task_id)
                    if run in task_runs.queued:
                        task_runs.queued.remove(run)
                    run.status = 'started'
                    run.started_at = now_ns()
                    run.flux = state.task_flux(run.task_id)
                    task_runs.running[run.id] = run
                self.wait(req, run, run_seconds)
            except ClientGone:
                with state.lock:
                    state.stats.disconnect_cancellations += 1
                    finish_run(state, run, 'failed', 'context canceled')
                return None
            answer = error = None
            with state.lock:
                if run.cancel.is_set():
                    finish_run(state, run, 'failed', 'context canceled')
                    error = APIError('internal error', verb + ': could not execute task run: context canceled')
                elif outcome == 'success':
                    finish_run(state, run, 'success', '')
                    answer = json_response(success_status, created_json)
                elif outcome == 'flux_error':
                    message = flux_error_message(retry_error)
                    finish_run(state, run, 'failed', message)
                    error = APIError('invalid', verb + ': ' + message)
                else:
                    finish_run(state, run, 'failed', retry_error)
                    error = APIError('internal error', verb + ': could not execute task run: ' + retry_error)
            # The executor's finish writes the run to the history before the promise is done, so a history_gap fault
            # ends before the answer: only other clients can list in the gap.
            if run.recorded_at is not None:
                time.sleep(max(0.0, (run.recorded_at - now_ns()) / NS))
            if error is not None:
                raise error
            return answer
        finally:
            with state.lock:
                state.stats.retries_in_flight -= 1
                run.done.set()

    @staticmethod
    def wait(req, run, seconds):
        """Sleep ``seconds`` on the client's socket: raise ClientGone as soon as it closes its side; return early once
        the run is canceled (seen within POLL_SECONDS, 50 ms)."""
        deadline = time.monotonic() + seconds
        while not run.cancel.is_set():
            remaining = deadline - time.monotonic()
            if req.client_gone(max(0, min(POLL_SECONDS, remaining))):
                raise ClientGone()
            if remaining <= 0:
                return

    # -- decoding -----------------------------------------------------------------------------------------------------
    @staticmethod
    def decode_id(text):
        try:
            return parse_id(text)
        except ValueError as exc:
            raise decode_error(str(exc)) from None

    @staticmethod
    def decode_body(req, fields):
        """json.Decoder into a Go struct: EOF for empty bodies, type errors named after the field."""
        if not req.body.strip():
            raise decode_error('EOF')
        try:
            body = json.loads(req.body)
        except ValueError:
            raise decode_error(json_error_text(req.body)) from None
        if not isinstance(body, dict):
            raise decode_error('json: cannot unmarshal %s into Go value of type struct' % go_json_type(body))
        for key, kind in fields.items():
            value = body.get(key)
            if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
                raise decode_error('json: cannot unmarshal %s into Go struct field .%s of type %s'
                                   % (go_json_type(value), key, 'string' if kind is str else 'int'))
        return body


def flux_error_message(retry_error):
    """The executor's error for a run whose outcome is ``flux_error``."""
    return 'could not parse Flux script: ' + (retry_error if retry_error != DEFAULT_RETRY_ERROR else DEFAULT_FLUX_ERROR)


# One request to a handler: method, path parameters, flat query, body, user, a probe for a client that went away, and
# Go's http.Request.ContentLength (-1 for a chunked body).
Request = namedtuple('Request', 'method params query body user client_gone content_length')
