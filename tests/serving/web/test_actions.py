"""Reps record what they did; stored with who, when and what they saw; shown and exported."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from html import unescape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from features.cli.root import build_app
from serving.api.services import Services
from serving.store.actions import (
    NOTE_MAX_CHARS,
    ActionInputError,
    ActionStore,
    RepAction,
    rep_actions,
)
from serving.store.database import ScoreStore
from tests.serving.appkit import NOW
from tests.serving.web.bookkit import csrf_token, sign_in

FORM = "application/x-www-form-urlencoded"


def _count(services: Services) -> int:
    with services.store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(rep_actions)).scalar_one())


def _post(client: TestClient, path: str, **fields: str) -> object:
    token = csrf_token(client.get(path).text)
    return client.post(f"{path}/actions", data={"csrf_token": token, **fields})


def test_a_recorded_action_is_stored_with_who_when_and_what_was_seen_and_shown(
    web_client: TestClient, web_keys: dict[str, str], web_services: Services
) -> None:
    sign_in(web_client, web_keys["rep0"])
    token = csrf_token(web_client.get("/web/customers/C0001").text)
    response = web_client.post(
        "/web/customers/C0001/actions",
        data={"csrf_token": token, "action": "won back", "note": "  Renewed for a year.  "},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/web/customers/C0001#actions"
    [action] = ActionStore(web_services.store.engine).for_entity("customer", "C0001")
    assert action.action is RepAction.WON_BACK and action.note == "Renewed for a year."
    assert action.recorded_at == NOW and action.owner_id == "rep-0"
    assert action.recorded_by_key_id == web_keys["rep0"].split("_")[1]
    assert action.recorded_by_owner_id == "rep-0"
    assert (action.run_id, action.score, action.tier) == (
        web_services.store.published_run_id(),
        81,
        "high",
    )
    page = web_client.get("/web/customers/C0001").text
    assert "<strong>won back</strong> by rep-0 on" in page and "Renewed for a year." in page


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"action": "called"}, "action", 'unknown action; one of "contacted", "not a risk"'),
        ({}, "action", "unknown action"),
        ({"action": "lost", "note": "x" * (NOTE_MAX_CHARS + 1)}, "note", "too long: 1001"),
        ({"action": "lost", "note": "bell\x07"}, "note", "holds control characters"),
        ({"action": "lost", "owner_id": "rep-1"}, "owner_id", "unknown form field"),
    ],
)
def test_bad_input_is_a_page_naming_the_field_and_nothing_is_written(
    web_client: TestClient,
    web_keys: dict[str, str],
    web_services: Services,
    fields: dict[str, str],
    field: str,
    message: str,
) -> None:
    sign_in(web_client, web_keys["rep0"])
    response = _post(web_client, "/web/customers/C0002", **fields)
    assert response.status_code == 422  # type: ignore[attr-defined]
    html = unescape(response.text)  # type: ignore[attr-defined]
    assert f"<strong>{field}</strong>: " in html and message in html
    assert _count(web_services) == 0


@pytest.mark.parametrize(
    ("body", "content_type", "status", "field", "message"),
    [
        (b"action=lost&note=%FF%FE", FORM, 422, "note", "not valid UTF-8 text"),
        (b"action=lost&note=\xff", FORM, 422, "note", "not valid UTF-8 text"),
        (b"action=lost&action=won+back", FORM, 422, "action", "sent more than once"),
        (b'{"action": "lost"}', "application/json", 415, "Content-Type", "send the form as"),
        (b"&".join(b"f%d=1" % i for i in range(17)), FORM, 413, "body", "at most 16 form"),
    ],
)
def test_malformed_form_bodies_are_refused_naming_the_field(
    web_client: TestClient,
    web_keys: dict[str, str],
    web_services: Services,
    body: bytes,
    content_type: str,
    status: int,
    field: str,
    message: str,
) -> None:
    sign_in(web_client, web_keys["rep0"])
    token = csrf_token(web_client.get("/web/customers/C0001").text).encode()
    response = web_client.post(
        "/web/customers/C0001/actions",
        content=b"csrf_token=" + token + b"&" + body,
        headers={"Content-Type": content_type},
    )
    assert response.status_code == status
    assert f"<strong>{field}</strong>: {message}" in unescape(response.text)
    assert _count(web_services) == 0


def test_a_note_at_the_limit_is_kept_whole() -> None:
    from serving.store.actions import check_note

    assert check_note("é" * NOTE_MAX_CHARS) == "é" * NOTE_MAX_CHARS
    assert check_note("line one\r\nline two\ttab") == "line one\r\nline two\ttab"
    with pytest.raises(ActionInputError, match="note: too long"):
        check_note("é" * (NOTE_MAX_CHARS + 1))


@pytest.mark.parametrize("token", [None, "", "forged"])
def test_an_action_without_the_sessions_csrf_token_is_refused(
    web_client: TestClient, web_keys: dict[str, str], web_services: Services, token: str | None
) -> None:
    sign_in(web_client, web_keys["rep0"])
    data = {"action": "contacted"} | ({} if token is None else {"csrf_token": token})
    response = web_client.post("/web/customers/C0001/actions", data=data)
    assert response.status_code == 403 and "missing or wrong CSRF token" in response.text
    assert _count(web_services) == 0


def test_another_reps_token_does_not_pass_for_this_session(
    web_client: TestClient, web_keys: dict[str, str], web_services: Services
) -> None:
    sign_in(web_client, web_keys["rep1"])
    rep1_token = csrf_token(web_client.get("/web/at-risk").text)
    web_client.cookies.clear()
    sign_in(web_client, web_keys["rep0"])
    data = {"csrf_token": rep1_token, "action": "contacted"}
    assert web_client.post("/web/customers/C0001/actions", data=data).status_code == 403
    assert _count(web_services) == 0


def test_a_rep_cannot_act_on_another_reps_customer(
    web_client: TestClient, web_keys: dict[str, str], web_services: Services
) -> None:
    sign_in(web_client, web_keys["rep0"])
    token = csrf_token(web_client.get("/web/at-risk").text)
    data = {"csrf_token": token, "action": "lost"}
    response = web_client.post("/web/customers/C0100/actions", data=data)
    assert response.status_code == 404 and "no published score for this customer" in response.text
    assert _count(web_services) == 0


def test_actions_export_for_outcome_analysis_page_and_cli(
    web_client: TestClient,
    web_keys: dict[str, str],
    web_services: Services,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sign_in(web_client, web_keys["rep0"])
    _post(web_client, "/web/customers/C0001", action="contacted", note="=HYPERLINK(x)")
    _post(web_client, "/web/leads/L0001", action="lost", note="chose a competitor")
    web_client.cookies.clear()
    sign_in(web_client, web_keys["rep1"])
    _post(web_client, "/web/customers/C0100", action="not a risk")

    own = web_client.get("/web/actions.csv")
    assert own.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(own.text)))
    assert [(r["entity_id"], r["action"]) for r in rows] == [("C0100", "not a risk")]

    out = tmp_path / "actions.csv"
    monkeypatch.setenv("SALESRADAR_SCORES_URL", web_services.settings.scores_url)
    result = CliRunner().invoke(build_app(), ["actions", "export", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"wrote 3 action(s) to {out}" in result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [(r["entity_kind"], r["entity_id"], r["action"]) for r in rows] == [
        ("customer", "C0001", "contacted"),
        ("lead", "L0001", "lost"),
        ("customer", "C0100", "not a risk"),
    ]
    assert rows[0]["note"] == "'=HYPERLINK(x)"  # never run as a spreadsheet formula
    assert rows[0]["recorded_at"] == "2026-01-15T12:00:00Z"
    assert rows[0]["score"] == "81" and rows[0]["tier"] == "high"
    assert not (tmp_path / "actions.csv.partial").exists()


def test_actions_export_into_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    out = tmp_path / "nope" / "actions.csv"
    result = CliRunner().invoke(build_app(), ["actions", "export", "--out", str(out)])
    assert result.exit_code == 2
    assert f"--out {out}: no such folder" in result.output


def test_the_actions_table_is_created_idempotently(web_services: Services) -> None:
    actions = ActionStore(web_services.store.engine)
    actions.create_schema()
    actions.create_schema()
    assert actions.for_entity("customer", "C0001") == []


def test_actions_are_stored_the_same_on_sqlite_and_postgresql(store: ScoreStore) -> None:
    actions = ActionStore(store.engine)
    actions.create_schema()
    actions.create_schema()  # idempotent on an existing table
    common = {
        "entity_kind": "customer",
        "owner_id": "rep-0",
        "recorded_by_key_id": "k1",
        "recorded_by_owner_id": "rep-0",
        "run_id": None,
        "score": 81,
        "tier": "high",
    }
    first = actions.record(
        entity_id="C1", action="contacted", note="left a message", recorded_at=NOW, **common
    )
    later = NOW + timedelta(days=2)
    second = actions.record(entity_id="C1", action="won back", note="", recorded_at=later, **common)
    actions.record(entity_id="C2", action="lost", note="é\nbis", recorded_at=later, **common)
    assert second.action_id > first.action_id
    assert [a.action for a in actions.for_entity("customer", "C1")] == [
        RepAction.WON_BACK,
        RepAction.CONTACTED,
    ]
    text, count = actions.export_csv()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert count == 3 and [r["entity_id"] for r in rows] == ["C1", "C1", "C2"]
    assert rows[2]["note"] == "é\nbis" and rows[1]["recorded_at"] == "2026-01-17T12:00:00Z"
    with pytest.raises(ActionInputError, match="action: unknown action"):
        actions.record(entity_id="C1", action="Lost", note="", recorded_at=NOW, **common)
    assert actions.export_csv()[1] == 3
