"""Finding the table files of an export and streaming them as Arrow batches with row numbers.

CSV is read with every column as bytes, so nothing is coerced before the checks see it: IDs keep
leading zeros, "NA"/"None"/"null" stay text, and only an empty field is missing. A UTF-8 BOM is
skipped and quoted newlines stay inside their value. Each batch carries ``ROW_COLUMN``, the 1-based
record number (header not counted), which a quoted newline does not shift.
"""

from __future__ import annotations

import csv
import logging
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from features.contract.tables import FILE_SUFFIXES, TABLES, Table
from features.contract.validation.report import IssueCollector, Severity

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

    Reports a table given both as CSV and Parquet and (as a warning) every other top-level file.
    Subfolders such as ``ground_truth/`` are ignored. Which tables must be there is decided per
    task half, after the files are read (``features.contract.validation.halves``).
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
        check_distinct_names(schema.names)
        return TableSource(table, path, "parquet", schema)
    names = read_csv_header(path)
    return TableSource(table, path, "csv", pa.schema([(n, pa.string()) for n in names]))


def _decoded_lines(handle: BinaryIO, *, errors: str = "strict") -> Iterator[str]:
    """Decode a CSV file line by line, so a bad byte further down does not spoil the header."""
    encoding = "utf-8-sig"
    for line in handle:
        yield line.decode(encoding, errors=errors)
        encoding = "utf-8"


def read_csv_header(path: Path) -> list[str]:
    """The column names of a CSV file's first record (BOM skipped, quotes honoured)."""
    try:
        with path.open("rb") as handle:
            header = next(csv.reader(_decoded_lines(handle)), None)
    except UnicodeDecodeError as exc:
        raise ValueError("the header is not valid UTF-8") from exc
    if not header:
        raise ValueError("the file is empty: no header row")
    separator = other_separator(header)
    if separator is not None:
        name = "tab" if separator == "\t" else repr(separator)
        raise ValueError(
            f"looks like {name}-separated (salesradar reads comma-separated CSV); "
            "save it with commas between the fields"
        )
    blank = [i + 1 for i, name in enumerate(header) if not name.strip()]
    if blank:
        raise ValueError(f"header field(s) {blank} have no column name")
    duplicates = sorted({n for n in header if header.count(n) > 1})
    if duplicates:
        raise ValueError(f"duplicate column name(s) in the header: {duplicates}")
    check_distinct_names(header)
    return header


def check_distinct_names(names: list[str]) -> None:
    """Refuse column names that differ only by case or by surrounding spaces (``industry`` and
    ``Industry``, ``employees`` and ``"employees "``): DuckDB binds names case-insensitively, so
    it cannot tell the first pair apart, and the second is one column written twice.

    Raises ``ValueError`` naming every such group, as written (repr, so the spaces show).
    """
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(name.strip().casefold(), []).append(name)
    clashes = [group for group in groups.values() if len(group) > 1]
    if clashes:
        listed = "; ".join(" and ".join(repr(n) for n in group) for group in clashes)
        raise ValueError(
            "duplicate column names (case-insensitive, surrounding spaces ignored): "
            f"{listed}; rename or remove one of each"
        )


OTHER_SEPARATORS = (";", "\t", "|")


def other_separator(header: list[str]) -> str | None:
    """The separator a header was written with when it is not the comma: the one that splits
    it into more column names than the comma did (Excel in many locales writes ';')."""
    line = ",".join(header)
    counts = {sep: len(line.split(sep)) for sep in OTHER_SEPARATORS}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] > len(header) else None


def _quoted_lines(path: Path) -> Iterator[tuple[int, str, bool, int]]:
    """Each physical line of a CSV file: (1-based number, text with its line end, whether it
    ends inside a quoted value, the line where the last quoted value opened).

    Quotes are read as the csv readers do: a quote opens a value only at the start of a field,
    and a doubled quote inside a quoted value is a literal quote.
    """
    in_quote, opened = False, 0
    with path.open("rb") as handle:
        for number, line in enumerate(_decoded_lines(handle, errors="replace"), start=1):
            at = 0
            while True:
                if in_quote:
                    at = line.find('"', at)
                    if at < 0:
                        break
                    if line.startswith('""', at):
                        at += 2
                        continue
                    in_quote, at = False, at + 1
                    continue
                at = line.find('"', at)
                if at < 0:
                    break
                if at == 0 or line[at - 1] == ",":
                    in_quote, opened = True, number
                at += 1
            yield number, line, in_quote, opened


def unclosed_quote_line(path: Path) -> int | None:
    """The 1-based line where a quoted value opens that the file never closes, or None.

    Run only once reading failed: it reads the whole file.
    """
    last = deque(_quoted_lines(path), maxlen=1)
    if not last or not last[0][2]:
        return None
    return last[0][3]


def _line_end(line: str) -> str | None:
    if line.endswith("\r\n"):
        return "CRLF"
    return "LF" if line.endswith("\n") else None


def mixed_line_end(path: Path) -> tuple[int, str, str] | None:
    """The first record-ending line whose line end differs from the header's, as (1-based line,
    the header's end, this line's end: "CRLF" or "LF"), or None when they are all alike.

    Line ends inside quoted values are part of the value and are not compared (Excel writes LF
    inside a quoted cell of a CRLF file). Run only once DuckDB's strict reader failed: it reads
    the whole file, and DuckDB rejects a file whose records end one way and then another.
    """
    first: str | None = None
    for number, line, in_quote, _ in _quoted_lines(path):
        end = _line_end(line)
        if in_quote or end is None:
            continue
        if first is None:
            first = end
        elif end != first:
            return number, first, end
    return None


def find_ragged_records(source: TableSource) -> list[int]:
    """Record numbers (1-based, header not counted) whose field count differs from the header.

    The slow exact path, run only once the fast reader has seen ragged rows: it reads the file
    with Python's csv module, which counts records (not lines) the same way.
    """
    expected = len(source.schema.names)
    ragged = []
    with source.path.open("rb") as handle:
        reader = csv.reader(_decoded_lines(handle, errors="replace"))
        try:
            next(reader, None)
            record = 0
            for fields in reader:
                if not fields:
                    continue  # blank lines are not records, for either reader
                record += 1
                if len(fields) != expected:
                    ragged.append(record)
        except csv.Error as exc:
            # A bare carriage return outside quotes: no reader can tell records apart here.
            raise ValueError(f"line {reader.line_num}: {exc}") from exc
    return ragged


class RaggedRowsFound(Exception):
    """The fast CSV reader skipped rows with a wrong field count; their numbers are unknown."""


def iter_batches(
    source: TableSource,
    issues: IssueCollector,
    *,
    progress: ProgressHook | None = None,
    label: str = "",
    ragged_records: Sequence[int] = (),
) -> Iterator[pa.RecordBatch]:
    """Stream a table file as Arrow batches with a ``ROW_COLUMN`` of 1-based record numbers.

    CSV values arrive as UTF-8 strings; a value that is not valid UTF-8 is reported with its row
    and column and replaced by its lossy decoding, so the other checks still run on that row.
    Rows with the wrong number of fields are skipped; if that happens and ``ragged_records``
    (their record numbers, from ``find_ragged_records``) was not given, ``RaggedRowsFound`` is
    raised after the last batch, because the numbers of the rows after them would be wrong.
    """
    if source.format == "parquet":
        yield from _iter_parquet(source, progress, label)
    else:
        yield from _iter_csv(source, issues, progress, label, sorted(ragged_records))


def _numbered(batch: pa.RecordBatch, first_row: int) -> pa.RecordBatch:
    rows = pa.array(np.arange(first_row, first_row + batch.num_rows, dtype=np.int64))
    return batch.append_column(ROW_COLUMN, rows)


def _record_numbers(first: int, count: int, skipped: list[int]) -> np.ndarray:
    """``count`` consecutive record numbers from ``first`` on, leaving out ``skipped`` ones."""
    numbers = np.arange(first, first + count + len(skipped), dtype=np.int64)
    return numbers[~np.isin(numbers, skipped)][:count]


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
    source: TableSource,
    issues: IssueCollector,
    progress: ProgressHook | None,
    label: str,
    ragged_records: list[int],
) -> Iterator[pa.RecordBatch]:
    names = source.schema.names
    ragged = 0

    def skip_ragged(row: pacsv.InvalidRow) -> str:
        nonlocal ragged
        ragged += 1
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
    next_record = 1
    done_bytes = 0
    for raw in reader:
        numbers = _record_numbers(next_record, raw.num_rows, ragged_records)
        columns = [
            _decode_utf8(raw.column(i), source.file, name, numbers, issues)
            for i, name in enumerate(names)
        ]
        yield pa.RecordBatch.from_arrays([*columns, pa.array(numbers)], names=[*names, ROW_COLUMN])
        if raw.num_rows:
            next_record = int(numbers[-1]) + 1
        done_bytes += raw.nbytes
        if progress is not None:
            progress(label, min(done_bytes, total), total)
    if progress is not None:
        progress(label, total, total)
    if ragged and not ragged_records:
        raise RaggedRowsFound(source.file)


def _decode_utf8(
    values: pa.Array, file: str, column: str, numbers: np.ndarray, issues: IssueCollector
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
            bad.append(int(numbers[offset]))
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
