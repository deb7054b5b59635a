"""The engines that can run the batch SQL, as one enum every module (and the CLI) can import
without importing an engine: ``features.compute.engines`` re-exports it."""

from __future__ import annotations

from enum import StrEnum


class Engine(StrEnum):
    """The engine that runs the batch SQL: DuckDB on one machine, or Spark."""

    DUCKDB = "duckdb"
    SPARK = "spark"
