"""HTTP authentication and authorization as Kapacitor's httpd service does it (docs/kapacitor-api.md, "Auth and TLS")."""

import base64
import binascii
import hashlib
import hmac
import json
import re

from .constants import ADMIN_USER, API_PREFIX, NS
from .encoding import now_ns


class AuthError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def b64url_decode(text):
    try:
        return base64.urlsafe_b64decode(text + '=' * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise AuthError(401, 'illegal base64 data at input byte 0') from None


def verify_jwt(token, secret):
    """jwt-go v3 Parse + Kapacitor's claim checks, HS256/384/512 only; returns the username."""
    parts = token.split('.')
    if len(parts) != 3:
        raise AuthError(401, 'token contains an invalid number of segments')
    try:
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
    except ValueError:
        raise AuthError(401, 'invalid character looking for beginning of value') from None
    digests = {'HS256': hashlib.sha256, 'HS384': hashlib.sha384, 'HS512': hashlib.sha512}
    alg = header.get('alg') if isinstance(header, dict) else None
    if alg not in digests:
        raise AuthError(401, 'unexpected signing method: %s' % alg)
    if not isinstance(claims, dict):
        raise AuthError(401, 'problem authenticating token')
    now = now_ns() / NS
    # jwt-go validates claims first, but a bad signature's error replaces the claim error (ValidationError.Inner).
    claim_error = None
    exp = claims.get('exp')
    if isinstance(exp, (int, float)) and not isinstance(exp, bool) and exp != 0 and now > exp:
        claim_error = 'Token is expired'
    nbf = claims.get('nbf')
    if isinstance(nbf, (int, float)) and not isinstance(nbf, bool) and now < nbf:
        claim_error = 'Token is not valid yet'
    expected = hmac.new(secret.encode(), (parts[0] + '.' + parts[1]).encode(), digests[alg]).digest()
    if not hmac.compare_digest(expected, b64url_decode(parts[2])):
        raise AuthError(401, 'signature is invalid')
    if claim_error:
        raise AuthError(401, claim_error)
    if not isinstance(exp, (int, float)) or isinstance(exp, bool) or exp <= 0:
        raise AuthError(401, 'token expiration required')
    username = claims.get('username')
    if not isinstance(username, str):
        raise AuthError(401, 'username in token must be a string')
    if not username:
        raise AuthError(401, 'token must contain a username')
    return username


class Auth:
    """HTTP authentication; on when any user or a shared secret is configured."""

    def __init__(self, users=(), shared_secret=None):
        self.users = {}
        self.readonly = set()
        for entry in users:
            name, dummy, rest = entry.partition(':')
            password, dummy, flag = rest.partition(':')
            if flag == 'ro':
                self.readonly.add(name)
            elif flag:
                password = rest
            self.users[name] = password
        self.shared_secret = shared_secret
        self.enabled = bool(self.users) or bool(shared_secret)

    def authenticate(self, headers, query):
        """parseCredentials order (docs/kapacitor-api.md §7): Bearer, Basic, then ?u=&p=. Returns the username."""
        if not self.enabled:
            return ADMIN_USER
        header = headers.get('Authorization', '')
        if header:
            parts = header.split(' ')
            if len(parts) == 2 and parts[0] == 'Bearer':
                if not self.shared_secret:
                    raise AuthError(401, 'signature is invalid')
                return verify_jwt(parts[1], self.shared_secret)
            basic = parse_basic(header)
            if basic is not None:
                return self.check_password(*basic)
        user, password = query.get('u', [''])[0], query.get('p', [''])[0]
        if user and password:
            return self.check_password(user, password)
        raise AuthError(401, 'unable to parse authentication credentials')

    def check_password(self, user, password):
        if not user:
            raise AuthError(401, 'username required')
        if user not in self.users or not hmac.compare_digest(self.users[user].encode(), password.encode()):
            raise AuthError(401, 'authorization failed')
        return user

    def authorize(self, user, method, path):
        """Read-only users may only GET; the resource is path.Join("/api", path minus /kapacitor/v1) (docs/kapacitor-api.md §7)."""
        if user not in self.readonly or method == 'GET':
            return
        privilege = {'DELETE': 'delete'}.get(method, 'write')
        resource = '/api' + path[len(API_PREFIX):]
        resource = re.sub(r'/+', '/', resource).rstrip('/') or '/'
        raise AuthError(403, 'user %s does not have "%s" privilege for API endpoint "%s"' % (user, privilege, resource))


def parse_basic(header):
    """net/http Request.BasicAuth."""
    if not header[:6].lower() == 'basic ':
        return None
    try:
        decoded = base64.b64decode(header[6:], validate=True).decode('utf-8')
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(':')
    return (user, password) if sep else None
