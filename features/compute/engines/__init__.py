"""Which engine computes the batch SQL (features, spine, labels): DuckDB on one machine or Spark.

Both run the same SQL: ``features.compute.sql`` and ``features.compute.labels`` write DuckDB SQL,
and the Spark engine transpiles it with sqlglot (``features.compute.engines.spark.connection``).
Entry points pick the engine (``--engine``, or the ``SALESRADAR_ENGINE`` environment variable) and
open the export through ``open_export``; nothing below them knows which engine runs.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from features.compute.engines.kinds import Engine

__all__ = ["Engine", "engine_of", "open_export"]

if TYPE_CHECKING:  # the CLI imports Engine at start-up; loading an export imports the rest
    from features.contract.export import Export
    from features.contract.validation import ProgressHook

ENGINE_VARIABLE = "SALESRADAR_ENGINE"


def open_export(
    path: Path | str,
    *,
    as_of: datetime,
    engine: Engine,
    progress: ProgressHook | None = None,
    ignore_later_rows: bool = False,
) -> Export:
    """Validate the export in ``path`` as of ``as_of`` and load it into ``engine``.

    ``path``: a local folder, or (Spark only) a URI as ``features.compute.engines.location.
    export_location`` keeps it. DuckDB: ``features.contract.loading.load_export``. Spark: the same
    validation, then the files are read by the process's Spark session
    (``features.compute.engines.spark.session.spark_session``) and typed by the same SQL. Raises
    what ``load_export`` raises (``ExportNotFound``, ``ExportInvalid``), and ``UserError`` for a URI
    with DuckDB or a URI Spark cannot read.
    """
    if Engine(engine) is Engine.SPARK:
        # Imported here so that DuckDB users never import pyspark (nor need Java).
        from features.compute.engines.spark.loading import load_spark_export
        from features.compute.engines.spark.session import spark_session

        return load_spark_export(
            path,
            as_of=as_of,
            session=spark_session(),
            progress=progress,
            ignore_later_rows=ignore_later_rows,
        )
    from features.contract.loading import load_export

    if not isinstance(path, Path):
        from features.compute.engines.location import export_location

        path = Path(export_location(path, engine=engine))  # a URI raises: DuckDB reads folders
    return load_export(path, as_of=as_of, progress=progress, ignore_later_rows=ignore_later_rows)


def engine_of(export: Export) -> Engine:
    """The engine an export was loaded into (``SparkConnection.engine`` says Spark)."""
    return Engine(getattr(export.con, "engine", Engine.DUCKDB))
