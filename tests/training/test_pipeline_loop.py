"""The loop's order, idempotency and failure handling, with steps that count their calls."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, select

from features.contract.tasks import Task
from training.pipeline.loop import (
    DUE,
    NOT_DUE,
    PipelineFailed,
    PipelineSteps,
    StepResult,
    run_pipeline,
)
from training.pipeline.records import (
    create_pipeline_schema,
    latest_running,
    pipeline_runs,
    run_decisions,
)

AS_OF = datetime(2026, 10, 1)


class Clock:
    """Ticks one second per reading, from a fixed start."""

    def __init__(self) -> None:
        self.now = datetime(2026, 10, 2, 3, 0)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = create_engine(f"sqlite:///{tmp_path / 'scores.db'}")
    create_pipeline_schema(engine)
    create_pipeline_schema(engine)  # idempotent
    return engine


def make_steps(calls: Counter[str], *, due: set[Task], fail: str | None = None) -> PipelineSteps:
    def work(name: str, outcome: str = "done") -> StepResult:
        calls[name] += 1
        if name == fail:
            raise ValueError(f"{name} broke\nsecond line")
        return StepResult(outcome, f"{name} ran")

    return PipelineSteps(
        validate=lambda: work("validate"),
        score=lambda: work("score"),
        monitor=lambda: work("monitor"),
        tasks=lambda: [Task.LEADS, Task.CHURN],
        due=lambda task: work(f"due {task.value}", DUE if task in due else NOT_DUE),
        retrain=lambda task: work(f"retrain {task.value}", "promoted"),
        notify=lambda: work("notify", "skipped"),
    )


def _run(engine: Engine, steps: PipelineSteps, fingerprint: str = "f" * 64):  # type: ignore[no-untyped-def]
    return run_pipeline(
        steps,
        engine=engine,
        fingerprint=fingerprint,
        data="export",
        as_of=AS_OF,
        clock=Clock(),
        pid=1,
        host="box",
    )


def test_a_run_records_every_step_and_retrains_only_what_is_due(engine: Engine) -> None:
    calls: Counter[str] = Counter()
    report = _run(engine, make_steps(calls, due={Task.CHURN}))
    assert [(d.step, d.task, d.outcome) for d in run_decisions(engine, report.pipeline_run_id)] == [
        ("validate", None, "done"),
        ("score", None, "done"),
        ("monitor", None, "done"),
        ("due", "leads", NOT_DUE),
        ("due", "churn", DUE),
        ("retrain", "churn", "promoted"),
        ("notify", None, "skipped"),
    ]
    assert report.decisions[-1].reason == "notify ran"
    assert "retrain leads" not in calls
    assert latest_running(engine) is None


def test_a_rerun_on_the_same_export_and_as_of_does_the_work_once(engine: Engine) -> None:
    calls: Counter[str] = Counter()
    _run(engine, make_steps(calls, due={Task.CHURN}))
    again = _run(engine, make_steps(calls, due={Task.CHURN}))
    assert all(count == 1 for count in calls.values()), calls
    assert again.all_reused
    first_score = again.decisions[1]
    assert first_score.reason.startswith("done by pipeline run ")
    assert first_score.reason.endswith(": score ran")
    # Another export content is new work.
    _run(engine, make_steps(calls, due=set()), fingerprint="e" * 64)
    assert calls["score"] == 2 and calls["retrain churn"] == 1


def test_a_failing_step_stops_the_run_with_one_line_and_a_rerun_resumes_there(
    engine: Engine,
) -> None:
    calls: Counter[str] = Counter()
    with pytest.raises(PipelineFailed) as failed:
        _run(engine, make_steps(calls, due={Task.LEADS}, fail="monitor"))
    assert str(failed.value) == "pipeline failed at monitor: monitor broke second line"
    with engine.connect() as conn:
        status, reason = conn.execute(select(pipeline_runs.c.status, pipeline_runs.c.reason)).one()
    assert (status, reason) == ("failed", "monitor: monitor broke second line")
    assert "due leads" not in calls and "notify" not in calls
    resumed = _run(engine, make_steps(calls, due={Task.LEADS}))
    assert calls["score"] == 1 and calls["monitor"] == 2 and calls["retrain leads"] == 1
    assert [d.outcome for d in resumed.decisions[:3]] == ["reused", "reused", "done"]


def test_a_task_not_due_gets_the_promote_step_and_a_due_one_retrains(engine: Engine) -> None:
    calls: Counter[str] = Counter()
    steps = dataclasses.replace(
        make_steps(calls, due={Task.CHURN}),
        promote=lambda task: StepResult("rejected", f"promote {task.value}: waits for shadow"),
    )
    report = _run(engine, steps)
    assert [(d.step, d.task, d.outcome) for d in report.decisions][3:6] == [
        ("due", "leads", NOT_DUE),
        ("promote", "leads", "rejected"),
        ("due", "churn", DUE),
    ]
    assert ("promote", "churn") not in [(d.step, d.task) for d in report.decisions]
