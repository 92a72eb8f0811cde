# -*- coding: utf-8 -*-
# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the client's pure parts: URL handling, error shapes, hints, backoff. No server."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.tickstack.kapacitor.plugins.module_utils import _client
from ansible_collections.tickstack.kapacitor.plugins.module_utils._errors import InputError, RequestError
from ansible_collections.tickstack.kapacitor.plugins.module_utils._client import (
    KapacitorClient,
    parse_base_url,
    redact_url,
    server_message,
)


class FakeResponse:
    def __init__(self, status, text, content_type='application/json; charset=utf-8'):
        self.status_code = status
        self.text = text
        self.headers = {'Content-Type': content_type}
        self.url = 'http://127.0.0.1:9092/kapacitor/v1/api/v2/tasks'


@pytest.mark.parametrize('url, base, user, password', [
    ('http://localhost:9092', 'http://localhost:9092', None, None),
    ('https://kap.example.com:9092/', 'https://kap.example.com:9092', None, None),
    ('http://admin:s%40cret@127.0.0.1:9092', 'http://127.0.0.1:9092', 'admin', 's@cret'),
    ('http://[::1]:9092', 'http://[::1]:9092', None, None),
])
def test_parse_base_url(url, base, user, password):
    assert parse_base_url(url) == (base, user, password)


@pytest.mark.parametrize('url, expected', [
    ('localhost:9092', 'http:// or https://'),
    ('ftp://localhost:9092', 'http:// or https://'),
    ('http://', 'host name'),
    ('http://localhost:9092/kapacitor/v1', 'without a path'),
    ('http://localhost:9092?x=1', 'without a path'),
    ('http://localhost:99999', 'invalid port'),
])
def test_parse_base_url_rejects_with_what_was_expected(url, expected):
    with pytest.raises(InputError) as info:
        parse_base_url(url)
    assert expected in str(info.value)


def test_bad_urls_never_echo_their_password():
    with pytest.raises(InputError) as info:
        parse_base_url('http://admin:hunter2@localhost:9092/kapacitor')
    assert 'hunter2' not in str(info.value)
    assert redact_url('http://admin:hunter2@localhost:9092/x') == 'http://localhost:9092/x'


@pytest.mark.parametrize('text, message', [
    ('{"code":"not found","message":"failed to find task: task not found"}', 'failed to find task: task not found'),
    ('{"error":"authorization failed","message":"authorization failed"}', 'authorization failed'),
    ('{\n    "error": "Not Found",\n    "message": "Not Found"\n}', 'Not Found'),
    ('Method Not Allowed\n', 'Method Not Allowed'),
    ('<html><body><h1>502 Bad Gateway</h1></body></html>', '<html><body><h1>502 Bad Gateway</h1></body></html>'),
    ('', '(empty body)'),
])
def test_server_message_reads_all_three_error_shapes(text, message):
    assert server_message(FakeResponse(400, text)) == message


def test_hints_name_the_fix():
    disabled = FakeResponse(404, '{\n    "error": "Not Found",\n    "message": "Not Found"\n}')
    assert '[fluxtask] enabled = true' in _client.hint_for_status(404, 'Not Found', disabled)
    assert 'KAPACITOR_USERNAME' in _client.hint_for_status(401, 'authorization failed', FakeResponse(401, '{}'))
    assert 'privilege' in _client.hint_for_status(403, 'x', FakeResponse(403, '{}'))
    html = FakeResponse(404, '<html>nope</html>', 'text/html')
    assert 'does not look like Kapacitor' in _client.hint_for_status(404, 'nope', html)


def test_backoff_is_jittered_and_capped():
    for attempt in range(1, 12):
        delay = KapacitorClient._backoff(attempt)
        ceiling = min(_client.BACKOFF_CAP, _client.BACKOFF_BASE * 2 ** (attempt - 1))
        assert ceiling / 2 <= delay <= ceiling


def test_error_text_has_method_url_and_hint():
    error = RequestError('HTTP 401: authorization failed', method='GET', url='http://h:9092/kapacitor/v1/api/v2/tasks',
                           status=401, server_message='authorization failed', hint='Set username.')
    assert str(error) == 'GET http://h:9092/kapacitor/v1/api/v2/tasks: HTTP 401: authorization failed. Set username.'
    assert error.as_dict()['status'] == 401
