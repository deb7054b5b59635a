"""Server logs: the models loaded at startup, one access line per request with its id, JSON
lines on request, and library chatter kept out."""

from __future__ import annotations

import io
import json
import logging
import os
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from serving.api.app import create_app
from serving.api.logs import configure_logging
from serving.api.request_ids import ACCESS_LOGGER
from serving.api.services import Services
from tests.serving.appkit import FolderChampions, auth, build_test_services


def test_startup_logs_the_versions_it_serves(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="serving.api.app"), TestClient(create_app(services)):
        pass
    lines = [r.getMessage() for r in caplog.records if r.name == "serving.api.app"]
    assert any(
        line.startswith("serving leads: salesradar-leads version 1 (from ") for line in lines
    )
    assert any(
        line.startswith("serving churn: salesradar-churn version 1 (from ") for line in lines
    )


def test_startup_says_why_a_task_is_not_served(tmp_path, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    services = build_test_services(tmp_path, FolderChampions())
    with caplog.at_level(logging.INFO, logger="serving.api.app"), TestClient(create_app(services)):
        pass
    lines = [r.getMessage() for r in caplog.records if r.name == "serving.api.app"]
    assert any(line.startswith("not serving leads: ") and "champion" in line for line in lines)


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("crm-7f3a.42:b_c", True),
        ("x" * 129, False),
        ("bad id", False),
        ("forged\r\nline", False),
        ("", False),
    ],
)
def test_request_id_is_kept_when_sane_else_generated(
    client: TestClient, caplog: pytest.LogCaptureFixture, sent: str, kept: bool
) -> None:
    with caplog.at_level(logging.INFO, logger=ACCESS_LOGGER):
        response = client.get("/health/live", headers={"X-Request-ID": sent})
    returned = response.headers["x-request-id"]
    assert (returned == sent) is kept
    if not kept:
        assert len(returned) == 32 and int(returned, 16) >= 0
    (record,) = [r for r in caplog.records if r.name == ACCESS_LOGGER]
    assert record.request_id == returned  # type: ignore[attr-defined]
    assert record.getMessage() == f"GET /health/live 200 {record.duration_ms:.1f}ms id={returned}"  # type: ignore[attr-defined]


def test_every_response_gets_an_id_and_one_access_line(
    client: TestClient, keys: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger=ACCESS_LOGGER):
        ids = [
            client.get("/v1/models").headers["x-request-id"],
            client.get("/v1/leads/NOPE", headers=auth(keys["rep0"])).headers["x-request-id"],
            client.get("/nowhere?owner=CSM-018").headers["x-request-id"],
        ]
    records = [r for r in caplog.records if r.name == ACCESS_LOGGER]
    assert [r.request_id for r in records] == ids  # type: ignore[attr-defined]
    assert [(r.route, r.status) for r in records] == [  # type: ignore[attr-defined]
        ("/v1/models", 401),
        ("/v1/leads/{lead_id}", 404),
        ("/nowhere", 401),  # anonymous: refused before routing, so no route is revealed
    ]
    assert len(set(ids)) == 3
    assert not any("CSM-018" in r.getMessage() for r in records)


@pytest.fixture
def restored_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {n: logging.getLogger(n).level for n in ("mlflow", "uvicorn.access")}
    disabled = logging.getLogger("uvicorn.access").disabled
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)
    logging.getLogger("uvicorn.access").disabled = disabled


def test_json_lines_carry_the_access_fields(
    restored_logging: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # setenv first so that monkeypatch restores the variable's absence afterwards.
    monkeypatch.setenv("MLFLOW_CONFIGURE_LOGGING", "unset below")
    monkeypatch.delenv("MLFLOW_CONFIGURE_LOGGING")
    stream = io.StringIO()
    configure_logging("json", stream=stream)
    logging.getLogger(ACCESS_LOGGER).info(
        "GET /v1/models 200 1.0ms id=abc", extra={"request_id": "abc", "status": 200}
    )
    logging.getLogger("mlflow.store").info("Creating experiment")  # library chatter: dropped
    logging.getLogger("uvicorn.access").info("duplicate access line")  # uvicorn's: dropped
    (line,) = stream.getvalue().splitlines()
    record = json.loads(line)
    assert record["message"] == "GET /v1/models 200 1.0ms id=abc"
    assert record["level"] == "INFO" and record["logger"] == ACCESS_LOGGER
    assert record["request_id"] == "abc" and record["status"] == 200
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", record["time"])
    assert os.environ["MLFLOW_CONFIGURE_LOGGING"] == "false"


def test_text_lines_by_default_and_no_duplicate_handlers(restored_logging: None) -> None:
    stream = io.StringIO()
    configure_logging("text", stream=stream)
    configure_logging("text", stream=stream)
    logging.getLogger("serving.api.app").warning("not serving churn: no champion")
    (line,) = stream.getvalue().splitlines()
    assert line.endswith("WARNING serving.api.app: not serving churn: no champion")
