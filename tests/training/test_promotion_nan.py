"""A NaN metric never beats anything: the promotion rules refuse it whatever else holds."""

from __future__ import annotations

import pytest

from training.promotion import decide


@pytest.mark.parametrize(
    ("champion", "baselines"),
    [
        (None, {"days": float("nan")}),  # no champion, baseline undefined too
        (None, {"days": 0.6}),
        (0.7, {"days": 0.6}),
    ],
)
def test_a_nan_challenger_is_never_promoted(
    champion: float | None, baselines: dict[str, float]
) -> None:
    decision = decide(
        metric="roc_auc",
        margin=0.002,
        challenger=float("nan"),
        champion=champion,
        baselines=baselines,
        leakage_passed=True,
    )
    assert not decision.promote
    assert decision.reasons[0] == "challenger roc_auc is NaN: undefined on its test set"
