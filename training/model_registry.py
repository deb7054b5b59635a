"""Read-only views of the model registry for ``salesradar models``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from features.contract.tasks import TASK_TABLES, Task
from features.contract.times import iso_utc


@dataclass(frozen=True)
class VersionRow:
    name: str
    version: str
    aliases: tuple[str, ...]
    created: str  # ISO 8601 UTC, whole seconds, "Z"
    metrics: dict[str, float]
    decision: str


def list_versions(client: MlflowClient, *, tasks: Sequence[Task]) -> list[VersionRow]:
    """Every version of the tasks' registered models, newest first, with run metrics."""
    rows: list[VersionRow] = []
    for task in tasks:
        name = TASK_TABLES[task].model_name
        try:
            versions = client.search_model_versions(f"name = '{name}'")
        except MlflowException:
            continue
        for found in sorted(versions, key=lambda v: -int(v.version)):
            # Search results leave aliases out on some stores; a direct read includes them.
            version = client.get_model_version(name, str(found.version))
            metrics = client.get_run(version.run_id).data.metrics if version.run_id else {}
            created = datetime.fromtimestamp(version.creation_timestamp / 1000, tz=UTC)
            rows.append(
                VersionRow(
                    name=name,
                    version=str(version.version),
                    aliases=tuple(sorted(version.aliases)),
                    created=iso_utc(created),
                    metrics=dict(metrics),
                    decision=version.tags.get("promotion.decision", ""),
                )
            )
    return rows
