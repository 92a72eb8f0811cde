# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


class ModuleDocFragment:
    # The connection options every module of the collection shares (one argument spec in
    # plugins/module_utils/_module.py, documented once here), for Kapacitor and InfluxDB 2 alike.
    DOCUMENTATION = r"""
options:
  url:
    description:
      - Base URL of the server, with scheme and port, for example C(https://kapacitor.example.com:9092) for Kapacitor,
        C(http://influxdb.example.com:8086) for InfluxDB 2 OSS, or the region URL of InfluxDB Cloud such as
        C(https://us-east-1-1.aws.cloud2.influxdata.com). The collection adds C(/kapacitor/v1/api/v2/tasks) (Kapacitor)
        or C(/api/v2/tasks) (InfluxDB 2) itself.
      - Behind a reverse proxy that routes by path, the URL may carry that path prefix, for example
        C(https://gw.example.com/kapacitor-eu); requests then go to C(https://gw.example.com/kapacitor-eu/kapacitor/v1/...).
        A trailing C(/) is ignored; a path that holds the server's own C(/kapacitor/v1) or C(/api/v2) is refused.
      - "Credentials in the URL work as with the kapacitor CLI and Kapacitor itself: C(user:password@)
        (percent-encode C(/ ? # @) in the password, as in any URL), or Kapacitor's query parameters
        C(?u=user&p=password). Either way they are sent as HTTP basic authentication, never in the query string,
        and never shown in output, in their written (percent-encoded) or decoded form. No other query is accepted."
      - If not set, the environment variable E(KAPACITOR_URL) is used, then E(INFLUX_HOST) (as the influx CLI names
        it), then C(http://localhost:9092), or C(http://localhost:8086) with O(server_type=influxdb2).
    type: str
  server_type:
    description:
      - Which server O(url) points at, which decides the API path, how O(token) is sent and how tasks are listed.
      - V(auto) tells them apart with one request, C(GET /ping) under O(url), before anything else. Kapacitor marks
        every answer with its version header; InfluxDB 2 OSS answers with its version (2.x), InfluxDB Cloud without
        one. InfluxDB 1.x (no task engine), InfluxDB 3 (no Flux tasks) and any other answer are refused, with a
        message that says what answered. A proxy that hides those headers needs an explicit type.
      - The C(GET /ping) of V(auto) carries no credential. Its certificate is verified unless O(validate_certs=false);
        when that fails and only one of E(KAPACITOR_UNSAFE_SSL) and E(INFLUX_SKIP_VERIFY) is true, it is sent again
        without verification, and its answer counts only if the server is of that variable's type.
      - V(kapacitor) or V(influxdb2) sends no such request (M(tickstack.kapacitor.kapacitor_task_run_retry) pings
        once when O(tickstack.kapacitor.kapacitor_task_run_retry#module:min_age) needs the server's clock and nothing
        was asked before). Pointed at the wrong type, a module fails with an
        error that names what came back (InfluxDB's web page for a Kapacitor path, for example), never a success.
      - Every result carries C(server), the type found and its version.
    type: str
    choices: [auto, kapacitor, influxdb2]
    default: auto
    version_added: 0.2.0
  username:
    aliases: [url_username]
    description:
      - User name for HTTP basic authentication (Kapacitor's C([http] auth-enabled = true)). InfluxDB 2 accepts no
        basic authentication on its API, use O(token) there.
      - If no credential is given in the task (neither O(username), O(password), O(token) nor credentials in O(url)),
        the environment variables E(KAPACITOR_USERNAME) and E(KAPACITOR_PASSWORD) are used, or E(KAPACITOR_TOKEN),
        for a Kapacitor server only, never for InfluxDB 2. On a Kapacitor server, O(password) given without
        O(username) (and no credentials in O(url)) is completed by E(KAPACITOR_USERNAME).
      - Credentials given in the task (options, or in O(url)) are sent to a server of either type, once its type is
        known.
      - Mutually exclusive with O(token). Wins over credentials in O(url).
    type: str
  password:
    aliases: [url_password]
    description:
      - Password for O(username), or for the user named in O(url) when O(username) is not set (for example
        C(https://ops@kapacitor.example.com:9092) with the password here, out of the URL).
      - Wins over a password in O(url). A given O(username) replaces the URL's user and password both. Credentials in
        O(url) are never completed from the environment.
      - If O(username) is given without O(password), E(KAPACITOR_PASSWORD) is used for a Kapacitor server unless
        E(KAPACITOR_USERNAME) names another user.
    type: str
  token:
    description:
      - For Kapacitor, a JSON Web Token signed with its C([http] shared-secret), sent in the C(Authorization) header with the
        C(Bearer) scheme.
      - For InfluxDB 2 and InfluxDB Cloud, an API token, sent in the C(Authorization) header with the C(Token) scheme (the
        one every InfluxDB 2 release accepts). Listing runs needs read access to the org's tasks, retrying needs write access
        (InfluxDB's documentation asks for an all-access or operator token to retry). A token that may read only some
        tasks can make InfluxDB's task listing miss some of those it may read; give those tasks by ID then.
      - Spaces and line breaks around it (as read from a file) are removed. It is never shown in output.
      - If no credential is given in the task, the environment variable E(KAPACITOR_TOKEN) is used for a Kapacitor
        server (see O(username)), and E(INFLUX_TOKEN) for an InfluxDB 2 server, each only for a server of its own
        type, so a job may set both (an InfluxDB token never reaches a Kapacitor, nor a Kapacitor credential an
        InfluxDB). An explicit O(token) goes to either.
      - Mutually exclusive with O(username) and O(password). Wins over credentials in O(url).
    type: str
  org:
    description:
      - The name of the InfluxDB organization whose tasks are listed, sent as C(org) with the task listing.
      - Required on InfluxDB 2 whenever tasks are listed (by name, by status, or all of them), because InfluxDB then
        returns only the tasks the token's user owns, silently leaving out the others. Not needed when tasks are
        chosen by ID only. The module fails with a message before listing if neither O(org) nor O(org_id) is set.
      - If neither O(org) nor O(org_id) is set, the environment variable E(INFLUX_ORG) is used, or E(INFLUX_ORG_ID);
        both set in the environment alone is an error.
      - Kapacitor has no organizations and ignores it.
      - Mutually exclusive with O(org_id).
    type: str
    version_added: 0.2.0
  org_id:
    description:
      - The ID of the InfluxDB organization (16 hexadecimal characters, as C(influx org list) shows it), sent as
        C(orgID) with the task listing. Preferred to O(org), as InfluxDB needs no lookup for it.
      - Also used to read the retention of the organization's C(_tasks) bucket, which is how far back InfluxDB keeps
        runs (with O(org) too; when the token may not read buckets, the default of 3 days is assumed).
      - If neither O(org) nor O(org_id) is set, the environment variable E(INFLUX_ORG_ID) is used (see O(org)).
      - Mutually exclusive with O(org).
    type: str
    version_added: 0.2.0
  validate_certs:
    description:
      - Whether to verify the server's TLS certificate.
      - If not set, certificates are verified unless, for a Kapacitor server, the environment variable
        E(KAPACITOR_UNSAFE_SSL) is true, as with the kapacitor CLI, or, for an InfluxDB 2 server,
        E(INFLUX_SKIP_VERIFY) is, as with the influx CLI. Each applies to a server of its own type only (see
        O(server_type) for the detection request); an explicit O(validate_certs) applies to either.
      - Turning verification off is insecure; prefer O(ca_path).
    type: bool
  ca_path:
    description:
      - A PEM file with the CA certificate(s) that signed the server's certificate.
      - If not set, the environment variable E(KAPACITOR_CA_PATH) is used, then the bundle that E(REQUESTS_CA_BUNDLE)
        or E(CURL_CA_BUNDLE) names, then the system's trust store.
    type: path
  client_cert:
    description:
      - A PEM client certificate, for a server or proxy that requires one. It may also hold the key.
    type: path
  client_key:
    description:
      - The PEM private key of O(client_cert), if it is not in the same file.
    type: path
  timeout:
    description:
      - Seconds to wait for the server to accept a connection and to answer a read request.
      - Must be a positive number.
    type: float
    default: 30
  http_retries:
    description:
      - How many times a read request (GET) is sent again after a dropped connection, HTTP 429 or HTTP 502, 503 or 504,
        with jittered exponential backoff (0.5 s doubling to at most 8 s), waiting at least as long as a
        C(Retry-After) header of a 429 or 503 asks (InfluxDB Cloud's quotas), up to 60 s.
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
  - Explicit options always win over the environment variables, and apply to a server of either type. For
    credentials this holds as a whole. With O(username) and O(password) in the task, E(KAPACITOR_TOKEN) and
    E(INFLUX_TOKEN) are ignored, and with O(token), E(KAPACITOR_USERNAME) and E(KAPACITOR_PASSWORD) are; setting
    both kinds of KAPACITOR_* credentials in the environment alone is an error for a Kapacitor server. The same
    holds for O(org) and O(org_id) as a pair.
  - The environment's credentials and TLS switches apply only to a server of their own type, once it is known
    (given in O(server_type), or detected). E(KAPACITOR_TOKEN), E(KAPACITOR_USERNAME), E(KAPACITOR_PASSWORD) and
    E(KAPACITOR_UNSAFE_SSL) apply to Kapacitor, E(INFLUX_TOKEN) and E(INFLUX_SKIP_VERIFY) to InfluxDB 2.
  - After three failures in a row to reach the server at all (refused, reset or timed-out connections without any
    HTTP answer in between) and a ping that gets no answer either, a module sends nothing more to that server;
    every request still to make fails at once with one shared reason.
  - The modules talk to Kapacitor or InfluxDB over HTTP from wherever they run; run them on the controller
    (C(delegate_to) C(localhost)) when the server hosts have no Python.
requirements:
  - urllib3 >= 1.26.0 (on the host that runs the module; it comes with C(requests))
"""
