"""Load a validated CRM export into DuckDB with the contract's canonical types.

Loading validates first and refuses an export with errors; it then lets DuckDB scan the files
directly (Parquet or CSV, every CSV column as text) and types each column with the same SQL that
validation checked (``features.contract.validation.parsing``), so both parse every value identically
and nothing passes through pandas.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Protocol, TypeVar

import duckdb

from features.contract.export import SQL_TYPES, Attribute, Export, quote
from features.contract.tables import TABLES, Table
from features.contract.times import to_naive_utc
from features.contract.validation import (
    ProgressHook,
    Severity,
    TableLayout,
    ValidationReport,
    validate_export,
)
from features.contract.validation.parsing import attribute_sql, raw_text_sql, scan_sql, typed_sql
from features.contract.validation.validator import open_connection
from features.errors import UserError

log = logging.getLogger(__name__)

C = TypeVar("C", bound="Closeable")


class Closeable(Protocol):
    """A connection ``load_tables`` closes when a table cannot be loaded."""

    def close(self) -> None: ...


class ExportInvalid(UserError):
    """The export has validation errors; ``report`` holds every one of them."""

    exit_code = 1

    def __init__(self, report: ValidationReport, *, source: str | None = None) -> None:
        """``source``: how the user named the export when it is not ``report.path`` (a URI
        whose files were validated in a local copy)."""
        self.report = report
        errors = report.errors
        super().__init__(
            f"{source or report.path} is not a valid export: {len(errors)} error(s), "
            f"first: {errors[0]}"
        )


class ExportNotFound(UserError):
    """The export folder does not exist (or is a file): one line, before any work."""


def load_export(
    path: Path,
    *,
    as_of: datetime,
    progress: ProgressHook | None = None,
    ignore_later_rows: bool = False,
) -> Export:
    """Validate the export in ``path`` as of ``as_of`` and return it typed in DuckDB.

    Timestamps after ``as_of`` are validation errors, unless ``ignore_later_rows`` (scoring
    as of an earlier time than the export's, a backfill): then they are loaded, counted per
    file and column in ``Export.later_rows``, and ignored by every as-of computation (features
    read events strictly before the as-of; entities created later are not eligible). Training
    keeps them errors: its as-of must be the time the export describes, or the last cutoffs'
    label windows would be read from a different export than the one named.

    Raises ``ExportNotFound`` when ``path`` is not a folder, and ``ExportInvalid`` carrying the
    full report when validation finds errors; in that case no connection or table is left
    behind. Timestamps come back as naive UTC; missing optional contract columns are NULL;
    ``accounts`` is empty when the export has none.
    """
    if not path.is_dir():
        raise ExportNotFound(f"--data {path}: no such export folder")
    as_of = to_naive_utc(as_of, what="as_of")
    report = validate_for_loading(
        path, as_of=to_naive_utc(as_of), progress=progress, ignore_later_rows=ignore_later_rows
    )
    if not report.ok:
        raise ExportInvalid(report)
    con = open_connection()
    return load_tables(report, con, _create_table, source=str(path), progress=progress)


def load_tables(
    report: ValidationReport,
    con: C,
    create: Callable[[C, Table, TableLayout | None], None],
    *,
    source: str,
    progress: ProgressHook | None,
) -> Export:
    """Every contract table of the validated ``report`` created in ``con`` by ``create`` (given
    the table and its file's layout, None when the export has no such file), as an ``Export``
    named ``source``; every engine's loader ends here. ``create`` raises to refuse a table (it
    checks the rows loaded against ``layout.rows``); then ``con`` is closed and the error goes
    on, so nothing half-loaded is left behind."""
    attributes: dict[str, tuple[Attribute, ...]] = {}
    text_columns: dict[str, tuple[str, ...]] = {}
    try:
        for index, table in enumerate(TABLES, start=1):
            layout = report.tables.get(table.name)
            create(con, table, layout)
            attributes[table.name] = () if layout is None else layout.attributes
            text_columns[table.name] = () if layout is None else layout.text_columns
            if progress is not None:
                progress("load tables", index, len(TABLES))
    except BaseException:
        con.close()
        raise
    log.info("loaded %s: %s", source, dict(report.row_counts))
    event_tables = {t.name for t in TABLES if t.extra_columns_are == "text"}
    return Export(
        con=con,  # type: ignore[arg-type]  # DuckDB's, or an engine's answering its calls
        attributes={k: v for k, v in attributes.items() if k not in event_tables},
        event_text_columns={k: v for k, v in text_columns.items() if k in event_tables},
        source=source,
        later_rows=later_rows(report),
    )


def validate_for_loading(
    path: Path, *, as_of: datetime, progress: ProgressHook | None, ignore_later_rows: bool
) -> ValidationReport:
    """``validate_export`` as every loader runs it: timestamps after ``as_of`` are errors, or
    warnings counted for a backfill (``ignore_later_rows``). Returns the report; raises
    nothing for invalid data (the caller raises ``ExportInvalid``)."""
    later = Severity.WARNING if ignore_later_rows else Severity.ERROR
    return validate_export(path, as_of=as_of, progress=progress, later_rows=later)


def later_rows(report: ValidationReport) -> dict[str, int]:
    """Timestamps after the as-of that a backfill ignores, per ``"file, column"``: count."""
    return {
        f"{issue.file}, {issue.column}": issue.count
        for issue in report.warnings
        if issue.code == "after_as_of"
    }


def _create_table(con: duckdb.DuckDBPyConnection, table: Table, layout: TableLayout | None) -> None:
    if layout is None:
        columns = ", ".join(f"{quote(c.name)} {SQL_TYPES[c.kind]}" for c in table.columns)
        con.execute(f"CREATE TABLE {quote(table.name)} ({columns})")
    else:
        _create_from_file(con, table, layout)


def typed_selects(table: Table, layout: TableLayout | None) -> list[str]:
    """``<typed expression> AS <column>`` per column of ``table`` read from ``layout``'s file
    (contract columns, attributes, text columns); no layout: every contract column NULL."""
    selects = []
    for column in table.columns:
        family = None if layout is None else layout.families.get(column.name)
        if family is None:
            expr = f"CAST(NULL AS {SQL_TYPES[column.kind]})"
        else:
            expr = typed_sql(column.name, column.kind, family)
        selects.append(f"{expr} AS {quote(column.name)}")
    if layout is None:
        return selects
    for attribute in layout.attributes:
        family = layout.families[attribute.name]
        expr = attribute_sql(attribute.name, family, numeric=attribute.numeric)
        selects.append(f"{expr} AS {quote(attribute.name)}")
    for name in layout.text_columns:
        selects.append(f"{raw_text_sql(name, layout.families[name])} AS {quote(name)}")
    return selects


def _create_from_file(con: duckdb.DuckDBPyConnection, table: Table, layout: TableLayout) -> None:
    selects = typed_selects(table, layout)
    scan = scan_sql(layout.source.path, layout.source.format, list(layout.families))
    con.execute(f"CREATE TABLE {quote(table.name)} AS SELECT {', '.join(selects)} FROM {scan}")
    ((loaded,),) = con.execute(f"SELECT count(*) FROM {quote(table.name)}").fetchall()
    if loaded != layout.rows:
        # The validator and DuckDB's reader disagree on the file's records: refuse rather than
        # serve rows that were never checked.
        raise RuntimeError(
            f"{layout.source.file}: loaded {loaded:,} rows but validated {layout.rows:,}"
        )
