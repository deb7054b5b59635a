"""Checks that need more than one batch: duplicate keys, entities without events, exact
duplicate events, and the loader's own count of a CSV file's records.

Key sets live in the validation connection: ``keys.<table>`` (id, row) for entity tables and
``seen.<table>`` (id) for the entity IDs an event table refers to; ``rows.<table>`` (hash, row)
holds a hash of each event row after typing.
"""

from __future__ import annotations

import duckdb

from features.contract.export import quote
from features.contract.tables import Table
from features.contract.validation.checks import key_set, raw, typed
from features.contract.validation.parsing import scan_sql
from features.contract.validation.report import IssueCollector, Severity
from features.contract.validation.sources import TableSource, mixed_line_end


def seen_set(table: str) -> str:
    """The DuckDB table holding the distinct entity IDs that an event table refers to."""
    return quote(f"seen.{table}")


def check_csv_structure(
    con: duckdb.DuckDBPyConnection, issues: IssueCollector, source: TableSource, rows: int
) -> None:
    """Let the loader's CSV reader count the records too: what validates must also load.

    Both readers accept the same RFC 4180 files, but an unterminated quote is silently taken to
    run to the end of the file by the streaming reader and rejected by DuckDB's strict one.
    """
    scan = scan_sql(source.path, source.format, source.schema.names)
    try:
        ((loaded,),) = con.execute(f"SELECT count(*) FROM {scan}").fetchall()
    except duckdb.Error as exc:
        mixed = mixed_line_end(source.path)
        if mixed is not None:
            line, first, other = mixed
            message = (
                f"line {line} ends with {other} while the lines before it end with {first}: "
                "mixed line endings, which the loader cannot read; save the file with one line "
                f"ending throughout (all {first} or all {other})"
            )
            issues.add(
                Severity.ERROR, "malformed_csv", file=source.file, column=None, message=message
            )
            return
        lines = [line.strip() for line in str(exc).split("Possible fixes")[0].splitlines()]
        reason = "; ".join(line for line in lines if line).removeprefix("Invalid Input Error: ")
        message = f"not a well-formed CSV file ({reason})"
        issues.add(Severity.ERROR, "malformed_csv", file=source.file, column=None, message=message)
        return
    if loaded != rows:
        issues.add(
            Severity.ERROR,
            "malformed_csv",
            file=source.file,
            column=None,
            message=f"{loaded:,} records for the loader but {rows:,} for the validator; "
            "check quoting",
        )


def check_duplicate_keys(
    con: duckdb.DuckDBPyConnection, issues: IssueCollector, file: str, table: Table
) -> None:
    """One issue naming every row whose key occurs more than once."""
    keys = key_set(table.name)
    ((count, rows, first),) = con.execute(
        f"SELECT count(*), min(row, 10), arg_min(id, row) FROM {keys} "
        f"WHERE id IN (SELECT id FROM {keys} GROUP BY id HAVING count(*) > 1)"
    ).fetchall()
    if count:
        issues.add(
            Severity.ERROR,
            "duplicate_id",
            file=file,
            column=table.key,
            message=f"duplicate {table.key} (first: '{first}')",
            rows=rows,
            count=count,
        )


def check_entities_without_events(
    con: duckdb.DuckDBPyConnection, issues: IssueCollector, events: Table, parent_file: str
) -> None:
    """Warn about entities that no event refers to (they get no behavioural features)."""
    assert events.parent is not None
    ((count, rows),) = con.execute(
        f"SELECT count(*), min(row, 10) FROM {key_set(events.parent)} "
        f"WHERE id NOT IN (SELECT id FROM {seen_set(events.name)})"
    ).fetchall()
    if count:
        issues.add(
            Severity.WARNING,
            "no_events",
            file=parent_file,
            column=events.key,
            message=f"{events.parent} with no rows in {events.name}",
            rows=rows,
            count=count,
        )


def event_rows_set(table: str) -> str:
    """The DuckDB table holding (hash of the typed row, row number) of each event row."""
    return quote(f"rows.{table}")


def event_row_hash_sql(contract_columns: list[str], text_columns: list[str]) -> str:
    """A 64-bit hash of an event row after typing: contract columns by their typed value (one
    instant in two notations is one value), the table's other text columns as written.

    A value that does not parse (typed NULL, raw present) is hashed as written too, so rows
    that differ only in unparsable values ("2024-13-01", "yesterday") are not duplicates of
    each other: compared after the failed parse they would all look alike.

    A hash rather than the rows themselves keeps 10M events at 16 bytes each; two different
    rows share one with a probability of about 1e-5 at that size (birthday bound, 2**64).
    """
    values = [typed(c) for c in contract_columns]
    values += [f"CASE WHEN {typed(c)} IS NULL THEN {raw(c)} END" for c in contract_columns]
    values += [raw(c) for c in text_columns]
    return f"hash({', '.join(values)})"


def check_duplicate_events(
    con: duckdb.DuckDBPyConnection, issues: IssueCollector, file: str, table: Table
) -> None:
    """Warn, with their count and first rows, about events equal in every column after typing
    to an earlier row of the file: features count such an event once (the later rows are
    dropped; docs/contract.md, Duplicates)."""
    rows_set = event_rows_set(table.name)
    # One aggregation finds the repeated rows; only their (few) groups are joined back for the
    # row numbers (a window over every row cost twice the rest of the check).
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _repeated AS SELECT h, min(row) AS first, count(*) AS n "
        f"FROM {rows_set} GROUP BY h HAVING count(*) > 1"
    )
    ((count,),) = con.execute("SELECT coalesce(sum(n - 1), 0) FROM _repeated").fetchall()
    if count:
        ((rows,),) = con.execute(
            f"SELECT min(r.row, 10) FROM {rows_set} r JOIN _repeated d ON r.h = d.h "
            "WHERE r.row > d.first"
        ).fetchall()
        issues.add(
            Severity.WARNING,
            "duplicate_events",
            file=file,
            column=None,
            message=f"{count:,} exact duplicate row(s) of earlier rows (equal in every column "
            "after typing) dropped: each event counts once",
            rows=rows,
            count=count,
        )
    con.execute(f"DROP TABLE {rows_set}")
    con.execute("DROP TABLE _repeated")
