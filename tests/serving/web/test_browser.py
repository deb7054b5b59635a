"""The reps' pages in a real browser: Debian's chromium driven by Playwright, against uvicorn.

Screenshots (desktop and phone width) go to the test's temporary folder; with
``SALESRADAR_SCREENSHOT_DIR=docs/img`` they are also written there, which is how the README's
pictures are made (docs/web.md).
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from serving.api.services import Services
from serving.store.actions import ActionStore

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}  # a common phone's CSS viewport


@pytest.fixture
def page_for(browser: Any, live_url: str) -> Iterator[Any]:
    """Opens a fresh browser context (no cookies) at a viewport; closes them all after."""
    contexts = []

    def open_page(viewport: dict[str, int] = DESKTOP) -> Any:
        context = browser.new_context(viewport=viewport, base_url=live_url, accept_downloads=True)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def _screenshot(page: Any, tmp_path: Path, name: str) -> None:
    target = tmp_path / f"{name}.png"
    page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 10_000  # a rendered page, not a blank one
    if folder := os.environ.get("SALESRADAR_SCREENSHOT_DIR"):
        shutil.copyfile(target, Path(folder) / target.name)


def _sign_in(page: Any, key: str, start: str = "/web/at-risk") -> None:
    page.goto(start)
    assert page.get_by_role("heading", name="Sign in").is_visible()
    page.get_by_label("Rep key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(re.escape(start) + "$"))


def test_sign_in_open_both_lists_and_no_other_reps_customer(
    page_for: Any, web_keys: dict[str, str], tmp_path: Path
) -> None:
    page = page_for()
    _sign_in(page, web_keys["rep0"])
    assert page.get_by_role("heading", name="My at-risk customers").is_visible()
    rows = page.locator("table.rows tbody tr")
    assert rows.count() == 4
    assert rows.first.get_by_role("link").inner_text() == "C0001"
    assert "raises risk" in rows.first.inner_text()
    _screenshot(page, tmp_path, "web-at-risk-desktop")

    page.get_by_role("link", name="Hot leads").click()
    assert page.get_by_role("heading", name="My hot leads").is_visible()
    assert page.locator("table.rows tbody tr").count() == 2  # hot and warm; L0003 is cold

    response = page.goto("/web/customers/C0100")  # rep-1's customer, typed into the bar
    assert response.status == 404
    assert page.get_by_role("heading", name=re.compile("Not found")).is_visible()
    assert "C0100" not in page.locator("main").inner_text().replace("/web/customers/C0100", "")


def test_filters_sort_and_csv_download_from_the_page(
    page_for: Any, web_keys: dict[str, str]
) -> None:
    page = page_for()
    _sign_in(page, web_keys["rep0"])
    page.get_by_label("medium").uncheck()
    page.get_by_label("Sort by").select_option("probability")
    page.get_by_role("button", name="Apply").click()
    links = page.locator("table.rows tbody th a")
    assert links.all_inner_texts() == ["C0001", "C0003"]
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["entity_id"] for r in rows] == ["C0001", "C0003"]
    assert download.value.suggested_filename == "at-risk.csv"


def test_record_an_action_from_the_keyboard_on_a_phone(
    page_for: Any, web_keys: dict[str, str], web_services: Services, tmp_path: Path
) -> None:
    page = page_for(PHONE)
    _sign_in(page, web_keys["rep0"])
    _screenshot(page, tmp_path, "web-at-risk-phone")
    page.get_by_role("link", name="C0001").click()
    assert page.get_by_role("heading", name="Customer C0001").is_visible()
    assert page.get_by_role("img", name=re.compile("oldest first: 55, 81")).is_visible()
    page.get_by_label("contacted").focus()
    page.keyboard.press("Space")
    page.get_by_label("Note").fill("Called Dana; a visit on Tuesday.")
    page.get_by_role("button", name="Record").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/web/customers/C0001#actions$"))
    history = page.locator("ol.history li")
    assert history.count() == 1
    assert "contacted by rep-0" in history.first.inner_text()
    assert "Called Dana; a visit on Tuesday." in history.first.inner_text()
    [action] = ActionStore(web_services.store.engine).for_entity("customer", "C0001")
    assert action.note == "Called Dana; a visit on Tuesday."
    _screenshot(page, tmp_path, "web-customer-phone")


def test_a_form_without_the_csrf_token_is_refused(
    page_for: Any, web_keys: dict[str, str], web_services: Services, live_url: str
) -> None:
    page = page_for()
    _sign_in(page, web_keys["rep0"])
    # Same site, the session cookie sent, but no token: refused.
    refused = page.request.post(
        "/web/customers/C0001/actions", form={"action": "lost", "note": "forged"}
    )
    assert refused.status == 403
    assert "missing or wrong CSRF token" in refused.text()
    # Another site's page posting to us: the SameSite=Strict cookie is not even sent.
    # (The other site is served by Playwright's router; nothing leaves the machine.)
    forged = (
        f'<form method="post" action="{live_url}/web/customers/C0001/actions">'
        '<input name="action" value="lost"><button>Go</button></form>'
    )
    page.route(
        "http://other-site.test/**",
        lambda route: route.fulfill(body=forged, content_type="text/html"),
    )
    page.goto("http://other-site.test/")
    with page.expect_response(re.compile(r"/actions$")) as answer:
        page.get_by_role("button", name="Go").click()
    assert answer.value.status == 401
    assert ActionStore(web_services.store.engine).for_entity("customer", "C0001") == []


def test_sign_out_ends_the_session(page_for: Any, web_keys: dict[str, str]) -> None:
    page = page_for()
    _sign_in(page, web_keys["rep0"])
    page.get_by_role("button", name="Sign out").click()
    assert page.get_by_role("heading", name="Sign in").is_visible()
    page.goto("/web/customers/C0001")
    assert page.get_by_role("heading", name="Sign in").is_visible()


def test_keyboard_users_reach_the_content_first_and_see_focus(
    page_for: Any, web_keys: dict[str, str], tmp_path: Path
) -> None:
    page = page_for()
    _sign_in(page, web_keys["rep0"])
    page.goto("/web/customers/C0001")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused == "Skip to content"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    _screenshot(page, tmp_path, "web-customer-desktop")
