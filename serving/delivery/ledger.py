"""What was sent and what could not be: the delivery ledger and dead letters, in the scores DB.

A message is identified by (run_id, channel, recipient, kind): the batch run it reports on,
``email`` / ``slack`` / ``teams`` / ``webhook`` / ``writeback``, the rep's ``owner_id`` (or the
entity for write-back pushes) and ``digest`` / ``alert`` / ``score``. A row in
``delivery_ledger`` means it was delivered; a rerun skips it, so a run is reported at most once
per recipient and channel. A message that failed every try gets a ``delivery_dead_letters``
row (payload, error, tries) and no ledger row, so ``salesradar notify --run-id`` tries it again.

The tables live in their own ``MetaData`` on the scores store's engine and are created
idempotently by ``create_ledger_tables``. One notifier at a time per database is assumed (``score``
runs it under its own lock; two ``notify`` commands started together could both send).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    Column,
    ColumnElement,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    select,
)
from sqlalchemy.exc import IntegrityError

ledger_metadata = MetaData()

delivery_ledger = Table(
    "delivery_ledger",
    ledger_metadata,
    Column("run_id", String(32), primary_key=True),
    Column("channel", String(16), primary_key=True),
    Column("recipient", String(255), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("sent_at", DateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
)

delivery_dead_letters = Table(
    "delivery_dead_letters",
    ledger_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(32), nullable=False, index=True),
    Column("channel", String(16), nullable=False),
    Column("recipient", String(255), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("failed_at", DateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("error", Text, nullable=False),
    Column("payload", Text, nullable=False),
)


@dataclass(frozen=True)
class MessageKey:
    """The identity of one message: a rerun with the same key sends nothing."""

    run_id: str
    channel: str
    recipient: str
    kind: str


@dataclass(frozen=True)
class DeadLetter:
    """A message that failed its last try (``failed_at`` naive UTC, ``payload`` as sent)."""

    key: MessageKey
    failed_at: datetime
    attempts: int
    error: str
    payload: str


def create_ledger_tables(engine: Engine) -> None:
    """Create the ledger and dead-letter tables if missing (idempotent, any backend)."""
    ledger_metadata.create_all(engine)


class DeliveryLedger:
    """Reads and writes the two tables on ``engine`` (the scores store's)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def was_sent(self, key: MessageKey) -> bool:
        """True when ``key`` has been delivered before."""
        with self.engine.connect() as conn:
            found = conn.execute(
                select(delivery_ledger.c.run_id).where(_matches(key)).limit(1)
            ).first()
        return found is not None

    def record_sent(self, key: MessageKey, *, sent_at: datetime, attempts: int) -> None:
        """Remember that ``key`` was delivered (naive UTC ``sent_at``); a second record of the
        same key is a no-op, so a race between two notifiers cannot fail after sending."""
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    delivery_ledger.insert().values(
                        **key.__dict__, sent_at=sent_at, attempts=attempts
                    )
                )
        except IntegrityError:
            pass  # already recorded: what matters is that it is there

    def record_dead(self, letter: DeadLetter) -> None:
        """Append a dead-letter row for a message that failed its last try."""
        with self.engine.begin() as conn:
            conn.execute(
                delivery_dead_letters.insert().values(
                    **letter.key.__dict__,
                    failed_at=letter.failed_at,
                    attempts=letter.attempts,
                    error=letter.error,
                    payload=letter.payload,
                )
            )

    def dead_letters(self, run_id: str) -> list[DeadLetter]:
        """Dead letters of ``run_id``, oldest first."""
        table = delivery_dead_letters.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(delivery_dead_letters).where(table.run_id == run_id).order_by(table.id)
            ).all()
        return [
            DeadLetter(
                MessageKey(r.run_id, r.channel, r.recipient, r.kind),
                r.failed_at,
                r.attempts,
                r.error,
                r.payload,
            )
            for r in rows
        ]


def _matches(key: MessageKey) -> ColumnElement[bool]:
    table = delivery_ledger.c
    return and_(
        table.run_id == key.run_id,
        table.channel == key.channel,
        table.recipient == key.recipient,
        table.kind == key.kind,
    )
