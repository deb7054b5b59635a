"""Authentication of the reps' pages before any work: a pure ASGI gate on ``/web``.

``serving.api.authentication.AuthenticationGate`` lets ``/web`` through without a bearer key; this
gate, inside it, admits a page request only with a valid session cookie of an active rep key
(``serving.web.session``), before one byte of its body is read. Without one, a GET is sent to
the sign-in page (303) and anything else is refused (401). The sign-in page itself and the
stylesheet are open. Other paths are not this gate's business.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, quote_from_bytes

from starlette.requests import HTTPConnection
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from serving.api.authentication import is_session_path
from serving.api.limits import ASGIApp, Receive, Scope, Send
from serving.store.keys import KeyStore, Principal, Role
from serving.web.session import SESSION_COOKIE, SessionCodec

WEB_SESSION_SCOPE_KEY = "salesradar.web_session"
SIGN_IN_PATH = "/web/sign-in"
STATIC_PREFIX = "/web/static/"


@dataclass(frozen=True)
class WebSession:
    """A signed-in rep: who (their key's principal) and the CSRF token their forms carry."""

    principal: Principal
    csrf_token: str


def is_open_page(scope: Scope) -> bool:
    """The sign-in page (GET and POST) and the static files need no session."""
    path = scope.get("path", "")
    return path == SIGN_IN_PATH or (
        scope.get("method") in ("GET", "HEAD") and path.startswith(STATIC_PREFIX)
    )


def session_of(scope: Scope, keys: KeyStore, codec: SessionCodec) -> WebSession | None:
    """The rep signed in by the request's session cookie, or None (no cookie, a bad or expired
    signature, a revoked key, or a key that is not a rep's)."""
    data = codec.read_session(HTTPConnection(scope).cookies.get(SESSION_COOKIE))
    if data is None:
        return None
    principal = keys.principal(data.key_id)
    if principal is None or principal.role is not Role.REP:
        return None
    return WebSession(principal=principal, csrf_token=data.csrf_token)


# What a path or query keeps as sent: its escapes (``%``) and the reserved characters that mean
# something there. Anything else (a raw space, raw UTF-8 bytes) is escaped, meaning the same.
_URL_SAFE = "/%:@!$&'()*+,;="


def asked_page(scope: Scope) -> str:
    """The page a request asked for, as sent: its raw path (escapes kept) and query, if any.

    The decoded ``path`` would not do as the sign-in's ``next``: an id holding ``?``, ``#`` or
    ``%`` (``ACME?x#1%2``, sent as ``ACME%3Fx%231%252``) would come back as another page.
    Falls back to the decoded path, escaped again, where the server gives no ``raw_path``.
    """
    raw_path = scope.get("raw_path") or quote(scope.get("path", "/web")).encode()
    target = quote_from_bytes(raw_path, safe=_URL_SAFE)
    query = quote_from_bytes(scope.get("query_string", b""), safe=_URL_SAFE + "?")
    return target + (f"?{query}" if query else "")


class SessionGate:
    """Pure ASGI middleware admitting ``/web`` requests with a valid rep session only."""

    def __init__(self, app: ASGIApp, *, keys: KeyStore, codec: SessionCodec) -> None:
        self.app = app
        self.keys = keys
        self.codec = codec

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_session_path(scope) or is_open_page(scope):
            await self.app(scope, receive, send)
            return
        session = session_of(scope, self.keys, self.codec)
        if session is not None:
            scope[WEB_SESSION_SCOPE_KEY] = session
            await self.app(scope, receive, send)
            return
        if scope.get("method") in ("GET", "HEAD"):
            # Back to the page asked for after signing in (a path on this site only: the
            # sign-in's ``safe_next`` refuses anything else).
            wanted = quote(asked_page(scope), safe="")
            response: Response = RedirectResponse(f"{SIGN_IN_PATH}?next={wanted}", status_code=303)
        else:
            response = PlainTextResponse(
                "sign in first: no valid session (it may have expired or been signed out)",
                status_code=401,
                headers={"Connection": "close"},
            )
        await response(scope, receive, send)
