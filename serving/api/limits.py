"""Request body size limit as a pure ASGI middleware.

Enforced before the body is fully read: a declared ``Content-Length`` over the limit is refused
at once, and otherwise bytes are counted as they stream in, so a chunked or lying client is cut
off as soon as it passes the limit. The accepted body (at most ``max_bytes``) is buffered and
replayed to the application.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Where the accepted body is left in the ASGI scope, so that the error handler can say where
# a body the framework could not parse goes wrong (serving.api.errors.body_parse_error).
BODY_SCOPE_KEY = "salesradar.body"


class BodySizeLimit:
    """Refuse (413) a request body over ``max_bytes``, reading no more of it than that."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = self._declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                await self._refuse(send)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        scope[BODY_SCOPE_KEY] = body
        await self.app(scope, self._replay(body, receive), send)

    @staticmethod
    def _declared_length(scope: Scope) -> int | None:
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    return int(value)
                except ValueError:
                    return None
        return None

    @staticmethod
    def _replay(body: bytes, receive: Receive) -> Receive:
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # afterwards: wait for the disconnect like Starlette expects

        return replay

    async def _refuse(self, send: Send) -> None:
        message = f"request body exceeds the limit of {self.max_bytes} bytes"
        await send_error(send, 413, "body", message, "body_too_large", close=True)


async def send_error(
    send: Send,
    status: int,
    field: str,
    message: str,
    kind: str,
    *,
    headers: Sequence[tuple[bytes, bytes]] = (),
    close: bool = False,
) -> None:
    """Answer with the API's error body (``{"detail": [{field, message, type}]}``) from ASGI
    middleware, before any route runs; ``close`` ends the connection, for a request whose body
    was left unread."""
    payload = json.dumps({"detail": [{"field": field, "message": message, "type": kind}]}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *headers,
                *([(b"connection", b"close")] if close else []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
