"""Reasons: top-k by |contribution|, signed, phrased from the registry and the actual value."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.definitions.wording import Wording
from features.model.reasons import Reason, explain, format_value, phrase
from features.model.scoring_model import ModelFeature, ScoringModel

TEMPLATED = (
    ModelFeature(
        "days_since_last_purchase",
        "numeric",
        Wording("No order for {value}; usually orders every {mean_days_between_orders}"),
        "recency",
        "days",
    ),
    ModelFeature("mean_days_between_orders", "numeric", Wording("Usual gap"), "cadence", "days"),
    ModelFeature(
        "emails_replied_7d",
        "numeric",
        Wording("Replied to {value} emails in the last 7 days"),
        "activity",
        "count",
    ),
    ModelFeature("segment", "categorical", Wording("Segment"), "attribute", "category"),
)


class _StubModel:
    """Only what ``explain`` reads from a ScoringModel."""

    feature_specs = TEMPLATED


def _row() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "days_since_last_purchase": [64.0],
            "mean_days_between_orders": [21.2],
            "emails_replied_7d": [3.0],
            "segment": [None],
        }
    )


def test_reasons_are_top_k_by_absolute_contribution_and_signed() -> None:
    contributions = np.array([[0.9, 0.0, -1.2, 0.3, -2.0]])  # last column is the bias
    reasons = explain(_StubModel(), _row(), contributions, top_k=2)  # type: ignore[arg-type]
    assert reasons == [
        [
            Reason("emails_replied_7d", 3.0, -1.2, "Replied to 3 emails in the last 7 days"),
            Reason(
                "days_since_last_purchase",
                64.0,
                0.9,
                "No order for 64 days; usually orders every 21 days",
            ),
        ]
    ]


def test_zero_contributions_and_bias_are_never_reasons() -> None:
    contributions = np.array([[0.0, 0.0, 0.0, 0.5, 9.0]])
    reasons = explain(_StubModel(), _row(), contributions, top_k=5)  # type: ignore[arg-type]
    assert reasons == [[Reason("segment", None, 0.5, "Segment: unknown", background=True)]]


def test_shape_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"expected \(1, 5\)"):
        explain(_StubModel(), _row(), np.zeros((1, 4)))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (64.4, "days", "64 days"),
        (1.0, "days", "1 day"),
        (1234.0, "count", "1,234"),
        (12500.4, "currency", "12,500"),
        (0.345, "ratio", "34%"),
        ("Retail", "category", "Retail"),
        (2.5, "number", "2.5"),
        (3.0, "number", "3"),
        (None, "days", "unknown"),
    ],
)
def test_format_value_by_unit(value: object, unit: str, text: str) -> None:
    assert format_value(value, unit) == text


def test_template_naming_an_unknown_feature_falls_back_to_plain_text() -> None:
    spec = ModelFeature("x", "numeric", Wording("Gap vs {nope}"), "f", "days")
    assert phrase(spec, {"x": 5.0}, (spec,)) == "Gap vs {nope}: 5 days"


def test_explain_on_a_fitted_model_sums_and_phrases(
    fitted_model: ScoringModel, fitted_frame: pd.DataFrame
) -> None:
    model, rows = fitted_model, fitted_frame.head(4)
    contributions = model.contributions(rows)
    reasons = explain(model, rows, contributions, top_k=3)
    assert len(reasons) == 4
    for row_number, row_reasons in enumerate(reasons):
        assert 1 <= len(row_reasons) <= 3
        # Actionable reasons first, then background ones; strongest first within each.
        flags = [r.background for r in row_reasons]
        assert flags == sorted(flags)
        for group in (False, True):
            magnitudes = [abs(r.contribution) for r in row_reasons if r.background is group]
            assert magnitudes == sorted(magnitudes, reverse=True)
        for reason in row_reasons:
            index = model.feature_names.index(reason.feature)
            assert reason.contribution == contributions[row_number, index]
            spec = model.feature_specs[index]
            assert (
                reason.text == f"{spec.description.label}: {format_value(reason.value, spec.unit)}"
            )
