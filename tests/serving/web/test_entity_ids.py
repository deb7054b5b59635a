"""A rep opens and acts on an entity whose id holds "/", as the API reads it (``ACME/2024/12``)."""

from __future__ import annotations

import logging
from html import escape
from urllib.parse import quote, unquote

import pytest
from fastapi.testclient import TestClient

from serving.api.request_ids import ACCESS_LOGGER
from serving.api.services import Services
from serving.store.actions import ActionStore
from tests.serving.appkit import NOW
from tests.serving.store.test_store import publish, row
from tests.serving.web.bookkit import csrf_token, sign_in

ID = "ACME/2024/12"
ENCODED = "ACME%2F2024%2F12"


@pytest.mark.parametrize(
    ("kind", "segment", "tier"), [("lead", "leads", "hot"), ("customer", "customers", "high")]
)
def test_an_id_with_slashes_is_linked_encoded_opened_and_acted_on(
    web_client: TestClient,
    web_keys: dict[str, str],
    web_services: Services,
    kind: str,
    segment: str,
    tier: str,
) -> None:
    publish(web_services.store, [row(ID, 0.9, kind=kind, owner="rep-0", tier=tier)], at=NOW)
    sign_in(web_client, web_keys["rep0"])
    listed = web_client.get("/web/hot-leads" if kind == "lead" else "/web/at-risk")
    assert f'<a href="/web/{segment}/{ENCODED}">{ID}</a>' in listed.text
    for path in (f"/web/{segment}/{ENCODED}", f"/web/{segment}/{ID}"):
        page = web_client.get(path)
        assert page.status_code == 200, (path, page.text)
        assert f'action="/web/{segment}/{ENCODED}/actions"' in page.text
    response = web_client.post(
        f"/web/{segment}/{ENCODED}/actions",
        data={"csrf_token": csrf_token(page.text), "action": "contacted"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/web/{segment}/{ENCODED}#actions"
    [action] = ActionStore(web_services.store.engine).for_entity(kind, ID)  # type: ignore[arg-type]
    assert action.action.value == "contacted" and action.owner_id == "rep-0"
    assert "<strong>contacted</strong> by rep-0" in web_client.get(f"/web/{segment}/{ENCODED}").text
    # Another id under the same prefix is still a 404 page, not someone else's entity.
    assert web_client.get(f"/web/{segment}/ACME%2F2024%2F13").status_code == 404


def test_the_access_log_names_the_page_route_never_the_id(
    web_client: TestClient,
    web_keys: dict[str, str],
    web_services: Services,
    caplog: pytest.LogCaptureFixture,
) -> None:
    publish(web_services.store, [row(ID, 0.9, kind="lead", owner="rep-0", tier="hot")], at=NOW)
    sign_in(web_client, web_keys["rep0"])
    with caplog.at_level(logging.INFO, logger=ACCESS_LOGGER):
        assert web_client.get(f"/web/leads/{ENCODED}").status_code == 200
    (record,) = [r for r in caplog.records if r.name == ACCESS_LOGGER]
    assert (record.route, record.status) == ("/web/leads/{entity_id}", 200)  # type: ignore[attr-defined]
    assert "ACME" not in record.getMessage()


def test_signing_in_returns_to_the_page_of_an_id_with_slashes(
    web_client: TestClient, web_keys: dict[str, str], web_services: Services
) -> None:
    publish(web_services.store, [row(ID, 0.9, kind="lead", owner="rep-0", tier="hot")], at=NOW)
    asked = web_client.get(f"/web/leads/{ENCODED}", follow_redirects=False)
    assert asked.status_code == 303
    next_page = asked.headers["location"].split("next=", 1)[1]
    sign_in(web_client, web_keys["rep0"], next_page=unquote(next_page))
    page = web_client.get(unquote(next_page))
    assert page.status_code == 200 and f"Lead {ID}" in page.text


@pytest.mark.parametrize(
    ("entity_id", "encoded"),
    [("ACME?x#1%2", "ACME%3Fx%231%252"), ("ACME/2024?12", "ACME%2F2024%3F12")],
)
def test_signing_in_returns_to_the_page_of_an_id_with_query_fragment_or_escape_characters(
    web_client: TestClient,
    web_keys: dict[str, str],
    web_services: Services,
    entity_id: str,
    encoded: str,
) -> None:
    """``next`` is the path as sent (its escapes kept), with the query string, so the page
    signed in to is the one asked for, never the part of the id before ``?`` or ``#``."""
    publish(
        web_services.store, [row(entity_id, 0.9, kind="lead", owner="rep-0", tier="hot")], at=NOW
    )
    asked = web_client.get(f"/web/leads/{encoded}?run_id=r1", follow_redirects=False)
    assert asked.status_code == 303
    wanted = f"/web/leads/{encoded}?run_id=r1"
    assert asked.headers["location"] == f"/web/sign-in?next={quote(wanted, safe='')}"
    form = web_client.get(asked.headers["location"])
    assert f'name="next" value="{wanted}"' in form.text
    data = {"csrf_token": csrf_token(form.text), "key": web_keys["rep0"], "next": wanted}
    signed_in = web_client.post("/web/sign-in", data=data, follow_redirects=False)
    assert signed_in.headers["location"] == wanted
    page = web_client.get(f"/web/leads/{encoded}")
    assert page.status_code == 200 and f"Lead {escape(entity_id)}" in page.text


@pytest.mark.parametrize(
    "next_page",
    ["https://evil.example/web/leads/x", "//evil.example/web/leads/x", "/\\evil.example"],
)
def test_a_next_page_on_another_site_is_still_refused(
    web_client: TestClient, web_keys: dict[str, str], next_page: str
) -> None:
    form = web_client.get(f"/web/sign-in?next={quote(next_page, safe='')}")
    assert 'name="next" value="/web/at-risk"' in form.text
    data = {"csrf_token": csrf_token(form.text), "key": web_keys["rep0"], "next": next_page}
    signed_in = web_client.post("/web/sign-in", data=data, follow_redirects=False)
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/web/at-risk"
