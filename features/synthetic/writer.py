"""Writing an export atomically: everything goes to a staging folder beside ``out``, which then
replaces ``out`` with two renames, so a crash leaves either the previous export or none, never
half of one.

CSV follows the contract: UTF-8, standard quoting, ISO 8601 timestamps; a small share of the
timestamps carry a ``+02:00`` offset (the same instant, written in local time), the rest are
naive UTC.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from features.contract.tables import TABLES_BY_NAME
from features.errors import UserError

log = logging.getLogger(__name__)

GROUND_TRUTH_DIR = "ground_truth"
KEPT_FILES = ("README.md",)  # carried over when an export is replaced
OFFSET_SHARE = 0.03
OFFSET = np.timedelta64(2, "h")
CSV_CHUNK_ROWS = 1 << 20

# Called after each file is written: (file name, files done, files in all).
FileHook = Callable[[str, int, int], None]


def check_target(out: Path) -> None:
    """Refuse an ``out`` that is a file, or a folder holding anything but a previous export."""
    if not out.exists():
        if not out.parent.is_dir():
            raise UserError(f"--out {out}: the parent folder {out.parent} does not exist")
        return
    if not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a folder")
    export_names = {f"{t}{s}" for t in TABLES_BY_NAME for s in (".csv", ".parquet")}
    for entry in out.iterdir():
        if entry.name in export_names or entry.name in KEPT_FILES:
            continue
        if entry.name == GROUND_TRUTH_DIR and entry.is_dir():
            continue
        raise UserError(
            f"--out {out}: holds {entry.name!r}, which is not part of an export; "
            "refusing to replace it"
        )


def render_csv_timestamps(column: pa.Array, rng: np.random.Generator) -> pa.Array:
    """ISO 8601 text: naive UTC, or (for a small share) local time with a +02:00 offset."""
    values = column.to_numpy(zero_copy_only=False).astype("datetime64[s]")
    missing = np.isnat(values)
    shifted = rng.random(values.size) < OFFSET_SHARE
    chunks = []
    for lo in range(0, values.size, CSV_CHUNK_ROWS):
        part = values[lo : lo + CSV_CHUNK_ROWS]
        offset = shifted[lo : lo + CSV_CHUNK_ROWS] & ~missing[lo : lo + CSV_CHUNK_ROWS]
        text = np.datetime_as_string(np.where(offset, part + OFFSET, part), unit="s")
        text = text.astype(object)
        text[offset] = [f"{t}+02:00" for t in text[offset]]
        chunks.append(pa.array(text, mask=missing[lo : lo + CSV_CHUNK_ROWS], type=pa.string()))
    return pa.concat_arrays(chunks) if chunks else pa.array([], type=pa.string())


def to_csv_table(table: pa.Table, rng: np.random.Generator) -> pa.Table:
    columns = []
    for name in table.column_names:
        column = table.column(name).combine_chunks()
        if pa.types.is_dictionary(column.type):
            column = column.dictionary_decode()
        if pa.types.is_timestamp(column.type):
            column = render_csv_timestamps(column, rng)
        columns.append(column)
    return pa.table(dict(zip(table.column_names, columns, strict=True)))


def write_table(table: pa.Table, path: Path, fmt: str, rng: np.random.Generator) -> None:
    if fmt == "csv":
        pacsv.write_csv(to_csv_table(table, rng), path)
    else:
        # Without the stored Arrow schema, readers see the dictionary-encoded text as plain text.
        pq.write_table(table, path, compression="zstd", store_schema=False)


def write_export(
    out: Path,
    *,
    tables: Mapping[str, pa.Table],
    truth: Mapping[str, pa.Table],
    fmt: str,
    seed: int,
    on_file: FileHook | None = None,
) -> None:
    """Write the contract tables (as ``fmt``) and the ground truth (Parquet), then swap in."""
    check_target(out)
    rng = np.random.default_rng([seed, 0x5EED])
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.staging-", dir=out.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; an export folder is an ordinary folder
    try:
        total = len(tables) + len(truth)
        done = 0
        for name, table in tables.items():
            write_table(table, staging / f"{name}.{fmt}", fmt, rng)
            done += 1
            if on_file:
                on_file(name, done, total)
        if truth:
            (staging / GROUND_TRUTH_DIR).mkdir()
        for name, table in truth.items():
            pq.write_table(table, staging / GROUND_TRUTH_DIR / f"{name}.parquet")
            done += 1
            if on_file:
                on_file(f"{GROUND_TRUTH_DIR}/{name}", done, total)
        for kept in KEPT_FILES:
            if (out / kept).is_file():
                shutil.copy2(out / kept, staging / kept)
        _swap_in(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log.info("wrote %s (%s)", out, fmt)


def _swap_in(staging: Path, out: Path) -> None:
    """Replace ``out`` by ``staging``; the old export is removed only after the swap."""
    if not out.exists():
        staging.rename(out)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{out.name}.retired-", dir=out.parent))
    retired.rmdir()
    out.rename(retired)
    staging.rename(out)
    shutil.rmtree(retired, ignore_errors=True)
