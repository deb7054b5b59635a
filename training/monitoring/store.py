"""Monitoring results in the scores database: one row per (batch run, task), replaced on rerun.

The table is ours (its own ``MetaData``, created like the store's tables with ``create_all``);
the batch runs and scores are read through the columns this module needs, by name, so training
does not import ``serving`` (dependency direction: training -> features <- serving). The database
schema of ``score_runs`` / ``scores`` is the contract (docs/serving.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    column,
    delete,
    inspect,
    select,
    table,
)

from features.errors import UserError

ENTITY_TASKS = {"lead": "leads", "customer": "churn"}  # scores.entity_kind -> task

metadata = MetaData()

monitoring_results = Table(
    "monitoring_results",
    metadata,
    Column("run_id", String(32), primary_key=True),  # the batch run judged
    Column("task", String(16), primary_key=True),  # leads | churn
    Column("model_name", String(255), nullable=False),
    Column("model_version", String(64), nullable=False),
    Column("as_of", DateTime, nullable=False),  # the batch run's as-of
    Column("window_end", DateTime, nullable=False),  # outcomes observed over [as_of, window_end)
    Column("partial", Boolean, nullable=False),
    Column("monitored_as_of", DateTime, nullable=False),  # the newer export's as-of
    Column("monitored_at", DateTime, nullable=False),  # wall clock of the monitor run
    Column("scored", Integer, nullable=False),
    Column("matched", Integer, nullable=False),
    Column("outcome", JSON, nullable=False),  # RunOutcome.to_dict()
    Column("drift", JSON, nullable=False),  # DriftReport.to_dict()
    Column("mlflow_run_id", String(64), nullable=True),
)

_runs = table(
    "score_runs",
    column("run_id"),
    column("status"),
    column("as_of", DateTime),
    column("published_seq"),
    column("started_at", DateTime),
)
_scores = table(
    "scores",
    column("run_id"),
    column("entity_kind"),
    column("entity_id"),
    column("probability", Float),
    column("tier"),
    column("model_name"),
    column("model_version"),
)


@dataclass(frozen=True)
class PublishedRun:
    """One task of one published batch run (a run scoring both tasks gives two)."""

    run_id: str
    task: str
    as_of: datetime
    model_name: str
    model_version: str

    def as_mapping(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "task": self.task,
            "as_of": self.as_of,
            "model_name": self.model_name,
            "model_version": self.model_version,
        }


def run_export_sha256(engine: Engine, run_id: str) -> str | None:
    """The content sha256 of the export batch run ``run_id`` scored
    (``features.contract.fingerprint``), or None when it was not recorded (a run of an earlier
    release, or not a folder)."""
    if "export_sha256" not in {c["name"] for c in inspect(engine).get_columns("score_runs")}:
        return None  # a database no release recording it has written to yet
    query = select(column("export_sha256")).select_from(table("score_runs"))
    with engine.connect() as conn:
        found = conn.execute(query.where(column("run_id") == run_id)).scalar_one_or_none()
    return None if found is None else str(found)


def create_store_engine(url: str) -> Engine:
    """An engine on the scores database at ``url`` (SQLite gets a busy timeout, like serving's)."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    if make_url(url).get_backend_name() == "sqlite":
        return create_engine(url, connect_args={"timeout": 30})
    return create_engine(url, pool_pre_ping=True)


def create_monitoring_schema(engine: Engine) -> None:
    """Create ``monitoring_results`` if missing (idempotent)."""
    metadata.create_all(engine)


def published_runs(engine: Engine, *, stored: bool = False) -> list[PublishedRun]:
    """Every published batch run and task, in publication order; with ``stored``, then the
    backfill runs ``score`` stored without publishing (``serving.store``), as started.

    Raises ``UserError`` when the database has no scores tables (nothing was ever scored).
    """
    if not inspect(engine).has_table("score_runs"):
        raise UserError(
            f"{engine.url.render_as_string(hide_password=True)}: no batch runs "
            "(run `salesradar score` first)"
        )
    query = (
        select(
            _runs.c.run_id,
            _runs.c.as_of,
            _scores.c.entity_kind,
            _scores.c.model_name,
            _scores.c.model_version,
        )
        .join(_scores, _scores.c.run_id == _runs.c.run_id)
        .where(_runs.c.status.in_(("published", "stored") if stored else ("published",)))
        .group_by(
            _runs.c.run_id,
            _runs.c.as_of,
            _runs.c.published_seq,
            _runs.c.started_at,
            _scores.c.entity_kind,
            _scores.c.model_name,
            _scores.c.model_version,
        )
        # Stored runs have no publication number: after the published ones (portably, as SQLite
        # sorts nulls first and PostgreSQL last).
        .order_by(
            _runs.c.published_seq.is_(None),
            _runs.c.published_seq,
            _runs.c.started_at,
            _scores.c.entity_kind,
        )
    )
    with engine.connect() as conn:
        return [
            PublishedRun(
                run_id=row.run_id,
                task=ENTITY_TASKS[row.entity_kind],
                as_of=row.as_of,
                model_name=row.model_name,
                model_version=str(row.model_version),
            )
            for row in conn.execute(query)
        ]


def run_scores(engine: Engine, run: PublishedRun) -> pd.DataFrame:
    """``entity_id, probability, tier`` of one run and task, by entity id."""
    kind = next(k for k, t in ENTITY_TASKS.items() if t == run.task)
    query = (
        select(_scores.c.entity_id, _scores.c.probability, _scores.c.tier)
        .where(
            _scores.c.run_id == run.run_id,
            _scores.c.entity_kind == kind,
            _scores.c.model_name == run.model_name,
            _scores.c.model_version == run.model_version,
        )
        .order_by(_scores.c.entity_id)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return pd.DataFrame(rows, columns=["entity_id", "probability", "tier"])


def json_safe(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by None, recursively.

    PostgreSQL's JSON type rejects the ``NaN`` token Python writes, and a metric that is undefined
    (ROC AUC with one class) is unknown, which JSON spells null.
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return value


def save_result(engine: Engine, values: dict[str, Any]) -> None:
    """Replace the result of ``values["run_id"], values["task"]`` in one transaction.

    JSON columns are stored through ``json_safe`` (NaN becomes null).
    """
    values = {
        **values,
        "outcome": json_safe(values["outcome"]),
        "drift": json_safe(values["drift"]),
    }
    with engine.begin() as conn:
        conn.execute(
            delete(monitoring_results).where(
                monitoring_results.c.run_id == values["run_id"],
                monitoring_results.c.task == values["task"],
            )
        )
        conn.execute(monitoring_results.insert().values(**values))


def load_results(engine: Engine) -> pd.DataFrame:
    """Every stored monitoring result, by batch as-of then task."""
    query = select(monitoring_results).order_by(
        monitoring_results.c.as_of, monitoring_results.c.task
    )
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(query).mappings().all())
