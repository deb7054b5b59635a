"""``explain`` picks and phrases only the top-k; it must equal the row-by-row reference it replaced.

The reference below is the implementation as it was (every feature of every row read and
plain-converted, one ``phrase`` call per reason), kept as the oracle; the one change since is
the documented order: actionable reasons first, then background ones (a stable sort on the
flag), each marked.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from features.definitions.wording import Wording
from features.model.reasons import Reason, _plain, explain, is_background, phrase
from features.model.scoring_model import ModelFeature, ScoringModel


def _reference_explain(
    model: object, frame: pd.DataFrame, contributions: np.ndarray, *, top_k: int = 5
) -> list[list[Reason]]:
    specs = model.feature_specs  # type: ignore[attr-defined]
    values = frame[[s.name for s in specs]]
    reasons: list[list[Reason]] = []
    for row_number, row in enumerate(values.itertuples(index=False, name=None)):
        row_values = {s.name: _plain(v) for s, v in zip(specs, row, strict=True)}
        feature_contributions = contributions[row_number, :-1]
        order = np.argsort(-np.abs(feature_contributions), kind="stable")
        row_reasons = []
        for index in order[:top_k]:
            contribution = float(feature_contributions[index])
            if contribution == 0.0:
                break
            spec = specs[index]
            row_reasons.append(
                Reason(
                    spec.name,
                    row_values[spec.name],
                    contribution,
                    phrase(spec, row_values, specs),
                    background=is_background(spec.family),
                )
            )
        reasons.append(sorted(row_reasons, key=lambda r: r.background))
    return reasons


WIDE = (
    ModelFeature(
        "gap", "numeric", Wording("No order for {value}; usually every {usual}"), "r", "days"
    ),
    ModelFeature("usual", "numeric", Wording("Usual gap"), "f", "days"),
    ModelFeature("count", "numeric", Wording("Orders"), "f", "count"),
    ModelFeature(
        "spend", "numeric", Wording("Spend {value} vs {missing_feature}"), "m", "currency"
    ),
    ModelFeature("share", "numeric", Wording("Share {value} of {count} orders"), "m", "ratio"),
    ModelFeature("odd", "numeric", Wording("Stray {brace"), "m", "number"),
    ModelFeature("segment", "categorical", Wording("Segment"), "a", "category"),
    ModelFeature("plan", "categorical", Wording("Plan {value}"), "a", "category"),
    # Cases: one names a feature the model lacks (falls back), another a feature it has.
    ModelFeature(
        "trend",
        "numeric",
        Wording.of(
            "Trend",
            {
                "=0": "Flat vs {nowhere}",
                "<0": "Down {value} with {count} orders",
                "other": "Up {value}, usual gap {usual}",
            },
        ),
        "t",
        "count",
    ),
)


class _Wide:
    feature_specs = WIDE


def _wide_frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    gap = rng.gamma(2.0, 20.0, rows)
    gap[rng.random(rows) < 0.2] = np.nan
    return pd.DataFrame(
        {
            "gap": gap,
            "usual": np.round(rng.gamma(2.0, 10.0, rows), 1),
            "count": pd.array(rng.integers(0, 5, rows), dtype="Int64"),
            "spend": rng.gamma(2.0, 900.0, rows),
            "share": rng.random(rows),
            "odd": rng.normal(size=rows),
            "segment": pd.array(rng.choice(["a", "b", None], rows), dtype="str"),
            "plan": pd.Series(rng.choice(["gold", "silver"], rows), dtype=object),
            "trend": rng.choice([-2.0, 0.0, -0.0, 0.4, 3.0, np.nan], rows),
        },
        index=pd.Index([f"E{i}" for i in range(rows)], name="entity_id"),
    )


def test_matches_the_reference_with_ties_zeros_templates_and_missing_values() -> None:
    rows = 400
    frame = _wide_frame(rows, seed=4)
    rng = np.random.default_rng(9)
    # Contributions drawn from a few levels so that ties and exact zeros are frequent.
    contributions = rng.choice([-0.5, -0.25, 0.0, 0.0, 0.25, 0.5, 1.0], size=(rows, len(WIDE) + 1))
    contributions[:5, :-1] = 0.0  # rows with no reason at all
    frame.loc[frame.index[7], "count"] = pd.NA
    # Equal but shown apart ("0" / "-0"): remembered sentences must keep them apart.
    frame.loc[frame.index[10:40], "odd"] = [0.0, -0.0] * 15
    for top_k in (1, 3, 5, 20):
        got = explain(_Wide(), frame, contributions, top_k=top_k)  # type: ignore[arg-type]
        want = _reference_explain(_Wide(), frame, contributions, top_k=top_k)
        assert got == want
    assert explain(_Wide(), frame, contributions)[:5] == [[], [], [], [], []]  # type: ignore[arg-type]


def test_matches_the_reference_on_a_fitted_model(
    fitted_model: ScoringModel, fitted_frame: pd.DataFrame
) -> None:
    model, frame = fitted_model, fitted_frame.head(800)
    contributions = model.contributions(frame)
    got = explain(model, frame, contributions, top_k=2)
    assert got == _reference_explain(model, frame, contributions, top_k=2)
    # Values are plain Python: floats, strings, and None (never NaN) for missing.
    values = [r.value for row in got for r in row]
    assert all(v is None or isinstance(v, float | str) for v in values)
    assert not any(isinstance(v, float) and math.isnan(v) for v in values)
