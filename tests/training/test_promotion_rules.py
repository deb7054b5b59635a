"""The promotion rules as a pure function."""

from __future__ import annotations

from training.promotion import decide


def test_first_model_is_promoted_when_it_beats_baselines() -> None:
    decision = decide(
        metric="roc_auc",
        margin=0.01,
        challenger=0.8,
        champion=None,
        baselines={"days": 0.7},
        leakage_passed=True,
    )
    assert decision.promote
    assert decision.reasons == (
        "no current champion",
        "roc_auc beats naive baseline days (0.7000)",
        "leakage audit passed",
    )


def test_every_failed_rule_is_a_reason() -> None:
    decision = decide(
        metric="roc_auc",
        margin=0.01,
        challenger=0.805,
        champion=0.8,
        baselines={"days": 0.81, "orders": 0.6},
        leakage_passed=False,
    )
    assert not decision.promote
    assert decision.reasons == (
        "roc_auc 0.8050 does not beat champion 0.8000 by 0.01",
        "roc_auc 0.8050 does not beat naive days (0.8100)",
        "leakage audit failed",
    )


def test_lower_is_better_metrics_flip_the_comparison() -> None:
    decision = decide(
        metric="brier",
        margin=0.001,
        challenger=0.10,
        champion=0.12,
        baselines={},
        leakage_passed=True,
    )
    assert not decision.promote  # no baseline evaluated on a probability metric
    assert decision.reasons == ("no naive baseline was evaluated",)
    decision = decide(
        metric="brier",
        margin=0.001,
        challenger=0.10,
        champion=0.12,
        baselines={"x": 0.2},
        leakage_passed=True,
    )
    assert decision.promote


def test_champion_that_cannot_score_blocks_promotion() -> None:
    decision = decide(
        metric="roc_auc",
        margin=0.0,
        challenger=0.9,
        champion=None,
        baselines={"d": 0.5},
        leakage_passed=True,
        champion_problem="champion lacks x",
    )
    assert not decision.promote
    assert decision.reasons == ("champion lacks x",)
