"""The registered MLflow model is the whole scorer: raw entities in, the API's numbers out.

One leads model is trained through ``salesradar train`` on a tiny generated export and aliased
champion; its input example is scored by the API (``POST /v1/leads/score`` through the
TestClient) and by the registered model loaded in three ways: in this process, in a fresh
virtualenv built from the model's own files, and behind ``mlflow models serve``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import pytest
import yaml
from fastapi.testclient import TestClient
from mlflow.models import Model
from typer.testing import CliRunner

from features.cli.root import build_app
from features.model.artifact_contract import CHAMPION
from features.synthetic import DEFAULT_AS_OF, generate_crm
from serving.api.app import create_app
from serving.settings import Settings
from serving.store.keys import Role
from serving.wiring import build_services
from tests.servers import mlflow_models_serve
from training.pyfunc import SKLEARN_MODEL_NAME
from training.tracking import connect, resolve_tracking

pytestmark = pytest.mark.slow

NAME = "salesradar-leads"
URI = f"models:/{NAME}@{CHAMPION}"
SCORED = ("probability", "score", "tier", "expected_value", "reasons", "warnings")
# Building the fresh virtualenv installs mlflow, lightgbm, pyarrow... from pip's cache (or the
# package index, like any user); loading the model then imports them cold.
VENV_SECONDS = 1500
KEY_CREATED_AT = datetime(2026, 11, 1)
SERVER_SECONDS = 300


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A models folder whose champion leads model was trained and registered by the CLI."""
    root = tmp_path_factory.mktemp("pyfunc")
    generate_crm(root / "export", leads=400, customers=40, seed=3, as_of=DEFAULT_AS_OF, months=12)
    shipped = Path(__file__).parents[2] / "training"
    config = root / "config.toml"
    config.write_text(
        (shipped / "config.toml").read_text().replace("n_estimators = 250", "n_estimators = 20")
    )
    config.with_name("wording.toml").write_text((shipped / "wording.toml").read_text())
    models = root / "models"
    result = CliRunner().invoke(
        build_app(),
        ["train", "leads", "--data", str(root / "export"), "--as-of",
         DEFAULT_AS_OF.isoformat(), "--models-dir", str(models), "--config", str(config)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    client = connect(resolve_tracking(models_dir=models, environ={}))
    # What `salesradar promote` does when the challenger wins (this tiny model need not).
    client.set_registered_model_alias(NAME, CHAMPION, "1")
    yield models
    mlflow.set_tracking_uri(None)


@pytest.fixture(scope="module")
def tracking_uri(store: Path) -> str:
    return f"sqlite:///{store / 'mlflow.db'}"


@pytest.fixture(scope="module")
def champion_dir(store: Path, tracking_uri: str) -> Path:
    """The champion's model folder, downloaded through the registry alias."""
    mlflow.set_tracking_uri(tracking_uri)
    return Path(mlflow.artifacts.download_artifacts(URI, dst_path=str(store.parent / "dl")))


@pytest.fixture(scope="module")
def example(champion_dir: Path) -> pd.DataFrame:
    frame = Model.load(str(champion_dir)).load_input_example(str(champion_dir))
    assert isinstance(frame, pd.DataFrame)
    return frame


def _api_entity(row: dict[str, Any]) -> dict[str, Any]:
    """A pyfunc input row as the API's request entity (same fields, JSON columns parsed)."""
    events = row["events"] if isinstance(row["events"], list) else json.loads(row["events_json"])
    entity = {
        "lead_id": row["lead_id"],
        "created_at": row["created_at"],
        "owner_id": row["owner_id"],
        "deal_value": row["deal_value"],
        "attributes": json.loads(row["attributes"]),
        "events": events,
    }
    return {k: v for k, v in entity.items() if v is not None}


def _api_results(store: Path, tracking_uri: str, rows: pd.DataFrame) -> dict[str, Any]:
    """``POST /v1/leads/score`` for ``rows`` (one ``as_of``): each result by lead id."""
    settings = Settings(
        scores_url=f"sqlite:///{store.parent / 'scores.db'}",
        served_dir=store.parent / "served",
        mlflow_tracking_uri=tracking_uri,
        poll_seconds=0,
        gc_freeze=False,
    )
    services = build_services(settings)
    loaded = {r.task.value: r for r in services.models.reload()}
    assert loaded["leads"].outcome == "loaded", loaded["leads"].error
    _, token = services.keys.create(
        role=Role.CRM, owner_id=None, label="t", created_at=KEY_CREATED_AT
    )
    records = _records(rows)
    (as_of,) = {r["as_of"] for r in records}
    body = {"as_of": as_of, "leads": [_api_entity(r) for r in records]}
    with TestClient(create_app(services, load_models=False)) as client:
        response = client.post(
            "/v1/leads/score", json=body, headers={"Authorization": f"Bearer {token}"}
        )
    assert response.status_code == 200, response.text
    return {r["lead_id"]: r for r in response.json()["results"]}


@pytest.fixture(scope="module")
def api(store: Path, tracking_uri: str, example: pd.DataFrame) -> dict[str, Any]:
    return _api_results(store, tracking_uri, example)


def _assert_same_as_api(scored: list[dict[str, Any]], api: dict[str, Any]) -> None:
    """Every row scored, with the API's probability, score, tier, value, reasons and warnings."""
    assert [row["lead_id"] for row in scored] == list(api)
    for row in scored:
        expected = api[row["lead_id"]]
        assert row["error"] is None
        got = {k: json.loads(row[k]) if k in ("reasons", "warnings") else row[k] for k in SCORED}
        assert got == {k: expected[k] for k in SCORED}
        assert got["reasons"]  # a scored lead always has reasons


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")


def test_the_champion_scores_raw_entities_like_the_api(
    tracking_uri: str, example: pd.DataFrame, api: dict[str, Any]
) -> None:
    mlflow.set_tracking_uri(tracking_uri)
    scorer = mlflow.pyfunc.load_model(URI)
    _assert_same_as_api(_records(scorer.predict(example)), api)


def test_a_bad_row_gets_its_error_and_the_others_are_scored(
    tracking_uri: str, example: pd.DataFrame, api: dict[str, Any]
) -> None:
    mlflow.set_tracking_uri(tracking_uri)
    scorer = mlflow.pyfunc.load_model(URI)
    good = example.iloc[[0]]
    # Copies of the example's two entities (0: events as a list, 1: none, as JSON text).
    bad = pd.concat([example] * 3, ignore_index=True).iloc[[0, 0, 1, 1, 0]]
    bad["lead_id"] = ["L-a", "L-b", "L-c", "L-d", "L-e"]
    as_of = bad["as_of"].iloc[0]
    bad["as_of"] = [as_of, "yesterday", as_of, as_of, as_of]
    bad["created_at"] = [bad["created_at"].iloc[0]] * 3 + ["2999-01-01T00:00:00Z"] * 2
    bad["events_json"] = [None, None, "[{", None, "[]"]
    rows = pd.concat([good, bad], ignore_index=True)
    not_a_list = example.iloc[[1]].assign(lead_id="L-f", events="a demo", events_json=None)
    rows = pd.concat([rows, not_a_list], ignore_index=True)
    out = _records(scorer.predict(rows))
    _assert_same_as_api(out[:1], {k: v for k, v in api.items() if k == "example-1"})
    errors = [json.loads(row["error"]) if row["error"] else None for row in out[1:]]
    assert errors[0] is None and out[1]["score"] == out[0]["score"]  # same entity, other id
    assert errors[1] == [
        {"field": "rows[2].as_of", "message": "unparsable timestamp; use ISO 8601",
         "type": "value_error"}
    ]  # fmt: skip
    assert errors[2] == [
        {"field": "rows[3].events_json",
         "message": "must be a JSON list (JSON text that does not parse)", "type": "json"}
    ]  # fmt: skip
    # The API's own checks, numbered by the row of the whole input (rows[4] was the 3rd of
    # its as_of's group).
    assert errors[3] == [
        {"field": "rows[4].created_at", "message": "is in the future", "type": "future_timestamp"}
    ]
    assert errors[4] == [
        {"field": "rows[5].events_json", "message": "send events or events_json, not both",
         "type": "both_events"}
    ]  # fmt: skip
    assert errors[5] == [
        {"field": "rows[6].events", "message": "Input should be a valid list", "type": "list_type"}
    ]
    assert [row["lead_id"] for row in out] == [
        "example-1",
        "L-a",
        "L-b",
        "L-c",
        "L-d",
        "L-e",
        "L-f",
    ]
    assert all(row["probability"] is None for row in out[2:])


def test_an_extra_column_is_refused_where_our_code_sees_it(
    tracking_uri: str, example: pd.DataFrame
) -> None:
    """MLflow's schema check drops a column the signature lacks, with only a warning, before
    ``EntityScorer.predict`` runs (docs/training.md, "Extra input columns"); called without
    that check, the scorer refuses the rows that hold a value in it."""
    mlflow.set_tracking_uri(tracking_uri)
    scorer = mlflow.pyfunc.load_model(URI)
    rows = example.assign(industry=["retail", None])
    warned = _Lines()
    checker = logging.getLogger("mlflow.models.utils")
    checker.addHandler(warned)
    try:
        dropped = _records(scorer.predict(rows))
    finally:
        checker.removeHandler(warned)
    assert [row["error"] for row in dropped] == [None, None]
    assert warned.lines == [
        "Found extra inputs in the model input that are not defined in the model signature: "
        "`['industry']`. These inputs will be ignored."
    ]
    ours = _records(scorer.unwrap_python_model().predict(None, rows))
    assert json.loads(ours[0]["error"]) == [
        {"field": "rows[0].industry", "type": "extra_forbidden",
         "message": "Extra inputs are not permitted"}
    ]  # fmt: skip
    assert ours[0]["probability"] is None
    assert ours[1]["error"] is None and ours[1]["score"] == dropped[1]["score"]


class _Lines(logging.Handler):
    """Keeps each record's message."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_the_logged_model_is_code_with_pinned_requirements(champion_dir: Path) -> None:
    """Models from code (no pickle of ours), the packages in code/, exact pins from ours."""
    flavor = Model.load(str(champion_dir)).flavors["python_function"]
    assert flavor["loader_module"] == "mlflow.pyfunc.loaders.code_model"
    assert {p.name for p in (champion_dir / "code").iterdir()} == {"features", "serving"}
    assert not list(champion_dir.rglob("*.pkl"))
    ours = dict(_pin(line) for line in _lines(Path(__file__).parents[2] / "requirements.txt"))
    pins = [_pin(line) for line in _lines(champion_dir / "requirements.txt")]
    assert pins and all(ours[name] == pinned for name, pinned in pins)


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if "==" in line]


def _pin(line: str) -> tuple[str, str]:
    """``SQLAlchemy==2.1.9`` -> ``("sqlalchemy", "2.1.9")`` (names compared as pip does)."""
    name, _, pinned = line.partition("==")
    return re.sub(r"[-_.]+", "-", name).lower(), pinned.strip()


def test_the_bare_estimator_stays_logged_beside_it_and_the_card_says_which_is_which(
    store: Path, tracking_uri: str
) -> None:
    client = connect(resolve_tracking(models_dir=store, environ={}))
    version = client.get_model_version_by_alias(NAME, CHAMPION)
    bare = f"runs:/{version.run_id}/{SKLEARN_MODEL_NAME}"
    assert "sklearn" in Model.load(bare).flavors
    card = mlflow.artifacts.load_text(f"runs:/{version.run_id}/model_card.md")
    assert f"`models:/{NAME}/{version.version}` (and its aliases): the whole scorer" in card
    assert f"`{bare}`: the bare estimator" in card


def test_a_fresh_virtualenv_loads_the_champion_from_its_own_files(
    champion_dir: Path,
    tracking_uri: str,
    api: dict[str, Any],
    tmp_path: Path,
) -> None:
    """The venv gets only the model's python_env.yaml and requirements.txt (pip's cache or the
    package index, like any user); the salesradar code comes from the model's code/ folder."""
    env = yaml.safe_load((champion_dir / "python_env.yaml").read_text())
    assert env["python"].startswith(f"{sys.version_info.major}.{sys.version_info.minor}.")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    started = time.monotonic()
    subprocess.run([*pip, *env["build_dependencies"]], check=True, timeout=VENV_SECONDS)
    requirements = [d for d in env["dependencies"] if d.startswith("-r ")]
    assert requirements == ["-r requirements.txt"]
    subprocess.run(
        [*pip, "-r", str(champion_dir / "requirements.txt")],
        check=True,
        timeout=VENV_SECONDS - (time.monotonic() - started),
    )
    script = (
        "import json, mlflow\n"
        "from mlflow.models import Model\n"
        f"scorer = mlflow.pyfunc.load_model({URI!r})\n"
        f"local = mlflow.artifacts.download_artifacts({URI!r})\n"
        "out = scorer.predict(Model.load(local).load_input_example(local))\n"
        "import features\n"
        # json.dumps writes floats exactly (DataFrame.to_json rounds to 10 digits).
        "print(json.dumps({'features': features.__file__, 'out': out.to_dict('records')}))\n"
    )
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(
        [python, "-c", script],
        cwd=tmp_path,  # nothing of this checkout on sys.path
        env={**clean, "MLFLOW_TRACKING_URI": tracking_uri},
        capture_output=True,
        text=True,
        timeout=SERVER_SECONDS,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert "/code/features/" in result["features"]  # the model's copy, not this checkout
    _assert_same_as_api(result["out"], api)


def test_mlflow_models_serve_answers_raw_entities(
    champion_dir: Path, tracking_uri: str, api: dict[str, Any], tmp_path: Path
) -> None:
    log = tmp_path / "serve.log"
    # /health: MLflow's scoring server has it too.
    with mlflow_models_serve(URI, tracking_uri=tracking_uri, log=log, cwd=tmp_path) as url:
        request = urllib.request.Request(
            f"{url}/invocations",
            data=(champion_dir / "serving_input_example.json").read_bytes(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=SERVER_SECONDS) as response:
            predictions = json.loads(response.read())["predictions"]
    _assert_same_as_api(predictions, api)
