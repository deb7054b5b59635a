"""Batch scoring inside Spark publishes what the DuckDB path publishes: same entities, scores to
1e-12, identical reasons, same tiers and attribute notes."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pyarrow.dataset as ds

from features.engines.spark.loading import copy_to_spark
from features.tasks import Task
from serving.batch import score_export
from serving.store import ListedScore
from tests.serving.appkit import NOW, FolderChampions, build_test_services
from tests.serving.factories import make_export

AS_OF = datetime(2025, 11, 1)


def _publish(source, root: Path, champions: FolderChampions):
    services = build_test_services(root, champions, spark_runs_dir=str(root / "runs"))
    services.models.reload()
    summary = score_export(
        source,
        as_of=AS_OF,
        models={task: services.models.current(task) for task in Task},
        store=services.store,
        settings=services.settings,
        explain=services.explain,
        clock=lambda: NOW,
    )
    published = {
        kind: {i.entity_id: i for i in services.store.list_scores(kind, limit=10_000).items}
        for kind in ("lead", "customer")
    }
    return summary, published


def _same_item(duck: ListedScore, spark: ListedScore) -> None:
    assert abs(duck.probability - spark.probability) <= 1e-12
    assert (duck.score, duck.tier, duck.owner_id) == (spark.score, spark.tier, spark.owner_id)
    assert (duck.value is None) == (spark.value is None)
    if duck.value is not None:
        assert abs(duck.value - spark.value) <= 1e-12 * max(1.0, abs(duck.value))
    assert spark.reasons == duck.reasons


def test_spark_batch_run_publishes_the_duckdb_scores(spark, tmp_path, champions):
    export = make_export(seed=11)
    copy = copy_to_spark(export, session=spark)
    try:
        duck_summary, duck = _publish(export, tmp_path / "duckdb", champions)
        spark_summary, on_spark = _publish(copy, tmp_path / "spark", champions)
    finally:
        copy.close()
        export.close()
    assert spark_summary.counts == duck_summary.counts
    assert min(duck_summary.counts.values()) > 50
    assert spark_summary.tiers == duck_summary.tiers
    assert spark_summary.attribute_notes == duck_summary.attribute_notes
    assert spark_summary.missing_attributes == duck_summary.missing_attributes
    for kind in duck:
        assert sorted(on_spark[kind]) == sorted(duck[kind])
        for entity_id, item in duck[kind].items():
            _same_item(item, on_spark[kind][entity_id])
    # The run's rows were written to Parquet before the publish read them back.
    written = tmp_path / "spark" / "runs" / spark_summary.run_id
    for task in Task:
        rows = ds.dataset(str(written / task.value), format="parquet").count_rows()
        assert rows == spark_summary.counts[task.value]
