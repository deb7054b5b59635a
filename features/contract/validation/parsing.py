"""How each source column becomes a typed value, as DuckDB SQL shared by validation and loading.

Validation runs these expressions over Arrow batches and loading runs them over DuckDB's own
Parquet/CSV scans, so both parse every value identically (the rules themselves live in
``features.contract.tables``). Text sources go through ``parse_timestamp_sql`` /
``parse_amount_sql``; typed Parquet columns are cast directly. An empty text field is missing
(NULL).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path

import pyarrow as pa

from features.contract.export import quote
from features.contract.tables import Kind, parse_amount_sql, parse_timestamp_sql


class SourceType(StrEnum):
    """The physical family of a source column."""

    TEXT = "text"
    INTEGER = "integer"
    FLOAT = "float"  # floating point and decimal
    TIMESTAMP = "timestamp"  # timestamp (naive or with a time zone) and date
    BOOLEAN = "boolean"
    OTHER = "other"


def source_type(arrow_type: pa.DataType) -> SourceType:
    """Classify an Arrow type (dictionary-encoded columns by their value type)."""
    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return SourceType.TEXT
    if pa.types.is_string_view(arrow_type):
        return SourceType.TEXT
    if pa.types.is_integer(arrow_type):
        return SourceType.INTEGER
    if pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type):
        return SourceType.FLOAT
    if pa.types.is_timestamp(arrow_type) or pa.types.is_date(arrow_type):
        return SourceType.TIMESTAMP
    if pa.types.is_boolean(arrow_type):
        return SourceType.BOOLEAN
    return SourceType.OTHER


# Which physical families can hold each contract kind.
ACCEPTED: dict[Kind, frozenset[SourceType]] = {
    Kind.ID: frozenset({SourceType.TEXT, SourceType.INTEGER}),
    Kind.TEXT: frozenset({SourceType.TEXT}),
    Kind.TIMESTAMP: frozenset({SourceType.TEXT, SourceType.TIMESTAMP}),
    Kind.AMOUNT: frozenset({SourceType.TEXT, SourceType.INTEGER, SourceType.FLOAT}),
}


def raw_text_sql(name: str, family: SourceType) -> str:
    """The source value as text, NULL when missing (an empty text field is missing)."""
    column = quote(name)
    if family is SourceType.TEXT:
        return f"NULLIF(CAST({column} AS VARCHAR), '')"
    return f"CAST({column} AS VARCHAR)"


def typed_sql(name: str, kind: Kind, family: SourceType) -> str:
    """The typed value of a contract column (NULL when missing or unparsable)."""
    if family not in ACCEPTED[kind]:
        raise ValueError(f"a {kind.value} column cannot be stored as {family.value}")
    column = quote(name)
    if kind in (Kind.ID, Kind.TEXT):
        return raw_text_sql(name, family)
    if kind is Kind.TIMESTAMP:
        if family is SourceType.TEXT:
            return parse_timestamp_sql(raw_text_sql(name, family))
        return f"CAST({column} AS TIMESTAMP)"
    if family is SourceType.TEXT:
        return parse_amount_sql(raw_text_sql(name, family))
    return f"CAST({column} AS DOUBLE)"


def attribute_sql(name: str, family: SourceType, *, numeric: bool) -> str:
    """The typed value of an attribute: DOUBLE when numeric, else categorical text."""
    if numeric:
        if family is SourceType.TEXT:
            return parse_amount_sql(raw_text_sql(name, family))
        return f"CAST({quote(name)} AS DOUBLE)"
    return raw_text_sql(name, family)


def is_numeric_family(family: SourceType) -> bool:
    """Parquet attribute kind rule: numeric iff the physical type is a number (not boolean)."""
    return family in (SourceType.INTEGER, SourceType.FLOAT)


def scan_sql(path: Path, file_format: str, columns: Sequence[str]) -> str:
    """DuckDB's scan of a table file; CSV strictly RFC 4180 with every column as text."""
    literal = "'" + str(path).replace("'", "''") + "'"
    if file_format == "parquet":
        return f"read_parquet({literal})"
    types = ", ".join("'" + name.replace("'", "''") + "': 'VARCHAR'" for name in columns)
    return (
        f"read_csv({literal}, header = true, auto_detect = false, columns = {{{types}}}, "
        "delim = ',', quote = '\"', escape = '\"')"
    )
