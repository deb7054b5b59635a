"""/metrics: per-app registry with requests, latencies, errors, scores by tier, model versions."""

from __future__ import annotations

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.serving.appkit import auth
from tests.serving.test_scoring_api import lead


def samples(client: TestClient, token: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = client.get("/metrics", headers=auth(token)).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_count_requests_tiers_and_errors(client: TestClient, keys: dict[str, str]) -> None:
    body = {"as_of": "2025-12-01T00:00:00Z", "leads": [lead("A"), lead("B"), {"lead_id": 1}]}
    scored = client.post("/v1/leads/score", json=body, headers=auth(keys["crm"])).json()
    tiers = [r["tier"] for r in scored["results"] if r["status"] == "scored"]
    client.get("/v1/leads/NOPE", headers=auth(keys["crm"]))
    client.get("/v1/models")
    found = samples(client, keys["admin"])
    route = (("method", "POST"), ("route", "/v1/leads/score"), ("status", "200"))
    assert found[("salesradar_requests_total", route)] == 1.0
    assert (
        found[
            ("salesradar_request_seconds_count", (("method", "POST"), ("route", "/v1/leads/score")))
        ]
        == 1.0
    )
    for tier in set(tiers):
        key = ("salesradar_scores_total", (("task", "leads"), ("tier", tier)))
        assert found[key] == tiers.count(tier)
    assert found[("salesradar_entity_errors_total", (("task", "leads"),))] == 1.0
    assert (
        found[("salesradar_errors_total", (("route", "/v1/leads/{lead_id}"), ("status", "404")))]
        == 1.0
    )
    assert found[("salesradar_errors_total", (("route", "/v1/models"), ("status", "401")))] == 1.0
    served = [k for k in found if k[0] == "salesradar_model_info"]
    assert len(served) == 2 and all(found[k] == 1.0 for k in served)


def test_each_app_has_its_own_registry(
    client: TestClient, keys: dict[str, str], tmp_path, champions
) -> None:  # type: ignore[no-untyped-def]
    from serving.app import create_app
    from tests.serving.appkit import build_test_services, create_keys

    other = build_test_services(tmp_path / "other", champions)
    other_keys = create_keys(other)
    client.get("/v1/models", headers=auth(keys["crm"]))
    with TestClient(create_app(other)) as second:
        found = samples(second, other_keys["crm"])
    assert not any(
        k[0] == "salesradar_requests_total" and ("route", "/v1/models") in k[1] for k in found
    )
