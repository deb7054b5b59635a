"""``mlflow.pyfunc.spark_udf`` on the registered scorer gives, for raw entities (events as JSON
text), what the registered model itself gives in this process (``serving.champions.pyfunc``, whose
equality with the API's ``POST /v1/{leads,customers}/score`` is
``tests/training/test_pyfunc.py``'s).

The suite's tiny models (``tests.serving.conftest.trained``) are logged as the pyfunc scorer by
``training.pyfunc.log_scorer`` and registered in a throwaway sqlite store; Spark loads each with
``env_manager="local"`` (this environment), as the README's Spark example does.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import pytest
from pyspark.sql import functions as F

from benchmarks.bench_serving import AS_OF, varied_batch
from features.contract.tasks import TASK_TABLES, Task
from features.model.scorer_columns import REQUEST_VALUE, RESPONSE_VALUE, input_columns
from features.model.scoring_model import ScoringModel
from training.pyfunc import log_scorer

KINDS = {Task.LEADS: "lead", Task.CHURN: "customer"}
# spark_udf casts each output to its declared type: a refused row has no score, so `score` is
# a double here (the README's result_type).
TEXT = ("tier", "reasons", "warnings", "error")


def _result_type(task: Task) -> str:
    columns = [f"{TASK_TABLES[task].key} string", "probability double", "score double"]
    columns += ["tier string", f"{RESPONSE_VALUE[task]} double"]
    return ", ".join([*columns, "reasons string", "warnings string", "error string"])


def _rows(task: Task, count: int) -> pd.DataFrame:
    """``count`` varied raw entities as the scorer's input rows, events as JSON text, and one
    row the scorer refuses (an unparsable ``as_of``)."""
    rows = []
    for entity in varied_batch(KINDS[task], count, seed=5):
        value = entity.pop("expected_value", None) or entity.pop("annual_value")
        row: dict[str, Any] = {
            **entity,
            REQUEST_VALUE[task]: value,
            "account_id": None,
            "attributes": json.dumps(entity["attributes"]),
            "events": None,
            "events_json": json.dumps(entity["events"]),
            "as_of": AS_OF.isoformat() + "Z",
        }
        rows.append({name: row[name] for name in input_columns(task)})
    rows[-1]["as_of"] = "not a time"
    return pd.DataFrame(rows).drop(columns=["events"])


@pytest.fixture(scope="module")
def registered(trained, tmp_path_factory) -> dict[Task, str]:
    """Both tiny models registered as pyfunc scorers: task -> ``models:/name/version``."""
    store = tmp_path_factory.mktemp("spark-udf")
    mlflow.set_tracking_uri(f"sqlite:///{store / 'mlflow.db'}")
    # Artifacts beside the store (a sqlite store's default is ./mlruns in the working folder).
    mlflow.create_experiment("spark-udf", artifact_location=(store / "artifacts").as_uri())
    mlflow.set_experiment("spark-udf")
    uris = {}
    for task, (folder, sha256) in trained.items():
        model = ScoringModel.load(Path(folder), expected_sha256=sha256)
        name = f"salesradar-{task.value}"
        with mlflow.start_run() as run:
            info = log_scorer(
                model, Path(folder), sha256=sha256, name=name, run_id=run.info.run_id, as_of=AS_OF
            )
        uris[task] = f"models:/{name}/{info.registered_model_version}"
    yield uris
    mlflow.set_tracking_uri(None)


def _in_batch(errors: list[dict[str, str]]) -> list[dict[str, str]]:
    """Errors with their ``rows[i].`` prefix dropped (the field within the row)."""
    return [{**e, "field": re.sub(r"^rows\[\d+\]\.", "", e["field"])} for e in errors]


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")


@pytest.mark.parametrize("task", list(Task))
def test_spark_udf_scores_raw_entities_like_the_registered_model(spark, registered, task):
    rows = _rows(task, 60)
    expected = _records(mlflow.pyfunc.load_model(registered[task]).predict(rows))
    score = mlflow.pyfunc.spark_udf(
        spark, registered[task], env_manager="local", result_type=_result_type(task)
    )
    entities = spark.createDataFrame(rows.astype(object).where(rows.notna(), None))
    key = TASK_TABLES[task].key
    flat = entities.withColumn("scored", score(F.struct(*entities.columns))).select("scored.*")
    flat = flat.cache()
    # A refused row's numbers are SQL null, not NaN (toPandas would show both as NaN).
    assert flat.filter(F.isnan("probability") | F.isnan("score")).count() == 0
    assert flat.filter(F.col("probability").isNull() & F.col("score").isNull()).count() == 1
    scored = flat.toPandas()
    got = {row[key]: row for row in _records(scored)}
    assert sorted(got) == sorted(row[key] for row in expected)
    refused = 0
    for want in expected:
        row = got[want[key]]
        if want["error"] is not None:
            # The API's per-row error survives the UDF, but `rows[i]` counts the rows of the
            # Arrow batch Spark handed the model (a partition's), not of the whole frame.
            refused += 1
            assert _in_batch(json.loads(row["error"])) == _in_batch(json.loads(want["error"]))
            continue
        assert abs(row["probability"] - want["probability"]) <= 1e-12
        assert row["score"] == want["score"]
        assert row["tier"] == want["tier"]
        assert json.loads(row["reasons"]) == json.loads(want["reasons"])
        assert json.loads(row["reasons"])  # a scored entity always has reasons
        assert json.loads(row["warnings"]) == json.loads(want["warnings"])
        value = RESPONSE_VALUE[task]
        assert (row[value] is None) == (want[value] is None)
        if want[value] is not None:
            assert abs(row[value] - want[value]) <= 1e-12 * max(1.0, abs(want[value]))
    assert refused == 1
