"""Per request: an id, one access-log line and the HTTP metrics, from one ASGI middleware.

``X-Request-ID`` from the caller is kept when it is 1-128 characters of letters, digits and
``._:-`` (enough for UUIDs, ULIDs and most tracing ids), so it can be followed from the CRM's
logs into ours; anything else (empty, too long, spaces, control characters that could forge
log lines) is replaced by a fresh id. The id is returned in the response's ``X-Request-ID``.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from serving.api.limits import ASGIApp, Message, Receive, Scope, Send
from serving.api.metrics import ServiceMetrics

ACCESS_LOGGER = "salesradar.access"
HEADER = b"x-request-id"
_SANE = re.compile(r"[A-Za-z0-9._:-]{1,128}")

access_logger = logging.getLogger(ACCESS_LOGGER)


def request_id_from(headers: list[tuple[bytes, bytes]]) -> str:
    """The caller's ``X-Request-ID`` when sane (see the module docstring), else a new uuid4 hex."""
    for name, value in headers:
        if name == HEADER:
            text = value.decode("latin-1")
            if _SANE.fullmatch(text):
                return text
            break
    return uuid.uuid4().hex


class RequestObserver:
    """Pure ASGI: sets ``scope["state"]["request_id"]``, answers it in the header, logs the
    request (method, route template or path, status, duration in ms, request id) at INFO and
    counts it in ``metrics``.

    Metrics are labelled by route template; unmatched paths share one label so that scanners
    cannot blow up cardinality. The query string is not logged: it may hold owner ids."""

    def __init__(self, app: ASGIApp, *, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope.get("headers", []))
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != HEADER]
                message["headers"] = [*headers, (HEADER, request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            # ``path_format``: the template without converters (``{lead_id}``, not ``:path``).
            template = getattr(scope.get("route"), "path_format", None)
            self.metrics.observe_request(
                scope["method"], template or "<unmatched>", status, seconds
            )
            route = template or scope.get("path", "")
            duration_ms = round(seconds * 1000, 1)
            access_logger.info(
                "%s %s %d %.1fms id=%s",
                scope["method"],
                route,
                status,
                duration_ms,
                request_id,
                extra={
                    "request_id": request_id,
                    "method": scope["method"],
                    "route": route,
                    "status": status,
                    "duration_ms": duration_ms,
                },
            )
