"""Signed session cookies and CSRF tokens for the reps' pages (itsdangerous).

A rep signs in once with their API key; the session cookie then holds, signed with the
session secret (``SALESRADAR_SESSION_SECRET``), the key's public id, a random CSRF token and
the time it was issued. It never holds the key's secret. Every request re-reads the key by its
id, so revoking a key ends its sessions on the next request. Sessions last
``SESSION_MAX_AGE_SECONDS``.

CSRF: every form carries the CSRF token in a hidden field, compared in constant time with the
token inside the signed session cookie (the synchronizer-token pattern, the token kept in the
cookie instead of a server table). The sign-in form, shown before any session exists, uses the
signed double-submit pattern: a signed ``salesradar_csrf`` cookie holds the token its hidden
field must repeat. Both cookies are HttpOnly and SameSite=Strict, Secure when the page was
served over https.

Time comes from the caller's clock (the service's), never from the wall clock here.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

SESSION_COOKIE = "salesradar_session"
SIGN_IN_CSRF_COOKIE = "salesradar_csrf"
COOKIE_PATH = "/web"
SESSION_MAX_AGE_SECONDS = 12 * 3600
# The sign-in form must be sent within this long after it was shown.
SIGN_IN_MAX_AGE_SECONDS = 3600
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True)
class SessionData:
    """What a valid session cookie says: the API key id it was opened with, its CSRF token."""

    key_id: str
    csrf_token: str


def _clocked_signer(clock: Callable[[], datetime]) -> type[TimestampSigner]:
    """A ``TimestampSigner`` whose timestamps come from ``clock`` (naive UTC)."""

    class ClockedSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(clock().replace(tzinfo=UTC).timestamp())

    return ClockedSigner


class SessionCodec:
    """Issues and reads the signed cookies; ``secret`` signs them, ``clock`` dates them.

    Salts keep the session cookie and the sign-in token apart: neither can stand in for the
    other even though one secret signs both.
    """

    def __init__(self, secret: str, *, clock: Callable[[], datetime]) -> None:
        signer = _clocked_signer(clock)
        self._sessions = URLSafeTimedSerializer(secret, salt="salesradar.session", signer=signer)
        self._sign_in = URLSafeTimedSerializer(secret, salt="salesradar.sign-in", signer=signer)

    def open_session(self, key_id: str) -> tuple[str, SessionData]:
        """A new session for ``key_id``: the cookie value and what it holds (a fresh token)."""
        data = SessionData(key_id=key_id, csrf_token=secrets.token_urlsafe(32))
        return self._sessions.dumps({"k": data.key_id, "c": data.csrf_token}), data

    def read_session(self, cookie: str | None) -> SessionData | None:
        """The session in ``cookie``, or None when absent, tampered with, malformed or older
        than ``SESSION_MAX_AGE_SECONDS``."""
        payload = self._load(self._sessions, cookie, SESSION_MAX_AGE_SECONDS)
        if not isinstance(payload, dict):
            return None
        key_id, token = payload.get("k"), payload.get("c")
        if not isinstance(key_id, str) or not isinstance(token, str):
            return None
        return SessionData(key_id=key_id, csrf_token=token)

    def sign_in_token(self) -> tuple[str, str]:
        """A token for one sign-in form: the signed cookie value and the raw form value."""
        token = secrets.token_urlsafe(32)
        return self._sign_in.dumps(token), token

    def sign_in_token_matches(self, cookie: str | None, submitted: str | None) -> bool:
        """True when the sign-in form's ``submitted`` token is the one its signed ``cookie``
        holds and the cookie is younger than ``SIGN_IN_MAX_AGE_SECONDS``."""
        token = self._load(self._sign_in, cookie, SIGN_IN_MAX_AGE_SECONDS)
        return isinstance(token, str) and tokens_match(token, submitted)

    @staticmethod
    def _load(serializer: URLSafeTimedSerializer, cookie: str | None, max_age: int) -> Any:
        if not cookie:
            return None
        try:
            return serializer.loads(cookie, max_age=max_age)
        except (SignatureExpired, BadSignature):
            return None


def tokens_match(expected: str, submitted: str | None) -> bool:
    """Constant-time comparison of a CSRF token with the one a form sent (None: no field)."""
    return submitted is not None and hmac.compare_digest(expected.encode(), submitted.encode())
