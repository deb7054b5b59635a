"""Load a validated CRM export into Spark: the files read by Spark, typed by the loader's SQL.

The export is validated exactly as for DuckDB (``features.validation``, which streams the files
once). Spark then reads each file itself (Parquet as written, CSV strictly RFC 4180 with every
column as text) and types each column with the SQL that ``features.loading`` runs on DuckDB
(``features.validation.parsing``), transpiled to Spark, so both engines read every value alike.
Each table becomes a cached temporary view named like the contract table.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession

from features.contract import TABLES, Table
from features.engines.spark.connection import SparkConnection
from features.export import Attribute, Export, quote
from features.loading import (
    ExportInvalid,
    ExportNotFound,
    later_rows,
    typed_selects,
    validate_for_loading,
)
from features.moments import to_naive_utc
from features.validation import ProgressHook, TableLayout

log = logging.getLogger(__name__)


def _read(session: SparkSession, layout: TableLayout) -> DataFrame:
    """The table file as Spark reads it: Parquet's own types, or CSV with every column text."""
    path = str(layout.source.path)
    if layout.source.format == "parquet":
        return session.read.parquet(path)
    # Quote and escape '"', fields may span lines (RFC 4180); no inference, no NULL marker:
    # an empty field is typed as missing by the loader's SQL, as on DuckDB.
    return session.read.csv(
        path,
        header=True,
        inferSchema=False,
        sep=",",
        quote='"',
        escape='"',
        multiLine=True,
        nullValue=None,
        emptyValue="",
        mode="FAILFAST",
    )


def _load_table(con: SparkConnection, table: Table, layout: TableLayout | None) -> None:
    """The typed table as a view over the file: Spark reads the file again in every query
    that needs it (no copy in memory: an export may be far larger than the cluster's RAM)."""
    if layout is None:
        # No file: an empty table with the contract's columns, typed.
        raw = con.session.sql("SELECT 1 AS x WHERE 1 = 0")
    else:
        raw = _read(con.session, layout)
    name = f"_raw_{table.name}"
    con.adopt(name, raw)
    try:
        # spark.sql analyses at once: the typed frame keeps the file scan, not the view's name.
        typed = con.execute(f"SELECT {', '.join(typed_selects(table, layout))} FROM {quote(name)}")
        con.adopt(table.name, typed.frame)
    finally:
        con.unregister(name)


def _check_rows(con: SparkConnection, layouts: dict[str, TableLayout]) -> None:
    """Refuse rows the validator never checked (as ``features.loading`` does): one Spark job
    counts every table."""
    if not layouts:
        return
    counts = ", ".join(f"(SELECT count(*) FROM {quote(name)})" for name in layouts)
    (loaded,) = con.execute(f"SELECT {counts}").fetchall()
    for layout, rows in zip(layouts.values(), loaded, strict=True):
        if rows != layout.rows:
            raise RuntimeError(
                f"{layout.source.file}: Spark loaded {rows} rows but validated {layout.rows}"
            )


def load_spark_export(
    path: Path,
    *,
    as_of: datetime,
    session: SparkSession,
    progress: ProgressHook | None = None,
    ignore_later_rows: bool = False,
) -> Export:
    """Validate the export in ``path`` as of ``as_of`` and return it as views of ``session``.

    The same contract as ``features.loading.load_export`` (errors, types, naive-UTC timestamps,
    NULL for missing optional columns, an empty ``accounts`` when absent); ``Export.con`` is a
    ``SparkConnection``. Raises ``ExportNotFound`` / ``ExportInvalid`` before touching Spark.
    ``path`` is a local folder: validation reads it on this machine. ``ignore_later_rows``: a
    backfill, counted in ``Export.later_rows`` as by ``load_export``.
    """
    if not path.is_dir():
        raise ExportNotFound(f"--data {path}: no such export folder")
    as_of = to_naive_utc(as_of, what="as_of")
    report = validate_for_loading(
        path, as_of=as_of, progress=progress, ignore_later_rows=ignore_later_rows
    )
    if not report.ok:
        raise ExportInvalid(report)
    con = SparkConnection(session)
    attributes: dict[str, tuple[Attribute, ...]] = {}
    text_columns: dict[str, tuple[str, ...]] = {}
    try:
        for index, table in enumerate(TABLES, start=1):
            layout = report.tables.get(table.name)
            _load_table(con, table, layout)
            attributes[table.name] = () if layout is None else layout.attributes
            text_columns[table.name] = () if layout is None else layout.text_columns
            if progress is not None:
                progress("load tables", index, len(TABLES))
        _check_rows(con, dict(report.tables))
    except BaseException:
        con.close()
        raise
    log.info("loaded %s into Spark: %s", path, dict(report.row_counts))
    event_tables = {t.name for t in TABLES if t.extra_columns_are == "text"}
    return Export(
        con=con,  # type: ignore[arg-type]  # the connection calls the feature code makes
        attributes={k: v for k, v in attributes.items() if k not in event_tables},
        event_text_columns={k: v for k, v in text_columns.items() if k in event_tables},
        source=str(path),
        later_rows=later_rows(report),
    )


def copy_to_spark(export: Export, *, session: SparkSession) -> Export:
    """The DuckDB ``export`` (from files or frames) copied table by table into ``session``.

    Same attributes, text columns and source; the copy is independent of ``export``. Each
    table goes through Arrow with its DuckDB types; an empty table keeps its columns. Used to
    run one in-memory export through both engines (the parity tests); exports on disk load
    with ``load_spark_export``.
    """
    con = SparkConnection(session)
    try:
        for table in TABLES:
            arrow = export.con.execute(f"SELECT * FROM {quote(table.name)}").to_arrow_table()
            con.adopt(table.name, session.createDataFrame(arrow))
    except BaseException:
        con.close()
        raise
    return Export(
        con=con,  # type: ignore[arg-type]
        attributes=export.attributes,
        event_text_columns=export.event_text_columns,
        source=export.source,
    )
