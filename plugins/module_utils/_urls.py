# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The server URL: read it (``parse_base_url``), show it without its secrets (``redact_url``) and list the secrets it
carries for ``no_log`` masking (``url_secrets``).

Pure functions on strings, apart from the HTTP client: the role's filter plugins show URLs too, and a filter plugin
that imported the client would import ``urllib3`` into every Ansible worker that renders one of its templates.
"""

import re
from urllib.parse import parse_qsl, unquote, unquote_plus, urlsplit

from ansible_collections.tickstack.kapacitor.plugins.module_utils._errors import InputError

URL_EXAMPLE = 'such as https://kapacitor.example.com:9092'
# "scheme://userinfo@host[:port]" where the user info may hold characters that end the authority for urlsplit
# (an unencoded / ? # in a password): the user info runs to the last @ that a host name and a delimiter follow.
_USERINFO = re.compile(r'^([A-Za-z][A-Za-z0-9+.-]*://)(.*)@(?=[A-Za-z0-9._~%\-]*(?::[0-9]*)?(?:[/?#]|$)|\[)', re.S)
# Query parameters that carry secrets: Kapacitor's p= (with u=), and the usual names.
_QUERY_SECRET = re.compile(r'([?&;](?:p|password|token)=)([^&#;]*)', re.I)
REDACTED = '********'   # what stands for a secret in a URL or a message (redact_url, the client's transport errors)
# A path prefix (a reverse proxy that routes by path): RFC 3986 path characters, segments neither empty nor dots.
_PREFIX = re.compile(r"^(/(?!\.\.?(?:/|$))[A-Za-z0-9._~%!$&'()*+,;=:@-]+)+$")
# The server's own API path in the prefix: the user gave the API's URL, not the server's.
_API_IN_PATH = re.compile(r'(^|/)(kapacitor/v1|api/v2)(/|$)')


def redact_url(url):
    """The URL for display: user info (``user:password@``) removed, values of ``p=``, ``password=`` and ``token=``
    query parameters replaced by ``********``. Safe on malformed URLs too (a password with an unencoded ``/``,
    ``?``, ``#`` or ``@``): it may then remove more than the user info, never less."""
    text = '' if url is None else str(url)
    match = _USERINFO.match(text)
    if match:
        text = match.group(1) + text[match.end():]
    else:
        try:
            parts = urlsplit(text)
        except ValueError:
            return '<unparsable url>'
        if '@' in parts.netloc:
            text = parts._replace(netloc=parts.netloc.rsplit('@', 1)[-1]).geturl()
    return _QUERY_SECRET.sub(lambda m: m.group(1) + REDACTED, text)


def url_secrets(url):
    """Every form in which ``url`` carries a secret, for ``no_log`` masking: the password as written
    (percent-encoded) and decoded, ``user:password`` in both forms, and the values of ``p=``, ``password=`` and
    ``token=`` query parameters, as written and decoded. Never the user name alone."""
    text = '' if url is None else str(url)
    found = set()
    match = _USERINFO.match(text)
    userinfo = match.group(2) if match else ''
    if not match:
        try:
            netloc = urlsplit(text).netloc
        except ValueError:
            netloc = ''
        userinfo = netloc.rsplit('@', 1)[0] if '@' in netloc else ''
    user, sep, password = userinfo.partition(':')
    if sep and password:
        found.update((password, unquote(password), userinfo, '%s:%s' % (unquote(user), unquote(password))))
    for dummy, value in _QUERY_SECRET.findall(text):
        found.update((value, unquote_plus(value)))
    found.discard('')
    return found


def parse_base_url(url):
    """Split a Kapacitor base URL into (base URL without credentials, username, password).

    The base URL keeps a path prefix (Kapacitor behind a reverse proxy that routes by path,
    ``https://gw.example.com/kapacitor-eu``), without its trailing ``/``; the API paths are appended to it.
    Credentials come from ``user:password@`` (percent-encoded as in any URL) or from Kapacitor's own query
    parameters ``?u=user&p=password``; either way they are sent as HTTP basic authentication, never in the
    query. Raises InputError, without echoing a secret, for a URL without an http(s) scheme or host, with a
    fragment or another query, a path that holds Kapacitor's own API path or characters a path cannot hold,
    or with credentials it cannot read.
    """
    if not isinstance(url, str):
        raise InputError('url must be a string, a URL %s; got %s' % (URL_EXAMPLE, type(url).__name__))
    text = url.strip()
    if not text:
        raise InputError('url is empty: expected the base URL of Kapacitor, %s' % URL_EXAMPLE)
    shown = redact_url(text)
    match = _USERINFO.match(text)
    if match and re.search(r'[/?#]', match.group(2)):
        raise InputError('url %r holds a user name or password with a character that must be percent-encoded: '
                         'write / as %%2F, ? as %%3F, # as %%23 and @ as %%40' % shown)
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise InputError('url %r has an invalid port or host (%s)' % (shown, URL_EXAMPLE)) from None
    if parts.scheme not in ('http', 'https') or not parts.hostname:
        raise InputError('url %r is not an http:// or https:// URL with a host name (%s)' % (shown, URL_EXAMPLE))
    if not re.match(r'^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~%-]+)(:[0-9]*)?$', parts.netloc.rsplit('@', 1)[-1]):
        raise InputError('url %r has an invalid host name (%s)' % (shown, URL_EXAMPLE))
    prefix = parts.path.rstrip('/')
    if parts.fragment or _API_IN_PATH.search(prefix):
        raise InputError("url %r must be the server's base URL without a path, query or fragment (%s), or with only "
                         'the path prefix of a reverse proxy in front of it; the collection adds '
                         '/kapacitor/v1/api/v2/tasks itself (InfluxDB 2: /api/v2/tasks)' % (shown, URL_EXAMPLE))
    if prefix and not _PREFIX.match(prefix):
        raise InputError('url %r has a path prefix %r that is not a plain URL path: expected segments such as '
                         '/kapacitor-eu, with characters outside A-Z a-z 0-9 - . _ ~ percent-encoded'
                         % (shown, prefix))
    host = parts.hostname
    if ':' in host:
        host = '[%s]' % host
    base = '%s://%s%s%s' % (parts.scheme, host, ':%d' % port if port else '', prefix)
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    if parts.query:
        query = parse_qsl(parts.query, keep_blank_values=True)
        names = sorted(name for name, dummy in query)
        if names != ['p', 'u'] or not all(value for dummy, value in query):
            raise InputError("url %r must be the server's base URL without a path, query or fragment (%s); its query may "
                             "only hold Kapacitor's credentials u= and p=, both set, once each" % (shown, URL_EXAMPLE))
        if parts.username is not None:
            raise InputError('url %r holds credentials twice, as user:password@ and as u= and p=: keep one' % shown)
        query = dict(query)
        username, password = query['u'], query['p']
    return base, username, password
