"""Online scoring: validated request entities -> features as of ``as_of`` -> scores.

Each entity either gets a score or a list of field errors; one bad entity never fails the
batch. The route decides ``as_of`` and ``received_at``; nothing here reads a clock.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import numpy as np

from features.compute.online import OnlineEntity, OnlineInputError
from features.compute.rows import FeatureTable, concat_tables
from features.contract.tasks import TASK_TABLES, Task
from serving.api.schemas.requests import CustomerIn, EntityIn, FieldError, InvalidEntity, LeadIn
from serving.champions.served import ServedModel
from serving.protocols import Explain, FeatureFrameBuilder
from serving.scoring.entity_scores import EntityScore, score_entities
from serving.scoring.input_warnings import input_warnings
from serving.settings import Settings

logger = logging.getLogger(__name__)


class ScoringServices(Protocol):
    """What online scoring reads: the API passes its ``Services``, the MLflow model
    (``serving.champions.pyfunc``) its own, without the store, keys and metrics it has no use
    for."""

    @property
    def settings(self) -> Settings: ...
    @property
    def features(self) -> FeatureFrameBuilder: ...
    @property
    def explain(self) -> Explain: ...


@dataclass(frozen=True)
class Failure:
    """An entity not scored: its position, its id if valid, and its (field, message, type)s."""

    index: int
    entity_id: str | None
    errors: list[FieldError]

    def error_bodies(self) -> list[dict[str, str]]:
        """The errors as the API returns them, shaped like every 4xx item."""
        return [{"field": f, "message": m, "type": t} for f, m, t in self.errors]


def entity_id_of(entity: EntityIn) -> str:
    return entity.lead_id if isinstance(entity, LeadIn) else entity.customer_id  # type: ignore[attr-defined]


def _value_of(entity: EntityIn) -> float | None:
    if isinstance(entity, LeadIn):
        return entity.deal_size
    assert isinstance(entity, CustomerIn)
    return entity.annual_value


def to_entity_input(task: Task, entity: EntityIn) -> OnlineEntity:
    """The record and events in contract column names, as ``features.compute.online`` reads them."""
    tables = TASK_TABLES[task]
    record: dict[str, object] = {
        **entity.attributes,
        tables.key: entity_id_of(entity),
        "created_at": entity.created_at,
        "owner_id": entity.owner_id,
        "account_id": entity.account_id,
        tables.value_column: _value_of(entity),
    }
    # Validated events are already plain dicts of contract fields (``EventIn``); read-only here.
    return OnlineEntity(entity_id=entity_id_of(entity), record=record, events=entity.events)


def entity_warnings(
    served: ServedModel, entity: EntityIn, *, as_of: datetime
) -> list[dict[str, str]]:
    """The ``{field, code, message}`` warnings of one scored entity as of ``as_of``
    (``serving.scoring.input_warnings.input_warnings`` with the served model's vocabulary);
    the API and the MLflow model both report these."""
    return input_warnings(
        served.task,
        served.model,
        served.model.vocabulary,
        attributes=entity.attributes,
        events=entity.events,
        as_of=as_of,
    )


def check_as_of(as_of: datetime, *, received_at: datetime, skew: timedelta) -> list[FieldError]:
    """The field error for an ``as_of`` in the future (beyond clock skew), or none: the API
    refuses its request's, the MLflow model (``serving.champions.pyfunc``) a row's."""
    if as_of > received_at + skew:
        return [("as_of", "is in the future", "future_timestamp")]
    return []


def check_times(
    entity: EntityIn, *, as_of: datetime, received_at: datetime, skew: timedelta
) -> list[FieldError]:
    """Field errors for times in the future (beyond clock skew) or an entity created after as_of."""
    latest = received_at + skew
    errors = []
    if entity.created_at > latest:
        errors.append(("created_at", "is in the future", "future_timestamp"))
    elif entity.created_at > as_of:
        errors.append(
            ("created_at", "is after as_of: the entity did not exist yet", "created_after_as_of")
        )
    for position, event in enumerate(entity.events):
        if event["occurred_at"] > latest:
            errors.append(
                (f"events[{position}].occurred_at", "is in the future", "future_timestamp")
            )
    return errors


def _build_rows(
    services: ScoringServices, served: ServedModel, inputs: list[OnlineEntity], *, as_of: datetime
) -> tuple[FeatureTable | None, list[int], dict[int, FieldError]]:
    """Feature frame for ``inputs``; if the batch fails, isolate the entities that fail alone.

    Returns the frame of the entities that worked, their positions, and per failed position a
    (field relative to the entity, message, type); no message carries the input.
    """
    build = services.features
    try:
        frame = build(served.task, served.model, inputs, as_of=as_of)
        return frame, list(range(len(inputs))), {}
    except (OnlineInputError, ValueError):
        logger.info("batch feature build failed; retrying entity by entity", exc_info=True)
    frames, kept, failed = [], [], {}
    for position, entity in enumerate(inputs):
        try:
            frames.append(build(served.task, served.model, [entity], as_of=as_of))
            kept.append(position)
        except OnlineInputError as exc:
            failed[position] = (request_field(exc.field), exc.reason, "unreadable_value")
        except ValueError:
            logger.info("features could not be computed for one entity", exc_info=True)
            failed[position] = ("", "features could not be computed", "feature_error")
    return (concat_tables(frames) if frames else None), kept, failed


def request_field(feature_field: str) -> str:
    """``entities[0].record.industry`` -> ``attributes.industry`` (relative to the entity)."""
    _, _, rest = feature_field.partition(".")
    kind, _, name = rest.partition(".")
    if kind == "record":
        contract = {"created_at", "owner_id", "account_id", "annual_value"}
        # The export's expected_value column is the request's deal_value.
        if name == "expected_value":
            return "deal_value"
        return name if name in contract else f"attributes.{name}"
    return rest


def score_online(
    services: ScoringServices,
    served: ServedModel,
    items: Sequence[EntityIn | InvalidEntity],
    *,
    as_of: datetime,
    received_at: datetime,
    collection: str,
) -> list[EntityScore | Failure]:
    """Score ``items`` with ``served`` in request order; ``collection`` names the list in errors.

    The caller passes the model it read once, so a swap mid-request cannot mix two models.
    """
    task = served.task
    skew = timedelta(seconds=services.settings.future_skew_seconds)
    results: list[EntityScore | Failure | None] = [None] * len(items)
    seen: set[str] = set()
    valid: list[tuple[int, EntityIn]] = []
    for index, item in enumerate(items):
        prefix = f"{collection}[{index}]"
        if isinstance(item, InvalidEntity):
            errors = [(f"{prefix}.{f}" if f else prefix, m, t) for f, m, t in item.errors]
            results[index] = Failure(index, item.entity_id, errors)
            continue
        entity_id = entity_id_of(item)
        errors = check_times(item, as_of=as_of, received_at=received_at, skew=skew)
        if entity_id in seen:
            errors.append(
                (TASK_TABLES[task].key, "appears more than once in this request", "duplicate_id")
            )
        if errors:
            errors = [(f"{prefix}.{f}", m, t) for f, m, t in errors]
            results[index] = Failure(index, entity_id, errors)
            continue
        seen.add(entity_id)
        valid.append((index, item))
    if valid:
        inputs = [to_entity_input(task, entity) for _, entity in valid]
        frame, kept, failed = _build_rows(services, served, inputs, as_of=as_of)
        for position, (field, message, kind) in failed.items():
            index, entity = valid[position]
            path = f"{collection}[{index}]" + (f".{field}" if field else "")
            results[index] = Failure(index, entity_id_of(entity), [(path, message, kind)])
        if kept:
            entities = [valid[p][1] for p in kept]
            values = np.array([np.nan if (v := _value_of(e)) is None else v for e in entities])
            scored = score_entities(
                served,
                frame,
                entity_ids=[entity_id_of(e) for e in entities],
                values=values,
                thresholds=services.settings.tier_thresholds(task),
                explain=services.explain,
            )
            for position, score in zip(kept, scored, strict=True):
                results[valid[position][0]] = score
    return [r for r in results if r is not None]
