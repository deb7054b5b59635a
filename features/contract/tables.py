"""The CRM export contract: which tables an export holds and the typed columns of each.

One folder; each table is ``<name>.csv`` or ``<name>.parquet``. Timestamps are ISO 8601; values
with an offset are converted to UTC and naive values are taken as UTC. Typed timestamps are
naive ``TIMESTAMP`` values in UTC everywhere downstream. Every column of an entity table that the
contract does not name is an attribute; every column of an event table that it does not name is
an optional text column.

This module is the single source of truth for table and column names: the generator writes
them, the validator checks them, the loader types them and the features read them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

# Unicode's White_Space characters (what ``str.isspace`` calls space, less the ASCII information
# separators) as the body of a regular-expression character class, read alike by RE2 in DuckDB,
# Python's re, pydantic's Rust regex and Java's (Spark): an id made of them alone names nothing.
# The non-ASCII ones are literal characters, because the four engines share no escape for them:
# U+0085, the no-break spaces U+00A0, U+202F and U+2007, U+1680, U+2000-U+200A, the line and
# paragraph separators U+2028-U+2029, U+205F and the ideographic space U+3000.
BLANK_CHARACTERS = r"\t\n\v\f\r " + "".join(
    map(chr, (0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F, 0x205F, 0x3000))
)
# What separates the words of an event type's name (a run of them is one "_", none at either
# end: ``features.definitions.vocabulary.normalise_event_type``): a name of these alone names
# nothing. One definition for the vocabulary, validation and the API.
EVENT_TYPE_SEPARATOR_CHARACTERS = BLANK_CHARACTERS + "_-"
# The longest id (characters, not bytes): the API's ``Identifier`` refuses longer ones, so
# validation refuses them too, or an entity scored in batch could not be re-scored online.
MAX_ID_CHARS = 255
# The longest short text the API accepts (characters, not bytes): an event's ``type``, its text
# columns (``EVENT_TEXT_COLUMNS``) and a text attribute. Validation refuses longer event texts
# too, or an event scored in batch would be refused online. A constant apart from
# ``MAX_ID_CHARS`` although the number is the same: ids are the scores database's keys (its
# ``String(MAX_ID_CHARS)`` columns, a schema change to raise), these texts are never stored
# there, so either limit may move without the other.
MAX_TEXT_CHARS = 255


class Kind(StrEnum):
    """How a column is parsed."""

    ID = "id"  # text, kept verbatim (leading zeros survive)
    TEXT = "text"  # text, kept verbatim ("NA", "None", "null" stay text)
    TIMESTAMP = "timestamp"  # ISO 8601 -> naive UTC
    AMOUNT = "amount"  # finite number; >= 0 unless the column is ``signed``


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    required: bool = True
    # Outcome columns hold post-outcome information: features must never read them.
    outcome: bool = False
    # Amounts that may be negative: an event's value (a refund is a negative amount).
    signed: bool = False
    # Names compared after their ``EVENT_TYPE_SEPARATOR_CHARACTERS`` are folded (an event's
    # type): a value made of separators only names nothing.
    separated: bool = False


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    # The unique key of an entity table, or the entity an event table refers to.
    key: str = ""
    parent: str | None = None  # event tables: the entity table whose key they reference
    time_column: str | None = None  # event tables: when the event happened
    extra_columns_are: str = "attribute"  # "attribute" (entities) or "text" (events)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


LEADS = Table(
    name="leads",
    key="lead_id",
    columns=(
        Column("lead_id", Kind.ID),
        Column("created_at", Kind.TIMESTAMP),
        Column("owner_id", Kind.ID),
        Column("account_id", Kind.ID, required=False),
        Column("converted_at", Kind.TIMESTAMP, required=True, outcome=True),
        Column("closed_lost_at", Kind.TIMESTAMP, required=False, outcome=True),
        Column("expected_value", Kind.AMOUNT, required=False),
    ),
)

CUSTOMERS = Table(
    name="customers",
    key="customer_id",
    columns=(
        Column("customer_id", Kind.ID),
        Column("created_at", Kind.TIMESTAMP),
        Column("owner_id", Kind.ID),
        Column("account_id", Kind.ID, required=False),
        Column("churned_at", Kind.TIMESTAMP, required=False, outcome=True),
        Column("annual_value", Kind.AMOUNT, required=False),
    ),
)

ACCOUNTS = Table(
    name="accounts",
    key="account_id",
    columns=(Column("account_id", Kind.ID),),
)

LEAD_EVENTS = Table(
    name="lead_events",
    key="lead_id",
    parent="leads",
    time_column="occurred_at",
    extra_columns_are="text",
    columns=(
        Column("lead_id", Kind.ID),
        Column("occurred_at", Kind.TIMESTAMP),
        Column("type", Kind.TEXT, separated=True),
        Column("value", Kind.AMOUNT, required=False, signed=True),
    ),
)

CUSTOMER_EVENTS = Table(
    name="customer_events",
    key="customer_id",
    parent="customers",
    time_column="occurred_at",
    extra_columns_are="text",
    columns=(
        Column("customer_id", Kind.ID),
        Column("occurred_at", Kind.TIMESTAMP),
        Column("type", Kind.TEXT, separated=True),
        Column("value", Kind.AMOUNT, required=False, signed=True),
    ),
)

# No table is required on its own: an export holds leads + lead_events, customers +
# customer_events, or both (each pair is one task's half, see ``features.contract.tasks``);
# validation checks each pair as a whole (``features.contract.validation.halves``). ``accounts`` is
# optional.
TABLES: tuple[Table, ...] = (LEADS, CUSTOMERS, ACCOUNTS, LEAD_EVENTS, CUSTOMER_EVENTS)
TABLES_BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}

# Optional text columns of event tables that the features know by name.
EVENT_TEXT_COLUMNS: tuple[str, ...] = ("channel", "direction", "outcome")


def ignored_event_columns(text_columns: Sequence[str]) -> tuple[str, ...]:
    """The extra text columns of an event table (in file order, the user's spelling) that no
    feature reads: those outside ``EVENT_TEXT_COLUMNS``. They only tell events apart when
    exact duplicates are dropped (``features.compute.sql``)."""
    return tuple(c for c in text_columns if c not in EVENT_TEXT_COLUMNS)


def ignored_columns_line(table: str, columns: Sequence[str]) -> str:
    """The one line ``validate`` and ``train`` print for ``table``'s ``ignored_event_columns``."""
    return (
        f"{table}: column(s) {', '.join(columns)} ignored: no feature reads them (features know "
        f"{', '.join(EVENT_TEXT_COLUMNS)} by name; other event columns only tell events apart "
        "when exact duplicates are dropped)"
    )


# Outcome timestamps that must come at or after the entity's created_at.
OUTCOME_COLUMNS: dict[str, tuple[str, ...]] = {
    "leads": ("converted_at", "closed_lost_at"),
    "customers": ("churned_at",),
}

FILE_SUFFIXES: tuple[str, ...] = (".csv", ".parquet")

# The one parse definition for text values, as DuckDB SQL. The session time zone is UTC, so
# naive values are taken as UTC and values with an offset are converted to UTC.
DUCKDB_SESSION_SETUP: tuple[str, ...] = ("SET TimeZone='UTC'", "SET enable_progress_bar = false")


def parse_timestamp_sql(expr: str) -> str:
    """SQL that parses an ISO 8601 text value into naive UTC, or NULL when unparsable."""
    return f"CAST(TRY_CAST({expr} AS TIMESTAMPTZ) AS TIMESTAMP)"


def parse_amount_sql(expr: str) -> str:
    """SQL that parses a number, or NULL when unparsable (non-finite values are rejected apart)."""
    return f"TRY_CAST({expr} AS DOUBLE)"
