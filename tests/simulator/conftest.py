"""Fixtures for the simulator tests: an in-process simulator on port 0 and a small HTTP client."""

import base64
import hashlib
import hmac
import json
import os
import sys

import pytest
import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from kapacitor_sim import Simulator  # noqa: E402  pylint: disable=wrong-import-position

TASKS = "/kapacitor/v1/api/v2/tasks"


class Client:
    """A pooled requests.Session bound to one simulator."""

    def __init__(self, sim, **request_opts):
        self.sim = sim
        self.base = sim.url
        self.session = requests.Session()
        # Per-request, not session attributes: REQUESTS_CA_BUNDLE in the environment would override session.verify.
        self.request_opts = request_opts

    def request(self, method, path, **kwargs):
        kwargs.setdefault("allow_redirects", False)
        kwargs.setdefault("timeout", 30)
        for key, value in self.request_opts.items():
            kwargs.setdefault(key, value)
        return self.session.request(method, self.base + path, **kwargs)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)

    def tasks(self):
        return self.get(TASKS + "?limit=500").json()["tasks"]

    def runs(self, task_id, query=""):
        response = self.get("%s/%s/runs%s" % (TASKS, task_id, query))
        assert response.status_code == 200, response.text
        return response.json()["runs"]

    def state_runs(self, task_id=None):
        runs = self.get("/_sim/state").json()["runs"]
        return [run for run in runs if task_id is None or run["task_id"] == task_id]

    def stats(self):
        return self.get("/_sim/stats").json()


@pytest.fixture
def make_sim():
    """Factory: make_sim(scenario=..., **Simulator kwargs) -> (sim, client); all stopped at teardown."""
    started = []

    def factory(scenario=None, **kwargs):
        sim = Simulator(port=0, scenario=scenario, **kwargs).start()
        started.append(sim)
        return sim, Client(sim)

    yield factory
    for sim in started:
        sim.stop()


@pytest.fixture
def sim_client(make_sim):
    return make_sim()[1]


def make_jwt(payload, secret, alg="HS256"):
    """HS256 JWT by hand (no PyJWT)."""
    def enc(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    head = enc(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    body = enc(json.dumps(payload).encode())
    signature = hmac.new(secret.encode(), ("%s.%s" % (head, body)).encode(), hashlib.sha256).digest()
    return "%s.%s.%s" % (head, body, enc(signature))
