"""API keys: random secrets shown once, stored as SHA-256 digests, compared in constant time.

A key reads ``sr_<key_id>_<secret>``. ``key_id`` is public (listings, revocation, logs) and
indexes the lookup; only the digest of the 32-byte random secret is stored. A plain SHA-256 is
enough for secrets of this entropy (no dictionary to attack), and it keeps auth fast.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Engine, bindparam, select, update

from serving.store.tables import api_keys

KEY_PREFIX = "sr"


class Role(StrEnum):
    CRM = "crm"  # scores entities and reads scores
    REP = "rep"  # reads only the leads and customers they own
    ADMIN = "admin"  # everything, including model reloads


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's public id, its role and, for reps, their owner id."""

    key_id: str
    role: Role
    owner_id: str | None

    def can_see(self, owner_id: str | None) -> bool:
        """Reps see only their own book; other roles see everything."""
        return self.role is not Role.REP or (owner_id is not None and owner_id == self.owner_id)


@dataclass(frozen=True)
class KeyInfo:
    key_id: str
    role: Role
    owner_id: str | None
    label: str | None
    created_at: datetime
    revoked_at: datetime | None


class KeyRequestError(ValueError):
    """A key cannot be created or revoked as asked (message says why)."""


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# Built once: every request authenticates, and building the statement cost more than running it.
_KEY_BY_ID = select(api_keys).where(api_keys.c.key_id == bindparam("key_id"))


class KeyStore:
    """Create, revoke, list and authenticate API keys (table ``api_keys``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(
        self, *, role: Role, owner_id: str | None, label: str | None, created_at: datetime
    ) -> tuple[KeyInfo, str]:
        """Create a key; returns its info and the full token (the only time it is visible)."""
        if role is Role.REP and not owner_id:
            raise KeyRequestError("a rep key needs --owner (the rep's owner_id)")
        if role is not Role.REP and owner_id:
            raise KeyRequestError("--owner only applies to rep keys")
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            conn.execute(
                api_keys.insert().values(
                    key_id=key_id,
                    secret_sha256=_digest(secret),
                    role=role.value,
                    owner_id=owner_id,
                    label=label,
                    created_at=created_at,
                )
            )
        info = KeyInfo(key_id, role, owner_id, label, created_at, None)
        return info, f"{KEY_PREFIX}_{key_id}_{secret}"

    def revoke(self, key_id: str, *, revoked_at: datetime) -> None:
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(api_keys)
                .where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=revoked_at)
            ).rowcount
        if changed != 1:
            raise KeyRequestError(f"no active key with id {key_id!r}")

    def list(self) -> list[KeyInfo]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(api_keys).order_by(api_keys.c.created_at, api_keys.c.key_id))
            return [
                KeyInfo(r.key_id, Role(r.role), r.owner_id, r.label, r.created_at, r.revoked_at)
                for r in rows
            ]

    def principal(self, key_id: str) -> Principal | None:
        """The principal of the active key ``key_id`` (None: unknown or revoked).

        Not an authentication by itself: ``serving.web`` calls it for a session that was
        opened by ``authenticate`` with the full key, so that revoking a key ends its
        sessions on their next request.
        """
        with self.engine.connect() as conn:
            row = conn.execute(_KEY_BY_ID, {"key_id": key_id}).first()
        if row is None or row.revoked_at is not None:
            return None
        return Principal(key_id=row.key_id, role=Role(row.role), owner_id=row.owner_id)

    def authenticate(self, token: str) -> Principal | None:
        """The principal for a bearer token, or None for unknown, malformed or revoked keys."""
        prefix, sep, rest = token.partition("_")
        key_id, sep2, secret = rest.partition("_")
        if prefix != KEY_PREFIX or not sep or not sep2 or not key_id or not secret:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(_KEY_BY_ID, {"key_id": key_id}).first()
        if row is None or row.revoked_at is not None:
            return None
        if not hmac.compare_digest(row.secret_sha256, _digest(secret)):
            return None
        return Principal(key_id=row.key_id, role=Role(row.role), owner_id=row.owner_id)
