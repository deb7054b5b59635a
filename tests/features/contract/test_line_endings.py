"""Mixed line endings: DuckDB's strict reader cannot read a file whose records end with CRLF and
then LF (or the other way round), so validation names the first line that changes and the fix."""

from __future__ import annotations

from pathlib import Path

from features.contract.loading import load_export
from features.contract.validation import validate_export
from tests.features.exportkit import AS_OF, csv_text, valid_tables, write_valid_export


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().rstrip(b"\n").split(b"\n")


def test_crlf_file_with_lf_lines_appended_names_the_first_lf_line(tmp_path: Path) -> None:
    path = write_valid_export(tmp_path)
    events = path / "customer_events.csv"
    lines = _lines(events)  # header and 3 records
    crlf, lf = lines[:2], lines[2:]
    events.write_bytes(b"".join(line + b"\r\n" for line in crlf) + b"".join(x + b"\n" for x in lf))

    (issue,) = validate_export(path, as_of=AS_OF).errors

    assert (issue.code, issue.file, issue.column) == ("malformed_csv", "customer_events.csv", None)
    assert issue.message == (
        "line 3 ends with LF while the lines before it end with CRLF: mixed line endings, which "
        "the loader cannot read; save the file with one line ending throughout (all CRLF or "
        "all LF)"
    )


def test_crlf_header_over_lf_rows_names_line_2(tmp_path: Path) -> None:
    path = write_valid_export(tmp_path)
    accounts = path / "accounts.csv"
    header, *rows = _lines(accounts)
    accounts.write_bytes(header + b"\r\n" + b"".join(row + b"\n" for row in rows))

    (issue,) = validate_export(path, as_of=AS_OF).errors

    assert (issue.code, issue.file) == ("malformed_csv", "accounts.csv")
    assert issue.message.startswith("line 2 ends with LF while the lines before it end with CRLF")


def test_lf_inside_a_quoted_value_of_a_crlf_file_is_not_a_mixed_line_ending(
    tmp_path: Path,
) -> None:
    # Excel writes a line break inside a cell as LF even in a CRLF file; that is one value.
    path = write_valid_export(tmp_path)
    tables = valid_tables()
    tables["lead_events"][0]["channel"] = "phone\nthen email"
    text = csv_text(tables["lead_events"]).replace("\n", "\r\n").replace("phone\r\n", "phone\n")
    (path / "lead_events.csv").write_bytes(text.encode())

    assert validate_export(path, as_of=AS_OF).issues == ()
    export = load_export(path, as_of=AS_OF)
    try:
        ((channel,),) = export.con.execute(
            "SELECT channel FROM lead_events WHERE lead_id = 'L001'"
        ).fetchall()
    finally:
        export.con.close()
    assert channel == "phone\nthen email"
