# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the error model: what each error says, and that its facts are set when it is made."""


import pytest

from ansible_collections.tickstack.kapacitor.plugins.module_utils._errors import (
    AmbiguousRequest,
    InputError,
    KapacitorError,
    PagingError,
    RateLimited,
    RequestError,
    ServerUnreachable,
)

URL = 'http://h:9092/kapacitor/v1/api/v2/tasks/0a1b2c3d4e5f6789/runs'


@pytest.mark.parametrize('cls', [InputError, PagingError, RequestError, AmbiguousRequest, ServerUnreachable])
def test_every_error_is_a_kapacitor_error_with_message_and_hint(cls):
    error = cls('something failed', hint='Do this.')
    assert isinstance(error, KapacitorError)
    assert (error.message, error.hint) == ('something failed', 'Do this.')
    assert str(error).endswith('something failed. Do this.')


def test_a_message_without_a_hint_is_the_message():
    assert str(InputError('url is empty')) == 'url is empty'


def test_a_request_error_names_method_url_status_and_the_servers_message():
    error = RequestError('HTTP 404: task not found', method='GET', url=URL, status=404, server_message='task not found',
                         hint='Check task_id.')
    assert str(error) == 'GET %s: HTTP 404: task not found. Check task_id.' % URL
    assert error.as_dict() == {'method': 'GET', 'url': URL, 'status': 404, 'server_message': 'task not found'}
    assert (error.sent, error.transient) == (True, False)


def test_rate_limited_carries_the_wait_it_was_given():
    error = RateLimited('HTTP 429: slow down', 7.5, method='POST', url=URL, status=429)
    assert isinstance(error, RequestError) and error.retry_after == 7.5 and error.status == 429


def test_server_unreachable_is_never_sent_and_reads_the_same_for_every_request():
    reason = 'Kapacitor at http://h:9092 became unreachable during the call: Connection refused'
    hint = 'Kapacitor answered earlier in this call, then stopped: check that Kapacitor is still running'
    first = ServerUnreachable(reason, method='GET', url=URL, hint=hint, sent=True, transient=True)
    second = ServerUnreachable(reason, method='POST', url=URL + '/0b00000000000001/retry', hint=hint)
    for error in (first, second):
        assert isinstance(error, RequestError)
        assert (error.sent, error.transient) == (False, False)
    assert str(first) == str(second) == '%s. %s' % (reason, hint)
    assert first.method == 'GET' and second.method == 'POST'
