"""Response schemas: what the CRM and the reps read back.

One vocabulary (see docs/serving.md): a lead is ``lead_id``, a customer ``customer_id``; a
lead's deal size is ``deal_value`` and ``expected_value`` is probability x ``deal_value``; a
customer's ``annual_value`` weighted by the probability is ``value_at_risk``. The stored-score
and list bodies also carry ``entity_id`` and ``value``, the names of /v1's first release, kept
as deprecated aliases of those fields.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

from features.contract.times import iso_utc
from features.model.tiers import CustomerTier, LeadTier

# Every time in a response: ISO 8601 UTC with "Z" (features.contract.times.iso_utc).
UtcTime = Annotated[
    datetime,
    PlainSerializer(iso_utc, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time", "examples": ["2026-11-02T09:00:00Z"]}),
]
# Per stored-entity kind ("lead" / "customer"): the names of its id and weighted value.
ID_AND_VALUE_NAMES = {
    "lead": ("lead_id", "expected_value"),
    "customer": ("customer_id", "value_at_risk"),
}
_DEPRECATED_ID = "deprecated alias of lead_id / customer_id (same value)"
_DEPRECATED_VALUE = "deprecated alias of expected_value / value_at_risk (same value)"


class FieldErrorOut(BaseModel):
    """One problem with the input, naming where it is; the input value is never echoed."""

    field: str = Field(
        description="JSON path of a body field, or a query/path parameter or header name "
        "(empty when the problem is not one field's)",
        examples=["leads[3].events[2].occurred_at"],
    )
    message: str = Field(examples=["Input should be a valid datetime"])
    type: str = Field(
        description="machine-readable kind of problem (pydantic's error type, or ours: "
        "auth, not_found, not_ready, body_too_large, unknown_query_parameter, ...)",
        examples=["datetime_parsing"],
    )


class ErrorOut(BaseModel):
    """The body of every 4xx and 503 answer."""

    detail: list[FieldErrorOut]


class ReasonOut(BaseModel):
    """A signed reason: positive ``contribution`` (log-odds) raises the probability."""

    feature: str = Field(examples=["days_since_last_purchase"])
    value: str | float | int | bool | None = Field(examples=[64])
    contribution: float = Field(examples=[0.82])
    text: str = Field(examples=["Days since the last order: 64 days"])
    background: bool = Field(
        default=False,
        description="an attribute-only reason (plan, region, source, value, age): context, not "
        "something a rep's action changes; shown after the actionable, event-derived ones",
    )


class InputWarningOut(BaseModel):
    """An input the model read differently than sent: scored anyway, never silently."""

    field: str = Field(examples=["events[4].type"])
    code: Literal[
        "unknown_event_type",
        "unknown_direction",
        "coerced_attribute",
        "unreadable_attribute",
        "unseen_level",
        "unused_attribute",
        "missing_attribute",
        "events_after_as_of",
    ]
    message: str = Field(
        examples=["event type 'Order' is not in the model's vocabulary; counted as 'other'"]
    )


class ModelRef(BaseModel):
    """The registered model version that produced a score."""

    name: str = Field(examples=["salesradar-leads"])
    version: str = Field(examples=["3"])


AS_OF = Field(
    description="the moment scored, UTC (ISO 8601 with Z)", examples=["2026-11-02T09:00:00Z"]
)
PROBABILITY = Field(ge=0, le=1, description="calibrated probability", examples=[0.62])
SCORE = Field(ge=0, le=100, description="round(100 x probability)", examples=[62])
EXPECTED_VALUE = Field(
    description="probability x deal_value (null when the deal size is unknown)",
    examples=[7440.0],
)
VALUE_AT_RISK = Field(
    description="probability x annual_value (null when the annual value is unknown)",
    examples=[29760.0],
)
LAST_ORDER = Field(
    description="the customer's latest order strictly before as_of, UTC (null: none, or not "
    "recorded by the run)",
    examples=["2026-09-12T14:03:00Z"],
)
LAST_TOUCH = Field(
    description="the lead's latest interaction strictly before as_of, UTC (null: none, or not "
    "recorded by the run)",
    examples=["2026-09-28T09:30:00Z"],
)


class _ScoredBase(BaseModel):
    status: Literal["scored"] = "scored"
    owner_id: str = Field(examples=["rep-7"])
    probability: float = PROBABILITY
    score: int = SCORE
    reasons: list[ReasonOut] = Field(description="signed reasons, strongest first")
    warnings: list[InputWarningOut] = Field(
        description="unknown event types, unused or missing attributes (empty: read as sent)"
    )
    model: ModelRef
    as_of: UtcTime = AS_OF


class LeadScored(_ScoredBase):
    """A lead scored: how likely it converts within the horizon, and why."""

    lead_id: str = Field(examples=["L-1042"])
    tier: LeadTier
    expected_value: float | None = EXPECTED_VALUE
    deal_value: float | None = Field(
        description="the lead's deal size, as sent", examples=[12000.0]
    )


class CustomerScored(_ScoredBase):
    """A customer scored: how likely they leave (explicitly or silently), and why."""

    customer_id: str = Field(examples=["C-881"])
    tier: CustomerTier
    value_at_risk: float | None = VALUE_AT_RISK
    annual_value: float | None = Field(
        description="the customer's annual value, as sent", examples=[48000.0]
    )


class EntityFailed(BaseModel):
    """An entity of the batch that could not be scored; the others still are."""

    status: Literal["error"] = "error"
    index: int = Field(description="position of the entity in the request", examples=[3])
    entity_id: str | None = Field(
        description="its lead_id / customer_id when readable", examples=["L-1045"]
    )
    errors: list[FieldErrorOut]


class ScoreLeadsResponse(BaseModel):
    """One result per lead sent, in the order sent."""

    as_of: UtcTime = AS_OF
    results: list[Annotated[LeadScored | EntityFailed, Field(discriminator="status")]]


class ScoreCustomersResponse(BaseModel):
    """One result per customer sent, in the order sent."""

    as_of: UtcTime = AS_OF
    results: list[Annotated[CustomerScored | EntityFailed, Field(discriminator="status")]]


class MoverOut(BaseModel):
    """A feature whose contribution changed between the previous and the latest score."""

    feature: str = Field(examples=["days_since_last_purchase"])
    previous_value: str | float | int | bool | None = Field(examples=[12])
    value: str | float | int | bool | None = Field(examples=[64])
    previous_contribution: float | None = Field(examples=[0.31])
    contribution: float | None = Field(examples=[0.82])
    change: float = Field(description="log-odds", examples=[0.51])
    text: str = Field(examples=["Days since the last order: was 12 days, now 64 days"])


class ChangeOut(BaseModel):
    previous_score: int = Field(examples=[48])
    previous_probability: float = Field(examples=[0.48])
    previous_as_of: UtcTime
    score_delta: int = Field(examples=[14])
    probability_delta: float = Field(examples=[0.14])
    margin_delta: float | None = Field(
        description="change in raw log-odds, which the per-feature contribution changes add up "
        "to; null when the model changed or the runs did not record contributions",
        examples=[0.62],
    )
    model_changed: bool = Field(
        description="the two scores come from different models: no per-feature split",
    )
    previous_model: ModelRef
    exact: bool = Field(
        description="the movers are terms of the exact decomposition (false: read from the "
        "stored top reasons of older runs)"
    )
    movers: list[MoverOut] = Field(
        description="the largest terms in the direction the score moved (at most 3)"
    )


class MoneyOut(BaseModel):
    """The weighted value labelled, rounded to whole units, with its currency."""

    label: Literal["Value at risk", "Expected value"] = Field(examples=["Value at risk"])
    amount: int = Field(examples=[12345])
    currency: str = Field(description="ISO 4217 (SALESRADAR_CURRENCY)", examples=["EUR"])
    text: str = Field(examples=["Value at risk: 12,345 EUR"])


class _RowFields(BaseModel):
    """Shared by list rows and entity views (``serving.scoring.row_fields``)."""

    display: dict[str, str | int | float | bool | None] | None = Field(
        description="the export columns named by SALESRADAR_DISPLAY_FIELDS (null: not recorded "
        "by the run)",
        examples=[{"name": "Acme GmbH", "city": "Leipzig"}],
    )
    currency: str = Field(description="ISO 4217 code of the values", examples=["EUR"])
    money: MoneyOut | None = Field(description="null when the value is unknown")


class _StoredScoreBase(_RowFields):
    model_config = ConfigDict(protected_namespaces=())

    entity_id: str = Field(description=_DEPRECATED_ID, deprecated=True, examples=["L-1042"])
    owner_id: str | None = Field(examples=["rep-7"])
    probability: float = PROBABILITY
    score: int = SCORE
    value: float | None = Field(description=_DEPRECATED_VALUE, deprecated=True, examples=[7440.0])
    reasons: list[ReasonOut] = Field(description="signed reasons, strongest first")
    model: ModelRef
    as_of: UtcTime = AS_OF
    published_at: UtcTime | None = Field(
        description="when the batch run was published, UTC", examples=["2026-11-02T09:12:31Z"]
    )
    run_id: str = Field(description="the batch scoring run", examples=["3f9c2a7be1d04c55"])
    change: ChangeOut | None = Field(description="null when there is no previous score")


class StoredLeadOut(_StoredScoreBase):
    """A lead's latest published batch score, and what changed since the one before."""

    lead_id: str = Field(examples=["L-1042"])
    tier: LeadTier
    expected_value: float | None = EXPECTED_VALUE
    last_touch_at: UtcTime | None = LAST_TOUCH


class StoredCustomerOut(_StoredScoreBase):
    """A customer's latest published batch score, and what changed since the one before."""

    customer_id: str = Field(examples=["C-881"])
    tier: CustomerTier
    value_at_risk: float | None = VALUE_AT_RISK
    last_order_at: UtcTime | None = LAST_ORDER


class DirectedReasonOut(BaseModel):
    """A stored reason with what it does to the score, in words."""

    feature: str = Field(examples=["days_since_last_purchase"])
    text: str = Field(examples=["Days since the last order: 64 days"])
    contribution: float = Field(description="log-odds; positive raises the score", examples=[0.82])
    direction: Literal[
        "raises risk", "lowers risk", "raises the chance to buy", "lowers the chance to buy"
    ] = Field(examples=["raises risk"])
    background: bool = Field(description="an attribute-only reason (see ReasonOut)")


class _ListItemBase(_RowFields):
    rank: int = Field(ge=1, description="1-based position in the whole ranking", examples=[1])
    entity_id: str = Field(description=_DEPRECATED_ID, deprecated=True, examples=["L-1042"])
    owner_id: str | None = Field(examples=["rep-7"])
    probability: float = PROBABILITY
    score: int = SCORE
    value: float | None = Field(description=_DEPRECATED_VALUE, deprecated=True, examples=[7440.0])
    reason_for: DirectedReasonOut | None = Field(
        description="the strongest stored reason raising the score (risk / chance to buy); "
        "null when none of the stored reasons raises it"
    )
    reason_against: DirectedReasonOut | None = Field(
        description="the strongest stored reason lowering the score; null when none does"
    )
    top_reason: str | None = Field(
        description="deprecated alias of reason_for.text",
        deprecated=True,
        examples=["Days since the last order: 64 days"],
    )
    score_delta: int | None = Field(
        description="score minus the entity's score in the previous published run; null when "
        "it was not scored there (or there is no previous run)",
        examples=[7],
    )
    new_in_tier: bool | None = Field(
        description="true when its tier differs from the previous published run's or it was "
        "not scored there; null when there is no previous run",
        examples=[True],
    )
    as_of: UtcTime = AS_OF


class LeadListItemOut(_ListItemBase):
    lead_id: str = Field(examples=["L-1042"])
    tier: LeadTier
    expected_value: float | None = EXPECTED_VALUE
    last_touch_at: UtcTime | None = LAST_TOUCH


class CustomerListItemOut(_ListItemBase):
    customer_id: str = Field(examples=["C-881"])
    tier: CustomerTier
    value_at_risk: float | None = VALUE_AT_RISK
    last_order_at: UtcTime | None = LAST_ORDER


class _ListPageBase(BaseModel):
    total: int = Field(
        ge=0, description="rows matching the filters, over all pages", examples=[463]
    )
    limit: int = Field(examples=[50])
    offset: int = Field(examples=[0])
    rank_by: Literal["value", "probability"]
    run_id: str | None = Field(
        description="the published run read (null: none published)",
        examples=["3f9c2a7be1d04c55"],
    )
    previous_run_id: str | None = Field(
        description="the run score_delta and new_in_tier compare with: the one published just "
        "before run_id (null: none, or removed by retention)",
        examples=["8d1e0b5a9c3f4e21"],
    )
    published_at: UtcTime | None = Field(
        description="when the run read was published (null: none published)",
        examples=["2026-11-02T09:12:31Z"],
    )
    as_of_age_days: int | None = Field(
        description="whole days from the run's as_of to this request (null: none published)",
        examples=[59],
    )


class HotLeadsPageOut(_ListPageBase):
    """One page of the hot-leads list."""

    items: list[LeadListItemOut]


class AtRiskPageOut(_ListPageBase):
    """One page of the at-risk list."""

    items: list[CustomerListItemOut]


class ServedModelOut(BaseModel):
    task: str = Field(examples=["leads"])
    name: str = Field(examples=["salesradar-leads"])
    version: str = Field(examples=["3"])
    source: Literal["registry", "local-copy"]
    loaded_at: UtcTime
    artifact_sha256: dict[str, str] = Field(
        description="SHA-256 per artifact file", examples=[{"model.skops": "9f2c…"}]
    )
    artifact_hash: str = Field(examples=["9f2c51d0a8e4"])
    run_id: str | None = Field(description="the MLflow run", examples=["a1b2c3d4e5f6"])
    metrics: dict[str, float | int | str | None] = Field(
        description="the run's test metrics", examples=[{"test_auc": 0.838}]
    )
    event_types: dict[str, list[str]] = Field(
        description="per feature stem, the (normalised) event types the model knows; any "
        "other type counts as 'other'",
        examples=[{"purchase": ["order"], "support_ticket": ["support_ticket"]}],
    )
    activity_types: list[str] = Field(
        description="churn: the types that count as a purchase", examples=[["order"]]
    )
    attributes: list[str] = Field(
        description="export attributes the model was trained on", examples=[["industry"]]
    )


class TaskStateOut(BaseModel):
    state: Literal["loading", "serving", "no_champion", "failed", "unknown"] = Field(
        description="loading: the first load has not finished (startup never waits on the "
        "registry); serving: a verified model is loaded; no_champion: the registry has no "
        "champion for this task (not an error); failed: a champion exists but could not be "
        "loaded; unknown: the registry could not be asked and there is no local copy"
    )
    version: str | None = Field(examples=["3"])
    detail: str | None = Field(default=None, description="why nothing is served, when nothing is")
    error: str | None = Field(
        default=None,
        description="why the last reload of this task failed (a refused or broken champion), "
        "also while an older version keeps serving; no file paths for rep keys",
    )


class LiveOut(BaseModel):
    status: Literal["live"]


class ReadyOut(BaseModel):
    """Readiness: 200 when ready, 503 with the same body when not."""

    status: Literal["ready", "not ready"]
    registry: Literal["ok", "degraded", "unknown"] = Field(
        description="ok: the registry answered the last check; degraded: it did not, served "
        "models are kept; unknown: not asked yet"
    )
    models: dict[str, str | None] = Field(
        description="per task, the version served (null: none)", examples=[{"leads": "3"}]
    )
    tasks: dict[str, TaskStateOut] = Field(
        description="per task",
        examples=[{"leads": {"state": "serving", "version": "3"}}],
    )


class ModelsOut(BaseModel):
    registry: Literal["ok", "degraded", "unknown"]
    last_checked_at: UtcTime | None
    tasks: dict[str, TaskStateOut] = Field(
        description="per task",
        examples=[{"leads": {"state": "serving", "version": "3"}}],
    )
    models: list[ServedModelOut]
    errors: dict[str, str] = Field(description="per task, the last load error", examples=[{}])
    local_copies: dict[str, str] = Field(
        default_factory=dict,
        description="per task whose verified local copy failed its last re-verification, what "
        "is wrong (absent: intact, or repaired from the registry)",
        examples=[{}],
    )


class ReloadResultOut(BaseModel):
    task: str = Field(examples=["leads"])
    outcome: Literal["loaded", "unchanged", "failed", "degraded", "no_champion"]
    version: str | None = Field(examples=["4"])
    previous_version: str | None = Field(examples=["3"])
    error: str | None = Field(default=None, description="why the reload failed, if it did")


class ReloadOut(BaseModel):
    ok: bool
    results: list[ReloadResultOut]
