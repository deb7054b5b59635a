"""Strict field types shared by the request schemas: no silent coercion of any kind."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PlainValidator,
    StrictBool,
    StrictInt,
    StrictStr,
)


def _require_iso_text(value: Any) -> Any:
    """Timestamps arrive as ISO 8601 text; numbers (epoch guesses) and the like are refused."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 timestamp string, e.g. 2026-11-02T09:30:00Z")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"unparsable timestamp {value[:40]!r}; use ISO 8601") from None


def _to_naive_utc(value: datetime) -> datetime:
    """Offsets are converted to UTC; naive values are taken as UTC (docs/internal-api.md)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


Timestamp = Annotated[datetime, BeforeValidator(_require_iso_text), AfterValidator(_to_naive_utc)]
Identifier = Annotated[StrictStr, Field(min_length=1, max_length=255)]
ShortText = Annotated[StrictStr, Field(max_length=255)]
Amount = Annotated[float, Field(strict=True, ge=0, allow_inf_nan=False)]
AttributeName = Annotated[StrictStr, Field(min_length=1, max_length=64)]


def _check_attribute_value(value: Any) -> Any:
    """Attributes keep their JSON type: text, finite number, boolean or null, nothing else."""
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("must be a finite number (NaN and Infinity are not allowed)")
        return value
    if isinstance(value, str):
        if len(value) > 255:
            raise ValueError("text attributes are at most 255 characters")
        return value
    raise ValueError("must be a string, a finite number, a boolean or null")


AttributeValue = Annotated[
    Any,
    PlainValidator(
        _check_attribute_value, json_schema_input_type=StrictBool | StrictInt | float | str | None
    ),
]
