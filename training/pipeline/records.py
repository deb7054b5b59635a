"""Pipeline runs and their decisions in the scores database, one row per step and task.

The tables are ours (their own ``MetaData``, created idempotently with ``create_all`` like
``training.monitoring.store``'s) and live in the database ``salesradar score`` writes, through
the same kind of engine. A run is keyed by its export's content fingerprint and its as-of: a
later run with the same key reuses every step an earlier one completed (``completed_steps``),
so a rerun does no duplicate work and says so.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    RowMapping,
    String,
    Table,
    Text,
    select,
    update,
)

metadata = MetaData()

pipeline_runs = Table(
    "pipeline_runs",
    metadata,
    Column("pipeline_run_id", String(32), primary_key=True),  # uuid4().hex
    Column("fingerprint", String(64), nullable=False, index=True),  # fingerprint.py
    Column("data", Text, nullable=False),  # the export folder as given
    Column("as_of", DateTime, nullable=False),  # naive UTC
    Column("status", String(16), nullable=False),  # running | done | failed
    Column("started_at", DateTime, nullable=False),  # wall clock of the entry point
    Column("finished_at", DateTime, nullable=True),
    Column("reason", Text, nullable=True),  # one line: why it failed, or what it did
    Column("pid", Integer, nullable=False),
    Column("host", String(255), nullable=False),
)

pipeline_decisions = Table(
    "pipeline_decisions",
    metadata,
    Column("decision_id", Integer, primary_key=True, autoincrement=True),
    Column("pipeline_run_id", String(32), nullable=False, index=True),
    Column("step", String(32), nullable=False),  # validate | score | monitor | due | ...
    Column("task", String(16), nullable=True),  # leads | churn; None for whole-run steps
    Column("outcome", String(32), nullable=False),  # done | due | not_due | promoted | ... | failed
    Column("reason", Text, nullable=False),
    Column("reused_from", String(32), nullable=True),  # the earlier run that did the work
    Column("decided_at", DateTime, nullable=False),
)

FAILED = "failed"
REUSED = "reused"


@dataclass(frozen=True)
class StepDecision:
    """One recorded decision: which step (and task), its outcome, why, and from which earlier
    pipeline run it was reused (None: done by this run)."""

    pipeline_run_id: str
    step: str
    task: str | None
    outcome: str
    reason: str
    reused_from: str | None
    decided_at: datetime


@dataclass(frozen=True)
class RunHolder:
    """A pipeline run still marked running: who started it and when."""

    pipeline_run_id: str
    started_at: datetime
    pid: int
    host: str


def create_pipeline_schema(engine: Engine) -> None:
    """Create ``pipeline_runs`` and ``pipeline_decisions`` if missing (idempotent)."""
    metadata.create_all(engine)


def begin_pipeline_run(
    engine: Engine,
    *,
    fingerprint: str,
    data: str,
    as_of: datetime,
    started_at: datetime,
    pid: int,
    host: str,
) -> str:
    """Insert a ``running`` row and return its new id."""
    run_id = uuid.uuid4().hex
    with engine.begin() as conn:
        conn.execute(
            pipeline_runs.insert().values(
                pipeline_run_id=run_id,
                fingerprint=fingerprint,
                data=data,
                as_of=as_of,
                status="running",
                started_at=started_at,
                pid=pid,
                host=host,
            )
        )
    return run_id


def record_decision(engine: Engine, decision: StepDecision) -> None:
    """Append one decision (committed at once, so a crash later keeps it)."""
    with engine.begin() as conn:
        conn.execute(
            pipeline_decisions.insert().values(
                pipeline_run_id=decision.pipeline_run_id,
                step=decision.step,
                task=decision.task,
                outcome=decision.outcome,
                reason=decision.reason,
                reused_from=decision.reused_from,
                decided_at=decision.decided_at,
            )
        )


def finish_pipeline_run(
    engine: Engine, run_id: str, *, status: str, reason: str, finished_at: datetime
) -> None:
    """Mark the run ``done`` or ``failed`` with its one-line ``reason``."""
    with engine.begin() as conn:
        conn.execute(
            update(pipeline_runs)
            .where(pipeline_runs.c.pipeline_run_id == run_id)
            .values(status=status, reason=reason, finished_at=finished_at)
        )


def completed_steps(
    engine: Engine, *, fingerprint: str, as_of: datetime
) -> dict[tuple[str, str | None], StepDecision]:
    """Per (step, task): the first decision that did the work for this export and as-of in an
    earlier run (failed steps and reuses excluded), so it is not done again."""
    query = (
        select(pipeline_decisions)
        .join(
            pipeline_runs,
            pipeline_runs.c.pipeline_run_id == pipeline_decisions.c.pipeline_run_id,
        )
        .where(
            pipeline_runs.c.fingerprint == fingerprint,
            pipeline_runs.c.as_of == as_of,
            pipeline_decisions.c.outcome != FAILED,
            pipeline_decisions.c.reused_from.is_(None),
        )
        .order_by(pipeline_decisions.c.decision_id)
    )
    found: dict[tuple[str, str | None], StepDecision] = {}
    with engine.connect() as conn:
        for row in conn.execute(query).mappings():
            found.setdefault((row["step"], row["task"]), _decision(row))
    return found


def run_decisions(engine: Engine, run_id: str) -> list[StepDecision]:
    """Every decision of one pipeline run, in the order they were taken."""
    query = (
        select(pipeline_decisions)
        .where(pipeline_decisions.c.pipeline_run_id == run_id)
        .order_by(pipeline_decisions.c.decision_id)
    )
    with engine.connect() as conn:
        return [_decision(row) for row in conn.execute(query).mappings()]


def latest_running(engine: Engine) -> RunHolder | None:
    """The most recently started run still marked running (the lock's holder, when the lock is
    taken; a row left by a killed run is only information), or None."""
    query = (
        select(pipeline_runs)
        .where(pipeline_runs.c.status == "running")
        .order_by(pipeline_runs.c.started_at.desc())
        .limit(1)
    )
    with engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    if row is None:
        return None
    return RunHolder(row["pipeline_run_id"], row["started_at"], row["pid"], row["host"])


def _decision(row: RowMapping) -> StepDecision:
    values = {key: value for key, value in row.items() if key != "decision_id"}
    return StepDecision(**values)
