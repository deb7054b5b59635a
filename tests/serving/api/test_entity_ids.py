"""Stored scores are read by any id the export holds, "/" included (sent as is or as %2F)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from serving.api.services import Services
from tests.serving.appkit import NOW, auth
from tests.serving.store.test_store import publish, row

ID = "ACME/2024/12"


@pytest.mark.parametrize(
    ("kind", "route", "id_name"),
    [
        ("lead", "leads", "lead_id"),
        ("customer", "customers", "customer_id"),
    ],
)
def test_an_id_with_slashes_is_read_back(
    client: TestClient,
    keys: dict[str, str],
    services: Services,
    kind: str,
    route: str,
    id_name: str,
) -> None:
    publish(services.store, [row(ID, 0.7, kind=kind, owner="rep-0")], at=NOW)
    for path in (f"/v1/{route}/ACME%2F2024%2F12", f"/v1/{route}/{ID}"):
        response = client.get(path, headers=auth(keys["crm"]))
        assert response.status_code == 200, (path, response.text)
        assert response.json()[id_name] == ID
    # The rep's own book, and another id's 404 still reads like any missing one.
    own = client.get(f"/v1/{route}/ACME%2F2024%2F12", headers=auth(keys["rep0"]))
    assert own.status_code == 200, own.text
    missing = client.get(f"/v1/{route}/ACME%2F2024%2F13", headers=auth(keys["crm"]))
    assert missing.status_code == 404 and missing.json()["detail"][0]["field"] == "id"
