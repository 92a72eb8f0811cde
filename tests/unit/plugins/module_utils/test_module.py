# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of _module: its pure helpers, and the connection options as KapacitorModule hands them to the client
(the module-level behaviour is tested as processes in tests/functional)."""

import base64
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


def module_in(monkeypatch, env, **params):
    """A KapacitorModule with these arguments, the connection variables of the environment cleared, then ``env`` set."""
    args = dict(params, _ansible_remote_tmp='/tmp', _ansible_keep_remote_files=False)
    monkeypatch.setattr(basic, '_ANSIBLE_ARGS', json.dumps({'ANSIBLE_MODULE_ARGS': args}).encode('utf-8'))
    monkeypatch.setattr(basic, '_ANSIBLE_PROFILE', 'legacy', raising=False)
    for name in ('KAPACITOR_USERNAME', 'KAPACITOR_PASSWORD', 'KAPACITOR_TOKEN', 'KAPACITOR_URL', 'KAPACITOR_UNSAFE_SSL',
                 'INFLUX_HOST', 'INFLUX_TOKEN', 'INFLUX_ORG', 'INFLUX_ORG_ID', 'INFLUX_SKIP_VERIFY'):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return KapacitorModule(argument_spec={})


def basic_auth(auth):
    """The Authorization header of HTTP basic authentication for (username, password) as bytes."""
    return 'Basic ' + base64.b64encode(b':'.join(auth)).decode()


def module_with(monkeypatch, **params):
    return module_in(monkeypatch, {}, **params)


def test_url_username_and_url_password_are_the_credentials_uri_users_type(monkeypatch):
    client = module_with(monkeypatch, server_type='kapacitor', url='http://kap:9092', url_username='ops', url_password='Alias-pw-1').client()
    assert client.headers['Authorization'] == basic_auth((b'ops', b'Alias-pw-1'))


def test_the_network_options_reach_the_client(monkeypatch):
    for name in ('http_proxy', 'https_proxy', 'all_proxy', 'no_proxy', 'HTTP_PROXY', 'ALL_PROXY', 'NO_PROXY'):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('HTTPS_PROXY', 'http://proxy.example.com:3128')
    client = module_with(monkeypatch, server_type='kapacitor', url='https://gw.example.com/kapacitor-eu/', use_proxy=False, http_retries=0).client()
    assert (client.base_url, client.proxies, client.http_retries) == ('https://gw.example.com/kapacitor-eu', {}, 0)
    client = module_with(monkeypatch, server_type='kapacitor', url='https://kap:9092').client()
    assert (client.proxies.get('https'), client.http_retries) == ('http://proxy.example.com:3128', 5)


@pytest.mark.parametrize('value', [-1, 101])
def test_http_retries_out_of_range_fails_naming_it(monkeypatch, capsys, value):
    module = module_with(monkeypatch, server_type='kapacitor', url='http://kap:9092', http_retries=value)
    with pytest.raises(SystemExit):
        module.client()
    result = json.loads(capsys.readouterr().out)
    assert result['failed'] and result['msg'].startswith('http_retries must be between 0 and 100, got %d' % value)


# --------------------------------------------------------------------------- InfluxDB 2 options and the environment

ORG_ID = '0000000000000a01'


@pytest.mark.parametrize('env, params, url', [
    ({'INFLUX_HOST': 'http://influx:8086'}, {}, 'http://influx:8086'),
    ({'INFLUX_HOST': 'http://influx:8086', 'KAPACITOR_URL': 'http://kap:9092'}, {}, 'http://kap:9092'),
    ({'INFLUX_HOST': 'http://influx:8086'}, {'url': 'http://given:1'}, 'http://given:1'),
    ({}, {}, 'http://localhost:8086'),   # the default follows server_type influxdb2
])
def test_influx_host_comes_after_kapacitor_url_and_an_explicit_url_wins(monkeypatch, env, params, url):
    assert module_in(monkeypatch, env, server_type='influxdb2', **params).client().base_url == url


KAPACITOR_ENV = {'KAPACITOR_USERNAME': 'ops', 'KAPACITOR_PASSWORD': 'kap-pw'}


@pytest.mark.parametrize('server_type, env, params, header, auth', [
    # The environment's credentials go to a server of their own type only.
    ('influxdb2', {'INFLUX_TOKEN': 'influx-tok'}, {}, 'Token influx-tok', None),
    ('kapacitor', {'INFLUX_TOKEN': 'influx-tok'}, {}, None, None),
    ('influxdb2', {'KAPACITOR_TOKEN': 'kap-tok'}, {}, None, None),
    ('influxdb2', KAPACITOR_ENV, {}, None, None),
    ('influxdb2', dict(KAPACITOR_ENV, INFLUX_TOKEN='influx-tok'), {}, 'Token influx-tok', None),
    ('kapacitor', dict(KAPACITOR_ENV, INFLUX_TOKEN='influx-tok'), {}, None, (b'ops', b'kap-pw')),
    ('kapacitor', {'INFLUX_TOKEN': 'influx-tok', 'KAPACITOR_TOKEN': 'kap-tok'}, {}, 'Bearer kap-tok', None),
    # Explicit credentials go to a server of either type, and win over the environment's.
    ('influxdb2', {'INFLUX_TOKEN': 'influx-tok'}, {'token': 'given-tok'}, 'Token given-tok', None),
    ('kapacitor', {'KAPACITOR_TOKEN': 'kap-tok'}, {'token': 'given-tok'}, 'Bearer given-tok', None),
    ('influxdb2', {'INFLUX_TOKEN': 'influx-tok'}, {'username': 'ops', 'password': 'pw'}, None, (b'ops', b'pw')),
    ('kapacitor', KAPACITOR_ENV, {'username': 'ops', 'password': 'pw'}, None, (b'ops', b'pw')),
    ('influxdb2', {'INFLUX_TOKEN': 'influx-tok'}, {'url': 'http://ops:pw@influx:8086'}, None, (b'ops', b'pw')),
    # KAPACITOR_PASSWORD completes an explicit username on Kapacitor only.
    ('kapacitor', KAPACITOR_ENV, {'username': 'ops'}, None, (b'ops', b'kap-pw')),
    ('influxdb2', KAPACITOR_ENV, {'username': 'ops'}, None, (b'ops', b'')),
])
def test_environment_credentials_go_to_their_own_server_type_and_explicit_ones_to_any(
        monkeypatch, server_type, env, params, header, auth):
    client = module_in(monkeypatch, env, server_type=server_type, **dict({'url': 'http://influx:8086'}, **params)).client()
    assert client.headers.get('Authorization') == (basic_auth(auth) if auth else header)


def test_every_token_of_the_environment_is_masked(monkeypatch):
    module = module_in(monkeypatch, {'INFLUX_TOKEN': 'Influx-secret-1', 'KAPACITOR_TOKEN': 'Kap-secret-2'},
                       server_type='kapacitor', url='http://kap:9092')
    assert {'Influx-secret-1', 'Kap-secret-2'} <= module.no_log_values


@pytest.mark.parametrize('env, params, scope', [
    ({'INFLUX_ORG': 'ops'}, {}, ('ops', None)),
    ({'INFLUX_ORG_ID': ORG_ID}, {}, (None, ORG_ID)),
    ({'INFLUX_ORG_ID': ORG_ID}, {'org': 'given'}, ('given', None)),       # explicit wins as a whole: no clash
    ({'INFLUX_ORG': 'ops'}, {'org_id': ORG_ID.upper()}, (None, ORG_ID)),
])
def test_influx_org_and_org_id_from_the_environment_where_the_task_gave_neither(monkeypatch, env, params, scope):
    client = module_in(monkeypatch, env, server_type='influxdb2', url='http://influx:8086', **params).client()
    assert (client.org, client.org_id) == scope


@pytest.mark.parametrize('env, params, message', [
    ({'INFLUX_ORG': 'ops', 'INFLUX_ORG_ID': ORG_ID}, {}, 'INFLUX_ORG and INFLUX_ORG_ID are both set in the environment'),
    ({}, {'org': 'ops', 'org_id': ORG_ID}, 'parameters are mutually exclusive: org|org_id'),
    ({}, {'org_id': 'ops'}, 'org_id must be the 16 hexadecimal characters of an InfluxDB organization ID'),
    ({}, {'server_type': 'influx'}, 'value of server_type must be one of: auto, kapacitor, influxdb2, got: influx'),
])
def test_bad_org_and_server_type_options_fail_naming_them(monkeypatch, capsys, env, params, message):
    with pytest.raises(SystemExit):
        module_in(monkeypatch, env, **dict({'url': 'http://influx:8086', 'server_type': 'influxdb2'}, **params)).client()
    result = json.loads(capsys.readouterr().out)
    assert result['failed'] and message in result['msg'] and 'server' not in result


def test_every_result_carries_the_server_once_it_is_known(monkeypatch, capsys):
    module = module_in(monkeypatch, {}, server_type='influxdb2', url='http://influx:8086')
    module.client()
    with pytest.raises(SystemExit):
        module.exit_json(changed=False)
    assert json.loads(capsys.readouterr().out)['server'] == {'type': 'influxdb2', 'version': None}
    with pytest.raises(SystemExit):
        module.fail_json(msg='boom')
    assert json.loads(capsys.readouterr().out)['server'] == {'type': 'influxdb2', 'version': None}


@pytest.mark.parametrize('server_type, env, params, verify', [
    ('influxdb2', {'INFLUX_SKIP_VERIFY': 'true'}, {}, False),
    ('influxdb2', {'INFLUX_SKIP_VERIFY': 'true', 'KAPACITOR_UNSAFE_SSL': 'false'}, {}, False),
    ('influxdb2', {'KAPACITOR_UNSAFE_SSL': 'true'}, {}, True),
    ('influxdb2', {'INFLUX_SKIP_VERIFY': 'true'}, {'validate_certs': True}, True),
    ('kapacitor', {'KAPACITOR_UNSAFE_SSL': 'true'}, {}, False),
    ('kapacitor', {'INFLUX_SKIP_VERIFY': 'true'}, {}, True),
    ('kapacitor', {'KAPACITOR_UNSAFE_SSL': 'yes-please'}, {}, True),
    ('kapacitor', {}, {'validate_certs': False}, False),
    ('influxdb2', {}, {'validate_certs': False}, False),
    ('influxdb2', {}, {}, True),
])
def test_each_skip_verify_switch_applies_to_its_own_server_type_and_validate_certs_to_any(
        monkeypatch, server_type, env, params, verify):
    client = module_in(monkeypatch, env, server_type=server_type, url='https://influx:8086', **params).client()
    assert client.verify is verify
