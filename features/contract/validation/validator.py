"""Validate a whole CRM export in one streaming pass and report every problem at once.

Tables are read batch by batch (never whole into pandas); each batch is checked by one DuckDB
query, and only the ID sets needed by the cross-table checks are kept. Parents are checked
before the tables that refer to them: accounts, then leads and customers, then their events.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from features.contract.export import Attribute, new_connection
from features.contract.tables import EVENT_TEXT_COLUMNS, TABLES, Kind, Table
from features.contract.times import to_naive_utc
from features.contract.validation import checks as ck
from features.contract.validation.attributes import AttributeStats
from features.contract.validation.crosschecks import (
    check_csv_structure,
    check_duplicate_events,
    check_duplicate_keys,
    check_entities_without_events,
    event_row_hash_sql,
    event_rows_set,
    seen_set,
)
from features.contract.validation.halves import HALF_TABLES, check_halves
from features.contract.validation.parsing import (
    ACCEPTED,
    SourceType,
    is_numeric_family,
    source_type,
)
from features.contract.validation.report import IssueCollector, Severity, ValidationReport
from features.contract.validation.sources import (
    ProgressHook,
    RaggedRowsFound,
    TableSource,
    find_ragged_records,
    iter_batches,
    open_source,
    unclosed_quote_line,
)
from features.contract.validation.sources import find_table_files as _find_table_files

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TableLayout:
    """What loading needs to know about a validated table file."""

    source: TableSource
    families: dict[str, SourceType]
    attributes: tuple[Attribute, ...] = ()
    text_columns: tuple[str, ...] = ()
    rows: int = 0


@dataclass
class _Context:
    con: duckdb.DuckDBPyConnection
    as_of: datetime
    issues: IssueCollector
    progress: ProgressHook | None
    later_rows: Severity = Severity.ERROR  # of a timestamp after as_of (checks.column_checks)
    # Tables whose key set is complete, so others can be checked against it.
    key_sets: set[str] = field(default_factory=set)
    # Event tables whose referenced entity IDs were collected.
    seen_sets: set[str] = field(default_factory=set)
    layouts: dict[str, TableLayout] = field(default_factory=dict)


def open_connection() -> duckdb.DuckDBPyConnection:
    """A contract-configured DuckDB connection that never draws its own progress bar.

    DuckDB prints a bar to stdout for long queries by default; a library must not print, and
    the CLI draws its own bars.
    """
    con = new_connection()
    con.execute("SET enable_progress_bar = false")
    return con


def validate_export(
    path: Path,
    *,
    as_of: datetime,
    progress: ProgressHook | None = None,
    later_rows: Severity = Severity.ERROR,
) -> ValidationReport:
    """Check every table of the export in ``path`` as of ``as_of`` and report every problem.

    ``as_of`` is the time the export claims to describe: any timestamp after it is an error
    (naive = UTC; aware values are converted), or, with ``later_rows`` WARNING, a counted
    ``after_as_of`` warning (a backfill: a run as of an earlier time than the export's, which
    ignores the later rows). Nothing defaults to "now". ``progress``, when
    given, is called with (step, done, total) as files are read. The report's ``coverage`` says
    which tasks the export can serve (either half of the CRM may be absent or empty); raises
    ``NotADirectoryError`` when ``path`` is not a folder.
    """
    as_of = to_naive_utc(as_of, what="as_of")
    issues = IssueCollector()
    if not path.is_dir():
        raise NotADirectoryError(f"{path} is not a folder")
    files = _find_table_files(path, issues)
    context = _Context(
        con=open_connection(),
        as_of=as_of,
        issues=issues,
        progress=progress,
        later_rows=later_rows,
    )
    try:
        for table in _in_dependency_order(TABLES):
            if table.name in files:
                _validate_table(context, table, files[table.name])
        for table in TABLES:
            if table.name in context.seen_sets and table.parent in context.key_sets:
                parent_file = context.layouts[table.parent].source.file
                check_entities_without_events(context.con, issues, table, parent_file)
    finally:
        context.con.close()
    row_counts = {name: layout.rows for name, layout in context.layouts.items()}
    coverage = check_halves(files, row_counts, issues)
    report = ValidationReport(
        path=path,
        as_of=as_of,
        issues=issues.issues(),
        row_counts=row_counts,
        tables=dict(context.layouts),
        coverage=coverage,
    )
    log.info("validated %s: %d errors, %d warnings", path, len(report.errors), len(report.warnings))
    return report


def _in_dependency_order(tables: tuple[Table, ...]) -> list[Table]:
    """Referenced tables first: accounts, then entities, then the events that refer to them."""

    def rank(table: Table) -> int:
        if table.parent is not None:
            return 2
        return 0 if table.name == "accounts" else 1

    return sorted(tables, key=rank)


def _validate_table(context: _Context, table: Table, path: Path) -> None:
    try:
        source = open_source(table, path)
    except ValueError as exc:
        context.issues.add(
            Severity.ERROR, "unreadable_file", file=path.name, column=None, message=str(exc)
        )
        return
    # Findings go to a scratch collector first: a rescan replaces them instead of doubling them.
    scratch = IssueCollector()
    try:
        _scan_table(replace(context, issues=scratch), source, ragged_records=[])
    except (pa.ArrowException, OSError, RaggedRowsFound) as exc:
        if source.format == "csv" and _report_unclosed_quote(context, source):
            return
        if isinstance(exc, RaggedRowsFound):
            _rescan_ragged(context, source)
            return
        # Broken quoting at the end of a CSV or a corrupt Parquet page: the file cannot be
        # read past this point, so its other findings would be partial.
        context.issues.add(
            Severity.ERROR,
            "unreadable_file",
            file=path.name,
            column=None,
            message=f"cannot be read: {exc}",
        )
        return
    context.issues.merge(scratch)


def _report_unclosed_quote(context: _Context, source: TableSource) -> bool:
    """Report a quote that opens and never closes, at its line; False when there is none."""
    line = unclosed_quote_line(source.path)
    if line is None:
        return False
    context.issues.add(
        Severity.ERROR,
        "unclosed_quote",
        file=source.file,
        column=None,
        message=f"line {line}: a quote opens here and is never closed, so the rest of the "
        "file reads as one value",
    )
    return True


def _rescan_ragged(context: _Context, source: TableSource) -> None:
    """Scan again knowing the record numbers of the rows with a wrong field count."""
    path = source.path
    try:
        ragged = find_ragged_records(source)
    except ValueError as exc:
        context.issues.add(
            Severity.ERROR,
            "malformed_csv",
            file=path.name,
            column=None,
            message=f"not a well-formed CSV file ({exc})",
        )
        return
    scratch = IssueCollector()
    scratch.add(
        Severity.ERROR,
        "ragged_row",
        file=source.file,
        column=None,
        message=f"wrong number of fields (the header has {len(source.schema.names)})",
        rows=ragged,
        count=len(ragged),
    )
    _scan_table(replace(context, issues=scratch), source, ragged_records=ragged)
    context.issues.merge(scratch)


def _scan_table(context: _Context, source: TableSource, *, ragged_records: list[int]) -> None:
    """Stream one table file through every check that its own rows and earlier tables allow."""
    issues, table, path = context.issues, source.table, source.path
    families = {f.name: source_type(f.type) for f in source.schema}
    present = _check_contract_columns(context, source, families)
    extras = [n for n in families if table.column(n) is None]
    attribute_names = extras if table.extra_columns_are == "attribute" else []
    # Parquet attributes take their kind from the physical type; CSV ones from their values.
    parquet_numeric = frozenset(
        n for n in attribute_names if source.format == "parquet" and is_numeric_family(families[n])
    )
    row_checks = _row_checks(context, table, present, parquet_numeric, families)
    if table.extra_columns_are == "text":
        # Only the columns the API takes (``EventIn``): other extra columns never reach it.
        row_checks += [ck.event_text_check(n) for n in extras if n in EVENT_TEXT_COLUMNS]
    stats = AttributeStats(
        attribute_names, families, parquet_numeric, kind_from_values=source.format == "csv"
    )
    select = ck.typed_select(table, {n: families[n] for n in [*present, *extras]}, parquet_numeric)
    con = context.con
    key = table.key if table.key in present else None
    if key and table.parent is None:
        con.execute(f"CREATE OR REPLACE TABLE {ck.key_set(table.name)} (id VARCHAR, row BIGINT)")
    if key and table.parent is not None:
        con.execute(f"CREATE OR REPLACE TABLE {seen_set(table.name)} (id VARCHAR)")
    if table.parent is not None:
        con.execute(f"CREATE OR REPLACE TABLE {event_rows_set(table.name)} (h UBIGINT, row BIGINT)")
        row_hash = event_row_hash_sql(present, extras)
    rows = 0
    batches = iter_batches(
        source, issues, progress=context.progress, label=path.name, ragged_records=ragged_records
    )
    for batch in batches:
        rows += batch.num_rows
        con.register("_batch", pa.Table.from_batches([batch]))
        # A view, not a table: copying the batch costs more than parsing it again in the rare
        # detail query, and the count query parses each value once.
        con.execute(f"CREATE OR REPLACE TEMP VIEW _typed AS SELECT {select} FROM _batch")
        _run_checks(context, source.file, row_checks)
        stats.update(con)
        if table.parent is not None:
            con.execute(
                f"INSERT INTO {event_rows_set(table.name)} SELECT {row_hash}, __row FROM _typed"
            )
        if key and table.parent is None:
            con.execute(
                f"INSERT INTO {ck.key_set(table.name)} SELECT {ck.typed(key)}, __row FROM _typed "
                f"WHERE {ck.typed(key)} IS NOT NULL"
            )
        elif key:
            con.execute(
                f"INSERT INTO {seen_set(table.name)} SELECT DISTINCT {ck.typed(key)} "
                f"FROM _typed WHERE {ck.typed(key)} IS NOT NULL"
            )
        con.unregister("_batch")
    if source.format == "csv" and not ragged_records:
        check_csv_structure(context.con, context.issues, source, rows)
    if rows == 0 and table.name not in HALF_TABLES:  # a half's tables are judged as a pair
        issues.add(
            Severity.ERROR,
            "empty_table",
            file=source.file,
            column=None,
            message=f"table {table.name} has no rows",
        )
    if key and table.parent is None:
        check_duplicate_keys(context.con, context.issues, source.file, table)
        context.key_sets.add(table.name)
    elif key:
        context.seen_sets.add(table.name)
    if table.parent is not None:
        check_duplicate_events(context.con, context.issues, source.file, table)
    for warning in stats.warnings(rows):
        issues.add(
            Severity.WARNING,
            warning.code,
            file=source.file,
            column=warning.column,
            message=warning.message,
            rows=warning.rows,
            count=warning.count,
        )
    context.layouts[table.name] = TableLayout(
        source=source,
        families=families,
        attributes=stats.attributes(table.name),
        text_columns=tuple(extras) if table.extra_columns_are == "text" else (),
        rows=rows,
    )


def _check_contract_columns(
    context: _Context, source: TableSource, families: dict[str, SourceType]
) -> list[str]:
    """Report missing required columns and unusable physical types; return the usable columns."""
    present = []
    for column in source.table.columns:
        family = families.get(column.name)
        if family is None:
            if column.required:
                context.issues.add(
                    Severity.ERROR,
                    "missing_column",
                    file=source.file,
                    column=column.name,
                    message="required column is missing",
                )
        elif family not in ACCEPTED[column.kind]:
            context.issues.add(
                Severity.ERROR,
                "column_type",
                file=source.file,
                column=column.name,
                message=(
                    f"stored as {source.schema.field(column.name).type}; a {column.kind.value} "
                    f"column must be {' or '.join(sorted(ACCEPTED[column.kind]))}"
                ),
            )
        else:
            present.append(column.name)
    return present


def _row_checks(
    context: _Context,
    table: Table,
    present: list[str],
    parquet_numeric: frozenset[str],
    families: dict[str, SourceType],
) -> list[ck.RowCheck]:
    row_checks: list[ck.RowCheck] = []
    for name in present:
        column = table.column(name)
        assert column is not None
        row_checks += ck.column_checks(column, as_of=context.as_of, later_rows=context.later_rows)
        if column.kind is Kind.AMOUNT and families[name] is SourceType.TEXT:
            row_checks.append(ck.thousands_separator_check(name))
    row_checks += ck.outcome_checks(table, set(present))
    if table.parent is not None and table.key in present and table.parent in context.key_sets:
        row_checks.append(ck.reference_check(table.key, table.parent))
    accounts_known = "accounts" in context.key_sets and table.name != "accounts"
    if accounts_known and "account_id" in present and table.column("account_id") is not None:
        row_checks.append(ck.reference_check("account_id", "accounts"))
    row_checks += [ck.non_finite_attribute_check(n) for n in sorted(parquet_numeric)]
    return row_checks


def _run_checks(context: _Context, file: str, row_checks: list[ck.RowCheck]) -> None:
    """Count offending rows per check; fetch row numbers and values only where there are some."""
    if not row_checks:
        return
    ((*counts,),) = context.con.execute(ck.count_sql(row_checks, "_typed")).fetchall()
    failed = [(check, count) for check, count in zip(row_checks, counts, strict=True) if count]
    if not failed:
        return
    ((*details,),) = context.con.execute(
        ck.detail_sql([check for check, _ in failed], "_typed")
    ).fetchall()
    for i, (check, count) in enumerate(failed):
        rows, value = details[2 * i], details[2 * i + 1]
        context.issues.add(
            check.severity,
            check.code,
            file=file,
            column=check.column,
            message=check.message.format(value=value),
            rows=rows,
            count=count,
        )
