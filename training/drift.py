"""Drift of one batch run against the champion's training reference.

Per feature (numeric and categorical) and for the score: the population stability index over the
reference's bins, computed as the symmetrised Kullback-Leibler divergence with
``scipy.special.rel_entr`` (PSI = KL(a||e) + KL(e||a); Yurdakul, "Statistical properties of the
population stability index", 2018), and a chi-square two-sample test of homogeneity on the same
bins (``scipy.stats.chi2_contingency``). The reference keeps bin counts, not rows, so a
Kolmogorov-Smirnov test (which needs both samples) does not fit; the binned chi-square is the
two-sample test that does. Also: missing-value rates now vs at training, the share of rows with a
category level training never saw, and the share of recent events of a type the model has no kind
for. Thresholds come from ``[monitoring]`` (``training.config.MonitoringConfig``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import rel_entr
from scipy.stats import chi2_contingency

from training.config import MonitoringConfig
from training.monitoring.reference import SCORE, bin_index

# Empty bins are floored at this share so one bin never makes PSI infinite (the usual
# practice; the value only matters for bins with no rows on one side).
EMPTY_BIN_SHARE = 1e-4


@dataclass(frozen=True)
class FeatureDrift:
    """One feature's (or the score's) drift; shares in [0, 1], ``p_value`` NaN when untestable."""

    name: str
    kind: str  # numeric | categorical
    psi: float
    p_value: float
    missing_reference: float
    missing_current: float
    unseen_share: float  # categorical: rows whose level the reference never saw
    unseen_levels: tuple[str, ...]
    status: str  # stable | warning | drifted
    why: str  # what made it warning/drifted, "" when stable


@dataclass(frozen=True)
class EventDrift:
    """Recent events (the horizon before the run's as-of) of types the model has no kind for."""

    events: int
    unknown: int
    unknown_types: tuple[str, ...]  # most frequent first, at most 10

    @property
    def share(self) -> float:
        return self.unknown / self.events if self.events else 0.0


@dataclass(frozen=True)
class DriftReport:
    """All drift figures of one run and task; ``drifted`` names what crossed an alert."""

    reference_cutoff: str
    rows: int
    features: tuple[FeatureDrift, ...]
    score: FeatureDrift
    events: EventDrift
    drifted: tuple[str, ...]
    score_shares: tuple[float, ...] = ()  # this run's share per reference score bin

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (stored with the run's monitoring row)."""
        data = asdict(self)
        data["events"]["share"] = self.events.share
        return data


def population_stability_index(reference: np.ndarray, current: np.ndarray) -> float:
    """PSI between two count vectors over the same bins (0 = identical shares)."""
    expected = np.maximum(reference / max(reference.sum(), 1), EMPTY_BIN_SHARE)
    actual = np.maximum(current / max(current.sum(), 1), EMPTY_BIN_SHARE)
    return float(np.sum(rel_entr(actual, expected) + rel_entr(expected, actual)))


def two_sample_p_value(reference: np.ndarray, current: np.ndarray) -> float:
    """Chi-square test of homogeneity of two count vectors; NaN with fewer than two bins used."""
    table = np.vstack([reference, current])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return float("nan")
    return float(chi2_contingency(table).pvalue)


def _numeric_counts(profile: Mapping[str, Any], values: np.ndarray) -> tuple[np.ndarray, int]:
    edges = np.asarray(profile["edges"], dtype="float64")
    known = values[~np.isnan(values)]
    counts = np.bincount(bin_index(known, edges), minlength=len(edges) + 1)
    return counts, len(values) - len(known)


def seen_levels(model: object) -> dict[str, frozenset[str]]:
    """Per categorical feature, every level ``model``'s fit saw: the levels its encoder kept
    and those it grouped as rare into "other" (``features.model.categories.RareLevelGrouper``).
    Empty for a model without such an encoder."""
    pipeline = getattr(model, "pipeline", None)
    encoder = pipeline[0] if pipeline is not None else None
    kept: Mapping[str, Collection[str]] = getattr(encoder, "levels_", {})
    grouper = getattr(encoder, "grouper_", None)
    grouped: Mapping[str, Collection[str]] = getattr(grouper, "grouped_levels_", {})
    return {
        name: frozenset(map(str, kept.get(name, ()))) | frozenset(map(str, grouped.get(name, ())))
        for name in {*kept, *grouped}
    }


def compare_feature(
    name: str,
    profile: Mapping[str, Any],
    column: pd.Series,
    config: MonitoringConfig,
    *,
    seen: Collection[str] = (),
) -> FeatureDrift:
    """Drift of one column against its reference profile (``training.monitoring.reference``).

    ``seen``: levels training saw although the profile (one cutoff's rows) lacks them, e.g. the
    rare ones it grouped into "other"; they share the reference's extra bin with the unseen
    levels but are not counted as unseen."""
    reference_missing = profile["missing"] / max(profile["rows"], 1)
    unseen: tuple[str, ...] = ()
    unseen_share = 0.0
    if profile["kind"] == "numeric":
        current, missing = _numeric_counts(profile, column.to_numpy(dtype="float64"))
        expected = np.asarray(profile["counts"], dtype="float64")
    else:
        levels = profile["levels"]
        known = column.dropna().astype(str)
        counts = known.value_counts()
        outside = counts[~counts.index.isin(list(levels))]
        unseen_counts = outside[~outside.index.isin(list(seen))]
        unseen = tuple(str(level) for level in unseen_counts.index[:10])
        unseen_share = float(unseen_counts.sum() / len(column)) if len(column) else 0.0
        # Levels outside the profile share one extra bin, empty in the reference.
        expected = np.asarray([*levels.values(), 0], dtype="float64")
        current = np.asarray([*(int(counts.get(level, 0)) for level in levels), int(outside.sum())])
        missing = int(column.isna().sum())
    current_missing = missing / len(column) if len(column) else 0.0
    psi = population_stability_index(expected, current.astype("float64"))
    reasons = []
    if psi >= config.psi_alert:
        reasons.append(f"PSI {psi:.2f} >= {config.psi_alert}")
    if abs(current_missing - reference_missing) > config.missing_rate_change:
        reasons.append(f"missing {reference_missing:.1%} -> {current_missing:.1%}")
    if unseen_share > config.unseen_level_share:
        reasons.append(f"{unseen_share:.1%} of rows have levels training never saw")
    status = "drifted" if reasons else "warning" if psi >= config.psi_warning else "stable"
    if status == "warning":
        reasons.append(f"PSI {psi:.2f} >= {config.psi_warning}")
    return FeatureDrift(
        name=name,
        kind=profile["kind"],
        psi=psi,
        p_value=two_sample_p_value(expected, current.astype("float64")),
        missing_reference=reference_missing,
        missing_current=current_missing,
        unseen_share=unseen_share,
        unseen_levels=unseen,
        status=status,
        why="; ".join(reasons),
    )


def drift_report(
    reference: Mapping[str, Any],
    features: pd.DataFrame,
    scores: np.ndarray,
    *,
    events: EventDrift,
    feature_names: Sequence[str],
    seen: Mapping[str, Collection[str]],
    config: MonitoringConfig,
) -> DriftReport:
    """Drift of a run: ``features`` (one row per scored entity, the model's columns as of the
    run) and ``scores`` (the run's stored probabilities) against ``reference``; ``seen`` holds
    per categorical feature the levels training saw (``seen_levels``), never counted unseen.

    Raises ``KeyError`` naming a model feature the reference lacks.
    """
    profiles = reference["features"]
    compared = []
    for name in feature_names:
        if name not in profiles:
            raise KeyError(f"the training reference has no profile of feature {name!r}")
        compared.append(
            compare_feature(name, profiles[name], features[name], config, seen=seen.get(name, ()))
        )
    score = compare_feature("score", profiles[SCORE], pd.Series(scores, dtype="float64"), config)
    score_counts, _ = _numeric_counts(profiles[SCORE], np.asarray(scores, dtype="float64"))
    drifted = [f.name for f in compared if f.status == "drifted"]
    if score.status == "drifted":
        drifted.append("score")
    if events.share > config.unknown_event_share:
        drifted.append("unknown event types")
    return DriftReport(
        reference_cutoff=str(reference.get("cutoff", "")),
        rows=len(features),
        features=tuple(compared),
        score=score,
        events=events,
        drifted=tuple(drifted),
        score_shares=tuple((score_counts / max(score_counts.sum(), 1)).tolist()),
    )
