"""The registered MLflow scorer (``serving.champions.pyfunc``) refuses exactly what the API refuses,
and a refused row's numbers are null, never ``NaN``, on the way out.

The suite's tiny leads model is logged as the pyfunc scorer by ``training.pyfunc.log_scorer``
in a throwaway sqlite store and loaded back through MLflow (``mlflow.pyfunc.load_model``: the
schema check every route runs). Each case sends one good entity and one bad one to
``POST /v1/leads/score`` and to the scorer's ``predict``; the bad one must get the same
per-row error (field within the entity, message, type) or, for cases the API scores, the same
score, tier, reasons and warnings.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from benchmarks.bench_serving import AS_OF
from features.contract.tasks import Task
from features.model.scorer_columns import input_columns
from features.model.scoring_model import ScoringModel
from tests.servers import mlflow_models_serve
from tests.serving.appkit import auth
from training.pyfunc import log_scorer

NAME = "salesradar-leads"
SCORED = ("probability", "score", "tier", "expected_value", "reasons", "warnings")
WHEN = AS_OF.isoformat() + "Z"  # 2026-01-01, before the API's test clock and today
GOOD: dict[str, Any] = {
    "lead_id": "L-good",
    "created_at": "2025-10-01T09:00:00Z",
    "owner_id": "rep-0",
    "deal_value": 12000.0,
    "attributes": {"industry": "retail"},
    "events": [
        {"occurred_at": "2025-12-01T10:00:00Z", "type": "demo", "channel": "video"},
        {"occurred_at": "2025-12-10T10:00:00Z", "type": "quote", "value": 9000.0},
    ],
}


def _bad(**changes: Any) -> Callable[[dict[str, Any]], None]:
    """A change to the bad entity: fields set to new values."""
    return lambda entity: entity.update(changes)


def _event(**changes: Any) -> Callable[[dict[str, Any]], None]:
    """A change to the bad entity's first event."""
    return lambda entity: entity["events"][0].update(changes)


# (case, change to the bad entity, its as_of). Each differed on main unless noted "same".
CASES: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    # MLflow's `double` column: cast by `models serve`, the whole batch failed in `predict`.
    ("string number", _bad(deal_value="12000"), WHEN),
    ("bool for number", _bad(deal_value=True), WHEN),
    ("negative number (same)", _bad(deal_value=-5.0), WHEN),
    ("number for text (same)", _bad(owner_id=7), WHEN),
    ("unknown field in an event (same)", _event(colour="red"), WHEN),
    ("attribute named like a column (same)", _bad(attributes={"owner_id": "x"}), WHEN),
    ("epoch number for a time (same)", _event(occurred_at=1767225600), WHEN),
    # The API's own error type for as_of (the model had its own, "invalid_as_of").
    ("bad as_of", _bad(), "yesterday"),
    # Refused by the API for its request; scored by the model.
    ("as_of in the future", _bad(), "2999-01-01T00:00:00Z"),
    # Scored, with the same numbers and warnings (same).
    ("naive times", _bad(created_at="2025-10-01T09:00:00"), "2026-01-01T00:00:00"),
    ("times with an offset", _bad(created_at="2025-10-01T11:00:00+02:00"), WHEN),
    ("event of an unknown kind", _event(type="carrier_pigeon"), WHEN),
]


@pytest.fixture(scope="module")
def scorer_uri(trained, tmp_path_factory) -> Iterator[tuple[str, str]]:
    """The tiny leads model registered as the pyfunc scorer: (``models:/...`` URI, store)."""
    store = tmp_path_factory.mktemp("mlflow-scorer")
    tracking_uri = f"sqlite:///{store / 'mlflow.db'}"
    mlflow.set_tracking_uri(tracking_uri)
    # Artifacts beside the store (a sqlite store's default is ./mlruns in the working folder).
    mlflow.create_experiment("scorer", artifact_location=(store / "artifacts").as_uri())
    mlflow.set_experiment("scorer")
    folder, sha256 = trained[Task.LEADS]
    model = ScoringModel.load(Path(folder), expected_sha256=sha256)
    with mlflow.start_run() as run:
        info = log_scorer(
            model, Path(folder), sha256=sha256, name=NAME, run_id=run.info.run_id, as_of=AS_OF
        )
    yield f"models:/{NAME}/{info.registered_model_version}", tracking_uri
    mlflow.set_tracking_uri(None)


@pytest.fixture(scope="module")
def scorer(scorer_uri: tuple[str, str]) -> mlflow.pyfunc.PyFuncModel:
    return mlflow.pyfunc.load_model(scorer_uri[0])


def _row(entity: dict[str, Any], as_of: str) -> dict[str, Any]:
    """An API request entity as the scorer's input row (attributes as JSON text)."""
    row = {**entity, "attributes": json.dumps(entity["attributes"]), "as_of": as_of}
    return {name: row.get(name) for name in input_columns(Task.LEADS)}


def _api(client: TestClient, token: str, entities: list[dict[str, Any]], as_of: str) -> Any:
    """Per entity: its result, or the request's errors when the API refuses the whole request
    (as it does for a bad ``as_of``, which is the request's, not an entity's)."""
    body = {"as_of": as_of, "leads": entities}
    response = client.post("/v1/leads/score", json=body, headers=auth(token))
    if response.status_code == 422:
        return [{"errors": response.json()["detail"]}] * len(entities)
    assert response.status_code == 200, response.text
    return response.json()["results"]


def _within(errors: list[dict[str, str]]) -> list[dict[str, str]]:
    """Errors with the entity's prefix (``leads[1].``, ``rows[1].``) dropped."""
    return [{**e, "field": re.sub(r"^(leads|rows)\[\d+\]\.", "", e["field"])} for e in errors]


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")


@pytest.mark.parametrize(("case", "change", "as_of"), CASES, ids=[c[0] for c in CASES])
def test_the_scorer_refuses_what_the_api_refuses(client, keys, scorer, case, change, as_of) -> None:
    bad = json.loads(json.dumps({**GOOD, "lead_id": "L-bad"}))
    change(bad)
    api = _api(client, keys["crm"], [GOOD, bad], as_of)
    # The good row is scored as of the case's as_of unless that as_of is bad.
    rows = pd.DataFrame([_row(GOOD, WHEN), _row(bad, as_of)])
    out = _records(scorer.predict(rows))
    assert out[0]["error"] is None
    if "errors" in api[1]:
        assert out[1]["error"] is not None, case
        assert _within(json.loads(out[1]["error"])) == _within(api[1]["errors"])
        assert {k: out[1][k] for k in SCORED} == dict.fromkeys(SCORED)
    else:
        assert out[1]["error"] is None, out[1]["error"]
        got = {
            k: json.loads(out[1][k]) if k in ("reasons", "warnings") else out[1][k] for k in SCORED
        }
        assert got == {k: api[1][k] for k in SCORED}


def test_an_unknown_column_gets_the_apis_error_where_the_scorer_sees_it(
    client, keys, scorer
) -> None:
    """MLflow drops a column the signature lacks before our ``predict`` (docs/training.md,
    "Extra input columns"); where the scorer sees it, it refuses it as the API does."""
    api = _api(client, keys["crm"], [GOOD, {**GOOD, "lead_id": "L-bad", "industry": "x"}], WHEN)
    rows = pd.DataFrame([_row(GOOD, WHEN), _row(GOOD, WHEN) | {"lead_id": "L-bad"}])
    rows["industry"] = [None, "x"]
    out = _records(scorer.unwrap_python_model().predict(None, rows))
    assert out[0]["error"] is None
    assert _within(json.loads(out[1]["error"])) == _within(api[1]["errors"])


def test_datetime_columns_naive_or_aware_are_read_as_the_iso_text(scorer) -> None:
    """A frame's datetime columns (naive = UTC, or with a zone) score as the same instants sent
    as ISO 8601 text (MLflow's `string` type failed the whole batch on a datetime column)."""
    text = pd.DataFrame([_row(GOOD, WHEN), _row({**GOOD, "lead_id": "L-2"}, WHEN)])
    expected = _records(scorer.predict(text))
    naive = text.assign(as_of=pd.to_datetime(text["as_of"]).dt.tz_localize(None))
    aware = text.assign(
        created_at=pd.to_datetime(text["created_at"]).dt.tz_convert("Europe/Paris"),
        as_of=pd.to_datetime(text["as_of"]),
    )
    for frame in (naive, aware):
        got = _records(scorer.predict(frame))
        assert [row["error"] for row in got] == [None, None]
        assert got == expected


def _refuse_constant(token: str) -> None:
    raise ValueError(f"{token} is not JSON")


def test_a_refused_rows_numbers_are_missing_not_nan_in_the_frame(scorer) -> None:
    rows = pd.DataFrame([_row(GOOD, WHEN), _row({**GOOD, "lead_id": "L-bad"}, "yesterday")])
    out = scorer.predict(rows)
    assert out["probability"].isna().tolist() == [False, True]
    for column in ("probability", "score", "expected_value", "tier", "reasons"):
        assert out[column].iloc[1] is pd.NA or out[column].iloc[1] is None, column
    records = out.to_dict(orient="records")
    # What MLflow's scoring server does with the frame (to_dict, then json.dump).
    text = json.dumps(records, default=str)
    parsed = json.loads(text, parse_constant=_refuse_constant)
    assert parsed[1]["probability"] is None and parsed[1]["score"] is None
    assert json.loads(out.to_json(orient="records"))[1]["expected_value"] is None


@pytest.mark.slow
def test_mlflow_models_serve_answers_null_for_a_refused_rows_numbers(
    client, keys, scorer_uri, tmp_path
) -> None:
    uri, tracking_uri = scorer_uri
    api = _api(client, keys["crm"], [GOOD], WHEN)

    rows = [_row(GOOD, WHEN), _row({**GOOD, "lead_id": "L-bad"}, "yesterday")]
    log = tmp_path / "serve.log"
    with mlflow_models_serve(uri, tracking_uri=tracking_uri, log=log, cwd=tmp_path) as url:
        request = urllib.request.Request(
            f"{url}/invocations",
            data=json.dumps({"dataframe_records": rows}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=300) as response:
            body = response.read().decode()
    predictions = json.loads(body, parse_constant=_refuse_constant)["predictions"]
    good, refused = predictions
    assert good["error"] is None
    assert {k: good[k] for k in ("probability", "score", "tier")} == {
        k: api[0][k] for k in ("probability", "score", "tier")
    }
    assert refused["lead_id"] == "L-bad" and json.loads(refused["error"])
    assert {k: refused[k] for k in SCORED} == dict.fromkeys(SCORED)
