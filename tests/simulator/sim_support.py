"""Shared code of the simulator's tests (not fixtures: those live in conftest.py)."""

import base64
import hashlib
import hmac
import json
import time

import requests

TASKS = '/kapacitor/v1/api/v2/tasks'
ERROR_CONTENT_TYPE = 'application/json; charset=utf-8'


class ApiClient:
    """A pooled requests.Session bound to one simulator URL."""

    def __init__(self, url, **request_opts):
        self.base = url
        self.session = requests.Session()
        # Per-request, not session attributes: REQUESTS_CA_BUNDLE in the environment would override session.verify.
        self.request_opts = request_opts

    def request(self, method, path, **kwargs):
        kwargs.setdefault('allow_redirects', False)
        kwargs.setdefault('timeout', 30)
        for key, value in self.request_opts.items():
            kwargs.setdefault(key, value)
        return self.session.request(method, self.base + path, **kwargs)

    def get(self, path, **kwargs):
        return self.request('GET', path, **kwargs)

    def post(self, path, **kwargs):
        return self.request('POST', path, **kwargs)

    def tasks(self):
        return self.get(TASKS + '?limit=500').json()['tasks']

    def runs(self, task_id, query=''):
        response = self.get('%s/%s/runs%s' % (TASKS, task_id, query))
        assert response.status_code == 200, response.text
        return response.json()['runs']

    def state_runs(self, task_id=None):
        runs = self.get('/_sim/state').json()['runs']
        return [run for run in runs if task_id is None or run['task_id'] == task_id]

    def stats(self):
        return self.get('/_sim/stats').json()


def assert_error(response, status, code, message):
    """A task-API error: exact compact body, X-Platform-Error-Code and content type."""
    assert response.status_code == status, response.text
    assert response.content == ('{"code":"%s","message":"%s"}' % (code, message)).encode()
    assert response.headers['X-Platform-Error-Code'] == code
    assert response.headers['Content-Type'] == ERROR_CONTENT_TYPE


def make_jwt(payload, secret, alg='HS256'):
    """HS256 JWT by hand (no PyJWT)."""
    def enc(data):
        return base64.urlsafe_b64encode(data).rstrip(b'=').decode()
    head = enc(json.dumps({'alg': alg, 'typ': 'JWT'}).encode())
    body = enc(json.dumps(payload).encode())
    signature = hmac.new(secret.encode(), ('%s.%s' % (head, body)).encode(), hashlib.sha256).digest()
    return '%s.%s.%s' % (head, body, enc(signature))


def wait_for(predicate, timeout=5.0, what='condition'):
    """Poll ``predicate`` every 20 ms until it returns something true; fail after ``timeout`` seconds, naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError('%s not met in %.1fs' % (what, timeout))
