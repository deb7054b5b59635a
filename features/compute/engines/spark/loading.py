"""Load a validated CRM export into Spark: the files read by Spark, typed by the loader's SQL.

The export is validated exactly as for DuckDB (``features.contract.validation``, which streams the
files once). Spark then reads each file itself (Parquet as written, CSV strictly RFC 4180 with every
column as text) and types each column with the SQL that ``features.contract.loading`` runs on DuckDB
(``features.contract.validation.parsing``), transpiled to Spark, so both engines read every value
alike. Each table becomes a temporary view over its file, named like the contract table. The export
is a local folder or a URI (``features.compute.engines.spark.remote``: where each is validated).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession

from features.compute.engines.spark.connection import SparkConnection
from features.compute.engines.spark.remote import file_uri, staged_for_validation
from features.contract.export import Export, quote
from features.contract.loading import (
    ExportInvalid,
    ExportNotFound,
    load_tables,
    typed_selects,
    validate_for_loading,
)
from features.contract.tables import TABLES, Table
from features.contract.times import to_naive_utc
from features.contract.validation import ProgressHook, TableLayout


def _read(session: SparkSession, layout: TableLayout, where: str) -> DataFrame:
    """The table file at ``where`` as Spark reads it: Parquet's own types, or CSV with every
    column text."""
    if layout.source.format == "parquet":
        return session.read.parquet(where)
    # Quote and escape '"', fields may span lines (RFC 4180); no inference, no NULL marker:
    # an empty field is typed as missing by the loader's SQL, as on DuckDB.
    return session.read.csv(
        where,
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


def _table_creator(uri: str | None) -> Callable[[SparkConnection, Table, TableLayout | None], None]:
    """What ``features.contract.loading.load_tables`` calls per table: the typed table as a view
    over its file, read from the validated local file, or from the same file name under ``uri``."""

    def create(con: SparkConnection, table: Table, layout: TableLayout | None) -> None:
        # A view over the file: Spark reads the file again in every query that needs it (no
        # copy in memory: an export may be far larger than the cluster's RAM).
        if layout is None:
            # No file: an empty table with the contract's columns, typed.
            raw = con.session.sql("SELECT 1 AS x WHERE 1 = 0")
        else:
            where = str(layout.source.path) if uri is None else file_uri(uri, layout.source.file)
            raw = _read(con.session, layout, where)
        name = f"_raw_{table.name}"
        con.adopt(name, raw)
        try:
            # spark.sql analyses at once: the typed frame keeps the file scan, not the view.
            select = ", ".join(typed_selects(table, layout))
            typed = con.execute(f"SELECT {select} FROM {quote(name)}").frame
            con.adopt(table.name, typed)
        finally:
            con.unregister(name)
        if layout is not None:
            # Refuse rows the validator never checked (as features.contract.loading does).
            rows = typed.count()
            if rows != layout.rows:
                raise RuntimeError(
                    f"{layout.source.file}: Spark loaded {rows} rows but validated {layout.rows}"
                )

    return create


def load_spark_export(
    location: Path | str,
    *,
    as_of: datetime,
    session: SparkSession,
    progress: ProgressHook | None = None,
    ignore_later_rows: bool = False,
) -> Export:
    """Validate the export at ``location`` as of ``as_of`` and return it as views of ``session``.

    The same contract as ``features.contract.loading.load_export`` (errors, types, naive-UTC
    timestamps, NULL for missing optional columns, an empty ``accounts`` when absent);
    ``Export.con`` is a ``SparkConnection``. ``location``: a local folder (validated in place), or a
    URI any of the session's file systems reads (``file:///``, ``s3a://``, ``hdfs://``, ...): its
    table files are validated in a temporary local copy fetched by Spark
    (``features.compute.engines.spark.remote``), then Spark reads them from the URI. Raises
    ``ExportNotFound`` / ``UnreadableUri`` / ``ExportInvalid`` (naming ``location``) before any
    table is read into Spark. ``ignore_later_rows``: a backfill, counted in ``Export.later_rows`` as
    by ``load_export``.
    """
    as_of = to_naive_utc(as_of, what="as_of")
    uri = None if isinstance(location, Path) else location
    if uri is None:
        if not Path(location).is_dir():
            raise ExportNotFound(f"--data {location}: no such export folder")
        folder: AbstractContextManager[Path] = nullcontext(Path(location))
    else:
        folder = staged_for_validation(uri, session=session)
    with folder as local:
        report = validate_for_loading(
            local, as_of=as_of, progress=progress, ignore_later_rows=ignore_later_rows
        )
    if not report.ok:
        raise ExportInvalid(report, source=str(location))
    con = SparkConnection(session)
    return load_tables(report, con, _table_creator(uri), source=str(location), progress=progress)


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
