"""Every generated query transpiles to Spark SQL, the route for exports that outgrow DuckDB."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest
import sqlglot
from sqlglot.errors import ErrorLevel

from features.compute.labels import spine_sql
from features.compute.snapshots import build_feature_query
from features.compute.sql import ENTITY_CODE, compile_feature_query
from features.contract.tasks import TASK_TABLES, Task
from features.definitions.registry import feature_specs
from tests.features.test_features_support import make_export
from tests.features.vocabkit import sim_vocabulary

CUTOFF = datetime(2024, 6, 1, 12, 30, 0, 5)


def _export_with_attributes(task: Task, events=()):
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
    return make_export(task, entities, list(events), accounts=accounts)


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


def _churn_query(export, **options) -> str:
    vocabulary = sim_vocabulary(Task.CHURN)
    specs = feature_specs(Task.CHURN, vocabulary, export)
    query = build_feature_query(Task.CHURN, export, specs, vocabulary)
    return compile_feature_query(query, spine="spine", carry=[], **options)


def _event(customer: str, occurred_at: datetime, type_: str, value: float | None = None) -> dict:
    return {
        "customer_id": customer,
        "occurred_at": occurred_at,
        "type": type_,
        "value": value,
        "channel": "email",
        "direction": "inbound",
        "outcome": None,
    }


def test_one_cutoff_is_a_literal_and_the_entity_code_comes_from_the_spine():
    export = _export_with_attributes(Task.CHURN)
    sql = _churn_query(export, cutoff=CUTOFF)
    (spark,) = sqlglot.transpile(
        sql, read="duckdb", write="spark", unsupported_level=ErrorLevel.RAISE
    )
    # No query of its own for the latest cutoff (a Spark job), no entity ranking recomputed.
    assert "max(cutoff)" not in sql.lower() and "max(cutoff)" not in spark.lower()
    assert "TIMESTAMP '2024-06-01 12:30:00.000005'" in sql
    assert "'2024-06-01 12:30:00.000005'" in spark
    assert "dense_rank" not in sql.lower() and "dense_rank" not in spark.lower()
    export.close()


def test_literal_cutoff_and_unordered_rows_give_the_same_table():
    """Bound cutoff and no final ORDER BY: the same rows and values as the general query, which
    still orders by cutoff, then entity id; an event at the cutoff is never read."""
    events = [
        _event("e2", datetime(2024, 5, 10), "order", 10.0),
        _event("e2", datetime(2024, 5, 20), "order", 5.0),
        _event("e2", CUTOFF, "order", 99.0),
        _event("e0", datetime(2024, 2, 1), "support_ticket"),
        _event("e0", datetime(2024, 2, 1), "support_ticket"),
        _event("e1", CUTOFF.replace(microsecond=4), "check_in"),
    ]
    export = _export_with_attributes(Task.CHURN, events)
    export.con.execute(
        f"CREATE TEMP TABLE spine AS SELECT customer_id AS entity_id, "
        f"TIMESTAMP '{CUTOFF}' AS cutoff, created_at, {ENTITY_CODE} FROM customers"
    )
    general = export.con.execute(_churn_query(export)).df()
    bound_sql = _churn_query(export, cutoff=CUTOFF, ordered=False)
    bound = export.con.execute(bound_sql).df()
    assert "ORDER BY s.cutoff" not in bound_sql and "ORDER BY s.cutoff" in _churn_query(export)
    assert list(general["entity_id"]) == ["e0", "e1", "e2", "e3"]
    bound = bound.sort_values("entity_id", ignore_index=True)
    pd.testing.assert_frame_equal(general, bound)
    by_entity = general.set_index("entity_id")
    assert by_entity.loc["e2", "event_count_30d"] == 2.0
    assert by_entity.loc["e1", "event_count_7d"] == 1.0
    export.close()
