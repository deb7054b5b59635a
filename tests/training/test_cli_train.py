"""`salesradar train` on a small generated export: user mistakes are one line, exit 2; a run
shows its steps and none of the libraries' chatter."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from features.cli.root import build_app
from features.synthetic import DEFAULT_AS_OF, generate_crm
from tests.training.test_cli_short_history import short_export, small_config  # noqa: F401


@pytest.fixture(scope="module")
def tiny_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("crm") / "export"
    generate_crm(out, leads=150, customers=40, seed=3, as_of=DEFAULT_AS_OF, months=12)
    return out


def _train(*args: str) -> object:
    return CliRunner().invoke(build_app(), ["train", *args], env={"COLUMNS": "200"})


def test_too_few_positives_says_found_and_needed(tiny_export: Path, tmp_path: Path) -> None:
    result = _train(
        "leads",
        "--data",
        str(tiny_export),
        "--as-of",
        DEFAULT_AS_OF.isoformat(),
        "--models-dir",
        str(tmp_path / "models"),
    )
    assert result.exit_code == 2, result.output  # type: ignore[attr-defined]
    # The plan comes first; the error is its last line.
    error = result.output.splitlines()[-1]  # type: ignore[attr-defined]
    assert error.startswith("error: leads: found ")
    assert "positive label(s) in the" in error
    assert "need at least 50" in error
    assert not (tmp_path / "models" / "mlartifacts").exists()  # nothing was logged


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--horizon", "ninety"], "--horizon 'ninety': expected a number of days"),
        (["--cutoffs", "2026-13-01"], "--cutoffs '2026-13-01' is not an ISO 8601 date or time"),
        (["--cutoffs", "2026-09-01"], "cutoff 2026-09-01: its 90-day label window ends after"),
        (["--every", "3x"], "--every '3x': expected a spacing such as '7d', '2w' or '1m'"),
        (["--every", "0d"], "--every '0d': expected a spacing such as '7d', '2w' or '1m'"),
    ],
)
def test_bad_options_are_one_line(
    tiny_export: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    result = _train(
        "churn",
        "--data",
        str(tiny_export),
        "--as-of",
        DEFAULT_AS_OF.isoformat(),
        "--models-dir",
        str(tmp_path),
        *args,
    )
    assert result.exit_code == 2, result.output  # type: ignore[attr-defined]
    assert message in result.output  # type: ignore[attr-defined]
    assert result.output.count("\n") == 1  # type: ignore[attr-defined]


def test_missing_config_file_is_one_line(tiny_export: Path, tmp_path: Path) -> None:
    result = _train(
        "churn",
        "--data",
        str(tiny_export),
        "--config",
        str(tmp_path / "nope.toml"),
        "--models-dir",
        str(tmp_path),
    )
    assert result.exit_code == 2  # type: ignore[attr-defined]
    assert "cannot read training config" in result.output  # type: ignore[attr-defined]


def test_an_as_of_long_after_the_export_ended_is_refused(tiny_export: Path, tmp_path: Path) -> None:
    result = _train(
        "churn", "--data", str(tiny_export), "--as-of", "2026-12-01", "--models-dir", str(tmp_path)
    )
    assert result.exit_code == 2  # type: ignore[attr-defined]
    # The generator's last customer event is 2026-09-30 16:23, 61 days before 2026-12-01.
    assert result.output == (  # type: ignore[attr-defined]
        "error: --as-of 2026-12-01T00:00:00Z is 61 days after the export's last customer_events "
        "event (2026-09-30T16:23:01Z); the last cutoffs would be labelled against missing data: "
        "pass --as-of 2026-09-30 (the time the export was taken) or raise the config's "
        "split.max_as_of_gap_days (14)\n"
    )


def test_a_missing_export_folder_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-export"
    result = _train(
        "leads", "--data", str(missing), "--as-of", "2026-10-01", "--models-dir", str(tmp_path)
    )
    assert result.exit_code == 2, result.output  # type: ignore[attr-defined]
    assert result.output == f"error: --data {missing}: no such export folder\n"  # type: ignore[attr-defined]


@pytest.mark.slow  # trains through the CLI: 66 s measured
def test_progress_per_step_and_no_library_noise(
    short_export: Path,  # noqa: F811 (the fixtures imported from test_cli_short_history)
    small_config: Path,  # noqa: F811
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """A real (small) train run on a terminal: one line per finished step on stderr with its
    seconds, and not a line from MLflow or alembic (nor their messages outside logging)."""
    result = CliRunner().invoke(
        build_app(),
        [
            "train", "churn", "--data", str(short_export), "--as-of", DEFAULT_AS_OF.isoformat(),
            "--horizon", "182d", "--config", str(small_config),
            "--models-dir", str(tmp_path / "models"),
        ],
        env={"COLUMNS": "400", "TTY_COMPATIBLE": "1", "NO_COLOR": "1"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    raw = result.output + "".join(capfd.readouterr())  # type: ignore[attr-defined]
    # What a terminal shows: escape sequences gone, each line as last redrawn after a '\r'.
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", raw)
    printed = "\n".join(line.rsplit("\r", 1)[-1] for line in plain.splitlines())
    for step in (
        "loading the export",
        "building the training set",
        "fitting and evaluating",
        "logging to MLflow",
    ):
        assert re.search(rf"^{step}… \d+\.\d s$", printed, re.MULTILINE), step
    noise = [
        line
        for line in printed.splitlines()
        if re.search(r"\bmlflow\.|alembic|Successfully registered|Created version", line)
    ]
    assert noise == []
    assert "registered salesradar-churn version 1 as challenger" in printed
