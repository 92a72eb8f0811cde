# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""kapacitor_task_runs_export against the simulator, as Kapacitor and as InfluxDB 2: the file holds what the simulator
holds, as kapacitor_task_runs_info returns it; it is replaced whole or not at all; secrets are masked in it."""


import errno
import json
import os
import shutil
import stat
import subprocess

import pytest
from ansible.release import __version__ as ANSIBLE_VERSION

from ansible_collections.tickstack.kapacitor.tests.functional.support import BOTH_FLAVORS, listable_runs, run_module

pytestmark = BOTH_FLAVORS

# A window that holds every run of the scenarios below.
WINDOW = {'after_time': '49h', 'before_time': '1m'}


def export(sim, dest, check_mode=False, **args):
    return run_module('kapacitor_task_runs_export', dict(sim.connection, dest=str(dest), **args), check_mode=check_mode)


@pytest.fixture
def write_protect():
    """``write_protect(path)`` makes ``path`` refuse writes, even to root: ``chattr +i``, after which an (ext4)
    directory is not writable (os.access says so) and a file cannot be renamed over; for a directory and a user other
    than root, mode 0o555 instead. Skips the test where that cannot be done; always undoes it, so tmp_path can go."""
    undo = []

    def protect(path):
        if os.path.isdir(path) and os.geteuid() != 0:
            mode = stat.S_IMODE(os.stat(path).st_mode)
            os.chmod(path, 0o555)
            undo.append(lambda: os.chmod(path, mode))
            return
        chattr = shutil.which('chattr')
        if chattr is None:
            pytest.skip('chattr is not installed: cannot make %s refuse writes' % path)
        done = subprocess.run([chattr, '+i', str(path)], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            pytest.skip('chattr +i %s failed (not root, or a filesystem without the attribute): %s'
                        % (path, done.stderr.strip()))
        undo.append(lambda: subprocess.run([chattr, '-i', str(path)], check=True))

    yield protect
    for step in reversed(undo):
        step()


def lines_of(path):
    with open(path, encoding='utf-8') as handle:
        return [json.loads(line) for line in handle]


@pytest.fixture(scope='module')
def tasks(shared_sim):
    """A task above one page of runs and two small ones, one of them inactive."""
    created = shared_sim.load({'tasks': [
        {'name': 'big', 'generate_runs': {'count': 1200, 'every': '2m', 'end': '-2m', 'failed_ratio': 0.05,
                                          'retried_ratio': 0.5, 'seed': 5}},
        {'name': 'small', 'runs': [{'status': 'failed', 'scheduled_for': '-3h'},
                                   {'status': 'success', 'scheduled_for': '-2h'}]},
        {'name': 'off', 'status': 'inactive', 'runs': [{'status': 'failed', 'scheduled_for': '-5h'}]},
    ]})
    return {task['name']: task['id'] for task in created['tasks']}


def test_the_file_holds_every_run_as_runs_info_returns_them(shared_sim, tasks, tmp_path):
    dest = tmp_path / 'runs.jsonl'
    result = export(shared_sim, dest, concurrency=2, **WINDOW)
    assert result.rc == 0, result
    written = lines_of(dest)
    # Out of band: every run the simulator can list in the window, once.
    expected = {run['id'] for task_id in tasks.values() for run in listable_runs(shared_sim, task_id)
                if result['window']['after_time'] < run['scheduled_for'] < result['window']['before_time']}
    ids = [run['id'] for run in written]
    assert len(ids) == len(set(ids)) > 1000
    assert set(ids) == expected
    # The same runs, keys and order as kapacitor_task_runs_info, which is not asked to write anything.
    info = run_module('kapacitor_task_runs_info', dict(shared_sim.connection, concurrency=2, **WINDOW))
    assert written == info['runs']
    assert result['totals'] == dict(info['totals'])
    assert result['tasks'] == info['tasks']
    assert 'runs' not in result
    assert result['changed'] is True and result['dest'] == str(dest)


def test_the_same_content_leaves_the_file_alone(shared_sim, tasks, tmp_path):
    dest = tmp_path / 'runs.jsonl'
    args = dict(task_id=[tasks['small'], tasks['off']], **WINDOW)
    assert export(shared_sim, dest, **args)['changed'] is True
    before = os.stat(dest)
    again = export(shared_sim, dest, **args)
    assert again.rc == 0 and again['changed'] is False, again
    after = os.stat(dest)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    # A narrower listing is different content: the file is replaced.
    narrower = export(shared_sim, dest, status=['failed'], fields=['id', 'status'], **args)
    assert narrower['changed'] is True
    assert {tuple(run) for run in lines_of(dest)} == {('id', 'status')}
    assert [run['status'] for run in lines_of(dest)] == ['failed', 'failed']
    assert sorted(os.listdir(tmp_path)) == ['runs.jsonl']


def test_check_mode_writes_nothing_and_says_what_would_change(shared_sim, tasks, tmp_path):
    dest = tmp_path / 'runs.jsonl'
    args = dict(task_id=[tasks['small']], **WINDOW)
    result = export(shared_sim, dest, check_mode=True, **args)
    assert result.rc == 0 and result['changed'] is True, result
    assert os.listdir(tmp_path) == []
    real = export(shared_sim, dest, **args)
    assert real['checksum'] == result['checksum']
    assert export(shared_sim, dest, check_mode=True, **args)['changed'] is False


def test_file_attributes_are_applied(shared_sim, tasks, tmp_path):
    dest = tmp_path / 'runs.jsonl'
    result = export(shared_sim, dest, task_id=[tasks['small']], mode='0600', **WINDOW)
    assert result.rc == 0, result
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o600
    result = export(shared_sim, dest, task_id=[tasks['small']], mode='0640', **WINDOW)
    assert result['changed'] is True
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o640


def test_a_failed_listing_leaves_the_file_as_it_was(sim, tmp_path):
    sim.load({'tasks': [{'name': 'one', 'runs': [{'status': 'failed', 'scheduled_for': '-3h'}]},
                        {'name': 'two', 'runs': [{'status': 'success', 'scheduled_for': '-3h'}]}]})
    dest = tmp_path / 'runs.jsonl'
    dest.write_text('yesterday\n')
    sim.faults(get_error_ratio=1.0, get_error_status=500, routes=['GET /api/v2/tasks/:id/runs'])
    result = export(sim, dest, http_retries=0, after_time='24h')
    assert result.rc == 1 and result['failed'], result
    assert 'Traceback' not in result['msg']
    assert sim.requests_to('GET /api/v2/tasks/:id/runs') >= 1   # it failed while listing runs, not before
    assert dest.read_text() == 'yesterday\n'
    assert sorted(os.listdir(tmp_path)) == ['runs.jsonl']   # no temporary file left behind


@pytest.mark.parametrize('case', ['directory', 'no parent', 'empty'])
def test_a_dest_that_cannot_be_written_fails_before_any_request(sim, tmp_path, case):
    sim.load({'tasks': [{'name': 'one', 'runs': [{'status': 'failed', 'scheduled_for': '-3h'}]}]})
    dest, expected = {
        'directory': (tmp_path, 'is a directory'),
        'no parent': (tmp_path / 'missing' / 'runs.jsonl', 'does not exist: create %s first' % (tmp_path / 'missing')),
        'empty': ('', 'dest is empty'),
    }[case]
    sim.reset_stats()
    result = export(sim, dest)
    assert result.rc == 1 and expected in result['msg'], result
    assert sim.stats()['requests'] == {}


def test_a_directory_that_is_not_writable_fails_before_any_request(sim, tmp_path, write_protect):
    sim.load({'tasks': [{'name': 'one', 'runs': [{'status': 'failed', 'scheduled_for': '-3h'}]}]})
    directory = tmp_path / 'locked'
    directory.mkdir()
    dest = directory / 'runs.jsonl'
    dest.write_text('yesterday\n')
    write_protect(directory)
    assert not os.access(directory, os.W_OK)   # what the module will see
    sim.reset_stats()
    result = export(sim, dest, after_time='24h')
    assert result.rc == 1 and result['failed'], result
    assert result['msg'] == 'the directory of dest %s is not writable by this user' % dest
    assert sim.stats()['requests'] == {}
    assert dest.read_text() == 'yesterday\n'
    assert sorted(os.listdir(directory)) == ['runs.jsonl']


def test_a_dest_that_cannot_be_replaced_is_left_as_it_was(sim, tmp_path, write_protect):
    """The listing succeeds and the temporary file is complete, but renaming it over dest fails: dest keeps its
    content and no temporary file is left (ansible-core's atomic_move moves the module's temporary file to one of its
    own, and removes that). ansible-core 2.19+ raises from atomic_move and the module says which file and why; earlier
    versions (2.18 here) fail from inside atomic_move, with a message of their own that names dest and the OS error."""
    sim.load({'tasks': [{'name': 'one', 'runs': [{'status': 'failed', 'scheduled_for': '-3h'}]}]})
    dest = tmp_path / 'runs.jsonl'
    dest.write_text('yesterday\n')
    write_protect(dest)
    result = export(sim, dest, after_time='24h')
    assert result.rc == 1 and result['failed'], result
    # dest, and why it could not be replaced (on 2.19+ the OS error is the cause of atomic_move's exception)
    assert str(dest) in result['msg'] and os.strerror(errno.EPERM) in result['msg'], result
    if tuple(int(part) for part in ANSIBLE_VERSION.split('.')[:2]) >= (2, 19):   # the module's; before, atomic_move's
        assert result['msg'].startswith('cannot replace %s (%s): ' % (dest, os.strerror(errno.EPERM))), result
    assert 'Traceback' not in result['msg']
    assert sim.requests_to('GET /api/v2/tasks/:id/runs') >= 1   # it failed at the replace, not before listing
    assert dest.read_text() == 'yesterday\n'
    assert sorted(os.listdir(tmp_path)) == ['runs.jsonl']   # neither the module's temporary file nor ansible's


def test_secrets_are_masked_in_the_file_as_in_any_output(sim, tmp_path):
    """A run that carries a secret (here in its task's name) is written masked, exactly as kapacitor_task_runs_info
    returns it; a secret with a quote and a backslash is found in its JSON-escaped form too."""
    if sim.flavor == 'influxdb2':
        secret, credentials = sim.connection['token'], {}
    else:
        secret, credentials = 'pa"ss\\word', {'username': 'ops', 'password': 'pa"ss\\word'}
    sim.load({'tasks': [{'name': 'report ' + secret, 'runs': [{'status': 'failed', 'scheduled_for': '-3h'}]},
                        {'name': 'plain', 'runs': [{'status': 'success', 'scheduled_for': '-3h'}]}]})
    dest = tmp_path / 'runs.jsonl'
    result = export(sim, dest, after_time='24h', **credentials)
    assert result.rc == 0, result
    text = dest.read_text(encoding='utf-8')
    assert secret not in text and json.dumps(secret)[1:-1] not in text
    assert sorted(run['task_name'] for run in lines_of(dest)) == ['plain', 'report ********']
    info = run_module('kapacitor_task_runs_info', dict(sim.connection, after_time='24h', **credentials))
    assert lines_of(dest) == info['runs']
