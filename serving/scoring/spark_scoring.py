"""Batch scoring inside Spark: the served unit scores every partition of the scoring table.

The scoring table stays on the cluster (``features.compute.snapshots.snapshot_query`` run by the
export's Spark session); ``mapInPandas`` sends each Arrow batch through exactly the steps of the
DuckDB path (``serving.scoring.batch_rows``): typing (``normalise_frame``), the API's attribute
reading (``read_attributes``), the derived BTYD features, then ``score_entities`` with the model's
reasons. The scored rows are written to Parquet under ``<runs_dir>/<run_id>/<task>``; only the
publish step reads them back on this machine, in Arrow batches, into the scores database.
One pass over the table: each partition's scored rows carry its attribute notes (``notes``, JSON,
on the first row of each chunk), summed here from the written Parquet (``read_attribute_notes``).
The served model reaches Spark's Python workers as a Spark broadcast of this process's verified
copy (serialised from memory, never read from an untrusted file), so each worker process loads it
once, not once per task; the workers' imports are made once per executor by
``features.compute.engines.spark.daemon`` (``spark.python.daemon.module``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow.dataset as ds
from pyspark.core.broadcast import Broadcast
from pyspark.sql import DataFrame

from features.compute.snapshots import normalise_frame, snapshot_query
from features.contract.export import Export
from features.contract.times import to_naive_utc
from features.definitions.btyd import add_btyd_features, is_btyd_feature
from features.definitions.registry import FeatureSpec
from serving.champions.served import ServedModel
from serving.protocols import Explain
from serving.scoring.batch_rows import RowContext, read_attributes, score_rows
from serving.scoring.entity_scores import entity_kind
from serving.settings import Settings
from serving.store.database import ScoreRow
from serving.wiring import model_specs

# What each partition returns: a ScoreRow's per-entity fields (reasons as JSON text); the
# run's constants (kind, model, as-of) are added back when the rows are published.
SCORED_FIELDS = ("entity_id", "owner_id", "probability", "score", "tier", "value", "reasons")
# ``notes``: a chunk's attribute notes (attribute -> warning code -> rows) as JSON on its first
# row, NULL on the others; summed on the driver, so the notes need no second pass over the table.
NOTES_FIELD = "notes"
SCORED_SCHEMA = (
    "entity_id string, owner_id string, probability double, score long, tier string, "
    f"value double, reasons string, {NOTES_FIELD} string"
)
SHADOW_SCHEMA = "entity_id string, probability double"
PartitionStep = Callable[[Iterator[pd.DataFrame]], Iterator[pd.DataFrame]]


def _computed_specs(served: ServedModel) -> list[FeatureSpec]:
    """The model's specs the feature query computes (the BTYD ones are derived afterwards)."""
    return [s for s in model_specs(served.model) if not is_btyd_feature(s.name)]


def _prepared(
    chunk: pd.DataFrame, served: ServedModel
) -> tuple[pd.DataFrame, dict[str, dict[str, int]]]:
    """A raw chunk of the scoring table as the DuckDB path feeds the model, and its notes."""

    table = normalise_frame(chunk.drop(columns=["cutoff"]), _computed_specs(served))
    table["value"] = table["value"].astype("float64")
    table, notes = read_attributes(table, served.model, served.task)
    return add_btyd_features(table, getattr(served.model, "btyd", None)), notes


def _scorer(
    model: Broadcast[ServedModel], as_of: datetime, settings: Settings, explain: Explain
) -> PartitionStep:
    """Each partition's chunks scored by ``serving.scoring.batch``'s own row scoring, each
    chunk's attribute notes on its first row (``NOTES_FIELD``)."""

    def score(chunks: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        served = model.value  # loaded once per worker process (Spark keeps broadcast values)
        for chunk in chunks:
            table, notes = _prepared(chunk, served)
            # Display fields and last activity are joined on the driver (read_scored_rows).
            rows = score_rows(served, table, as_of=as_of, settings=settings, explain=explain)
            records = [{f: getattr(row, f) for f in SCORED_FIELDS} for row in rows]
            frame = pd.DataFrame(records, columns=list(SCORED_FIELDS))
            frame["reasons"] = [json.dumps(r) for r in frame["reasons"]]
            frame["value"] = frame["value"].astype("Float64")  # None -> NULL, not NaN
            # Notes count rows of this chunk, so a chunk with notes has a first row.
            frame[NOTES_FIELD] = [json.dumps(notes) if notes else None] + [None] * (len(frame) - 1)
            yield frame

    return score


def read_attribute_notes(out: str) -> dict[str, dict[str, int]]:
    """Per attribute and warning code, the rows read otherwise than written: the ``notes`` of
    the chunks ``score_task_on_spark`` wrote to ``out``, summed (only that column is read)."""
    notes: dict[str, dict[str, int]] = {}
    column = ds.dataset(out, format="parquet").to_table(
        columns=[NOTES_FIELD], filter=ds.field(NOTES_FIELD).is_valid()
    )
    for text in column[NOTES_FIELD].to_pylist():
        for attribute, codes in json.loads(text).items():
            counts = notes.setdefault(attribute, {})
            for code, rows in codes.items():
                counts[code] = counts.get(code, 0) + int(rows)
    return notes


@contextmanager
def _broadcast(export: Export, served: ServedModel) -> Iterator[Broadcast[ServedModel]]:
    """``served`` broadcast to the export's Spark session's workers, destroyed on exit."""
    session = export.con.session  # type: ignore[attr-defined]
    model = session.sparkContext.broadcast(served)
    try:
        yield model
    finally:
        model.destroy()


@contextmanager
def _scoring_table(export: Export, served: ServedModel, *, as_of: datetime) -> Iterator[DataFrame]:
    """The raw scoring table of ``served``'s task as of ``as_of`` (features from events strictly
    before it, with ``served``'s vocabulary and specs), a lazy Spark frame for the ``with``
    block. Not cached: the one scoring pass reads it once."""
    with snapshot_query(
        export,
        task=served.task,
        vocabulary=served.model.vocabulary,
        specs=_computed_specs(served),
        with_label=False,
        cutoffs=[to_naive_utc(as_of, what="as_of")],
        horizon=timedelta(0),
        ordered=False,  # the run is written unordered: the store ranks by score, then entity id
    ) as query:
        yield export.con.execute(query).frame  # type: ignore[attr-defined]


def score_task_on_spark(
    export: Export,
    *,
    served: ServedModel,
    as_of: datetime,
    settings: Settings,
    explain: Explain,
    out: str,
) -> dict[str, dict[str, int]]:
    """Score every entity of ``served.task`` eligible at ``as_of`` inside the export's Spark
    session and write the rows to Parquet at ``out`` (a folder; replaced if present).

    Features come from events strictly before ``as_of``, as on DuckDB. Returns the attribute
    notes (attribute -> warning code -> rows), as ``serving.scoring.batch_rows.read_attributes``
    counts them, read back from ``out``. One ``mapInPandas`` pass over the table.
    """
    with _scoring_table(export, served, as_of=as_of) as table, _broadcast(export, served) as model:
        scored = table.mapInPandas(_scorer(model, as_of, settings, explain), SCORED_SCHEMA)
        # Written in the partitions' order: the store ranks by score then entity id, so a
        # global sort (a sampling job and a shuffle) would buy nothing.
        scored.write.mode("overwrite").parquet(out)
    return read_attribute_notes(out)


def _prober(model: Broadcast[ServedModel]) -> PartitionStep:
    """Each partition's (entity id, calibrated probability) by the broadcast model: the DuckDB
    path's shadow scoring (``serving.scoring.shadow.shadow_probabilities``) applied to one chunk."""

    def probabilities(chunks: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        served = model.value  # loaded once per worker process
        for chunk in chunks:
            table, _ = _prepared(chunk, served)
            scored = np.asarray(served.model.predict_proba(table), dtype=float)
            yield pd.DataFrame({"entity_id": table["entity_id"].astype(str), "probability": scored})

    return probabilities


def shadow_on_spark(export: Export, *, served: ServedModel, as_of: datetime, out: str) -> None:
    """Score the challenger ``served`` on every entity of its task eligible at ``as_of`` inside
    the export's Spark session (its own vocabulary and specs, features from events strictly
    before ``as_of``), and write (entity_id, probability) to Parquet at ``out`` (a folder;
    replaced if present). Nothing but the written rows reaches the driver
    (``read_shadow_probabilities``)."""
    with _scoring_table(export, served, as_of=as_of) as table, _broadcast(export, served) as model:
        scored = table.mapInPandas(_prober(model), SHADOW_SCHEMA)
        scored.write.mode("overwrite").parquet(out)


def read_shadow_probabilities(out: str) -> Iterator[tuple[str, float]]:
    """The (entity id, probability) rows ``shadow_on_spark`` wrote to ``out``, in Arrow
    batches."""
    for batch in ds.dataset(out, format="parquet").to_batches():
        columns = batch.to_pydict()
        yield from zip(columns["entity_id"], columns["probability"], strict=True)


def read_scored_rows(
    out: str,
    *,
    served: ServedModel,
    as_of: datetime,
    tiers: dict[str, int],
    context: RowContext,
) -> Iterator[ScoreRow]:
    """The rows ``score_task_on_spark`` wrote to ``out``, read in Arrow batches, as store rows
    with ``context``'s display fields and last activity; each row's tier is counted into
    ``tiers``. Per-feature contributions are not carried back from Spark (``detail`` None), so
    "what changed" between Spark runs is the approximate top-reasons form (``exact`` false)."""
    kind = entity_kind(served.task)
    for batch in ds.dataset(out, format="parquet").to_batches(columns=list(SCORED_FIELDS)):
        for record in batch.to_pylist():
            tiers[record["tier"]] = tiers.get(record["tier"], 0) + 1
            record["reasons"] = json.loads(record["reasons"])
            yield ScoreRow(
                **record,
                entity_kind=kind,
                model_name=served.name,
                model_version=served.version,
                as_of=as_of,
                display=context.display_of(record["entity_id"]),
                last_activity_at=context.last_activity.get(record["entity_id"]),
            )
