"""`salesradar generate`: writes an export, exits 0; bad arguments give one line and exit 2."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from features.cli import root as cli
from features.contract.validation import validate_export
from features.errors import UserError
from features.synthetic import writer


def run_main(monkeypatch: pytest.MonkeyPatch, arguments: list[str]) -> int:
    monkeypatch.setattr(sys, "argv", ["salesradar", *arguments])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    return int(exit_info.value.code or 0)


def test_generate_writes_a_valid_export(tmp_path: Path) -> None:
    out = tmp_path / "crm"
    result = CliRunner().invoke(
        cli.build_app(),
        [
            "generate",
            "--out",
            str(out),
            "--leads",
            "120",
            "--customers",
            "80",
            "--months",
            "6",
            "--seed",
            "5",
            "--format",
            "csv",
            "--as-of",
            "2026-04-01",
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"wrote {out} (csv): 120 leads")  # no blank line first
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "accounts.csv",
        "customer_events.csv",
        "customers.csv",
        "ground_truth",
        "lead_events.csv",
        "leads.csv",
    ]
    assert sorted(p.name for p in (out / "ground_truth").iterdir()) == [
        "customers.parquet",
        "leads.parquet",
    ]
    report = validate_export(out, as_of=datetime(2026, 4, 1))
    assert list(report.errors) == []


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["--leads", "-1"], "--leads must be at least 1 (got -1)"),
        (["--as-of", "October"], "--as-of 'October' is not an ISO 8601 date or time"),
    ],
)
def test_bad_arguments_print_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    arguments: list[str],
    expected: str,
) -> None:
    code = run_main(monkeypatch, ["generate", "--out", str(tmp_path / "x"), *arguments])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err == f"error: {expected}"
    assert not (tmp_path / "x").exists()


def test_a_folder_with_other_files_is_not_replaced(tmp_path: Path) -> None:
    out = tmp_path / "precious"
    out.mkdir()
    (out / "thesis.docx").write_text("keep me")
    with pytest.raises(UserError, match="refusing to replace"):
        writer.check_target(out)


def test_a_crash_while_writing_keeps_the_previous_export(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    out = tmp_path / "crm"
    arguments = [
        "generate",
        "--out",
        str(out),
        "--leads",
        "40",
        "--customers",
        "30",
        "--months",
        "4",
        "--no-truth",
    ]
    assert CliRunner().invoke(cli.build_app(), arguments).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    calls = []

    def failing_write(*args: object) -> None:
        calls.append(args)
        if len(calls) == 3:
            raise OSError("disk full")
        original(*args)

    original = writer.write_table
    monkeypatch.setattr(writer, "write_table", failing_write)
    result = CliRunner().invoke(cli.build_app(), [*arguments, "--seed", "99"])
    assert isinstance(result.exception, OSError)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crm"]  # no staging left behind
