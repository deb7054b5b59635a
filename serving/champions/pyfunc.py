"""The registered MLflow model as the whole scorer: raw CRM entities in, scores and reasons out.

``EntityScorer`` is an ``mlflow.pyfunc.PythonModel`` that scores one row per entity (its fields,
attributes, events and ``as_of``) through the API's own path: the request schemas validate the
entity (``serving.api.schemas.requests``), ``serving.scoring.request_scoring.score_online`` builds
the online features, scores, calibrates, tiers and explains, exactly as ``POST
/v1/{leads,customers}/score`` does. A bad row yields an ``error`` (the API's per-entity error
bodies, as JSON text) and the others are still scored. Logged "from code"
(``serving/champions/pyfunc_entry.py``) with the ``features`` and ``serving`` packages as
``code_paths``: no pickle of ours (``training.tracking``).

Time: every row names its ``as_of``; events at or after it never count. ``predict`` is an entry
point (MLflow's server calls it per request), so it reads the service's clock once per call as
the time the rows were received, which refuses future timestamps as the API does.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlflow.pyfunc.model import PythonModel, PythonModelContext
from pydantic import TypeAdapter, ValidationError

from features.contract.tasks import TASK_TABLES, Task
from features.model.artifact_contract import SCORING_MODEL_ARTIFACT
from features.model.reasons import explain
from features.model.scorer_columns import COLLECTION, RESPONSE_VALUE, output_columns
from features.model.scoring_model import ScoringModel
from serving.api.schemas.fields import Timestamp
from serving.api.schemas.requests import (
    CustomerItem,
    EntityIn,
    InvalidEntity,
    LeadItem,
    error_message,
)
from serving.champions.served import ServedModel
from serving.protocols import Explain, FeatureFrameBuilder
from serving.scoring.entity_scores import EntityScore
from serving.scoring.request_scoring import (
    Failure,
    check_as_of,
    entity_warnings,
    score_online,
)
from serving.settings import Settings
from serving.wiring import build_online_features, utc_now

_AS_OF = TypeAdapter(Timestamp)
# Columns read apart from the entity's own fields; every other column with a value goes to
# the API's schema as a field of the entity, so a column the model has no input for is refused
# as the API refuses an unknown field, not ignored. Only reaches this code when ``predict`` is
# called without MLflow's schema check: through ``PyFuncModel.predict`` (load_model, ``mlflow
# models serve``, spark_udf) MLflow drops such a column first, with only a warning
# (docs/training.md, "Extra input columns").
_NOT_ENTITY_FIELDS = frozenset({"as_of", "attributes", "events", "events_json"})
_ITEMS: dict[Task, TypeAdapter[Any]] = {
    Task.LEADS: TypeAdapter(LeadItem),
    Task.CHURN: TypeAdapter(CustomerItem),
}


@dataclass(frozen=True)
class PyfuncServices:
    """What ``score_online`` reads (``serving.scoring.request_scoring.ScoringServices``); see
    ``load_context``."""

    settings: Settings
    features: FeatureFrameBuilder
    explain: Explain


class EntityScorer(PythonModel):
    """Scores raw entities with the API's code; see the module docstring for the columns.

    ``model_config``: ``task`` (``leads`` / ``churn``), ``name`` (registered model name),
    ``run_id`` and ``sha256`` (the scoring model's files, verified before parsing). Tier
    thresholds come from the same ``SALESRADAR_*`` environment variables as the API's.
    """

    def load_context(self, context: PythonModelContext) -> None:
        """Load the scoring model from the model directory's own artifact (skops, trusted types
        only, files verified against their sha256); raises what ``ScoringModel.load`` raises."""
        config = context.model_config
        task = Task(config["task"])
        model = ScoringModel.load(
            Path(context.artifacts[SCORING_MODEL_ARTIFACT]), expected_sha256=config["sha256"]
        )
        self.served = ServedModel(
            task=task,
            model=model,
            name=str(config["name"]),
            version=str(config["run_id"]),
            sha256=dict(config["sha256"]),
            loaded_at=utc_now(),
            source="mlflow-pyfunc",
            run_id=str(config["run_id"]),
        )
        explain_fn: Explain = explain
        self.services = PyfuncServices(
            settings=Settings(), features=build_online_features, explain=explain_fn
        )

    def predict(
        self,
        context: PythonModelContext,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        """One output row per input row, in order (``output_columns``)."""
        return score_rows(self.services, self.served, model_input, received_at=utc_now())


def score_rows(
    services: PyfuncServices, served: ServedModel, rows: pd.DataFrame, *, received_at: datetime
) -> pd.DataFrame:
    """Score ``rows`` (``input_columns``) as the API scores a request, grouped by ``as_of``.

    ``received_at`` (naive UTC) bounds every timestamp as the API's clock does. A row whose
    ``as_of``, ``attributes`` or events cannot be read, or that the API would refuse (its
    request schema, run on the row's fields and any other column holding a value, then the
    API's checks of times and ids), gets its ``error``: the API's JSON list of ``{field,
    message, type}`` with the same messages and types, fields named ``rows[i]...``.
    """
    task = served.task
    skew = timedelta(seconds=services.settings.future_skew_seconds)
    records = [_plain(r) for r in rows.to_dict(orient="records")]
    out: list[dict[str, Any]] = [{} for _ in records]
    groups: dict[datetime, list[tuple[int, EntityIn | InvalidEntity]]] = {}
    for row, record in enumerate(records):
        read = _read_row(task, record, row, received_at=received_at, skew=skew)
        if isinstance(read, Failure):
            out[row] = _failed(task, read)
        else:
            as_of, item = read
            groups.setdefault(as_of, []).append((row, item))
    for as_of, members in groups.items():
        items = [item for _, item in members]
        results = score_online(
            services, served, items, as_of=as_of, received_at=received_at, collection=COLLECTION
        )
        for (row, item), result in zip(members, results, strict=True):
            if isinstance(result, Failure):
                out[row] = _failed(task, _renumber(result, row))
            else:
                out[row] = _scored(task, served, item, result, as_of=as_of)
    return _frame(task, out)


def _frame(task: Task, out: list[dict[str, Any]]) -> pd.DataFrame:
    """The output rows as a frame whose missing values are null on every route out.

    Numbers are pandas' nullable ``Float64`` / ``Int64``; text is an ``object`` Series holding
    ``str`` or ``None`` (from a bare list or ``pd.array``, pandas 3 infers its ``str`` dtype,
    whose missing value is ``NaN``). So a refused row's numbers are ``pd.NA`` and its text
    ``None``, which ``DataFrame.to_dict`` gives as ``None`` and ``to_json`` as ``null``.
    ``NaN`` instead would reach MLflow's scoring server (``DataFrame.to_dict(orient="records")``
    then ``json.dump``) as the bare token ``NaN``: invalid JSON for strict parsers
    (``JSON.parse``, Go's ``encoding/json``). A refused row's dict holds only its id and error:
    the other columns are read with ``.get``, never left to pandas, which fills a missing key
    with ``NaN`` even in an ``object`` frame.
    """
    numbers = {"probability": "Float64", "score": "Int64", RESPONSE_VALUE[task]: "Float64"}
    return pd.DataFrame(
        {
            name: pd.Series([row.get(name) for row in out], dtype=numbers.get(name, object))
            for name in output_columns(task)
        },
        columns=output_columns(task),
    )


def _plain(value: Any) -> Any:
    """A cell as a JSON client would send it: numpy scalars and arrays as Python values, a
    pandas/NumPy missing value as None, datetimes as ISO 8601 text (naive taken as UTC)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_plain(v) for v in value]
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if (
        value is None
        or value is pd.NaT
        or value is pd.NA
        or (isinstance(value, float) and math.isnan(value))
    ):
        return None
    return value


def _read_row(
    task: Task, record: Mapping[str, Any], row: int, *, received_at: datetime, skew: timedelta
) -> tuple[datetime, EntityIn | InvalidEntity] | Failure:
    """The row's as_of and its entity validated by the API's schema, or the row's Failure
    (an ``as_of`` the API would refuse for its request, in the future included)."""
    key = TASK_TABLES[task].key
    entity_id = record.get(key) if isinstance(record.get(key), str) else None
    errors: list[tuple[str, str, str]] = []
    as_of: datetime | None = None
    try:
        as_of = _AS_OF.validate_python(record.get("as_of"))
    except ValidationError as exc:
        # The API's own error for its request's as_of (same message and type).
        error = exc.errors()[0]
        errors.append(("as_of", error_message(error), error["type"]))
    else:
        errors += check_as_of(as_of, received_at=received_at, skew=skew)
    attributes = _json_field(record, "attributes", dict, "a JSON object", errors, default={})
    events = record.get("events")
    if record.get("events_json") is not None and events is not None:
        errors.append(("events_json", "send events or events_json, not both", "both_events"))
    elif record.get("events_json") is not None:
        events = _json_field(record, "events_json", list, "a JSON list", errors, default=[])
    if errors or as_of is None:
        prefix = f"{COLLECTION}[{row}]"
        return Failure(row, entity_id, [(f"{prefix}.{f}", m, t) for f, m, t in errors])
    # A missing cell (None, NaN, NaT) is a field not sent: a frame cannot tell null from absent.
    entity = {
        name: value
        for name, value in record.items()
        if name not in _NOT_ENTITY_FIELDS and value is not None
    }
    entity |= {"attributes": attributes, "events": events if events is not None else []}
    return as_of, _ITEMS[task].validate_python(entity)


def _json_field(
    record: Mapping[str, Any],
    name: str,
    kind: type,
    wanted: str,
    errors: list[tuple[str, str, str]],
    *,
    default: Any,
) -> Any:
    """``record[name]`` parsed if it is text, as is if already ``kind``; None gives ``default``."""
    value = record.get(name)
    if value is None:
        return default
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            errors.append((name, f"must be {wanted} (JSON text that does not parse)", "json"))
            return default
    if not isinstance(value, kind):
        errors.append((name, f"must be {wanted}", "json_type"))
        return default
    return value


def _renumber(failure: Failure, row: int) -> Failure:
    """``score_online`` numbers a group's items; the error names the row of the whole input."""
    old, new = f"{COLLECTION}[{failure.index}]", f"{COLLECTION}[{row}]"
    errors = [
        (new + f.removeprefix(old) if f.startswith(old) else f, m, t) for f, m, t in failure.errors
    ]
    return Failure(row, failure.entity_id, errors)


def _failed(task: Task, failure: Failure) -> dict[str, Any]:
    return {TASK_TABLES[task].key: failure.entity_id, "error": json.dumps(failure.error_bodies())}


def _scored(
    task: Task,
    served: ServedModel,
    item: EntityIn | InvalidEntity,
    score: EntityScore,
    *,
    as_of: datetime,
) -> dict[str, Any]:
    assert isinstance(item, EntityIn)
    warnings = entity_warnings(served, item, as_of=as_of)
    return {
        TASK_TABLES[task].key: score.entity_id,
        "probability": score.probability,
        "score": score.score,
        "tier": score.tier,
        RESPONSE_VALUE[task]: score.value,
        "reasons": json.dumps(score.reasons),
        "warnings": json.dumps(warnings),
        "error": None,
    }
