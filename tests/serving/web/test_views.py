"""What the pages show, rule by rule: sparkline geometry, extra list fields, contrast."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from serving.web import pages, views
from tests.serving.web.bookkit import sign_in

STYLE = Path(pages.__file__).parent / "static" / "style.css"


def test_sparkline_maps_scores_onto_the_box_oldest_left() -> None:
    spark = views.sparkline([0, 50, 100])
    assert spark is not None
    assert spark.points == "4.0,36.0 80.0,20.0 156.0,4.0"
    assert spark.last == (156.0, 4.0)
    assert spark.label == "Score in the last 3 run(s), oldest first: 0, 50, 100"
    single = views.sparkline([40])
    assert single is not None and single.points == "80.0,23.2"
    assert views.sparkline([]) is None


def test_fields_a_list_row_adds_get_columns_of_their_own() -> None:
    items = [
        {"rank": 1, "customer_id": "C1", "name": "Acme", "last_order_at": None},
        {"rank": 2, "customer_id": "C2", "display": {"city": "Lyon", "size": 12.5}},
    ]
    assert views.extra_columns(items) == ["name", "last_order_at", "display"]
    assert views.display({"city": "Lyon", "size": 12.5}) == "city: Lyon; size: 12.50"
    assert views.display(None) == "—" and views.display(True) == "yes"
    assert views.heading("last_order_at") == "Last order at"
    assert views.whole_amount(38_880.4, "EUR") == "EUR 38,880"
    assert views.signed(26) == "+26" and views.signed(-2) == "-2" and views.signed(0) == "0"


def test_the_list_page_renders_fields_build_list_adds(
    web_client: TestClient, web_keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = pages.build_list

    def with_display_fields(*args: Any, **kwargs: Any) -> Any:
        body = real(*args, **kwargs)
        for item in body["items"]:
            item["company_name"] = f"Company of {item['entity_id']}"
            item["currency"] = "EUR"
        return body

    monkeypatch.setattr(pages, "build_list", with_display_fields)
    sign_in(web_client, web_keys["rep0"])
    html = web_client.get("/web/at-risk").text
    assert '<th scope="col">Company name</th>' in html
    assert '<td data-label="Company name">Company of C0001</td>' in html
    assert "EUR 38,880" in html


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize(
    ("text", "background"),
    [
        ("--ink", "--bg"),
        ("--muted", "--bg"),
        ("--muted", "--panel"),
        ("--link", "--bg"),
        ("--link", "--panel"),
        ("--up", "--bg"),
        ("--down", "--bg"),
        ("--warn", "--bg"),
    ],
)
def test_text_colours_meet_wcag_aa_contrast(text: str, background: str) -> None:
    colours = dict(re.findall(r"(--[a-z]+):\s*(#[0-9a-fA-F]{6})", STYLE.read_text()))
    assert _contrast(colours[text], colours[background]) >= 4.5
