"""Comparing what the two engines return: same rows, numbers to 1e-9, categories exactly."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from features.contract.export import Export, quote
from features.contract.tables import TABLES

# Sums and medians may add in another order on each engine (features.definitions.expressions says
# 1e-9).
TOLERANCE = 1e-9


def assert_same_table(duck: pd.DataFrame, spark: pd.DataFrame, keys: Sequence[str]) -> None:
    """``spark`` has ``duck``'s columns, dtypes and rows (in order); float columns agree to
    ``TOLERANCE`` (relative or absolute) with NaN where the other has NaN, others exactly."""
    assert list(spark.columns) == list(duck.columns)
    assert len(spark) == len(duck)
    for key in keys:
        assert spark[key].tolist() == duck[key].tolist(), key
    for column in duck.columns:
        expected, got = duck[column], spark[column]
        # Text is pandas "str" or object by engine and emptiness (DuckDB's df() of an empty
        # result gives object): either is text, compared by value below.
        text = {"O", "str"}
        if not (
            {expected.dtype.kind, str(expected.dtype)} & text
            and {got.dtype.kind, str(got.dtype)} & text
        ):
            assert got.dtype == expected.dtype, (column, got.dtype, expected.dtype)
        if expected.dtype.kind == "f":
            a, b = expected.to_numpy(dtype=float), got.to_numpy(dtype=float)
            assert np.array_equal(np.isnan(a), np.isnan(b)), column
            close = np.isclose(a, b, rtol=TOLERANCE, atol=TOLERANCE, equal_nan=True)
            assert close.all(), (column, a[~close][:5], b[~close][:5])
        else:
            same = expected.astype(object).where(expected.notna(), None)
            assert got.astype(object).where(got.notna(), None).tolist() == same.tolist(), column


def assert_same_export(duck: Export, spark: Export) -> None:
    """Both exports have the same attributes, text columns and, table by table, the same rows
    (sorted by every column) with the same values (``assert_same_table``; timestamps compared
    in microseconds, other non-float columns as Python values)."""
    assert spark.attributes == duck.attributes
    assert spark.event_text_columns == duck.event_text_columns
    for table in TABLES:
        names = [d[0] for d in duck.con.execute(f"DESCRIBE {quote(table.name)}").fetchall()]
        order = ", ".join(quote(n) for n in names)
        sql = f"SELECT * FROM {quote(table.name)} ORDER BY {order}"
        expected = duck.con.execute(sql).df()
        got = spark.con.execute(sql).df()
        assert len(got) == len(expected), table.name
        for column in expected.columns:
            if expected[column].dtype.kind == "M":
                expected[column] = expected[column].astype("datetime64[us]")
                got[column] = got[column].astype("datetime64[us]")
            elif expected[column].dtype.kind != "f":
                expected[column] = expected[column].astype(object)
                got[column] = got[column].astype(object)
        assert_same_table(expected, got, keys=[])
