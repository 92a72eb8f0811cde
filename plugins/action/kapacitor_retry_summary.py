# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The action of tickstack.kapacitor.kapacitor_retry_summary (documentation: plugins/modules/kapacitor_retry_summary.py).

It sums up one server with the ``retry_summary`` filter's own function, reading the registered results by the names
of their variables, and writes the JSON report with the copy action, as ``ansible.builtin.template`` does. Why an
action and not the filter in a ``set_fact``: since ansible-core 2.19, a filter reads registered results through lazy
containers and its result is finalized, value by value; for 500 runs that was 0.1-0.2 s of a worker's CPU per host,
against a few milliseconds here (docs/performance.md).
"""

import json

from ansible.module_utils.common.json import AnsibleJSONEncoder
from ansible.plugins.action import ActionBase

from ansible_collections.tickstack.kapacitor.plugins.filter.retry_summary import retry_summary

ARGUMENT_SPEC = dict(
    found=dict(type='str', required=True),
    retry=dict(type='str'),
    backfill=dict(type='str'),
    settings=dict(type='dict', default={}),
    host=dict(type='str', required=True),
    url=dict(type='str'),
    error=dict(type='str', default=''),
    server_type=dict(type='str'),
    report_path=dict(type='str'),
)

SETTINGS_DEFAULTS = {'max_attempts': 3, 'after_time': None, 'before_time': None, 'backfill': False}


def report_text(summary):
    """The JSON report, as ``to_nice_json(indent=2)`` writes it, with a final line break."""
    return json.dumps(summary, cls=AnsibleJSONEncoder, indent=2, sort_keys=True, separators=(',', ': ')) + '\n'


class ActionModule(ActionBase):

    TRANSFERS_FILES = True
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # not used since ansible-core 2.5
        task_vars = task_vars or {}
        validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        del validation
        # The registered results, as the strategy stored them: never templated (a module's output is not trusted as
        # a template), so reading them here is what a template would give, without its cost.
        registered = {}
        for option in ('found', 'retry', 'backfill'):
            name = args[option]
            if name is not None and name not in task_vars:
                result.update(failed=True, msg='%s names the variable %s, which is not defined: expected the name of '
                                               'a registered result' % (option, name))
                return result
            registered[option] = task_vars[name] if name is not None else {}
        # What the summary reads of the role's settings (retry_settings), with the modules' defaults.
        settings = dict(SETTINGS_DEFAULTS, **args['settings'])
        summary = retry_summary(registered['found'], registered['retry'], settings, args['host'],
                                url=args['url'], check_mode=self._task.check_mode, error=args['error'],
                                backfill=registered['backfill'], server_type=args['server_type'])
        result.update(summary, changed=False)
        if args['report_path']:
            written = self._write(args['report_path'], report_text(summary), task_vars)
            if written.get('failed'):
                result.update(failed=True, msg='cannot write the report %s: %s'
                                               % (args['report_path'], written.get('msg', 'failed')))
                return result
            result['report'] = args['report_path']   # a summary never points at a report that was not written
        return result

    def _write(self, path, text, task_vars):
        """Write ``text`` to ``path`` on the host the task runs on (its delegate), in check mode too, with the copy
        action: it moves the content there over the task's connection."""
        copy_task = self._task.copy()
        copy_task.args.clear()
        copy_task.args.update(content=text, dest=path, mode='0644')
        copy_task.check_mode = False    # the report of a dry run is written too, marked as one (dry_run)
        copy_task.diff = False
        copy_action = self._shared_loader_obj.action_loader.get('ansible.legacy.copy', task=copy_task,
                                                                connection=self._connection,
                                                                play_context=self._play_context, loader=self._loader,
                                                                templar=self._templar,
                                                                shared_loader_obj=self._shared_loader_obj)
        try:
            return copy_action.run(task_vars=task_vars)
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
