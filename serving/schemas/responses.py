"""Response schemas: what the CRM and the reps read back."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class FieldErrorOut(BaseModel):
    field: str = Field(examples=["leads[3].events[2].occurred_at"])
    message: str


class ReasonOut(BaseModel):
    """A signed reason: positive ``contribution`` (log-odds) raises the probability."""

    feature: str = Field(examples=["days_since_last_purchase"])
    value: str | float | int | bool | None = Field(examples=[64])
    contribution: float = Field(examples=[0.82])
    text: str = Field(examples=["Days since the last order: 64 days"])


class InputWarningOut(BaseModel):
    """An input the model read differently than sent: scored anyway, never silently."""

    field: str = Field(examples=["events[4].type"])
    code: Literal[
        "unknown_event_type",
        "coerced_attribute",
        "unreadable_attribute",
        "unseen_level",
        "unused_attribute",
        "missing_attribute",
    ]
    message: str = Field(
        examples=["event type 'Order' is not in the model's vocabulary; counted as 'other'"]
    )


class ModelRef(BaseModel):
    name: str = Field(examples=["salesradar-leads"])
    version: str = Field(examples=["3"])


class _ScoredBase(BaseModel):
    status: Literal["scored"] = "scored"
    owner_id: str
    probability: float = Field(ge=0, le=1, examples=[0.62])
    score: int = Field(ge=0, le=100, examples=[62])
    reasons: list[ReasonOut]
    warnings: list[InputWarningOut] = Field(
        description="unknown event types, unused or missing attributes (empty: read as sent)"
    )
    model: ModelRef
    as_of: datetime


class LeadScored(_ScoredBase):
    lead_id: str
    tier: Literal["hot", "warm", "cold"]
    expected_value: float | None = Field(
        description="probability x expected deal size (null when the deal size is unknown)",
        examples=[7440.0],
    )
    deal_value: float | None = Field(description="the lead's expected deal size, as sent")


class CustomerScored(_ScoredBase):
    customer_id: str
    tier: Literal["high", "medium", "low"]
    value_at_risk: float | None = Field(
        description="probability x annual value (null when the annual value is unknown)",
        examples=[29760.0],
    )
    annual_value: float | None


class EntityFailed(BaseModel):
    status: Literal["error"] = "error"
    index: int = Field(description="position of the entity in the request")
    entity_id: str | None
    errors: list[FieldErrorOut]


class ScoreLeadsResponse(BaseModel):
    as_of: datetime
    results: list[Annotated[LeadScored | EntityFailed, Field(discriminator="status")]]


class ScoreCustomersResponse(BaseModel):
    as_of: datetime
    results: list[Annotated[CustomerScored | EntityFailed, Field(discriminator="status")]]


class MoverOut(BaseModel):
    """A feature whose contribution changed between the previous and the latest score."""

    feature: str
    previous_contribution: float | None
    contribution: float | None
    change: float
    text: str


class ChangeOut(BaseModel):
    previous_score: int
    previous_probability: float
    previous_as_of: datetime
    score_delta: int
    probability_delta: float
    movers: list[MoverOut]


class StoredScoreOut(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    entity_id: str
    owner_id: str | None
    probability: float
    score: int
    tier: str
    value: float | None = Field(description="expected value (leads) or value at risk (customers)")
    reasons: list[ReasonOut]
    model: ModelRef
    as_of: datetime
    published_at: datetime | None
    run_id: str
    change: ChangeOut | None = Field(description="null when there is no previous score")


class ListItemOut(BaseModel):
    rank: int
    entity_id: str
    owner_id: str | None
    probability: float
    score: int
    tier: str
    value: float | None
    top_reason: str | None
    as_of: datetime


class ListPageOut(BaseModel):
    items: list[ListItemOut]
    total: int
    limit: int
    offset: int
    rank_by: Literal["value", "probability"]
    run_id: str | None


class ServedModelOut(BaseModel):
    task: str
    name: str
    version: str
    source: Literal["registry", "local-copy"]
    loaded_at: datetime
    artifact_sha256: dict[str, str]
    artifact_hash: str
    run_id: str | None
    metrics: dict[str, float | int | str | None]
    event_types: dict[str, list[str]] = Field(
        description="per feature stem, the (normalised) event types the model knows; any "
        "other type counts as 'other'",
        examples=[{"purchase": ["order"], "support_ticket": ["support_ticket"]}],
    )
    activity_types: list[str] = Field(description="churn: the types that count as a purchase")
    attributes: list[str] = Field(description="export attributes the model was trained on")


class TaskStateOut(BaseModel):
    state: Literal["loading", "serving", "no_champion", "failed", "unknown"] = Field(
        description="loading: the first load has not finished (startup never waits on the "
        "registry); serving: a verified model is loaded; no_champion: the registry has no "
        "champion for this task (not an error); failed: a champion exists but could not be "
        "loaded; unknown: the registry could not be asked and there is no local copy"
    )
    version: str | None
    detail: str | None = Field(description="why nothing is served, when nothing is")
    error: str | None = Field(
        description="why the last reload of this task failed (a refused or broken champion), "
        "also while an older version keeps serving; no file paths for rep keys"
    )


class ModelsOut(BaseModel):
    registry: Literal["ok", "degraded", "unknown"]
    last_checked_at: datetime | None
    tasks: dict[str, TaskStateOut]
    models: list[ServedModelOut]
    errors: dict[str, str]
    local_copies: dict[str, str] = Field(
        description="per task whose verified local copy failed its last re-verification, what "
        "is wrong (absent: intact, or repaired from the registry)"
    )


class ReloadResultOut(BaseModel):
    task: str
    outcome: Literal["loaded", "unchanged", "failed", "degraded", "no_champion"]
    version: str | None
    previous_version: str | None
    error: str | None


class ReloadOut(BaseModel):
    ok: bool
    results: list[ReloadResultOut]
