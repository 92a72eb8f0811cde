# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The action of tickstack.kapacitor.kapacitor_retry_summary (documentation: plugins/modules/kapacitor_retry_summary.py).

It sums up one server with the ``retry_summary`` filter's own function, reading the registered results by the names
of their variables, and writes the JSON report with the copy action, as ``ansible.builtin.template`` does. Why an
action and not the filter in a ``set_fact``: since ansible-core 2.19, a filter reads registered results through lazy
containers and its result is finalized, value by value. Over 500 results that task took 0.25-0.47 s per host in the
benchmark, this one 0.08-0.16 s, of which the summing up is a few milliseconds (docs/performance.md).
"""

from collections.abc import Mapping

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase
from ansible.plugins.filter.core import to_nice_json

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

NOT_DEFINED = object()
SETTINGS_DEFAULTS = {'max_attempts': 3, 'after_time': None, 'before_time': None, 'backfill': False}


def report_text(summary):
    """The JSON report: ``to_nice_json(indent=2)`` with a final line break, as the role has always written it."""
    return to_nice_json(summary, indent=2) + '\n'


class ActionModule(ActionBase):

    TRANSFERS_FILES = False     # the copy action makes its own temporary directory, and only for a report
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
            value = task_vars.get(name, NOT_DEFINED) if name is not None else {}
            if not isinstance(value, Mapping):
                # Not a registered result (or a set_fact of one): undefined, or a template such as an alias in vars,
                # which this action does not render.
                result.update(failed=True, msg='%s names the variable %s, which %s: expected the name of a registered '
                                               'result' % (option, name, 'is not defined' if value is NOT_DEFINED
                                                           else 'does not hold a dict'))
                return result
            registered[option] = value
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
        except AnsibleError as exc:     # raised, not returned: a temporary file, the connection to the delegate
            return {'failed': True, 'msg': str(exc)}
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
