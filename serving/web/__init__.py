"""Server-rendered pages for reps on ``/web`` (Jinja2, no JavaScript): sign in with a rep key,
the at-risk and hot-lead lists of their own book, entity pages, recorded actions, CSV.

``install_pages`` mounts them on the API's app; ``docs/web.md`` describes them.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from serving.api.authentication import AnonymousLimiter
from serving.api.services import Services
from serving.store.actions import ActionStore
from serving.web import pages, signin
from serving.web.gate import STATIC_PREFIX, SessionGate
from serving.web.rendering import WebState
from serving.web.session import SessionCodec

logger = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "static"


def session_secret(services: Services) -> str:
    """``SALESRADAR_SESSION_SECRET``, or a random secret for this process (logged as a
    warning: sessions then end when the process restarts, and two processes would not read
    each other's cookies)."""
    configured = services.settings.session_secret.get_secret_value()
    if configured:
        return configured
    logger.warning(
        "SALESRADAR_SESSION_SECRET is not set: the reps' pages sign sessions with a random "
        "secret of this process, so every rep signs in again after a restart"
    )
    return secrets.token_urlsafe(32)


def install_pages(app: FastAPI, services: Services) -> None:
    """Mount the pages, their stylesheet and their session gate on ``app``, and create the
    actions table if missing. Call before the app's other middleware is added, so that the
    gate sits inside ``AuthenticationGate`` (which leaves ``/web`` to it)."""
    actions = ActionStore(services.store.engine)
    actions.create_schema()
    codec = SessionCodec(session_secret(services), clock=services.clock)
    settings = services.settings
    # Sign-in attempts are counted like the API's unauthenticated requests, per address.
    limiter = AnonymousLimiter(
        settings.anonymous_requests_per_window, settings.anonymous_window_seconds, services.clock
    )
    app.state.web = WebState(codec=codec, actions=actions, sign_in_limiter=limiter)
    # The stylesheet first: the pages end with a catch-all 404 that would shadow it.
    app.mount(STATIC_PREFIX.rstrip("/"), StaticFiles(directory=STATIC_DIR), name="web-static")
    app.include_router(signin.router)
    app.include_router(pages.router)
    app.add_middleware(SessionGate, keys=services.keys, codec=codec)
