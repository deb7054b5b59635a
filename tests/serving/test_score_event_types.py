"""Batch ``score`` on an export whose event types the champion does not know: one warning line
per unknown type with its event count, and a task none of whose events is of a known type is
refused (skipped by default, an error when asked for), never published as "no activity"."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from features.cli.root import build_app
from serving.store.database import ScoreStore
from tests.serving.factories import make_frames
from tests.serving.test_cli import _register_champions

DUTCH = {
    "email_open": "mail_geopend",
    "email_reply": "mail_beantwoord",
    "call": "belletje",
    "meeting": "afspraak",
    "demo": "demonstratie",
    "quote": "offerte",
}


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, trained: dict) -> Path:
    monkeypatch.setenv("SALESRADAR_SCORES_URL", f"sqlite:///{tmp_path / 'scores.db'}")
    monkeypatch.setenv("SALESRADAR_SERVED_DIR", str(tmp_path / "served"))
    monkeypatch.setenv("SALESRADAR_MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("SALESRADAR_REGISTRY_TIMEOUT_SECONDS", "60")
    _register_champions(f"sqlite:///{tmp_path / 'mlflow.db'}", trained, tmp_path)
    frames = make_frames(seed=11)
    frames["lead_events"]["type"] = frames["lead_events"]["type"].map(DUTCH)
    # One churn type renamed: churn stays scorable, with a warning naming it.
    churn_types = frames["customer_events"]["type"]
    frames["customer_events"]["type"] = churn_types.where(churn_types != "support_ticket", "klacht")
    data = tmp_path / "export"
    data.mkdir()
    for name, frame in frames.items():
        frame.to_parquet(data / f"{name}.parquet", index=False)
    return tmp_path


def test_unknown_event_types_are_counted_and_a_task_with_none_known_is_refused(
    setup: Path,
) -> None:
    frames = make_frames(seed=11)
    before = frames["lead_events"]["occurred_at"] < "2025-12-15"
    per_type = frames["lead_events"][before]["type"].map(DUTCH).value_counts()
    tickets = (frames["customer_events"]["type"] == "support_ticket").sum()
    runner = CliRunner()
    store = ScoreStore.from_url(f"sqlite:///{setup / 'scores.db'}")

    asked = runner.invoke(
        build_app(), ["score", "--data", str(setup / "export"), "--task", "leads"]
    )
    assert asked.exit_code == 2
    error = asked.output.splitlines()[-1]
    assert error.startswith(
        f"error: cannot score leads: none of the {per_type.sum()} event(s) in lead_events is of "
        "an event type the model knows ("
    )
    assert store.published_run_id() is None

    result = runner.invoke(
        build_app(), ["score", "--data", str(setup / "export"), "--as-of", "2025-12-15"]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for name, events in per_type.items():
        assert (
            f"warning: leads: event type {name!r} ({events} event(s)) is not in the model's "
            "vocabulary; counted as 'other'"
        ) in lines
    assert (
        f"warning: churn: event type 'klacht' ({tickets} event(s)) is not in the model's "
        "vocabulary; counted as 'other'"
    ) in lines
    assert any(line.startswith("scoring churn; skipped leads (none of the") for line in lines)
    assert store.list_scores("lead").total == 0 and store.list_scores("customer").total > 100
    store.engine.dispose()
