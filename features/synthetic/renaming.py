"""Renamed exports: the synthetic CRM in words no one here chose, to prove nothing depends on ours.

``rename_vocabulary`` rewrites every event type and channel value and every attribute column
name of the contract tables through a deterministic rule (``"email_open"`` -> ``"Zq Email Open"``
for types, ``"email"`` -> ``"zq-email"`` for channels, ``industry`` -> ``zq_industry`` for
attributes). Contract columns and contract values (``direction``: inbound / outbound) keep their
names. A model trained on the renamed export must match the original's metrics within noise and
phrase its reasons in the new words (tests/training/test_renamed_vocabulary.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pyarrow as pa
import pyarrow.compute as pc

from features.contract.tables import TABLES_BY_NAME

PREFIX = "zq"


def renamed_type(name: str) -> str:
    """``"email_open"`` -> ``"Zq Email Open"``: spaces and capitals, a foreign prefix."""
    return " ".join(w.capitalize() for w in [PREFIX, *name.split("_")])


def renamed_channel(name: str) -> str:
    """``"email"`` -> ``"zq-email"``."""
    return f"{PREFIX}-{name}"


def renamed_attribute(name: str) -> str:
    """``"industry"`` -> ``"zq_industry"``."""
    return f"{PREFIX}_{name}"


def _map_values(column: pa.ChunkedArray, rename: Callable[[str], str]) -> pa.ChunkedArray:
    encoded = column if pa.types.is_dictionary(column.type) else pc.dictionary_encode(column)
    chunks = []
    for chunk in encoded.chunks:
        words = [None if v is None else rename(v) for v in chunk.dictionary.to_pylist()]
        chunks.append(pa.DictionaryArray.from_arrays(chunk.indices, pa.array(words, pa.string())))
    return pa.chunked_array(chunks, type=pa.dictionary(pa.int32(), pa.string()))


def rename_vocabulary(tables: Mapping[str, pa.Table]) -> dict[str, pa.Table]:
    """The contract tables with renamed event types, channels and attribute columns.

    Takes and returns tables keyed by contract name; the row order and every other value are
    unchanged. Raises ``KeyError`` for a table name outside the contract.
    """
    out: dict[str, pa.Table] = {}
    for name, table in tables.items():
        contract = TABLES_BY_NAME[name]
        known = {c.name for c in contract.columns}
        if contract.time_column is not None:  # an event table
            for column, rename in (("type", renamed_type), ("channel", renamed_channel)):
                if column in table.column_names:
                    position = table.column_names.index(column)
                    values = _map_values(table.column(column), rename)
                    table = table.set_column(position, column, values)
        else:
            table = table.rename_columns(
                [c if c in known else renamed_attribute(c) for c in table.column_names]
            )
        out[name] = table
    return out
