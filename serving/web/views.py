"""Pure helpers that turn list rows and stored scores into what the pages show.

No I/O and no clock: frames in, display values out, so each rule is tested on its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from features.contract.tasks import EntityKind
from serving.api.routers.lists import DIRECTION_WORDS
from serving.api.schemas.responses import ID_AND_VALUE_NAMES

# List-row fields the list page lays out itself; any other field a row carries (display
# fields such as name or city, currency, last order, ...) gets a column of its own, so new
# fields of ``build_list`` show without a change here.
LAID_OUT = frozenset(
    {
        "rank",
        "entity_id",
        "owner_id",
        "probability",
        "score",
        "tier",
        "value",
        "reason_for",
        "reason_against",
        "top_reason",  # deprecated alias of reason_for's text
        "score_delta",
        "new_in_tier",
        "as_of",
        *(name for pair in ID_AND_VALUE_NAMES.values() for name in pair),
    }
)
SPARK_WIDTH = 160
SPARK_HEIGHT = 40
SPARK_PAD = 4


@dataclass(frozen=True)
class Sparkline:
    """An inline SVG polyline of scores (0-100), oldest first; ``points`` is the SVG
    ``points`` attribute, ``last`` the newest point (for its dot), ``label`` the same series
    in words for screen readers."""

    points: str
    last: tuple[float, float]
    label: str
    width: int = SPARK_WIDTH
    height: int = SPARK_HEIGHT


def sparkline(scores_oldest_first: Sequence[int]) -> Sparkline | None:
    """The score history as a sparkline: x evenly spaced by run, y linear in the score
    (0 at the bottom, 100 at the top, inside ``SPARK_PAD`` pixels). None for an empty
    history; a single run is one dot in the middle."""
    if not scores_oldest_first:
        return None
    inner_w = SPARK_WIDTH - 2 * SPARK_PAD
    inner_h = SPARK_HEIGHT - 2 * SPARK_PAD
    n = len(scores_oldest_first)
    coords = []
    for i, score in enumerate(scores_oldest_first):
        x = SPARK_PAD + (inner_w * i / (n - 1) if n > 1 else inner_w / 2)
        y = SPARK_PAD + inner_h * (1 - min(max(score, 0), 100) / 100)
        coords.append((round(x, 1), round(y, 1)))
    label = "Score in the last {} run(s), oldest first: {}".format(
        n, ", ".join(str(s) for s in scores_oldest_first)
    )
    return Sparkline(points=" ".join(f"{x},{y}" for x, y in coords), last=coords[-1], label=label)


def direction_words(kind: EntityKind, contribution: float) -> str | None:
    """What a reason's signed log-odds contribution does, in the list's words ("raises
    risk", "lowers the chance to buy", ...); None for exactly 0."""
    raises, lowers = DIRECTION_WORDS[kind]
    if contribution == 0:
        return None
    return raises if contribution > 0 else lowers


def signed(delta: int | None) -> str:
    """A change with its sign ("+3", "-2", "0"); an em dash when unknown."""
    if delta is None:
        return "—"
    return f"{delta:+d}" if delta else "0"


def whole_amount(value: float | None, currency: str | None = None) -> str:
    """A weighted value in whole currency units with thousands separators ("12,400"), after
    its currency code when one is given ("EUR 12,400"); an em dash when unknown."""
    if value is None:
        return "—"
    amount = f"{round(value):,}"
    return f"{currency} {amount}" if currency else amount


def display(value: Any) -> str:
    """Any other field of a list row as text: mappings as "key: value" pairs, sequences
    joined by commas, floats to 2 decimals, booleans as yes/no, None as an em dash."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {display(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(display(v) for v in value)
    return str(value)


def extra_columns(items: Sequence[Mapping[str, Any]]) -> list[str]:
    """The fields of ``items`` the list page does not lay out itself, in first-seen order."""
    seen: dict[str, None] = {}
    for item in items:
        for name in item:
            if name not in LAID_OUT:
                seen.setdefault(name, None)
    return list(seen)


def heading(name: str) -> str:
    """A field name as a column heading: ``last_order_at`` -> "Last order at"."""
    words = name.replace("_", " ").strip()
    return words[:1].upper() + words[1:]
