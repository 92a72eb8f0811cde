# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every module must be in the ``kapacitor`` action group of meta/runtime.yml, and vice versa, except the summary
action kapacitor_retry_summary.

The group lets users set connection options once with ``module_defaults: group/tickstack.kapacitor.kapacitor``. The
summary action talks to no server and takes no connection option: the group's defaults would be unknown options to
it.
"""


import os

import yaml

COLLECTION_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
RUNTIME_YML = os.path.join(COLLECTION_ROOT, 'meta', 'runtime.yml')
MODULES_DIR = os.path.join(COLLECTION_ROOT, 'plugins', 'modules')
GROUP = 'kapacitor'


# The modules that talk to no server, so take no connection option.
NOT_CONNECTING = {'kapacitor_retry_summary'}


def module_names():
    if not os.path.isdir(MODULES_DIR):
        return set()
    return {
        name[:-3] for name in os.listdir(MODULES_DIR)
        if name.endswith('.py') and name != '__init__.py' and not name.startswith('_')
    } - NOT_CONNECTING


def test_the_modules_left_out_take_no_connection_option():
    for name in NOT_CONNECTING:
        with open(os.path.join(MODULES_DIR, name + '.py')) as handle:
            assert 'tickstack.kapacitor.connection' not in handle.read(), name


def action_group():
    with open(RUNTIME_YML) as f:
        runtime = yaml.safe_load(f) or {}
    group = (runtime.get('action_groups') or {}).get(GROUP)
    assert group is not None, 'meta/runtime.yml has no action_groups.%s' % GROUP
    # An entry is a module name (short or FQCN) or a {metadata: ...} dict.
    names = set()
    for entry in group:
        if isinstance(entry, dict):
            continue
        names.add(entry.split('.')[-1])
    return names


def test_every_module_is_in_the_action_group():
    missing = sorted(module_names() - action_group())
    assert not missing, 'modules missing from action_groups.%s in meta/runtime.yml: %s' % (GROUP, ', '.join(missing))


def test_every_action_group_entry_is_a_module():
    stale = sorted(action_group() - module_names())
    assert not stale, 'action_groups.%s lists modules that plugins/modules does not have: %s' % (GROUP, ', '.join(stale))
