"""Finding the table files of an export and streaming them as Arrow batches with row numbers.

CSV is read with every column as bytes, so nothing is coerced before the checks see it: IDs keep
leading zeros, "NA"/"None"/"null" stay text, and only an empty field is missing. A UTF-8 BOM is
skipped and quoted newlines stay inside their value. Each batch carries ``ROW_COLUMN``, the 1-based
record number (header not counted), which a quoted newline does not shift.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from features.contract import FILE_SUFFIXES, TABLES, Table
from features.validation.report import IssueCollector, Severity

log = logging.getLogger(__name__)

ROW_COLUMN = "__row"
CSV_BLOCK_BYTES = 16 << 20
PARQUET_BATCH_ROWS = 1 << 18

Format = Literal["csv", "parquet"]
# Progress of the long steps: (step label, units done so far, units in all).
ProgressHook = Callable[[str, int, int], None]


@dataclass(frozen=True)
class TableSource:
    """One table file of an export and its columns with their Arrow types (CSV: all text)."""

    table: Table
    path: Path
    format: Format
    schema: pa.Schema

    @property
    def file(self) -> str:
        return self.path.name

    @property
    def size(self) -> int:
        """Progress units in all: bytes for CSV, rows for Parquet."""
        if self.format == "csv":
            return self.path.stat().st_size
        return int(pq.ParquetFile(self.path).metadata.num_rows)


def find_table_files(directory: Path, issues: IssueCollector) -> dict[str, Path]:
    """Map each contract table present in ``directory`` to its file.

    Reports a table given both as CSV and Parquet, a missing required table, and (as a warning)
    every other top-level file. Subfolders such as ``ground_truth/`` are ignored.
    """
    known = {t.name: t for t in TABLES}
    found: dict[str, list[Path]] = {}
    for entry in sorted(directory.iterdir()):
        if entry.is_dir():
            continue
        if entry.suffix in FILE_SUFFIXES and entry.stem in known:
            found.setdefault(entry.stem, []).append(entry)
        else:
            issues.add(
                Severity.WARNING,
                "unknown_file",
                file=entry.name,
                column=None,
                message="not a table of the export contract; ignored",
            )
    files: dict[str, Path] = {}
    for table in TABLES:
        paths = found.get(table.name, [])
        if len(paths) > 1:
            issues.add(
                Severity.ERROR,
                "ambiguous_table",
                file=" and ".join(p.name for p in paths),
                column=None,
                message=f"table {table.name} is given twice; keep one file",
            )
        elif paths:
            files[table.name] = paths[0]
        elif table.required:
            issues.add(
                Severity.ERROR,
                "missing_table",
                file=f"{table.name}.csv",
                column=None,
                message=f"required table {table.name} is missing (.csv or .parquet)",
            )
    return files


def open_source(table: Table, path: Path) -> TableSource:
    """Read the header (CSV) or schema (Parquet) of a table file.

    Raises ``ValueError`` with a message naming the problem when the header is unreadable.
    """
    if path.suffix == ".parquet":
        try:
            schema = pq.read_schema(path)
        except (pa.ArrowException, OSError) as exc:
            raise ValueError(f"not a readable Parquet file ({exc})") from exc
        return TableSource(table, path, "parquet", schema)
    names = read_csv_header(path)
    return TableSource(table, path, "csv", pa.schema([(n, pa.string()) for n in names]))


def read_csv_header(path: Path) -> list[str]:
    """The column names of a CSV file's first record (BOM skipped, quotes honoured)."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle), None)
    except UnicodeDecodeError as exc:
        raise ValueError("the header is not valid UTF-8") from exc
    if not header:
        raise ValueError("the file is empty: no header row")
    blank = [i + 1 for i, name in enumerate(header) if not name.strip()]
    if blank:
        raise ValueError(f"header field(s) {blank} have no column name")
    duplicates = sorted({n for n in header if header.count(n) > 1})
    if duplicates:
        raise ValueError(f"duplicate column name(s) in the header: {duplicates}")
    return header


def iter_batches(
    source: TableSource,
    issues: IssueCollector,
    *,
    progress: ProgressHook | None = None,
    label: str = "",
) -> Iterator[pa.RecordBatch]:
    """Stream a table file as Arrow batches with a ``ROW_COLUMN`` of 1-based record numbers.

    CSV values arrive as UTF-8 strings; a value that is not valid UTF-8 is reported with its row
    and column and replaced by its lossy decoding, so the other checks still run on that row.
    """
    if source.format == "parquet":
        yield from _iter_parquet(source, progress, label)
    else:
        yield from _iter_csv(source, issues, progress, label)


def _numbered(batch: pa.RecordBatch, first_row: int) -> pa.RecordBatch:
    rows = pa.array(np.arange(first_row, first_row + batch.num_rows, dtype=np.int64))
    return batch.append_column(ROW_COLUMN, rows)


def _iter_parquet(
    source: TableSource, progress: ProgressHook | None, label: str
) -> Iterator[pa.RecordBatch]:
    parquet = pq.ParquetFile(source.path)
    total = int(parquet.metadata.num_rows)
    done = 0
    for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS):
        yield _numbered(batch, done + 1)
        done += batch.num_rows
        if progress is not None:
            progress(label, done, total)


def _iter_csv(
    source: TableSource, issues: IssueCollector, progress: ProgressHook | None, label: str
) -> Iterator[pa.RecordBatch]:
    names = source.schema.names
    ragged: list[pacsv.InvalidRow] = []

    def skip_ragged(row: pacsv.InvalidRow) -> str:
        ragged.append(row)
        return "skip"

    reader = pacsv.open_csv(
        source.path,
        read_options=pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES, use_threads=True),
        parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=skip_ragged),
        convert_options=pacsv.ConvertOptions(
            column_types={n: pa.binary() for n in names},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    total = source.size
    done_rows = 0
    done_bytes = 0
    for raw in reader:
        batch = pa.RecordBatch.from_arrays(
            [
                _decode_utf8(raw.column(i), source.file, name, done_rows + 1, issues)
                for i, name in enumerate(names)
            ],
            names=names,
        )
        yield _numbered(batch, done_rows + 1)
        done_rows += batch.num_rows
        done_bytes += raw.nbytes
        if progress is not None:
            progress(label, min(done_bytes, total), total)
    if progress is not None:
        progress(label, total, total)
    for row in ragged:
        # Ragged rows are dropped by the parser, so the record numbers of later rows would be
        # unreliable; the physical line number is exact, so that is what this error names.
        issues.add(
            Severity.ERROR,
            "ragged_row",
            file=source.file,
            column=None,
            message=(
                f"line {row.number} has {row.actual_columns} fields, the header has "
                f"{row.expected_columns}; row numbers after it may be off by the skipped rows"
            ),
            count=1,
        )


def _decode_utf8(
    values: pa.Array, file: str, column: str, first_row: int, issues: IssueCollector
) -> pa.Array:
    try:
        return values.cast(pa.string())
    except pa.ArrowInvalid:
        pass
    # Rare slow path: find the offending rows and keep a lossy decoding of them.
    decoded: list[str] = []
    bad: list[int] = []
    for offset, value in enumerate(values.to_pylist()):
        try:
            decoded.append(value.decode("utf-8"))
        except UnicodeDecodeError:
            decoded.append(value.decode("utf-8", errors="replace"))
            bad.append(first_row + offset)
    issues.add(
        Severity.ERROR,
        "invalid_utf8",
        file=file,
        column=column,
        message="text is not valid UTF-8",
        rows=bad,
        count=len(bad),
    )
    return pa.array(decoded, pa.string())
