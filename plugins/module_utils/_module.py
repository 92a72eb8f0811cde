# -*- coding: utf-8 -*-
# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What every module of the collection shares: the connection options (one argument spec, documented
once in the ``tickstack.kapacitor.connection`` doc fragment) and the way a module builds its client
and reports failures."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.errors import AnsibleFallbackNotFound
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.tickstack.kapacitor.plugins.module_utils._client import (
    DEFAULT_URL,
    REQUESTS_IMPORT_ERROR,
    KapacitorClient,
    parse_base_url,
)
from ansible_collections.tickstack.kapacitor.plugins.module_utils._errors import KapacitorError, RequestError


def env_set(*names):
    """The first of these environment variables that is set and not empty.

    An AWX custom credential injects every variable of its type, blank fields included, so an empty
    variable must count as unset (or an empty KAPACITOR_TOKEN would clash with a username).
    """
    for name in names:
        if os.environ.get(name):
            return os.environ[name]
    raise AnsibleFallbackNotFound


CONNECTION_ARGSPEC = dict(
    url=dict(type='str', fallback=(env_set, ['KAPACITOR_URL'])),
    username=dict(type='str', fallback=(env_set, ['KAPACITOR_USERNAME'])),
    password=dict(type='str', no_log=True, fallback=(env_set, ['KAPACITOR_PASSWORD'])),
    token=dict(type='str', no_log=True, fallback=(env_set, ['KAPACITOR_TOKEN'])),
    validate_certs=dict(type='bool'),
    ca_path=dict(type='path', fallback=(env_set, ['KAPACITOR_CA_PATH'])),
    client_cert=dict(type='path'),
    client_key=dict(type='path', no_log=False),
    timeout=dict(type='float', default=30.0),
)

CONNECTION_MUTUALLY_EXCLUSIVE = [('token', 'username'), ('token', 'password')]


class KapacitorModule(AnsibleModule):
    """An AnsibleModule with the shared connection options, secret masking and error reporting."""

    def __init__(self, argument_spec, **kwargs):
        spec = dict(CONNECTION_ARGSPEC)
        spec.update(argument_spec)
        kwargs['mutually_exclusive'] = list(kwargs.get('mutually_exclusive') or []) + CONNECTION_MUTUALLY_EXCLUSIVE
        super(KapacitorModule, self).__init__(argument_spec=spec, **kwargs)
        self._mask_url_credentials()
        if REQUESTS_IMPORT_ERROR:
            self.fail_json(msg=missing_required_lib('requests'), exception=REQUESTS_IMPORT_ERROR)

    def _mask_url_credentials(self):
        """A password in the URL is as secret as ``password``: keep it out of every output."""
        try:
            dummy, user, password = parse_base_url(self.params['url'] or DEFAULT_URL)
        except KapacitorError:
            return
        if password:
            self.no_log_values.add(password)
            if user:
                self.no_log_values.add('%s:%s' % (user, password))

    def check_option(self, condition, message):
        if not condition:
            self.fail_json(msg=message)

    def validate_certs(self):
        """Explicit ``validate_certs`` wins; otherwise ``KAPACITOR_UNSAFE_SSL`` (as the kapacitor CLI); else verify."""
        if self.params['validate_certs'] is not None:
            return self.params['validate_certs']
        unsafe = os.environ.get('KAPACITOR_UNSAFE_SSL', '')
        try:
            return not boolean(unsafe, strict=False) if unsafe else True
        except TypeError:
            return True

    def client(self, pool_size=4):
        params = self.params
        if params['timeout'] is not None and params['timeout'] <= 0:
            self.fail_json(msg='timeout must be a positive number of seconds, got %s' % params['timeout'])
        if params['client_key'] and not params['client_cert']:
            self.fail_json(msg='client_key was given without client_cert: set both, or client_cert alone for a file '
                               'that holds the certificate and its key')
        for option in ('ca_path', 'client_cert', 'client_key'):
            if params[option] and not os.path.isfile(params[option]):
                self.fail_json(msg='%s %s does not exist or is not a file' % (option, params[option]))
        try:
            return KapacitorClient(
                url=params['url'] or DEFAULT_URL,
                username=params['username'],
                password=params['password'],
                token=params['token'],
                validate_certs=self.validate_certs(),
                ca_path=params['ca_path'],
                client_cert=params['client_cert'],
                client_key=params['client_key'],
                timeout=params['timeout'],
                pool_size=pool_size,
            )
        except KapacitorError as exc:
            self.fail_json(msg=str(exc))

    def fail_from(self, exc, **result):
        """Fail with one line that names the problem and what to do, never a traceback."""
        if isinstance(exc, RequestError):
            result.update(error=exc.as_dict())
        self.fail_json(msg=str(exc), **result)
