"""What ``make run`` prints at the end: three fresh keys and ready-to-paste requests.

The IDs in the requests are real: the rep is the owner of the customer most at risk in the
published run, the customer is that one, and the lead payload is the hottest stored lead as the
export describes it (its record and its events), so the first curl a person pastes scores
something that exists.
"""

from __future__ import annotations

import json
import math
import shlex
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from features.errors import UserError
from features.export import Export, quote
from serving.keys import KeyStore, Role
from serving.store import ScoreStore

EVENTS_IN_PAYLOAD = 50  # the most recent ones: enough for every feature window that matters


@dataclass(frozen=True)
class Quickstart:
    admin_key: str
    crm_key: str
    rep_key: str
    rep_owner_id: str
    customer_id: str
    lead_payload_path: Path
    base_url: str

    def curls(self) -> list[tuple[str, str]]:
        """(what it does, the command) pairs."""
        auth = "Authorization: Bearer "
        payload = shlex.quote("@" + str(self.lead_payload_path))
        return [
            (
                "score a lead (CRM key)",
                f"curl -s -H '{auth}{self.crm_key}' -H 'Content-Type: application/json' "
                f"--data {payload} {self.base_url}/v1/leads/score",
            ),
            (
                f"read customer {self.customer_id}'s latest score (CRM key)",
                f"curl -s -H '{auth}{self.crm_key}' {self.base_url}/v1/customers/"
                f"{self.customer_id}",
            ),
            (
                f"rep {self.rep_owner_id}'s at-risk list (rep key)",
                f"curl -s -H '{auth}{self.rep_key}' '{self.base_url}/v1/lists/at-risk?limit=10'",
            ),
            (
                "the models being served (admin key)",
                f"curl -s -H '{auth}{self.admin_key}' {self.base_url}/v1/models",
            ),
        ]


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat() + "Z"
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def build_lead_payload(export: Export, lead_id: str, *, as_of: datetime) -> dict[str, Any]:
    """The scoring request the CRM would send for one lead, from the export, as of ``as_of``."""
    record = export.con.execute("SELECT * FROM leads WHERE lead_id = ?", [lead_id]).fetchdf()
    if record.empty:
        raise UserError(f"lead {lead_id} is in the scores database but not in the export")
    row = {k: _json_value(v) for k, v in record.iloc[0].to_dict().items()}
    events = export.con.execute(
        f"SELECT occurred_at, type, value, "
        f"{', '.join(quote(c) for c in export.event_text_columns.get('lead_events', ()))} "
        "FROM lead_events WHERE lead_id = ? AND occurred_at < ? "
        "ORDER BY occurred_at DESC LIMIT ?",
        [lead_id, as_of, EVENTS_IN_PAYLOAD],
    ).fetchdf()
    known = {"channel", "direction", "outcome"}
    event_rows = [
        {k: _json_value(v) for k, v in e.items() if k in {"occurred_at", "type", "value"} | known}
        for e in events.iloc[::-1].to_dict(orient="records")
    ]
    attributes = {
        a.name: row[a.name]
        for a in export.attributes.get("leads", ())
        if row.get(a.name) is not None
    }
    lead: dict[str, Any] = {
        "lead_id": lead_id,
        "created_at": row["created_at"],
        "owner_id": row["owner_id"],
        "attributes": attributes,
        "events": [{k: v for k, v in e.items() if v is not None} for e in event_rows],
    }
    if row.get("account_id") is not None:
        lead["account_id"] = row["account_id"]
    if row.get("expected_value") is not None:
        lead["expected_value"] = row["expected_value"]
    return {"as_of": as_of.isoformat() + "Z", "leads": [lead]}


def prepare_quickstart(
    *,
    store: ScoreStore,
    keys: KeyStore,
    export: Export,
    as_of: datetime,
    created_at: datetime,
    payload_path: Path,
    base_url: str,
) -> Quickstart:
    """Create an admin, a CRM and a rep key and write the example lead request to a file."""
    at_risk = store.list_scores("customer", limit=1)
    hot = store.list_scores("lead", limit=1)
    if not at_risk.items or not hot.items or at_risk.items[0].owner_id is None:
        raise UserError("no published scores yet; run 'salesradar score' first")
    customer = at_risk.items[0]
    owner = str(customer.owner_id)
    payload = build_lead_payload(export, hot.items[0].entity_id, as_of=as_of)
    payload_path.parent.mkdir(parents=True, exist_ok=True)
    payload_path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    tokens = {}
    for role, key_owner in ((Role.ADMIN, None), (Role.CRM, None), (Role.REP, owner)):
        _, tokens[role] = keys.create(
            role=role, owner_id=key_owner, label="make-run", created_at=created_at
        )
    return Quickstart(
        admin_key=tokens[Role.ADMIN],
        crm_key=tokens[Role.CRM],
        rep_key=tokens[Role.REP],
        rep_owner_id=owner,
        customer_id=customer.entity_id,
        lead_payload_path=payload_path,
        base_url=base_url,
    )
