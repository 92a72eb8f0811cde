# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What KapacitorModule writes to the system log when it starts: never a secret that the URL carries."""

import json

import pytest
from ansible.module_utils import basic

from ansible_collections.tickstack.kapacitor.plugins.module_utils._module import KapacitorModule


@pytest.mark.parametrize('url, secrets', [
    ('http://ops:Pw%2FSec%23ret@kap.example:9092', ['Pw%2FSec%23ret', 'Pw/Sec#ret']),
    ('http://kap.example:9092/?u=ops&p=S3cret', ['S3cret']),
])
def test_the_invocation_log_line_holds_no_url_secret(monkeypatch, url, secrets):
    args = {'ANSIBLE_MODULE_ARGS': {'url': url, '_ansible_remote_tmp': '/tmp', '_ansible_keep_remote_files': False}}
    monkeypatch.setattr(basic, '_ANSIBLE_ARGS', json.dumps(args).encode('utf-8'))
    monkeypatch.setattr(basic, '_ANSIBLE_PROFILE', 'legacy', raising=False)
    logged = []
    monkeypatch.setattr(KapacitorModule, 'log', lambda self, msg, log_args=None: logged.append(msg))
    KapacitorModule(argument_spec={})
    assert logged and logged[0].startswith('Invoked with'), logged
    for secret in secrets:
        assert secret not in logged[0], logged[0]
