"""The owner -> address CSV: read as written, and every mistake named by row and column."""

from __future__ import annotations

from pathlib import Path

import pytest

from features.errors import UserError
from serving.delivery.recipients import load_recipients


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "reps.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_addresses_and_optional_names_are_read_by_owner(tmp_path: Path) -> None:
    found = load_recipients(
        write(tmp_path, "owner_id,email,name\nO1,ana@example.com,Ana Silva\nO2, bo@example.org ,\n")
    )
    assert {owner: str(r.address) for owner, r in found.items()} == {
        "O1": "Ana Silva <ana@example.com>",
        "O2": "bo@example.org",
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "owner,email\nO1,a@b.c\n",
            "row 1: columns must be owner_id,email[,name]; missing: owner_id; unknown: owner",
        ),
        ("owner_id,email\nO1,a@b.c\nO1,d@e.f\n", "row 3, column owner_id: 'O1' twice"),
        ("owner_id,email\n,a@b.c\n", "row 2, column owner_id: empty"),
        (
            "owner_id,email\nO1,ana@@example.com\n",
            "row 2, column email: not an email address: 'ana@@example.com'",
        ),
        ("owner_id,email\nO1,ana@\n", "row 2, column email: not an email address: 'ana@'"),
        ("owner_id,email\nO1,Ana <ana@example.com>\n", "row 2, column email: not an email address"),
        ("owner_id,email\nO1\n", "row 2: expected 2 fields"),
        ("owner_id,email\nO1,a@b.c,extra\n", "row 2: expected 2 fields"),
    ],
)
def test_a_bad_file_is_a_user_error_naming_row_and_column(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(UserError) as raised:
        load_recipients(path)
    assert str(raised.value).startswith(f"{path}: {message}")


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"reps\.csv: recipients file not found"):
        load_recipients(tmp_path / "reps.csv")
