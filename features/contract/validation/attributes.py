"""Attribute kinds and attribute warnings, accumulated batch by batch.

Kind rule: a CSV attribute is numeric iff every non-empty value parses as a finite number
(``parse_amount_sql``); otherwise it is categorical text. A Parquet attribute is numeric iff its
physical type is a number. Warnings: an attribute with a single distinct value, one that is
more than half missing, and a CSV attribute that is mostly numbers but held back as text by a
few values (``" "``, ``"1,250"``, ``"n/a"``), naming those values' rows; a CSV attribute held
back as text because its numbers are written with a decimal comma (``"0,5"``, ``"12.345,67"``),
instead of the generic mixed-number warning; and a numeric CSV attribute whose values look like
a thousands dot (``"1.234"``, read as 1.234), naming their rows (``notations``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

import duckdb

from features.contract.export import Attribute
from features.contract.tables import parse_amount_sql
from features.contract.validation.checks import raw, typed
from features.contract.validation.notations import (
    DECIMAL_COMMA,
    DECIMAL_COMMA_MESSAGE,
    THOUSANDS_COMMA,
    THOUSANDS_DOT,
    THOUSANDS_DOT_MESSAGE,
    matches_sql,
)
from features.contract.validation.parsing import SourceType
from features.contract.validation.report import MAX_ROWS_SHOWN

MAX_MISSING_SHARE = 0.5


@dataclass(frozen=True)
class AttributeWarning:
    code: str
    column: str
    message: str
    rows: tuple[int, ...] = ()  # the first affected rows (1-based records), when rows are meant
    count: int = 0  # how many rows in all


@dataclass
class _Tally:
    present: int = 0
    non_numeric: int = 0
    non_numeric_rows: list[int] = field(default_factory=list)
    first_non_numeric: str | None = None  # the earliest one (batches arrive in row order)
    low_text: str | None = None
    high_text: str | None = None
    low_number: float | None = None
    high_number: float | None = None
    # Values that are not numbers and not of the decimal-comma notation.
    not_decimal_comma: int = 0
    # Decimal-comma values that cannot also be read as a thousands comma ("0,5", not "1,250").
    sure_decimal_comma: int = 0
    first_decimal_comma: str | None = None
    thousands_dot: int = 0
    thousands_dot_rows: list[int] = field(default_factory=list)
    first_thousands_dot: str | None = None


Bound = TypeVar("Bound", str, float)


def _lower(a: Bound | None, b: Bound | None) -> Bound | None:
    """The lower of two range ends, either of which may be unknown (None)."""
    return b if a is None else a if b is None else min(a, b)


def _higher(a: Bound | None, b: Bound | None) -> Bound | None:
    """The higher of two range ends, either of which may be unknown (None)."""
    return b if a is None else a if b is None else max(a, b)


class AttributeStats:
    """Per-attribute counts, text and numeric ranges over all batches of one table."""

    def __init__(
        self,
        names: list[str],
        families: dict[str, SourceType],
        parquet_numeric: frozenset[str],
        *,
        kind_from_values: bool,
    ) -> None:
        self._names = list(names)
        self._kind_from_values = kind_from_values
        self._families = families
        self._parquet_numeric = parquet_numeric
        self._tallies = {name: _Tally() for name in names}

    def _number_sql(self, name: str) -> str:
        if name in self._parquet_numeric:
            return typed(name)
        return parse_amount_sql(raw(name))

    def update(self, con: duckdb.DuckDBPyConnection) -> None:
        """Fold the current ``_typed`` batch into the tallies."""
        if not self._names:
            return
        parts = []
        for name in self._names:
            number = self._number_sql(name)
            not_a_number = (
                f"WHERE {raw(name)} IS NOT NULL AND ({number} IS NULL OR NOT isfinite({number}))"
            )
            parts += [
                f"count({raw(name)})",
                f"count(*) FILTER ({not_a_number})",
                f"min({raw(name)})",
                f"max({raw(name)})",
                f"min({number}) FILTER (WHERE isfinite({number}))",
                f"max({number}) FILTER (WHERE isfinite({number}))",
                f"min(__row, {MAX_ROWS_SHOWN}) FILTER ({not_a_number})",
                f"arg_min(CAST({raw(name)} AS VARCHAR), __row) FILTER ({not_a_number})",
                *self._notation_sql(name, not_a_number),
            ]
        width = 8 + 6
        (row,) = con.execute(f"SELECT {', '.join(parts)} FROM _typed").fetchall()
        for i, name in enumerate(self._names):
            tally = self._tallies[name]
            present, non_numeric, low_t, high_t, low_n, high_n, bad_rows, first_bad = row[
                width * i : width * i + 8
            ]
            self._fold_notations(tally, row[width * i + 8 : width * i + width])
            tally.present += present
            tally.non_numeric += non_numeric
            tally.non_numeric_rows = sorted([*tally.non_numeric_rows, *(bad_rows or ())])[
                :MAX_ROWS_SHOWN
            ]
            if tally.first_non_numeric is None:
                tally.first_non_numeric = first_bad
            tally.low_text = _lower(tally.low_text, low_t)
            tally.high_text = _higher(tally.high_text, high_t)
            tally.low_number = _lower(tally.low_number, low_n)
            tally.high_number = _higher(tally.high_number, high_n)

    def _notation_sql(self, name: str, not_a_number: str) -> list[str]:
        """Six aggregates of the other locales' notations in one CSV text attribute (constants
        for any other, whose values are not text): see ``_fold_notations``."""
        if not self._kind_from_values or self._families[name] is not SourceType.TEXT:
            return ["0", "0", "NULL", "0", "NULL", "NULL"]
        value = raw(name)
        comma = f"{not_a_number} AND {matches_sql(value, DECIMAL_COMMA)}"
        dot = f"WHERE {self._number_sql(name)} IS NOT NULL AND {matches_sql(value, THOUSANDS_DOT)}"
        return [
            f"count(*) FILTER ({not_a_number} AND NOT {matches_sql(value, DECIMAL_COMMA)})",
            f"count(*) FILTER ({comma} AND NOT {matches_sql(value, THOUSANDS_COMMA)})",
            f"arg_min({value}, __row) FILTER ({comma})",
            f"count(*) FILTER ({dot})",
            f"min(__row, {MAX_ROWS_SHOWN}) FILTER ({dot})",
            f"arg_min({value}, __row) FILTER ({dot})",
        ]

    @staticmethod
    def _fold_notations(tally: _Tally, values: tuple[Any, ...]) -> None:
        """Add one batch's ``_notation_sql`` aggregates to ``tally``."""
        not_comma, sure_comma, first_comma, dots, dot_rows, first_dot = values
        tally.not_decimal_comma += not_comma
        tally.sure_decimal_comma += sure_comma
        if tally.first_decimal_comma is None:
            tally.first_decimal_comma = first_comma
        tally.thousands_dot += dots
        tally.thousands_dot_rows = sorted([*tally.thousands_dot_rows, *(dot_rows or ())])[
            :MAX_ROWS_SHOWN
        ]
        if tally.first_thousands_dot is None:
            tally.first_thousands_dot = first_dot

    def is_numeric(self, name: str) -> bool:
        if name in self._parquet_numeric:
            return True
        if not self._kind_from_values or self._families[name] is not SourceType.TEXT:
            return False
        tally = self._tallies[name]
        return tally.present > 0 and tally.non_numeric == 0

    def _mixed_numeric(self, name: str) -> AttributeWarning | None:
        """A CSV text attribute whose values are mostly numbers but not all: say which rows
        keep it from being numeric, and that it is used as text."""
        tally = self._tallies[name]
        numbers = tally.present - tally.non_numeric
        if not self._kind_from_values or self._families[name] is not SourceType.TEXT:
            return None
        if tally.non_numeric == 0 or numbers <= tally.non_numeric:
            return None
        return AttributeWarning(
            "mixed_numeric",
            name,
            f"treated as text (categorical), not as a number: {tally.non_numeric:,} value(s) are "
            f"not finite numbers (first: '{tally.first_non_numeric}') while {numbers:,} are; "
            "empty or correct them to use the attribute as a number",
            rows=tuple(tally.non_numeric_rows),
            count=tally.non_numeric,
        )

    def _decimal_comma(self, name: str) -> AttributeWarning | None:
        """A CSV attribute held back as text only by numbers with a decimal comma: every value
        that is not a number is of that notation, and at least one cannot be a thousands comma
        ("1,250" alone is ambiguous and stays a ``mixed_numeric`` value)."""
        tally = self._tallies[name]
        if tally.non_numeric == 0 or tally.not_decimal_comma or not tally.sure_decimal_comma:
            return None
        return AttributeWarning(
            "decimal_comma",
            name,
            DECIMAL_COMMA_MESSAGE.format(value=tally.first_decimal_comma),
            rows=tuple(tally.non_numeric_rows),
            count=tally.non_numeric,
        )

    def _thousands_dot(self, name: str) -> AttributeWarning | None:
        """A numeric CSV attribute with values such as "1.234", which were read as decimals."""
        tally = self._tallies[name]
        if not tally.thousands_dot or not self.is_numeric(name):
            return None
        return AttributeWarning(
            "thousands_separator",
            name,
            THOUSANDS_DOT_MESSAGE.format(value=tally.first_thousands_dot),
            rows=tuple(tally.thousands_dot_rows),
            count=tally.thousands_dot,
        )

    def attributes(self, table: str) -> tuple[Attribute, ...]:
        return tuple(Attribute(table, n, self.is_numeric(n)) for n in self._names)

    def warnings(self, rows: int) -> list[AttributeWarning]:
        found = []
        for name in self._names:
            tally = self._tallies[name]
            if rows and (rows - tally.present) / rows > MAX_MISSING_SHARE:
                share = (rows - tally.present) / rows
                found.append(
                    AttributeWarning("mostly_missing", name, f"attribute is {share:.0%} missing")
                )
            if tally.present == 0:
                continue
            # A decimal comma explains the values that keep the attribute text better than
            # "some values are not numbers" does, so it replaces that warning.
            notation = self._decimal_comma(name) or self._mixed_numeric(name)
            if notation is not None:
                found.append(notation)
            thousands = self._thousands_dot(name)
            if thousands is not None:
                found.append(thousands)
            value: str | None
            if self.is_numeric(name):
                single = tally.low_number == tally.high_number
                value = f"{tally.low_number:g}"
            else:
                single = tally.low_text == tally.high_text
                value = tally.low_text
            if single:
                found.append(
                    AttributeWarning(
                        "single_value", name, f"attribute has a single value ('{value}')"
                    )
                )
        return found
