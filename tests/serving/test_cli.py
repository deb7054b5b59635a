"""``salesradar keys`` and ``salesradar score`` against a real (embedded) MLflow registry."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from features.cli.root import build_app
from features.contract.tasks import TASK_TABLES, Task
from features.model.artifact_contract import file_sha256
from features.model.scoring_model import ESTIMATOR_FILE, MANIFEST_FILE
from serving.champions.source import MlflowChampionSource
from serving.store.database import ScoreStore
from serving.store.keys import KeyStore, Role
from tests.features.oldlayout import save_as_before_the_layout
from tests.serving.factories import make_frames
from tests.serving.web.bookkit import publish_book


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SALESRADAR_SCORES_URL", f"sqlite:///{tmp_path / 'scores.db'}")
    monkeypatch.setenv("SALESRADAR_SERVED_DIR", str(tmp_path / "served"))
    monkeypatch.setenv("SALESRADAR_MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("SALESRADAR_REGISTRY_TIMEOUT_SECONDS", "60")
    return tmp_path


def test_keys_create_list_revoke(env: Path) -> None:
    runner = CliRunner()
    app = build_app()
    created = runner.invoke(
        app, ["keys", "create", "--role", "rep", "--owner", "rep-4", "--allow-unknown-owner"]
    )
    assert created.exit_code == 0, created.output
    token = next(line for line in created.output.splitlines() if line.startswith("sr_"))
    keys = KeyStore(ScoreStore.from_url(f"sqlite:///{env / 'scores.db'}").engine)
    principal = keys.authenticate(token)
    assert principal is not None and principal.role is Role.REP and principal.owner_id == "rep-4"
    listed = runner.invoke(app, ["keys", "list"])
    assert principal.key_id in listed.output and token not in listed.output
    assert runner.invoke(app, ["keys", "revoke", principal.key_id]).exit_code == 0
    assert keys.authenticate(token) is None
    # The root group turns the UserError into one line and exit 2, under CliRunner too.
    refused = runner.invoke(app, ["keys", "create", "--role", "rep"])
    assert refused.exit_code == 2
    assert refused.output == "error: a rep key needs --owner (the rep's owner_id)\n"
    assert runner.invoke(app, ["keys", "create", "--role", "boss"]).exit_code == 2


def test_a_rep_key_for_an_owner_without_a_book_is_refused_unless_allowed(env: Path) -> None:
    runner, app = CliRunner(), build_app()
    store = ScoreStore.from_url(f"sqlite:///{env / 'scores.db'}")
    store.create_schema()
    publish_book(store)  # rep-0 and rep-1 own leads and customers; rep-7 owns nothing
    keys = KeyStore(store.engine)

    refused = runner.invoke(app, ["keys", "create", "--role", "rep", "--owner", "rep-7"])
    assert refused.exit_code == 2
    assert refused.output == (
        "error: --owner rep-7: no lead or customer in the published scores is owned by "
        "'rep-7' (a typo?); pass --allow-unknown-owner for a rep who has no book yet\n"
    )
    assert keys.list() == []  # nothing created
    for owner, extra in (("rep-1", []), ("rep-7", ["--allow-unknown-owner"])):
        created = runner.invoke(app, ["keys", "create", "--role", "rep", "--owner", owner, *extra])
        assert created.exit_code == 0, created.output
    assert sorted(str(k.owner_id) for k in keys.list()) == ["rep-1", "rep-7"]
    # The override means nothing for another role: refused, never ignored.
    crm = runner.invoke(app, ["keys", "create", "--role", "crm", "--allow-unknown-owner"])
    assert crm.exit_code == 2
    assert crm.output == "error: --allow-unknown-owner only applies to rep keys\n"


def _register_champions(tracking_uri: str, trained: dict, root: Path) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    experiment = client.create_experiment("salesradar", artifact_location=str(root / "art"))
    for task, (folder, sha256) in trained.items():
        run = client.create_run(experiment)
        client.log_artifacts(run.info.run_id, str(folder), "scoring_model")
        for file, digest in sha256.items():
            client.set_tag(run.info.run_id, f"sha256.{file}", digest)
        client.log_metric(run.info.run_id, "test_pr_auc", 0.42)
        client.set_terminated(run.info.run_id)
        name = TASK_TABLES[task].model_name
        client.create_registered_model(name)
        version = client.create_model_version(
            name, source=f"runs:/{run.info.run_id}/scoring_model", run_id=run.info.run_id
        )
        client.set_registered_model_alias(name, "champion", version.version)


def test_score_from_the_mlflow_champion_and_publish(env: Path, trained: dict) -> None:
    tracking_uri = f"sqlite:///{env / 'mlflow.db'}"
    _register_champions(tracking_uri, trained, env)
    source = MlflowChampionSource(tracking_uri=tracking_uri, alias="champion", timeout=60)
    ref = source.resolve(Task.CHURN)
    assert (ref.version, ref.metrics) == ("1", {"test_pr_auc": 0.42})
    assert dict(ref.sha256) == trained[Task.CHURN][1]

    data = env / "export"
    data.mkdir()
    for name, frame in make_frames(seed=11).items():
        frame.to_parquet(data / f"{name}.parquet", index=False)
    runner = CliRunner()
    result = runner.invoke(build_app(), ["score", "--data", str(data), "--as-of", "2025-12-15"])
    assert result.exit_code == 0, result.output
    store = ScoreStore.from_url(f"sqlite:///{env / 'scores.db'}")
    page = store.list_scores("customer", limit=1)
    assert page.total > 100 and page.items[0].as_of.isoformat() == "2025-12-15T00:00:00"
    assert store.list_scores("lead").total > 10
    assert (env / "served" / "churn" / "v1" / "model.skops").is_file()

    future = runner.invoke(build_app(), ["score", "--data", str(data), "--as-of", "2999-01-01"])
    assert future.exit_code == 2
    assert future.output == "error: --as-of 2999-01-01T00:00:00Z is in the future\n"


def test_an_unreachable_scores_database_is_one_line_naming_the_setting(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Port 1 on the loopback refuses at once: no server, no network.
    url = "postgresql+psycopg://x:s3cret@127.0.0.1:1/nope"
    monkeypatch.setenv("SALESRADAR_SCORES_URL", url)
    result = CliRunner().invoke(build_app(), ["keys", "list"])
    assert result.exit_code == 2
    assert result.output.startswith(
        "error: SALESRADAR_SCORES_URL postgresql+psycopg://x:***@127.0.0.1:1/nope: cannot "
        "connect to the scores database (connection failed:"
    )
    assert len(result.output.splitlines()) == 1 and "s3cret" not in result.output


def test_score_refuses_a_champion_saved_before_the_layout_change_in_one_line(
    env: Path, trained: dict
) -> None:
    folder, _ = trained[Task.CHURN]
    old = env / "old-churn"
    old.mkdir()
    shutil.copy(folder / MANIFEST_FILE, old / MANIFEST_FILE)
    save_as_before_the_layout(folder / ESTIMATOR_FILE, old / ESTIMATOR_FILE)
    hashes = {name: file_sha256(old / name) for name in (ESTIMATOR_FILE, MANIFEST_FILE)}
    tracking_uri = f"sqlite:///{env / 'mlflow.db'}"
    _register_champions(tracking_uri, {**trained, Task.CHURN: (old, hashes)}, env)
    data = env / "export"
    data.mkdir()
    for name, frame in make_frames(seed=11).items():
        frame.to_parquet(data / f"{name}.parquet", index=False)
    score = ["score", "--data", str(data), "--as-of", "2025-12-15"]
    result = CliRunner().invoke(build_app(), score)
    # The loader's one line, not a list of "untrusted" types or an import error; and nothing is
    # published, since a run without churn would empty the churn lists.
    assert result.exit_code == 2, result.output
    refused = (
        f"{env / 'served' / 'churn' / 'v1' / ESTIMATOR_FILE}: this model was saved by salesradar"
        " before the package layout changed; retrain it (salesradar train ... --promote)"
    )
    assert (
        "error: cannot score churn: the churn champion could not be loaded: "
        f"salesradar-churn v1: {refused}; nothing was scored or published"
    ) in " ".join(result.output.split())
    assert "untrusted" not in result.output
    store = ScoreStore.from_url(f"sqlite:///{env / 'scores.db'}")
    assert store.published_run_id() is None
    # Asked for knowingly, the other task is scored.
    leads_only = CliRunner().invoke(build_app(), [*score, "--task", "leads"])
    assert leads_only.exit_code == 0, leads_only.output
    assert store.list_scores("customer").total == 0 and store.list_scores("lead").total > 10
