"""Scoring requests: a strict envelope whose entities are validated one by one.

The envelope (``as_of``, the entity list and its size) fails the whole request with a 422 that
names the field. Each entity is validated on its own: a bad entity becomes an ``InvalidEntity``
carrying its field errors, and the others are still scored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, NotRequired

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
    with_config,
)
from pydantic.config import JsonDict
from typing_extensions import TypedDict  # pydantic needs this one on Python < 3.12

from features.contract.tables import CUSTOMERS, EVENT_TEXT_COLUMNS, LEADS, MAX_ID_CHARS
from serving.api.schemas.fields import (
    NOT_BLANK,
    PATTERN_MESSAGES,
    Amount,
    AttributeName,
    AttributeValue,
    EventType,
    Identifier,
    ShortText,
    SignedAmount,
    Timestamp,
    is_encodable,
)

# Attribute names may not shadow a contract column of either entity table.
_CONTRACT_NAMES = frozenset(LEADS.column_names) | frozenset(CUSTOMERS.column_names)

MAX_ENTITIES = 1_000
MAX_EVENTS_PER_ENTITY = 10_000
STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


# A TypedDict, not a model: validating 10,000 events into dicts took 10 ms against 30 ms into
# model instances, and the online features read plain dicts anyway. Same strictness.
@with_config(ConfigDict(extra="forbid", strict=True, allow_inf_nan=False))
class EventIn(TypedDict):
    """One interaction; only events strictly before ``as_of`` feed the features."""

    occurred_at: Timestamp
    type: EventType
    value: NotRequired[SignedAmount | None]  # negative for a refund
    channel: NotRequired[ShortText | None]
    # Free text as in the export contract (not an enum): inbound / outbound after the type-name
    # rule feed the features; any other value counts as neither and is warned as unknown_direction.
    direction: NotRequired[ShortText | None]
    outcome: NotRequired[ShortText | None]


class EntityIn(BaseModel):
    model_config = STRICT

    created_at: Timestamp
    owner_id: Identifier
    account_id: Identifier | None = None
    attributes: dict[AttributeName, AttributeValue] = Field(default_factory=dict)
    events: Annotated[list[EventIn], Field(max_length=MAX_EVENTS_PER_ENTITY)] = Field(
        default_factory=list
    )

    @field_validator("attributes")
    @classmethod
    def _no_contract_names(cls, attributes: dict[str, Any]) -> dict[str, Any]:
        clash = sorted(_CONTRACT_NAMES.intersection(attributes))
        if clash:
            raise ValueError(f"{clash[0]!r} is a contract column, not an attribute")
        return attributes


class LeadIn(EntityIn):
    lead_id: Identifier
    deal_value: Amount | None = Field(
        default=None, description="the lead's deal size (the export's expected_value column)"
    )
    # The first name of deal_value, kept for /v1 callers: in responses expected_value is
    # probability x deal_value, so the request name is deprecated (docs/serving.md).
    expected_value: Amount | None = Field(
        default=None,
        description="deprecated name of deal_value (same meaning); send one of the two",
        json_schema_extra={"deprecated": True},
    )

    @model_validator(mode="after")
    def _one_deal_size(self) -> LeadIn:
        if self.deal_value is not None and self.expected_value is not None:
            raise ValueError("send deal_value only: expected_value is its deprecated name")
        return self

    @property
    def deal_size(self) -> float | None:
        """The deal size sent, under either name (None when unknown)."""
        return self.deal_value if self.deal_value is not None else self.expected_value


class CustomerIn(EntityIn):
    customer_id: Identifier
    annual_value: Amount | None = None


# (field, message, type): one field error, as in every 4xx body and per-entity error.
FieldError = tuple[str, str, str]


@dataclass(frozen=True)
class InvalidEntity:
    """An entity that failed validation: its id if it is a valid id, and its field errors."""

    entity_id: str | None
    errors: list[FieldError]


def error_message(error: Mapping[str, Any]) -> str:
    """A pydantic error's message without its "Value error, " prefix; never the input.

    pydantic's ``msg`` states the rule broken ("Input should be a valid number"); the input
    itself is only in ``input``, which no response carries. A missed pattern of ours says what
    it means (``PATTERN_MESSAGES``) rather than quoting the pattern.
    """
    if error["type"] == "string_pattern_mismatch":
        pattern = error.get("ctx", {}).get("pattern")
        if pattern in PATTERN_MESSAGES:
            return PATTERN_MESSAGES[pattern]
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def _readable_id(raw: object) -> str | None:
    """The caller's id to repeat back in a per-entity error, or None when it is no valid id
    (wrong type, empty or blank, too long, a lone surrogate): an invalid id is never echoed."""
    if isinstance(raw, str) and 0 < len(raw) <= MAX_ID_CHARS and is_encodable(raw):
        # The Identifier's own rule (its pattern), so the two never disagree.
        return raw if re.search(NOT_BLANK, raw) else None
    return None


def format_location(loc: tuple[int | str, ...]) -> str:
    """``("events", 2, "occurred_at")`` -> ``events[2].occurred_at``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _entity_validator(model: type[EntityIn], key: str) -> PlainValidator:
    adapter = TypeAdapter(model)

    def validate(value: Any) -> EntityIn | InvalidEntity:
        try:
            return adapter.validate_python(value)
        except ValidationError as exc:
            raw_id = value.get(key) if isinstance(value, dict) else None
            errors = [
                (format_location(e["loc"]), error_message(e), e["type"])
                for e in exc.errors(include_input=False, include_url=False)
            ]
            return InvalidEntity(_readable_id(raw_id), errors)

    return PlainValidator(validate, json_schema_input_type=model)


LeadItem = Annotated[LeadIn | InvalidEntity, _entity_validator(LeadIn, "lead_id")]
CustomerItem = Annotated[CustomerIn | InvalidEntity, _entity_validator(CustomerIn, "customer_id")]

_EVENT_EXAMPLE: JsonDict = {
    "occurred_at": "2026-10-28T14:05:00Z",
    "type": "demo",
    "channel": "video",
    "direction": "outbound",
    "outcome": "completed",
}


class ScoreLeadsRequest(BaseModel):
    """1 to 1,000 leads; ``as_of`` defaults to the time the request is received."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        allow_inf_nan=False,
        json_schema_extra={
            "examples": [
                {
                    "as_of": "2026-11-02T09:00:00Z",
                    "leads": [
                        {
                            "lead_id": "L-1042",
                            "created_at": "2026-09-15T10:00:00Z",
                            "owner_id": "rep-7",
                            "deal_value": 12000.0,
                            "attributes": {"industry": "retail", "employees": 120},
                            "events": [_EVENT_EXAMPLE],
                        }
                    ],
                }
            ]
        },
    )

    as_of: Timestamp | None = None
    leads: Annotated[list[LeadItem], Field(min_length=1, max_length=MAX_ENTITIES)]


class ScoreCustomersRequest(BaseModel):
    """1 to 1,000 customers; ``as_of`` defaults to the time the request is received."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        allow_inf_nan=False,
        json_schema_extra={
            "examples": [
                {
                    "as_of": "2026-11-02T09:00:00Z",
                    "customers": [
                        {
                            "customer_id": "C-881",
                            "created_at": "2024-03-01T00:00:00Z",
                            "owner_id": "rep-7",
                            "annual_value": 48000.0,
                            "attributes": {"plan": "pro", "seats": 40},
                            "events": [{**_EVENT_EXAMPLE, "type": "order", "value": 3900.0}],
                        }
                    ],
                }
            ]
        },
    )

    as_of: Timestamp | None = None
    customers: Annotated[list[CustomerItem], Field(min_length=1, max_length=MAX_ENTITIES)]


# Names the online features read by their contract names (see features.compute.online).
EVENT_FIELDS: tuple[str, ...] = ("occurred_at", "type", "value", *EVENT_TEXT_COLUMNS)
