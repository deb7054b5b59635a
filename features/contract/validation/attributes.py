"""Attribute kinds and attribute warnings, accumulated batch by batch.

Kind rule: a CSV attribute is numeric iff every non-empty value parses as a finite number
(``parse_amount_sql``); otherwise it is categorical text. A Parquet attribute is numeric iff its
physical type is a number. Warnings: an attribute with a single distinct value, one that is
more than half missing, and a CSV attribute that is mostly numbers but held back as text by a
few values (``" "``, ``"1,250"``, ``"n/a"``), naming those values' rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

import duckdb

from features.contract.export import Attribute
from features.contract.tables import parse_amount_sql
from features.contract.validation.checks import raw, typed
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
            ]
        width = 8
        (row,) = con.execute(f"SELECT {', '.join(parts)} FROM _typed").fetchall()
        for i, name in enumerate(self._names):
            tally = self._tallies[name]
            present, non_numeric, low_t, high_t, low_n, high_n, bad_rows, first_bad = row[
                width * i : width * i + width
            ]
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
            mixed = self._mixed_numeric(name)
            if mixed is not None:
                found.append(mixed)
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
