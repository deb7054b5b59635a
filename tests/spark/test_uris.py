"""``--data`` as a URI on the Spark engine (``file:///`` here: no network), and the one-line
errors of the CLI contract: a URI with DuckDB, a folder that is not there, a scheme Spark has no
file system for."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from features.cli.commands.summary import summarize_export
from features.cli.root import build_app
from features.compute.engines import Engine, open_export
from features.compute.engines.spark.remote import staged_for_validation
from features.contract.loading import ExportInvalid
from tests.spark.frames import assert_same_export

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
AS_OF = datetime(2026, 10, 1)
USE_SPARK = (
    "DuckDB reads local folders only; read a URI with --engine spark (or SALESRADAR_ENGINE=spark)"
)


@pytest.fixture()
def sample(tmp_path: Path) -> Path:
    """A copy of the committed CSV sample (its README.md is not a table), and a subfolder."""
    folder = tmp_path / "export"
    shutil.copytree(SAMPLE, folder)
    (folder / "ground_truth").mkdir()
    (folder / "ground_truth" / "customers.csv").write_text("ignored,like a local subfolder\n")
    return folder


def test_the_table_files_are_staged_through_spark_for_validation(spark, sample):
    with staged_for_validation(sample.as_uri(), session=spark) as local:
        staged = sorted(p.name for p in local.iterdir())
        assert staged == sorted(p.name for p in sample.iterdir() if p.is_file())
        for name in staged:
            if name.endswith(".csv"):
                assert (local / name).read_bytes() == (sample / name).read_bytes()
        # Not a table: kept by name (the validator warns about it), its bytes not copied.
        assert (local / "README.md").stat().st_size == 0
    assert not local.exists()


def test_a_file_uri_loads_like_the_local_folder(spark, sample):
    """Validated in a local copy that is gone by the time the tables are read: Spark reads
    every table from the URI itself."""
    uri = sample.as_uri()
    assert uri.startswith("file:///")
    duck = open_export(sample, as_of=AS_OF, engine=Engine.DUCKDB)
    remote = open_export(uri, as_of=AS_OF, engine=Engine.SPARK)
    try:
        assert remote.source == uri
        assert_same_export(duck, remote)
        assert summarize_export(remote, as_of=AS_OF) == summarize_export(duck, as_of=AS_OF)
    finally:
        remote.close()
        duck.close()


def test_an_invalid_export_behind_a_uri_is_refused_naming_it(spark, sample):
    customers = sample / "customers.csv"
    lines = customers.read_text().splitlines(keepends=True)
    lines[2] = lines[2].replace('"2025-10-01T17:17:37"', '"yesterday"')
    customers.write_text("".join(lines))
    uri = sample.as_uri()
    with pytest.raises(ExportInvalid) as refused:
        open_export(uri, as_of=AS_OF, engine=Engine.SPARK)
    assert str(refused.value).startswith(f"{uri} is not a valid export: 1 error(s), first: ")
    (error,) = refused.value.report.errors
    assert (error.file, error.column) == ("customers.csv", "created_at")
    assert "2" in str(error)  # the record number: the second customer


def test_validate_reads_a_uri_with_spark_and_names_it(spark, sample):
    """The same report as for the local folder, each line naming the URI, never the temporary
    copy; an invalid export behind a URI exits 1 with its errors."""
    uri = sample.as_uri()
    runner = CliRunner()
    args = ["--as-of", "2026-10-01"]
    env = {"COLUMNS": "300"}
    local = runner.invoke(build_app(), ["validate", str(sample), *args], env=env)
    remote = runner.invoke(build_app(), ["validate", uri, *args, "--engine", "spark"], env=env)
    assert (local.exit_code, remote.exit_code) == (0, 0), remote.output
    assert remote.output == local.output.replace(str(sample), uri)
    assert remote.output.strip().splitlines()[-1].startswith(f"{uri}: valid as of ")
    assert "salesradar-validate-" not in remote.output
    customers = sample / "customers.csv"
    lines = customers.read_text().splitlines(keepends=True)
    lines[2] = lines[2].replace('"2025-10-01T17:17:37"', '"yesterday"')
    customers.write_text("".join(lines))
    refused = runner.invoke(build_app(), ["validate", uri, *args, "--engine", "spark"], env=env)
    assert refused.exit_code == 1, refused.output
    assert "customers.csv" in refused.output and "created_at" in refused.output
    assert refused.output.strip().splitlines()[-1].startswith(f"{uri}: invalid as of ")


def test_uri_mistakes_are_one_line_and_exit_2(spark, sample, tmp_path):
    uri = sample.as_uri()
    missing = (tmp_path / "nowhere").as_uri()
    models = ["--models-dir", str(tmp_path / "models")]
    at = ["--as-of", "2026-10-01"]
    cases = [
        (["summary", uri], f"{uri}: {USE_SPARK}"),
        (["validate", uri, *at], f"{uri}: {USE_SPARK}"),
        (
            ["validate", "nope://bucket/crm", *at, "--engine", "spark"],
            "nope://bucket/crm: Spark cannot read it (UnsupportedFileSystemException: ",
        ),
        (["score", "--data", uri, *at], f"--data {uri}: {USE_SPARK}"),
        (
            ["train", "churn", "--data", missing, *at, *models, "--engine", "spark"],
            f"--data {missing}: no such export folder",
        ),
        (
            ["summary", "nope://bucket/crm", "--engine", "spark"],
            "nope://bucket/crm: Spark cannot read it (UnsupportedFileSystemException: ",
        ),
    ]
    runner = CliRunner()
    for args, expected in cases:
        result = runner.invoke(build_app(), args, env={"COLUMNS": "300"})
        lines = result.output.strip().splitlines()
        assert (result.exit_code, len(lines)) == (2, 1), (args, result.output)
        assert expected in lines[0], (args, lines[0])
