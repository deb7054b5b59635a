"""The Spark engine beside DuckDB: one cutoff's feature table and a batch scoring run.

Generates ``benchmarks.bench_features``'s seeded customer export (default 10M events for 100k
customers) as Parquet in a temporary directory, reads it into DuckDB and into a local Spark
session (``SALESRADAR_SPARK_MASTER``, default ``local[2]``), fits a small churn model on three
cutoffs (DuckDB), then times on each engine, in the same run:

* one cutoff's feature table (``build_scoring_table``, collected to pandas);
* a batch scoring run with that model (``serving.scoring.batch.score_export``): features, scores
  with reasons, and the publish into a SQLite scores database (Spark: scored in ``mapInPandas``,
  written to Parquet, published from there);

and prints both times, their ratio, the Python process's peak RSS (DuckDB runs in it) and the
Spark JVM's peak RSS. What a cluster changes is printed at the end.

Usage: ``python -m benchmarks.bench_spark [--customers N] [--events N]``.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from pyspark.sql import SparkSession

from benchmarks.bench_features import AS_OF, HORIZON, generate, load
from features.compute.engines.spark.connection import SparkConnection
from features.compute.engines.spark.session import spark_session
from features.compute.snapshots import build_scoring_table, build_training_set
from features.contract.export import Export
from features.contract.tasks import Task
from features.definitions.registry import feature_specs
from features.definitions.vocabulary import learn_vocabulary
from features.model.reasons import explain
from serving.champions.served import ServedModel
from serving.scoring.batch import score_export
from serving.settings import Settings
from serving.store.database import ScoreStore
from training.config import load_config
from training.tree_fit import fit_scoring_model

T = TypeVar("T")

CLUSTER_NOTE = (
    "On a cluster: the export is read where it lies (HDFS, S3, ...) by every executor and the "
    "feature query's join and aggregation spread over the cluster's cores, so Spark's time "
    "falls roughly with the executors until the driver-side steps dominate: validation (one "
    "streaming pass here), collecting the training set, and publishing the scored rows into "
    "the scores database. On one machine DuckDB is the faster engine; Spark is for exports "
    "that no longer fit one machine's disk or memory."
)


def load_on_spark(directory: Path, duck: Export, session: SparkSession) -> Export:
    """The DuckDB bench export's tables on Spark: the two Parquet files read by Spark, typed as
    ``benchmarks.bench_features.load`` types them (dictionary columns as text), and the empty
    tables copied."""
    con = SparkConnection(session)
    for table in ("accounts", "leads", "lead_events"):
        con.adopt(
            table, session.createDataFrame(duck.con.execute(f"FROM {table}").to_arrow_table())
        )
    for table in ("customers", "customer_events"):
        frame = session.read.parquet(str(directory / f"{table}.parquet"))
        columns = duck.con.execute(f"DESCRIBE {table}").fetchall()
        typed = [
            f"CAST(NULL AS STRING) AS {name}"
            if name not in frame.columns
            else (f"CAST({name} AS STRING) AS {name}" if kind == "VARCHAR" else name)
            for name, kind, *_ in columns
        ]
        con.adopt(table, frame.selectExpr(*typed))
    return Export(con, duck.attributes, duck.event_text_columns, str(directory))  # type: ignore[arg-type]


def _timed(run: Callable[[], T]) -> tuple[float, T]:
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


def _served(duck: Export, vocabulary, specs) -> ServedModel:
    """A churn model fitted on three monthly cutoffs (small trees: the bench times scoring)."""
    cutoffs = [AS_OF - HORIZON - timedelta(days=30 * k) for k in (2, 1, 0)]
    training = build_training_set(
        duck, task=Task.CHURN, cutoffs=cutoffs, horizon=HORIZON, vocabulary=vocabulary, specs=specs
    )
    model = fit_scoring_model(
        training.frame,
        training.specs,
        task=Task.CHURN,
        vocabulary=vocabulary,
        seed=7,
        params={"n_estimators": 100},
    )
    moment = datetime.now(UTC).replace(tzinfo=None)
    return ServedModel(Task.CHURN, model, "bench-churn", "1", {}, moment, "bench")


def _score(export: Export, served: ServedModel, root: Path) -> int:
    settings = Settings(scores_url=f"sqlite:///{root / 'scores.db'}", spark_runs_dir=str(root))
    store = ScoreStore.from_url(settings.scores_url)
    store.create_schema()
    summary = score_export(
        export,
        as_of=AS_OF,
        models={Task.CHURN: served},
        store=store,
        settings=settings,
        explain=explain,
        clock=lambda: datetime.now(UTC).replace(tzinfo=None),
    )
    store.engine.dispose()
    return summary.counts[Task.CHURN.value]


def _jvm_peak_mb(session: SparkSession) -> float:
    """VmHWM of the Spark JVM (the py4j gateway's process), in MB; 0 when unknown."""
    process = getattr(session.sparkContext._gateway, "proc", None)  # type: ignore[union-attr]
    try:
        status = Path(f"/proc/{process.pid}/status").read_text()  # type: ignore[union-attr]
    except (AttributeError, OSError):
        return 0.0
    line = next((x for x in status.splitlines() if x.startswith("VmHWM")), "VmHWM: 0 kB")
    return int(line.split()[1]) / 1024


def _row(what: str, duck: float, spark: float) -> str:
    ratio = spark / duck
    return f"{what:<34} duckdb {duck:8.2f} s   spark {spark:8.2f} s   spark/duckdb {ratio:5.1f}x"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-spark-") as tmp:
        directory = Path(tmp)
        started = time.perf_counter()
        generate(directory, customers=args.customers, events=args.events, seed=args.seed)
        duck = load(directory)
        session = spark_session()
        spark = load_on_spark(directory, duck, session)
        print(
            f"data: {args.events:,} events, {args.customers:,} customers; Spark "
            f"{session.sparkContext.master} (set up in {time.perf_counter() - started:.1f} s)"
        )
        vocabulary = learn_vocabulary(
            duck, task=Task.CHURN, before=AS_OF, settings=load_config().vocabulary
        )
        specs = feature_specs(Task.CHURN, vocabulary, duck)
        window = {"task": Task.CHURN, "as_of": AS_OF, "vocabulary": vocabulary, "specs": specs}
        duck_one, table = _timed(lambda: build_scoring_table(duck, **window))
        spark_one, _ = _timed(lambda: build_scoring_table(spark, **window))
        print(_row(f"one cutoff ({len(table):,} rows)", duck_one, spark_one))
        served = _served(duck, vocabulary, specs)
        duck_run, rows = _timed(lambda: _score(duck, served, directory / "duckdb"))
        spark_run, _ = _timed(lambda: _score(spark, served, directory / "spark"))
        print(_row(f"batch scoring + publish ({rows:,})", duck_run, spark_run))
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS: Python process (DuckDB, driver) {peak_mb:,.0f} MB; ", end="")
        print(f"Spark JVM {_jvm_peak_mb(session):,.0f} MB")
        spark.close()
        duck.close()
        session.stop()
    print(CLUSTER_NOTE)


if __name__ == "__main__":
    main()
