# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


class ModuleDocFragment:
    # Attributes every module shares.
    DOCUMENTATION = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/tickstack.kapacitor.kapacitor) in C(module_defaults) to set the connection options once.
    support: full
    membership:
      - tickstack.kapacitor.kapacitor
  platform:
    description: Runs wherever Python and C(urllib3) are; it only talks HTTP to Kapacitor.
    support: full
    platforms: posix
"""
