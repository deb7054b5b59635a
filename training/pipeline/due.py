"""Is a champion due for retraining? Schedule, drift, or degraded realised performance.

A pure function of figures the pipeline reads at its edges (the champion's training as-of and
test metrics from MLflow, the monitoring results from the scores database); thresholds come
from ``[pipeline]`` in the training config.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from training.config import PipelineConfig

# The ranking metrics monitoring reports at maturity and training reports on its test set.
PERFORMANCE_METRICS = ("roc_auc", "pr_auc")


@dataclass(frozen=True)
class MaturedRun:
    """The realised metrics of the champion's latest batch run whose label window closed."""

    run_id: str
    as_of: datetime
    metrics: Mapping[str, float | None]  # None: undefined (stored as JSON null)


@dataclass(frozen=True)
class DueVerdict:
    """``due``: retrain now; ``reasons``: every trigger that fired, else why none did."""

    due: bool
    reasons: tuple[str, ...]


def retrain_due(
    *,
    config: PipelineConfig,
    as_of: datetime,
    trained_as_of: datetime,
    drifted: Sequence[str] | None,
    drift_run: str | None,
    matured: MaturedRun | None,
    trained: Mapping[str, float],
) -> DueVerdict:
    """Decide whether to retrain a champion trained as of ``trained_as_of``, at ``as_of``.

    Due when (1) the model is older than ``max_model_age_days`` (days between the two as-ofs),
    (2) ``retrain_on_drift`` and the latest monitored run ``drift_run`` has ``drifted`` names,
    or (3) a matured run's realised ROC AUC or PR AUC is more than ``performance_margin``
    below the champion's test figure in ``trained``. An undefined (None/NaN) figure on either
    side triggers nothing and is said so. No monitored run: only the schedule can trigger.
    """
    fired: list[str] = []
    quiet: list[str] = []
    age_days = (as_of - trained_as_of).total_seconds() / 86_400
    limit = config.max_model_age_days
    (fired if age_days > limit else quiet).append(
        f"model age {age_days:.0f} days (trained as of {trained_as_of:%Y-%m-%d}) "
        f"{'>' if age_days > limit else '<='} {limit}"
    )
    if drift_run is None:
        quiet.append("no monitored run: drift not measured yet")
    elif drifted and config.retrain_on_drift:
        fired.append(f"run {drift_run} drifted: {', '.join(drifted)}")
    elif drifted:
        quiet.append(f"run {drift_run} drifted ({', '.join(drifted)}); retrain_on_drift off")
    else:
        quiet.append(f"run {drift_run}: no drift")
    if matured is None:
        quiet.append("no matured run: realised performance not known yet")
    else:
        for metric in PERFORMANCE_METRICS:
            realised, expected = matured.metrics.get(metric), trained.get(metric)
            if realised is None or expected is None or math.isnan(realised + expected):
                quiet.append(f"{metric}: undefined on run {matured.run_id} or at training")
                continue
            words = f"{metric} {realised:.3f} on run {matured.run_id} vs {expected:.3f} at training"
            if expected - realised > config.performance_margin:
                fired.append(f"{words}: below by more than {config.performance_margin}")
            else:
                quiet.append(f"{words}: within {config.performance_margin}")
    return DueVerdict(due=bool(fired), reasons=tuple(fired or quiet))
