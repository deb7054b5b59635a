"""Options the training commands share (``salesradar train|promote|models|monitor|pipeline``).

Apart from ``training.cli`` so the sub-command modules it registers (``training.monitoring.cli``,
``training.pipeline.cli``) can use them without importing it back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="Training config (TOML): hyperparameters, split, capacity, baselines, promotion "
        "rules. Default: training/config.toml.",
        show_default=False,
    ),
]
ModelsDirOption = Annotated[
    Path,
    typer.Option(
        "--models-dir",
        help="Folder of the embedded MLflow store (mlflow.db, mlartifacts/). Ignored when "
        "MLFLOW_TRACKING_URI is set.",
    ),
]
