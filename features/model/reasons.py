"""Plain-language reasons from exact per-feature contributions.

``explain`` turns a row of ``ScoringModel.contributions`` (log-odds, additive, summing to the raw
score) into the top-k reasons by absolute contribution, each phrased from the feature's
registry description, its unit and the entity's actual value at the as-of time of the frame.

A description is a ``Wording`` (``features.definitions.wording``): a label and optional cases.
The label alone is phrased as "Days since the last order: 64 days", or, when it names values in
braces, as a template: ``{value}`` is this feature's value and ``{<feature name>}`` any other
feature's value in the same row, all formatted by their units, e.g. "No order for {value};
usually orders every {median_days_between_purchases}" -> "No order for 64 days; usually orders
every 21 days".

A case is picked from the value as it is shown (rounded by its unit): ``missing`` when there is
no value, ``=<number>`` for that exact shown value (a ratio in its own scale: ``=1`` is 100%),
``<0`` for a negative one, in which ``{value}`` is the magnitude (the wording carries the sign),
else ``other``. Each case is a whole sentence and may name other features like a template. When
no case fits, or its sentence names a feature the model lacks, the label is phrased as above.

Order: of the ``top_k`` strongest contributions, the actionable reasons come first and the
background ones after, each group strongest first. A reason is actionable when its feature's
family (the registry's metadata, kept in the model) is one computed from the entity's events
(``EVENT_FAMILIES``: orders, contacts, support load, their recency, trends and cadence), which
a rep's work changes; every other family (the entity's attributes such as plan, region or
source, its value, its age) is ``background``, which each reason says.
"""

from __future__ import annotations

import math
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from features.compute.rows import FeatureRows, FeatureTable
from features.definitions.wording import Case, Wording
from features.model.scoring_model import ModelFeature, ScoringModel

UNKNOWN = "unknown"
# The registry's families whose features are computed from events
# (``features.definitions.registry``; a test checks every engineered definition of these families
# reads event aggregates, and no other does). A family not named here is background: an unknown one
# is never promoted.
EVENT_FAMILIES: frozenset[str] = frozenset(
    {"activity", "recency", "trend", "engagement", "responsiveness", "cadence"}
)


@dataclass(frozen=True)
class Reason:
    """One signed reason: positive ``contribution`` raises the score, negative lowers it."""

    feature: str
    value: object  # the entity's value as plain JSON-ready Python (None when missing)
    contribution: float  # log-odds
    text: str
    background: bool = False  # an attribute-only reason (see the module docstring)


def is_background(family: str) -> bool:
    """Whether a feature of ``family`` is background: not computed from the entity's events."""
    return family not in EVENT_FAMILIES


def explain(
    model: ScoringModel,
    frame: FeatureTable,
    contributions: np.ndarray,
    *,
    top_k: int = 5,
) -> list[list[Reason]]:
    """The ``top_k`` reasons per row of ``frame``: of the ``top_k`` largest absolute
    contributions, the actionable ones first, then the background ones, each group largest first
    (see the module docstring).

    ``contributions`` is ``model.contributions(frame)``: one row per frame row, one column per
    feature plus the bias (last), which is never a reason. Features with an exactly zero
    contribution (never used by the trees for this row) are left out. Ties keep feature order.
    Only the chosen features (and the ones their templates name) are read and phrased.
    """
    specs = model.feature_specs
    if top_k < 1:
        raise ValueError(f"top_k must be at least 1, got {top_k}")
    if contributions.shape != (len(frame), len(specs) + 1):
        raise ValueError(
            f"contributions have shape {contributions.shape}; expected "
            f"{(len(frame), len(specs) + 1)} for {len(frame)} rows and {len(specs)} features"
        )
    feature_contributions = contributions[:, :-1]
    # A stable sort on -|c| keeps registry order among equal contributions: deterministic.
    order = np.argsort(-np.abs(feature_contributions), axis=1, kind="stable")[:, :top_k]
    chosen = np.take_along_axis(feature_contributions, order, axis=1)
    # Stable: within each group the order by |contribution| is kept.
    background = np.array([is_background(s.family) for s in specs], dtype=bool)
    regroup = np.argsort(background[order], axis=1, kind="stable")
    order = np.take_along_axis(order, regroup, axis=1)
    chosen = np.take_along_axis(chosen, regroup, axis=1)
    phrasings = _phrasings(tuple(specs))
    needed = {int(j) for j in np.unique(order)}
    needed |= {p for j in needed for p, _, _ in phrasings[j].fields}
    cells = {j: _column(frame, specs[j].name) for j in needed}
    # A sentence depends only on the feature and the values it names: in a 1,000-customer
    # request ~70% of reasons repeat an earlier one (counts, categories), so each is phrased once.
    sentences: dict[int, dict[object, str]] = {j: {} for j in needed}
    reasons: list[list[Reason]] = []
    for row_number, (row_order, row_chosen) in enumerate(
        zip(order.tolist(), chosen.tolist(), strict=True)
    ):
        row_reasons = []
        for index, contribution in zip(row_order, row_chosen, strict=True):
            if contribution == 0.0:
                continue  # never used by the trees for this row: no reason
            phrasing = phrasings[index]
            value = cells[index][row_number]
            key = _sentence_key(value, phrasing, cells, row_number)
            text = sentences[index].get(key)
            if text is None:
                text = sentences[index][key] = phrasing.render(value, cells, row_number)
            row_reasons.append(
                Reason(
                    feature=specs[index].name,
                    value=value,
                    contribution=contribution,
                    text=text,
                    background=bool(background[index]),
                )
            )
        reasons.append(row_reasons)
    return reasons


def _sentence_key(
    value: object, phrasing: _Phrasing, cells: Mapping[int, list[object]], row: int
) -> object:
    """What a sentence depends on, hashable; 0.0 and -0.0 (equal, but shown apart) kept apart."""
    if phrasing.fields:
        parts = (value, *[cells[p][row] for p, _, _ in phrasing.fields])
        if 0.0 in parts:
            return tuple((type(v), math.copysign(1.0, v)) if v == 0 else v for v in parts)
        return parts
    if value == 0:
        return (type(value), math.copysign(1.0, value))
    return value


def _column(frame: FeatureTable, name: str) -> list[object]:
    """One column as plain Python values; every kind of missing is None."""
    if isinstance(frame, FeatureRows):
        return [None if v != v else v for v in frame.values(name)]  # NaN is the only v != v
    return [_plain(v) for v in frame[name].tolist()]


@dataclass(frozen=True)
class _Phrasing:
    """How one feature reads, resolved once per call: ``phrase`` without per-row lookups."""

    spec: ModelFeature
    fields: tuple[tuple[int, str, str], ...]  # (position, name, unit) of model features named

    def render(self, value: object, cells: Mapping[int, list[object]], row: int) -> str:
        others = {name: (cells[p][row], unit) for p, name, unit in self.fields}
        return _render(self.spec.description, self.spec.unit, value, others)


@lru_cache(maxsize=32)
def _phrasings(specs: tuple[ModelFeature, ...]) -> list[_Phrasing]:
    """Per feature, what ``phrase`` would do with it; the same fallbacks, decided once per model."""
    position = {s.name: i for i, s in enumerate(specs)}
    out = []
    for spec in specs:
        # Every model feature any part of the description names (label or case); a name the
        # model lacks stays out, so its template falls back exactly as in ``phrase``.
        texts = (spec.description.label, *(case.text for case in spec.description.cases))
        names = frozenset().union(*map(_template_fields, texts)) - {"value"}
        fields = tuple(
            (position[n], n, specs[position[n]].unit) for n in sorted(names) if n in position
        )
        out.append(_Phrasing(spec, fields))
    return out


def phrase(
    spec: ModelFeature, row_values: Mapping[str, object], specs: Sequence[ModelFeature]
) -> str:
    """One sentence about ``spec``'s value in this row (see the module docstring)."""
    others = {s.name: (row_values.get(s.name), s.unit) for s in specs}
    return _render(spec.description, spec.unit, row_values.get(spec.name), others)


def _render(
    description: Wording, unit: str, value: object, others: Mapping[str, tuple[object, str]]
) -> str:
    """The sentence for ``value``; ``others``: (value, unit) of the features it may name."""
    label = description.label
    case = _select_case(description.cases, value, unit)
    if case is not None:
        # In a "<0" case the words carry the sign ("3 fewer orders"), so the number is positive.
        shown = value
        if case.when == "<0" and isinstance(value, int | float):
            shown = abs(value)
        text = _fill(case.text, shown, unit, others)
        if text is not None:
            return text
    if _template_fields(label):
        text = _fill(label, value, unit, others)
        if text is not None:
            return text
    # A plain label, or a template naming a feature this model does not have.
    return f"{label}: {format_value(value, unit)}"


def _select_case(cases: Sequence[Case], value: object, unit: str) -> Case | None:
    """The case for this value, or None when no case fits."""
    if not cases:
        return None
    if value is None:
        wanted = "missing"
    elif isinstance(value, int | float) and unit != "category":
        shown = _shown_number(float(value), unit)
        exact = next((case for case in cases if case.number == shown), None)
        if exact is not None:
            return exact
        wanted = "<0" if shown < 0 and any(case.when == "<0" for case in cases) else "other"
    else:
        wanted = "other"
    return next((case for case in cases if case.when == wanted), None)


def _shown_number(number: float, unit: str) -> float:
    """The number as ``format_value`` shows it, so "=1" matches exactly when "1" is shown."""
    if unit in ("days", "count", "currency"):
        return float(round(number))
    if unit == "ratio":
        return round(number * 100) / 100
    return round(number, 2)


def _fill(
    template: str, value: object, unit: str, others: Mapping[str, tuple[object, str]]
) -> str | None:
    """``template`` with its fields formatted; None if it names a feature the model lacks."""
    fields = _template_fields(template)
    if not fields:
        return template
    substitutions = {"value": format_value(value, unit)}
    for name in fields - {"value"}:
        if name not in others:
            return None
        substitutions[name] = format_value(*others[name])
    return template.format_map(substitutions)


@lru_cache(maxsize=1024)
def _template_fields(description: str) -> frozenset[str]:
    try:
        parsed = list(string.Formatter().parse(description))
    except ValueError:
        return frozenset()  # stray braces: the description is plain text
    return frozenset(name for _, name, _, _ in parsed if name)


def format_value(value: object, unit: str) -> str:
    """A value in words for its unit: '64 days', '3', '12,500', '35%', 'Retail', 'unknown'."""
    if value is None:
        return UNKNOWN
    if unit == "category" or isinstance(value, str):
        return str(value)
    number = float(value)  # type: ignore[arg-type]
    if unit == "days":
        days = round(number)
        return "1 day" if days == 1 else f"{days:,} days"
    if unit == "count":
        return f"{round(number):,}"
    if unit == "currency":
        return f"{number:,.0f}"
    if unit == "ratio":
        return f"{number * 100:.0f}%"
    return f"{number:,.2f}".rstrip("0").rstrip(".")


def _plain(value: object) -> object:
    """A frame cell as a plain Python value; every kind of missing becomes None."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float | np.floating) and math.isnan(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value
