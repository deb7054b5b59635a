"""`salesradar pipeline` after a standalone `salesradar score` of the same export and as-of,
with the same champions: the pipeline reuses the published run instead of republishing it.
Each command reads the whole export for its fingerprint once (the pipeline hands its own to the
`score` it runs)."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from types import SimpleNamespace

import pytest

import features.contract.fingerprint
from features.contract.fingerprint import export_fingerprint
from features.synthetic import generate_crm
from tests.training.pipelinekit import LATE, cli_world, invoke

pytestmark = pytest.mark.slow


def _runs(db: Path) -> list[tuple[str, str | None]]:
    with sqlite3.connect(db) as conn:
        query = "SELECT run_id, export_sha256 FROM score_runs WHERE status = 'published'"
        return list(conn.execute(query + " ORDER BY published_seq"))


def _count_export_hashes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A list that grows by one each time ``features.contract.fingerprint`` starts hashing an
    export."""
    started: list[int] = []

    def sha256() -> object:
        started.append(1)
        return hashlib.sha256()

    monkeypatch.setattr(features.contract.fingerprint, "hashlib", SimpleNamespace(sha256=sha256))
    return started


def test_the_pipeline_reuses_a_run_score_published_for_the_same_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "crm"
    generate_crm(data, leads=100, customers=1500, seed=5, as_of=LATE, months=18, truth=False)
    env, common = cli_world(tmp_path)
    as_of = ["--as-of", LATE.isoformat()]
    code, output = invoke(
        ["train", "churn", "--data", str(data), *as_of, "--promote", *common], env
    )
    assert code == 0, output
    hashes = _count_export_hashes(monkeypatch)
    code, output = invoke(["score", "--data", str(data), *as_of], env)
    assert code == 0, output
    assert len(hashes) == 1
    ((run_id, sha256),) = _runs(tmp_path / "scores.db")
    assert sha256 == export_fingerprint(data)

    hashes.clear()
    code, output = invoke(["pipeline", "--data", str(data), *as_of, *common], env)
    assert code == 0, output
    assert len(hashes) == 1
    assert (
        f"score: reused: published run {run_id} (churn) already scored this export as of this "
        "as-of with the current champions"
    ) in " ".join(output.split()), output
    assert _runs(tmp_path / "scores.db") == [(run_id, sha256)]  # nothing republished

    # Another export content as of the same time is scored and published anew.
    (data / "extra.txt").write_text("changed\n")
    hashes.clear()
    code, output = invoke(["pipeline", "--data", str(data), *as_of, *common], env)
    assert code == 0, output
    assert "score: done: published run" in output, output
    assert len(hashes) == 1  # the pipeline's own; its `score` reused it
    runs = _runs(tmp_path / "scores.db")
    assert len(runs) == 2 and runs[-1][1] == export_fingerprint(data) != sha256
