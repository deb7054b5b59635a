"""Benchmark `generate_crm` at full scale: 100k customers, 50k leads, ~10M events.

Run as ``python -m benchmarks.bench_generate [--repeat N] [--leads N] [--customers N]``. Prints
the median wall time, the peak RSS of this process and the sizes written; asserts nothing.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from features.synthetic import DEFAULT_AS_OF, generate_crm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leads", type=int, default=50_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--format", default="parquet", choices=("parquet", "csv"))
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--no-truth", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-generate-"))
    timings = []
    try:
        for i in range(args.repeat):
            start = time.perf_counter()
            summary = generate_crm(
                work / f"run{i}",
                leads=args.leads,
                customers=args.customers,
                seed=7,
                as_of=DEFAULT_AS_OF,
                months=args.months,
                fmt=args.format,
                truth=not args.no_truth,
            )
            timings.append(time.perf_counter() - start)
            size = sum(p.stat().st_size for p in (work / f"run{i}").rglob("*") if p.is_file())
            shutil.rmtree(work / f"run{i}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    events = summary.lead_events + summary.customer_events
    print(
        f"generate_crm: {args.leads:,} leads, {args.customers:,} customers, {args.months} months, "
        f"{args.format}, truth={'no' if args.no_truth else 'yes'}"
    )
    print(
        f"  events written:   {events:,} ({summary.lead_events:,} lead, "
        f"{summary.customer_events:,} customer)"
    )
    print(f"  export size:      {size / 1e6:,.0f} MB")
    print(
        f"  wall time median: {statistics.median(timings):.1f} s over {len(timings)} run(s) "
        f"(all: {', '.join(f'{t:.1f}' for t in timings)})"
    )
    print(f"  peak RSS:         {peak_mb:,.0f} MB")
    for task, auc in summary.truth_auc.items():
        print(
            f"  ground truth {task}: ROC AUC {auc:.3f}, "
            f"{summary.positives_per_cutoff[task]:,.0f} positives per cutoff"
        )


if __name__ == "__main__":
    main()
