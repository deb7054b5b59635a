"""The ``--engine`` option of ``train``, ``score`` and ``summary``: one definition for all three;
``--data`` of ``train`` and ``score``, which takes a URI with ``--engine spark``."""

from __future__ import annotations

from typing import Annotated

import typer

from features.compute.engines import ENGINE_VARIABLE, Engine

EngineOption = Annotated[
    Engine,
    typer.Option(
        "--engine",
        envvar=ENGINE_VARIABLE,
        help="Engine that computes features, spine and labels: 'duckdb' (one machine) or "
        "'spark' (the session's master: SALESRADAR_SPARK_MASTER, default local[2]).",
        case_sensitive=False,
    ),
]

DataOption = Annotated[
    str,
    typer.Option(
        "--data",
        help="Export folder (one file per table); with --engine spark also any URI Spark "
        "reads (file:///..., s3a://..., hdfs://..., gs://...).",
    ),
]
ExportArgument = Annotated[
    str,
    typer.Argument(
        help="Export folder (one file per table); with --engine spark also any URI Spark reads."
    ),
]
