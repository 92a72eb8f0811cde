# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one error model of the collection.

Every failure the collection raises on purpose is a ``KapacitorError``; every attribute is set by the
constructor. ``str(error)`` is the one line a user reads: what went wrong and, when known, what to do.

``KapacitorError``
  ``InputError``        a value given by the user is wrong (names the value and what was expected)
  ``PagingError``       the server's answers leave no way to list further back
  ``RequestError``      an HTTP request failed (method, redacted URL, status, the server's own message)
    ``AmbiguousRequest``  a non-idempotent request was sent, and whether the server acted on it is unknown
    ``RateLimited``       HTTP 429 to a non-idempotent request: nothing was done; ``retry_after`` seconds asked for
    ``ServerUnreachable`` not sent: the server stopped answering earlier in this call (circuit breaker open)
"""


class KapacitorError(Exception):
    """Base of every error the collection raises on purpose."""

    def __init__(self, message, hint=None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self):
        if self.hint:
            return '%s. %s' % (self.message.rstrip('.'), self.hint)
        return self.message


class InputError(KapacitorError):
    """A bad value, with a message that names it and says what was expected."""


class PagingError(KapacitorError):
    """Kapacitor's answers leave no way to page further back."""


class RequestError(KapacitorError):
    """An HTTP request that failed, with what a user needs to act on it.

    ``sent`` is False when the request certainly never reached the server; ``transient`` is True when
    sending a safe request again may succeed (a reset or dropped connection, a proxy's 502/503/504).
    """

    def __init__(self, message, method=None, url=None, status=None, server_message=None, hint=None,
                 sent=True, transient=False):
        super().__init__(message, hint=hint)
        self.method = method
        self.url = url
        self.status = status
        self.server_message = server_message
        self.sent = sent
        self.transient = transient

    def __str__(self):
        where = ' '.join(part for part in (self.method, self.url) if part)
        text = '%s: %s' % (where, self.message) if where else self.message
        if self.hint:
            text = '%s. %s' % (text.rstrip('.'), self.hint)
        return text

    def as_dict(self):
        return {'method': self.method, 'url': self.url, 'status': self.status, 'server_message': self.server_message}


class AmbiguousRequest(RequestError):
    """A non-idempotent request was sent but its outcome is unknown (dropped connection, timeout, proxy 5xx)."""


class RateLimited(RequestError):
    """HTTP 429 to a non-idempotent request: refused by Kapacitor or a proxy; ``retry_after`` is the wait asked for."""

    def __init__(self, message, retry_after, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerUnreachable(RequestError):
    """Not sent: the server stopped answering at the connection level earlier in this call (the client's circuit
    breaker is open). ``str()`` is the one reason shared by every request refused this way, without the request's
    own method and URL, so that callers can group identical failures."""

    def __init__(self, message, **kwargs):
        kwargs['sent'] = False
        kwargs['transient'] = False
        super().__init__(message, **kwargs)

    def __str__(self):
        return KapacitorError.__str__(self)
