# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""playbooks/retry_failed_runs.yml as AWX runs it: through ansible-runner, the executor of every AWX and
Ansible Automation Platform job, with a private data directory laid out as AWX lays it out for a job
(``project/`` with the one-line wrapper of docs/awx.md, ``inventory/hosts``, ``env/extravars``, and
``env/envvars`` carrying the credential that the custom credential type injects as environment variables).

The job is judged by its artifacts (status, rc, the custom stats of ``set_stats`` in the ``playbook_on_stats``
event, every job event, stdout and the artifact files) and what it retried by the simulators' own record
(``/_sim/attempts``), never by the job's word alone. Job slicing runs two such jobs at once, two ``ansible-runner
run`` processes each limited to its slice of the inventory, as AWX runs the slices of a sliced job template on
different execution nodes.
"""

import json
import os
import stat
import subprocess
import sys

import ansible_runner  # in .ci/requirements*.txt: the executor AWX runs every job with
import pytest

from ansible_collections.tickstack.kapacitor.tests.functional.support import (
    failing_times,
    in_parallel,
    new_attempts,
    playbook_env,
    start_simulator,
)

MAX_ATTEMPTS = 3
JOB_TIMEOUT = 300
# Each server knows one user; slice A's servers only the first, slice B's only the second. A job that sent a
# request to a server outside its slice would be refused (401) and that host would fail the job.
USERS = {'a': ('awx-slice-a', 'Cred-A/s3cret#1'), 'b': ('awx-slice-b', 'Cred-B/s3cret#2')}
FLEET = (('kap1', 'a'), ('kap2', 'b'), ('kap3', 'a'), ('kap4', 'b'))
# What a job template runs: a collection playbook cannot be picked directly, the project holds this (docs/awx.md).
WRAPPER = ('---\n- name: Retry the failed runs of Kapacitor Flux tasks\n'
           '  ansible.builtin.import_playbook: tickstack.kapacitor.retry_failed_runs\n')
EXTRA_VARS = {'retry_failed_runs_since': '24h', 'retry_failed_runs_max_attempts': MAX_ATTEMPTS,
              'retry_failed_runs_concurrency': 4, 'retry_failed_runs_fail_on_remaining': False}


@pytest.fixture(scope='module')
def fleet():
    """Four simulators (kap1..kap4), each with the one user of its slice; shared by the tests of this module,
    each of which loads its own scenario."""
    sims = in_parallel(lambda item: start_simulator('--auth-user', '%s:%s' % USERS[item[1]]), FLEET)
    yield {host: sim for (host, _slice), sim in zip(FLEET, sims)}
    for sim in sims:
        sim.process.stop()


def failed(scheduled_for, *retries):
    """A failed run at ``scheduled_for`` and, for each of ``retries``, a later failed manual attempt of it."""
    return [{'status': 'failed', 'scheduled_for': scheduled_for}] + [
        {'status': 'failed', 'scheduled_for': scheduled_for, 'requested_at': requested_at} for requested_at in retries]


def scenario(seed):
    """A few failed scheduled times per server: some whose retry succeeds, one whose retry fails again, one at
    max_attempts already (given up), and one failed run that a later attempt already fixed (nothing to do)."""
    return {'tasks': [
        {'name': 'rollup', 'run_seconds': 0.1,
         'runs': failed('-%dm' % (170 + seed)) + failed('-%dm' % (110 + seed)) + failed('-%dm' % (50 + seed))},
        {'name': 'alerts', 'run_seconds': 0.1, 'retry_outcomes': ['fail'], 'retry_error': 'bucket not found',
         'runs': failed('-%dm' % (140 + seed)) + failed('-%dm' % (80 + seed), '-%dm' % (75 + seed), '-%dm' % (70 + seed))
         + [{'status': 'failed', 'scheduled_for': '-%dm' % (20 + seed)},
            {'status': 'success', 'scheduled_for': '-%dm' % (20 + seed), 'requested_at': '-%dm' % (15 + seed)}]},
    ]}


def load(sims):
    """Load a scenario into every server; return their records before the job."""
    for index, sim in enumerate(sims.values()):
        sim.load(scenario(index))
    return {host: sim.attempts() for host, sim in sims.items()}


def expected_figures(sims, before):
    """The figures a job over ``sims`` must publish, from the simulators' records: what was failing before, and
    (for the outcome of each retry) the status of the attempt it created. Checks on the way that every
    retriable failed scheduled time got exactly one new attempt and nothing else did."""
    figures = dict.fromkeys(('retried', 'retried_failed', 'failed_found', 'given_up', 'tasks_scanned'), 0)
    for host, sim in sims.items():
        after = sim.attempts()
        created = new_attempts(before[host], after)
        retriable = failing_times(before[host], MAX_ATTEMPTS)
        assert retriable and set(created) == retriable, (host, sorted(created), sorted(retriable))
        assert all(len(runs) == 1 for runs in created.values()), (host, created)
        statuses = [runs[0]['status'] for runs in created.values()]
        figures['retried'] += statuses.count('success')
        figures['retried_failed'] += statuses.count('failed')
        figures['failed_found'] += len(failing_times(before[host]))
        figures['given_up'] += len(failing_times(before[host]) - retriable)
        figures['tasks_scanned'] += len(before[host])
    assert figures['retried'] and figures['retried_failed'] and figures['given_up']   # the scenario has each
    figures.update(hosts=len(sims), hosts_failed=0, errors=0, would_retry=0, superseded=0, timed_out=0,
                   already_queued=0, remaining=figures['retried_failed'] + figures['given_up'])
    return {'kapacitor_retry_' + name: value for name, value in figures.items()}


def inventory(sims, host_vars):
    """The inventory AWX writes for the job: the servers in the group ``kapacitor``, with their host variables."""
    return {'all': {'children': {'kapacitor': {'hosts': {host: host_vars.get(host, {}) for host in sims}}}}}


def private_data_dir(path, hosts, credential):
    """Lay out a job's private data directory as AWX does: the project, the inventory, the extra variables and
    the environment (the credential's injected variables, the collection's path, the pinned interpreter)."""
    base = playbook_env()
    envvars = {name: base[name] for name in ('ANSIBLE_COLLECTIONS_PATH', 'ANSIBLE_PYTHON_INTERPRETER',
                                             'ANSIBLE_LOCALHOST_WARNING', 'ANSIBLE_NOCOLOR')}
    # ansible-runner starts the first ansible-playbook on PATH: the one of the Python running the tests.
    envvars['PATH'] = os.path.dirname(sys.executable) + os.pathsep + base.get('PATH', '')
    envvars.update(credential)
    for name, content in (('project/retry_failed_runs.yml', WRAPPER), ('inventory/hosts', json.dumps(hosts)),
                          ('env/extravars', json.dumps(EXTRA_VARS)), ('env/envvars', json.dumps(envvars))):
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(content)
    return str(path)


def injected(url, username, password):
    """The environment the credential type of docs/awx.md injects: AWX sets every variable, empty ones too."""
    return {'KAPACITOR_URL': url, 'KAPACITOR_USERNAME': username, 'KAPACITOR_PASSWORD': password,
            'KAPACITOR_TOKEN': '', 'KAPACITOR_CA_PATH': '', 'KAPACITOR_UNSAFE_SSL': 'False'}


class Job:
    """A finished job as its artifacts tell it (``artifacts/<ident>/`` of the private data directory, what AWX
    reads back from the execution node): ``status``, ``rc``, ``stdout`` and the job ``events``."""

    def __init__(self, artifact_dir):
        self.artifact_dir = artifact_dir

    def read(self, name):
        with open(os.path.join(self.artifact_dir, name), encoding='utf-8') as handle:
            return handle.read()

    def assert_successful(self):
        assert (self.read('status'), self.read('rc')) == ('successful', '0'), self.read('stdout')

    @property
    def events(self):
        directory = os.path.join(self.artifact_dir, 'job_events')
        events = [json.loads(self.read(os.path.join('job_events', name))) for name in os.listdir(directory)]
        return sorted(events, key=lambda event: event['counter'])

    def custom_stats(self):
        """The ``set_stats`` figures as AWX stores them as the job's artifacts (the stats event's ``artifact_data``)."""
        stats = [event for event in self.events if event['event'] == 'playbook_on_stats']
        assert len(stats) == 1, [event['event'] for event in self.events]
        return stats[0]['event_data']['artifact_data']

    def published(self, expected):
        """The custom stats named in ``expected`` (None for one that is missing)."""
        stats = self.custom_stats()
        return {name: stats.get(name) for name in expected}

    def assert_no_secret(self, secrets):
        """No secret in any job event, in stdout, or in any other file of the artifact directory but ``command``:
        ansible-runner's own copy of its inputs (the command and its environment, credential included), readable
        by its owner only, which AWX never shows (it shows the events and stdout)."""
        texts = {'events': json.dumps(self.events)}
        for root, _dirs, files in os.walk(self.artifact_dir):
            for name in files:
                path = os.path.relpath(os.path.join(root, name), self.artifact_dir)
                if path == 'command':
                    assert stat.S_IMODE(os.stat(os.path.join(self.artifact_dir, path)).st_mode) == 0o600
                else:
                    texts[path] = self.read(path)
        assert 'playbook_on_stats' in texts['events'] and 'runner_on_ok' in texts['events'] and 'stdout' in texts
        for secret in secrets:
            found = [where for where, text in texts.items() if secret in text]
            assert not found, (secret, found)


def test_a_job_with_an_injected_credential_and_per_host_credentials(fleet, tmp_path):
    """kap1 gets URL and credential from the environment only (the custom credential type's injector); kap2 has
    its own URL and credential as host variables, which win over the injected ones."""
    sims = {host: fleet[host] for host in ('kap1', 'kap2')}
    before = load(sims)
    (user_a, password_a), (user_b, password_b) = USERS['a'], USERS['b']
    hosts = inventory(sims, {'kap2': {'kapacitor_url': sims['kap2'].url, 'kapacitor_username': user_b,
                                      'kapacitor_password': password_b}})
    directory = private_data_dir(tmp_path / 'job', hosts, injected(sims['kap1'].url, user_a, password_a))
    runner = ansible_runner.run(private_data_dir=directory, playbook='retry_failed_runs.yml', quiet=True,
                                timeout=JOB_TIMEOUT)
    job = Job(runner.config.artifact_dir)

    assert (runner.status, runner.rc) == ('successful', 0), runner.stdout.read()
    job.assert_successful()
    expected = expected_figures(sims, before)
    assert job.published(expected) == expected
    stats = job.custom_stats()
    # The figures are numbers (summed over the hosts, not joined); the server types are one entry per host.
    assert stats.pop('kapacitor_retry_server_types') == {'kap1': 'kapacitor', 'kap2': 'kapacitor'}
    assert all(isinstance(value, int) for value in stats.values()), stats
    assert [event['uuid'] for event in runner.events] == [event['uuid'] for event in job.events]
    job.assert_no_secret([password_a, password_b])


def test_job_slices_at_the_same_time_retry_each_failed_time_once_and_sum_to_one_run(fleet, tmp_path):
    """Two slices of a four-server inventory run at once as separate ``ansible-runner`` processes (as on two
    execution nodes), each limited to its hosts, and each with the credential its servers accept. (AWX hands each
    slice job the inventory cut down to its share of the hosts; ``--limit`` is stricter: the groups still hold
    every host, so a playbook that reached past the limit through them would be caught.)"""
    before = load(fleet)
    hosts = inventory(fleet, {host: {'kapacitor_url': sim.url} for host, sim in fleet.items()})
    jobs = {}
    for label, (user, password) in sorted(USERS.items()):
        slice_hosts = [host for host, owner in FLEET if owner == label]
        directory = private_data_dir(tmp_path / ('slice-' + label), hosts, injected('', user, password))
        command = [os.path.join(os.path.dirname(sys.executable), 'ansible-runner'), 'run', directory, '--quiet',
                   '--playbook', 'retry_failed_runs.yml', '--limit', ','.join(slice_hosts), '--ident', label]
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL)
        jobs[label] = (slice_hosts, process, os.path.join(directory, 'artifacts', label))
    for _hosts, process, artifacts in jobs.values():
        assert process.wait(JOB_TIMEOUT) == 0, Job(artifacts).read('stdout')

    # Each slice: its own servers' failed times retried exactly once (checked out of band in expected_figures),
    # and its stats are those of its servers alone.
    for label, (slice_hosts, _process, artifacts) in jobs.items():
        Job(artifacts).assert_successful()
        expected = expected_figures({host: fleet[host] for host in slice_hosts}, before)
        assert Job(artifacts).published(expected) == expected, label
    # The two slices' stats add up to what one job over all four servers publishes.
    single_run = expected_figures(fleet, before)
    summed = {name: sum(Job(artifacts).published(single_run)[name] for _hosts, _process, artifacts in jobs.values())
              for name in single_run}
    assert summed == single_run
    assert (single_run['kapacitor_retry_retried'], single_run['kapacitor_retry_given_up']) == (12, 4)
