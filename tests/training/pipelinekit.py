"""What the pipeline's end-to-end tests share: a small generated CRM and its June cut, a fast
training config, and every store under one temporary folder."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

from typer.testing import CliRunner

from features.cli.root import build_app
from training.config import DEFAULT_CONFIG_PATH

LATE = datetime(2026, 10, 1)
EARLY = datetime(2026, 6, 15)


def late_and_early(root: Path) -> Path:
    """The small CRM as of ``LATE`` in ``root/late`` and its cut at ``EARLY`` in ``root/early``
    (``cut_export``); returns ``root/late``."""
    from features.synthetic import generate_crm
    from tests.training.test_monitoring_outcomes import cut_export

    late = root / "late"
    generate_crm(late, leads=100, customers=1500, seed=5, as_of=LATE, months=18, truth=False)
    cut_export(late, root / "early", EARLY)
    return late


def cli_world(root: Path) -> tuple[dict[str, str], list[str]]:
    """(environment, ``--config`` and ``--models-dir`` arguments) for CLI runs whose stores all
    live under ``root``; the config fits 30 trees instead of 250 to keep fits short."""
    config = root / "config.toml"
    config.write_text(
        DEFAULT_CONFIG_PATH.read_text().replace("n_estimators = 250", "n_estimators = 30")
    )
    shutil.copy(DEFAULT_CONFIG_PATH.with_name("wording.toml"), root / "wording.toml")
    mlflow = f"sqlite:///{root / 'models' / 'mlflow.db'}"
    env = {
        "SALESRADAR_SCORES_URL": f"sqlite:///{root / 'scores.db'}",
        "SALESRADAR_SERVED_DIR": str(root / "served"),
        "SALESRADAR_MLFLOW_TRACKING_URI": mlflow,
        "MLFLOW_TRACKING_URI": mlflow,
        "SALESRADAR_REGISTRY_TIMEOUT_SECONDS": "120",
    }
    return env, ["--config", str(config), "--models-dir", str(root / "models")]


def invoke(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """``salesradar <args>`` in this process: (exit code, output); never a traceback."""
    result = CliRunner().invoke(build_app(), args, env={"COLUMNS": "250", **env})
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return result.exit_code, result.output
