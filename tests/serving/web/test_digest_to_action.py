"""A rep goes from their email digest to the entity page to a recorded action: every link a
digest carries opens that rep's own entity page once signed in, and the page records an action."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi.testclient import TestClient

from serving.api.services import Services
from serving.delivery.messages import build_digest
from serving.delivery.news import build_news, read_books
from serving.delivery.render import render_html
from serving.store.actions import ActionStore, RepAction
from tests.serving.web.bookkit import csrf_token, sign_in

PUBLIC_URL = "https://radar.example.com"


def test_a_digest_link_opens_the_reps_entity_page_where_an_action_is_recorded(
    web_client: TestClient, web_keys: dict[str, str], web_services: Services
) -> None:
    run, books = read_books(web_services.store, None)
    news = build_news("rep-0", books["rep-0"], run=run, alert_score_move=15, digest_items=10)
    assert news.has_digest()
    digest = build_digest(news, public_url=PUBLIC_URL, digest_items=10)
    links = [line.link for section in digest.sections for line in section.lines]
    assert links and all(link is not None and link.startswith(PUBLIC_URL) for link in links)
    html = render_html(digest)
    path = urlsplit(links[0]).path
    assert f'href="{links[0]}"' in html

    # Not signed in: the link leads to sign-in and back to the same page.
    first = web_client.get(path, follow_redirects=False)
    assert first.status_code == 303 and "/web/sign-in" in first.headers["location"]
    sign_in(web_client, web_keys["rep0"], next_page=path)
    for link in links:
        page = web_client.get(urlsplit(link).path)
        assert page.status_code == 200, (link, page.text)

    entry = digest.sections[0].lines[0].entry
    token = csrf_token(web_client.get(path).text)
    recorded = web_client.post(
        f"{path}/actions",
        data={"csrf_token": token, "action": "contacted", "note": "Called after the digest."},
        follow_redirects=False,
    )
    assert recorded.status_code == 303, recorded.text
    [action] = ActionStore(web_services.store.engine).for_entity(entry.entity_kind, entry.entity_id)
    assert action.action is RepAction.CONTACTED and action.recorded_by_owner_id == "rep-0"


def test_another_reps_digest_links_are_not_reachable(
    web_client: TestClient, web_keys: dict[str, str], web_services: Services
) -> None:
    run, books = read_books(web_services.store, None)
    others = [owner for owner in books if owner != "rep-0"]
    assert others
    news = build_news(others[0], books[others[0]], run=run, alert_score_move=15, digest_items=10)
    digest = build_digest(news, public_url=PUBLIC_URL, digest_items=10)
    links = [line.link for section in digest.sections for line in section.lines]
    assert links
    sign_in(web_client, web_keys["rep0"])
    for link in links:
        assert link is not None
        assert web_client.get(urlsplit(link).path).status_code == 404
