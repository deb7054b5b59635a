"""Where Spark SQL and DuckDB SQL differ, and how the Spark engine makes them agree.

Each test runs one DuckDB statement on DuckDB and, through ``SparkConnection`` (sqlglot), on
Spark, and states what each engine does; ``docs/features.md`` ("Spark and DuckDB") has the notes.
"""

from __future__ import annotations

import time
from datetime import datetime

import pytest
from pyspark.errors import AnalysisException

from features.compute.engines.spark.connection import SparkConnection
from features.contract.export import new_connection


@pytest.fixture()
def both(spark):
    duck = new_connection()
    yield duck, SparkConnection(spark)
    duck.close()


def _rows(con, sql, parameters=None):
    return [tuple(r) for r in con.execute(sql, parameters).fetchall()]


def test_nulls_sort_last_on_both_engines(both):
    # Spark puts NULL first in ascending order, DuckDB last; sqlglot writes NULLS LAST out.
    sql = "SELECT x FROM (VALUES (2), (NULL), (1)) AS t(x) ORDER BY x"
    duck, spark = both
    assert _rows(duck, sql) == _rows(spark, sql) == [(1,), (2,), (None,)]


def test_median_interpolates_on_both_engines(both):
    # DuckDB's median of an even count is the mean of the middle two; Spark's MEDIAN (exact,
    # not percentile_approx) interpolates the same way.
    sql = "SELECT median(x) FROM (VALUES (1.0), (2.0), (4.0), (10.0)) AS t(x)"
    duck, spark = both
    assert _rows(duck, sql) == _rows(spark, sql) == [(3.0,)]


def test_slash_divides_as_double_on_both_engines(both):
    # '/' on two integers is a double on both (3.5, never 3): the feature SQL relies on it.
    sql = "SELECT 7 / 2"
    duck, spark = both
    assert _rows(duck, sql) == _rows(spark, sql) == [(3.5,)]


def test_integer_division_agrees_on_integers_and_differs_on_doubles(both):
    """``//`` on integers truncates toward zero on both (sqlglot writes Spark's ``DIV``); on a
    double DuckDB's ``//`` divides exactly while Spark's ``DIV`` refuses a double: the feature
    SQL never uses ``//`` for that reason."""
    duck, spark = both
    integers = "SELECT 7 // 2, -7 // 2"
    assert _rows(duck, integers) == _rows(spark, integers) == [(3, -3)]
    assert _rows(duck, "SELECT 7.0 // 2") == [(3.5,)]
    with pytest.raises(AnalysisException, match="DATATYPE_MISMATCH"):
        _rows(spark, "SELECT 7.0 // 2")


def test_microseconds_between_times_agree_across_a_daylight_saving_change(both):
    # Europe's clocks went forward on 2024-03-31: a wall-clock zone would lose an hour.
    sql = (
        "SELECT date_diff('microsecond', CAST('2024-03-31 00:30:00' AS TIMESTAMP), "
        "CAST('2024-03-31 03:30:00' AS TIMESTAMP)), "
        "CAST('2024-03-31 12:00:00' AS TIMESTAMP) - INTERVAL 30 DAY"
    )
    duck, spark = both
    expected = [(3 * 3600 * 10**6, datetime(2024, 3, 1, 12))]
    assert _rows(duck, sql) == _rows(spark, sql) == expected


def test_offsets_in_text_times_become_utc_on_both_engines(both, spark):
    """ISO 8601 text with an offset parses to the same naive UTC time (the loader's rule), and
    only because the Spark session's time zone is UTC: in another zone Spark would render it
    there."""
    sql = "SELECT CAST(TRY_CAST('2024-01-03 08:30:00+02:00' AS TIMESTAMPTZ) AS TIMESTAMP)"
    duck, spark_con = both
    assert _rows(duck, sql) == _rows(spark_con, sql) == [(datetime(2024, 1, 3, 6, 30),)]
    spark.conf.set("spark.sql.session.timeZone", "Europe/Paris")
    try:
        assert _rows(spark_con, sql) == [(datetime(2024, 1, 3, 7, 30),)]
    finally:
        spark.conf.set("spark.sql.session.timeZone", "UTC")


def test_fetched_times_ignore_the_process_time_zone(both, monkeypatch):
    """Spark's ``collect`` renders a timestamp in the Python process's local zone; the
    connection fetches through Arrow, so a process in New York still reads UTC."""
    sql = "SELECT CAST(TRY_CAST('2024-01-03T08:30:00Z' AS TIMESTAMPTZ) AS TIMESTAMPTZ)"
    _, spark = both
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert _rows(spark, sql)[0][0].replace(tzinfo=None) == datetime(2024, 1, 3, 8, 30)
    finally:
        monkeypatch.undo()
        time.tzset()


def test_parameters_bind_as_literals(both):
    sql = "SELECT count(*) FROM (VALUES (1), (2), (3)) AS t(x) WHERE x < ? AND ? > x"
    duck, spark = both
    assert _rows(duck, sql, [3, 2]) == _rows(spark, sql, [3, 2]) == [(1,)]
    named = "SELECT list_contains($names, 'b'), CAST($at AS TIMESTAMP)"
    values = {"names": ["a", "b"], "at": datetime(2024, 5, 1, 12)}
    assert _rows(duck, named, values) == _rows(spark, named, values)


def test_a_decimal_literal_divides_in_double_on_both_engines(both, spark):
    """``12.0`` is a DECIMAL literal on both; DuckDB divides by it in DOUBLE, Spark in DECIMAL
    rounded to 6 places. ``SparkConnection`` writes such literals as DOUBLE casts."""
    sql = "SELECT 1 / 6.0"
    duck, spark_con = both
    assert _rows(duck, sql) == _rows(spark_con, sql) == [(1 / 6,)]
    (untranslated,) = spark.sql(sql).collect()
    assert float(untranslated[0]) == 0.166667
