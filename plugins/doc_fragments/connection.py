# -*- coding: utf-8 -*-
# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The connection options every module of the collection shares (one argument spec in
    # plugins/module_utils/_module.py, documented once here).
    DOCUMENTATION = r"""
options:
  url:
    description:
      - Base URL of the Kapacitor server, with scheme and port and without a path, for example
        C(https://kapacitor.example.com:9092). The collection adds C(/kapacitor/v1/api/v2/tasks) itself.
      - "C(user:password@) in the URL works as with the kapacitor CLI: it is used for basic authentication
        when O(username) is not set, and it is never shown in output."
      - If not set, the environment variable E(KAPACITOR_URL) is used, then C(http://localhost:9092).
    type: str
  username:
    description:
      - User name for HTTP basic authentication (Kapacitor's C([http] auth-enabled = true)).
      - If not set, the environment variable E(KAPACITOR_USERNAME) is used.
      - Mutually exclusive with O(token).
    type: str
  password:
    description:
      - Password for O(username).
      - If not set, the environment variable E(KAPACITOR_PASSWORD) is used.
    type: str
  token:
    description:
      - A JSON Web Token sent as an C(Authorization) C(Bearer) header, signed with Kapacitor's C([http] shared-secret).
      - If not set, the environment variable E(KAPACITOR_TOKEN) is used.
      - Mutually exclusive with O(username) and O(password).
    type: str
  validate_certs:
    description:
      - Whether to verify the server's TLS certificate.
      - If not set, certificates are verified unless the environment variable E(KAPACITOR_UNSAFE_SSL) is true,
        as with the kapacitor CLI.
      - Turning verification off is insecure; prefer O(ca_path).
    type: bool
  ca_path:
    description:
      - A PEM file with the CA certificate(s) that signed the server's certificate.
      - If not set, the environment variable E(KAPACITOR_CA_PATH) is used, then the system's trust store.
    type: path
  client_cert:
    description:
      - A PEM client certificate, for a Kapacitor or proxy that requires one. It may also hold the key.
    type: path
  client_key:
    description:
      - The PEM private key of O(client_cert), if it is not in the same file.
    type: path
  timeout:
    description:
      - Seconds to wait for Kapacitor to accept a connection and to answer a read request.
      - Read requests that fail on a dropped connection, HTTP 429 (honouring C(Retry-After)) or HTTP 502, 503 or 504
        are retried up to 5 times with jittered exponential backoff (0.5 s doubling to at most 8 s).
        Retry requests are never re-sent this way.
    type: float
    default: 30
notes:
  - Explicit options always win over the environment variables.
  - The modules talk to Kapacitor over HTTP from wherever they run; run them on the controller
    (C(delegate_to) C(localhost)) when the Kapacitor hosts have no Python.
requirements:
  - requests >= 2.25.0 (on the host that runs the module)
"""
