"""The loop: validate -> score -> monitor -> (per task) due? -> retrain and promote, or promote
a waiting challenger -> notify.

Steps are injected callables (``PipelineSteps``), so the order, the idempotency and the
failure handling here are tested apart from the commands that do the work (``cli``). Every
step's decision is recorded as it is taken; a step an earlier run completed for the same
export content and as-of is reused, not redone ("reused" with the earlier run's reason). A
failing step stops the run: it is recorded, the run is marked failed, and ``PipelineFailed``
carries one line. Nothing here unpublishes: scoring publishes atomically or not at all, so the
run published before stays served.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from sqlalchemy import Engine

from features.contract.tasks import Task
from features.errors import UserError, one_line
from training.pipeline.records import (
    FAILED,
    REUSED,
    StepDecision,
    begin_pipeline_run,
    completed_steps,
    finish_pipeline_run,
    record_decision,
)

logger = logging.getLogger(__name__)

DUE = "due"
NOT_DUE = "not_due"


class PipelineFailed(UserError):
    """A step failed: ``str()`` is one line naming the step and why."""

    exit_code = 1


@dataclass(frozen=True)
class StepResult:
    """What a step did: an outcome word (``done``, ``due``, ``not_due``, ``promoted``, ...) and
    a one-line reason."""

    outcome: str
    reason: str


@dataclass(frozen=True)
class PipelineSteps:
    """The work, injected. Each callable raises (``UserError`` or anything else) on failure.

    ``tasks`` is read after scoring: the tasks the published run scored. ``due`` must return
    ``due`` or ``not_due``; ``retrain`` trains and applies the promotion rules. ``notify`` says
    what it delivered for the published run. ``promote`` (None: no such step) applies
    the promotion rules to a challenger already trained, when the task is not due: one that
    waited for shadow evidence (``[promotion] require_shadow_runs``) is promoted once it has it.
    """

    validate: Callable[[], StepResult]
    score: Callable[[], StepResult]
    monitor: Callable[[], StepResult]
    tasks: Callable[[], Sequence[Task]]
    due: Callable[[Task], StepResult]
    retrain: Callable[[Task], StepResult]
    notify: Callable[[], StepResult]
    promote: Callable[[Task], StepResult] | None = None


@dataclass
class PipelineReport:
    """One run: its id, every decision (done or reused) in order, and whether all were reused."""

    pipeline_run_id: str
    decisions: list[StepDecision] = field(default_factory=list)

    @property
    def all_reused(self) -> bool:
        return bool(self.decisions) and all(d.outcome == REUSED for d in self.decisions)


def run_pipeline(
    steps: PipelineSteps,
    *,
    engine: Engine,
    fingerprint: str,
    data: str,
    as_of: datetime,
    clock: Callable[[], datetime],
    pid: int,
    host: str,
    on_decision: Callable[[StepDecision], None] | None = None,
) -> PipelineReport:
    """Run the steps once for the export with content ``fingerprint`` as of ``as_of``.

    ``clock`` only stamps when things happened; it decides nothing. Each decision is recorded
    in the scores database behind ``engine`` and passed to ``on_decision`` as it is taken.
    Raises ``PipelineFailed`` (one line; the run and the failing step recorded as failed).
    """
    done_before = completed_steps(engine, fingerprint=fingerprint, as_of=as_of)
    run_id = begin_pipeline_run(
        engine,
        fingerprint=fingerprint,
        data=data,
        as_of=as_of,
        started_at=clock(),
        pid=pid,
        host=host,
    )
    report = PipelineReport(run_id)

    def step(name: str, work: Callable[[], StepResult], task: Task | None = None) -> StepResult:
        key = (name, None if task is None else task.value)
        earlier = done_before.get(key)
        if earlier is not None:
            result = StepResult(earlier.outcome, earlier.reason)
            reason = (
                f"{earlier.outcome} by pipeline run {earlier.pipeline_run_id}: {earlier.reason}"
            )
            _decide(name, key[1], REUSED, reason, earlier.pipeline_run_id)
            return result
        try:
            result = work()
        except Exception as exc:
            why = one_line(str(exc)) or type(exc).__name__
            if not isinstance(exc, UserError):
                logger.exception("pipeline step %s failed", name)
            where = name if task is None else f"{name} {task.value}"
            _decide(name, key[1], FAILED, why, None)
            finish_pipeline_run(
                engine, run_id, status=FAILED, reason=f"{where}: {why}", finished_at=clock()
            )
            raise PipelineFailed(f"pipeline failed at {where}: {why}") from exc
        _decide(name, key[1], result.outcome, result.reason, None)
        return result

    def _decide(name: str, task: str | None, outcome: str, reason: str, reused: str | None) -> None:
        decision = StepDecision(run_id, name, task, outcome, reason, reused, clock())
        record_decision(engine, decision)
        report.decisions.append(decision)
        if on_decision is not None:
            on_decision(decision)

    step("validate", steps.validate)
    step("score", steps.score)
    step("monitor", steps.monitor)
    for task in steps.tasks():
        verdict = step("due", partial(steps.due, task), task)
        if verdict.outcome == DUE:
            step("retrain", partial(steps.retrain, task), task)
        elif steps.promote is not None:
            step("promote", partial(steps.promote, task), task)
    step("notify", steps.notify)
    summary = (
        "nothing to do: every step was done before for this export and as-of"
        if report.all_reused
        else f"{len(report.decisions)} decision(s)"
    )
    finish_pipeline_run(engine, run_id, status="done", reason=summary, finished_at=clock())
    return report
