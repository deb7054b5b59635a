"""salesradar as a user runs it, in a throwaway folder: CLI subprocesses and the API on 127.0.0.1.

Every step runs with ``cwd`` and all stores (MLflow, scores database, served copies) inside
``Workspace.root``, so the user's ``models/`` is never touched. Each step's output goes to a log
file; a step's outcome keeps the last line the command printed, verbatim.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pandas as pd

from benchmarks.bench_serving import free_port, server

BIN = Path(sys.executable).parent
KEY_PATTERN = re.compile(r"\bsr_[A-Za-z0-9_\-]+")
MAX_ENTITIES = 1_000  # serving.api.schemas.requests.MAX_ENTITIES
MAX_EVENTS_PER_ENTITY = 10_000  # serving.api.schemas.requests.MAX_EVENTS_PER_ENTITY
MAX_EVENTS_PER_REQUEST = 150_000  # below SALESRADAR_MAX_EVENTS_PER_REQUEST (200,000)
MAX_BODY_BYTES = 3_500_000  # below SALESRADAR_MAX_BODY_BYTES (4 MiB), leaving room for the envelope
CONTRACT_COLUMNS = {
    "leads": (
        "lead_id",
        "created_at",
        "owner_id",
        "account_id",
        "converted_at",
        "closed_lost_at",
        "expected_value",
    ),
    "churn": ("customer_id", "created_at", "owner_id", "account_id", "churned_at", "annual_value"),
}
EVENT_FIELDS = ("channel", "direction", "outcome")  # the API's optional event fields


@dataclass
class Step:
    """One command: exit code, seconds, last line printed (verbatim), peak resident memory."""

    name: str
    returncode: int
    seconds: float
    last_line: str
    peak_mb: float = 0.0

    @property
    def ok(self) -> bool:
        return self.returncode == 0


@dataclass
class Workspace:
    """A throwaway salesradar installation: stores, logs and the environment pointing at them."""

    root: Path
    steps: list[Step] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SALESRADAR_", "MLFLOW_"))}
        return {
            **env,
            "SALESRADAR_SCORES_URL": f"sqlite:///{self.root / 'models' / 'scores.db'}",
            "SALESRADAR_MLFLOW_TRACKING_URI": f"sqlite:///{self.root / 'models' / 'mlflow.db'}",
            "SALESRADAR_SERVED_DIR": str(self.root / "models" / "served"),
            "SALESRADAR_POLL_SECONDS": "0",
        }

    def run(self, name: str, *args: str, timeout: float = 1800) -> Step:
        """Run ``salesradar *args`` (bounded by ``timeout``); output to ``<root>/<name>.log``.

        Peak memory is the child's own high-water mark (``VmHWM``), read every 0.2 s while it
        runs: ``getrusage`` of children would count this process's memory, copied at fork.
        """
        (self.root / "models").mkdir(parents=True, exist_ok=True)
        log = self.root / f"{name}.log"
        started = time.perf_counter()
        with log.open("w", encoding="utf-8") as sink:
            process = subprocess.Popen(
                [str(BIN / "salesradar"), *args],
                cwd=self.root,
                env={**self.env, "COLUMNS": "200"},
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
            peak_kb = 0
            while process.poll() is None and time.perf_counter() - started < timeout:
                peak_kb = max(peak_kb, _high_water_kb(process.pid))
                time.sleep(0.2)
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)
                sink.write(f"\ntimed out after {timeout} s\n")
        output = log.read_text(encoding="utf-8")
        lines = [line.strip() for line in output.splitlines() if line.strip()]
        step = Step(
            name,
            process.returncode,
            time.perf_counter() - started,
            lines[-1] if lines else "",
            peak_kb / 1024,
        )
        self.steps.append(step)
        return step

    def errors(self, name: str, *, most: int = 3) -> str:
        """The first ``most`` lines of step ``name`` that start with "error", verbatim."""
        lines = [x.strip() for x in self.log(name).splitlines() if x.lower().startswith("error")]
        return " / ".join(lines[:most]) or self.log(name).strip().splitlines()[-1:][0]

    def log(self, name: str) -> str:
        """The full output of step ``name``."""
        path = self.root / f"{name}.log"
        return path.read_text(encoding="utf-8") if path.exists() else ""


def crm_key(workspace: Workspace) -> str | None:
    """Create a ``crm`` key with the CLI and return it (None if the command failed)."""
    step = workspace.run("keys", "keys", "create", "--role", "crm", "--label", "bench-public")
    found = KEY_PATTERN.findall(workspace.log("keys")) if step.ok else []
    return found[-1] if found else None


def force_champion(workspace: Workspace, *, task: str) -> str | None:
    """Point ``champion`` at the challenger when promotion refused it; returns the version.

    Only so the API can be measured at all: the report says the champion was forced.
    """
    from mlflow import MlflowClient

    from features.contract.tasks import TASK_TABLES, Task

    uri = workspace.env["SALESRADAR_MLFLOW_TRACKING_URI"]
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    name = TASK_TABLES[Task(task)].model_name
    try:
        version = client.get_model_version_by_alias(name, "challenger").version
    except Exception:
        return None
    client.set_registered_model_alias(name, "champion", str(version))
    return str(version)


@contextmanager
def serving(workspace: Workspace) -> Iterator[tuple[str, int]]:
    """Start ``salesradar serve`` on 127.0.0.1; yields (base URL, /health/ready status).

    ``benchmarks.bench_serving.server`` waits (bounded) for ``/health/live`` (ready may stay 503
    while a task has no champion) and stops the server afterwards.
    """
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [str(BIN / "salesradar"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with server(command, workspace.env, f"{base}/health/live", workspace.root / "serve.log"):
        yield base, httpx.get(f"{base}/health/ready", timeout=10).status_code


def request_entities(
    con: duckdb.DuckDBPyConnection, ids: list[str], *, task: str, as_of: datetime
) -> tuple[list[dict[str, Any]], int]:
    """API entities for ``ids`` as the CRM would send them as of ``as_of``.

    Attributes are the entity table's non-contract columns (numbers when every value of the
    column is a number, as validation decides); events are those strictly before ``as_of``, with
    ``value`` and the API's optional text fields when the export has them. An entity with more
    events than the API takes keeps its latest ``MAX_EVENTS_PER_ENTITY``. Returns (entities,
    number of entities truncated so).
    """
    table, events_table, key = (
        ("leads", "lead_events", "lead_id")
        if task == "leads"
        else ("customers", "customer_events", "customer_id")
    )
    con.register("wanted", pd.DataFrame({"entity_id": ids}))
    entities = (
        con.execute(f"SELECT t.* FROM {table} t JOIN wanted w ON t.{key} = w.entity_id")
        .df()
        .set_index(key)
    )
    attributes = [c for c in entities.columns if c not in CONTRACT_COLUMNS[task]]
    numeric = {c for c in attributes if _all_numbers(entities[c])}
    columns = set(con.execute(f"SELECT * FROM {events_table} LIMIT 0").df().columns)
    extra = [c for c in ("value", *EVENT_FIELDS) if c in columns]
    select = ", ".join(["e.occurred_at", "e.type", *(f"e.{c}" for c in extra)])
    events = con.execute(
        f"SELECT e.{key} AS entity_id, {select} FROM {events_table} e JOIN wanted w "
        f"ON e.{key} = w.entity_id WHERE e.occurred_at < ? ORDER BY 1, 2",
        [as_of],
    ).df()
    con.unregister("wanted")
    grouped = dict(tuple(events.groupby("entity_id", sort=False)))
    truncated = 0
    out = []
    for entity_id in ids:
        row = entities.loc[entity_id]
        history = grouped.get(entity_id)
        items: list[dict[str, Any]] = []
        if history is not None:
            if len(history) > MAX_EVENTS_PER_ENTITY:
                truncated += 1
                history = history.iloc[-MAX_EVENTS_PER_ENTITY:]
            for record in history.itertuples(index=False):
                event: dict[str, Any] = {
                    "occurred_at": f"{record.occurred_at:%Y-%m-%dT%H:%M:%S}",
                    "type": record.type,
                }
                if "value" in extra and not _missing(record.value):
                    event["value"] = float(record.value)
                for name in EVENT_FIELDS:
                    if name in extra and not _missing(getattr(record, name)):
                        event[name] = getattr(record, name)
                items.append(event)
        entity: dict[str, Any] = {
            key: entity_id,
            "created_at": f"{row['created_at']:%Y-%m-%dT%H:%M:%S}",
            "owner_id": row["owner_id"],
            "attributes": {c: _attribute(row[c], numeric=c in numeric) for c in attributes},
            "events": items,
        }
        amount = CONTRACT_COLUMNS[task][-1]
        if amount in row and not _missing(row[amount]):
            entity[amount] = float(row[amount])
        out.append(entity)
    return out, truncated


def score_through_api(
    base: str, key: str, entities: list[dict[str, Any]], *, task: str, as_of: datetime
) -> tuple[dict[str, float], list[str]]:
    """POST the entities in requests within the API's limits; (probability by id, errors)."""
    path, field_name, id_name = (
        ("/v1/leads/score", "leads", "lead_id")
        if task == "leads"
        else ("/v1/customers/score", "customers", "customer_id")
    )
    probabilities: dict[str, float] = {}
    errors: list[str] = []
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    with httpx.Client(base_url=base, headers=headers, timeout=300) as client:
        for batch in _batches(entities):
            body = {"as_of": f"{as_of:%Y-%m-%dT%H:%M:%S}Z", field_name: batch}
            response = client.post(path, content=json.dumps(body))
            if response.status_code != 200:
                errors.append(f"HTTP {response.status_code}: {response.text[:300]}")
                continue
            for result in response.json()["results"]:
                if result.get("status") == "scored":
                    probabilities[result[id_name]] = float(result["probability"])
                else:
                    errors.append(json.dumps(result)[:300])
    return probabilities, errors


def _batches(entities: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """Consecutive groups within the API's default limits: entities, events and body bytes."""
    batch: list[dict[str, Any]] = []
    events = size = 0
    for entity in entities:
        count, length = len(entity["events"]), len(json.dumps(entity)) + 2
        full = (
            len(batch) == MAX_ENTITIES
            or events + count > MAX_EVENTS_PER_REQUEST
            or size + length > MAX_BODY_BYTES
        )
        if batch and full:
            yield batch
            batch, events, size = [], 0, 0
        batch.append(entity)
        events += count
        size += length
    if batch:
        yield batch


def _high_water_kb(pid: int) -> int:
    """The process's peak resident set (kB) so far, 0 once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _missing(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, float) and value != value)


def _attribute(value: Any, *, numeric: bool) -> Any:
    if _missing(value):
        return None
    return float(value) if numeric else str(value)


def _all_numbers(values: Any) -> bool:
    present = [v for v in values if not _missing(v)]
    try:
        return bool(present) and all(float(v) == float(v) for v in present)
    except (TypeError, ValueError):
        return False
