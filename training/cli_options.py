"""Options the training commands share (``salesradar train|promote|models|monitor|pipeline``).

Apart from ``training.cli`` so the sub-command modules it registers (``training.monitoring.cli``,
``training.pipeline.cli``) can use them without importing it back.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from features.errors import UserError

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="Training config (TOML): hyperparameters, split, capacity, baselines, promotion "
        "rules. Default: training/config.toml.",
        show_default=False,
    ),
]
DEFAULT_MODELS_DIR = Path("models")

# None when not given, so a flag the tracking URI would override is refused, never ignored.
ModelsDirFlag = Annotated[
    Path | None,
    typer.Option(
        "--models-dir",
        help="Folder of the embedded MLflow store (mlflow.db, mlartifacts/). Refused when "
        "MLFLOW_TRACKING_URI names another store (the URI names the store).",
        show_default="models",
    ),
]


def models_dir_or_default(models_dir: Path | None) -> Path:
    """The ``--models-dir`` given (None: not given) or ``DEFAULT_MODELS_DIR``. Given while
    ``MLFLOW_TRACKING_URI`` names another store it would be ignored (the URI wins): a one-line
    ``UserError`` instead, since no flag is silently ignored (the URI of that store's own
    ``mlflow.db`` is accepted). The URI is not repeated (it may hold a password)."""
    if models_dir is None:
        return DEFAULT_MODELS_DIR
    uri = os.environ.get("MLFLOW_TRACKING_URI", "").strip()
    own = Path(uri.removeprefix("sqlite:///")).resolve() if uri.startswith("sqlite:///") else None
    if uri and own != (models_dir / "mlflow.db").resolve():
        raise UserError(
            f"--models-dir {models_dir} is not the store MLFLOW_TRACKING_URI names (the URI "
            "would win): pass one or the other"
        )
    return models_dir
