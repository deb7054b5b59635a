"""Every generated query transpiles to Spark SQL, the route for exports that outgrow DuckDB."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest
import sqlglot
from sqlglot.errors import ErrorLevel

from features.compute.labels import spine_sql
from features.compute.snapshots import build_feature_query
from features.compute.sql import compile_feature_query
from features.contract.tasks import TASK_TABLES, Task
from features.definitions.registry import feature_specs
from tests.features.test_features_support import make_export
from tests.features.vocabkit import sim_vocabulary


def _export_with_attributes(task: Task):
    key = TASK_TABLES[task].key
    entities = [
        {
            key: f"e{i}",
            "created_at": datetime(2024, 1, 1),
            "owner_id": "o",
            "account_id": "a1",
            "segment": "smb",
            "seats": 3.0,
        }
        for i in range(4)
    ]
    accounts = pd.DataFrame({"account_id": ["a1"], "industry": ["retail"]})
    return make_export(task, entities, [], accounts=accounts)


@pytest.mark.parametrize("task", list(Task))
@pytest.mark.parametrize("timeline", [False, True])
def test_feature_query_transpiles_to_spark(task, timeline):
    export = _export_with_attributes(task)
    specs = feature_specs(task, sim_vocabulary(task), export)
    assert {"segment", "seats", "industry"} <= {s.name for s in specs}
    sql = compile_feature_query(
        build_feature_query(task, export, specs, sim_vocabulary(task)),
        spine="spine",
        carry=["label", "value"],
        timeline=timeline,
    )
    (spark,) = sqlglot.transpile(
        sql, read="duckdb", write="spark", unsupported_level=ErrorLevel.RAISE
    )
    assert "FILTER(WHERE" in spark and "DATEDIFF(MICROSECOND" in spark
    # Round trip: Spark's SQL parses back.
    sqlglot.parse_one(spark, read="spark")
    export.close()


@pytest.mark.parametrize("task", list(Task))
@pytest.mark.parametrize("with_label", [True, False])
def test_label_queries_transpile_to_spark(task, with_label):
    sql = spine_sql(task, cutoffs="cutoffs", activity_types=("order",), with_label=with_label)
    sqlglot.transpile(sql, read="duckdb", write="spark", unsupported_level=ErrorLevel.RAISE)
