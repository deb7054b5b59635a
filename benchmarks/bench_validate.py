"""Time and peak memory of validating and loading a ~10M-event export, as CSV and as Parquet.

    python -m benchmarks.bench_validate [--source synthetic|hashed] [--customers 100000
        --leads 50000] [--events 10000000 (hashed only)] [--repeat N]

``--source synthetic`` (the default) writes the export with ``features.synthetic.generate_crm``
(24 months, Parquet) and copies it to CSV with DuckDB; ``--source hashed`` builds a plainer
export in DuckDB from hashes of the row number, with exactly ``--events`` events split 80/20
between customers and leads. Both are deterministic for a seed. Each measurement runs in a
fresh process so its peak RSS (``ru_maxrss``) is its own.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

from features.contract.export import new_connection

AS_OF = datetime(2026, 1, 1)

# h(i, k, n): a deterministic pseudo-random integer in [0, n) for row i and stream k.
_MACRO = "CREATE MACRO h(i, k, n) AS CAST(hash(i, {seed}, k) % n AS BIGINT)"
_TABLES = {
    "leads": """
        SELECT 'L' || lpad(i::VARCHAR, 7, '0') AS lead_id,
               TIMESTAMP '2023-01-01' + to_seconds(h(i, 1, 63072000)) AS created_at,
               'o' || h(i, 2, 40) AS owner_id,
               CASE WHEN h(i, 3, 5) = 0 THEN TIMESTAMP '2023-01-01'
                    + to_seconds(h(i, 1, 63072000)) + INTERVAL 30 DAY END AS converted_at,
               h(i, 4, 100000)::DOUBLE AS expected_value,
               ['retail', 'software', 'health', 'logistics'][1 + h(i, 5, 4)] AS industry,
               1 + h(i, 6, 5000) AS employees
        FROM range(1, {leads} + 1) t(i)""",
    "customers": """
        SELECT 'C' || lpad(i::VARCHAR, 7, '0') AS customer_id,
               TIMESTAMP '2022-01-01' + to_seconds(h(i, 1, 31536000)) AS created_at,
               'o' || h(i, 2, 40) AS owner_id,
               CASE WHEN h(i, 3, 10) = 0 THEN TIMESTAMP '2025-06-01' END AS churned_at,
               h(i, 4, 200000)::DOUBLE AS annual_value,
               ['gold', 'silver', 'bronze'][1 + h(i, 5, 3)] AS plan
        FROM range(1, {customers} + 1) t(i)""",
    "customer_events": """
        SELECT 'C' || lpad((1 + h(i, 1, {customers}))::VARCHAR, 7, '0') AS customer_id,
               TIMESTAMP '2023-01-01' + to_seconds(h(i, 2, 94608000)) AS occurred_at,
               ['order', 'ticket', 'call', 'email', 'meeting'][1 + h(i, 3, 5)] AS type,
               CASE WHEN h(i, 3, 5) = 0 THEN h(i, 4, 5000)::DOUBLE END AS value,
               ['phone', 'email', 'web'][1 + h(i, 5, 3)] AS channel
        FROM range(1, {customer_events} + 1) t(i)""",
    "lead_events": """
        SELECT 'L' || lpad((1 + h(i, 1, {leads}))::VARCHAR, 7, '0') AS lead_id,
               TIMESTAMP '2025-01-01' + to_seconds(h(i, 2, 31536000)) AS occurred_at,
               ['call', 'email', 'demo', 'quote'][1 + h(i, 3, 4)] AS type,
               NULL::DOUBLE AS value,
               ['inbound', 'outbound'][1 + h(i, 5, 2)] AS direction
        FROM range(1, {lead_events} + 1) t(i)""",
}


def build_exports(root: Path, *, leads: int, customers: int, events: int, seed: int) -> None:
    """Write the same export twice: ``root/parquet`` (typed) and ``root/csv`` (ISO text)."""
    sizes = {
        "seed": seed,
        "leads": leads,
        "customers": customers,
        "customer_events": events * 4 // 5,
        "lead_events": events - events * 4 // 5,
    }
    con = new_connection()
    con.execute("SET enable_progress_bar = false")
    con.execute(_MACRO.format(seed=seed))
    for fmt in ("parquet", "csv"):
        (root / fmt).mkdir(parents=True, exist_ok=True)
    for name, sql in _TABLES.items():
        con.execute(f"CREATE TABLE {name} AS {sql.format(**sizes)}")
        con.execute(f"COPY {name} TO '{root}/parquet/{name}.parquet' (FORMAT parquet)")
        con.execute(f"COPY {name} TO '{root}/csv/{name}.csv' (HEADER, DELIMITER ',')")
        con.execute(f"DROP TABLE {name}")
    con.close()


def _build(root: str, sizes: dict[str, int], seed: int) -> None:
    build_exports(Path(root), seed=seed, **sizes)


def _generate(root: str, sizes: dict[str, int], seed: int) -> None:
    """The generator's export as Parquet, and the same tables as CSV (DuckDB's ISO text)."""
    from features.synthetic import DEFAULT_AS_OF, generate_crm

    parquet = Path(root) / "parquet"
    generate_crm(
        parquet,
        leads=sizes["leads"],
        customers=sizes["customers"],
        seed=seed,
        as_of=DEFAULT_AS_OF,
        months=24,
        fmt="parquet",
        truth=False,
    )
    (Path(root) / "csv").mkdir()
    con = new_connection()
    con.execute("SET enable_progress_bar = false")
    for table in parquet.glob("*.parquet"):
        target = Path(root) / "csv" / f"{table.stem}.csv"
        con.execute(f"COPY (FROM read_parquet('{table}')) TO '{target}' (HEADER, DELIMITER ',')")
    con.close()


def _count_events(directory: Path) -> int:
    con = new_connection()
    total = sum(
        con.execute(f"SELECT count(*) FROM read_parquet('{directory / name}.parquet')").fetchall()[
            0
        ][0]
        for name in ("lead_events", "customer_events")
    )
    con.close()
    return int(total)


def _measure(step: str, directory: str, as_of: datetime) -> tuple[float, float, int, int]:
    """Run one step in this (fresh) process: wall s, CPU s, peak RSS in KiB, errors found."""
    from features.contract.loading import load_export
    from features.contract.validation import validate_export

    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    if step == "validate":
        errors = len(validate_export(Path(directory), as_of=as_of).errors)
    else:
        export = load_export(Path(directory), as_of=as_of)
        export.close()
        errors = 0
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return seconds, cpu, after.ru_maxrss, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=50_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=1, help="runs per step; the median is shown")
    parser.add_argument("--source", choices=("synthetic", "hashed"), default="synthetic")
    args = parser.parse_args()

    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="bench-validate-") as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        sizes = {"leads": args.leads, "customers": args.customers, "events": args.events}
        # Built in a child too: Linux carries a parent's peak RSS into children it forks.
        build = _generate if args.source == "synthetic" else _build
        with context.Pool(1) as pool:
            pool.apply(build, (str(root), sizes, args.seed))
        as_of = AS_OF
        if args.source == "synthetic":
            from features.synthetic import DEFAULT_AS_OF

            as_of = DEFAULT_AS_OF
        print(
            f"{args.source}: {args.leads:,} leads, {args.customers:,} customers, "
            f"{_count_events(root / 'parquet'):,} events, built in "
            f"{time.perf_counter() - start:.1f} s; as of {as_of.isoformat()}"
        )
        for fmt in ("parquet", "csv"):
            mib = sum(p.stat().st_size for p in (root / fmt).iterdir()) / 2**20
            for step in ("validate", "load"):
                runs = []
                for _ in range(args.repeat):
                    with context.Pool(1) as pool:
                        runs.append(pool.apply(_measure, (step, str(root / fmt), as_of)))
                seconds = statistics.median(r[0] for r in runs)
                cpu = statistics.median(r[1] for r in runs)
                peak = max(r[2] for r in runs) / 1024
                print(
                    f"{fmt:8s} {step:9s} ({mib:,.0f} MiB on disk): median {seconds:6.2f} s "
                    f"(CPU {cpu:6.2f} s), peak RSS {peak:,.0f} MiB, errors {runs[0][3]}"
                )


if __name__ == "__main__":
    main()
