# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the pure helpers of _listing and _retrier (no HTTP)."""


from ansible_collections.tickstack.kapacitor.plugins.module_utils._listing import scheduled_window
from ansible_collections.tickstack.kapacitor.plugins.module_utils._retrier import RetryItem

TASK, RUN = '0a1b2c3d4e5f6789', '0d5f1a2b3c4d5e6f'
LISTED = {'scheduled_for': '2026-11-26T00:00:00Z', 'status': 'failed', 'attempt': 2, 'attempts': 2}


def test_a_listed_latest_attempt_is_trusted_without_a_lookup():
    run = RetryItem(TASK, RUN, dict(LISTED)).hinted_run()
    assert run == {'id': RUN, 'taskID': TASK, 'status': 'failed', 'scheduledFor': '2026-11-26T00:00:00Z'}


def test_an_earlier_attempt_or_a_bare_run_must_be_looked_up():
    assert RetryItem(TASK, RUN, dict(LISTED, attempt=1)).hinted_run() is None
    assert RetryItem(TASK, RUN, dict(LISTED, attempts=None)).hinted_run() is None
    assert RetryItem(TASK, RUN).hinted_run() is None


def test_scheduled_window_covers_every_time_exclusively():
    window = scheduled_window([100, 160, 130])
    assert (window.after, window.before) == (99, 161)
