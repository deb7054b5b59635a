"""Feature-engine benchmark: batch feature tables vs the DuckDB floor, and online latency.

Generates a seeded customer export with numpy (default 10M events for 100k customers), writes it
to Parquet in a temporary directory, loads it into DuckDB and prints:

* the floor: DuckDB's time for a bare ``count(*) GROUP BY customer_id`` over the events;
* one cutoff's feature table (``build_scoring_table``) and a 12-cutoff training set
  (``build_training_set``), median of ``--repeats`` runs, with their ratio to the floor;
* online features for one entity with 50 events: p50 / p99 over ``--requests`` calls;
* peak RSS of the process.

Usage: ``python -m benchmarks.bench_features [--customers N] [--events N] [--repeats N]``.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from features.compute.online import OnlineEntity, online_feature_frame
from features.compute.snapshots import build_scoring_table, build_training_set
from features.contract.export import Attribute, Export, new_connection
from features.contract.tasks import Task
from features.definitions.registry import feature_specs
from features.definitions.vocabulary import Vocabulary, learn_vocabulary
from training.config import load_config

START = datetime(2022, 1, 1)
AS_OF = datetime(2025, 1, 1)
HORIZON = timedelta(days=90)
TYPES = np.array(["order", "support_ticket", "check_in"])
US_PER_DAY = 86_400_000_000


def _ids(prefix: str, indices: np.ndarray) -> pa.Array:
    text = pc.cast(pa.array(indices), pa.string())
    return pc.binary_join_element_wise(prefix, pc.utf8_lpad(text, 7, "0"), "")


def _timestamps(microseconds: np.ndarray) -> pa.Array:
    return pa.array(microseconds.astype("datetime64[us]"))


def generate(directory: Path, *, customers: int, events: int, seed: int) -> None:
    """Write customers.parquet and customer_events.parquet (types, values, text columns)."""
    rng = np.random.default_rng(seed)
    span = int((AS_OF - START).total_seconds() * 1_000_000)
    start_us = int((START - datetime(1970, 1, 1)).total_seconds() * 1_000_000)
    created = start_us + rng.integers(0, span * 2 // 3, customers)
    churned = np.where(
        rng.random(customers) < 0.2, created + rng.integers(30, 700, customers) * US_PER_DAY, -1
    )
    churned_arr = pa.array(churned.astype("datetime64[us]"), mask=churned < 0)
    pq.write_table(
        pa.table(
            {
                "customer_id": _ids("C", np.arange(customers)),
                "created_at": _timestamps(created),
                "owner_id": _ids("O", np.arange(customers) % 50),
                "churned_at": churned_arr,
                "annual_value": rng.lognormal(8, 1, customers),
                "segment": pa.array(
                    rng.choice(["smb", "mid", "ent"], customers)
                ).dictionary_encode(),
            }
        ),
        directory / "customers.parquet",
    )
    owner = rng.integers(0, customers, events)
    stop = np.where(churned[owner] > 0, churned[owner], start_us + span)
    occurred = created[owner] + (rng.random(events) * (stop - created[owner])).astype(np.int64)
    kind = rng.choice(3, events, p=[0.5, 0.15, 0.35])
    value = np.where(kind == 0, np.round(rng.lognormal(5, 1, events), 2), np.nan)
    order = np.argsort(owner, kind="stable")  # exports usually arrive grouped by entity
    table = pa.table(
        {
            "customer_id": _ids("C", owner[order]),
            "occurred_at": _timestamps(occurred[order]),
            "type": pa.array(TYPES[kind[order]]).dictionary_encode(),
            "value": pa.array(value[order], mask=np.isnan(value[order])),
            "channel": pa.array(rng.choice(["email", "phone", "web"], events)).dictionary_encode(),
            "direction": pa.array(rng.choice(["inbound", "outbound"], events)).dictionary_encode(),
        }
    )
    pq.write_table(table, directory / "customer_events.parquet", row_group_size=1_000_000)


def load(directory: Path) -> Export:
    """An Export over the Parquet files, typed like ``load_export`` types them."""
    con = new_connection()
    customers, events = directory / "customers.parquet", directory / "customer_events.parquet"
    con.execute(
        "CREATE TABLE customers AS SELECT customer_id, created_at, owner_id, "
        "CAST(NULL AS VARCHAR) AS account_id, churned_at, annual_value, "
        f"CAST(segment AS VARCHAR) AS segment FROM read_parquet('{customers}')"
    )
    con.execute(
        "CREATE TABLE customer_events AS SELECT customer_id, occurred_at, "
        "CAST(type AS VARCHAR) AS type, value, CAST(channel AS VARCHAR) AS channel, "
        f"CAST(direction AS VARCHAR) AS direction FROM read_parquet('{events}')"
    )
    con.execute("CREATE TABLE accounts (account_id VARCHAR)")
    con.execute(
        "CREATE TABLE leads (lead_id VARCHAR, created_at TIMESTAMP, owner_id VARCHAR, "
        "account_id VARCHAR, converted_at TIMESTAMP, closed_lost_at TIMESTAMP, "
        "expected_value DOUBLE)"
    )
    con.execute(
        "CREATE TABLE lead_events (lead_id VARCHAR, occurred_at TIMESTAMP, type VARCHAR, "
        "value DOUBLE)"
    )
    attributes = {"customers": (Attribute("customers", "segment", numeric=False),)}
    return Export(con, attributes, {"customer_events": ("channel", "direction")}, str(directory))


def _median_seconds(run: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _online_latency(requests: int, seed: int) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    as_of = datetime(2024, 6, 1)
    events = [
        {
            "occurred_at": as_of - timedelta(minutes=int(m)),
            "type": str(rng.choice(TYPES)),
            "value": float(rng.integers(1, 500)),
            "channel": "email",
            "direction": "inbound" if i % 2 else "outbound",
        }
        for i, m in enumerate(rng.integers(1, 400 * 24 * 60, 50))
    ]
    entity = OnlineEntity(
        "C0000001", {"created_at": datetime(2022, 3, 1), "annual_value": 9e3}, events
    )
    vocabulary = Vocabulary.of_types(
        Task.CHURN, TYPES.tolist(), valued=("order",), activity_types=("order",)
    )
    specs = tuple(feature_specs(Task.CHURN, vocabulary))
    for _ in range(50):
        online_feature_frame(Task.CHURN, [entity], as_of=as_of, vocabulary=vocabulary, specs=specs)
    latencies = []
    for _ in range(requests):
        started = time.perf_counter()
        online_feature_frame(Task.CHURN, [entity], as_of=as_of, vocabulary=vocabulary, specs=specs)
        latencies.append(time.perf_counter() - started)
    p50, p99 = np.percentile(np.array(latencies) * 1000, [50, 99])
    return float(p50), float(p99)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--requests", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-features-") as tmp:
        directory = Path(tmp)
        started = time.perf_counter()
        generate(directory, customers=args.customers, events=args.events, seed=args.seed)
        export = load(directory)
        print(
            f"data: {args.events:,} events, {args.customers:,} customers "
            f"(generated + loaded in {time.perf_counter() - started:.1f} s)"
        )
        floor = _median_seconds(
            lambda: export.con.execute(
                "SELECT customer_id, count(*) FROM customer_events GROUP BY customer_id"
            ).fetchall(),
            args.repeats,
        )
        print(f"floor   count(*) GROUP BY customer_id   {floor:8.3f} s")
        vocabulary = learn_vocabulary(
            export, task=Task.CHURN, before=AS_OF, settings=load_config().vocabulary
        )
        specs = feature_specs(Task.CHURN, vocabulary, export)

        def one_cutoff() -> int:
            return len(
                build_scoring_table(
                    export, task=Task.CHURN, as_of=AS_OF, vocabulary=vocabulary, specs=specs
                )
            )

        one = _median_seconds(one_cutoff, args.repeats)
        rows = one_cutoff()
        print(
            f"one cutoff ({rows:,} rows x {len(specs)} features) {one:8.3f} s "
            f"({one / floor:.0f}x floor; target <= 5 s)"
        )
        cutoffs = [datetime(2023 + (9 + m) // 12, (9 + m) % 12 + 1, 1) for m in range(12)]
        twelve = _median_seconds(
            lambda: build_training_set(
                export,
                task=Task.CHURN,
                cutoffs=cutoffs,
                horizon=HORIZON,
                vocabulary=vocabulary,
                specs=specs,
            ),
            max(1, args.repeats - 2),
        )
        print(
            f"12 cutoffs {cutoffs[0]:%Y-%m}..{cutoffs[-1]:%Y-%m} training set {twelve:8.3f} s "
            f"({twelve / floor:.0f}x floor; target <= 30 s)"
        )
        export.close()
    p50, p99 = _online_latency(args.requests, args.seed)
    print(f"online one entity, 50 events: p50 {p50:.2f} ms, p99 {p99:.2f} ms (targets 2 ms / 5 ms)")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak_mb:,.0f} MB (target <= 4096 MB)")


if __name__ == "__main__":
    main()
