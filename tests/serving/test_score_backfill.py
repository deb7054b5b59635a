"""``salesradar score --as-of EARLIER`` after a later run: stored for ``monitor``, not published
(one line says so), unless ``--publish-backfill``."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from features.cli.root import build_app
from serving.store.database import ScoreStore
from tests.serving.factories import make_frames
from tests.serving.test_cli import _register_champions


def test_a_backfill_score_is_stored_and_published_only_when_asked(
    tmp_path: Path, trained: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    scores_url = f"sqlite:///{tmp_path / 'scores.db'}"
    tracking_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("SALESRADAR_SCORES_URL", scores_url)
    monkeypatch.setenv("SALESRADAR_SERVED_DIR", str(tmp_path / "served"))
    monkeypatch.setenv("SALESRADAR_MLFLOW_TRACKING_URI", tracking_uri)
    monkeypatch.setenv("SALESRADAR_REGISTRY_TIMEOUT_SECONDS", "60")
    monkeypatch.setenv("COLUMNS", "200")
    _register_champions(tracking_uri, trained, tmp_path)
    data = tmp_path / "export"
    data.mkdir()
    for name, frame in make_frames(seed=11).items():
        frame.to_parquet(data / f"{name}.parquet", index=False)
    runner = CliRunner()

    def score(*args: str) -> str:
        result = runner.invoke(build_app(), ["score", "--data", str(data), *args])
        assert result.exit_code == 0, result.output
        return result.output

    score("--as-of", "2025-12-15")
    store = ScoreStore.from_url(scores_url)
    live = store.published_run_id()
    assert live is not None

    output = score("--as-of", "2025-11-01")
    assert store.published_run_id() == live
    stored = [line for line in output.splitlines() if line.startswith("stored run ")]
    assert len(stored) == 1
    backfill = stored[0].split()[2]
    assert stored[0] == (
        f"stored run {backfill} as-of 2025-11-01T00:00:00Z; not published: the published run "
        f"{live} has a later as-of 2025-12-15T00:00:00Z (--publish-backfill publishes it)"
    )
    assert "(stored, not published)" in output
    assert store.latest("customer", "C0001").as_of.isoformat() == "2025-12-15T00:00:00"  # type: ignore[union-attr]

    output = score("--as-of", "2025-11-01", "--publish-backfill")
    assert "stored run" not in output and "(published)" in output
    assert store.published_run_id() not in (live, backfill)
    assert store.latest("customer", "C0001").as_of.isoformat() == "2025-11-01T00:00:00"  # type: ignore[union-attr]
    store.engine.dispose()
