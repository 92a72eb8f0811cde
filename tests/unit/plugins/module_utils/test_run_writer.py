# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of _module.RunWriter (kapacitor_task_runs_export): JSON Lines, hashed, with secrets masked as exit_json masks
them."""

import hashlib
import io
import json

import pytest
from ansible.module_utils.common.parameters import remove_values

from ansible_collections.tickstack.kapacitor.plugins.module_utils._module import RunWriter

RUN = {'id': '0b00000000000001', 'task_name': 'plain', 'status': 'failed', 'attempt': 1, 'error': None,
       'log': [{'message': 'Completed(failed)'}]}


def written(runs, secrets):
    stream = io.BytesIO()
    writer = RunWriter(stream, secrets)
    for run in runs:
        writer.write(run)
    return stream.getvalue(), writer.digest.hexdigest()


def test_a_run_without_secrets_is_one_compact_json_line():
    data, digest = written([RUN, dict(RUN, id='0b00000000000002')], {'hunter2'})
    lines = data.decode('utf-8').splitlines()
    assert [json.loads(line) for line in lines] == [RUN, dict(RUN, id='0b00000000000002')]
    assert lines[0] == json.dumps(RUN, separators=(',', ':'))
    assert digest == hashlib.sha1(data).hexdigest()


@pytest.mark.parametrize('secret', ['hunter2', 'pa"ss\\word', 'line\nbreak', 'pässwörd', '\x01ctl'])
def test_a_secret_anywhere_is_masked_as_exit_json_masks_it(secret):
    run = dict(RUN, task_name='report ' + secret, log=[{'message': 'token=%s;' % secret}])
    data, dummy = written([run, RUN], {secret, 'unused'})
    first, second = data.decode('utf-8').splitlines()
    assert json.loads(first) == remove_values(run, {secret, 'unused'})
    assert json.loads(first)['task_name'] == 'report ********'
    assert secret not in first and json.dumps(secret)[1:-1] not in first
    assert json.loads(second) == RUN


def test_check_mode_hashes_what_would_be_written():
    data, digest = written([RUN], set())
    writer = RunWriter(None, set())
    writer.write(RUN)
    assert writer.digest.hexdigest() == digest == hashlib.sha1(data).hexdigest()


def test_a_lone_surrogate_is_written_as_its_escape():
    run = dict(RUN, error='bad \ud800 byte')
    data, dummy = written([run], {'hunter2'})
    assert json.loads(data.decode('utf-8')) == run


@pytest.mark.parametrize('value', [float('nan'), float('inf')])
def test_nan_and_infinity_are_masked_as_exit_json_masks_them(value):
    """remove_values reads a number as str() ('nan', 'inf'), JSON writes NaN and Infinity: no needle can tell."""
    run = dict(RUN, started_at=value)
    for secret in ('inf', 'nan'):   # neither is in the JSON text (Infinity, NaN), both mask str(value)
        data, dummy = written([run], {secret})
        assert data.decode('utf-8') == json.dumps(remove_values(run, {secret}), separators=(',', ':')) + '\n'
    data, dummy = written([run], set())
    assert data.decode('utf-8') == json.dumps(run, separators=(',', ':')) + '\n'


def test_the_stream_is_closed_on_disk_after_a_success_and_closed_after_a_failure(tmp_path):
    class FullDisk(io.BytesIO):
        def close(self):
            super().close()
            raise OSError(28, 'No space left on device')
    with RunWriter(open(tmp_path / 'ok', 'wb'), set()) as writer:
        writer.write(RUN)
    assert writer.stream.closed and json.loads((tmp_path / 'ok').read_text()) == RUN
    with pytest.raises(RuntimeError):
        with RunWriter(open(tmp_path / 'failed', 'wb'), set()) as writer:
            raise RuntimeError('listing failed')
    assert writer.stream.closed
    with pytest.raises(RuntimeError):   # the listing's error, not the full disk's
        with RunWriter(FullDisk(), set()) as writer:
            raise RuntimeError('listing failed')
