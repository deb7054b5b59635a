"""Byte-level CSV traps: BOM, invalid UTF-8, quoted newlines, ragged rows, text that looks null."""

from __future__ import annotations

from pathlib import Path

import pytest

from features.contract.validation import validate_export
from tests.features.exportkit import AS_OF, csv_text, valid_tables, write_valid_export


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = write_valid_export(tmp_path)
    leads = path / "leads.csv"
    leads.write_bytes(b"\xef\xbb\xbf" + leads.read_bytes())

    report = validate_export(path, as_of=AS_OF)

    assert report.issues == ()


def test_invalid_utf8_names_the_row_and_column(tmp_path: Path) -> None:
    path = write_valid_export(tmp_path)
    leads = path / "leads.csv"
    lines = leads.read_bytes().split(b"\n")
    lines[3] = lines[3].replace(b"retail", b"caf\xe9")  # record 3 (line 4, after the header)
    leads.write_bytes(b"\n".join(lines))

    report = validate_export(path, as_of=AS_OF)

    (issue,) = report.errors
    assert (issue.code, issue.file, issue.column, issue.rows) == (
        "invalid_utf8",
        "leads.csv",
        "industry",
        (3,),
    )
    assert str(issue) == "leads.csv, row 3, column industry: text is not valid UTF-8"


def test_quoted_newline_does_not_shift_reported_rows(tmp_path: Path) -> None:
    path = write_valid_export(tmp_path)
    tables = valid_tables()
    tables["lead_events"][0]["channel"] = "phone\nthen\r\nemail"
    tables["lead_events"][1]["occurred_at"] = "not a time"
    (path / "lead_events.csv").write_text(csv_text(tables["lead_events"]), encoding="utf-8")

    report = validate_export(path, as_of=AS_OF)

    (issue,) = report.errors
    assert (issue.code, issue.column, issue.rows) == ("unparsable_timestamp", "occurred_at", (2,))


def test_crlf_line_ends_are_accepted(tmp_path: Path) -> None:
    path = write_valid_export(tmp_path)
    leads = path / "leads.csv"
    leads.write_bytes(leads.read_bytes().replace(b"\n", b"\r\n"))

    assert validate_export(path, as_of=AS_OF).issues == ()


def test_ragged_rows_are_errors_and_do_not_shift_later_rows(tmp_path: Path) -> None:
    path = write_valid_export(tmp_path)
    (path / "lead_events.csv").write_text(
        "lead_id,occurred_at,type\n"
        'L001,2024-01-05,"call\nback"\n'  # record 1 spans two lines
        "L002,2024-01-06,demo,extra\n"  # record 2: one field too many
        "L003\n"  # record 3: too few
        "L003,yesterday,email\n"  # record 4: a bad timestamp after the skipped rows
    )

    report = validate_export(path, as_of=AS_OF)

    assert sorted((i.code, i.file, i.column, i.rows) for i in report.errors) == [
        ("ragged_row", "lead_events.csv", None, (2, 3)),
        ("unparsable_timestamp", "lead_events.csv", "occurred_at", (4,)),
    ]
    (ragged,) = [i for i in report.errors if i.code == "ragged_row"]
    assert str(ragged) == ("lead_events.csv, rows 2, 3: wrong number of fields (the header has 3)")


def test_null_like_text_stays_text_and_keeps_the_attribute_categorical(tmp_path: Path) -> None:
    path = write_valid_export(tmp_path)
    tables = valid_tables()
    for row, value in zip(tables["leads"], ["NA", "None", "null"], strict=True):
        row["employees"] = value
    (path / "leads.csv").write_text(csv_text(tables["leads"]), encoding="utf-8")

    report = validate_export(path, as_of=AS_OF)

    assert report.errors == ()
    (employees,) = [a for a in report.tables["leads"].attributes if a.name == "employees"]
    assert not employees.numeric


def test_header_with_duplicate_names_is_an_error(tmp_path: Path) -> None:
    path = write_valid_export(tmp_path)
    (path / "accounts.csv").write_text("account_id,region,region\nA1,n,n\nA2,s,s\n")

    (issue,) = validate_export(path, as_of=AS_OF).errors

    assert (issue.code, issue.file) == ("unreadable_file", "accounts.csv")
    assert "duplicate column name(s) in the header: ['region']" in issue.message


def test_unterminated_quote_is_an_error_not_a_swallowed_tail(tmp_path: Path) -> None:
    path = write_valid_export(tmp_path)
    (path / "accounts.csv").write_text('account_id,region\nA1,north\nA2,"south\n')

    (issue,) = validate_export(path, as_of=AS_OF).errors

    assert (issue.code, issue.file, issue.column) == ("malformed_csv", "accounts.csv", None)
    assert "Line: 3" in issue.message
    assert "unterminated quote" in issue.message


def test_stray_quote_inside_an_unquoted_value_is_text(tmp_path: Path) -> None:
    path = write_valid_export(tmp_path)
    (path / "accounts.csv").write_text('account_id,region\nA1,5" north\nA2,south\n')

    report = validate_export(path, as_of=AS_OF)

    assert report.issues == ()


def test_bare_carriage_return_is_an_error(tmp_path: Path) -> None:
    path = write_valid_export(tmp_path)
    (path / "accounts.csv").write_bytes(b"account_id,region\nA1,\r0\nA2,south\n")

    (issue,) = validate_export(path, as_of=AS_OF).errors

    assert (issue.code, issue.file) == ("malformed_csv", "accounts.csv")
    assert "line 2" in issue.message


def test_an_unclosed_quote_is_reported_at_the_line_where_it_opens(tmp_path: Path) -> None:
    path = write_valid_export(tmp_path)
    leads = path / "leads.csv"
    lines = leads.read_text(encoding="utf-8").splitlines()
    assert len(lines) >= 4  # the header and three records: the quote opens before the last
    lines[2] = lines[2].replace(",software,", ',"software,', 1)  # line 3 of the file
    leads.write_text("\n".join(lines) + "\n", encoding="utf-8")

    report = validate_export(path, as_of=AS_OF)

    issues = [i for i in report.errors if i.file == "leads.csv"]
    assert [str(i) for i in issues] == [
        "leads.csv: line 3: a quote opens here and is never closed, so the rest of the file "
        "reads as one value"
    ]


def test_a_closed_quote_with_a_newline_is_not_an_unclosed_quote(tmp_path: Path) -> None:
    from features.contract.validation.sources import unclosed_quote_line

    path = tmp_path / "t.csv"
    path.write_text('a,b\n1,"x\n""y"""\n2,"z\n')
    assert unclosed_quote_line(path) == 4
    path.write_text('a,b\n1,"x\n""y"""\n2,z"\n')
    assert unclosed_quote_line(path) is None


@pytest.mark.parametrize(("separator", "name"), [(";", "';'"), ("\t", "tab")])
def test_a_file_with_another_separator_says_so(tmp_path: Path, separator: str, name: str) -> None:
    path = write_valid_export(tmp_path)
    leads = path / "leads.csv"
    leads.write_text(leads.read_text(encoding="utf-8").replace(",", separator), encoding="utf-8")

    report = validate_export(path, as_of=AS_OF)

    assert [str(i) for i in report.errors] == [
        f"leads.csv: looks like {name}-separated (salesradar reads comma-separated CSV); "
        "save it with commas between the fields"
    ]
