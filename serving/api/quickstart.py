"""What ``make run`` prints at the end: three fresh keys and ready-to-paste requests.

The IDs in the requests are real. With customers in the published run, the rep is the owner of
the customer most at risk and that customer's stored score is read back; with leads only, the
hottest lead plays that part. The scoring request is the hottest stored lead as the export
describes it (its record and its events), or the customer most at risk when no lead was scored,
so the first curl a person pastes scores something that exists.
"""

from __future__ import annotations

import json
import math
import shlex
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from features.contract.export import Export, quote
from features.contract.tasks import TASK_KINDS, TASK_TABLES, Task
from features.errors import UserError
from serving.store.database import ScoreStore, StoredScore
from serving.store.keys import KeyStore, Role

EVENTS_IN_PAYLOAD = 50  # the most recent ones: enough for every feature window that matters
ROUTES: dict[Task, tuple[str, str]] = {  # (collection in the API, list of the task)
    Task.LEADS: ("leads", "hot-leads"),
    Task.CHURN: ("customers", "at-risk"),
}


@dataclass(frozen=True)
class Quickstart:
    admin_key: str
    crm_key: str
    rep_key: str
    rep_owner_id: str
    read_task: Task  # whose stored score the second request reads, and whose list the rep gets
    read_id: str
    payload_task: Task  # what the scoring request in ``payload_path`` scores
    payload_path: Path
    base_url: str

    def curls(self) -> list[tuple[str, str]]:
        """(what it does, the command) pairs."""
        auth = "Authorization: Bearer "
        payload = shlex.quote("@" + str(self.payload_path))
        collection = ROUTES[self.payload_task][0]
        read_collection, list_name = ROUTES[self.read_task]
        kind = TASK_KINDS[self.read_task]
        return [
            (
                f"score a {TASK_KINDS[self.payload_task]} (CRM key)",
                f"curl -s -H '{auth}{self.crm_key}' -H 'Content-Type: application/json' "
                f"--data {payload} {self.base_url}/v1/{collection}/score",
            ),
            (
                f"read {kind} {self.read_id}'s latest score (CRM key)",
                f"curl -s -H '{auth}{self.crm_key}' {self.base_url}/v1/{read_collection}/"
                f"{self.read_id}",
            ),
            (
                f"rep {self.rep_owner_id}'s {list_name} list (rep key)",
                f"curl -s -H '{auth}{self.rep_key}' "
                f"'{self.base_url}/v1/lists/{list_name}?limit=10'",
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


def build_payload(export: Export, task: Task, entity_id: str, *, as_of: datetime) -> dict[str, Any]:
    """The scoring request the CRM would send for one lead or customer, from the export, as of
    ``as_of`` (its most recent events strictly before it). Raises ``UserError`` when the entity
    is not in the export."""
    tables = TASK_TABLES[task]
    record = export.con.execute(
        f"SELECT * FROM {tables.entity_table} WHERE {tables.key} = ?", [entity_id]
    ).fetchdf()
    if record.empty:
        raise UserError(
            f"{TASK_KINDS[task]} {entity_id} is in the scores database but not in the export"
        )
    row = {k: _json_value(v) for k, v in record.iloc[0].to_dict().items()}
    text_columns = export.event_text_columns.get(tables.events_table, ())
    events = export.con.execute(
        f"SELECT occurred_at, type, value, "
        f"{', '.join(quote(c) for c in text_columns)} "
        f"FROM {tables.events_table} WHERE {tables.key} = ? AND occurred_at < ? "
        "ORDER BY occurred_at DESC LIMIT ?",
        [entity_id, as_of, EVENTS_IN_PAYLOAD],
    ).fetchdf()
    known = {"occurred_at", "type", "value", "channel", "direction", "outcome"}
    event_rows = [
        {k: _json_value(v) for k, v in e.items() if k in known}
        for e in events.iloc[::-1].to_dict(orient="records")
    ]
    attributes = {
        a.name: row[a.name]
        for a in export.attributes.get(tables.entity_table, ())
        if row.get(a.name) is not None
    }
    entity: dict[str, Any] = {
        tables.key: entity_id,
        "created_at": row["created_at"],
        "owner_id": row["owner_id"],
        "attributes": attributes,
        "events": [{k: v for k, v in e.items() if v is not None} for e in event_rows],
    }
    for optional in ("account_id", tables.value_column):
        if row.get(optional) is not None:
            entity[optional] = row[optional]
    return {"as_of": as_of.isoformat() + "Z", ROUTES[task][0]: [entity]}


def prepare_quickstart(
    *,
    store: ScoreStore,
    keys: KeyStore,
    export: Export,
    as_of: datetime,
    created_at: datetime,
    payload_dir: Path,
    base_url: str,
) -> Quickstart:
    """Create an admin, a CRM and a rep key and write an example scoring request to a file
    (``quickstart-lead.json`` or ``quickstart-customer.json`` in ``payload_dir``).

    Works with whichever tasks the published run scored; raises ``UserError`` when it scored
    none (no run published yet) or its top entity has no owner.
    """
    top: dict[Task, StoredScore] = {}
    for task in (Task.CHURN, Task.LEADS):
        page = store.list_scores(TASK_KINDS[task], limit=1)
        if page.items:
            top[task] = page.items[0]
    if not top:
        raise UserError("no published scores yet; run 'salesradar score' first")
    read_task = next(iter(top))  # the customer most at risk if any, else the hottest lead
    owner = top[read_task].owner_id
    if owner is None:
        raise UserError(f"{TASK_KINDS[read_task]} {top[read_task].entity_id} has no owner_id")
    payload_task = Task.LEADS if Task.LEADS in top else Task.CHURN
    payload = build_payload(export, payload_task, top[payload_task].entity_id, as_of=as_of)
    payload_path = payload_dir / f"quickstart-{TASK_KINDS[payload_task]}.json"
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
        rep_owner_id=str(owner),
        read_task=read_task,
        read_id=top[read_task].entity_id,
        payload_task=payload_task,
        payload_path=payload_path,
        base_url=base_url,
    )
