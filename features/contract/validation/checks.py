"""The row-level checks of one table file, as SQL conditions over a typed batch.

A batch is first turned into a relation with, per source column, its raw text ``r.<name>`` (NULL
when missing) and, for contract columns and numeric attributes, its typed value ``t.<name>``.
Each ``RowCheck`` is a condition over that relation; a batch is checked by one aggregate query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from features.contract.export import quote
from features.contract.tables import (
    BLANK_CHARACTERS,
    EVENT_TYPE_SEPARATOR_CHARACTERS,
    MAX_ID_CHARS,
    MAX_TEXT_CHARS,
    OUTCOME_COLUMNS,
    Column,
    Kind,
    Table,
)
from features.contract.times import iso_utc
from features.contract.validation.notations import (
    THOUSANDS_DOT,
    THOUSANDS_DOT_MESSAGE,
    matches_sql,
)
from features.contract.validation.parsing import SourceType, attribute_sql, raw_text_sql, typed_sql
from features.contract.validation.report import Severity

# Characters of an over-long id or text quoted in its message: enough to recognise it, never a
# wall.
SHOWN_CHARS = 64


def raw(name: str) -> str:
    return quote(f"r.{name}")


def typed(name: str) -> str:
    return quote(f"t.{name}")


def key_set(table: str) -> str:
    """The DuckDB table that holds the keys (and their rows) of an entity table."""
    return quote(f"keys.{table}")


@dataclass(frozen=True)
class RowCheck:
    """Rows of one column that fail one rule; ``message`` may quote the first bad ``{value}``."""

    code: str
    column: str
    condition: str
    message: str
    severity: Severity = Severity.ERROR
    value: str | None = None


def _shown_sql(text: str) -> str:
    """SQL quoting the over-long text value ``text`` in a message: its first ``SHOWN_CHARS``
    characters, then its length."""
    return f"'''' || left({text}, {SHOWN_CHARS}) || '…'' (' || length({text}) || ' characters)'"


def text_too_long_check(name: str, text: str) -> RowCheck:
    """Rows whose text ``text`` (SQL, VARCHAR) in column ``name`` (an event's ``type`` or one of
    its ``EVENT_TEXT_COLUMNS``) is longer than the API's ``MAX_TEXT_CHARS``: such an event
    could be scored in batch but would be refused online."""
    return RowCheck(
        "text_too_long",
        name,
        f"length({text}) > {MAX_TEXT_CHARS}",
        f"a text longer than {MAX_TEXT_CHARS} characters, which the API refuses (first: {{value}})",
        value=_shown_sql(text),
    )


def event_text_check(name: str) -> RowCheck:
    """``text_too_long_check`` of an event table's text column ``name`` (one of
    ``EVENT_TEXT_COLUMNS``), on its raw value read as text, as the loader reads it."""
    return text_too_long_check(name, f"CAST({raw(name)} AS VARCHAR)")


def values_required(column: Column) -> bool:
    """Required columns need a value in every row; outcome timestamps may be empty (not yet)."""
    return column.required and not column.outcome


def typed_select(
    table: Table,
    families: dict[str, SourceType],
    numeric_attributes: frozenset[str],
) -> str:
    """SELECT list turning a source batch into the raw/typed relation the checks read."""
    selects = ["__row"]
    for name, family in families.items():
        # Typed sources keep their own type here: formatting every value as text would cost
        # more than all the checks, and only the few quoted offending values need it.
        source = raw_text_sql(name, family) if family is SourceType.TEXT else quote(name)
        selects.append(f"{source} AS {raw(name)}")
        column = table.column(name)
        if column is not None:
            selects.append(f"{typed_sql(name, column.kind, family)} AS {typed(name)}")
        elif name in numeric_attributes:
            selects.append(f"{attribute_sql(name, family, numeric=True)} AS {typed(name)}")
    return ", ".join(selects)


def column_checks(
    column: Column, *, as_of: datetime, later_rows: Severity = Severity.ERROR
) -> list[RowCheck]:
    """Checks of one contract column that need nothing but the row itself.

    ``later_rows`` is the severity of a timestamp after ``as_of``: an error where the export
    must describe ``as_of`` (training, validation), a warning that counts the rows where a run
    as of an earlier time ignores them (scoring, backfill;
    ``features.contract.loading.load_export``).
    """
    r, t, name = raw(column.name), typed(column.name), column.name
    first = "(first: '{value}')"
    checks: list[RowCheck] = []
    if values_required(column):
        checks.append(RowCheck("missing_value", name, f"{r} IS NULL", "required value is empty"))
    if column.kind is Kind.ID:
        checks.append(
            RowCheck(
                "blank_value",
                name,
                f"regexp_full_match({t}, '[{BLANK_CHARACTERS}]+')",
                f"an id made only of spaces {first}",
                value=r,
            )
        )
        checks.append(
            RowCheck(
                "id_too_long",
                name,
                f"length({t}) > {MAX_ID_CHARS}",
                f"an id longer than {MAX_ID_CHARS} characters, which the API refuses "
                "(first: {value})",
                # The typed value (text for Parquet integer ids too), cut, with its length.
                value=_shown_sql(t),
            )
        )
    if column.kind is Kind.TEXT:
        checks.append(text_too_long_check(name, t))
    if column.separated:
        checks.append(
            RowCheck(
                "blank_value",
                name,
                f"regexp_full_match({t}, '[{EVENT_TYPE_SEPARATOR_CHARACTERS}]+')",
                f"a name made only of spaces, '-' and '_' {first}",
                value=r,
            )
        )
    if column.kind is Kind.TIMESTAMP:
        checks.append(
            RowCheck(
                "unparsable_timestamp",
                name,
                f"{r} IS NOT NULL AND ({t} IS NULL OR NOT isfinite({t}))",
                f"not an ISO 8601 timestamp {first}",
                value=r,
            )
        )
        checks.append(
            RowCheck(
                "after_as_of",
                name,
                f"isfinite({t}) AND {t} > TIMESTAMP '{as_of.isoformat(sep=' ')}'",
                f"timestamp after the as-of time {iso_utc(as_of)} {first}"
                + (" (ignored as of that time)" if later_rows is Severity.WARNING else ""),
                severity=later_rows,
                value=r,
            )
        )
    if column.kind is Kind.AMOUNT:
        checks += [
            RowCheck(
                "unparsable_number",
                name,
                f"{r} IS NOT NULL AND {t} IS NULL",
                f"not a number {first}",
                value=r,
            ),
            RowCheck(
                "non_finite_number",
                name,
                f"NOT isfinite({t})",
                f"not a finite number {first}",
                value=r,
            ),
        ]
        if not column.signed:
            checks.append(
                RowCheck("negative_number", name, f"{t} < 0", f"negative amount {first}", value=r)
            )
    return checks


def outcome_checks(table: Table, present: set[str]) -> list[RowCheck]:
    """Outcome timestamps (converted_at, closed_lost_at, churned_at) must not precede created_at."""
    if "created_at" not in present:
        return []
    return [
        RowCheck(
            "outcome_before_created",
            name,
            f"{typed(name)} < {typed('created_at')}",
            f"{name} is before created_at (first: '{{value}}')",
            value=raw(name),
        )
        for name in OUTCOME_COLUMNS.get(table.name, ())
        if name in present
    ]


def reference_check(column: str, parent: str) -> RowCheck:
    """Values of ``column`` must be keys of the (already checked) ``parent`` table."""
    return RowCheck(
        "unknown_reference",
        column,
        f"{typed(column)} IS NOT NULL "
        f"AND {typed(column)} NOT IN (SELECT id FROM {key_set(parent)})",
        f"refers to a {column} that is not in {parent} (first: '{{value}}')",
        value=raw(column),
    )


def non_finite_attribute_check(name: str) -> RowCheck:
    """Numeric Parquet attributes must be finite (NaN and inf are not missing values)."""
    return RowCheck(
        "non_finite_number",
        name,
        f"NOT isfinite({typed(name)})",
        "not a finite number (first: '{value}'); leave the value empty (null) instead",
        value=raw(name),
    )


def thousands_separator_check(name: str) -> RowCheck:
    """A CSV amount written with a dot as thousands separator ("1.234"): it parses, as 1.234,
    so it is a warning naming the rows, not an error. Values with two dots ("12.345.678") do
    not parse and are ``unparsable_number`` errors already, so they are left to that check."""
    return RowCheck(
        "thousands_separator",
        name,
        f"{typed(name)} IS NOT NULL AND {matches_sql(raw(name), THOUSANDS_DOT)}",
        THOUSANDS_DOT_MESSAGE,
        severity=Severity.WARNING,
        value=raw(name),
    )


def count_sql(checks: list[RowCheck], relation: str) -> str:
    """One query counting the offending rows of every check (the cheap pass, run on every batch)."""
    counts = [f"count(*) FILTER (WHERE {c.condition}) AS n{i}" for i, c in enumerate(checks)]
    return f"SELECT {', '.join(counts)} FROM {relation}"


def detail_sql(checks: list[RowCheck], relation: str) -> str:
    """The first row numbers and first offending value of checks known to have found rows."""
    parts = []
    for i, check in enumerate(checks):
        where = f"FILTER (WHERE {check.condition})"
        parts.append(f"min(__row, 10) {where} AS rows{i}")
        if check.value:
            parts.append(f"arg_min(CAST({check.value} AS VARCHAR), __row) {where} AS v{i}")
        else:
            parts.append(f"NULL AS v{i}")
    return f"SELECT {', '.join(parts)} FROM {relation}"
