"""The pipeline's steps as the CLI's own commands, run in this process.

Scoring is ``salesradar score`` exactly as a user runs it (same lock, same atomic publish, same
messages): ``training`` cannot import ``serving``, and the root CLI reaches both through its
entry points. Each command's one-line error becomes the step's failure reason. What a step
needs to decide (the published run, the champion, the monitoring results) is read afterwards
from the scores database and the MLflow registry.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TextIO

from mlflow import MlflowClient
from sqlalchemy import Engine

from features.contract.fingerprint import ExportFingerprint
from features.contract.tasks import TASK_TABLES, Task
from features.contract.times import iso_utc
from features.contract.validation import validate_export
from features.errors import UserError
from features.model.artifact_contract import CHALLENGER, CHAMPION
from training.config import TrainingConfig
from training.monitoring.store import (
    create_monitoring_schema,
    load_results,
    published_runs,
    run_export_sha256,
)
from training.pipeline.due import PERFORMANCE_METRICS, MaturedRun, retrain_due
from training.pipeline.loop import DUE, NOT_DUE, StepResult
from training.pipeline.records import REUSED
from training.promotion import alias_version


class _Tee(io.StringIO):
    """A text stream that keeps what is written and passes it on to ``target``, except a
    command's ``error:`` line (``features.errors.print_error`` writes it in one call): the
    pipeline's own one-line failure carries it, so the user reads it once."""

    def __init__(self, target: TextIO) -> None:
        super().__init__()
        self.target = target

    def write(self, text: str) -> int:
        if not text.startswith("error: "):
            self.target.write(text)
        return super().write(text)


def run_command(args: Sequence[str], *, context: object | None = None) -> None:
    """Run ``salesradar <args>`` in this process; raise ``UserError`` carrying its last
    error line (without ``error:``) when it exits non-zero.

    ``context`` becomes the command's click context object (``ctx.obj``): what the pipeline
    hands a command in-process only, out of reach of a command-line argument."""
    from features.cli.root import build_app  # the root CLI, with every registered command group

    captured = _Tee(sys.stderr)
    with contextlib.redirect_stderr(captured):
        code = build_app()(
            args=list(args), prog_name="salesradar", standalone_mode=False, obj=context
        )
    if code in (None, 0):
        return
    lines = [line for line in captured.getvalue().splitlines() if line.strip()]
    raise UserError(
        lines[-1].removeprefix("error: ") if lines else f"salesradar {args[0]} exited {code}"
    )


@dataclass(frozen=True)
class CommandSteps:
    """The steps for one export and as-of, with what the commands need passed explicitly;
    ``fingerprint`` is the export's content hash (``features.contract.fingerprint``), handed to
    ``score`` so that the export is hashed once per pipeline run."""

    data: Path
    fingerprint: ExportFingerprint
    as_of: datetime
    config: TrainingConfig
    config_path: Path | None
    models_dir: Path
    scores_url: str
    engine: Engine
    client: MlflowClient

    @property
    def _common(self) -> list[str]:
        config = [] if self.config_path is None else ["--config", str(self.config_path)]
        # With MLFLOW_TRACKING_URI set the commands read the URI's store, and refuse a
        # --models-dir naming another one (training.cli_options.models_dir_or_default).
        if os.environ.get("MLFLOW_TRACKING_URI", "").strip():
            return config
        return [*config, "--models-dir", str(self.models_dir)]

    def validate(self) -> StepResult:
        """The export checked as of the pipeline's as-of (strict: later rows are errors)."""
        report = validate_export(self.data, as_of=self.as_of)
        if not report.ok:
            raise UserError(
                f"{self.data} is not a valid export as of {iso_utc(self.as_of)}: "
                f"{len(report.errors)} error(s), first: {report.errors[0]}"
            )
        tasks = ", ".join(t.value for t in report.tasks) or "none"
        return StepResult("done", f"valid, {len(report.warnings)} warning(s); tasks: {tasks}")

    def score(self) -> StepResult:
        """``salesradar score`` as of the as-of; the reason names the run it published, or the
        run it stored unpublished when the published run is as of a later time (a backfill).

        The published run is reused instead (outcome ``reused``) when it already scored this
        export content, as of this as-of, with today's champion of every task it holds and of
        no other task: a ``salesradar score`` run before the pipeline, say."""
        reusable = self._reusable_run()
        if reusable is not None:
            run_id, tasks = reusable
            return StepResult(
                REUSED,
                f"published run {run_id} ({', '.join(tasks)}) already scored this export "
                "as of this as-of with the current champions",
            )
        run_command(
            ["score", "--data", str(self.data), "--as-of", self.as_of.isoformat()],
            context=self.fingerprint,
        )
        published = published_runs(self.engine)
        run_id, tasks = self._published()
        if published[-1].as_of <= self.as_of:
            return StepResult("done", f"published run {run_id} ({', '.join(tasks)})")
        # A backfill: `score` stored its run for monitor, behind the later published one.
        ids = {r.run_id for r in published}
        stored = [r for r in published_runs(self.engine, stored=True) if r.run_id not in ids]
        backfill = [r for r in stored if r.run_id == stored[-1].run_id] if stored else []
        if not backfill or backfill[0].as_of != self.as_of:
            raise UserError("no batch run stored after scoring")
        return StepResult(
            "done",
            f"stored run {backfill[0].run_id} ({', '.join(r.task for r in backfill)}) as of "
            f"{iso_utc(self.as_of)}, not published: the published run {run_id} is as of the "
            f"later {iso_utc(published[-1].as_of)}",
        )

    def _reusable_run(self) -> tuple[str, list[str]] | None:
        """The published run and its tasks when it matches this export, as-of and champions."""
        create_monitoring_schema(self.engine)
        try:
            runs = published_runs(self.engine)
        except UserError:  # nothing was ever scored
            return None
        last = [r for r in runs if r.run_id == runs[-1].run_id]
        if not last or last[0].as_of != self.as_of:
            return None
        if run_export_sha256(self.engine, last[0].run_id) != self.fingerprint.sha256:
            return None
        champions = {}
        for task in Task:
            version = alias_version(self.client, TASK_TABLES[task].model_name, CHAMPION)
            if version is not None:
                champions[task.value] = (TASK_TABLES[task].model_name, str(version.version))
        scored = {r.task: (r.model_name, r.model_version) for r in last}
        return (last[0].run_id, list(scored)) if scored == champions else None

    def monitor(self) -> StepResult:
        """``salesradar monitor`` on this export as of the as-of (every published run)."""
        run_command(
            ["monitor", "--data", str(self.data), "--as-of", self.as_of.isoformat(),
             *self._common, "--scores-url", self.scores_url]
        )  # fmt: skip
        results = load_results(self.engine)
        judged = 0 if results.empty else int((results["monitored_as_of"] == self.as_of).sum())
        return StepResult("done", f"{judged} run(s) and task(s) judged as of {iso_utc(self.as_of)}")

    def tasks(self) -> list[Task]:
        """The tasks of the last published run."""
        return [Task(t) for t in self._published()[1]]

    def due(self, task: Task) -> StepResult:
        """Whether ``task``'s champion is due (``training.pipeline.due``), from its MLflow run
        and the monitoring results of the runs it scored."""
        name = TASK_TABLES[task].model_name
        champion = alias_version(self.client, name, CHAMPION)
        if champion is None:
            return StepResult(DUE, f"{name} has no champion")
        run = self.client.get_run(champion.run_id)
        if "as_of" not in run.data.params:
            raise UserError(
                f"{name} v{champion.version}: its run {champion.run_id} records no as_of param, "
                "so its age is unknown; retrain it with 'salesradar train'"
            )
        create_monitoring_schema(self.engine)
        results = load_results(self.engine)
        if not results.empty:
            results = results.loc[
                (results["task"] == task.value)
                & (results["model_name"] == name)
                & (results["model_version"] == str(champion.version))
            ]
        latest = None if results.empty else results.iloc[-1]
        matured = results.loc[~results["partial"]] if not results.empty else results
        verdict = retrain_due(
            config=self.config.pipeline,
            as_of=self.as_of,
            trained_as_of=datetime.fromisoformat(run.data.params["as_of"]),
            drifted=None if latest is None else tuple(latest["drift"]["drifted"]),
            drift_run=None if latest is None else str(latest["run_id"]),
            matured=None
            if matured.empty
            else MaturedRun(
                str(matured.iloc[-1]["run_id"]),
                matured.iloc[-1]["as_of"],
                matured.iloc[-1]["outcome"]["metrics"],
            ),
            trained={
                m: run.data.metrics[f"test.{m}"]
                for m in PERFORMANCE_METRICS
                if f"test.{m}" in run.data.metrics
            },
        )
        reason = f"{name} v{champion.version}: " + "; ".join(verdict.reasons)
        return StepResult(DUE if verdict.due else NOT_DUE, reason)

    def retrain(self, task: Task) -> StepResult:
        """``salesradar train <task> --promote`` on this export as of the as-of; the outcome is
        the promotion decision recorded on the new version (``promoted`` / ``rejected``)."""
        run_command(
            ["train", task.value, "--data", str(self.data), "--as-of", self.as_of.isoformat(),
             "--promote", *self._common]
        )  # fmt: skip
        return self._decision(TASK_TABLES[task].model_name)

    def _decision(self, name: str) -> StepResult:
        """The promotion decision recorded on ``name``'s challenger, with its reasons."""
        version = alias_version(self.client, name, CHALLENGER)
        if version is None:  # train always moves the alias; a missing one is not ours to hide
            raise UserError(f"{name}: trained, but no '{CHALLENGER}' version in the registry")
        outcome = version.tags.get("promotion.decision", "undecided")
        reasons = self.client.get_run(version.run_id).data.tags.get("promotion.reasons", "")
        return StepResult(outcome, f"{name} v{version.version}: {reasons}")

    def promote(self, task: Task) -> StepResult:
        """``salesradar promote <task>`` for a challenger that waits for shadow evidence
        (``[promotion] require_shadow_runs`` > 0, a challenger other than the champion, not yet
        promoted); ``skipped`` with why otherwise. The outcome is the decision recorded on the
        challenger (``promoted`` / ``rejected``), with its reasons."""
        required = self.config.promotion.require_shadow_runs
        if required == 0:
            return StepResult("skipped", "[promotion] require_shadow_runs = 0: nothing waits")
        name = TASK_TABLES[task].model_name
        challenger = alias_version(self.client, name, CHALLENGER)
        champion = alias_version(self.client, name, CHAMPION)
        if challenger is None or (
            champion is not None and str(champion.version) == str(challenger.version)
        ):
            return StepResult("skipped", f"{name}: no challenger waits for promotion")
        run_command(["promote", task.value, *self._common])
        return self._decision(name)

    def notify(self) -> StepResult:
        """``salesradar notify --if-configured`` for the published run: digests and alerts not yet
        delivered for it (``score`` already sends them after publishing; this retries dead
        letters, and its ledger sends nothing twice). What reps receive depends on the published
        scores, not on the pipeline's decisions, so none are passed."""
        run_id, _tasks = self._published()
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            run_command(["notify", "--run-id", run_id, "--if-configured"])
        last = [line for line in out.getvalue().splitlines() if line.strip()]
        return StepResult("done", last[-1] if last else f"notify: run {run_id}")

    def _published(self) -> tuple[str, list[str]]:
        runs = published_runs(self.engine)
        if not runs:
            raise UserError("no published batch run after scoring")
        last = runs[-1].run_id
        return last, [r.task for r in runs if r.run_id == last]
