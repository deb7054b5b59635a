"""``GET /v1/models`` and ``POST /v1/admin/reload``."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from serving.deps import ALL_ROLES, ModelDep, ServicesDep, allow
from serving.input_warnings import model_attributes
from serving.keys import Role
from serving.lifecycle import OK_OUTCOMES, ModelManager
from serving.schemas.responses import ModelsOut, ReloadOut

router = APIRouter(prefix="/v1", tags=["models"])


def _plain_metric(value: Any) -> float | int | str | None:
    return value if isinstance(value, (int, float, str)) or value is None else str(value)


def describe_models(models: ModelManager) -> dict[str, Any]:
    served = [m for task in models.tasks if (m := models.current(task)) is not None]
    return {
        "registry": models.registry_state,
        "last_checked_at": models.last_checked_at,
        "tasks": models.task_states(),
        "models": [
            {
                "task": m.task.value,
                "name": m.name,
                "version": m.version,
                "source": m.source,
                "loaded_at": m.loaded_at,
                "artifact_sha256": dict(m.sha256),
                "artifact_hash": m.artifact_hash,
                "run_id": m.run_id,
                "metrics": {k: _plain_metric(v) for k, v in m.metrics.items()},
                "event_types": {k.slug: list(k.types) for k in m.model.vocabulary.kinds},
                "activity_types": list(m.model.vocabulary.activity_types),
                "attributes": sorted(model_attributes(m.task, m.model)),
            }
            for m in served
        ],
        "errors": {task.value: error for task, error in models.last_errors.items()},
    }


@router.get(
    "/models",
    response_model=ModelsOut,
    dependencies=[Depends(allow(*ALL_ROLES))],
    operation_id="listModels",
)
def list_models(models: ModelDep) -> dict[str, Any]:
    """Champion versions served, their test metrics, when loaded, artifact hashes."""
    return describe_models(models)


@router.post(
    "/admin/reload",
    response_model=ReloadOut,
    dependencies=[Depends(allow(Role.ADMIN))],
    operation_id="reloadModels",
    responses={502: {"model": ReloadOut, "description": "a reload failed; old model kept"}},
)
def reload_models(services: ServicesDep) -> Any:
    """Load, verify and warm each champion, then swap; failures keep the old model (502).

    A task without a champion is reported as ``no_champion`` and is not a failure."""
    results = services.models.reload()
    for task in services.models.tasks:
        if (m := services.models.current(task)) is not None:
            services.metrics.set_model(task.value, m.name, m.version, m.source)
    payload = ReloadOut.model_validate(
        {
            "ok": all(r.outcome in OK_OUTCOMES for r in results),
            "results": [{**asdict(r), "task": r.task.value} for r in results],
        }
    )
    return JSONResponse(payload.model_dump(mode="json"), status_code=200 if payload.ok else 502)
