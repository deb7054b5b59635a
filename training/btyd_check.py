"""The churn model against BG/NBD on histories drawn from the BG/NBD process (issue 9, item 5).

``compare_with_bg_nbd`` draws a cohort (``training.btyd_process``), runs it through salesradar
exactly as ``salesradar train churn`` would (vocabulary learnt before the as-of time, monthly
cutoffs whose label window has closed, ``build_training_set``, ``train_task`` with the given
config), and scores the model's temporal test cutoff three ways on the same rows:

- ``salesradar``: the trained, calibrated model (as ``train_task`` evaluates it);
- ``optimum``: the process's own P(no purchase in (t, t + h] | x, t_x, T) with the true
  parameters — the best any score can do in expectation, since the label is exactly that event;
- ``bg_nbd``: the same probability under BG/NBD parameters fitted by maximum likelihood on the
  histories as of the test cutoff t (events strictly before t, the history salesradar's model
  had; no outcome after t is read).

Used by ``tests/training/test_btyd_process.py`` (assertions) and ``benchmarks.bench_btyd``
(figures). Reads and writes no files.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from features.compute.snapshots import build_training_set, default_cutoffs
from features.contract.export import Export
from features.contract.tasks import Task
from features.definitions.btyd import BgNbdParameters, probability_no_purchase
from features.definitions.vocabulary import learn_vocabulary
from training.btyd import fit_bg_nbd, purchase_histories
from training.btyd_process import BgNbdCohort, simulate_bg_nbd
from training.config import TrainingConfig
from training.metrics import probability_metrics
from training.trainer import LeakageResult, TrainedTask, train_task

SCORERS = ("salesradar", "optimum", "bg_nbd")


@dataclass
class BtydComparison:
    """Figures on the temporal test cutoff; ``metrics[scorer]`` as ``probability_metrics``
    gives them (roc_auc, pr_auc, ece, ...); ``auc_gap_se[scorer]`` is the DeLong standard error
    of salesradar's ROC AUC minus that scorer's on the same rows."""

    cohort: BgNbdCohort
    seed: int
    test_cutoff: datetime
    test_rows: int
    test_positives: int
    train_rows: int
    fitted: BgNbdParameters
    metrics: dict[str, dict[str, float]]
    auc_se: float  # DeLong standard error of salesradar's own ROC AUC
    auc_gap_se: dict[str, float]
    trained: TrainedTask
    seconds: dict[str, float] = field(default_factory=dict)

    def roc_auc(self, scorer: str) -> float:
        return self.metrics[scorer]["roc_auc"]


def compare_with_bg_nbd(
    cohort: BgNbdCohort,
    *,
    seed: int,
    config: TrainingConfig,
    horizon: timedelta,
    as_of: datetime | None = None,
) -> BtydComparison:
    """Draw ``cohort`` with ``seed``, train salesradar's churn model on it and compare.

    ``as_of`` (naive UTC) is the time the export describes; default ``cohort.end``, where the
    simulated observation stops. ``horizon`` is the label window (and the BG/NBD forecast span).
    """
    seconds: dict[str, float] = {}
    as_of = as_of or cohort.end
    clock = time.perf_counter()
    histories = simulate_bg_nbd(cohort, seed=seed)
    export = histories.export()
    seconds["simulate"] = time.perf_counter() - clock
    try:
        trained = train_churn(
            export, as_of=as_of, horizon=horizon, config=config, seed=seed, seconds=seconds
        )
        test_cutoff = trained.split.test[0]
        summary = purchase_histories(
            export, as_of=test_cutoff, activity_types=trained.model.vocabulary.activity_types
        )
    finally:
        export.close()
    clock = time.perf_counter()
    test = trained.test_frame
    rows = summary.set_index("entity_id").loc[test["entity_id"]]
    x, t_x, t_obs = (rows[c].to_numpy() for c in ("x", "t_x", "T"))
    fitted = fit_bg_nbd(summary["x"], summary["t_x"], summary["T"])
    days = horizon / timedelta(days=1)
    scores = {
        "salesradar": trained.evaluation.scores.model,
        "optimum": probability_no_purchase(cohort.params, x, t_x, t_obs, days=days),
        "bg_nbd": probability_no_purchase(fitted, x, t_x, t_obs, days=days),
    }
    seconds["bg_nbd"] = time.perf_counter() - clock
    labels = test["label"].to_numpy(dtype="int64")
    values = test["value"].to_numpy(dtype="float64")
    metrics = {
        name: probability_metrics(
            labels,
            s,
            values,
            capacity=config.evaluation.capacity[Task.CHURN],
            ece_bins=config.evaluation.ece_bins,
        )
        for name, s in scores.items()
    }
    _, auc_se = delong_difference(labels, scores["salesradar"], None)
    gap_se = {
        name: delong_difference(labels, scores["salesradar"], scores[name])[1]
        for name in ("optimum", "bg_nbd")
    }
    train_rows = trained.counts()["train_rows"] + trained.counts()["calibration_rows"]
    return BtydComparison(
        cohort=cohort,
        seed=seed,
        test_cutoff=test_cutoff,
        test_rows=len(labels),
        test_positives=int(labels.sum()),
        train_rows=train_rows,
        fitted=fitted,
        metrics=metrics,
        auc_se=auc_se,
        auc_gap_se=gap_se,
        trained=trained,
        seconds=seconds,
    )


def train_churn(
    export: Export,
    *,
    as_of: datetime,
    horizon: timedelta,
    config: TrainingConfig,
    seed: int,
    seconds: dict[str, float] | None = None,
) -> TrainedTask:
    """The churn model of ``export`` as ``salesradar train churn`` fits it: vocabulary learnt
    before ``as_of``, monthly cutoffs whose label window closed by then, ``build_training_set``,
    ``train_task`` (which adds the derived BG/NBD features). Step times go to ``seconds``."""
    seconds = {} if seconds is None else seconds
    clock = time.perf_counter()
    vocabulary = learn_vocabulary(export, task=Task.CHURN, before=as_of, settings=config.vocabulary)
    cutoffs = default_cutoffs(export, task=Task.CHURN, horizon=horizon, as_of=as_of)
    training_set = build_training_set(
        export, task=Task.CHURN, cutoffs=cutoffs, horizon=horizon, vocabulary=vocabulary
    )
    seconds["features"] = time.perf_counter() - clock
    clock = time.perf_counter()
    trained = train_task(
        training_set.frame,
        training_set.specs,
        task=Task.CHURN,
        vocabulary=vocabulary,
        horizon=horizon,
        config=config,
        seed=seed,
        leakage=LeakageResult(()),
    )
    seconds["train"] = time.perf_counter() - clock
    return trained


def delong_difference(
    labels: np.ndarray, first: np.ndarray, second: np.ndarray | None
) -> tuple[float, float]:
    """ROC AUC of ``first`` minus that of ``second`` on the same rows, and its standard error
    (DeLong, DeLong and Clarke-Pearson 1988, with midranks as in Sun and Xu 2014). With
    ``second`` None: ``first``'s ROC AUC and its own standard error. Labels 1 are positives."""
    labels = np.asarray(labels).astype(bool)
    scorers = [np.asarray(first, dtype="float64")]
    if second is not None:
        scorers.append(np.asarray(second, dtype="float64"))
    m, n = int(labels.sum()), int((~labels).sum())
    aucs, v10, v01 = [], [], []
    for score in scorers:
        pos, neg = score[labels], score[~labels]
        combined = rankdata(np.concatenate([pos, neg]))
        within_pos, within_neg = rankdata(pos), rankdata(neg)
        aucs.append((combined[:m].sum() - m * (m + 1) / 2) / (m * n))
        v10.append((combined[:m] - within_pos) / n)
        v01.append(1.0 - (combined[m:] - within_neg) / m)
    s10 = np.atleast_2d(np.cov(np.vstack(v10)))
    s01 = np.atleast_2d(np.cov(np.vstack(v01)))
    contrast = np.array([1.0] if second is None else [1.0, -1.0])
    variance = contrast @ s10 @ contrast / m + contrast @ s01 @ contrast / n
    return float(contrast @ np.array(aucs)), float(np.sqrt(variance))


def summary_row(result: BtydComparison) -> pd.DataFrame:
    """One row per scorer: ROC AUC, PR AUC, ECE and salesradar's gap to it (with its SE)."""
    rows = []
    for name in SCORERS:
        m = result.metrics[name]
        gap = result.roc_auc("salesradar") - m["roc_auc"]
        rows.append(
            {
                "scorer": name,
                "roc_auc": m["roc_auc"],
                "pr_auc": m["pr_auc"],
                "ece": m["ece"],
                "salesradar_minus": gap if name != "salesradar" else float("nan"),
                "gap_se": result.auc_gap_se.get(name, float("nan")),
            }
        )
    return pd.DataFrame(rows)
