"""The monitoring report's plots: a feature name the font cannot draw shows as boxes, without
matplotlib's missing-glyph warning in ``monitor``'s output (as ``training.plots`` does)."""

from __future__ import annotations

import warnings
from datetime import datetime
from pathlib import Path

from features.contract.tasks import Task
from training.drift import DriftReport, EventDrift, FeatureDrift
from training.monitoring.outcomes import RunOutcome, TierOutcome
from training.monitoring.reference import SCORE
from training.monitoring.report import write_plots


def _drift(name: str, psi: float) -> FeatureDrift:
    return FeatureDrift(
        name=name, kind="numeric", psi=psi, p_value=0.5, missing_reference=0.0,
        missing_current=0.0, unseen_share=0.0, unseen_levels=(), status="stable", why="",
    )  # fmt: skip


def test_a_feature_name_the_font_lacks_draws_without_a_library_warning(tmp_path: Path) -> None:
    outcome = RunOutcome(
        run_id="r", task=Task.CHURN, model_name="salesradar-churn", model_version="3",
        as_of=datetime(2026, 3, 1), window_end=datetime(2026, 5, 30), horizon_days=90,
        partial=False, scored=100, matched=100, positives=30, metrics={},
        tiers=(TierOutcome(tier="high", entities=40, realised_rate=0.6, expected_rate=0.55),),
        reliability={"predicted": [0.2, 0.6], "observed": [0.25, 0.5]},
    )  # fmt: skip
    drift = DriftReport(
        reference_cutoff="2026-01-01",
        rows=100,
        features=(_drift("launch 🚀 stage", 0.3), _drift("days_since_order", 0.1)),
        score=_drift(SCORE, 0.05),
        events=EventDrift(events=10, unknown=0, unknown_types=()),
        drifted=(),
        score_shares=(0.5, 0.5),
    )
    reference = {"features": {SCORE: {"counts": [60, 40]}}}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        paths = write_plots(outcome, drift, reference, tmp_path)
    assert set(paths) == {"reliability", "scores", "psi"}
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in paths.values())
    assert [str(w.message) for w in caught if "Glyph" in str(w.message)] == []
