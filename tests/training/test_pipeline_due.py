"""When a champion is due for retraining: schedule, drift, realised performance."""

from __future__ import annotations

from datetime import datetime

from training.config import PipelineConfig
from training.pipeline.due import MaturedRun, retrain_due

AS_OF = datetime(2026, 10, 1)
CONFIG = PipelineConfig(max_model_age_days=90, retrain_on_drift=True, performance_margin=0.05)
TRAINED = {"roc_auc": 0.80, "pr_auc": 0.50}


def _due(**changes: object):  # type: ignore[no-untyped-def]
    arguments: dict[str, object] = {
        "config": CONFIG,
        "as_of": AS_OF,
        "trained_as_of": datetime(2026, 8, 1),
        "drifted": (),
        "drift_run": "r1",
        "matured": MaturedRun("r0", datetime(2026, 6, 1), {"roc_auc": 0.79, "pr_auc": 0.48}),
        "trained": TRAINED,
    }
    return retrain_due(**{**arguments, **changes})  # type: ignore[arg-type]


def test_a_young_stable_well_performing_model_is_not_due_and_says_why() -> None:
    verdict = _due()
    assert not verdict.due
    assert verdict.reasons == (
        "model age 61 days (trained as of 2026-08-01) <= 90",
        "run r1: no drift",
        "roc_auc 0.790 on run r0 vs 0.800 at training: within 0.05",
        "pr_auc 0.480 on run r0 vs 0.500 at training: within 0.05",
    )


def test_each_trigger_fires_on_its_own() -> None:
    old = _due(trained_as_of=datetime(2026, 6, 1))
    assert old.due and old.reasons == ("model age 122 days (trained as of 2026-06-01) > 90",)
    drifted = _due(drifted=("score", "plan"))
    assert drifted.due and drifted.reasons == ("run r1 drifted: score, plan",)
    worse = _due(matured=MaturedRun("r0", datetime(2026, 6, 1), {"roc_auc": 0.70, "pr_auc": 0.5}))
    assert worse.due and worse.reasons == (
        "roc_auc 0.700 on run r0 vs 0.800 at training: below by more than 0.05",
    )


def test_drift_with_retrain_on_drift_off_and_undefined_figures_trigger_nothing() -> None:
    off = PipelineConfig(max_model_age_days=90, retrain_on_drift=False, performance_margin=0.05)
    verdict = _due(
        config=off,
        drifted=("score",),
        matured=MaturedRun("r0", datetime(2026, 6, 1), {"roc_auc": None, "pr_auc": float("nan")}),
    )
    assert not verdict.due
    assert "run r1 drifted (score); retrain_on_drift off" in verdict.reasons
    assert "roc_auc: undefined on run r0 or at training" in verdict.reasons
    assert "pr_auc: undefined on run r0 or at training" in verdict.reasons
