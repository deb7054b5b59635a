"""Spark reads an export's files as DuckDB's loader does; the ``--engine`` option and setting."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from typer.testing import CliRunner

from features.cli.commands.summary import summarize_export
from features.cli.root import build_app
from features.compute.engines import Engine, engine_of, open_export
from tests.spark.frames import assert_same_export

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
AS_OF = datetime(2026, 10, 1)


def test_the_sample_export_loads_alike_on_both_engines(spark):
    """The committed sample is CSV: every value typed by Spark (times with offsets, amounts,
    empty fields, attributes) equals DuckDB's; so does the summary computed on each."""
    duck = open_export(SAMPLE, as_of=AS_OF, engine=Engine.DUCKDB)
    on_spark = open_export(SAMPLE, as_of=AS_OF, engine=Engine.SPARK)
    try:
        assert (engine_of(duck), engine_of(on_spark)) == (Engine.DUCKDB, Engine.SPARK)
        assert_same_export(duck, on_spark)
        assert summarize_export(on_spark, as_of=AS_OF) == summarize_export(duck, as_of=AS_OF)
    finally:
        on_spark.close()
        duck.close()


def test_an_unknown_engine_is_one_line_naming_option_and_variable():
    runner = CliRunner()
    for args, env in (
        (["summary", str(SAMPLE), "--engine", "nope"], {}),
        (["summary", str(SAMPLE)], {"SALESRADAR_ENGINE": "nope"}),
    ):
        result = runner.invoke(build_app(), args, env={"COLUMNS": "300", **env})
        assert result.exit_code == 2
        lines = result.output.strip().splitlines()
        assert len(lines) == 1
        assert "'--engine' (env var: 'SALESRADAR_ENGINE')" in lines[0]
        assert "'nope' is not one of 'duckdb', 'spark'" in lines[0]
