# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The connection options, as the modules run: explicit credentials beat the environment in both directions (the
simulator's answers show which user a request authenticated as), credentials in every form a URL carries them are
used and never shown, even at -vvv, a bad connection option fails before any request, naming the option and
what was expected, and the options for the network in between work: a path prefix behind a path-routed reverse proxy,
``use_proxy`` against a proxy of the environment, ``http_retries``.

Effects are read out of band from the simulator: its attempts record, its request counters and the user its
403 answers name.
"""


import http.client
import re
import time
from collections import namedtuple
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler

import pytest

from ansible_collections.tickstack.kapacitor.tests.functional.support import PLAYBOOK as ROLE_PLAYBOOK
from ansible_collections.tickstack.kapacitor.tests.functional.support import (
    RETRY_ROUTE,
    LocalHTTPServer,
    in_parallel,
    new_attempts,
    run_module,
    run_playbook,
    start_simulator,
)
from ansible_collections.tickstack.kapacitor.tests.simulator.sim_support import make_jwt, wait_for

INFO = 'kapacitor_task_runs_info'
RETRY = 'kapacitor_task_run_retry'
SECRET = 'conn-test-shared-secret'
WRITER, WRITER_PW = 'writer', 'Writer-pw-7Kq2'
READER, READER_PW = 'reader', 'Reader-pw-3Zt8'
# A read-only user whose password holds every character a URL must percent-encode.
ENCODED_USER, ENCODED_PW, ENCODED_PW_IN_URL = 'ops', 'Pw/Sec#ret?x@y', 'Pw%2FSec%23ret%3Fx%40y'
QUERY_USER, QUERY_PW, QUERY_PW_IN_URL = 'qops', 'Qry/p@ss&w', 'Qry%2Fp%40ss%26w'
TASK = '0a1b2c3d4e5f0001'
SCENARIO = {'tasks': [{'id': TASK, 'name': 'cpu', 'runs': [
    {'id': '0b000000000000%02d' % m, 'status': 'failed', 'scheduled_for': '-%dm' % m} for m in (5, 10, 15)]}]}
FLAGS = ('--auth-user', '%s:%s' % (WRITER, WRITER_PW), '--auth-user', '%s:%s:ro' % (READER, READER_PW),
         '--auth-user', '%s:%s:ro' % (ENCODED_USER, ENCODED_PW), '--auth-user', '%s:%s:ro' % (QUERY_USER, QUERY_PW),
         '--shared-secret', SECRET)


def token_for(user, secret=SECRET):
    return make_jwt({'username': user, 'exp': int(time.time()) + 3600}, secret)


@pytest.fixture(scope='module')
def auth_sim():
    sim = start_simulator(*FLAGS)
    sim.load(SCENARIO)
    yield sim
    sim.process.stop()


def one_retry(sim, **args):
    """Retry the newest failed run, deciding from the given hints (no listing): exactly one POST."""
    run = {'task_id': TASK, 'run_id': '0b00000000000005'}
    return dict(args, url=args.get('url', sim.url), runs=[run], max_attempts=10, force=True)


# --------------------------------------------------------------------------- explicit beats environment

# (id, explicit options, environment, who the retry must authenticate as: WRITER/'ops'-token = it retries,
#  READER = 403 naming reader, None = 401)
PRECEDENCE = [
    ('explicit-user-beats-env-token', {'username': WRITER, 'password': WRITER_PW},
     {'KAPACITOR_TOKEN': token_for('intruder', 'not-the-secret')}, WRITER),
    ('explicit-reader-beats-env-writer-token', {'username': READER, 'password': READER_PW},
     {'KAPACITOR_TOKEN': token_for(WRITER)}, READER),
    ('explicit-token-beats-env-user', {'token': token_for('jwt-writer')},
     {'KAPACITOR_USERNAME': READER, 'KAPACITOR_PASSWORD': READER_PW}, 'jwt-writer'),
    ('explicit-bad-token-beats-env-writer', {'token': token_for(WRITER, 'not-the-secret')},
     {'KAPACITOR_USERNAME': WRITER, 'KAPACITOR_PASSWORD': WRITER_PW}, None),
    ('url-credentials-beat-env-token', {'url': 'USERINFO %s:%s@' % (READER, READER_PW)},
     {'KAPACITOR_TOKEN': token_for(WRITER)}, READER),
    # A given password wins over the url's, and completes a url that names only the user.
    ('explicit-password-beats-the-urls', {'url': 'USERINFO %s:Wrong-url-pw-5Gm@' % WRITER, 'password': WRITER_PW},
     {}, WRITER),
    ('explicit-password-completes-a-url-user', {'url': 'USERINFO %s@' % WRITER, 'password': WRITER_PW}, {}, WRITER),
    ('explicit-user-takes-env-password-of-the-same-user', {'username': WRITER},
     {'KAPACITOR_USERNAME': WRITER, 'KAPACITOR_PASSWORD': WRITER_PW}, WRITER),
    ('explicit-user-never-takes-another-users-password', {'username': READER},
     {'KAPACITOR_USERNAME': WRITER, 'KAPACITOR_PASSWORD': WRITER_PW}, None),
    ('environment-alone-still-works', {}, {'KAPACITOR_USERNAME': WRITER, 'KAPACITOR_PASSWORD': WRITER_PW}, WRITER),
    # INFLUX_TOKEN applies to InfluxDB 2 only: malformed, it does not stop a Kapacitor run.
    ('a-malformed-influx-token-does-not-matter-to-kapacitor', {},
     {'KAPACITOR_USERNAME': WRITER, 'KAPACITOR_PASSWORD': WRITER_PW, 'INFLUX_TOKEN': 'Influx-tok en-8Hq'}, WRITER),
    # ansible.builtin.uri's names for the credentials are aliases, with the same precedence.
    ('uri-aliases-authenticate', {'url_username': WRITER, 'url_password': WRITER_PW}, {}, WRITER),
    ('uri-aliases-beat-env-token', {'url_username': READER, 'url_password': READER_PW},
     {'KAPACITOR_TOKEN': token_for(WRITER)}, READER),
    ('uri-alias-with-a-wrong-password', {'url_username': WRITER, 'url_password': 'Wrong-alias-pw-2Jd'}, {}, None),
]


@pytest.mark.parametrize('explicit, env, user', [case[1:] for case in PRECEDENCE], ids=[case[0] for case in PRECEDENCE])
def test_explicit_credentials_beat_the_environment(auth_sim, explicit, env, user):
    sim = auth_sim
    if explicit.get('url', '').startswith('USERINFO '):
        explicit = dict(explicit, url=sim.url.replace('://', '://' + explicit['url'][len('USERINFO '):]))
    before, posts = sim.attempts(), sim.requests_to(RETRY_ROUTE)
    result = run_module(RETRY, one_retry(sim, **explicit), env=env)
    made = new_attempts(before, sim.attempts())
    assert 'mutually exclusive' not in result.get('msg', '')
    # What the server did shows who the requests authenticated as: the writer's retry created a run, the reader's
    # was refused with a 403 that names the reader, and rejected credentials got a 401 at the first request (the
    # listing), so no retry request was sent.
    if user in (WRITER, 'jwt-writer'):
        assert result.rc == 0 and len(made) == 1, result
        assert sim.requests_to(RETRY_ROUTE) == posts + 1
    elif user == READER:
        assert result.rc == 1 and not made and 'user reader does not have "write" privilege' in result['msg'], result
        assert sim.requests_to(RETRY_ROUTE) == posts + 1
    else:
        assert result.rc == 1 and not made and 'HTTP 401' in result['msg'], result
        assert sim.requests_to(RETRY_ROUTE) == posts
    for secret in [WRITER_PW, READER_PW, 'Wrong-url-pw-5Gm'] + [value for name, value in env.items() if name != 'KAPACITOR_USERNAME']:
        assert secret not in result.stdout + result.stderr


# --------------------------------------------------------------------------- secrets in URLs, at -vvv

PLAYBOOK = """
- name: Credentials in URLs
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Percent-encoded password in the URL, read-only user
      tickstack.kapacitor.kapacitor_task_runs_info:
        url: "{{ encoded_url }}"
        status: [failed]
      register: encoded_listing

    - name: The retry with it is refused by Kapacitor (read-only)
      tickstack.kapacitor.kapacitor_task_run_retry:
        url: "{{ encoded_url }}"
        runs: "{{ encoded_listing.runs[:1] }}"
      ignore_errors: true

    - name: Kapacitor's own query credentials u= and p=
      tickstack.kapacitor.kapacitor_task_runs_info:
        url: "{{ query_url }}"
        status: [failed]
      register: query_listing

    - name: The retry with them is refused by Kapacitor too (read-only)
      tickstack.kapacitor.kapacitor_task_run_retry:
        url: "{{ query_url }}"
        runs: "{{ query_listing.runs[:1] }}"
      ignore_errors: true

    - name: A wrong password in the query
      tickstack.kapacitor.kapacitor_task_runs_info:
        url: "{{ wrong_query_url }}"
      ignore_errors: true

    - name: A query that is not credentials, with a password in it
      tickstack.kapacitor.kapacitor_task_runs_info:
        url: "{{ other_query_url }}"
      ignore_errors: true

    - name: An unencoded password in the URL
      tickstack.kapacitor.kapacitor_task_runs_info:
        url: "{{ unencoded_url }}"
      ignore_errors: true

    - name: The secrets never reach a debug of the results either
      ansible.builtin.debug:
        var: encoded_listing
"""


def test_url_credentials_in_every_form_work_and_never_show_at_vvv(tmp_path):
    sim = start_simulator(*FLAGS)
    try:
        sim.load(SCENARIO)
        check_url_credentials(sim, tmp_path)
    finally:
        sim.process.stop()


def check_url_credentials(sim, tmp_path):
    host = sim.url.split('://', 1)[1]
    urls = {
        'encoded_url': 'http://%s:%s@%s' % (ENCODED_USER, ENCODED_PW_IN_URL, host),
        'query_url': 'http://%s/?u=%s&p=%s' % (host, QUERY_USER, QUERY_PW_IN_URL),
        'wrong_query_url': 'http://%s/?u=%s&p=Wrong-q-pw-5Hn' % (host, QUERY_USER),
        'other_query_url': 'http://%s/?db=telegraf&p=Other-q-pw-8Vc' % host,
        'unencoded_url': 'http://ops:Raw/pw-2Xs@%s' % host,
    }
    secrets = [ENCODED_PW, ENCODED_PW_IN_URL, 'Sec%23ret', 'Sec#ret', QUERY_PW, QUERY_PW_IN_URL, 'p%40ss', 'p@ss&w',
               'Wrong-q-pw-5Hn', 'Other-q-pw-8Vc', 'Raw/pw-2Xs', 'pw-2Xs']
    playbook = tmp_path / 'urls.yml'
    playbook.write_text(PLAYBOOK)
    before = sim.attempts()
    sim.reset_stats()
    played = run_playbook(str(playbook), urls, verbosity=3)
    output = played.stdout
    stats = sim.stats()

    # The credentials worked: Kapacitor refused each retry as the read-only user the URL named.
    assert 'user ops does not have' in output, output
    assert 'user qops does not have' in output, output
    assert stats['requests'].get(RETRY_ROUTE) == 2 and sim.attempts() == before
    assert 'HTTP 401: authorization failed' in output
    assert "its query may only hold Kapacitor's credentials u= and p=" in output
    assert 'must be percent-encoded' in output
    if '"invocation"' in output:   # -vvv prints the module arguments up to ansible-core 2.19: masked
        # Ansible replaces the masked values (user:password, the password, ...) in a set's order, which varies by
        # process: the user name shows or not, the password never.
        assert re.search(r'"url": "http://(%s:)?\*{8}@%s"' % (ENCODED_USER, re.escape(host)), output)
        assert '"url": "http://%s/?u=%s&p=********"' % (host, QUERY_USER) in output
    for secret in secrets:
        assert secret not in output, secret


# --------------------------------------------------------------------------- bad connection options

Case = namedtuple('Case', 'id module args expected env', defaults=(None,))
Case.__doc__ = """One bad connection option: the module, its arguments (``{url}`` and ``{host}`` filled in with
the simulator's), the substrings the failure message must hold, and the environment."""

CASES = [
    Case('url-empty', INFO, {'url': ''}, ['url is empty', 'such as https://kapacitor.example.com:9092']),
    Case('url-blank', RETRY, {'url': '   ', 'runs': []}, ['url is empty']),
    Case('url-a-list', INFO, {'url': ['{url}']}, ['is not an http:// or https:// URL', 'such as https://']),
    Case('url-a-dict', INFO, {'url': {'host': '{url}'}}, ['is not an http:// or https:// URL']),
    Case('url-with-path-and-credentials', INFO, {'url': 'http://ops:Path-pw-1Qa@{host}/kapacitor/v1'},
         ["url 'http://{host}/kapacitor/v1' must be the server's base URL without a path"]),
    Case('url-prefix-with-dot-segments', INFO, {'url': '{url}/eu/../x'}, ["has a path prefix '/eu/../x' that is not a plain URL path"]),
    Case('http-retries-negative', INFO, {'url': '{url}', 'http_retries': -1}, ['http_retries must be between 0 and 100, got -1']),
    Case('use-proxy-maybe', INFO, {'url': '{url}', 'use_proxy': 'maybe'}, ["argument 'use_proxy' is of type"]),
    Case('url-other-query-with-password', INFO, {'url': '{url}/?db=x&p=Query-pw-4Rb'},
         ["url '{url}/?db=x&p=********'", "its query may only hold Kapacitor's credentials u= and p="]),
    Case('url-query-user-without-password', INFO, {'url': '{url}/?u=ops'}, ['u= and p=, both set']),
    Case('url-credentials-twice', INFO, {'url': 'http://ops:Twice-pw-6Tc@{host}/?u=ops&p=Twice-pw-6Tc'},
         ['holds credentials twice', 'keep one']),
    Case('url-unencoded-slash-in-password', INFO, {'url': 'http://ops:Un/enc-pw-9Wd@{host}'},
         ['must be percent-encoded', 'write / as %2F']),
    Case('url-invalid-host', INFO, {'url': 'http://kap acitor:9092'}, ['has an invalid host name']),
    Case('timeout-zero', INFO, {'url': '{url}', 'timeout': 0}, ['timeout must be a positive number of seconds, got 0']),
    Case('timeout-word', RETRY, {'url': '{url}', 'runs': [], 'timeout': 'abc'},
         ["argument 'timeout' is of type", 'unable to convert to float']),
    Case('timeout-nan', INFO, {'url': '{url}', 'timeout': 'nan'}, ['timeout must be a positive number of seconds, got nan']),
    Case('timeout-infinite', INFO, {'url': '{url}', 'timeout': 'inf'}, ['timeout must be a positive number of seconds, got inf']),
    Case('validate-certs-maybe', INFO, {'url': '{url}', 'validate_certs': 'maybe'},
         ["argument 'validate_certs' is of type", 'unable to convert to bool', "'maybe' is not a valid boolean"]),
    Case('ca-path-empty', INFO, {'url': '{url}', 'ca_path': ''}, ['ca_path is empty: expected the path of a PEM file']),
    Case('ca-path-a-directory', INFO, {'url': '{url}', 'ca_path': '/'}, ['ca_path / does not exist or is not a file']),
    Case('ca-path-missing-from-env', INFO, {'url': '{url}'}, ['ca_path /nonexistent/kapacitor-ca.pem does not exist'],
         {'KAPACITOR_CA_PATH': '/nonexistent/kapacitor-ca.pem'}),
    Case('client-cert-missing', INFO, {'url': '{url}', 'client_cert': '/nonexistent/client.pem'},
         ['client_cert /nonexistent/client.pem does not exist or is not a file']),
    Case('ca-path-not-pem', INFO, {'url': '{url}', 'ca_path': '{junk}'},
         ['ca_path {junk} holds no PEM certificate that can be loaded', 'expected the CA certificate(s)']),
    Case('client-cert-not-pem', INFO, {'url': '{url}', 'client_cert': '{junk}'},
         ['client_cert {junk} is not a PEM client certificate with its unencrypted private key']),
    Case('client-key-is-the-certificate', INFO, {'url': '{url}', 'client_cert': '{pki[client_cert]}', 'client_key': '{pki[ca]}'},
         ['client_cert {pki[client_cert]} with client_key {pki[ca]} is not a PEM client certificate']),
    Case('token-with-inner-space', INFO, {'url': '{url}', 'token': 'Tok-part-one Tok-part-two'},
         ['token holds spaces, line breaks or non-ASCII characters', 'expected a JSON Web Token']),
    Case('username-with-colon', INFO, {'url': '{url}', 'username': 'ops:admin', 'password': 'Colon-pw-2Ke'},
         ['username must not contain ":"']),
    Case('env-token-and-env-user', INFO, {'url': '{url}', 'server_type': 'kapacitor'},
         ['KAPACITOR_TOKEN and KAPACITOR_USERNAME/KAPACITOR_PASSWORD are all set in the environment',
          'set token or username and password explicitly'],
         {'KAPACITOR_TOKEN': 'Env-token-value-3Lm', 'KAPACITOR_USERNAME': 'ops', 'KAPACITOR_PASSWORD': 'Env-pw-7Np'}),
    Case('env-influx-token-with-inner-space', INFO, {'url': '{url}', 'server_type': 'influxdb2', 'org_id': '0000000000000a01'},
         ['INFLUX_TOKEN holds spaces, line breaks or non-ASCII characters'], {'INFLUX_TOKEN': 'Env-influx-one Env-influx-two'}),
]
# Values of the cases that are secrets: none may appear in any output.
CASE_SECRETS = ['Path-pw-1Qa', 'Query-pw-4Rb', 'Twice-pw-6Tc', 'Un/enc-pw-9Wd', 'enc-pw-9Wd', 'Tok-part-one',
                'Tok-part-two', 'Colon-pw-2Ke', 'Env-token-value-3Lm', 'Env-pw-7Np', 'Env-influx-one', 'Env-influx-two']


def filled(value, fields):
    if isinstance(value, str):
        return value.format(**fields)
    if isinstance(value, dict):
        return {key: filled(item, fields) for key, item in value.items()}
    if isinstance(value, list):
        return [filled(item, fields) for item in value]
    return value


@pytest.fixture(scope='module')
def bad_input_results(pki, tmp_path_factory):
    """Every case run once, concurrently, against one simulator that must see no request at all."""
    junk = tmp_path_factory.mktemp('junk') / 'junk.pem'
    junk.write_text('not a certificate\n')
    sim = start_simulator()
    try:
        sim.load(SCENARIO)
        sim.reset_stats()
        fields = {'url': sim.url, 'host': sim.url.split('://', 1)[1], 'junk': str(junk), 'pki': pki}

        def run(case):
            return run_module(case.module, filled(case.args, fields), env=case.env)
        results = dict(zip((case.id for case in CASES), in_parallel(run, CASES)))
        yield results, fields, sim.stats()
    finally:
        sim.process.stop()


def test_there_are_enough_cases():
    assert len(CASES) >= 8 and len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize('case', CASES, ids=[case.id for case in CASES])
def test_a_bad_connection_option_fails_clearly_before_any_request(bad_input_results, case):
    results, fields, dummy = bad_input_results
    result = results[case.id]
    assert result.rc == 1, result
    for expected in case.expected:
        assert expected.format(**fields) in result['msg'], (expected, result['msg'])
    assert 'Traceback' not in result.stdout + result.stderr and 'exception' not in result
    for secret in CASE_SECRETS:
        assert secret not in result.stdout + result.stderr, secret


def test_no_bad_connection_option_sent_a_request(bad_input_results):
    dummy, dummy, stats = bad_input_results
    assert stats['requests_total'] == 0, stats['requests']


# --------------------------------------------------------------------------- a server that dies during the call

def test_a_server_that_dies_during_the_call_is_given_up_after_a_few_requests(sim):
    """Kapacitor stops answering while 40 retries are under way: after three connection-level failures in a row and
    an unanswered ping the module sends nothing more, fails the runs it did not get to with one shared reason, and
    ends quickly. The simulator counts every request it got (each has its connection reset unprocessed)."""
    sim.load({'tasks': [{'id': TASK, 'name': 'cpu', 'run_seconds': 0.3, 'runs': [
        {'status': 'failed', 'scheduled_for': '-%dm' % minutes} for minutes in range(1, 41)]}]})
    before = sim.attempts()
    with ThreadPoolExecutor(max_workers=1) as pool:
        started = time.monotonic()
        pending = pool.submit(run_module, RETRY, {'url': sim.url, 'concurrency': 4, 'timeout': 5, 'runs': [
            {'task_id': TASK, 'run_id': run['id']} for runs in before[TASK].values() for run in runs]})
        wait_for(lambda: sim.stats()['retries_started'] >= 6, timeout=60, what='the first retries')
        sim.faults(reset_ratio=1.0)
        sim.reset_stats()
        result = pending.result(timeout=300)
        elapsed = time.monotonic() - started
    stats = sim.stats()
    sim.faults()

    # Stopped sending: a few failures, the ping and what the other workers had already started, not hundreds.
    assert stats['faults_injected'].get('reset', 0) == stats['requests_total'] <= 12, stats
    assert stats['requests'].get('GET /ping', 0) >= 1
    assert elapsed < 60, elapsed
    assert result.rc == 1 and len(result['msg']) < 2000, result['msg']
    reason = 'Kapacitor at %s became unreachable during the call' % sim.url
    assert reason in result['msg'] and 'check that Kapacitor is still running' in result['msg']
    assert 'check url' not in result['msg']
    # Every run got an outcome; those not retried failed with the shared reason; nothing was retried twice.
    made = new_attempts(before, sim.attempts())
    assert all(len(runs) == 1 for runs in made.values())
    outcomes = [entry['outcome'] for entry in result['results']]
    assert len(outcomes) == 40 and outcomes.count('error') >= 40 - len(made) - 4, outcomes
    assert sum(1 for entry in result['results'] if reason in (entry['msg'] or '')) >= 20


# --------------------------------------------------------------------------- the network in between

class PrefixProxy(LocalHTTPServer):
    """A reverse proxy that routes by path, as a gateway in front of several Kapacitors: ``/<prefix>/...`` is
    forwarded to the simulator with the prefix stripped; anything else is answered 404 here. ``forwarded`` counts
    what it passed on."""

    def __init__(self, prefix, target_port):
        owner = self
        self.forwarded = []

        class Handler(BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *args):  # pylint: disable=arguments-differ
                pass

            def forward(self):
                body = self.rfile.read(int(self.headers.get('Content-Length') or 0))
                if not self.path.startswith(prefix + '/'):
                    self.send_response(404)
                    self.send_header('Content-Length', '0')
                    self.end_headers()
                    return
                path = self.path[len(prefix):]
                owner.forwarded.append('%s %s' % (self.command, path.split('?', 1)[0]))
                upstream = http.client.HTTPConnection('127.0.0.1', target_port, timeout=60)
                headers = {name: value for name, value in self.headers.items() if name.lower() != 'host'}
                upstream.request(self.command, path, body=body or None, headers=headers)
                answer = upstream.getresponse()
                data = answer.read()
                upstream.close()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ('content-length', 'connection', 'transfer-encoding', 'date', 'server'):
                        self.send_header(name, value)
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = forward

        super().__init__(Handler)


def test_a_path_prefix_reaches_kapacitor_behind_a_path_routed_proxy(sim):
    sim.load(SCENARIO)
    gateway = PrefixProxy('/kapacitor-eu', sim.port)
    try:
        sim.reset_stats()
        url = gateway.url + '/kapacitor-eu/'
        listing = run_module(INFO, {'url': url, 'status': ['failed']})
        before = sim.attempts()
        retried = run_module(RETRY, {'url': url, 'runs': listing.get('runs', [])[:1], 'max_attempts': 10})
        stats = sim.stats()
    finally:
        gateway.stop()
    assert listing.rc == 0 and len(listing['runs']) == 3, listing
    assert retried.rc == 0, retried
    # Every request went through the gateway under the prefix and reached the simulator: one new attempt.
    assert len(new_attempts(before, sim.attempts())) == 1
    assert stats['requests'].get(RETRY_ROUTE) == 1 and stats['requests_total'] == len(gateway.forwarded)
    assert 'POST /kapacitor/v1/api/v2/tasks/%s/runs/0b00000000000005/retry' % TASK in gateway.forwarded


PROXY_ENV = {'HTTP_PROXY': 'http://127.0.0.1:9', 'NO_PROXY': '', 'no_proxy': ''}


def test_use_proxy_decides_whether_the_proxy_of_the_environment_is_used(shared_sim):
    sim = shared_sim
    sim.reset_stats()
    through = run_module(INFO, {'url': sim.url}, env=PROXY_ENV)
    assert through.rc == 1 and sim.stats()['requests_total'] == 0, through
    assert 'through the proxy http://127.0.0.1:9 (from HTTP_PROXY)' in through['msg'], through['msg']
    assert 'set use_proxy: false' in through['msg']
    direct = run_module(INFO, {'url': sim.url, 'use_proxy': False}, env=PROXY_ENV)
    assert direct.rc == 0, direct
    assert sim.stats()['requests'].get('GET /api/v2/tasks', 0) >= 1


def test_http_retries_is_how_often_a_failing_get_is_sent(sim):
    sim.load(SCENARIO)
    sim.faults(get_error_ratio=1.0, get_error_status=503, routes=['GET /api/v2/tasks'])
    counts = {}
    for retries in (0, None):
        sim.reset_stats()
        args = {'url': sim.url} if retries is None else {'url': sim.url, 'http_retries': retries}
        result = run_module(INFO, args)
        assert result.rc == 1 and 'HTTP 503' in result['msg'], result
        counts[retries] = sim.stats()['requests'].get('GET /api/v2/tasks', 0)
    sim.faults()
    assert counts == {0: 1, None: 6}


def test_the_role_passes_kapacitor_use_proxy_and_kapacitor_http_retries(sim, tmp_path):
    """With HTTP_PROXY pointing nowhere, a request reaches the simulator only if kapacitor_use_proxy: false got through;
    with every task listing failing, exactly one GET of it shows that kapacitor_http_retries: 0 got through too."""
    sim.load(SCENARIO)
    sim.faults(get_error_ratio=1.0, get_error_status=503, routes=['GET /api/v2/tasks'])
    sim.reset_stats()
    played = run_playbook(ROLE_PLAYBOOK, {'kapacitor_url': sim.url, 'kapacitor_use_proxy': False, 'kapacitor_http_retries': 0,
                                          'retry_failed_runs_report_path': str(tmp_path / 'report.json')}, env=PROXY_ENV)
    stats = sim.stats()
    sim.faults()
    assert played.returncode != 0 and 'HTTP 503' in played.stdout, played.stdout[-3000:]
    assert stats['requests'].get('GET /api/v2/tasks', 0) == 1, stats['requests']
