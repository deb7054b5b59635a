"""Local endpoints the delivery tests send to: an SMTP server (aiosmtpd) and an HTTP receiver
that fails a set number of times before it accepts, both on 127.0.0.1 and stopped by the test."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.servers import free_port


class _Inbox:
    """aiosmtpd handler: keeps each accepted message (envelope recipients, parsed message)."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 OK"


@contextmanager
def smtp_server(*, login: tuple[str, str] | None = None) -> Iterator[tuple[int, _Inbox]]:
    """A plain SMTP server on 127.0.0.1 (no TLS): yields its port and inbox. With ``login``
    (user, password) it requires AUTH and answers 535 to any other credentials."""
    inbox = _Inbox()
    auth: dict[str, Any] = {}
    if login is not None:
        user, password = login

        def authenticate(
            server: Any, session: Any, envelope: Any, mechanism: str, data: Any
        ) -> AuthResult:
            ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
                user.encode(),
                password.encode(),
            )
            # handled=False: the server itself answers (235 or 535), as a real one would.
            return AuthResult(success=ok, handled=False)

        # Plain-text AUTH is fine on 127.0.0.1 in a test; production sends it after STARTTLS.
        auth = {"authenticator": authenticate, "auth_required": True, "auth_require_tls": False}
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), **auth)
    controller.start()
    try:
        yield controller.port, inbox
    finally:
        controller.stop()


@dataclass
class Received:
    """What the HTTP receiver saw: every request's headers and body, accepted or not."""

    fail_first: int
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@contextmanager
def http_receiver(*, fail_first: int, status: int = 503) -> Iterator[tuple[str, Received]]:
    """A POST receiver answering ``status`` to the first ``fail_first`` requests, then 200 (a
    huge ``fail_first`` always fails). Yields its URL and the record of requests."""
    received = Received(fail_first)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with lock:
                received.requests.append((dict(self.headers.items()), body))
                failing = len(received.requests) <= received.fail_first
            self.send_response(status if failing else 200)
            self.end_headers()
            self.wfile.write(b"busy" if failing else b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            return  # keep test output clean

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    finally:
        server.shutdown()
        server.server_close()
