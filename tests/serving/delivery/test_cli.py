"""``score`` then ``notify`` as a user runs them (child processes): a failed delivery leaves
the run published and exits 0 with a warning; ``notify --run-id`` delivers it later, once."""

from __future__ import annotations

from pathlib import Path

from serving.store.database import ScoreStore
from tests.serving.delivery.receivers import http_receiver
from tests.serving.factories import make_frames
from tests.serving.test_cli import _register_champions
from tests.serving.test_score_command import _salesradar


def test_score_publishes_despite_a_dead_webhook_and_notify_retries_it(
    tmp_path: Path, trained: dict
) -> None:
    scores_url = f"sqlite:///{tmp_path / 'scores.db'}"
    tracking_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    _register_champions(tracking_uri, trained, tmp_path)
    data = tmp_path / "export"
    data.mkdir()
    for name, frame in make_frames(seed=11).items():
        frame.to_parquet(data / f"{name}.parquet", index=False)
    with http_receiver(fail_first=10**6) as (url, received):
        env = {
            "SALESRADAR_SCORES_URL": scores_url,
            "SALESRADAR_SERVED_DIR": str(tmp_path / "served"),
            "SALESRADAR_MLFLOW_TRACKING_URI": tracking_uri,
            "SALESRADAR_REGISTRY_TIMEOUT_SECONDS": "60",
            "SALESRADAR_DELIVERY__WEBHOOK_URL": url,
            "SALESRADAR_DELIVERY__WEBHOOK_SECRET": "s3cret",
            "SALESRADAR_DELIVERY__ATTEMPTS": "2",
            "SALESRADAR_DELIVERY__BACKOFF_SECONDS": "0",
        }
        scored = _salesradar(env, "score", "--data", str(data), "--as-of", "2025-12-15")
        assert scored.returncode == 0, scored.stderr
        run_id = ScoreStore.from_url(scores_url).published_run_id()
        assert run_id is not None
        output = " ".join(scored.stdout.split())
        assert "warning: digest to" in output and "failed: HTTP 503: busy" in output
        assert f"retry with: salesradar notify --run-id {run_id}" in output
        failed_tries = len(received.requests)
        assert failed_tries > 0 and failed_tries % 2 == 0  # two tries per message

        dry = _salesradar(env, "notify", "--run-id", run_id, "--dry-run")
        assert dry.returncode == 0 and "would send digest to" in dry.stdout
        assert len(received.requests) == failed_tries

        still_down = _salesradar(env, "notify", "--run-id", run_id)
        assert still_down.returncode == 1 and "failed" in still_down.stdout

        received.fail_first = 0
        retried = _salesradar(env, "notify", "--run-id", run_id)
        assert retried.returncode == 0, retried.stdout
        sent = len(received.requests) - 2 * failed_tries
        assert sent == failed_tries // 2  # each message once
        again = _salesradar(env, "notify")
        assert again.returncode == 0 and f"already sent {sent}, failed 0" in again.stdout
        assert len(received.requests) == 2 * failed_tries + sent
