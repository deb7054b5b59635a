"""Batch scoring inside Spark publishes what the DuckDB path publishes: same entities, scores to
1e-12, identical reasons, same tiers and attribute notes; and stores the same shadow."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from features.compute.engines.spark.loading import copy_to_spark
from features.contract.tasks import TASK_TABLES, Task
from serving.champions.served import ServedModel
from serving.scoring import batch
from serving.scoring.batch import score_export
from serving.scoring.shadow import Challenger
from serving.scoring.spark_scoring import NOTES_FIELD, read_attribute_notes
from serving.store.database import ListedScore, ScoreStore
from serving.store.tables import shadow_runs, shadow_scores
from tests.serving.appkit import NOW, FolderChampions, build_test_services
from tests.serving.factories import fit_model, make_export

AS_OF = datetime(2025, 11, 1)


def _publish(source, root: Path, champions: FolderChampions, challengers=None):
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
        challengers=challengers,
    )
    published = {
        kind: {i.entity_id: i for i in services.store.list_scores(kind, limit=10_000).items}
        for kind in ("lead", "customer")
    }
    if challengers is not None:
        return summary, _shadow(services.store)
    return summary, published


def _shadow(
    store: ScoreStore,
) -> tuple[set[tuple[str, str, str, int]], dict[tuple[str, str], float]]:
    """The store's shadow: (kind, version, status, rows) per run and kind, and each probability."""
    with store.engine.connect() as conn:
        runs = {
            (r.entity_kind, r.model_version, r.status, r.row_count)
            for r in conn.execute(select(shadow_runs))
        }
        scores = {
            (r.entity_kind, r.entity_id): r.probability for r in conn.execute(select(shadow_scores))
        }
    return runs, scores


@pytest.fixture(scope="module")
def challengers() -> dict[Task, Challenger]:
    """Both tasks' challengers: version 2, fitted on another export with another seed, so their
    scores differ from the champions'."""
    export = make_export(seed=12)
    try:
        found = {}
        for task in Task:
            name = TASK_TABLES[task].model_name
            served = ServedModel(
                task, fit_model(export, task, seed=5), name, "2", {}, NOW, "registry"
            )
            found[task] = Challenger(task, name, "2", served=served)
        return found
    finally:
        export.close()


def _counting_removal(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Rows of each Parquet part of a run, counted just before the run's folder is removed."""
    counted: dict[str, int] = {}
    remove = batch.remove_run_parts

    def count_then_remove(location: str) -> None:
        for part in Path(location).iterdir():
            counted[part.name] = ds.dataset(str(part), format="parquet").count_rows()
        remove(location)

    monkeypatch.setattr(batch, "remove_run_parts", count_then_remove)
    return counted


def _same_item(duck: ListedScore, spark: ListedScore) -> None:
    assert abs(duck.probability - spark.probability) <= 1e-12
    assert (duck.score, duck.tier, duck.owner_id) == (spark.score, spark.tier, spark.owner_id)
    assert (duck.value is None) == (spark.value is None)
    if duck.value is not None:
        assert abs(duck.value - spark.value) <= 1e-12 * max(1.0, abs(duck.value))
    assert spark.reasons == duck.reasons


def test_spark_batch_run_publishes_the_duckdb_scores(spark, tmp_path, champions, monkeypatch):
    export = make_export(seed=11)
    copy = copy_to_spark(export, session=spark)
    try:
        duck_summary, duck = _publish(export, tmp_path / "duckdb", champions)
        written = _counting_removal(monkeypatch)
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
    # The run's rows were written to Parquet before the publish read them back, and the folder
    # was removed after the run.
    assert written == {task.value: spark_summary.counts[task.value] for task in Task}
    assert not (tmp_path / "spark" / "runs" / spark_summary.run_id).exists()


def test_a_spark_run_scores_its_shadow_as_the_duckdb_run_does(
    spark, tmp_path, champions, challengers, monkeypatch
):
    """The challenger is scored on the cluster (mapInPandas, written to Parquet), and stores the
    DuckDB path's shadow: the same entities and probabilities to 1e-12, status scored."""
    export = make_export(seed=11)
    copy = copy_to_spark(export, session=spark)
    try:
        duck_summary, (duck_runs, duck) = _publish(
            export, tmp_path / "duckdb", champions, challengers
        )
        written = _counting_removal(monkeypatch)
        spark_summary, (spark_runs, on_spark) = _publish(
            copy, tmp_path / "spark", champions, challengers
        )
    finally:
        copy.close()
        export.close()
    assert {o.status for o in spark_summary.shadow.values()} == {"scored"}
    assert spark_runs == duck_runs
    assert {status for _, _, status, _ in spark_runs} == {"scored"}
    assert sorted(on_spark) == sorted(duck)
    assert min(duck_summary.counts.values()) > 50
    assert len(duck) == sum(duck_summary.counts.values())
    assert max(abs(duck[key] - on_spark[key]) for key in duck) <= 1e-12
    for task in Task:
        assert written[f"{task.value}-shadow"] == spark_summary.counts[task.value]
    assert not (tmp_path / "spark" / "runs" / spark_summary.run_id).exists()


def test_a_failed_spark_run_leaves_no_parquet_behind(spark, tmp_path, champions, monkeypatch):
    """A run that fails after Spark wrote its rows (here: reading them back) publishes nothing
    and removes the run's folder: no orphan Parquet accumulates under spark_runs_dir."""
    from serving.scoring import spark_scoring

    def fail(out: str, **_: object) -> None:
        assert ds.dataset(out, format="parquet").count_rows() > 0  # the rows were written
        raise RuntimeError("the publish could not read the rows")

    monkeypatch.setattr(spark_scoring, "read_scored_rows", fail)
    export = make_export(seed=11)
    copy = copy_to_spark(export, session=spark)
    try:
        with pytest.raises(RuntimeError, match="could not read"):
            _publish(copy, tmp_path / "spark", champions)
    finally:
        copy.close()
        export.close()
    runs = tmp_path / "spark" / "runs"
    assert not runs.exists() or list(runs.iterdir()) == []


def test_the_chunks_notes_are_summed_from_the_written_rows(tmp_path):
    """The one scoring pass writes each chunk's notes on its first row (NULL elsewhere); the
    driver sums them per attribute and code from the Parquet, across files and chunks."""
    out = tmp_path / "run"
    out.mkdir()
    chunks = [
        ['{"region": {"unseen_level": 2}}', None, None],
        ['{"region": {"unseen_level": 1, "not_a_number": 4}, "size": {"unseen_level": 3}}'],
        [None, None],  # a chunk without notes
    ]
    for number, notes in enumerate(chunks):
        pq.write_table(
            pa.table({"entity_id": ["e"] * len(notes), NOTES_FIELD: notes}),
            out / f"{number}.parquet",
        )
    assert read_attribute_notes(str(out)) == {
        "region": {"unseen_level": 3, "not_a_number": 4},
        "size": {"unseen_level": 3},
    }
