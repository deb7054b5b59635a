"""SparkConnection remembers small results: a repeated question of the export runs no Spark job,
and an answer is forgotten when a view it reads changes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from features.compute.engines.spark.connection import MEMO_ROWS, SparkConnection


@pytest.fixture()
def con(spark) -> Iterator[SparkConnection]:
    connection = SparkConnection(spark)
    connection.adopt("memo_numbers", spark.range(0, 100, 1, numPartitions=2))
    yield connection
    connection.close()


@contextmanager
def jobs_started(con: SparkConnection) -> Iterator[list[int]]:
    """The Spark jobs started inside the block (their count is in the list on exit)."""
    context = con.session.sparkContext
    group = f"memo-{uuid.uuid4().hex}"
    context.setJobGroup(group, "counted by a test")
    counted: list[int] = []
    try:
        yield counted
    finally:
        context.setLocalProperty("spark.jobGroup.id", None)  # type: ignore[arg-type]
        counted.append(len(context.statusTracker().getJobIdsForGroup(group)))


def test_a_repeated_statement_is_answered_without_a_spark_job(con):
    sql = "SELECT id % 3 AS r, count(*) AS n FROM memo_numbers GROUP BY 1 ORDER BY 1"
    with jobs_started(con) as first:
        rows = con.execute(sql).fetchall()
    with jobs_started(con) as again:
        frame = con.execute(sql).df()
    assert rows == [(0, 34), (1, 33), (2, 33)]
    assert first[0] > 0
    assert again[0] == 0
    frame.loc[0, "n"] = -1  # a caller changing its frame changes no later answer
    assert con.execute(sql).fetchall() == rows


def test_an_answer_is_forgotten_when_a_view_it_reads_is_replaced(con, spark):
    sql = "SELECT count(*) FROM memo_numbers"
    assert con.execute(sql).fetchone() == (100,)
    con.adopt("memo_numbers", spark.range(0, 7))
    assert con.execute(sql).fetchone() == (7,)
    con.unregister("memo_numbers")
    con.adopt("memo_numbers", spark.range(0, 3))
    assert con.execute(sql).fetchone() == (3,)


def test_large_and_volatile_results_are_never_remembered(con, spark):
    con.adopt("memo_many", spark.range(0, MEMO_ROWS + 1, 1, numPartitions=2))
    large = "SELECT id FROM memo_many"
    volatile = "SELECT random() AS x FROM memo_numbers"
    for sql in (large, volatile):
        con.execute(sql).df()
        with jobs_started(con) as again:
            con.execute(sql).df()
        assert again[0] > 0, sql
