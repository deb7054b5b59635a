"""``--models-dir`` naming another store than ``MLFLOW_TRACKING_URI`` would be ignored (the URI
wins): it is refused in one line instead; the flag naming the URI's own store, or no flag, is
not refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from features.cli.root import build_app


@pytest.mark.parametrize("command", [["models"], ["promote", "churn", "--rollback"]])
def test_models_dir_naming_another_store_than_the_tracking_uri_is_refused(
    tmp_path: Path, command: list[str]
) -> None:
    uri = f"sqlite:///{tmp_path / 'elsewhere' / 'mlflow.db'}"
    env = {"MLFLOW_TRACKING_URI": uri, "COLUMNS": "200"}
    runner = CliRunner()
    other = tmp_path / "models"
    refused = runner.invoke(build_app(), [*command, "--models-dir", str(other)], env=env)
    assert (refused.exit_code, refused.output) == (
        2,
        f"error: --models-dir {other} is not the store MLFLOW_TRACKING_URI names (the URI would "
        "win): pass one or the other\n",
    )
    # The URI's own store, or no flag: the URI is used (here a store that does not exist).
    missing = f"error: MLFLOW_TRACKING_URI {uri}: no such database file\n"
    for flags in (["--models-dir", str(tmp_path / "elsewhere")], []):
        used = runner.invoke(build_app(), [*command, *flags], env=env)
        assert (used.exit_code, used.output) == (2, missing)


@pytest.mark.parametrize("command", ["monitor", "pipeline"])
def test_monitor_and_pipeline_refuse_it_too(tmp_path: Path, command: str) -> None:
    """The loop's commands share the flag and its rule (they used to ignore it silently)."""
    uri = f"sqlite:///{tmp_path / 'elsewhere' / 'mlflow.db'}"
    env = {"MLFLOW_TRACKING_URI": uri, "COLUMNS": "200"}
    other = tmp_path / "models"
    args = [command, "--data", str(tmp_path), "--as-of", "2026-10-01", "--models-dir", str(other)]
    refused = CliRunner().invoke(build_app(), args, env=env)
    assert (refused.exit_code, refused.output) == (
        2,
        f"error: --models-dir {other} is not the store MLFLOW_TRACKING_URI names (the URI would "
        "win): pass one or the other\n",
    )
