"""Plain-language reasons from exact per-feature contributions.

``explain`` turns a row of ``ScoringModel.contributions`` (log-odds, additive, summing to the raw
score) into the top-k reasons by absolute contribution, each phrased from the feature's
registry description, its unit and the entity's actual value at the as-of time of the frame.

A description is either a plain label ("Days since the last order"), phrased as
"Days since the last order: 64 days", or a template that names values in braces: ``{value}``
is this feature's value and ``{<feature name>}`` any other feature's value in the same row, all
formatted by their units, e.g. "No order for {value}; usually orders every
{mean_days_between_orders}" -> "No order for 64 days; usually orders every 21 days".
"""

from __future__ import annotations

import math
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from features.model import ModelFeature, ScoringModel

UNKNOWN = "unknown"


@dataclass(frozen=True)
class Reason:
    """One signed reason: positive ``contribution`` raises the score, negative lowers it."""

    feature: str
    value: object  # the entity's actual value (None when missing)
    contribution: float  # log-odds
    text: str


def explain(
    model: ScoringModel,
    frame: pd.DataFrame,
    contributions: np.ndarray,
    *,
    top_k: int = 5,
) -> list[list[Reason]]:
    """The ``top_k`` reasons per row of ``frame``, largest absolute contribution first.

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
    phrasings = _phrasings(specs)
    needed = {int(j) for j in np.unique(order)}
    needed |= {p for j in needed for p, _, _ in phrasings[j].fields}
    cells = {j: frame[specs[j].name].tolist() for j in needed}
    reasons: list[list[Reason]] = []
    for row_number, (row_order, row_chosen) in enumerate(
        zip(order.tolist(), chosen.tolist(), strict=True)
    ):
        row_reasons = []
        for index, contribution in zip(row_order, row_chosen, strict=True):
            if contribution == 0.0:
                break
            phrasing = phrasings[index]
            value = _plain(cells[index][row_number])
            row_reasons.append(
                Reason(
                    feature=specs[index].name,
                    value=value,
                    contribution=contribution,
                    text=phrasing.render(value, cells, row_number),
                )
            )
        reasons.append(row_reasons)
    return reasons


@dataclass(frozen=True)
class _Phrasing:
    """How one feature reads, resolved once per call: ``phrase`` without per-row lookups."""

    spec: ModelFeature
    templated: bool
    fields: tuple[tuple[int, str, str], ...]  # (position, name, unit) of features the text names

    def render(self, value: object, cells: Mapping[int, list[object]], row: int) -> str:
        value_text = format_value(value, self.spec.unit)
        if not self.templated:
            return f"{self.spec.description}: {value_text}"
        substitutions = {"value": value_text}
        for position, name, unit in self.fields:
            substitutions[name] = format_value(_plain(cells[position][row]), unit)
        return self.spec.description.format_map(substitutions)


def _phrasings(specs: Sequence[ModelFeature]) -> list[_Phrasing]:
    """Per feature, what ``phrase`` would do with it; the same fallbacks, decided once."""
    position = {s.name: i for i, s in enumerate(specs)}
    out = []
    for spec in specs:
        names = _template_fields(spec.description)
        others = names - {"value"}
        # A template naming a feature this model does not have falls back to the plain form.
        templated = bool(names) and others <= position.keys()
        fields = tuple(
            (position[n], n, specs[position[n]].unit) for n in sorted(others) if templated
        )
        out.append(_Phrasing(spec, templated, fields))
    return out


def phrase(
    spec: ModelFeature, row_values: Mapping[str, object], specs: Sequence[ModelFeature]
) -> str:
    """One sentence about ``spec``'s value in this row (see the module docstring)."""
    value_text = format_value(row_values.get(spec.name), spec.unit)
    fields = _template_fields(spec.description)
    if not fields:
        return f"{spec.description}: {value_text}"
    units = {s.name: s.unit for s in specs}
    substitutions = {"value": value_text}
    for name in fields - {"value"}:
        if name not in units:
            # A template naming a feature this model does not have: fall back to the plain form.
            return f"{spec.description}: {value_text}"
        substitutions[name] = format_value(row_values.get(name), units[name])
    return spec.description.format_map(substitutions)


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
