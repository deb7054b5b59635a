"""The reps' pages: their own book only, lists as the API lists them, entity pages, CSV."""

from __future__ import annotations

import csv
import io
import re

import pytest
from fastapi.testclient import TestClient

from features.contract.tasks import KIND_TASKS, Task
from tests.serving.api.test_auth import _walk
from tests.serving.appkit import auth
from tests.serving.web.bookkit import sign_in

# Every /web route and whether it needs a session; a new page without an entry fails.
WEB_ROUTES = {
    ("GET", "/web/sign-in"): False,
    ("POST", "/web/sign-in"): False,
    ("POST", "/web/sign-out"): True,
    ("GET", "/web"): True,
    ("GET", "/web/at-risk"): True,
    ("GET", "/web/hot-leads"): True,
    ("GET", "/web/at-risk.csv"): True,
    ("GET", "/web/hot-leads.csv"): True,
    ("GET", "/web/customers/{entity_id}"): True,
    ("GET", "/web/leads/{entity_id}"): True,
    ("POST", "/web/customers/{entity_id}/actions"): True,
    ("POST", "/web/leads/{entity_id}/actions"): True,
    ("GET", "/web/actions.csv"): True,
    ("GET", "/web/{path}"): True,  # any other address (a {path:path} route): a 404 page
}


def _row_ids(html: str, segment: str) -> list[str]:
    return re.findall(rf'<a href="/web/{segment}/([^"]+)">', html)


def test_every_page_is_listed_and_each_needs_a_session_but_sign_in(
    web_client: TestClient,
) -> None:
    found = {r for r in _walk(list(web_client.app.routes)) if r[1].startswith("/web")}  # type: ignore[attr-defined]
    assert found == set(WEB_ROUTES)
    for (method, path), needs_session in WEB_ROUTES.items():
        url = path.replace("{entity_id}", "C0001")
        response = web_client.request(method, url, follow_redirects=False)
        refused = response.status_code in (303, 401) and "set-cookie" not in response.headers
        assert refused == needs_session, (method, path, response.status_code)


@pytest.mark.parametrize(
    ("rep", "api_list", "page"),
    [
        ("rep0", "at-risk", "at-risk"),
        ("rep0", "hot-leads", "hot-leads"),
        ("rep1", "at-risk", "at-risk"),
    ],
)
def test_a_list_page_shows_what_the_api_lists_for_that_rep(
    web_client: TestClient, web_keys: dict[str, str], rep: str, api_list: str, page: str
) -> None:
    api = web_client.get(f"/v1/lists/{api_list}", headers=auth(web_keys[rep])).json()
    sign_in(web_client, web_keys[rep])
    html = web_client.get(f"/web/{page}").text
    segment = "customers" if page == "at-risk" else "leads"
    assert _row_ids(html, segment) == [i["entity_id"] for i in api["items"]]
    assert api["items"], "the fixture book lists something for every rep"


def test_the_at_risk_page_holds_the_rep_own_acting_tiers_with_reasons_and_changes(
    web_client: TestClient, web_keys: dict[str, str]
) -> None:
    sign_in(web_client, web_keys["rep0"])
    html = web_client.get("/web/at-risk").text
    assert _row_ids(html, "customers") == ["C0001", "C0002", "C0003", "C0005"]
    assert "C0100" not in html  # rep-1's customer
    assert "C0004" not in html  # low risk: only when asked for
    assert "No order for 64 days; usually orders every 21 days" in html
    assert "↑ raises risk" in html and "↓ lowers risk" in html
    assert "+26" in html and "new in tier" in html  # C0001 55 -> 81; C0003 medium -> high
    assert "38,880" in html  # C0001's value at risk, 0.81 x 48,000, whole units
    assert "8 days old" in html


def test_tier_filters_and_sorting_on_the_page(
    web_client: TestClient, web_keys: dict[str, str]
) -> None:
    sign_in(web_client, web_keys["rep0"])
    low = web_client.get("/web/at-risk?tier=low").text
    assert _row_ids(low, "customers") == ["C0004", "C0006"]
    by_probability = web_client.get("/web/at-risk?rank_by=probability").text
    assert _row_ids(by_probability, "customers") == ["C0001", "C0003", "C0002", "C0005"]
    every = web_client.get("/web/at-risk?tier=high&tier=medium&tier=low").text
    assert len(_row_ids(every, "customers")) == 6


@pytest.mark.parametrize(
    ("url", "field", "message"),
    [
        ("/web/at-risk?tier=hot", "tier", "unknown tier; one of high, medium, low"),
        ("/web/at-risk?owner=rep-1", "owner", "unknown query parameter"),
        ("/web/at-risk?rank_by=name", "rank_by", "Input should be"),
        ("/web/hot-leads?offset=-1", "offset", "greater than or equal to 0"),
        ("/web/customers/C0001?tab=x", "tab", "unknown query parameter"),
    ],
)
def test_bad_filters_are_a_page_naming_the_parameter(
    web_client: TestClient, web_keys: dict[str, str], url: str, field: str, message: str
) -> None:
    sign_in(web_client, web_keys["rep0"])
    response = web_client.get(url)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert f"<strong>{field}</strong>" in response.text and message in response.text


@pytest.mark.parametrize(
    "url",
    [
        "/web/no-such-page",
        "/web/customers/C0001/more",
        "/web/customers/C0100",
        "/web/customers/NOPE",
        "/web/leads/C0001",
        "/web/at-risk?run_id=0123456789abcdef0123456789abcdef",
    ],
)
def test_another_reps_entity_is_not_found_exactly_like_a_missing_one(
    web_client: TestClient, web_keys: dict[str, str], url: str
) -> None:
    sign_in(web_client, web_keys["rep0"])
    response = web_client.get(url)
    assert response.status_code == 404
    assert "Not found" in response.text and "70,000" not in response.text
    web_client.cookies.clear()
    sign_in(web_client, web_keys["rep1"])
    if url == "/web/customers/C0100":
        assert web_client.get(url).status_code == 200  # its own rep sees it


def test_the_entity_page_shows_score_reasons_change_and_history(
    web_client: TestClient, web_keys: dict[str, str]
) -> None:
    sign_in(web_client, web_keys["rep0"])
    html = web_client.get("/web/customers/C0001").text
    assert '<dd class="big">81</dd>' in html and "tier-high" in html
    assert "↑ raises risk</span> No order for 64 days" in html
    assert "↓ lowers risk</span> Worth 48,000 a year" in html
    assert "Score was 55" in html and "now 81: +26" in html
    # The new reason (support tickets) moved the score up: a mover in the change's direction.
    assert "↑ raises risk</span> 4 support tickets" in html
    points = re.search(r'<polyline points="([^"]+)"', html)
    assert points is not None
    ys = [float(p.split(",")[1]) for p in points.group(1).split()]
    assert len(ys) == 2 and ys[1] < ys[0]  # two runs, the newer higher (SVG y grows down)
    assert "Score in the last 2 run(s), oldest first: 55, 81" in html
    lead = web_client.get("/web/leads/L0001").text
    assert "↑ raises the chance to buy</span> 2 demos" in lead


def test_the_csv_download_works_with_the_session_and_matches_the_api(
    web_client: TestClient, web_keys: dict[str, str]
) -> None:
    api = web_client.get("/v1/lists/at-risk?format=csv&tier=high", headers=auth(web_keys["rep0"]))
    sign_in(web_client, web_keys["rep0"])
    page = web_client.get("/web/at-risk?tier=high").text
    href = re.search(r'<a class="button secondary" href="([^"]+)" download>', page)
    assert href is not None
    response = web_client.get(href.group(1).replace("&amp;", "&"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="at-risk.csv"' in response.headers["content-disposition"]
    assert response.text == api.text
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["entity_id"] for r in rows] == ["C0001", "C0003"]


def test_pages_are_not_cached_framed_or_scripted(
    web_client: TestClient, web_keys: dict[str, str]
) -> None:
    sign_in(web_client, web_keys["rep0"])
    response = web_client.get("/web/customers/C0001")
    assert response.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "<script" not in response.text
    style = web_client.get("/web/static/style.css")
    assert style.status_code == 200 and "@media (max-width: 40rem)" in style.text


def test_a_list_page_reads_the_task_of_its_kind_from_the_one_map(
    web_client: TestClient, web_keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sign_in(web_client, web_keys["rep0"])
    # features.contract.tasks.KIND_TASKS is read at request time: mapped to leads, the at-risk page
    # checks its tier filter against the lead tiers.
    monkeypatch.setitem(KIND_TASKS, "customer", Task.LEADS)
    response = web_client.get("/web/at-risk?tier=high")
    assert response.status_code == 422
    assert "unknown tier; one of hot, warm, cold" in response.text
