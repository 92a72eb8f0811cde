"""InfluxDB 2 mode (``--flavor influxdb2``): what InfluxDB 2.7 OSS, and Cloud where noted, does differently from
Kapacitor (docs/influxdb2-api.md, cited as "docs/influxdb2-api.md §N").

Kapacitor's Flux task engine is a port of InfluxDB's, so the task and run records, the runs listing, the scenario
format and the ``/_sim/`` control API are the Kapacitor simulator's own code. What differs lives here: the
``/api/v2`` root, ``/ping``, ``/health`` and the UI page, token authentication, organizations and the task listing's
owner-only default, the authorizer's checks (unknown task, inactive task, permissions), asynchronous retries and
manual runs on a 1-second ticker, the ``_tasks`` bucket and its retention.
"""

import bisect
import re
import threading
import time
from collections import namedtuple
from urllib.parse import parse_qs, urlencode

from .api import TaskAPI, flux_error_message
from .constants import HORIZON_NS, NS
from .encoding import APIError, Response, decode_error, error_response, format_time, go_quote, json_response, now_ns
from .ids import fmt_id, parse_id
from .model import finish_run
from .routing import ROUTER_METHODS, has_handler, match_route, route_template

INFLUX_VERSION = 'v2.7.12'
INFLUX_COMMIT = 'ec9dcde5d6'
TASKS_RETENTION_SECONDS = 3 * 86400     # bucket.go TasksSystemBucketRetention (docs/influxdb2-api.md §4.2)
MONITORING_RETENTION_SECONDS = 7 * 86400
API_ROOT = '/api/v2'
TASKS = API_ROOT + '/tasks'
DEFAULT_ORG_ID, DEFAULT_ORG = '0000000000000a01', 'sim-org'
DEFAULT_USER_ID = '0000000000000b01'
DEFAULT_TOKEN = 'sim-token'
TICK_SECONDS = 1.0                      # executor.processScheduledTasks: time.Tick(1 * time.Second)
MAX_WORKERS = 100                       # executor.defaultMaxWorkers
UI_PAGE = (b'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>InfluxDB</title></head>'
           b'<body><div id="react-root"></div></body></html>\n')
HTML_HEADERS = [('Content-Type', 'text/html; charset=utf-8')]

# An API token: its user, the organizations it may read, whether it may write tasks and read buckets.
Token = namedtuple('Token', 'user_id org_ids write read_buckets')


class Tenancy:
    """Organizations and tokens of a scenario (optional keys ``orgs`` and ``tokens``; docs/simulator.md).

    Defaults: one organization ``sim-org`` (``0000000000000a01``) and one all-access token ``sim-token`` of user
    ``0000000000000b01``, the owner of every scenario task that names no ``owner``."""

    def __init__(self, scenario, cloud=False):
        self.cloud = cloud   # InfluxDB Cloud (--influx-version ''): only Cloud has stored scripts
        self.orgs = {}
        for spec in scenario.get('orgs') or [{'id': DEFAULT_ORG_ID, 'name': DEFAULT_ORG}]:
            self.orgs[parse_id(spec['id'])] = str(spec['name'])
        self.default_org = next(iter(self.orgs))
        self.tokens = {}
        for spec in scenario.get('tokens') or [{'token': DEFAULT_TOKEN}]:
            user_id = fmt_id(parse_id(spec.get('user_id', DEFAULT_USER_ID)))
            org_ids = frozenset(self.orgs) if spec.get('operator') else frozenset([self.org_of(spec, 'token %r' % spec['token'])])
            self.tokens[str(spec['token'])] = Token(user_id, org_ids, spec.get('write', True) is not False,
                                                    spec.get('read_buckets', True) is not False)
        self.default_owner = next(iter(self.tokens.values())).user_id

    def reload(self, scenario):
        return Tenancy(scenario, self.cloud)

    def by_name(self, name):
        for org_id, org_name in self.orgs.items():
            if org_name == name:
                return org_id
        return None

    def org_of(self, spec, what):
        """The organization a scenario entry names with ``org_id`` or ``org`` (a name); the first one otherwise."""
        if spec.get('org_id'):
            org_id = parse_id(spec['org_id'])
        elif spec.get('org'):
            org_id = self.by_name(spec['org'])
        else:
            return self.default_org
        if org_id not in self.orgs:
            raise ValueError('%s: unknown organization %r; expected one of the scenario orgs %s'
                             % (what, spec.get('org_id') or spec.get('org'), sorted(self.orgs.values())))
        return org_id

    def adopt(self, task, spec):
        """Give a scenario task its organization, owner (a user ID) and type: ``system`` for a task created through the
        task API, the check's or notification rule's type (``threshold``, ``deadman``, ``slack``...) for the task
        InfluxDB creates for one (docs/influxdb2-api.md §3)."""
        task.org_id = self.org_of(spec, 'task %r' % task.name)
        task.type = spec.get('type') or 'system'
        if not isinstance(task.type, str):
            raise ValueError('task %r: type %r is not a string; expected system or the type of a check or notification '
                             'rule, such as threshold' % (task.name, task.type))
        task.owner = fmt_id(parse_id(spec['owner'])) if spec.get('owner') else self.default_owner
        if spec.get('script_id'):   # InfluxDB Cloud's script tasks: scriptID instead of flux in the task object
            if not self.cloud:
                raise ValueError("task %r: script_id is for InfluxDB Cloud (--influx-version ''), the only InfluxDB 2 "
                                 'with stored scripts' % task.name)
            task.script_id = fmt_id(parse_id(spec['script_id']))


class Executor:
    """executor.ScheduleManualRun and processScheduledTasks (docs/influxdb2-api.md §5.1, §5.2): a manual run or retry is a
    promise that a 1-second ticker hands to a worker once its scheduledFor has come; it runs with a background
    context, so no client can cancel it by going away."""

    def __init__(self, state, tick=TICK_SECONDS):
        self.state = state
        self.tick = tick
        self.pending = []                   # (run, plan, monotonic time before which it may not start)
        self.workers = threading.BoundedSemaphore(MAX_WORKERS)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.loop, name='influxdb2-executor', daemon=True)
        self.thread.start()

    def schedule(self, run, plan):
        with self.state.lock:
            self.pending.append((run, plan, time.monotonic() + plan.queue_seconds))

    def held(self, run):
        """Whether kv still holds the run: not when its task was deleted or the scenario replaced since."""
        task_runs = self.state.runs.get(run.task_id)
        return task_runs is not None and task_runs.running.get(run.id) is run

    def loop(self):
        while not self.stopped.wait(self.tick):
            now, clock = now_ns(), time.monotonic()
            with self.state.lock:
                due = [item for item in self.pending if item[0].scheduled_for <= now and item[2] <= clock]
                self.pending = [item for item in self.pending if not (item[0].scheduled_for <= now and item[2] <= clock)]
            for run, plan, dummy in due:
                threading.Thread(target=self.execute, args=(run, plan), daemon=True).start()

    def execute(self, run, plan):
        """Start the run, let it run ``run_seconds`` and finish it as the scenario's ``retry_outcomes`` say."""
        state = self.state
        try:
            with self.workers:
                with state.lock:
                    if not self.held(run):
                        return
                    if not run.cancel.is_set():
                        run.status = 'started'
                        run.started_at = now_ns()
                        run.flux = state.task_flux(run.task_id)
                run.cancel.wait(plan.run_seconds)
                with state.lock:
                    if not self.held(run):
                        return
                    if run.cancel.is_set():
                        finish_run(state, run, 'failed', 'context canceled')
                    elif plan.outcome == 'success':
                        finish_run(state, run, 'success', '')
                    else:
                        finish_run(state, run, 'failed', flux_error_message(plan.retry_error) if plan.outcome == 'flux_error' else plan.retry_error)
        finally:
            with state.lock:
                state.stats.retries_in_flight -= 1
                run.done.set()


class InfluxTaskAPI(TaskAPI):
    """The task handlers behind InfluxDB's authorizer (authorizer/task.go): the task is looked up first (404 for an
    unknown one, where Kapacitor lists no runs), an inactive task refuses retries and manual runs (400), and the
    token must reach the task's organization (and write for retries)."""

    prefix = TASKS

    def __init__(self, state, executor, blocking=False):
        super().__init__(state)
        self.executor = executor
        self.blocking = blocking    # InfluxDB 2.0 and 2.1: retries and manual runs block, as on Kapacitor

    def task_json(self, task):
        """The task object with a real orgID, the org name, a user ID as ownerID and ``labels: []`` (docs/influxdb2-api.md §3)."""
        base = task.to_json(self.prefix)
        tid = base['id']
        links = dict(base['links'], labels='%s/%s/labels' % (TASKS, tid), members='%s/%s/members' % (TASKS, tid),
                     owners='%s/%s/owners' % (TASKS, tid))
        out = {'links': dict(sorted(links.items())), 'labels': [], 'id': tid, 'orgID': fmt_id(task.org_id),
               'org': self.state.tenancy.orgs.get(task.org_id, ''), 'ownerID': task.owner}
        out.update((key, value) for key, value in base.items() if key not in out)
        if task.script_id:   # the script is stored apart, the task object does not carry it (docs/influxdb2-api.md)
            del out['flux']
            out['scriptID'] = task.script_id
        return out

    def task_owner(self, req, body):
        tenancy = self.state.tenancy
        if body.get('orgID'):
            org_id = self.decode_id(body['orgID'])
        elif body.get('org'):
            org_id = tenancy.by_name(body['org'])
            if org_id is None:
                raise APIError('not found', 'organization name %s not found' % go_quote(body['org']))
        else:
            raise decode_error('missing orgID and org')
        if org_id not in req.user.org_ids:
            raise APIError('unauthorized', 'failed to create task: unauthorized')
        return req.user.user_id, org_id

    def require_task(self, req, task_id, verb, write=False):
        task = self.state.tasks.get(task_id)
        if task is None:
            raise APIError('not found', verb + ': task not found')
        if write and task.status != 'active':
            raise APIError('invalid', verb + ': inactive task')        # before the run and the permission (docs/influxdb2-api.md §5.3)
        if task.org_id not in req.user.org_ids or (write and not req.user.write):
            # authError has no Unwrap: the code falls back to internal error (docs/influxdb2-api.md §2)
            raise APIError('internal error', verb + ': unauthorized')
        return task

    def get_task(self, req):
        task_id = self.decode_id(req.params['id'])
        with self.state.lock:
            task = self.state.tasks.get(task_id)
            if task is not None and task.org_id not in req.user.org_ids:
                raise APIError('not found', 'failed to find task: unauthorized')
        return super().get_task(req)

    def list_tasks(self, req):
        """decodeGetTasksRequest and kv FindTasks (docs/influxdb2-api.md §2): ``orgID`` or ``org`` scope the listing; with
        neither (and no ``user``) only the token's user's tasks come back; the authorizer then drops the tasks the
        token cannot read from the page, so a page can come back short. Only tasks of type ``system`` are listed, whatever
        ``type`` asks (``basic`` is system too): the tasks of checks and notification rules never are."""
        query, token, tenancy = req.query, req.user, self.state.tenancy
        after = self.decode_id(query['after']) if query.get('after') else None
        org_id, org_name = None, query.get('org') or ''
        if org_name:
            org_id = tenancy.by_name(org_name)
            if org_id is None or org_id not in token.org_ids:
                raise decode_error('org %s not found or unauthorized: org not found or unauthorized' % org_name)
        if query.get('orgID'):
            org_id = self.decode_id(query['orgID'])
        user = fmt_id(self.decode_id(query['user'])) if query.get('user') else None
        limit = self.decode_limit(query, 'limit must be between 1 and 500')
        if query.get('type', '') not in ('', 'basic', 'system'):
            raise decode_error('%s is not a valid task type' % go_quote(query['type']))
        status = query.get('status') if query.get('status') in ('active', 'inactive') else None
        name = query.get('name')
        owner = user if user is not None else (None if org_id is not None else token.user_id)
        with self.state.lock:
            page = []
            start = bisect.bisect_right(self.state.task_ids, after) if after is not None else 0
            for task_id in self.state.task_ids[start:]:
                task = self.state.tasks[task_id]
                if (owner is not None and task.owner != owner) or (owner is None and task.org_id != org_id):
                    continue
                if (status and task.status != status) or (name and task.name != name):
                    continue
                if task.type != 'system':       # kv newTaskMatchFn, before the page is counted
                    continue
                page.append(task)
                if len(page) >= limit:
                    break
            tasks = [self.task_json(task) for task in page if task.org_id in token.org_ids]
        # TaskFilter.QueryParams: after, orgID, org, user, limit (name, status and type are dropped).
        params = {'limit': str(limit), 'after': after is not None and fmt_id(after), 'orgID': org_id is not None and fmt_id(org_id),
                  'org': org_name, 'user': user}
        params = {key: value for key, value in params.items() if value}
        links = {'self': TASKS + '?' + urlencode(sorted(params.items()))}
        if len(tasks) >= limit:
            params['after'] = tasks[limit - 1]['id']
            links['next'] = TASKS + '?' + urlencode(sorted(params.items()))
        return json_response(200, {'links': links, 'tasks': tasks})

    def execute_manual_run(self, req, run, plan, verb, success_status):
        """coordinator.RunForced and executor.ScheduleManualRun (InfluxDB 2.5+, docs/influxdb2-api.md §5.2): the run leaves the
        manual-run queue for kv within this request, status ``scheduled``, and the answer is sent at once; the
        executor starts it on its next tick.

        InfluxDB 2.0 and 2.1 (docs/influxdb2-api.md §5.1): the coordinator runs it at once and waits for it, with the
        request's context, as Kapacitor does: the answer comes when it has finished (still the run as created), a run
        that failed answers ``could not execute task run`` (500) or its Flux error (400), and a client that hangs up
        cancels it."""
        if self.blocking:
            return super().execute_manual_run(req, run, plan, verb, success_status)
        with self.state.lock:
            task_runs = self.state.runs_of(run.task_id)
            if run in task_runs.queued:
                task_runs.queued.remove(run)
            task_runs.running[run.id] = run
        self.executor.schedule(run, plan)
        return json_response(success_status, plan.created_json)


def blocks_on_runs(version):
    """Whether an InfluxDB of this version (``v2.1.1``; '' for Cloud) answers a retry or manual run only once the run
    has finished: 2.0 and 2.1 (coordinator.RunRetried and RunForced wait on the promise until v2.2.0's commit 84776d7)."""
    match = re.match(r'v?(\d+)\.(\d+)', version or '')
    return match is not None and (int(match.group(1)), int(match.group(2))) < (2, 2)


class InfluxDB2:
    """The InfluxDB 2 server around the task API: routes, headers, authentication and the other endpoints."""

    def __init__(self, state, version=INFLUX_VERSION, tasks_retention=TASKS_RETENTION_SECONDS):
        self.state = state
        self.version = version
        self.tasks_retention = tasks_retention
        # The history is read over range(start: -14d) and the _tasks retention drops what is older (docs/influxdb2-api.md §4.2).
        state.horizon_ns = min(tasks_retention * NS, HORIZON_NS) if tasks_retention > 0 else HORIZON_NS
        state.tenancy = Tenancy({}, cloud=not version)
        self.executor = Executor(state)
        self.api = InfluxTaskAPI(state, self.executor, blocking=blocks_on_runs(version))
        state.task_view = self.api.task_json
        self.started = now_ns()

    def stop(self):
        self.executor.stopped.set()

    def version_headers(self):
        """http/handler.go sets both on every answer; Cloud has no version header (docs/influxdb2-api.md §7)."""
        if self.version:
            return [('X-Influxdb-Build', 'OSS'), ('X-Influxdb-Version', self.version)]
        return [('X-Influxdb-Build', 'Cloud')]

    @staticmethod
    def task_route(path):
        if path == TASKS or path.startswith(TASKS + '/'):
            rest = path[len(TASKS):]
            segments = tuple(rest[1:].split('/')) if rest else ()
            return segments, match_route(segments)
        return None, None

    def template_for(self, method, path):
        segments, matched = self.task_route(path)
        if matched:
            return route_template(method, matched[0])
        if path in ('/ping', '/health', '/ready', API_ROOT + '/buckets', API_ROOT + '/orgs'):
            return '%s %s' % (method, path)
        return '%s (unmatched)' % method

    def route(self, handler, path, raw_query, body):
        method = handler.command
        if method in ('GET', 'HEAD') and path in ('/ping', '/health', '/ready'):
            return self.system_route(path)
        if path != API_ROOT and not path.startswith(API_ROOT + '/'):
            # PlatformHandler: every other path goes to the UI's asset handler, whatever the method (docs/influxdb2-api.md §1).
            return Response(200, UI_PAGE, list(HTML_HEADERS))
        if path == API_ROOT and method == 'GET':
            return json_response(200, {'links': {'buckets': API_ROOT + '/buckets', 'orgs': API_ROOT + '/orgs',
                                                 'tasks': TASKS, 'health': '/health', 'ready': '/ready'}})
        token = self.authenticate(handler.headers.get('Authorization', ''))
        if token is None:
            return error_response(APIError('unauthorized', 'unauthorized access'))
        query = parse_qs(raw_query, keep_blank_values=True)
        segments, matched = self.task_route(path)
        if segments is not None:
            if matched and method in matched[1]:
                return handler.call(matched, query, body, token)
            allowed = sorted({m for m in ROUTER_METHODS if m != method and has_handler(segments, m)})
            if allowed:
                return method_not_allowed(allowed)
            return error_response(APIError('not found', 'path not found'))
        flat = {key: values[0] for key, values in query.items()}
        other = {API_ROOT + '/buckets': self.buckets, API_ROOT + '/orgs': self.orgs}.get(path)
        if other is None:
            return error_response(APIError('not found', 'path not found'))
        if method != 'GET':
            return method_not_allowed(['GET', 'POST'])
        try:
            return other(flat, token)
        except APIError as exc:
            return error_response(exc)

    def system_route(self, path):
        if path == '/ping':
            return Response(204)
        if path == '/health':
            health = {'name': 'influxdb', 'message': 'ready for queries and writes', 'status': 'pass', 'checks': [],
                      'version': self.version, 'commit': INFLUX_COMMIT}
            return json_response(200, health)
        up = (now_ns() - self.started) // 1000
        return json_response(200, {'status': 'ready', 'started': format_time(self.started), 'up': '%dus' % up})

    def authenticate(self, header):
        """http/tokens.go: ``Token <t>`` or ``Bearer <t>`` (scheme in any case); Basic and the rest are refused."""
        for scheme in ('Token ', 'Bearer '):
            if header[:len(scheme)].lower() == scheme.lower():
                return self.state.tenancy.tokens.get(header[len(scheme):])
        return None

    def scoped_orgs(self, query, token):
        """The organizations a buckets or orgs query names (``orgID`` or ``org``) among those the token reads."""
        tenancy = self.state.tenancy
        if query.get('orgID'):
            org_ids = [self.api.decode_id(query['orgID'])]
        elif query.get('org'):
            org_id = tenancy.by_name(query['org'])
            if org_id is None or org_id not in token.org_ids:
                raise APIError('not found', 'organization name %s not found' % go_quote(query['org']))
            org_ids = [org_id]
        else:
            org_ids = list(tenancy.orgs)
        return [org_id for org_id in org_ids if org_id in tenancy.orgs and org_id in token.org_ids]

    def orgs(self, query, token):
        orgs = [{'links': {'self': '%s/orgs/%s' % (API_ROOT, fmt_id(org_id))}, 'id': fmt_id(org_id),
                 'name': self.state.tenancy.orgs[org_id], 'description': ''}
                for org_id in self.scoped_orgs(query, token)]
        return json_response(200, {'links': {'self': API_ROOT + '/orgs'}, 'orgs': orgs})

    def buckets(self, query, token):
        """The system buckets of each organization: ``_tasks`` with the configured retention, ``_monitoring`` 7 days;
        a token without read on buckets sees none (the authorizer filters them out)."""
        buckets = []
        for org_id in self.scoped_orgs(query, token) if token.read_buckets else []:
            for offset, (name, retention, description) in enumerate((('_monitoring', MONITORING_RETENTION_SECONDS, 'System bucket for monitoring logs'),
                                                                     ('_tasks', self.tasks_retention, 'System bucket for task logs'))):
                if query.get('name') and query['name'] != name:
                    continue
                bucket_id = fmt_id(org_id * 16 + offset + 1)
                rules = [{'type': 'expire', 'everySeconds': retention, 'shardGroupDurationSeconds': 86400}] if retention else []
                buckets.append({'links': {'org': '%s/orgs/%s' % (API_ROOT, fmt_id(org_id)), 'self': '%s/buckets/%s' % (API_ROOT, bucket_id)},
                                'id': bucket_id, 'orgID': fmt_id(org_id), 'type': 'system', 'name': name,
                                'description': description, 'retentionRules': rules, 'labels': []})
        params = {key: value for key, value in query.items() if key in ('orgID', 'org', 'name')}
        params.update(descending='false', limit='20', offset='0')
        return json_response(200, {'links': {'self': API_ROOT + '/buckets?' + urlencode(sorted(params.items()))}, 'buckets': buckets})


def method_not_allowed(allowed):
    """http/router.go: the router's 405 as a platform error, with httprouter's Allow header (OPTIONS included)."""
    allow = ', '.join(sorted(set(allowed) | {'OPTIONS'}))
    response = error_response(APIError('method not allowed', 'allow: ' + allow))
    response.headers.append(('Allow', allow))
    return response
