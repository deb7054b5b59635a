"""``salesradar export-scores`` as a command: the file, its line, and one-line errors."""

from __future__ import annotations

import csv
from pathlib import Path

from typer.testing import CliRunner

from features.cli.root import build_app
from serving.store.database import ScoreStore
from tests.serving.delivery.books import publish_two_runs


def invoke(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(build_app(), list(args), env={"COLUMNS": "200", **env})
    return result.exit_code, " ".join(result.output.split())


def test_export_scores_writes_the_file_and_says_what_it_wrote(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'scores.db'}"
    store = ScoreStore.from_url(url)
    store.create_schema()
    env = {"SALESRADAR_SCORES_URL": url}
    out = tmp_path / "leads.csv"
    code, output = invoke(
        env, "export-scores", "--format", "hubspot", "--kind", "lead", "--out", str(out)
    )
    assert (code, output) == (2, "error: nothing is published yet: run 'salesradar score' first")
    _, second = publish_two_runs(store)
    code, output = invoke(
        env, "export-scores", "--format", "hubspot", "--kind", "lead", "--out", str(out)
    )
    assert code == 0 and output == f"wrote 1 lead row(s) of run {second} to {out} (hubspot)"
    with out.open(newline="", encoding="utf-8") as handle:
        assert [r["Record ID"] for r in csv.DictReader(handle)] == ["l1"]
    code, output = invoke(
        env, "export-scores", "--format", "csv", "--kind", "lead", "--out", str(out), "--push"
    )
    assert (code, output) == (2, "error: --push needs SALESRADAR_DELIVERY__WRITEBACK_WEBHOOK_URL")
    code, output = invoke(
        env,
        "export-scores",
        "--format",
        "csv",
        "--kind",
        "lead",
        "--out",
        str(out),
        "--run-id",
        "ab",
    )
    assert (code, output) == (2, "error: --run-id ab: no published run has this id")
