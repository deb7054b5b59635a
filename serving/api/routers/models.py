"""``GET /v1/models`` and ``POST /v1/admin/reload``."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import JSONResponse

from serving.api.deps import ALL_ROLES, ModelDep, PrincipalDep, ServicesDep, allow
from serving.api.errors import field_error
from serving.api.schemas.responses import ModelsOut, ReloadOut
from serving.champions.lifecycle import OK_OUTCOMES, ModelManager
from serving.champions.load_errors import ReloadInProgress
from serving.scoring.input_warnings import model_attributes
from serving.store.keys import Role

router = APIRouter(prefix="/v1", tags=["models"])


def _plain_metric(value: Any) -> float | int | str | None:
    return value if isinstance(value, (int, float, str)) or value is None else str(value)


def describe_models(models: ModelManager, *, internals: bool) -> dict[str, Any]:
    """The ``GET /v1/models`` body. Without ``internals`` (rep keys) every error is the
    path-free sentence of ``serving.champions.load_errors``: no file, folder or registry URL."""
    served = [m for task in models.tasks if (m := models.current(task)) is not None]
    errors = models.last_errors if internals else models.public_errors
    return {
        "registry": models.registry_state,
        "last_checked_at": models.last_checked_at,
        "tasks": models.task_states(internals=internals),
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
        "errors": {task.value: error for task, error in errors.items()},
        "local_copies": {
            task.value: (problem if internals else "the local copy failed verification")
            for task, problem in models.copy_problems.items()
        },
    }


@router.get(
    "/models",
    response_model=ModelsOut,
    dependencies=[Depends(allow(*ALL_ROLES))],
    operation_id="listModels",
)
def list_models(models: ModelDep, principal: PrincipalDep) -> dict[str, Any]:
    """Champion versions served, their test metrics, when loaded, artifact hashes; errors in
    full for CRM and admin keys, without file paths or URLs for reps."""
    return describe_models(models, internals=principal.role is not Role.REP)


@router.post(
    "/admin/reload",
    response_model=ReloadOut,
    dependencies=[Depends(allow(Role.ADMIN))],
    operation_id="reloadModels",
    responses={502: {"model": ReloadOut, "description": "a reload failed; old model kept"}},
)
def reload_models(services: ServicesDep) -> Any:
    """Load, verify and warm each champion, then swap; failures keep the old model (502).

    A task without a champion is reported as ``no_champion`` and is not a failure. Reloads are
    coalesced: while one runs (started at startup, by the poller or by another call) this
    answers 409 at once, naming what started it and when, instead of queueing."""
    try:
        results = services.models.reload(trigger="admin", wait=False)
    except ReloadInProgress as exc:
        raise HTTPException(
            status_code=409, detail=[field_error("", str(exc), "reload_in_progress")]
        ) from None
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
