# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of _module: its pure helpers, and the connection options as KapacitorModule hands them to the client
(the module-level behaviour is tested as processes in tests/functional)."""

import json

import pytest
from ansible.module_utils import basic

from ansible_collections.tickstack.kapacitor.plugins.module_utils._module import MAX_MESSAGE, KapacitorModule, shorten


def test_a_short_message_is_kept_whole():
    assert shorten('url is empty') == 'url is empty'
    assert shorten('x' * MAX_MESSAGE) == 'x' * MAX_MESSAGE


def test_a_long_message_is_cut_to_the_limit_and_says_how_much_was_cut():
    message = 'HTTP 500: ' + 'y' * 5000
    short = shorten(message)
    assert len(short) == MAX_MESSAGE
    assert short.startswith('HTTP 500: yyy')
    cut = int(short.rsplit('[... ', 1)[1].split()[0])
    assert short.endswith('[... %d more characters]' % cut) and len(short) - len(' [... %d more characters]' % cut) + cut == len(message)


def module_with(monkeypatch, **params):
    args = dict(params, _ansible_remote_tmp='/tmp', _ansible_keep_remote_files=False)
    monkeypatch.setattr(basic, '_ANSIBLE_ARGS', json.dumps({'ANSIBLE_MODULE_ARGS': args}).encode('utf-8'))
    monkeypatch.setattr(basic, '_ANSIBLE_PROFILE', 'legacy', raising=False)
    for name in ('KAPACITOR_USERNAME', 'KAPACITOR_PASSWORD', 'KAPACITOR_TOKEN', 'KAPACITOR_URL', 'INFLUX_HOST', 'INFLUX_TOKEN',
                 'INFLUX_ORG', 'INFLUX_ORG_ID'):
        monkeypatch.delenv(name, raising=False)
    return KapacitorModule(argument_spec={})


def test_url_username_and_url_password_are_the_credentials_uri_users_type(monkeypatch):
    client = module_with(monkeypatch, server_type='kapacitor', url='http://kap:9092', url_username='ops', url_password='Alias-pw-1').client()
    assert client.session.auth == (b'ops', b'Alias-pw-1')


def test_the_network_options_reach_the_client(monkeypatch):
    client = module_with(monkeypatch, server_type='kapacitor', url='https://gw.example.com/kapacitor-eu/', use_proxy=False, http_retries=0).client()
    assert (client.base_url, client.proxies is not None, client.http_retries) == ('https://gw.example.com/kapacitor-eu', True, 0)
    client = module_with(monkeypatch, server_type='kapacitor', url='http://kap:9092').client()
    assert (client.proxies, client.http_retries) == (None, 5)


@pytest.mark.parametrize('value', [-1, 101])
def test_http_retries_out_of_range_fails_naming_it(monkeypatch, capsys, value):
    module = module_with(monkeypatch, server_type='kapacitor', url='http://kap:9092', http_retries=value)
    with pytest.raises(SystemExit):
        module.client()
    result = json.loads(capsys.readouterr().out)
    assert result['failed'] and result['msg'].startswith('http_retries must be between 0 and 100, got %d' % value)
