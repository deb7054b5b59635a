"""A Spark session behind the few connection calls the feature code makes of DuckDB.

``features.compute.snapshots``, ``features.definitions.vocabulary``,
``features.definitions.registry`` and the commands talk to ``Export.con`` with DuckDB SQL:
``execute(sql, parameters)`` then ``fetchall`` / ``fetchone`` / ``df``, ``register`` /
``unregister`` of pandas frames, ``CREATE TEMP TABLE ... AS`` and ``DROP TABLE IF EXISTS``.
``SparkConnection`` answers the same calls on a ``SparkSession``: each statement is parsed as DuckDB
SQL by sqlglot, its parameters bound as literals, and it is written out as Spark SQL, so the feature
definitions have one SQL text and two engines. Temporary tables become cached temporary views.
Results reach the driver only through ``fetchall`` / ``df`` (Arrow).

A small result is remembered for the connection's life (``MEMO_ROWS``): the feature code asks the
same questions of the export again and again (the distinct event types 17 times and the first
``created_at`` 28 times while one churn training plan is made), which cost DuckDB microseconds
but Spark a job or more each (measured: 43 of the 191 statements of a churn training set on a
small CRM, ~1 s each). The export's views never change while it is open, and a remembered answer
is forgotten as soon as a view its SQL names is replaced or dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import pandas as pd
import sqlglot
from pyspark.sql import DataFrame, SparkSession
from sqlglot import exp
from sqlglot.errors import ErrorLevel

Parameters = Sequence[object] | Mapping[str, object] | None

# Results of at most this many rows are remembered by their Spark SQL: the vocabulary's and the
# plan's answers (tens of rows), never a training set or a scoring table.
MEMO_ROWS = 10_000
# Session settings under which the same SQL gives another answer (a time zone renders times).
RESULT_SETTINGS = ("spark.sql.session.timeZone", "spark.sql.ansi.enabled")
# Functions whose answer changes from one run of the same SQL to the next: never remembered.
_VOLATILE = (exp.Rand, exp.Randn, exp.Uuid, exp.CurrentTimestamp, exp.CurrentDate, exp.CurrentTime)


def _literal(value: object) -> exp.Expression:
    """A Python parameter value as a SQL literal (DuckDB's binding rules, written inline)."""
    if value is None:
        return exp.null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, datetime | date):
        moment = pd.Timestamp(value)
        if moment.tzinfo is not None:
            moment = moment.tz_convert("UTC").tz_localize(None)
        text = moment.isoformat(sep=" ", timespec="microseconds")
        return exp.cast(exp.Literal.string(text), exp.DataType.build("TIMESTAMP"))
    if isinstance(value, int | float):
        return exp.Literal.number(repr(value))
    if isinstance(value, str):
        return exp.Literal.string(value)
    if isinstance(value, list | tuple):
        return exp.Array(expressions=[_literal(v) for v in value])
    raise TypeError(f"cannot bind a {type(value).__name__} parameter into Spark SQL")


def bind(statement: exp.Expr, parameters: Parameters) -> exp.Expr:
    """``statement`` with its ``?`` (sequence) or ``$name`` (mapping) parameters as literals.

    Raises ``ValueError`` when the statement's parameters and the values given do not match.
    """
    if not parameters:
        return statement
    if isinstance(parameters, Mapping):
        named = dict(parameters)

        def substitute(node: exp.Expr) -> exp.Expr:
            if isinstance(node, exp.Placeholder) and node.args.get("this") in named:
                return _literal(named[node.name])
            return node

        return statement.transform(substitute)
    values = list(parameters)
    # Depth-first, arguments in order: the order the '?' appear in the text.
    placeholders = [
        node
        for node in statement.walk(bfs=False)
        if isinstance(node, exp.Placeholder) and "this" not in node.args
    ]
    if len(placeholders) != len(values):
        raise ValueError(f"{len(placeholders)} '?' parameters but {len(values)} values")
    for placeholder, value in zip(placeholders, values, strict=True):
        placeholder.replace(_literal(value))
    return statement


def _decimal_literal_as_double(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Literal) and not node.is_string:
        text = node.name
        if "." in text and "e" not in text.lower():
            return exp.cast(node.copy(), exp.DataType.build("DOUBLE"))
    return node


def to_spark_sql(statement: exp.Expr) -> str:
    """The statement written as Spark SQL; a construct sqlglot cannot carry over raises.

    A literal with a decimal point (``12.0``) is a DECIMAL on both engines, but DuckDB divides
    an integer by it in DOUBLE while Spark stays in DECIMAL and rounds to 6 places (1 / 6.0 is
    0.166667): such literals are written as DOUBLE casts, which both compute alike.
    """
    statement = statement.transform(_decimal_literal_as_double)
    return statement.sql(dialect="spark", unsupported_level=ErrorLevel.RAISE)


def _python(value: object) -> object:
    """A cell of a collected frame as DuckDB's ``fetchall`` gives it (None, datetime, int)."""
    if value is None or (not isinstance(value, list | tuple) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    item = getattr(value, "item", None)
    return item() if callable(item) else value


def _volatile(statement: exp.Expr) -> bool:
    """Whether the statement calls a function whose answer differs from run to run."""
    anonymous = (n.name.lower() for n in statement.find_all(exp.Anonymous))
    return statement.find(*_VOLATILE) is not None or "now" in anonymous


class SparkResult:
    """The result of one statement: a lazy Spark frame, collected on demand.

    ``memo``: where the collected rows of this statement are remembered under ``key`` (its Spark
    SQL) when there are at most ``MEMO_ROWS``, and read back instead of running it again.
    """

    def __init__(
        self,
        frame: DataFrame | None,
        *,
        memo: dict[str, pd.DataFrame] | None = None,
        key: str = "",
    ) -> None:
        self._frame = frame
        self._memo = memo
        self._key = key

    @property
    def frame(self) -> DataFrame:
        """The Spark frame itself, for work that stays on the cluster (nothing collected)."""
        if self._frame is None:
            raise ValueError("the statement returns no rows")
        return self._frame

    def df(self) -> pd.DataFrame:
        """Every row, collected to the driver through Arrow; timestamps naive UTC. A copy of
        the remembered rows when the statement has run before (callers may change the frame)."""
        if self._memo is not None and self._key in self._memo:
            return self._memo[self._key].copy()
        frame: pd.DataFrame = self.frame.toPandas()
        if self._memo is not None and len(frame) <= MEMO_ROWS:
            self._memo[self._key] = frame.copy()
        return frame

    def fetchall(self) -> list[tuple[Any, ...]]:
        """Every row as a tuple of Python values (NULL as None), like DuckDB's ``fetchall``.

        Collected through Arrow, not ``DataFrame.collect``: ``collect`` turns a timestamp into
        a datetime in the Python process's local time zone, whatever the session's.
        """
        frame = self.df()
        return [tuple(_python(v) for v in row) for row in frame.itertuples(index=False)]

    def fetchone(self) -> tuple[Any, ...] | None:
        """The first row, or None when there is none."""
        rows = self.fetchall()
        return rows[0] if rows else None


class SparkConnection:
    """DuckDB's connection calls used by the feature code, answered by ``session``.

    Views it creates (``register``, ``CREATE TEMP TABLE``) are temporary views of the session;
    ``close`` drops every one of them, so an export leaves nothing behind. Small results are
    remembered (see the module docstring) until a view their SQL names changes.
    """

    engine = "spark"  # what features.compute.engines.engine_of reads

    def __init__(self, session: SparkSession) -> None:
        self.session = session
        self._views: dict[str, DataFrame] = {}
        self._memo: dict[str, pd.DataFrame] = {}

    def execute(self, sql: str, parameters: Parameters = None) -> SparkResult:
        """Run one DuckDB SQL statement on Spark (see the module docstring)."""
        statement = bind(sqlglot.parse_one(sql, read="duckdb"), parameters)
        if isinstance(statement, exp.Create) and statement.kind == "TABLE":
            query = statement.expression
            frame = self.session.sql(to_spark_sql(query)).cache()
            self._keep(statement.this.name, frame)
            return SparkResult(None)
        if isinstance(statement, exp.Drop) and statement.kind == "TABLE":
            for table in statement.args.get("tables") or [statement.this]:
                self.unregister(table.name)
            return SparkResult(None)
        text = to_spark_sql(statement)
        memo = None if _volatile(statement) else self._memo
        # The settings that change what the same SQL answers are part of the key.
        settings = [str(self.session.conf.get(name)) for name in RESULT_SETTINGS]
        key = "\n".join([*settings, text])
        return SparkResult(self.session.sql(text), memo=memo, key=key)

    def table(self, name: str) -> DataFrame:
        """The view or table ``name`` as a Spark DataFrame (``.columns`` lists its columns, as
        on DuckDB's relation, which ``Export.relation`` returns)."""
        return self.session.table(name)

    def register(self, name: str, frame: pd.DataFrame) -> None:
        """Make the pandas ``frame`` a temporary view ``name`` (copied to Spark)."""
        self._keep(name, self.session.createDataFrame(frame))

    def adopt(self, name: str, frame: DataFrame, *, cache: bool = False) -> None:
        """Make the Spark ``frame`` a temporary view ``name`` (kept in memory once computed
        when ``cache``), dropped on ``close``."""
        self._keep(name, frame.cache() if cache else frame)

    def unregister(self, name: str) -> None:
        """Drop the temporary view ``name`` (and its cache); no such view is not an error."""
        frame = self._views.pop(name, None)
        if frame is not None:
            frame.unpersist()
        self.session.catalog.dropTempView(name)
        self._forget(name)

    def close(self) -> None:
        """Drop every view this connection made; the session stays (the entry point owns it)."""
        for name in list(self._views):
            self.unregister(name)

    def _keep(self, name: str, frame: DataFrame) -> None:
        if name in self._views:
            self.unregister(name)
        frame.createOrReplaceTempView(name)
        self._forget(name)  # e.g. a view of the session's that this one replaces
        self._views[name] = frame

    def _forget(self, name: str) -> None:
        """Drop every remembered result whose SQL mentions ``name`` (conservatively: any text
        containing it, quoted or not)."""
        for key in [key for key in self._memo if name.lower() in key.lower()]:
            del self._memo[key]
