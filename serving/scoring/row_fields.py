"""The fields a list row and an entity view share beyond the score: display fields, the last
order or touch, and the weighted value labelled, rounded and with its currency."""

from __future__ import annotations

from typing import Any

from features.contract.tasks import EntityKind
from features.contract.times import iso_utc
from serving.store.database import StoredScore

# Per kind: the JSON name of the last order (customers) / last touch (leads), and its label.
LAST_ACTIVITY_NAMES: dict[EntityKind, tuple[str, str]] = {
    "lead": ("last_touch_at", "Last touch"),
    "customer": ("last_order_at", "Last order"),
}
VALUE_LABELS: dict[EntityKind, str] = {"lead": "Expected value", "customer": "Value at risk"}


def money(kind: EntityKind, value: float | None, currency: str) -> dict[str, Any] | None:
    """``{label, amount, currency, text}`` for the weighted value, rounded to whole units of
    ``currency`` (half to even, as ``round``): "Value at risk: 12,345 EUR". None when the
    value is unknown."""
    if value is None:
        return None
    amount = round(value)
    label = VALUE_LABELS[kind]
    return {
        "label": label,
        "amount": amount,
        "currency": currency,
        "text": f"{label}: {amount:,} {currency}",
    }


def entity_fields(kind: EntityKind, stored: StoredScore, currency: str) -> dict[str, Any]:
    """``display`` (None: not recorded in that run), the last order / touch (``iso_utc``, None:
    none before as_of or not recorded), ``currency`` and ``money`` of one stored score."""
    last_name, _ = LAST_ACTIVITY_NAMES[kind]
    last = stored.last_activity_at
    return {
        "display": stored.display,
        last_name: None if last is None else iso_utc(last),
        "currency": currency,
        "money": money(kind, stored.value, currency),
    }
