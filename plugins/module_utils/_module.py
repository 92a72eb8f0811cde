# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What every module of the collection shares: the connection options (one argument spec, documented
once in the ``tickstack.kapacitor.connection`` doc fragment), the listing options (``run_listing``), the way a
module builds its client and reports failures, and secret masking, also for runs written to a file (``RunWriter``)."""


import hashlib
import json
import math
import os
import ssl

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.errors import AnsibleFallbackNotFound
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.tickstack.kapacitor.plugins.module_utils._client import (
    SERVER_TYPES,
    URLLIB3_IMPORT_ERROR,
    KapacitorClient,
)
from ansible_collections.tickstack.kapacitor.plugins.module_utils._errors import KapacitorError, RequestError
from ansible_collections.tickstack.kapacitor.plugins.module_utils._runs import RUN_FIELDS, RUN_STATUSES
from ansible_collections.tickstack.kapacitor.plugins.module_utils._urls import url_secrets

# A failure message longer than this is cut (with a note of how much was cut): one fatal line must stay readable.
MAX_MESSAGE = 2000


def env_set(*names):
    """The first of these environment variables that is set and not empty.

    An AWX custom credential injects every variable of its type, blank fields included, so an empty
    variable must count as unset (or an empty KAPACITOR_TOKEN would clash with a username).
    """
    for name in names:
        if os.environ.get(name):
            return os.environ[name]
    raise AnsibleFallbackNotFound


def env_value(name):
    """The environment variable, or None when it is unset or empty (see ``env_set``)."""
    return os.environ.get(name) or None


def skip_verify_switch(name):
    """``validate_certs`` as the switch ``name`` (KAPACITOR_UNSAFE_SSL as the kapacitor CLI, INFLUX_SKIP_VERIFY as the
    influx CLI) sets it: False when it is true, None (verify) when it is unset, false or not a boolean."""
    try:
        return False if boolean(env_value(name) or 'false', strict=False) else None
    except TypeError:
        return None


# The credentials and the org have no ``fallback``: AnsibleModule applies fallbacks before it checks
# ``mutually_exclusive``, so KAPACITOR_TOKEN in the environment would clash with an explicit username, INFLUX_ORG with
# an explicit org_id. KapacitorModule reads them itself, after parsing, and only where nothing was given explicitly
# (``_credentials_from_environment``, ``_org_from_environment``).
CONNECTION_ARGSPEC = dict(
    url=dict(type='str', fallback=(env_set, ['KAPACITOR_URL', 'INFLUX_HOST'])),
    server_type=dict(type='str', choices=['auto'] + list(SERVER_TYPES), default='auto'),
    username=dict(type='str', aliases=['url_username']),
    password=dict(type='str', no_log=True, aliases=['url_password']),
    token=dict(type='str', no_log=True),
    org=dict(type='str'),
    org_id=dict(type='str'),
    validate_certs=dict(type='bool'),
    ca_path=dict(type='path', fallback=(env_set, ['KAPACITOR_CA_PATH'])),
    client_cert=dict(type='path'),
    client_key=dict(type='path', no_log=False),
    timeout=dict(type='float', default=30.0),
    use_proxy=dict(type='bool', default=True),
    http_retries=dict(type='int', default=5),
)

CONNECTION_MUTUALLY_EXCLUSIVE = [('token', 'username'), ('token', 'password'), ('org', 'org_id')]


def task_selection_spec(task_status):
    """The options that choose tasks, for the modules that work on many (``task_status``: their default)."""
    return dict(
        task_id=dict(type='list', elements='str'),
        task_name=dict(type='list', elements='str'),
        task_status=dict(type='str', choices=['active', 'inactive', 'any'], default=task_status),
        missing_ok=dict(type='bool', default=False),
    )


def run_listing_spec():
    """The options that choose tasks and runs and shape each run, for the modules that list runs (documented once in
    the ``tickstack.kapacitor.run_listing`` doc fragment; checked by ``_listing.ListingRequest``)."""
    return dict(
        task_selection_spec(task_status='any'),
        status=dict(type='list', elements='str', choices=list(RUN_STATUSES)),
        after_time=dict(type='str'),
        before_time=dict(type='str'),
        after=dict(type='str'),
        limit=dict(type='int'),
        latest_attempt_only=dict(type='bool', default=False),
        include_logs=dict(type='bool', default=False),
        fields=dict(type='list', elements='str', choices=list(RUN_FIELDS)),
        concurrency=dict(type='int', default=4),
    )


class KapacitorModule(AnsibleModule):
    """An AnsibleModule with the shared connection options, secret masking and error reporting."""

    def __init__(self, argument_spec, **kwargs):
        spec = dict(CONNECTION_ARGSPEC)
        spec.update(argument_spec)
        kwargs['mutually_exclusive'] = list(kwargs.get('mutually_exclusive') or []) + CONNECTION_MUTUALLY_EXCLUSIVE
        self.kapacitor_client = None
        self.fallbacks = {}
        super().__init__(argument_spec=spec, **kwargs)
        self._mask(url_secrets(self.params['url']))
        if self.params['token']:
            self._mask([self.params['token'].strip()])
        self._credentials_from_environment()
        self._org_from_environment()
        if URLLIB3_IMPORT_ERROR:
            self.fail_json(msg=missing_required_lib('urllib3'), exception=URLLIB3_IMPORT_ERROR)

    def _log_invocation(self):
        """Mask the URL's secrets before AnsibleModule logs the arguments to the system log (during __init__): its
        own scrubbing knows ``user:password@`` but not a percent-encoded password or ``?u=&p=`` credentials."""
        self._mask(url_secrets(self.params.get('url')))
        super()._log_invocation()

    def _mask(self, secrets):
        """Keep these values out of every output (as written and without surrounding spaces), as Ansible does for
        ``no_log`` options."""
        for secret in secrets:
            if secret:
                self.no_log_values.update(value for value in (secret, secret.strip()) if value)

    def _credentials_from_environment(self):
        """The environment's credentials and TLS switch, per server type, for the client to apply to a server of that
        type only, once the type is known (given, or detected): KAPACITOR_TOKEN, KAPACITOR_USERNAME,
        KAPACITOR_PASSWORD and KAPACITOR_UNSAFE_SSL to Kapacitor, INFLUX_TOKEN and INFLUX_SKIP_VERIFY to InfluxDB 2.

        Explicit credentials win, in every combination, and go to a server of either type: the environment's are
        used only where the task gave none, not at all when it gave ``token`` or credentials inside ``url``;
        KAPACITOR_PASSWORD completes an explicit ``username`` only when KAPACITOR_USERNAME names no other user;
        KAPACITOR_USERNAME completes an explicit ``password``; KAPACITOR_TOKEN with KAPACITOR_USERNAME or
        KAPACITOR_PASSWORD and nothing given is an error (``KapacitorClient._credentials``).
        """
        env = {name: env_value('KAPACITOR_' + name.upper()) for name in ('token', 'username', 'password')}
        influx_token = env_value('INFLUX_TOKEN')
        self._mask([env['token'], env['password'], influx_token])
        env['token'] = env['token'] and env['token'].strip()
        self.fallbacks = {
            'kapacitor': dict(env, validate_certs=skip_verify_switch('KAPACITOR_UNSAFE_SSL')),
            'influxdb2': dict(token=influx_token and influx_token.strip(),
                              validate_certs=skip_verify_switch('INFLUX_SKIP_VERIFY')),
        }

    def _org_from_environment(self):
        """INFLUX_ORG_ID or INFLUX_ORG, as the influx CLI reads them, where the task gave neither ``org`` nor
        ``org_id``; both set in the environment alone is an error, as with the influx CLI."""
        params = self.params
        if params['org'] is not None or params['org_id'] is not None:
            return
        org, org_id = env_value('INFLUX_ORG'), env_value('INFLUX_ORG_ID')
        if org and org_id:
            self.fail_json(msg='INFLUX_ORG and INFLUX_ORG_ID are both set in the environment: unset one, or set org or '
                               'org_id explicitly')
        params['org'], params['org_id'] = org, org_id

    def check_concurrency(self):
        value = self.params['concurrency']
        self.check_option(not isinstance(value, bool) and 1 <= value <= 100,
                          'concurrency must be between 1 and 100, got %r (Kapacitor runs at most 100 task runs at once)'
                          % (value,))

    def check_option(self, condition, message):
        if not condition:
            self.fail_json(msg=message)

    def check_connection(self):
        """Fail on a connection option with a bad value, naming it and what was expected; nothing is sent."""
        params = self.params
        timeout = params['timeout']
        self.check_option(timeout is not None and math.isfinite(timeout) and timeout > 0,
                          'timeout must be a positive number of seconds, got %s' % timeout)
        self.check_option(0 <= params['http_retries'] <= 100,
                          'http_retries must be between 0 and 100, got %s (how many times a read request is re-sent)'
                          % params['http_retries'])
        self.check_option(not params['client_key'] or params['client_cert'],
                          'client_key was given without client_cert: set both, or client_cert alone for a file '
                          'that holds the certificate and its key')
        for option in ('ca_path', 'client_cert', 'client_key'):
            value = params[option]
            if value is not None:
                self.check_option(value.strip() != '', '%s is empty: expected the path of a PEM file' % option)
                self.check_option(os.path.isfile(value), '%s %s does not exist or is not a file' % (option, value))
        self._check_pem_files()

    def _check_pem_files(self):
        """Load ca_path and client_cert/client_key as the TLS connection would, so that a file of the wrong kind
        fails here, named, rather than as an OpenSSL error on the first request."""
        params = self.params
        context = ssl.create_default_context()
        if params['ca_path']:
            try:
                context.load_verify_locations(cafile=params['ca_path'])
            except (ssl.SSLError, ValueError) as exc:
                self.fail_json(msg='ca_path %s holds no PEM certificate that can be loaded (%s): expected the CA '
                                   "certificate(s) that signed the server's certificate" % (params['ca_path'], exc))
        if params['client_cert']:
            try:
                # A callable password: an encrypted key fails here instead of prompting on a terminal.
                context.load_cert_chain(params['client_cert'], params['client_key'], password=lambda: b'')
            except (ssl.SSLError, ValueError) as exc:
                self.fail_json(msg='client_cert %s%s is not a PEM client certificate with its unencrypted private key '
                                   '(%s): expected the certificate, and its key in client_key or in the same file'
                                   % (params['client_cert'], ' with client_key %s' % params['client_key']
                                      if params['client_key'] else '', exc))

    def client(self, pool_size=4):
        """The client for this module run, once every connection option has been checked, and the server type known
        (detected with one request when ``server_type`` is ``auto``). From then on every result of the module, success
        or failure, carries ``server``: its type and version."""
        self.check_connection()
        params = self.params
        try:
            client = KapacitorClient(
                url=params['url'],
                username=params['username'],
                password=params['password'],
                token=params['token'].strip() if params['token'] else None,
                validate_certs=params['validate_certs'],
                ca_path=params['ca_path'],
                client_cert=params['client_cert'],
                client_key=params['client_key'],
                timeout=params['timeout'],
                pool_size=pool_size,
                use_proxy=params['use_proxy'],
                http_retries=params['http_retries'],
                server_type=params['server_type'],
                org=params['org'],
                org_id=params['org_id'],
                fallbacks=self.fallbacks,
            )
            self.kapacitor_client = client
            client.detect()
            return client
        except KapacitorError as exc:
            self.fail_from(exc)

    def _with_server(self, result):
        client = self.kapacitor_client
        if client is not None and client.detected:
            result.setdefault('server', client.server)
        return result

    def exit_listing(self, request, listing, **result):
        """Exit with a listing (``list_runs``, ``find_runs`` or ``export_runs``) for a ``_listing.ListingRequest``: its
        warnings (the window's, then the listing's) as warnings, its window and the tasks it did not find."""
        for warning in request.warnings + listing.pop('warnings'):
            self.warn(warning)
        self.exit_json(window=request.window.as_dict(), missing_tasks=request.missing or [], **result, **listing)

    def exit_json(self, **kwargs):
        super().exit_json(**self._with_server(kwargs))

    def fail_json(self, msg, **kwargs):
        super().fail_json(msg, **self._with_server(kwargs))

    def fail_from(self, exc, **result):
        """The one way a module fails on a KapacitorError: one short line that names the problem and what to do,
        the request's details when there was one, never a traceback."""
        if isinstance(exc, RequestError):
            result.update(error=exc.as_dict())
        self.fail_json(msg=shorten(str(exc)), **result)


class RunWriter:
    """Writes runs as JSON Lines to a binary file ``stream`` (None: only hashes them, for check mode), for output that
    does not go through ``exit_json``; a context manager that closes the stream. A line that holds any of ``secrets``
    (a module's ``no_log_values``) is written as ``remove_values``, what ``exit_json`` applies to a result, masks it;
    the others as they are, so that a large export does not pay for a walk of every value."""

    def __init__(self, stream, secrets):
        self.stream = stream
        self.digest = hashlib.sha1()
        self.secrets = sorted(secrets)
        # A string is escaped character by character, so a secret inside a value is inside its JSON text as escaped.
        self.needles = [json.dumps(secret, ensure_ascii=False)[1:-1] for secret in self.secrets]

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *dummy):
        """Close the stream; after a success, once what was written is on disk (before it replaces a file)."""
        if self.stream is None:
            return
        if exc_type is None:
            try:
                self.stream.flush()
                os.fsync(self.stream.fileno())
            finally:
                self.stream.close()
            return
        try:
            self.stream.close()
        except OSError:   # a full disk, say: the error being raised is the one to report
            pass

    @staticmethod
    def _line(run, allow_nan=False):
        return json.dumps(run, ensure_ascii=False, separators=(',', ':'), allow_nan=allow_nan) + '\n'

    def write(self, run):
        try:
            line = self._line(run)
            masked = any(needle in line for needle in self.needles)
        except ValueError:   # NaN or Infinity: written NaN, masked as 'nan' (str()), so no needle can be trusted
            masked = True
        if masked:
            line = self._line(remove_values(run, self.secrets), allow_nan=True)
        # A lone surrogate (JSON allows one) is written as its \uXXXX escape, not an encoding error.
        data = line.encode('utf-8', 'backslashreplace')
        self.digest.update(data)
        if self.stream is not None:
            self.stream.write(data)


def shorten(message, limit=MAX_MESSAGE):
    """The message, cut to ``limit`` characters with a note of how much was left out."""
    if len(message) <= limit:
        return message
    note = ' [... %d more characters]'
    cut = limit - len(note % len(message))
    return message[:cut] + note % (len(message) - cut)
