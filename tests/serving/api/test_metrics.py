"""/metrics: per-app registry with requests, latencies, scores, model and run state, and the
standard process and Python collectors."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from serving.api.services import Services
from tests.serving.api.test_scoring_api import lead
from tests.serving.appkit import NOW, auth


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
    results = [r for r in scored["results"] if r["status"] == "scored"]
    tiers = [r["tier"] for r in results]
    client.get("/v1/leads/NOPE", headers=auth(keys["crm"]))
    client.get("/v1/models")
    found = samples(client, keys["admin"])
    route = (("method", "POST"), ("route", "/v1/leads/score"), ("status", "200"))
    assert found[("salesradar_http_requests_total", route)] == 1.0
    duration = ("salesradar_http_request_duration_seconds_count", route[:2])
    assert found[duration] == 1.0
    for tier in set(tiers):
        key = ("salesradar_scored_entities_total", (("task", "leads"), ("tier", tier)))
        assert found[key] == tiers.count(tier)
    assert found[("salesradar_served_score_count", (("task", "leads"),))] == 2.0
    assert found[("salesradar_served_score_sum", (("task", "leads"),))] == sum(
        r["score"] for r in results
    )
    assert found[("salesradar_scoring_entity_errors_total", (("task", "leads"),))] == 1.0
    not_found = (("method", "GET"), ("route", "/v1/leads/{lead_id}"), ("status", "404"))
    assert found[("salesradar_http_requests_total", not_found)] == 1.0
    anonymous = (("method", "GET"), ("route", "/v1/models"), ("status", "401"))
    assert found[("salesradar_http_requests_total", anonymous)] == 1.0
    served = [k for k in found if k[0] == "salesradar_model_info"]
    assert len(served) == 2 and all(found[k] == 1.0 for k in served)


def test_standard_collectors_state_gauges_and_no_created_series(
    client: TestClient, keys: dict[str, str], services: Services
) -> None:
    found = samples(client, keys["admin"])
    names = {name for name, _ in found}
    assert {"process_resident_memory_bytes", "python_info", "python_gc_collections_total"} <= names
    assert not any(name.endswith("_created") for name in names)
    # A registry that has not been asked yet (load_models=True asks it at startup): "ok".
    state = {
        labels: v for (n, labels), v in found.items() if n == "salesradar_model_registry_state"
    }
    assert state[(("salesradar_model_registry_state", "ok"),)] == 1.0
    assert sum(state.values()) == 1.0
    assert (
        found[("salesradar_published_run_age_seconds", ())]
        != found[("salesradar_published_run_age_seconds", ())]
    )  # NaN: nothing published yet
    run = services.store.begin_run(
        as_of=NOW - timedelta(days=2), started_at=NOW - timedelta(hours=2)
    )
    services.store.publish(run, published_at=NOW - timedelta(hours=1))
    found = samples(client, keys["admin"])
    assert found[("salesradar_published_run_age_seconds", ())] == 3600.0


def test_each_app_has_its_own_registry(
    client: TestClient, keys: dict[str, str], tmp_path, champions
) -> None:  # type: ignore[no-untyped-def]
    from serving.api.app import create_app
    from tests.serving.appkit import build_test_services, create_keys

    other = build_test_services(tmp_path / "other", champions)
    other_keys = create_keys(other)
    client.get("/v1/models", headers=auth(keys["crm"]))
    with TestClient(create_app(other)) as second:
        found = samples(second, other_keys["crm"])
    assert not any(
        k[0] == "salesradar_http_requests_total" and ("route", "/v1/models") in k[1] for k in found
    )
