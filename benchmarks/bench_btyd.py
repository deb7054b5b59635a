"""The churn model against BG/NBD on histories drawn from the BG/NBD process (issue 9, item 5).

    python -m benchmarks.bench_btyd [--customers 20000] [--runs steady:1,steady:2,sparse:1]

Each run draws a cohort (trials over 2024, orders observed until 2026-01-01) from one parameter
set with one seed, trains the churn model through salesradar's own functions with the
production config (90-day horizon, monthly cutoffs, temporal test cutoff 2025-10-01) and prints,
on the test cutoff's rows: ROC AUC, PR AUC and ECE of salesradar, of the process's own
probability with the true parameters (the optimum) and of BG/NBD fitted on the history before
the test cutoff; salesradar's ROC AUC gap to each with its DeLong paired standard error; wall
time per step. See ``training.btyd_check``.
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime, timedelta

from features.definitions.btyd import BgNbdParameters
from training.btyd_check import SCORERS, compare_with_bg_nbd
from training.btyd_process import BgNbdCohort
from training.config import load_config

# "steady": the conformance test's process (orders about every 25 days while alive, death after
# a repeat order with probability 0.11 on average). "sparse": rarer, more varied buyers who die
# sooner (rates Gamma(0.3, 30 days): mean one order every 100 days; deaths Beta(0.9, 2.5)).
PARAMETER_SETS = {
    "steady": BgNbdParameters(r=0.8, alpha=20.0, a=0.5, b=4.0),
    "sparse": BgNbdParameters(r=0.3, alpha=30.0, a=0.9, b=2.5),
}


def _run(name: str, seed: int, customers: int) -> None:
    cohort = BgNbdCohort(
        params=PARAMETER_SETS[name],
        customers=customers,
        start=datetime(2024, 1, 1),
        acquisition_days=366.0,
        end=datetime(2026, 1, 1),
    )
    start = time.perf_counter()
    result = compare_with_bg_nbd(cohort, seed=seed, config=load_config(), horizon=timedelta(90))
    total = time.perf_counter() - start
    steps = ", ".join(f"{k} {v:.1f}s" for k, v in result.seconds.items())
    print(
        f"\n{name} {cohort.params}, seed {seed}: {result.train_rows:,} train+calibration rows, "
        f"{result.test_rows:,} test rows ({result.test_positives:,} with no order in 90 days) "
        f"at {result.test_cutoff:%Y-%m-%d}; {total:.1f} s ({steps})"
    )
    f = result.fitted
    print(f"  fitted r={f.r:.3f} alpha={f.alpha:.2f} days a={f.a:.3f} b={f.b:.3f}")
    print(f"  {'scorer':<11} {'ROC AUC':>8} {'PR AUC':>8} {'ECE':>7} {'salesradar - it (SE)':>22}")
    for scorer in SCORERS:
        m = result.metrics[scorer]
        gap = ""
        if scorer != "salesradar":
            difference = result.roc_auc("salesradar") - m["roc_auc"]
            gap = f"{difference:+.4f} ({result.auc_gap_se[scorer]:.4f})"
        print(f"  {scorer:<11} {m['roc_auc']:8.4f} {m['pr_auc']:8.4f} {m['ece']:7.4f} {gap:>22}")
    print(f"  salesradar ROC AUC standard error (DeLong): {result.auc_se:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument(
        "--runs",
        default="steady:1,steady:2,sparse:1",
        help="parameter-set:seed pairs, comma separated (sets: " + ", ".join(PARAMETER_SETS) + ")",
    )
    args = parser.parse_args()
    for item in args.runs.split(","):
        name, _, seed = item.partition(":")
        if name not in PARAMETER_SETS or not seed.isdigit():
            raise SystemExit(
                f"--runs: {item!r} is not <set>:<seed>, sets: {', '.join(PARAMETER_SETS)}"
            )
        _run(name, int(seed), args.customers)


if __name__ == "__main__":
    main()
