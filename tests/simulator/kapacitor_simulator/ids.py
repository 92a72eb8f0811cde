"""Kapacitor's 16-hex IDs: decoding (platform.ID) and a snowflake generator (docs/kapacitor-api.md, "Valid IDs")."""

import random
import re

from .encoding import now_ns

SNOWFLAKE_EPOCH_MS = 1491696000000     # 2017-04-09, the snowflake epoch


def parse_id(text):
    """platform.ID decoding (docs/kapacitor-api.md §5.3): 16 bytes, hex in either case, non-zero."""
    if len(text.encode('utf-8')) != 16:
        raise ValueError('id must have a length of 16 bytes')
    if not re.fullmatch(r'[0-9a-fA-F]{16}', text) or int(text, 16) == 0:
        raise ValueError('invalid ID')
    return int(text, 16)


def fmt_id(value):
    return '%016x' % value


class IdGenerator:
    """Snowflake IDs (docs/kapacitor-api.md §5.3): ms since 2017-04-09 << 22 | machine << 12 | sequence, strictly increasing for live IDs."""

    def __init__(self, machine=None):
        self.machine = (random.getrandbits(10) if machine is None else machine) & 0x3FF
        self.last = 0
        self.sequences = {}
        self.used = set()

    def _compose(self, ms, seq):
        return (max(ms - SNOWFLAKE_EPOCH_MS, 1) << 22) | (self.machine << 12) | seq

    def derived(self, at_ns):
        """An ID for a seeded object created at ``at_ns``: unique, ordered by time among seeded IDs."""
        ms = at_ns // 1_000_000
        while True:
            seq = self.sequences.get(ms, 0)
            if seq < 4096:
                self.sequences[ms] = seq + 1
                value = self._compose(ms, seq)
                if value not in self.used:
                    self.reserve(value)
                    return value
            else:
                ms += 1

    def live(self):
        """An ID for an object created now: larger than every ID handed out so far."""
        value = max(self._compose(now_ns() // 1_000_000, 0), self.last + 1)
        while value in self.used:
            value += 1
        self.reserve(value)
        return value

    def reserve(self, value):
        self.used.add(value)
        self.last = max(self.last, value)
