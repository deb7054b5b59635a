"""What reps did about a lead or customer: "contacted", "not a risk", "won back", "lost".

Each recorded action is one row of ``rep_actions`` in the scores database (SQLite or
PostgreSQL, the ``ScoreStore``'s engine), with who recorded it (the rep's key id and owner
id), when (the caller's clock, naive UTC) and what the rep saw then (the published run, score
and tier), so outcome analysis can join actions to later results. The table has its own
``MetaData`` and is created idempotently by ``ActionStore.create_schema``; the scores schema
knows nothing about it. Rows are never updated or deleted: a correction is a new action.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    select,
)

from features.contract.tables import MAX_ID_CHARS
from features.contract.tasks import EntityKind
from serving.scoring.spreadsheet import render_csv

NOTE_MAX_CHARS = 1000
# Rows fetched per round trip when exporting, so an export of years of actions streams.
EXPORT_BATCH_ROWS = 1_000


class RepAction(StrEnum):
    """What a rep did; the values are the words stored, shown and exported."""

    CONTACTED = "contacted"
    NOT_A_RISK = "not a risk"
    WON_BACK = "won back"
    LOST = "lost"


action_metadata = MetaData()

rep_actions = Table(
    "rep_actions",
    action_metadata,
    Column("action_id", Integer, primary_key=True, autoincrement=True),
    Column("entity_kind", String(16), nullable=False),  # lead | customer
    Column("entity_id", String(MAX_ID_CHARS), nullable=False),
    Column("owner_id", String(MAX_ID_CHARS), nullable=True),  # the entity's owner when recorded
    Column("action", String(32), nullable=False),
    Column("note", Text, nullable=False),
    Column("recorded_at", DateTime, nullable=False),
    Column("recorded_by_key_id", String(32), nullable=False),
    Column("recorded_by_owner_id", String(MAX_ID_CHARS), nullable=True),
    # What the rep was looking at: the published run and the entity's score and tier in it.
    Column("run_id", String(32), nullable=True),
    Column("score", Integer, nullable=True),
    Column("tier", String(16), nullable=True),
    Index("ix_rep_actions_entity", "entity_kind", "entity_id", "recorded_at"),
)

EXPORT_COLUMNS = tuple(c.name for c in rep_actions.columns)


class ActionInputError(ValueError):
    """An action that cannot be recorded: ``field`` names the form/JSON field, ``message``
    says which rule it breaks (never repeating the input)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class RecordedAction:
    """One stored action (see ``rep_actions`` for the meaning of each field)."""

    action_id: int
    entity_kind: EntityKind
    entity_id: str
    owner_id: str | None
    action: RepAction
    note: str
    recorded_at: datetime
    recorded_by_key_id: str
    recorded_by_owner_id: str | None
    run_id: str | None
    score: int | None
    tier: str | None


def parse_action(action: str) -> RepAction:
    """The ``RepAction`` spelled ``action`` exactly; raises ``ActionInputError`` (field
    ``action``) naming the allowed words otherwise."""
    try:
        return RepAction(action)
    except ValueError:
        allowed = ", ".join(f'"{a.value}"' for a in RepAction)
        raise ActionInputError("action", f"unknown action; one of {allowed}") from None


def check_note(note: str) -> str:
    """``note`` with surrounding whitespace removed; raises ``ActionInputError`` (field
    ``note``) when it is longer than ``NOTE_MAX_CHARS`` characters or holds control characters
    other than line breaks and tabs (they would corrupt the exported CSV for some readers)."""
    note = note.strip()
    if len(note) > NOTE_MAX_CHARS:
        raise ActionInputError(
            "note", f"too long: {len(note)} characters; at most {NOTE_MAX_CHARS}"
        )
    if any(unicodedata.category(c) == "Cc" and c not in "\n\r\t" for c in note):
        raise ActionInputError("note", "holds control characters; use plain text")
    return note


def _to_action(values: Mapping[str, Any]) -> RecordedAction:
    return RecordedAction(**{**values, "action": RepAction(values["action"])})


class ActionStore:
    """Record, read and export reps' actions in table ``rep_actions`` of ``engine``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create_schema(self) -> None:
        """Create ``rep_actions`` and its index if missing (idempotent)."""
        action_metadata.create_all(self.engine)

    def record(
        self,
        *,
        entity_kind: EntityKind,
        entity_id: str,
        owner_id: str | None,
        action: str,
        note: str,
        recorded_at: datetime,
        recorded_by_key_id: str,
        recorded_by_owner_id: str | None,
        run_id: str | None,
        score: int | None,
        tier: str | None,
    ) -> RecordedAction:
        """Store one action and return it. ``action`` must be a ``RepAction`` value and
        ``note`` pass ``check_note`` (``ActionInputError`` otherwise, nothing written);
        ``recorded_at`` is the caller's clock (naive UTC). Visibility (may this rep act on this
        entity?) is the caller's check, made before calling."""
        values = {
            "entity_kind": entity_kind,
            "entity_id": entity_id,
            "owner_id": owner_id,
            "action": parse_action(action).value,
            "note": check_note(note),
            "recorded_at": recorded_at,
            "recorded_by_key_id": recorded_by_key_id,
            "recorded_by_owner_id": recorded_by_owner_id,
            "run_id": run_id,
            "score": score,
            "tier": tier,
        }
        with self.engine.begin() as conn:
            key = conn.execute(rep_actions.insert().values(**values)).inserted_primary_key
        if key is None:  # a single-row insert always has one; only executemany has none
            raise RuntimeError("inserting a rep action returned no primary key")
        return _to_action({**values, "action_id": key[0]})

    def for_entity(
        self, entity_kind: EntityKind, entity_id: str, *, limit: int = 50
    ) -> list[RecordedAction]:
        """The entity's actions, newest first (at most ``limit``)."""
        query = (
            select(rep_actions)
            .where(rep_actions.c.entity_kind == entity_kind, rep_actions.c.entity_id == entity_id)
            .order_by(rep_actions.c.recorded_at.desc(), rep_actions.c.action_id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [_to_action(row._asdict()) for row in conn.execute(query)]

    def iter_all(self, *, owner_id: str | None = None) -> Iterator[RecordedAction]:
        """Every action in the order recorded (``action_id``), streamed in batches; with
        ``owner_id``, only actions on entities of that owner."""
        query = select(rep_actions).order_by(rep_actions.c.action_id)
        if owner_id is not None:
            query = query.where(rep_actions.c.owner_id == owner_id)
        with self.engine.connect() as conn:
            result = conn.execution_options(yield_per=EXPORT_BATCH_ROWS).execute(query)
            for row in result:
                yield _to_action(row._asdict())

    def export_csv(self, *, owner_id: str | None = None) -> tuple[str, int]:
        """``iter_all`` as CSV text (``EXPORT_COLUMNS``, times ``iso_utc``, formula-like text
        neutralised by ``serving.scoring.spreadsheet``) and the number of actions in it."""
        rows = [
            [str(a.action) if c == "action" else getattr(a, c) for c in EXPORT_COLUMNS]
            for a in self.iter_all(owner_id=owner_id)
        ]
        return render_csv(EXPORT_COLUMNS, rows), len(rows)

    def write_csv(self, path: Path) -> int:
        """Write every action to ``path`` as CSV (UTF-8); returns the number of actions. The
        file is written next to ``path`` first and renamed into place, so a failed export
        never leaves half a file."""
        text, count = self.export_csv()
        partial = path.with_name(path.name + ".partial")
        partial.write_text(text, encoding="utf-8", newline="")
        partial.replace(path)
        return count
