"""Authentication before any work: a pure ASGI gate in front of the body limit and the routes.

Every request except the open probes and docs pages must carry a valid key before one byte of
its body is read or parsed: an anonymous caller gets 401 (not a 422 about its body), and its
3.9 MB body is never buffered. Unauthenticated requests are counted per client address in
fixed windows; past ``anonymous_requests_per_window`` in a window the answer is 429 with
``Retry-After``. A request with a valid key is never counted nor limited, whatever else comes
from its address. The key is checked as ``serving.store.keys.KeyStore.authenticate`` always does
(digest compared in constant time); the principal is left in the scope for ``serving.api.deps``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from starlette.routing import Match

from serving.api.limits import ASGIApp, Receive, Scope, Send, send_error
from serving.api.services import Services
from serving.store.keys import Principal

PRINCIPAL_SCOPE_KEY = "salesradar.principal"
UNAUTHENTICATED = "missing, unknown or revoked API key"
# Paths a caller may read without a key (GET/HEAD only). Their routes still apply their own
# dependencies, so a docs page that needs a key keeps needing one behind this gate.
OPEN_PATHS = frozenset({"/health/live", "/health/ready", "/v1/openapi.json", "/docs", "/redoc"})
OPEN_PREFIXES = ("/docs/", "/redoc/")
# The reps' pages authenticate with their session cookie instead of a bearer key, in
# ``serving.web.gate.SessionGate``, which sits inside this gate and also reads no body first.
SESSION_PREFIX = "/web"
# Addresses tracked in one window. A table this full refuses new anonymous addresses (429)
# rather than grow: anonymous requests are only ever answered 401 anyway.
MAX_TRACKED_ADDRESSES = 100_000
_EPOCH = datetime(1970, 1, 1)


def bearer_token(scope: Scope) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


def is_open(scope: Scope) -> bool:
    """True for the health probes and docs pages, which need no key here."""
    path = scope.get("path", "")
    return scope.get("method") in ("GET", "HEAD") and (
        path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)
    )


def is_session_path(scope: Scope) -> bool:
    """True for the reps' pages (``SESSION_PREFIX``), which the session gate authenticates."""
    path: str = scope.get("path", "")
    return path == SESSION_PREFIX or path.startswith(SESSION_PREFIX + "/")


def _name_route(scope: Scope) -> None:
    """Leave the matching route in the scope, as routing would have, so that metrics label a
    refused request by its route template (the router never sees it)."""
    app = scope.get("app")
    routes = list(getattr(getattr(app, "router", None), "routes", ()))
    while routes:
        route = routes.pop(0)
        included = getattr(route, "original_router", None)  # FastAPI's include_router
        if included is not None:
            routes[:0] = included.routes
        elif route.matches(scope)[0] is Match.FULL:
            scope["route"] = route
            return


@dataclass
class AnonymousLimiter:
    """At most ``limit`` unauthenticated requests per client address per fixed window.

    ``clock`` gives naive-UTC datetimes (the service's clock); windows are
    ``window_seconds`` long and aligned on the epoch. ``hit`` counts one request and returns
    None if it is allowed, else the seconds until the address's window ends (for Retry-After).
    """

    limit: int
    window_seconds: float
    clock: Callable[[], datetime]
    _counts: dict[str, tuple[int, int]] = field(default_factory=dict)

    def hit(self, address: str) -> float | None:
        elapsed = (self.clock() - _EPOCH).total_seconds()
        window = math.floor(elapsed / self.window_seconds)
        retry_after = (window + 1) * self.window_seconds - elapsed
        seen_window, count = self._counts.get(address, (window, 0))
        if seen_window != window:
            count = 0
        if address not in self._counts and len(self._counts) >= MAX_TRACKED_ADDRESSES:
            self._counts = {a: c for a, c in self._counts.items() if c[0] == window}
            if len(self._counts) >= MAX_TRACKED_ADDRESSES:
                return retry_after
        self._counts[address] = (window, count + 1)
        return retry_after if count + 1 > self.limit else None


class AuthenticationGate:
    """Pure ASGI middleware: 401/429 for unauthenticated requests before their body is read."""

    def __init__(self, app: ASGIApp, *, services: Services) -> None:
        self.app = app
        self.keys = services.keys
        settings = services.settings
        self.limiter = AnonymousLimiter(
            settings.anonymous_requests_per_window,
            settings.anonymous_window_seconds,
            services.clock,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_open(scope) or is_session_path(scope):
            await self.app(scope, receive, send)
            return
        token = bearer_token(scope)
        principal: Principal | None = self.keys.authenticate(token) if token else None
        if principal is not None:
            scope[PRINCIPAL_SCOPE_KEY] = principal
            await self.app(scope, receive, send)
            return
        _name_route(scope)
        client = scope.get("client")
        retry_after = self.limiter.hit(client[0] if client else "unknown")
        # A body stays unread: close the connection rather than drain it.
        close = any(
            (n == b"content-length" and v.strip() != b"0") or n == b"transfer-encoding"
            for n, v in scope["headers"]
        )
        if retry_after is not None:
            seconds = str(max(1, math.ceil(retry_after))).encode()
            message = "too many unauthenticated requests from this address; retry later"
            headers = [(b"retry-after", seconds)]
            await send_error(
                send, 429, "Authorization", message, "rate_limited", headers=headers, close=close
            )
            return
        headers = [(b"www-authenticate", b"Bearer")]
        await send_error(
            send, 401, "Authorization", UNAUTHENTICATED, "auth", headers=headers, close=close
        )
