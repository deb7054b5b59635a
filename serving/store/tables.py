"""SQLAlchemy table definitions of the scores database (scores, runs, the published pointer, keys).

Publication protocol: a batch run writes its rows under a fresh ``run_id`` while
``score_runs.status`` is ``"writing"``; it becomes visible only when one transaction marks it
``"published"`` and moves the single row of ``published_run`` to it. Readers resolve the pointer
and read that run, so they see the previous complete run or the new one, never a mix.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
)

from features.contract.tables import MAX_ID_CHARS

# Entity and owner ids hold as many characters as the API and validation accept
# (``MAX_ID_CHARS``): one number, so every id accepted where it enters fits here.
metadata = MetaData()

score_runs = Table(
    "score_runs",
    metadata,
    Column("run_id", String(32), primary_key=True),
    Column("status", String(16), nullable=False),  # writing | published | stored (backfill)
    Column("as_of", DateTime, nullable=False),
    Column("started_at", DateTime, nullable=False),
    Column("published_at", DateTime, nullable=True),
    # Monotonic publication order: history and "previous score" follow it, not wall clocks.
    Column("published_seq", Integer, nullable=True, unique=True),
    Column("row_count", Integer, nullable=False, default=0),
    # Added after the first release (``ADDED_RUN_COLUMNS``): the scored export's content
    # (``features.contract.fingerprint``); null when not recorded, e.g. an export that is not a
    # folder.
    Column("export_sha256", String(64), nullable=True),
)

published_run = Table(
    "published_run",
    metadata,
    Column("slot", Integer, primary_key=True),  # always 1: one pointer
    Column("run_id", String(32), ForeignKey("score_runs.run_id"), nullable=False),
)

# Who holds the scoring lock (see ``serving.store.run_lock``): information for the message a second
# run prints, never the lock itself, so a row left by a crashed run blocks nothing.
scoring_lock = Table(
    "scoring_lock",
    metadata,
    Column("slot", Integer, primary_key=True),  # always 1: one batch writer per database
    Column("pid", Integer, nullable=False),
    Column("host", String(255), nullable=False),
    Column("started_at", DateTime, nullable=False),
)

scores = Table(
    "scores",
    metadata,
    Column("run_id", String(32), ForeignKey("score_runs.run_id"), primary_key=True),
    Column("entity_kind", String(16), primary_key=True),  # lead | customer
    Column("entity_id", String(MAX_ID_CHARS), primary_key=True),
    Column("owner_id", String(MAX_ID_CHARS), nullable=True),
    Column("probability", Float, nullable=False),
    Column("score", Integer, nullable=False),
    Column("tier", String(16), nullable=False),
    Column("value", Float, nullable=True),  # expected_value (leads) / value_at_risk (customers)
    Column("reasons", JSON, nullable=False),
    Column("model_name", String(255), nullable=False),
    Column("model_version", String(64), nullable=False),
    Column("as_of", DateTime, nullable=False),
    # Added after the first release (``ADDED_SCORE_COLUMNS``): null in rows written before.
    # The export columns named by SALESRADAR_DISPLAY_FIELDS, {column: value}.
    Column("display", JSON, nullable=True),
    # The latest order (customers) or touch (leads) strictly before as_of.
    Column("last_activity_at", DateTime, nullable=True),
    Index("ix_scores_entity", "entity_kind", "entity_id"),
    Index("ix_scores_run_owner", "run_id", "entity_kind", "owner_id"),
)


# Columns of ``scores`` that databases written by earlier releases lack: ``create_schema`` adds
# them (``serving.store.database``; nullable, so old rows read as "not recorded").
ADDED_SCORE_COLUMNS = ("display", "last_activity_at")
ADDED_RUN_COLUMNS = ("export_sha256",)  # of ``score_runs``, likewise

# Every feature's exact contribution per scored entity, so "what changed" decomposes a score
# change exactly (``serving.scoring.changes``). Blobs are little-endian float32 in the order of the
# run's ``run_features`` list: ``contributions`` has one more entry (the bias, last), ``numbers``
# holds numeric feature values (NaN: missing or categorical), ``levels`` the categorical ones by
# name. ``raw_margin`` is the float64 sum of the unrounded contributions: the model's raw log-odds.
score_details = Table(
    "score_details",
    metadata,
    Column("run_id", String(32), ForeignKey("score_runs.run_id"), primary_key=True),
    Column("entity_kind", String(16), primary_key=True),
    Column("entity_id", String(MAX_ID_CHARS), primary_key=True),
    Column("raw_margin", Float(precision=53), nullable=False),
    Column("contributions", LargeBinary, nullable=False),
    Column("numbers", LargeBinary, nullable=False),
    Column("levels", JSON, nullable=False),
)

# The feature list of each run and kind (what the blobs of ``score_details`` are in the order
# of), and the model that scored it: a different model means no decomposition.
run_features = Table(
    "run_features",
    metadata,
    Column("run_id", String(32), ForeignKey("score_runs.run_id"), primary_key=True),
    Column("entity_kind", String(16), primary_key=True),
    Column("model_name", String(255), nullable=False),
    Column("model_version", String(64), nullable=False),
    Column("features", JSON, nullable=False),  # [{name, unit, label, family}], model order
)


# The shadow challenger (``serving.scoring.shadow``): the registry's ``challenger`` version scored
# beside the champion in the same batch run (same as-of, same entities), kept apart from ``scores``
# so no list, page, digest, write-back file or ``/v1`` response can read it; ``salesradar monitor``
# compares the two on matured outcomes. One row per run and kind says what happened: ``scored``,
# ``failed`` (``reason``: why; the champion's run was published all the same) or ``skipped``.
shadow_runs = Table(
    "shadow_runs",
    metadata,
    Column("run_id", String(32), ForeignKey("score_runs.run_id"), primary_key=True),
    Column("entity_kind", String(16), primary_key=True),
    Column("model_name", String(255), nullable=False),
    Column("model_version", String(64), nullable=True),  # None: the version was never resolved
    Column("status", String(16), nullable=False),  # scored | failed | skipped
    Column("reason", String(2000), nullable=True),
    Column("row_count", Integer, nullable=False, default=0),
)

# The challenger's calibrated probability per entity of a shadow run: nothing else (no tier,
# value, reasons or contributions), since only the monitor's comparison reads it.
shadow_scores = Table(
    "shadow_scores",
    metadata,
    Column("run_id", String(32), ForeignKey("score_runs.run_id"), primary_key=True),
    Column("entity_kind", String(16), primary_key=True),
    Column("entity_id", String(MAX_ID_CHARS), primary_key=True),
    Column("probability", Float, nullable=False),
)


def list_order(rank_by: str, columns: Any = scores.c) -> list[Any]:
    """The ranked lists' order: by value (missing last), or by probability; ties by entity id.

    ``value IS NULL`` first instead of ``NULLS LAST``: the same order on SQLite and PostgreSQL,
    and one expression both can index (SQLite's CREATE INDEX has no NULLS LAST). ``columns``
    are ``scores``' by default, or those of a subquery selecting them.
    """
    value = [columns.value.is_(None), columns.value.desc()]
    if rank_by == "value":
        return [*value, columns.probability.desc(), columns.entity_id]
    return [columns.probability.desc(), *value, columns.entity_id]


# A list page is read straight off one of these, in rank order, instead of sorting the whole
# published run (~90k customers) on every request.
RANK_INDEXES = (
    Index("ix_scores_rank_value", scores.c.run_id, scores.c.entity_kind, *list_order("value")),
    Index(
        "ix_scores_rank_probability",
        scores.c.run_id,
        scores.c.entity_kind,
        *list_order("probability"),
    ),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", String(32), primary_key=True),  # public part, shown in listings
    Column("secret_sha256", String(64), nullable=False),
    Column("role", String(16), nullable=False),
    Column("owner_id", String(MAX_ID_CHARS), nullable=True),
    Column("label", String(255), nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("revoked_at", DateTime, nullable=True),
)
