"""The ``/_sim/...`` control API: the tests' back door into the simulator (docs/simulator.md, "Control API").

Not part of Kapacitor: it loads scenarios, shows every run the simulator holds, counts requests and injects faults.
"""

import json
from urllib.parse import parse_qs

from .encoding import APIError, format_time, json_response, now_ns
from .ids import fmt_id, parse_id
from .model import Faults
from .scenarios import load_scenario


def handle_control(state, method, path, raw_query, body):
    """Answer one control request; bad input is a 400 ``{"error": ...}``."""
    try:
        return _route(state, method, path, parse_qs(raw_query), body)
    except (ValueError, KeyError, TypeError, APIError) as exc:
        message = exc.message if isinstance(exc, APIError) else str(exc)
        return json_response(400, {'error': message})


def _route(state, method, path, query, body):
    if (method, path) == ('POST', '/_sim/scenario'):
        return json_response(200, load_scenario(state, json.loads(body or b'{}')))
    if (method, path) == ('GET', '/_sim/state'):
        return json_response(200, state_view(state))
    if (method, path) == ('GET', '/_sim/attempts'):
        task_filter = parse_id(query['task_id'][0]) if query.get('task_id') else None
        return json_response(200, attempts_view(state, task_filter))
    if (method, path) == ('GET', '/_sim/stats'):
        with state.lock:
            return json_response(200, state.stats.to_json())
    if (method, path) == ('POST', '/_sim/stats/reset'):
        with state.lock:
            in_flight = state.stats.retries_in_flight
            state.stats.reset()
            state.stats.retries_in_flight = in_flight
            state.stats.peak_concurrent_retries = in_flight
            return json_response(200, state.stats.to_json())
    if (method, path) == ('POST', '/_sim/faults'):
        faults = Faults(json.loads(body or b'{}'))
        with state.lock:
            state.faults = faults
        return json_response(200, {'ok': True})
    if (method, path) == ('POST', '/_sim/scheduler'):
        running = json.loads(body or b'{}').get('running')
        if not isinstance(running, bool):
            raise ValueError('expected {"running": true} or {"running": false}')
        state.scheduler.set_running(running)
        return json_response(200, {'running': running})
    if (method, path) == ('POST', '/_sim/stop'):
        return json_response(200, {'ok': True})     # the handler stops the server once this is sent
    return json_response(404, {'error': 'unknown control route %s %s' % (method, path)})


def state_view(state):
    """Every task and every run, including runs beyond the 14-day horizon."""
    with state.lock:
        tasks = [state.task_view(state.tasks[tid]) for tid in state.task_ids]
        runs = []
        now = now_ns()
        for task_id, task_runs in sorted(state.runs.items()):
            task_runs.move_finished_to_history(now)
            for run in sorted(task_runs.queued + list(task_runs.running.values()) + task_runs.completed, key=lambda r: r.id):
                runs.append({'id': fmt_id(run.id), 'task_id': fmt_id(task_id), 'status': run.status,
                             'scheduled_for': format_time(run.scheduled_for),
                             'started_at': run.started_at and format_time(run.started_at),
                             'finished_at': run.finished_at and format_time(run.finished_at),
                             'requested_at': run.requested_at and format_time(run.requested_at), 'manual': run.manual,
                             'in_kv': run in task_runs.queued or run.id in task_runs.running})
        return {'tasks': tasks, 'runs': runs}


def attempts_view(state, task_filter=None):
    """Attempts grouped per task and scheduledFor, sorted by ID."""
    with state.lock:
        out = {}
        for task_id, task_runs in sorted(state.runs.items()):
            if task_filter is not None and task_id != task_filter:
                continue
            groups = {}
            for run in task_runs.queued + list(task_runs.running.values()) + task_runs.completed:
                groups.setdefault(run.scheduled_for, []).append(run)
            out[fmt_id(task_id)] = {
                format_time(sf): [{'id': fmt_id(r.id), 'status': r.status, 'manual': r.manual, 'created_by_retry': r.created_by_retry}
                                  for r in sorted(runs, key=lambda r: r.id)]
                for sf, runs in sorted(groups.items())}
        return out
