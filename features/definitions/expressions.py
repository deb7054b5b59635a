"""Engineered features as expressions over event aggregates, with a SQL and a numpy backend.

A feature is a ``Definition``: its name, reason wording, family, unit and one ``Expr``. An
expression is a tree of operators over aggregates (``features.definitions.aggregates``, the only
hand-written kernels) and the two instants of a row (``CUTOFF``, ``CREATED``). Every operator
is written once, with ``to_sql(ref)`` (a DuckDB expression over the aggregates of one
(entity, cutoff) pair, ``ref(aggregate)`` naming its column) and ``to_numpy(env)`` (the same
value for every entity of an ``EventTable`` at once, float64 with NaN for missing). The batch
SQL is the reference; a hypothesis test holds the numpy backend to it (within 1e-9).

One entity (most online requests) takes the same code with plain floats instead of one-element
arrays (``Env.scalar``): every operator is written with Python's arithmetic operators, which
numpy arrays and floats share and which give the same IEEE doubles, so only the per-call cost
differs (a float operation costs a small fraction of a numpy call on a one-element array).

Time semantics: everything is as of the cutoff (``s.cutoff`` / ``EventTable.cutoff``) from
events strictly before it; instants are integer microseconds since the epoch (exact in float64),
day quantities float days.

Missing values follow SQL: an operator over a missing value is missing (NaN propagates), a
count with no events is 0, and ``SafeRatio`` is missing when its denominator is not positive.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from features.definitions.aggregates import Aggregate
from features.definitions.event_table import US_PER_DAY, Column, EventTable, Floats
from features.definitions.wording import Wording

Ref = Callable[[Aggregate], str]
# One number per entity: a float64 array (NaN missing), or a plain float for a one-entity table.
Values = Floats | float
TextColumn = list[str | None]
FeatureColumn = Values | TextColumn


@dataclass
class Env:
    """What the numpy backend evaluates expressions against: one table and its aggregates.

    Each aggregate's numpy form runs at most once per table (``column``). ``scalar`` (a table
    of one entity) makes every value a plain float instead of a one-element array.
    """

    table: EventTable
    columns: dict[Aggregate, Column] = field(default_factory=dict)
    scalar: bool = field(init=False)

    def __post_init__(self) -> None:
        self.scalar = self.table.n == 1

    def column(self, aggregate: Aggregate) -> Column:
        """The aggregate for every entity of the table, computed on first use."""
        cached = self.columns.get(aggregate)
        if cached is None:
            cached = self.columns[aggregate] = aggregate.numpy(self.table)
        return cached

    def value(self, aggregate: Aggregate) -> Values:
        """The aggregate as numbers (instants as µs): per entity, or the one entity's float."""
        column = self.column(aggregate)
        return column.scalar() if self.scalar else column.as_float()


class Expr:
    """A numeric expression: ``to_sql(ref)`` and ``to_numpy(env)`` (``Values``, NaN missing)."""

    def aggregates(self) -> tuple[Aggregate, ...]:
        """The aggregates the expression reads, in reading order."""
        raise NotImplementedError

    def to_sql(self, ref: Ref) -> str:
        """DuckDB SQL over one spine row ``s`` and its aggregates (``ref``)."""
        raise NotImplementedError

    def to_numpy(self, env: Env) -> Values:
        """The value for every entity of ``env.table`` (float64 array, or a float when
        ``env.scalar``; NaN where missing)."""
        raise NotImplementedError


@dataclass(frozen=True)
class Agg(Expr):
    """An aggregate's value: a number, or an instant in µs since the epoch (``LastTime``...)."""

    aggregate: Aggregate

    def aggregates(self) -> tuple[Aggregate, ...]:
        return (self.aggregate,)

    def to_sql(self, ref: Ref) -> str:
        return ref(self.aggregate)

    def to_numpy(self, env: Env) -> Values:
        return env.value(self.aggregate)


@dataclass(frozen=True)
class Instant(Expr):
    """The row's cutoff or the entity's creation time (µs since the epoch)."""

    which: str  # "cutoff" or "created_at"

    def aggregates(self) -> tuple[Aggregate, ...]:
        return ()

    def to_sql(self, ref: Ref) -> str:
        return f"s.{self.which}"

    def to_numpy(self, env: Env) -> Values:
        if self.which == "cutoff":
            cutoff = float(env.table.cutoff)
            return cutoff if env.scalar else np.full(env.table.n, cutoff)
        if env.scalar:
            return float(env.table.created[0])
        return env.table.created.astype(np.float64)


CUTOFF = Instant("cutoff")
CREATED = Instant("created_at")


@dataclass(frozen=True)
class DaysBetween(Expr):
    """Float days from instant ``earlier`` to instant ``later`` (negative if before)."""

    earlier: Expr
    later: Expr

    def aggregates(self) -> tuple[Aggregate, ...]:
        return (*self.earlier.aggregates(), *self.later.aggregates())

    def to_sql(self, ref: Ref) -> str:
        earlier, later = self.earlier.to_sql(ref), self.later.to_sql(ref)
        return f"(date_diff('microsecond', {earlier}, {later}) / {US_PER_DAY}.0)"

    def to_numpy(self, env: Env) -> Values:
        # Both are exact integers in float64, so the difference is the exact µs count.
        return (self.later.to_numpy(env) - self.earlier.to_numpy(env)) / float(US_PER_DAY)


# The operator module's functions apply to floats and arrays alike (see the module docstring).
_OPERATORS: dict[str, Callable[[Values, Values], Values]] = {"+": operator.add, "-": operator.sub}


@dataclass(frozen=True)
class Arithmetic(Expr):
    """``left + right`` or ``left - right`` (``operator``)."""

    left: Expr
    operator: str  # a key of _OPERATORS
    right: Expr

    def aggregates(self) -> tuple[Aggregate, ...]:
        return (*self.left.aggregates(), *self.right.aggregates())

    def to_sql(self, ref: Ref) -> str:
        return f"({self.left.to_sql(ref)} {self.operator} {self.right.to_sql(ref)})"

    def to_numpy(self, env: Env) -> Values:
        return _OPERATORS[self.operator](self.left.to_numpy(env), self.right.to_numpy(env))


def minus(left: Expr, right: Expr) -> Expr:
    """``left - right``."""
    return Arithmetic(left, "-", right)


def _number(value: float) -> str:
    """A SQL numeric literal; integral values as integers (exact in any engine)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


@dataclass(frozen=True)
class Scale(Expr):
    """``expr * multiply / divide`` (constants; division is always in floating point)."""

    expr: Expr
    multiply: float = 1.0
    divide: float = 1.0

    def aggregates(self) -> tuple[Aggregate, ...]:
        return self.expr.aggregates()

    def to_sql(self, ref: Ref) -> str:
        out = self.expr.to_sql(ref)
        if self.multiply != 1:
            out = f"{_number(self.multiply)} * {out}"
        if self.divide != 1:
            out = f"{out} / {float(self.divide)!r}"
        return f"({out})"

    def to_numpy(self, env: Env) -> Values:
        out = self.expr.to_numpy(env)
        if self.multiply != 1:
            out = float(self.multiply) * out
        if self.divide != 1:
            out = out / float(self.divide)
        return out


@dataclass(frozen=True)
class SafeRatio(Expr):
    """``numerator / denominator``; missing unless the denominator is positive."""

    numerator: Expr
    denominator: Expr

    def aggregates(self) -> tuple[Aggregate, ...]:
        return (*self.numerator.aggregates(), *self.denominator.aggregates())

    def to_sql(self, ref: Ref) -> str:
        num, den = self.numerator.to_sql(ref), self.denominator.to_sql(ref)
        return f"(CASE WHEN {den} > 0 THEN CAST({num} AS DOUBLE) / {den} END)"

    def to_numpy(self, env: Env) -> Values:
        num, den = self.numerator.to_numpy(env), self.denominator.to_numpy(env)
        if isinstance(num, float) and isinstance(den, float):  # Env.scalar
            return num / den if den > 0 else math.nan
        out = np.full(np.shape(num), np.nan)
        np.divide(num, den, out=out, where=den > 0)
        return out


@dataclass(frozen=True)
class Text:
    """A text aggregate's value (a category); missing as None."""

    aggregate: Aggregate

    def aggregates(self) -> tuple[Aggregate, ...]:
        return (self.aggregate,)

    def to_sql(self, ref: Ref) -> str:
        return ref(self.aggregate)

    def to_numpy(self, env: Env) -> TextColumn:
        return env.column(self.aggregate).texts()


def days_since(aggregate: Aggregate) -> Expr:
    """Days from an instant aggregate (latest/first event) to the cutoff; missing if none."""
    return DaysBetween(Agg(aggregate), CUTOFF)


def share(part: Aggregate, rest: Aggregate) -> Expr:
    """``part / (part + rest)`` of two counts; missing when both are 0."""
    return SafeRatio(Agg(part), Arithmetic(Agg(part), "+", Agg(rest)))


def ratio(numerator: Aggregate, denominator: Aggregate) -> Expr:
    """``numerator / denominator``; missing when the denominator is 0."""
    return SafeRatio(Agg(numerator), Agg(denominator))


def change(recent: Aggregate, both: Aggregate) -> Expr:
    """An aggregate over the last ``d`` days minus the same over the ``d`` days before, from two
    windows ending at the cutoff (``recent``: ``d`` days, ``both``: ``2d``): ``2 recent - both``.
    """
    return minus(Scale(Agg(recent), multiply=2), Agg(both))


def above_usual(recent: Aggregate, days: int, baseline: Aggregate, baseline_days: int) -> Expr:
    """``recent`` minus the usual amount per ``days`` over the rest of the ``baseline_days``
    window (``baseline`` covers both): ``recent - (baseline - recent) * days / (rest)``."""
    rest = minus(Agg(baseline), Agg(recent))
    return minus(Agg(recent), Scale(rest, multiply=days, divide=baseline_days - days))


@dataclass(frozen=True)
class Definition:
    """One engineered feature: name, reason wording, family, unit and its expression."""

    name: str
    description: Wording
    family: str
    unit: str
    expression: Expr | Text

    @property
    def dtype(self) -> str:
        """``categorical`` for a text expression, else ``numeric``."""
        return "categorical" if isinstance(self.expression, Text) else "numeric"

    def aggregates(self) -> tuple[Aggregate, ...]:
        """The aggregates the feature reads (empty for one computed from the row alone)."""
        return self.expression.aggregates()

    def sql(self, ref: Ref) -> str:
        """The feature as a DuckDB expression (see ``Expr.to_sql``)."""
        return self.expression.to_sql(ref)


def evaluate_definitions(
    definitions: Sequence[Definition], table: EventTable
) -> dict[str, FeatureColumn]:
    """The numpy backend: every definition for every entity of ``table``.

    Returns, per definition name, a float64 array (NaN where missing; a plain float when the
    table holds one entity) or, for a categorical one, a list of text or None; each aggregate
    is computed once for all definitions.
    """
    env = Env(table)
    return {d.name: d.expression.to_numpy(env) for d in definitions}
