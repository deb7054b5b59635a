"""The rows a batch run stores, from a scoring table of one task: the API's attribute reading,
scores and reasons chunk by chunk, each row's contributions and its display context.

Shared by the DuckDB run (``serving.scoring.batch``) and the Spark one
(``serving.scoring.spark_scoring``, inside each partition), so neither imports the other for them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from features.compute.online import read_attribute_column
from features.compute.snapshots import build_scoring_table
from features.contract.export import Export
from features.contract.tasks import Task
from features.definitions.btyd import add_btyd_features
from features.definitions.registry import FeatureSpec
from serving.champions.served import ServedModel
from serving.protocols import Explain
from serving.scoring.entity_scores import entity_kind, score_entities
from serving.scoring.export_context import DisplayValue, read_display, read_last_activity
from serving.scoring.input_warnings import model_attributes, model_grouped_levels, model_levels
from serving.settings import Settings
from serving.store.database import FeatureInfo, ScoreDetail, ScoreRow
from serving.wiring import model_specs

CHUNK_ROWS = 20_000
Progress = Callable[[Task, int, int], None]  # task, rows done, rows total


def read_attributes(
    table: pd.DataFrame, model: object, task: Task
) -> tuple[pd.DataFrame, dict[str, dict[str, int]]]:
    """``table`` with each attribute column the model reads taken through the API's typing
    rule (``features.compute.online.read_attribute_column``), and per attribute the rows read
    otherwise than written, by warning code (attributes with none are left out)."""
    specs = {s.name: s for s in getattr(model, "feature_specs", ())}
    levels, grouped = model_levels(model), model_grouped_levels(model)
    notes: dict[str, dict[str, int]] = {}
    read = table.copy(deep=False)
    for name in sorted(model_attributes(task, model) & set(table.columns)):
        read[name], counts = read_attribute_column(
            specs[name].dtype, table[name], levels.get(name, ()), grouped=grouped.get(name, ())
        )
        if counts:
            notes[name] = counts
    return read, notes


def build_served_table(
    export: Export, served: ServedModel, *, as_of: datetime
) -> tuple[pd.DataFrame, dict[str, dict[str, int]]]:
    """``served``'s scoring table of ``export`` as of ``as_of`` (features from events strictly
    before it, with the model's own vocabulary and specs), its attributes read as the API reads
    them and the BTYD features added; with the attribute notes of ``read_attributes``."""
    table = build_scoring_table(
        export,
        task=served.task,
        as_of=as_of,
        vocabulary=served.model.vocabulary,
        specs=model_specs(served.model),
    )
    table, notes = read_attributes(table, served.model, served.task)
    return add_btyd_features(table, getattr(served.model, "btyd", None)), notes


def feature_infos(specs: Sequence[FeatureSpec]) -> tuple[FeatureInfo, ...]:
    """The run's feature list for "what changed", in the model's order."""
    return tuple(
        FeatureInfo(name=s.name, unit=s.unit, label=s.description.label, family=s.family)
        for s in specs
    )


def _details(
    chunk: pd.DataFrame, specs: Sequence[FeatureSpec], contributions: list[np.ndarray]
) -> list[ScoreDetail]:
    """Each row's contributions with its feature values (numbers and categorical levels)."""
    numbers = np.full((len(chunk), len(specs)), np.nan)
    levels: dict[str, list[object]] = {}
    for j, spec in enumerate(specs):
        if spec.dtype == "categorical":
            levels[spec.name] = chunk[spec.name].astype(object).tolist()
        else:
            numbers[:, j] = chunk[spec.name].to_numpy(dtype=float, na_value=np.nan)
    return [
        ScoreDetail(
            raw_margin=float(np.sum(row_contributions)),
            contributions=row_contributions,
            numbers=numbers[i],
            levels={name: _level(column[i]) for name, column in levels.items()},
        )
        for i, row_contributions in enumerate(contributions)
    ]


def _level(value: object) -> str | None:
    """A categorical cell as text; every kind of missing (None, NA, NaN) as None."""
    return None if value is None or value is pd.NA or value != value else str(value)


@dataclass(frozen=True)
class RowContext:
    """Per entity id: display fields and last order / touch (see
    ``serving.scoring.export_context``)."""

    display: dict[str, dict[str, DisplayValue]]
    last_activity: dict[str, datetime]
    shows_display: bool  # False: no display field for this task (rows store None)

    def display_of(self, entity_id: str) -> dict[str, DisplayValue] | None:
        """The entity's display fields ({} when it has none), None when the task shows none."""
        return self.display.get(entity_id, {}) if self.shows_display else None


NO_CONTEXT = RowContext(display={}, last_activity={}, shows_display=False)


def row_context(
    export: Export,
    task: Task,
    served: ServedModel,
    sources: list[tuple[str, str]],
    *,
    as_of: datetime,
) -> RowContext:
    """Display fields (``sources``: table, column) and last order / touch before ``as_of`` for
    every entity of ``task`` in ``export`` (either engine: the queries are the export's SQL)."""
    return RowContext(
        display=read_display(export, task, sources),
        last_activity=read_last_activity(export, task, served.model.vocabulary, as_of=as_of),
        shows_display=bool(sources),
    )


def score_rows(
    served: ServedModel,
    table: pd.DataFrame,
    *,
    as_of: datetime,
    settings: Settings,
    explain: Explain,
    context: RowContext = NO_CONTEXT,
    tiers: dict[str, int] | None = None,
    progress: Progress | None = None,
) -> Iterator[ScoreRow]:
    """The store's rows of ``table`` (one task's scoring table, features as of ``as_of``),
    scored ``CHUNK_ROWS`` at a time, with ``context``'s display fields and last activity
    (default: none); counts each row's tier into ``tiers`` when given and reports ``progress``
    (task, rows done, rows) after each chunk when given. Both engines' batch runs use it: the
    DuckDB run with all three, each Spark partition with none (its driver joins the context)."""
    tiers = {} if tiers is None else tiers
    thresholds = settings.tier_thresholds(served.task)
    kind = entity_kind(served.task)
    specs = model_specs(served.model)
    for start in range(0, len(table), CHUNK_ROWS):
        chunk = table.iloc[start : start + CHUNK_ROWS]
        scores = score_entities(
            served,
            chunk,
            entity_ids=chunk["entity_id"].astype(str).tolist(),
            values=chunk["value"].to_numpy(dtype=float, na_value=np.nan),
            thresholds=thresholds,
            explain=explain,
        )
        details = _details(chunk, specs, [s.contributions for s in scores])  # type: ignore[misc]
        owners = chunk["owner_id"].tolist()
        for score, owner, detail in zip(scores, owners, details, strict=True):
            tiers[score.tier] = tiers.get(score.tier, 0) + 1
            yield ScoreRow(
                entity_kind=kind,
                entity_id=score.entity_id,
                owner_id=None if owner is None or owner is pd.NA else str(owner),
                probability=score.probability,
                score=score.score,
                tier=score.tier,
                value=score.value,
                reasons=score.reasons,
                model_name=served.name,
                model_version=served.version,
                as_of=as_of,
                display=context.display_of(score.entity_id),
                last_activity_at=context.last_activity.get(score.entity_id),
                detail=detail,
            )
        if progress is not None:
            progress(served.task, min(start + CHUNK_ROWS, len(table)), len(table))
