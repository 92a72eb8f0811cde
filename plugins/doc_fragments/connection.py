# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


class ModuleDocFragment:
    # The connection options every module of the collection shares (one argument spec in
    # plugins/module_utils/_module.py, documented once here).
    DOCUMENTATION = r"""
options:
  url:
    description:
      - Base URL of the Kapacitor server, with scheme and port, for example C(https://kapacitor.example.com:9092).
        The collection adds C(/kapacitor/v1/api/v2/tasks) itself.
      - Behind a reverse proxy that routes by path, the URL may carry that path prefix, for example
        C(https://gw.example.com/kapacitor-eu); requests then go to C(https://gw.example.com/kapacitor-eu/kapacitor/v1/...).
        A trailing C(/) is ignored; a path that holds Kapacitor's own C(/kapacitor/v1) is refused.
      - "Credentials in the URL work as with the kapacitor CLI and Kapacitor itself: C(user:password@)
        (percent-encode C(/ ? # @) in the password, as in any URL), or Kapacitor's query parameters
        C(?u=user&p=password). Either way they are sent as HTTP basic authentication, never in the query string,
        and never shown in output, in their written (percent-encoded) or decoded form. No other query is accepted."
      - If not set, the environment variable E(KAPACITOR_URL) is used, then C(http://localhost:9092).
    type: str
  username:
    aliases: [url_username]
    description:
      - User name for HTTP basic authentication (Kapacitor's C([http] auth-enabled = true)).
      - If no credential is given in the task (neither O(username), O(password), O(token) nor credentials in O(url)),
        the environment variables E(KAPACITOR_USERNAME) and E(KAPACITOR_PASSWORD) are used, or E(KAPACITOR_TOKEN).
      - Mutually exclusive with O(token). Wins over credentials in O(url).
    type: str
  password:
    aliases: [url_password]
    description:
      - Password for O(username).
      - If O(username) is given without O(password), E(KAPACITOR_PASSWORD) is used unless E(KAPACITOR_USERNAME)
        names another user.
    type: str
  token:
    description:
      - A JSON Web Token sent as an C(Authorization) C(Bearer) header, signed with Kapacitor's C([http] shared-secret).
        Spaces and line breaks around it (as read from a file) are removed.
      - If no credential is given in the task, the environment variable E(KAPACITOR_TOKEN) is used (see O(username)).
      - Mutually exclusive with O(username) and O(password). Wins over credentials in O(url).
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
      - Must be a positive number.
    type: float
    default: 30
  http_retries:
    description:
      - How many times a read request (GET) is sent again after a dropped connection, HTTP 429 (honouring
        C(Retry-After)) or HTTP 502, 503 or 504, with jittered exponential backoff (0.5 s doubling to at most 8 s).
      - V(0) sends each read request once. Requests that change something (a retry or a manual run) are never
        re-sent this way, whatever the value.
      - Between 0 and 100.
    type: int
    default: 5
  use_proxy:
    description:
      - Whether to use a proxy of the environment (E(HTTPS_PROXY), E(HTTP_PROXY) or E(ALL_PROXY), in upper or lower
        case, honouring E(NO_PROXY)), as M(ansible.builtin.uri) does.
      - V(false) connects to O(url) directly, whatever those variables say.
      - A failure to connect through a proxy names the proxy (without its credentials) and the variable it came from.
    type: bool
    default: true
notes:
  - Explicit options always win over the environment variables. For credentials this holds as a whole. With
    O(username) and O(password) in the task, E(KAPACITOR_TOKEN) is ignored, and with O(token), E(KAPACITOR_USERNAME) and
    E(KAPACITOR_PASSWORD) are; setting both kinds in the environment alone is an error.
  - After three failures in a row to reach Kapacitor at all (refused, reset or timed-out connections without any
    HTTP answer in between) and a ping that gets no answer either, a module sends nothing more to that server;
    every request still to make fails at once with one shared reason.
  - The modules talk to Kapacitor over HTTP from wherever they run; run them on the controller
    (C(delegate_to) C(localhost)) when the Kapacitor hosts have no Python.
requirements:
  - requests >= 2.25.0 (on the host that runs the module)
"""
