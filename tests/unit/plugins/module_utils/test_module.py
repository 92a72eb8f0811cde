# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of _module's pure helpers (the module-level behaviour is tested as processes in tests/functional)."""

from ansible_collections.tickstack.kapacitor.plugins.module_utils._module import MAX_MESSAGE, shorten


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
