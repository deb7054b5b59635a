"""Signing in and out of the reps' pages: the cookie, CSRF, expiry, revocation, the gate."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from serving.api.app import create_app
from serving.settings import Settings
from serving.web.session import SESSION_COOKIE
from serving.web.signin import safe_next
from tests.serving.appkit import NOW, FolderChampions, auth, build_test_services, create_keys
from tests.serving.web.bookkit import SECRET, csrf_token, publish_book, sign_in


def _set_cookie(response_headers: list[tuple[str, str]], name: str) -> str:
    found = [v for k, v in response_headers if k == "set-cookie" and v.startswith(name + "=")]
    assert len(found) == 1, response_headers
    return found[0]


def test_sign_in_sets_an_httponly_strict_cookie_without_the_key(
    web_client: TestClient, web_keys: dict[str, str]
) -> None:
    form = web_client.get("/web/sign-in")
    data = {"csrf_token": csrf_token(form.text), "key": web_keys["rep0"], "next": ""}
    response = web_client.post("/web/sign-in", data=data, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/web/at-risk"
    cookie = _set_cookie(response.headers.multi_items(), SESSION_COOKIE)
    attributes = {a.strip().lower() for a in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/web"} <= attributes
    assert "secure" not in attributes  # plain http here; see the https test
    secret = web_keys["rep0"].split("_", 2)[2]
    assert secret not in cookie and web_keys["rep0"] not in cookie
    page = web_client.get("/web/at-risk")
    assert page.status_code == 200 and "Signed in as <strong>rep-0</strong>" in page.text


def test_over_https_the_cookie_is_secure(web_services: object, web_keys: dict[str, str]) -> None:
    app = create_app(web_services, load_models=False)  # type: ignore[arg-type]
    with TestClient(app, base_url="https://testserver") as client:
        form = client.get("/web/sign-in")
        data = {"csrf_token": csrf_token(form.text), "key": web_keys["rep0"], "next": ""}
        response = client.post("/web/sign-in", data=data, follow_redirects=False)
    cookie = _set_cookie(response.headers.multi_items(), SESSION_COOKIE)
    assert "secure" in {a.strip().lower() for a in cookie.split(";")[1:]}


@pytest.mark.parametrize("key_name", ["crm", "admin", "wrong", "empty"])
def test_only_an_active_rep_key_signs_in(
    web_client: TestClient, web_keys: dict[str, str], key_name: str
) -> None:
    special = {"wrong": web_keys["rep0"][:-2] + "xx", "empty": ""}
    key = special[key_name] if key_name in special else web_keys[key_name]
    form = web_client.get("/web/sign-in")
    data = {"csrf_token": csrf_token(form.text), "key": key, "next": ""}
    response = web_client.post("/web/sign-in", data=data, follow_redirects=False)
    assert response.status_code == 401
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
    assert 'aria-invalid="true"' in response.text
    assert (
        "enter your rep key" if key_name == "empty" else "not an active rep key"
    ) in response.text
    if key:
        assert key not in response.text  # never echoed back
    assert web_client.get("/web/at-risk", follow_redirects=False).status_code == 303


def test_sign_in_without_its_csrf_token_is_refused(
    web_client: TestClient, web_keys: dict[str, str]
) -> None:
    web_client.get("/web/sign-in")  # the signed cookie is set, but the form field is missing
    response = web_client.post("/web/sign-in", data={"key": web_keys["rep0"]})
    assert response.status_code == 403
    assert "csrf_token" in response.text and "missing or wrong CSRF token" in response.text
    # A token of another form (another signed cookie) is refused too.
    stale = csrf_token(web_client.get("/web/sign-in").text)
    web_client.get("/web/sign-in")
    data = {"csrf_token": stale, "key": web_keys["rep0"]}
    assert web_client.post("/web/sign-in", data=data).status_code == 403
    assert web_client.get("/web/at-risk", follow_redirects=False).status_code == 303


def test_pages_without_a_session_go_to_sign_in_and_posts_are_refused(
    web_client: TestClient,
) -> None:
    response = web_client.get("/web/customers/C0001?x=1", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/web/sign-in?next=%2Fweb%2Fcustomers%2FC0001%3Fx%3D1"
    refused = web_client.post("/web/customers/C0001/actions", data={"action": "lost"})
    assert refused.status_code == 401
    assert web_client.get("/web/at-risk.csv", follow_redirects=False).status_code == 303


def test_after_sign_in_the_rep_lands_on_the_page_asked_for_never_another_site(
    web_client: TestClient, web_keys: dict[str, str]
) -> None:
    form = web_client.get("/web/sign-in?next=/web/customers/C0001")
    data = {
        "csrf_token": csrf_token(form.text),
        "key": web_keys["rep0"],
        "next": "/web/leads/L0001",
    }
    response = web_client.post("/web/sign-in", data=data, follow_redirects=False)
    assert response.headers["location"] == "/web/leads/L0001"
    for target in (
        "//evil.example/web",
        "https://evil.example/web",
        "/v1/lists/at-risk",
        "/web\\x",
    ):
        assert safe_next(target) == "/web/at-risk"


def test_sign_out_needs_the_csrf_token_and_ends_the_session(
    web_client: TestClient, web_keys: dict[str, str]
) -> None:
    sign_in(web_client, web_keys["rep0"])
    assert web_client.post("/web/sign-out", data={"csrf_token": "forged"}).status_code == 403
    token = csrf_token(web_client.get("/web/at-risk").text)
    response = web_client.post("/web/sign-out", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/web/sign-in"
    assert 'salesradar_session=""' in response.headers["set-cookie"]
    assert web_client.get("/web/at-risk", follow_redirects=False).status_code == 303


def test_revoking_the_key_ends_its_sessions(
    web_client: TestClient, web_keys: dict[str, str], web_services: object
) -> None:
    sign_in(web_client, web_keys["rep0"])
    assert web_client.get("/web/at-risk").status_code == 200
    key_id = web_keys["rep0"].split("_")[1]
    web_services.keys.revoke(key_id, revoked_at=NOW)  # type: ignore[attr-defined]
    assert web_client.get("/web/at-risk", follow_redirects=False).status_code == 303


def test_a_session_expires_after_twelve_hours_and_a_tampered_cookie_is_nobody(
    tmp_path: Path,
) -> None:
    now = [NOW]
    services = build_test_services(
        tmp_path, FolderChampions(), clock=lambda: now[0], session_secret=SECRET
    )
    publish_book(services.store)
    keys = create_keys(services)
    with TestClient(create_app(services, load_models=False)) as client:
        sign_in(client, keys["rep0"])
        now[0] = NOW + timedelta(hours=11, minutes=59)
        assert client.get("/web/at-risk", follow_redirects=False).status_code == 200
        now[0] = NOW + timedelta(hours=12, seconds=1)
        assert client.get("/web/at-risk", follow_redirects=False).status_code == 303
        now[0] = NOW
        cookie = client.cookies.get(SESSION_COOKIE)
        assert cookie is not None
        client.cookies.set(SESSION_COOKIE, cookie[:-3] + "AAA", path="/web")
        assert client.get("/web/at-risk", follow_redirects=False).status_code == 303


def test_a_session_signed_with_another_secret_is_nobody(
    tmp_path: Path, web_keys: dict[str, str], web_client: TestClient
) -> None:
    sign_in(web_client, web_keys["rep0"])
    cookie = web_client.cookies.get(SESSION_COOKIE)
    other = build_test_services(tmp_path / "other", FolderChampions(), session_secret="y" * 40)
    other.keys = web_client.app.state.services.keys  # type: ignore[attr-defined]
    with TestClient(create_app(other, load_models=False)) as client:
        client.cookies.set(SESSION_COOKIE, str(cookie), path="/web")
        assert client.get("/web/at-risk", follow_redirects=False).status_code == 303


def test_the_api_never_takes_the_session_cookie(
    web_client: TestClient, web_keys: dict[str, str]
) -> None:
    sign_in(web_client, web_keys["rep0"])
    cookie = web_client.cookies.get(SESSION_COOKIE)
    response = web_client.get("/v1/lists/at-risk", cookies={SESSION_COOKIE: str(cookie)})
    assert response.status_code == 401
    assert web_client.get("/v1/lists/at-risk", headers=auth(web_keys["rep0"])).status_code == 200


def test_the_session_secret_is_empty_or_long() -> None:
    with pytest.raises(ValidationError, match="at least 32 characters"):
        Settings(session_secret="short")
    assert Settings(session_secret="z" * 32).session_secret.get_secret_value() == "z" * 32


def test_without_a_secret_sessions_last_as_long_as_the_process(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    services = build_test_services(tmp_path, FolderChampions())
    keys = create_keys(services)
    with caplog.at_level("WARNING", logger="serving.web"):
        first = create_app(services, load_models=False)
    assert "SALESRADAR_SESSION_SECRET is not set" in caplog.text
    with TestClient(first) as client:
        sign_in(client, keys["rep0"])
        cookie = str(client.cookies.get(SESSION_COOKIE))
        assert client.get("/web/at-risk", follow_redirects=False).status_code == 200
    with TestClient(create_app(services, load_models=False)) as restarted:
        restarted.cookies.set(SESSION_COOKIE, cookie, path="/web")
        assert restarted.get("/web/at-risk", follow_redirects=False).status_code == 303


def test_sign_in_attempts_are_limited_per_address(tmp_path: Path) -> None:
    services = build_test_services(
        tmp_path, FolderChampions(), session_secret=SECRET, anonymous_requests_per_window=3
    )
    keys = create_keys(services)
    with TestClient(create_app(services, load_models=False)) as client:
        page = client.get("/web/sign-in")
        for _ in range(3):
            data = {"csrf_token": csrf_token(page.text), "key": "sr_bad_guess"}
            page = client.post("/web/sign-in", data=data)
            assert page.status_code == 401
        data = {"csrf_token": csrf_token(page.text), "key": keys["rep0"]}
        refused = client.post("/web/sign-in", data=data, follow_redirects=False)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "60"  # the window ends a minute after NOW
    assert "too many sign-in attempts from this address" in refused.text


def test_the_sign_in_page_refuses_unknown_parameters(web_client: TestClient) -> None:
    response = web_client.get("/web/sign-in?nxt=/web/leads")
    assert response.status_code == 422
    assert "<strong>nxt</strong>: unknown query parameter" in response.text
