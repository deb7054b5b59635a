"""``salesradar score`` as a user runs it (the console entry point in a child process): a run
started while another holds the scoring lock, and a ``--keep-runs`` below the minimum, are each
one line on stderr and a non-zero exit."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from serving.store.database import ScoreStore
from serving.store.run_lock import LockHolder, scoring_lock_held
from tests.serving.factories import make_frames
from tests.serving.test_cli import _register_champions

REPO = Path(__file__).resolve().parents[2]
ENTRY = "from features.cli.root import main; main()"


def _salesradar(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", ENTRY, *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "80", **env},
        timeout=300,
    )


def test_a_second_score_run_says_one_line_and_exits_non_zero(tmp_path: Path, trained: dict) -> None:
    scores_url = f"sqlite:///{tmp_path / 'scores.db'}"
    tracking_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    env = {
        "SALESRADAR_SCORES_URL": scores_url,
        "SALESRADAR_SERVED_DIR": str(tmp_path / "served"),
        "SALESRADAR_MLFLOW_TRACKING_URI": tracking_uri,
        "SALESRADAR_REGISTRY_TIMEOUT_SECONDS": "60",
    }
    _register_champions(tracking_uri, trained, tmp_path)
    data = tmp_path / "export"
    data.mkdir()
    for name, frame in make_frames(seed=11).items():
        frame.to_parquet(data / f"{name}.parquet", index=False)
    store = ScoreStore.from_url(scores_url)
    store.create_schema()
    running = LockHolder(pid=777, host="nightly", started_at=datetime(2026, 11, 29, 23, 0, 0, 5))
    with scoring_lock_held(store.engine, running):
        refused = _salesradar(env, "score", "--data", str(data), "--as-of", "2025-12-15")
    assert refused.returncode != 0
    assert refused.stderr.splitlines() == [
        "error: another scoring run is in progress (started 2026-11-29T23:00:00Z by pid 777 on "
        "nightly)"
    ]
    assert store.published_run_id() is None

    too_few = _salesradar(env, "score", "--data", str(data), "--keep-runs", "1")
    assert too_few.returncode != 0 and len(too_few.stderr.splitlines()) == 1
    assert "--keep-runs must be at least 2" in too_few.stderr
    store.engine.dispose()
