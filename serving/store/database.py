"""The scores database: batch runs written under their own id and published atomically.

``ScoreStore`` works on any SQLAlchemy URL; the default is an embedded SQLite file in WAL mode
(readers never block the nightly writer), PostgreSQL through ``postgresql+psycopg://``. Rows of a
run are committed in chunks while the run is invisible; ``publish`` flips the one-row pointer in a
single transaction. A crash (even SIGKILL) before that leaves the previous run published; the
abandoned rows are removed when the next run begins. One batch writer at a time is enforced by
the scoring lock (``serving.store.run_lock``), taken by ``serving.scoring.batch`` around all of the
writing.

Retention: after a publish the batch keeps the newest ``keep`` published runs (``prune_runs``),
at least the published one and the one before it, which "what changed" compares against. A list
page can be pinned to any kept run by its ``run_id``, so paging never mixes two runs.

Backfill: a run whose as-of precedes the published run's is stored, not published, unless the
caller says so (``publish(over_later=True)``): ``monitor`` judges it, reps never see it.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any, Literal

import numpy as np
from sqlalchemy import (
    Connection,
    Engine,
    Select,
    and_,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.schema import CreateIndex

from features.contract.tasks import EntityKind
from features.errors import UserError
from serving.store.tables import (
    ADDED_RUN_COLUMNS,
    ADDED_SCORE_COLUMNS,
    RANK_INDEXES,
    list_order,
    metadata,
    published_run,
    run_features,
    score_details,
    score_runs,
    scores,
    shadow_runs,
    shadow_scores,
)

logger = logging.getLogger(__name__)

ShadowStatus = Literal["scored", "failed", "skipped"]  # a run's shadow challenger (shadow_runs)
WRITE_CHUNK_ROWS = 5_000
COUNT_CACHE_ENTRIES = 4_096
# The published run and the one before it: "what changed" (``latest_with_previous``) needs both.
MIN_KEEP_RUNS = 2
# A run's shadow challenger rows go with the run (abandoned or pruned).
SHADOW_TABLES = (shadow_scores, shadow_runs)
_RUN_ID = re.compile(r"[0-9a-f]{32}")  # uuid4().hex, as begin_run makes them


class UnknownRun(LookupError):
    """A ``run_id`` that names no published run (never was, not yet published, or removed)."""


@dataclass(frozen=True)
class PrunedRuns:
    """What ``prune_runs`` removed: published runs and their score rows."""

    runs: int
    rows: int


@dataclass(frozen=True)
class Publication:
    """What ``publish`` did with a run: published, or stored unpublished because the published
    run ``later_run_id`` has the later as-of ``later_as_of`` (naive UTC) — a backfill."""

    run_id: str
    published: bool
    later_run_id: str | None = None
    later_as_of: datetime | None = None


@dataclass(frozen=True)
class FeatureInfo:
    """One model feature as "what changed" names it: ``label`` is the short label of its
    description, ``unit`` formats its values (``features.model.reasons.format_value``)."""

    name: str
    unit: str
    label: str
    family: str


@dataclass(frozen=True)
class ScoreDetail:
    """Every feature's exact contribution to one entity's score, and the entity's values.

    ``contributions``: log-odds per feature in the run's feature order, then the bias (length
    features + 1), summing to ``raw_margin``, the model's raw log-odds (float64, computed before
    the contributions are stored as float32). ``numbers``: numeric feature values (NaN for a
    missing or categorical one); ``levels``: categorical values by feature (None: missing).
    """

    raw_margin: float
    contributions: np.ndarray
    numbers: np.ndarray
    levels: dict[str, str | None]


@dataclass(frozen=True)
class RunDetail:
    """An entity's ``ScoreDetail`` in one run, with the run's features and model."""

    detail: ScoreDetail
    features: tuple[FeatureInfo, ...]
    model_name: str
    model_version: str


@dataclass(frozen=True)
class ScoreRow:
    """One entity's score in one run; ``value`` is expected value or value at risk.

    ``display``: the configured export columns (``{column: value}``; None in rows written
    before they existed); ``last_activity_at``: the latest order (customers) or touch (leads)
    strictly before ``as_of``, naive UTC (None: none). ``detail`` is written to
    ``score_details`` (None: not recorded).
    """

    entity_kind: EntityKind
    entity_id: str
    owner_id: str | None
    probability: float
    score: int
    tier: str
    value: float | None
    reasons: list[dict[str, Any]]
    model_name: str
    model_version: str
    as_of: datetime
    display: dict[str, Any] | None = None
    last_activity_at: datetime | None = None
    detail: ScoreDetail | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class StoredScore(ScoreRow):
    run_id: str = ""
    published_at: datetime | None = None


@dataclass(frozen=True)
class ListedScore(StoredScore):
    """A list row: the stored score and the entity's score and tier in the run published just
    before the listed one (None when it was not scored there, or there is no such run)."""

    previous_score: int | None = None
    previous_tier: str | None = None


@dataclass(frozen=True)
class ScorePage:
    """One page of a run's ranked scores.

    ``run_id`` is the run read (None: nothing published); ``previous_run_id`` the run published
    just before it (None: there is none, or retention removed it), against which each item's
    ``previous_score`` / ``previous_tier`` were read. ``published_at`` and ``as_of`` are the
    run's (naive UTC).
    """

    items: list[ListedScore]
    total: int
    run_id: str | None
    previous_run_id: str | None = None
    published_at: datetime | None = None
    as_of: datetime | None = None
    filters: dict[str, Any] = field(default_factory=dict)


class ScoresDatabaseUnreachable(UserError):
    """The scores database does not answer (one line: the setting, the URL without password)."""


def create_store_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get WAL, a busy timeout and their folder created."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # NORMAL is durable across application crashes in WAL mode (only power loss can drop
        # the last commits, never corrupt), and it makes bulk writes several times faster.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


_BLOB = np.dtype("<f4")  # little-endian float32: half the bytes of float64, same on any host


def _blob(values: np.ndarray) -> bytes:
    return np.asarray(values, dtype=_BLOB).tobytes()


def _unblob(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype=_BLOB).astype(np.float64)


def _detail_row(run_id: str, row: ScoreRow, detail: ScoreDetail) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "entity_kind": row.entity_kind,
        "entity_id": row.entity_id,
        "raw_margin": float(detail.raw_margin),
        "contributions": _blob(detail.contributions),
        "numbers": _blob(detail.numbers),
        "levels": detail.levels,
    }


def _chunks(rows: Iterable[ScoreRow], size: int) -> Iterator[list[ScoreRow]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _row_to_stored(row: Any) -> StoredScore:
    return StoredScore(
        entity_kind=row.entity_kind,
        entity_id=row.entity_id,
        owner_id=row.owner_id,
        probability=row.probability,
        score=row.score,
        tier=row.tier,
        value=row.value,
        reasons=list(row.reasons),
        model_name=row.model_name,
        model_version=row.model_version,
        as_of=row.as_of,
        display=row.display,
        last_activity_at=row.last_activity_at,
        run_id=row.run_id,
        published_at=row.published_at,
    )


_SCORE_COLUMNS = (*scores.c, score_runs.c.published_at)


def _latest_two() -> Select[Any]:
    """An entity's scores in the published run and the run published before, newest first.

    Built once with bound parameters: constructing the statement on every GET cost more than
    running it.
    """
    current = select(published_run.c.run_id).where(published_run.c.slot == 1)
    current_seq = (
        select(score_runs.c.published_seq)
        .where(score_runs.c.run_id == current.scalar_subquery())
        .scalar_subquery()
    )
    return (
        select(*_SCORE_COLUMNS, score_runs.c.published_seq, current_seq.label("current_seq"))
        .join(score_runs, score_runs.c.run_id == scores.c.run_id)
        .where(
            scores.c.entity_kind == bindparam("kind"),
            scores.c.entity_id == bindparam("entity_id"),
            score_runs.c.status == "published",
            score_runs.c.published_seq <= current_seq,
        )
        .order_by(score_runs.c.published_seq.desc())
        .limit(2)
    )


_LATEST_TWO = _latest_two()


def _published(conn: Connection, run_id: str) -> Any:
    """``run_id``'s ``score_runs`` row (``published_seq``, ``published_at``, ``as_of``); raises
    ``UnknownRun`` unless it is a published run (malformed ids never query)."""
    if _RUN_ID.fullmatch(run_id) is not None:
        run = conn.execute(
            select(score_runs.c.published_seq, score_runs.c.published_at, score_runs.c.as_of).where(
                score_runs.c.run_id == run_id, score_runs.c.status == "published"
            )
        ).first()
        if run is not None:
            return run
    raise UnknownRun("no published run has this run_id")


def _previous_run_id(conn: Connection, published_seq: int) -> str | None:
    """The run published just before the run numbered ``published_seq`` (None: none kept)."""
    return conn.execute(
        select(score_runs.c.run_id)
        .where(score_runs.c.status == "published", score_runs.c.published_seq < published_seq)
        .order_by(score_runs.c.published_seq.desc())
        .limit(1)
    ).scalar_one_or_none()


_PREVIOUS = scores.alias("previous")


def _row_to_listed(row: Any) -> ListedScore:
    stored = _row_to_stored(row)
    return ListedScore(
        **stored.__dict__, previous_score=row.previous_score, previous_tier=row.previous_tier
    )


def _delete_runs(conn: Connection, run_ids: Sequence[str]) -> int:
    """Delete ``run_ids`` with their scores, details, features and shadow rows inside the
    caller's transaction ``conn``; returns the score rows deleted."""
    deleted = conn.execute(delete(scores).where(scores.c.run_id.in_(run_ids))).rowcount
    for table in (score_details, run_features, *SHADOW_TABLES):
        conn.execute(delete(table).where(table.c.run_id.in_(run_ids)))
    conn.execute(delete(score_runs).where(score_runs.c.run_id.in_(run_ids)))
    return int(deleted)


class ScoreStore:
    """Runs, scores and the published pointer in one database (see module docstring)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._counts: dict[tuple[Any, ...], int] = {}  # (run, kind, filters) -> rows
        # (run, kind) -> features and model; a published run's never change.
        self._features: dict[tuple[str, str], tuple[tuple[FeatureInfo, ...], str, str]] = {}

    @classmethod
    def from_url(cls, url: str, *, setting: str = "SALESRADAR_SCORES_URL") -> ScoreStore:
        """A store on ``url`` (the value of the environment variable ``setting``), checked to
        answer: raises ``ScoresDatabaseUnreachable`` (one line naming ``setting`` and the URL
        without its password) when no connection can be made, instead of a driver traceback."""
        engine = create_store_engine(url)
        try:
            with engine.connect():
                pass
        except DBAPIError as exc:
            engine.dispose()
            shown = engine.url.render_as_string(hide_password=True)
            reason = str(exc.orig).splitlines()[0] if str(exc.orig) else type(exc.orig).__name__
            if engine.url.password:  # a driver never echoes it, but never print it at all
                reason = reason.replace(str(engine.url.password), "***")
            raise ScoresDatabaseUnreachable(
                f"{setting} {shown}: cannot connect to the scores database ({reason})"
            ) from None
        return cls(engine)

    def create_schema(self) -> None:
        """Create missing tables, columns and indexes (idempotent).

        A database written by an earlier release gains the new tables, the nullable
        ``ADDED_SCORE_COLUMNS`` of ``scores`` and ``ADDED_RUN_COLUMNS`` of ``score_runs`` (its
        rows then read them as None) and new indexes.
        """
        metadata.create_all(self.engine)
        added = ((scores, ADDED_SCORE_COLUMNS), (score_runs, ADDED_RUN_COLUMNS))
        inspector = inspect(self.engine)
        present = {t.name: {c["name"] for c in inspector.get_columns(t.name)} for t, _ in added}
        with self.engine.begin() as conn:
            for table, names in added:
                for name in (n for n in names if n not in present[table.name]):
                    kind = table.c[name].type.compile(dialect=self.engine.dialect)
                    conn.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {name} {kind}"))
            for index in RANK_INDEXES:
                # IF NOT EXISTS rather than checkfirst: SQLAlchemy cannot reflect expression
                # indexes on SQLite, so checkfirst warns on every start.
                conn.execute(CreateIndex(index, if_not_exists=True))

    # --- writing -------------------------------------------------------------------------
    def begin_run(
        self, *, as_of: datetime, started_at: datetime, export_sha256: str | None = None
    ) -> str:
        """Start an invisible run for scores as of ``as_of`` of the export whose content is
        ``export_sha256`` (``features.contract.fingerprint``; None: not recorded); drop runs
        abandoned by crashes."""
        run_id = uuid.uuid4().hex
        with self.engine.begin() as conn:
            abandoned = select(score_runs.c.run_id).where(score_runs.c.status == "writing")
            stale = [r for (r,) in conn.execute(abandoned)]
            if stale:
                logger.warning("removing %d abandoned run(s): %s", len(stale), stale)
                _delete_runs(conn, stale)
            conn.execute(
                score_runs.insert().values(
                    run_id=run_id,
                    status="writing",
                    as_of=as_of,
                    started_at=started_at,
                    export_sha256=export_sha256,
                )
            )
        return run_id

    def abandon_run(self, run_id: str) -> None:
        """Delete the unpublished run ``run_id`` and everything written under it, in one
        transaction (a run found unfit to publish); ``ValueError`` if it is not unpublished."""
        with self.engine.begin() as conn:
            status = conn.execute(
                select(score_runs.c.status).where(score_runs.c.run_id == run_id)
            ).scalar_one_or_none()
            if status != "writing":
                raise ValueError(f"run {run_id} is not an unpublished run")
            _delete_runs(conn, [run_id])

    def write_run_features(
        self,
        run_id: str,
        kind: EntityKind,
        *,
        features: Sequence[FeatureInfo],
        model_name: str,
        model_version: str,
    ) -> None:
        """Record the feature order of ``run_id``'s ``score_details`` of ``kind`` and its model."""
        with self.engine.begin() as conn:
            conn.execute(
                run_features.insert().values(
                    run_id=run_id,
                    entity_kind=kind,
                    model_name=model_name,
                    model_version=model_version,
                    features=[f.__dict__ for f in features],
                )
            )

    def write_scores(self, run_id: str, rows: Iterable[ScoreRow]) -> int:
        """Append rows (and their ``detail``, when recorded) to an unpublished run, committing
        in chunks; returns the number of rows written."""
        written = 0
        for chunk in _chunks(rows, WRITE_CHUNK_ROWS):
            payload = []
            details = []
            for row in chunk:
                fields = {**row.__dict__, "run_id": run_id}
                detail = fields.pop("detail")
                payload.append(fields)
                if detail is not None:
                    details.append(_detail_row(run_id, row, detail))
            with self.engine.begin() as conn:
                conn.execute(scores.insert(), payload)
                if details:
                    conn.execute(score_details.insert(), details)
            written += len(chunk)
        return written

    def write_shadow(
        self,
        run_id: str,
        kind: EntityKind,
        *,
        model_name: str,
        model_version: str | None,
        status: ShadowStatus,
        reason: str | None = None,
        probabilities: Iterable[tuple[str, float]] = (),
    ) -> int:
        """Record ``run_id``'s shadow challenger of ``kind``: its status and, when scored, its
        (entity id, probability) rows, in one transaction (a failure leaves no shadow rows).
        Returns the rows written. Never read by lists, pages or the API (``tables``)."""
        rows = [
            {"run_id": run_id, "entity_kind": kind, "entity_id": e, "probability": float(p)}
            for e, p in probabilities
        ]
        with self.engine.begin() as conn:
            for start in range(0, len(rows), WRITE_CHUNK_ROWS):
                conn.execute(shadow_scores.insert(), rows[start : start + WRITE_CHUNK_ROWS])
            conn.execute(
                shadow_runs.insert().values(
                    run_id=run_id,
                    entity_kind=kind,
                    model_name=model_name,
                    model_version=model_version,
                    status=status,
                    reason=None if reason is None else reason[:2000],
                    row_count=len(rows),
                )
            )
        return len(rows)

    def publish(
        self, run_id: str, *, published_at: datetime, over_later: bool = False
    ) -> Publication:
        """Make ``run_id`` the published run, in one transaction, unless it is a backfill.

        A backfill is a run whose as-of precedes the published run's: unless ``over_later``, it
        is kept as a stored run (status ``stored``: judged by ``monitor``, pruned like published
        runs, never listed nor read as a previous score) and the pointer stays where it is, so
        reps keep seeing the newer scores. Equal as-ofs publish (a rescore, a new model).
        ``published_at`` (naive UTC) stamps the publish. Returns what became of the run;
        ``ValueError`` if ``run_id`` is not an unpublished run.
        """
        with self.engine.begin() as conn:
            count = conn.execute(
                select(func.count()).select_from(scores).where(scores.c.run_id == run_id)
            ).scalar_one()
            later = conn.execute(
                select(score_runs.c.run_id, score_runs.c.as_of)
                .join(published_run, published_run.c.run_id == score_runs.c.run_id)
                .where(
                    published_run.c.slot == 1,
                    score_runs.c.as_of
                    > select(score_runs.c.as_of)
                    .where(score_runs.c.run_id == run_id)
                    .scalar_subquery(),
                )
            ).first()
            if later is not None and not over_later:
                values: dict[str, Any] = {"status": "stored", "row_count": count}
            else:
                last_seq = conn.execute(select(func.max(score_runs.c.published_seq))).scalar_one()
                values = {
                    "status": "published",
                    "published_at": published_at,
                    "published_seq": (last_seq or 0) + 1,
                    "row_count": count,
                }
            changed = conn.execute(
                update(score_runs)
                .where(and_(score_runs.c.run_id == run_id, score_runs.c.status == "writing"))
                .values(**values)
            ).rowcount
            if changed != 1:
                raise ValueError(f"run {run_id} is not an unpublished run")
            if later is not None and values["status"] == "stored":
                logger.info("stored run %s (%d scores) unpublished: backfill", run_id, count)
                return Publication(
                    run_id, published=False, later_run_id=later.run_id, later_as_of=later.as_of
                )
            moved = conn.execute(
                update(published_run).where(published_run.c.slot == 1).values(run_id=run_id)
            ).rowcount
            if moved == 0:
                conn.execute(published_run.insert().values(slot=1, run_id=run_id))
        logger.info("published run %s (%d scores)", run_id, count)
        return Publication(run_id, published=True)

    def prune_runs(self, *, keep: int) -> PrunedRuns:
        """Delete published runs older than the newest ``keep`` ones, with their scores, and
        stored backfill runs (``publish``) beyond the ``keep`` started last.

        ``keep`` is at least ``MIN_KEEP_RUNS`` (``ValueError`` otherwise); the run the pointer
        names is never deleted, nor is any run still being written (that is ``begin_run``'s
        business). One transaction per run, so a crash mid-way leaves whole runs only. Call it
        under the scoring lock, after ``publish``. SQLite reuses the freed pages, so the file
        stops growing rather than shrinking.
        """
        if keep < MIN_KEEP_RUNS:
            raise ValueError(f"keep must be at least {MIN_KEEP_RUNS}, got {keep}")
        published = select(score_runs.c.run_id).where(score_runs.c.status == "published")
        stored = select(score_runs.c.run_id).where(score_runs.c.status == "stored")
        with self.engine.connect() as conn:
            doomed = [
                r
                for (r,) in conn.execute(
                    published.order_by(score_runs.c.published_seq.desc()).offset(keep)
                )
            ]
            doomed += [
                r
                for (r,) in conn.execute(
                    stored.order_by(score_runs.c.started_at.desc()).offset(keep)
                )
            ]
            pointer = set(conn.execute(select(published_run.c.run_id)).scalars())
            # Oldest first, so a crash mid-way has removed the oldest whole runs.
            doomed = [r for r in reversed(doomed) if r not in pointer]
        rows = 0
        for run_id in doomed:
            with self.engine.begin() as conn:
                rows += _delete_runs(conn, [run_id])
        if doomed:
            logger.info("removed %d old run(s) (%d scores), kept %d", len(doomed), rows, keep)
        return PrunedRuns(runs=len(doomed), rows=rows)

    # --- reading -------------------------------------------------------------------------
    def published_run_id(self) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(
                select(published_run.c.run_id).where(published_run.c.slot == 1)
            ).scalar_one_or_none()

    def history(self, kind: EntityKind, entity_id: str, *, limit: int = 10) -> list[StoredScore]:
        """Scores of one entity in published runs up to the current one, newest first.

        Only published runs count, so an unfinished run never shows up as "the latest score".
        """
        current_seq = (
            select(score_runs.c.published_seq)
            .join(published_run, published_run.c.run_id == score_runs.c.run_id)
            .scalar_subquery()
        )
        query = (
            select(*_SCORE_COLUMNS)
            .join(score_runs, score_runs.c.run_id == scores.c.run_id)
            .where(
                scores.c.entity_kind == kind,
                scores.c.entity_id == entity_id,
                score_runs.c.status == "published",
                score_runs.c.published_seq <= current_seq,
            )
            .order_by(score_runs.c.published_seq.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [_row_to_stored(row) for row in conn.execute(query)]

    def latest_with_previous(
        self, kind: EntityKind, entity_id: str
    ) -> tuple[StoredScore | None, StoredScore | None]:
        """The entity's score in the published run and its score in the run published before
        the one it last appeared in, in one query (one snapshot of the pointer)."""
        with self.engine.connect() as conn:
            rows = conn.execute(_LATEST_TWO, {"kind": kind, "entity_id": entity_id}).all()
        if not rows or rows[0].published_seq != rows[0].current_seq:
            return None, None  # not scored in the published run
        previous = _row_to_stored(rows[1]) if len(rows) > 1 else None
        return _row_to_stored(rows[0]), previous

    def run_detail(self, kind: EntityKind, entity_id: str, run_id: str) -> RunDetail | None:
        """The entity's recorded contributions and values in ``run_id`` with the run's features
        and model (None: not recorded, e.g. a run written before they were)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(score_details).where(
                    score_details.c.run_id == run_id,
                    score_details.c.entity_kind == kind,
                    score_details.c.entity_id == entity_id,
                )
            ).first()
            if row is None:
                return None
            key = (run_id, kind)
            if key not in self._features:
                saved = conn.execute(
                    select(run_features).where(
                        run_features.c.run_id == run_id, run_features.c.entity_kind == kind
                    )
                ).one()
                features = tuple(FeatureInfo(**f) for f in saved.features)
                self._features[key] = (features, saved.model_name, saved.model_version)
        features, model_name, model_version = self._features[key]
        detail = ScoreDetail(
            raw_margin=row.raw_margin,
            contributions=_unblob(row.contributions),
            numbers=_unblob(row.numbers),
            levels=dict(row.levels),
        )
        return RunDetail(detail, features, model_name, model_version)

    def latest(self, kind: EntityKind, entity_id: str) -> StoredScore | None:
        """The entity's score in the published run (None if it was not scored in that run)."""
        query = (
            select(*_SCORE_COLUMNS)
            .join(score_runs, score_runs.c.run_id == scores.c.run_id)
            .join(published_run, published_run.c.run_id == scores.c.run_id)
            .where(scores.c.entity_kind == kind, scores.c.entity_id == entity_id)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else _row_to_stored(row)

    def run_scored(self, run_id: str, kind: EntityKind) -> bool:
        """Whether run ``run_id`` holds any score of ``kind`` (False: that task was not scored
        in it), whatever the owners, tiers or values."""
        query = (
            select(scores.c.entity_id)
            .where(scores.c.run_id == run_id, scores.c.entity_kind == kind)
            .limit(1)
        )
        with self.engine.connect() as conn:
            return conn.execute(query).first() is not None

    def list_scores(
        self,
        kind: EntityKind,
        *,
        owner_ids: Sequence[str] | None = None,
        tiers: Sequence[str] | None = None,
        min_value: float | None = None,
        rank_by: Literal["value", "probability"] = "value",
        limit: int = 50,
        offset: int = 0,
        run_id: str | None = None,
    ) -> ScorePage:
        """One page of a run's scores, ranked (ties broken by entity id).

        The published run by default; ``run_id`` pins a published run (current or kept by
        retention), so the pages of one listing all come from the run its first page read.
        Each item carries its score and tier in the run published just before the one read
        (``ScorePage.previous_run_id``), joined in the page's own query. Raises ``UnknownRun``
        when ``run_id`` names no published run.
        """
        conditions = [scores.c.entity_kind == kind]
        if owner_ids is not None:
            conditions.append(scores.c.owner_id.in_(list(owner_ids)))
        if tiers:
            conditions.append(scores.c.tier.in_(list(tiers)))
        if min_value is not None:
            conditions.append(scores.c.value >= min_value)
        with self.engine.connect() as conn:
            if run_id is None:
                # One snapshot of the pointer for every query, so count and page agree.
                run_id = conn.execute(
                    select(published_run.c.run_id).where(published_run.c.slot == 1)
                ).scalar_one_or_none()
                if run_id is None:
                    return ScorePage(items=[], total=0, run_id=None)
            run = _published(conn, run_id)
            previous_run_id = _previous_run_id(conn, run.published_seq)
            conditions.append(scores.c.run_id == run_id)
            # A published run never changes, so its counts per filter can be remembered.
            count_key = (
                run_id,
                kind,
                None if owner_ids is None else tuple(sorted(owner_ids)),  # () = nobody's book
                tuple(sorted(tiers)) if tiers else None,
                min_value,
            )
            total = self._counts.get(count_key)
            if total is None:
                total = conn.execute(
                    select(func.count()).select_from(scores).where(*conditions)
                ).scalar_one()
                if len(self._counts) >= COUNT_CACHE_ENTRIES:
                    self._counts.clear()
                self._counts[count_key] = total
            # The page is cut off the rank index first; only its rows then look up their
            # previous run's row (one primary-key lookup each), in the same query.
            page = (
                select(*_SCORE_COLUMNS)
                .join(score_runs, score_runs.c.run_id == scores.c.run_id)
                .where(*conditions)
                .order_by(*list_order(rank_by))
                .limit(limit)
                .offset(offset)
                .subquery("page")
            )
            previous = _PREVIOUS.c
            rows = conn.execute(
                select(
                    page,
                    previous.score.label("previous_score"),
                    previous.tier.label("previous_tier"),
                )
                .outerjoin(
                    _PREVIOUS,
                    and_(
                        previous.run_id == previous_run_id,
                        previous.entity_kind == page.c.entity_kind,
                        previous.entity_id == page.c.entity_id,
                    ),
                )
                .order_by(*list_order(rank_by, page.c))
            )
            items = [_row_to_listed(row) for row in rows]
        return ScorePage(
            items=items,
            total=total,
            run_id=run_id,
            previous_run_id=previous_run_id,
            published_at=run.published_at,
            as_of=run.as_of,
        )
