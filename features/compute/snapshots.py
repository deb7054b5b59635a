"""As-of snapshots: training sets over many cutoffs and scoring tables as of one time.

Every feature of a row is computed from events strictly before the row's cutoff (see
``features.compute.sql``); labels look only at [cutoff, cutoff + horizon) (see
``features.compute.labels``). No function here defaults a time: cutoffs and ``as_of`` are always
passed in.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

import pandas as pd

from features.compute.labels import spine_sql
from features.compute.sql import ENTITY_CODE, FeatureQuery, compile_feature_query
from features.contract.export import Export, quote
from features.contract.tasks import TASK_TABLES, Task
from features.contract.times import to_naive_utc
from features.definitions.btyd import is_btyd_feature
from features.definitions.registry import (
    FeatureSpec,
    engineered_definitions,
    feature_specs,
    select_attributes,
)
from features.definitions.vocabulary import (
    Vocabulary,
    distinct_event_texts,
    normalise_event_type,
    raw_event_types,
    type_coding,
)

logger = logging.getLogger(__name__)

# From this many cutoffs on, the timeline plan beats one join of every cutoff to all history.
TIMELINE_MIN_CUTOFFS = 3

# pandas' own text dtype (missing = NaN); RareLevelGrouper turns it into categories.
CATEGORICAL_DTYPE = "str"


@dataclass
class TrainingSet:
    """Rows ``entity_id, cutoff, label, value, owner_id, <features>`` and the feature specs."""

    frame: pd.DataFrame
    feature_names: list[str]
    specs: list[FeatureSpec] = field(default_factory=list)
    task: Task = Task.LEADS
    horizon: timedelta = timedelta(days=90)
    vocabulary: Vocabulary | None = None
    # Export attributes not used as features, as ("table.column", why): train lists them.
    unused_attributes: list[tuple[str, str]] = field(default_factory=list)


def build_feature_query(
    task: Task, export: Export, specs: Sequence[FeatureSpec], vocabulary: Vocabulary
) -> FeatureQuery:
    """Resolve specs against an export: engineered definitions over ``vocabulary`` (coded
    against the export's own raw type names) plus static columns by table.

    An attribute the export lacks reads as missing for every row, as the API reads an
    attribute a request leaves out (logged at INFO; ``missing_attributes`` lists them for the
    caller to report).
    Raises ``KeyError`` naming a non-attribute spec that is not engineered.
    """
    tables = TASK_TABLES[task]
    by_name = {d.name: d for d in engineered_definitions(task, vocabulary)}
    entity_attrs = {a.name for a in export.attributes.get(tables.entity_table, ())}
    account_attrs = {a.name for a in export.attributes.get("accounts", ())}
    definitions, statics = [], []
    for spec in specs:
        if spec.name in by_name:
            definitions.append(by_name[spec.name])
        elif spec.name == tables.value_column or spec.name in entity_attrs:
            statics.append((spec, "ent", spec.name))
        elif spec.name in account_attrs:
            statics.append((spec, "acc", spec.name))
        elif spec.family == "attribute":
            # INFO, not WARNING: the caller reports it once to the user (batch score's summary
            # via ``missing_attributes``, the API's ``missing_attribute`` warning).
            logger.info(
                "attribute %s is not in export %s: read as unknown", spec.name, export.source
            )
            statics.append((spec, "", spec.name))
        else:
            raise KeyError(
                f"feature {spec.name!r} is neither engineered nor in export {export.source}"
            )
    text_columns = export.event_text_columns.get(tables.events_table, ())
    coding = type_coding(vocabulary, raw_event_types(export, task=task))
    directions = [
        (raw, normalise_event_type(raw))
        for raw in distinct_event_texts(export, task=task, column="direction")
    ]
    return FeatureQuery(task, definitions, statics, tuple(text_columns), coding, directions)


def _computed_here(specs: Sequence[FeatureSpec]) -> list[FeatureSpec]:
    """``specs`` without the derived BTYD features: ``features.definitions.btyd.add_btyd_features``
    adds those to the finished table, from parameters the model carries."""
    return [s for s in specs if not is_btyd_feature(s.name)]


def missing_attributes(export: Export, task: Task, specs: Sequence[FeatureSpec]) -> list[str]:
    """Attribute specs (a model's) with no column in the export's entity or account table."""
    tables = TASK_TABLES[Task(task)]
    present = {tables.value_column} | {
        a.name
        for table in (tables.entity_table, "accounts")
        for a in export.attributes.get(table, ())
    }
    return [s.name for s in specs if s.family == "attribute" and s.name not in present]


def _raw_activity_types(export: Export, task: Task, vocabulary: Vocabulary) -> list[str]:
    """The export's spellings of the vocabulary's purchase types (churn eligibility, labels)."""
    coding = type_coding(vocabulary, raw_event_types(export, task=task))
    return [raw for raw, code, _ in coding if 1 <= code <= vocabulary.purchase_span]


def normalise_frame(frame: pd.DataFrame, specs: Sequence[FeatureSpec]) -> pd.DataFrame:
    """Numeric features float64, categoricals pandas ``str``; NaN marks a missing value in both."""
    for spec in specs:
        column = frame[spec.name]
        if column.dtype == ("float64" if spec.dtype == "numeric" else CATEGORICAL_DTYPE):
            continue
        if spec.dtype == "numeric":
            frame[spec.name] = column.astype("float64")
        else:
            frame[spec.name] = column.astype(CATEGORICAL_DTYPE)
    return frame


def _register_cutoffs(export: Export, cutoffs: Sequence[datetime], horizon: timedelta) -> str:
    name = f"_cutoffs_{uuid.uuid4().hex}"
    frame = pd.DataFrame(
        {
            "cutoff": pd.to_datetime(list(cutoffs)).astype("datetime64[us]"),
            "horizon_end": pd.to_datetime([c + horizon for c in cutoffs]).astype("datetime64[us]"),
        }
    )
    export.con.register(f"{name}_frame", frame)
    export.con.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM {name}_frame")
    export.con.unregister(f"{name}_frame")
    return name


@contextmanager
def snapshot_query(
    export: Export,
    *,
    task: Task,
    cutoffs: Sequence[datetime],
    horizon: timedelta,
    vocabulary: Vocabulary,
    with_label: bool,
    specs: Sequence[FeatureSpec],
    ordered: bool = True,
) -> Iterator[str]:
    """The feature query of the eligible entities at ``cutoffs`` (``entity_id, cutoff, label
    or not, value, owner_id, <specs>``), valid inside the ``with`` block: its spine is a
    temporary table of ``export.con`` (with the entity code ``eid`` computed once), dropped on
    exit. Lets an engine run the query where it likes (``_snapshot`` collects it; Spark batch
    scoring keeps it on the cluster). Rows come ordered by cutoff, then entity id, unless
    ``ordered`` is False (for callers that sort or write the rows themselves). One cutoff is
    written into the query as a literal (``compile_feature_query``'s ``cutoff``)."""
    carry = ["label", "value", "owner_id"] if with_label else ["owner_id", "value"]
    cutoffs_table = _register_cutoffs(export, cutoffs, horizon)
    spine = f"_spine_{uuid.uuid4().hex}"
    try:
        eligible = spine_sql(
            task,
            cutoffs=cutoffs_table,
            activity_types=_raw_activity_types(export, task, vocabulary),
            with_label=with_label,
        )
        export.con.execute(
            f"CREATE TEMP TABLE {spine} AS SELECT *, {ENTITY_CODE} FROM ({eligible}) AS eligible"
        )
        yield compile_feature_query(
            build_feature_query(task, export, specs, vocabulary),
            spine=spine,
            carry=carry,
            timeline=len(cutoffs) >= TIMELINE_MIN_CUTOFFS,
            cutoff=cutoffs[0] if len(set(cutoffs)) == 1 else None,
            ordered=ordered,
        )
    finally:
        export.con.execute(f"DROP TABLE IF EXISTS {quote(spine)}")
        export.con.execute(f"DROP TABLE IF EXISTS {quote(cutoffs_table)}")


def _snapshot(
    export: Export, specs: Sequence[FeatureSpec], query: AbstractContextManager[str]
) -> pd.DataFrame:
    """The rows of a ``snapshot_query``, collected and typed."""
    with query as sql:
        frame = export.con.execute(sql).df()
    frame["value"] = frame["value"].astype("float64")
    frame["cutoff"] = frame["cutoff"].astype("datetime64[us]")
    return normalise_frame(frame, specs)


def build_feature_table(
    export: Export,
    *,
    task: Task | str,
    pairs: pd.DataFrame,
    vocabulary: Vocabulary,
    specs: Sequence[FeatureSpec] | None = None,
    timeline: bool | None = None,
) -> pd.DataFrame:
    """Features for given ``(entity_id, cutoff)`` pairs, whatever their eligibility.

    ``timeline`` picks the query plan (see ``compile_feature_query``); both give the same values
    and by default it follows the number of distinct cutoffs.

    Rows ``entity_id, cutoff, <features>`` ordered by cutoff, then entity id; pairs whose entity
    is not in the export are dropped. Each row uses only events strictly before its cutoff.
    """
    task = Task(task)
    tables = TASK_TABLES[task]
    specs = _computed_here(specs) if specs is not None else feature_specs(task, vocabulary, export)
    frame = pd.DataFrame(
        {
            "entity_id": pairs["entity_id"].astype(object),
            "cutoff": pd.to_datetime(pairs["cutoff"]).astype("datetime64[us]"),
        }
    )
    spine = f"_spine_{uuid.uuid4().hex}"
    export.con.register(f"{spine}_frame", frame)
    try:
        export.con.execute(
            f"CREATE TEMP TABLE {spine} AS SELECT *, {ENTITY_CODE} FROM ("
            "SELECT DISTINCT p.entity_id, p.cutoff, e.created_at "
            f"FROM {spine}_frame p JOIN {quote(tables.entity_table)} e "
            f"ON e.{quote(tables.key)} = p.entity_id) AS pairs"
        )
        if timeline is None:
            timeline = frame["cutoff"].nunique() >= TIMELINE_MIN_CUTOFFS
        query = compile_feature_query(
            build_feature_query(task, export, specs, vocabulary),
            spine=spine,
            carry=[],
            timeline=timeline,
        )
        result = export.con.execute(query).df()
    finally:
        export.con.unregister(f"{spine}_frame")
        export.con.execute(f"DROP TABLE IF EXISTS {quote(spine)}")
    result["cutoff"] = result["cutoff"].astype("datetime64[us]")
    return normalise_frame(result, specs)


def build_training_set(
    export: Export,
    *,
    task: Task | str,
    cutoffs: Sequence[datetime],
    horizon: timedelta,
    vocabulary: Vocabulary,
    specs: Sequence[FeatureSpec] | None = None,
) -> TrainingSet:
    """One row per entity eligible at each cutoff, with its label over [cutoff, cutoff + horizon).

    The caller picks cutoffs whose label window is complete (``default_cutoffs`` does). Features
    use events strictly before each cutoff; ``specs`` defaults to
    ``feature_specs(task, vocabulary, export)``; churn's activity (eligibility, silent-churn
    label) is the vocabulary's purchase kind.
    Rows are ordered by cutoff, then entity id, whatever the order of the input rows.
    """
    task = Task(task)
    if horizon <= timedelta(0):
        raise ValueError(f"horizon must be positive, got {horizon}")
    moments = sorted({to_naive_utc(c, what="cutoff") for c in cutoffs})
    unused: list[tuple[str, str]] = []
    if specs is None:
        attributes, unused = select_attributes(task, export, vocabulary)
        specs = feature_specs(task, vocabulary) + attributes
    specs = _computed_here(specs)
    query = snapshot_query(
        export,
        task=task,
        vocabulary=vocabulary,
        specs=specs,
        cutoffs=moments,
        horizon=horizon,
        with_label=True,
    )
    frame = _snapshot(export, specs, query)
    frame["label"] = frame["label"].astype("int64")
    logger.info("training set %s: %d rows over %d cutoffs", task, len(frame), len(moments))
    names = [s.name for s in specs]
    return TrainingSet(frame, names, list(specs), task, horizon, vocabulary, unused)


def label_counts(
    export: Export,
    *,
    task: Task | str,
    cutoffs: Sequence[datetime],
    horizon: timedelta,
    vocabulary: Vocabulary,
) -> pd.DataFrame:
    """Rows ``cutoff, rows, positives``: how many entities are eligible at each cutoff and how
    many of them have label 1 over [cutoff, cutoff + horizon), without computing a feature.

    The same spine and labels as ``build_training_set`` (so the counts are those of the training
    set it would build); cutoffs where nobody is eligible have no row, as in a training set.
    """
    task = Task(task)
    moments = sorted({to_naive_utc(c, what="cutoff") for c in cutoffs})
    table = _register_cutoffs(export, moments, horizon)
    try:
        spine = spine_sql(
            task,
            cutoffs=table,
            activity_types=_raw_activity_types(export, task, vocabulary),
            with_label=True,
        )
        frame = export.con.execute(
            "SELECT cutoff, count(*) AS rows, sum(label) AS positives "
            f"FROM ({spine}) GROUP BY cutoff ORDER BY cutoff"
        ).df()
    finally:
        export.con.execute(f"DROP TABLE IF EXISTS {quote(table)}")
    frame["cutoff"] = frame["cutoff"].astype("datetime64[us]")
    return frame.astype({"rows": "int64", "positives": "int64"})


def build_scoring_table(
    export: Export,
    *,
    task: Task | str,
    as_of: datetime,
    vocabulary: Vocabulary,
    specs: Sequence[FeatureSpec] | None = None,
) -> pd.DataFrame:
    """``entity_id, owner_id, value, <features>`` for every entity eligible at ``as_of``."""
    task = Task(task)
    specs = _computed_here(specs) if specs is not None else feature_specs(task, vocabulary, export)
    query = snapshot_query(
        export,
        task=task,
        vocabulary=vocabulary,
        specs=specs,
        cutoffs=[to_naive_utc(as_of, what="as_of")],
        horizon=timedelta(0),
        with_label=False,
        # Sorted here by entity id, so the query need not order its rows.
        ordered=False,
    )
    frame = _snapshot(export, specs, query)
    return frame.drop(columns=["cutoff"]).sort_values("entity_id", ignore_index=True)


@dataclass(frozen=True)
class CutoffSpacing:
    """How far apart default cutoffs are: ``count`` calendar months or ``count`` days.

    Months fall on the 1st at 00:00 UTC; days at 00:00 UTC. ``str()`` gives ``"1m"``, ``"7d"``.
    """

    count: int
    unit: Literal["d", "m"]

    def __post_init__(self) -> None:
        if self.count < 1 or self.unit not in ("d", "m"):
            raise ValueError(f"cutoff spacing must be a positive count of 'd' or 'm', got {self}")

    def __str__(self) -> str:
        return f"{self.count}{self.unit}"


MONTHLY = CutoffSpacing(1, "m")


def _first_of_next_month(moment: datetime) -> datetime:
    start = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if start == moment:
        return start
    return _add_months(start, 1)


def _add_months(first_of_month: datetime, months: int) -> datetime:
    index = first_of_month.year * 12 + first_of_month.month - 1 + months
    return first_of_month.replace(year=index // 12, month=index % 12 + 1)


def _first_midnight(moment: datetime) -> datetime:
    start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return start if start == moment else start + timedelta(days=1)


def default_cutoffs(
    export: Export,
    *,
    task: Task | str,
    horizon: timedelta,
    as_of: datetime,
    every: CutoffSpacing = MONTHLY,
) -> list[datetime]:
    """Cutoffs ``every`` months (00:00 UTC on the 1st) or days (00:00 UTC), from the first at or
    after the first entity's creation up to the last one whose label window
    ``[cutoff, cutoff + horizon)`` ends at or before ``as_of``."""
    task = Task(task)
    as_of = to_naive_utc(as_of, what="as_of")
    table = TASK_TABLES[task].entity_table
    rows = export.con.execute(f"SELECT min(created_at) FROM {quote(table)}").fetchall()
    first = rows[0][0] if rows else None
    if first is None:
        return []
    monthly = every.unit == "m"
    start = _first_of_next_month(first) if monthly else _first_midnight(first)
    cutoffs = []
    cutoff, step = start, 0
    while cutoff + horizon <= as_of:
        cutoffs.append(cutoff)
        step += every.count
        cutoff = _add_months(start, step) if monthly else start + timedelta(days=step)
    return cutoffs
