"""What changed between an entity's previous and latest stored score, exactly.

Each batch run stores every feature's log-odds contribution per entity (``ScoreDetail``). With
the same model in both runs the bias is the same, so the change in raw log-odds is exactly the
sum of the per-feature contribution changes: every term is listed (``terms`` in ``decompose``)
and the movers are the largest terms in the direction the score moved, phrased "was X, now Y"
from the stored feature values. The contributions are stored as float32, so the terms add up
to the stored float64 margin change within float32 rounding: at most ``2**-24`` of each stored
contribution's magnitude, twice (``sum_tolerance``). When the model changed between the runs
the contributions of two models do not subtract into a meaningful split, so the change says
``model_changed`` and lists no movers. Runs written before contributions were stored fall back
to their top reasons (``exact`` false: those movers need not add up to the change).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from features.contract.times import iso_utc
from features.model.reasons import format_value
from serving.store.database import FeatureInfo, RunDetail, StoredScore

TOP_MOVERS = 3
FLOAT32_EPSILON = 2.0**-24  # relative rounding of one float64 -> float32 conversion


@dataclass(frozen=True)
class Term:
    """One feature's change in contribution (log-odds) between two runs of the same model."""

    feature: FeatureInfo
    previous_contribution: float
    contribution: float
    previous_value: object
    value: object

    @property
    def change(self) -> float:
        return self.contribution - self.previous_contribution

    def text(self) -> str:
        """ "Days since the last order: was 12 days, now 64 days" (unit-formatted values)."""
        unit = self.feature.unit
        before = format_value(self.previous_value, unit)
        after = format_value(self.value, unit)
        return f"{self.feature.label}: was {before}, now {after}"


def same_model(latest: RunDetail, previous: RunDetail) -> bool:
    """Whether both runs scored with the same model version over the same feature list."""
    return (latest.model_name, latest.model_version, latest.features) == (
        previous.model_name,
        previous.model_version,
        previous.features,
    )


def _value(detail: RunDetail, position: int) -> object:
    feature = detail.features[position]
    if feature.name in detail.detail.levels:
        return detail.detail.levels[feature.name]
    number = float(detail.detail.numbers[position])
    return None if math.isnan(number) else number


def decompose(latest: RunDetail, previous: RunDetail) -> list[Term]:
    """Every feature's term, in the model's order; ``same_model`` must hold (ValueError)."""
    if not same_model(latest, previous):
        raise ValueError("contributions of different models do not decompose a change")
    return [
        Term(
            feature=feature,
            previous_contribution=float(previous.detail.contributions[j]),
            contribution=float(latest.detail.contributions[j]),
            previous_value=_value(previous, j),
            value=_value(latest, j),
        )
        for j, feature in enumerate(latest.features)
    ]


def sum_tolerance(latest: RunDetail, previous: RunDetail) -> float:
    """The most the float32-stored terms (and bias) may miss the float64 margin change by."""
    magnitude = np.abs(latest.detail.contributions).sum()
    magnitude += np.abs(previous.detail.contributions).sum()
    return float(2 * FLOAT32_EPSILON * magnitude)


def _movers(terms: list[Term], margin_delta: float) -> list[dict[str, Any]]:
    """The largest nonzero terms in the direction of ``margin_delta`` (either way at 0)."""
    moved = [t for t in terms if t.change != 0.0]
    if margin_delta != 0.0:
        moved = [t for t in moved if (t.change > 0) == (margin_delta > 0)]
    moved.sort(key=lambda t: -abs(t.change))
    return [
        {
            "feature": t.feature.name,
            "previous_value": t.previous_value,
            "value": t.value,
            "previous_contribution": t.previous_contribution,
            "contribution": t.contribution,
            "change": t.change,
            "text": t.text(),
        }
        for t in moved[:TOP_MOVERS]
    ]


def _reason_movers(latest: StoredScore, previous: StoredScore) -> list[dict[str, Any]]:
    """Movers from the stored top reasons alone (runs without contributions): a feature absent
    from one side counts as 0 there, so these need not add up to the change."""
    before = {r["feature"]: r for r in previous.reasons}
    after = {r["feature"]: r for r in latest.reasons}
    movers = []
    for feature in dict.fromkeys([*after, *before]):
        old, new = before.get(feature), after.get(feature)
        old_c = None if old is None else float(old["contribution"])
        new_c = None if new is None else float(new["contribution"])
        movers.append(
            {
                "feature": feature,
                "previous_value": None if old is None else old.get("value"),
                "value": None if new is None else new.get("value"),
                "previous_contribution": old_c,
                "contribution": new_c,
                "change": (new_c or 0.0) - (old_c or 0.0),
                "text": (new or old or {}).get("text", feature),
            }
        )
    movers.sort(key=lambda m: -abs(m["change"]))
    rise = latest.probability - previous.probability
    if rise != 0.0:
        movers = [m for m in movers if (m["change"] > 0) == (rise > 0)]
    return [m for m in movers if m["change"] != 0.0][:TOP_MOVERS]


def describe_change(
    latest: StoredScore,
    previous: StoredScore | None,
    *,
    latest_detail: RunDetail | None,
    previous_detail: RunDetail | None,
) -> dict[str, Any] | None:
    """Score delta and what moved it (None without a previous score).

    ``*_detail`` are the entities' stored contributions in each run (None: not recorded).
    ``margin_delta`` is the change in raw log-odds when it decomposes (same model, both
    recorded), else None; ``model_changed`` says the model differs between the runs (no
    movers then); ``exact`` says the movers are terms of that decomposition.
    ``previous_as_of`` is an ``iso_utc`` string.
    """
    if previous is None:
        return None
    changed = (latest.model_name, latest.model_version) != (
        previous.model_name,
        previous.model_version,
    )
    margin_delta: float | None = None
    movers: list[dict[str, Any]] = []
    exact = False
    if latest_detail is not None and previous_detail is not None:
        changed = changed or not same_model(latest_detail, previous_detail)
        if not changed:
            margin_delta = latest_detail.detail.raw_margin - previous_detail.detail.raw_margin
            movers = _movers(decompose(latest_detail, previous_detail), margin_delta)
            exact = True
    elif not changed:
        movers = _reason_movers(latest, previous)
    return {
        "previous_score": previous.score,
        "previous_probability": previous.probability,
        "previous_as_of": iso_utc(previous.as_of),
        "score_delta": latest.score - previous.score,
        "probability_delta": latest.probability - previous.probability,
        "margin_delta": margin_delta,
        "model_changed": changed,
        "previous_model": {"name": previous.model_name, "version": previous.model_version},
        "exact": exact,
        "movers": movers,
    }
