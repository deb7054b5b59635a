"""Promotion rules, champion history and rollback in the MLflow model registry.

A challenger becomes ``champion`` only if, on the challenger's own temporal test set (stored with
its run), it beats the current champion by ``margin`` on the configured metric, beats every
naive baseline, and passed the leakage audit. Every decision is recorded on the challenger's run.

The comparison is between *tested* models: with ``[split] refit_on_all`` the shipped model has
seen the test cutoffs, so each side is scored through its run's evaluated model
(``evaluated_model/``; the shipped one when nothing was refit). A champion whose compared model
knew outcomes after the challenger's first test cutoff is not compared (the decision says so).
A challenger trained without a temporal test is refused unless ``force_untested``.

Every tested decision also states the trees against the strongest simple model, the
logistic-regression model fitted beside them on the same cutoffs and scored on the same test set
(its figure is the run's ``logistic.<metric>``). When the trees do not beat it by
``[promotion] prefer_simple_margin`` the decision prefers the simpler model: the trees are judged
by the other rules, and when they pass, the run's logistic-regression model (calibrated like the
trees on the same cutoffs) is registered as a new version (``training.simple_model``) and that
version becomes champion in their place, when ``[promotion] serve_simple_model`` is on. Off (the
default), or for a run that did not log that model's own pack (``training.simple_pack``: trained
with the setting off, or before it was kept), the decision states the preference and that it is
not acted on (``SIMPLE_MODEL_NOT_SERVABLE``).

The aliases when the simple model is served: ``champion`` AND ``challenger`` move to the new
version, exactly as when trees are promoted (both aliases on one version: nothing is
shadow-scored), and the trees' version is tagged ``superseded_by`` with it. The trees lost to a
simpler model, so they are not left as ``challenger``, which would have every batch run score
them in shadow until the next training. The decision is recorded on both versions (and both
runs), so the challenger's recorded decision reads ``promoted`` with the same reasons.

With ``[promotion] require_shadow_runs = N`` (N > 0) a challenger is also refused until
``salesradar monitor`` has compared it with the current champion on at least N matured shadow
runs (``training.monitoring.shadow``, read from the challenger version's tag) and it did not
lose on the promotion metric there (``shadow_rule``).
"""

from __future__ import annotations

import json
import logging
import math
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.entities import Run
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from features.contract.tasks import TASK_TABLES, Task
from features.errors import UserError
from features.model.artifact_contract import (
    CHALLENGER,
    CHAMPION,
    SCORING_MODEL_PATH,
    SHA256_TAG_PREFIX,
)
from features.model.frame_values import FeatureFrameError
from features.model.scoring_model import ScoringModel
from training.config import PromotionConfig
from training.metrics import probability_metrics
from training.monitoring.shadow import ShadowEvidence, shadow_evidence
from training.simple_model import register_simple_model, simple_model_servable
from training.tracking import (
    EVALUATED_MODEL_PATH,
    EVALUATED_SHA256_TAG_PREFIX,
    LEAKAGE_FINDINGS_ARTIFACT,
    NO_TEMPORAL_TEST,
    TEMPORAL_TEST_TAG,
    TEST_FRAME_ARTIFACT,
)

# Where runs logged before leakage_findings.json kept the findings (tested runs only).
METRICS_ARTIFACT = "evaluation/metrics.json"

logger = logging.getLogger(__name__)

HISTORY_TAG = "champion_history"  # registered-model tag: JSON list of versions, newest last
LOWER_IS_BETTER = frozenset({"brier", "log_loss", "ece"})
SIMPLE_MODEL_METRIC_PREFIX = "logistic."  # the run's metrics of the logistic-regression model
# The end of the decision's sentence when the preference will be acted on.
SIMPLE_SERVED = "if they pass, the logistic-regression model is served in their place"
SIMPLE_MODEL_NOT_SERVABLE = (
    "the logistic-regression model is not served: [promotion] serve_simple_model is false, or "
    "this run was not trained with it on (no simple_model_pack/: the model's own cards, plots "
    "and monitoring reference)"
)
SUPERSEDED_TAG = "superseded_by"  # on the trees' version: the simple version served instead


@dataclass(frozen=True)
class Decision:
    """A promotion decision: ``reasons`` (failures when refused, else passes; then the
    simple-model comparison, prefixed "passed: " on a refusal when the trees beat it), the
    metric, the challenger's and champion's figures, the simple model's figure (None: not
    recorded) and whether the rule prefers the simple model."""

    promote: bool
    reasons: tuple[str, ...]
    metric: str
    challenger: float
    champion: float | None
    simple: float | None = None
    prefer_simple: bool = False
    serve_simple: bool = False  # preferred, configured and kept: promote serves it if it passes
    served_version: str | None = None  # set by ``promote``: the version made champion


def simple_model_reason(
    *, metric: str, margin: float, trees: float, simple: float | None, servable: bool = False
) -> tuple[bool, str | None]:
    """(prefer the simple model?, the sentence saying why) for the trees' ``metric`` figure
    against the logistic-regression model's on the same test set.

    The simple model is preferred when the trees do not beat it by ``margin`` (in the metric's
    better direction). A NaN on either side decides nothing (a NaN never beats anything). No
    figure (``simple`` None: an untested run, or one logged before the figure was kept) gives
    no sentence. ``servable``: the run kept its logistic-regression model, so a preference is
    acted on when the other rules pass; otherwise the sentence adds ``SIMPLE_MODEL_NOT_SERVABLE``.
    """
    if simple is None:
        return False, None
    if math.isnan(simple) or math.isnan(trees):
        return False, f"trees vs logistic regression on {metric} undefined (NaN): not compared"
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    if sign * (trees - simple) >= margin:
        return False, (
            f"trees {metric} {trees:.4f} beat logistic regression {simple:.4f} by >= {margin}"
        )
    preferred = (
        f"trees {metric} {trees:.4f} do not beat logistic regression {simple:.4f} by {margin}: "
        "the simpler model is preferred"
    )
    if servable:
        return True, f"{preferred}; the trees are judged by the other rules and, {SIMPLE_SERVED}"
    return True, (
        f"{preferred}, but {SIMPLE_MODEL_NOT_SERVABLE}; the trees are judged by the other rules"
    )


def shadow_rule(
    *,
    required: int,
    metric: str,
    evidence: ShadowEvidence | None,
    challenger_version: str,
    champion_version: str | None,
) -> tuple[bool, str] | None:
    """(passed?, the sentence saying why) of ``[promotion] require_shadow_runs`` = ``required``;
    None when it is 0 (not required).

    Passes when there is no champion (nothing to shadow), or when ``evidence`` (the
    challenger's comparison with this champion on matured shadow runs, from ``salesradar
    monitor``) covers at least ``required`` runs and the challenger did not lose on ``metric``
    (a tie passes; a NaN on either side never does).
    """
    if required == 0:
        return None
    if champion_version is None:
        return True, "no current champion: no shadow comparison required"
    who = f"challenger v{challenger_version} vs champion v{champion_version}"
    runs = 0 if evidence is None else evidence.runs
    if evidence is None or runs < required:
        return False, (
            f"{who}: compared on {runs} matured shadow run(s), [promotion] require_shadow_runs "
            f"= {required} (score with the challenger in shadow, then run 'salesradar monitor' "
            "once the runs' horizons close)"
        )
    ours = evidence.challenger.get(metric, math.nan)
    theirs = evidence.champion.get(metric, math.nan)
    on = f"on {runs} matured shadow run{'' if runs == 1 else 's'} ({evidence.entities:,} entities)"
    if math.isnan(ours) or math.isnan(theirs):
        return False, f"{who}: {metric} undefined (NaN) {on}"
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    if sign * (ours - theirs) < 0:
        return False, f"{who}: lost on {metric} {on}, {ours:.4f} vs {theirs:.4f}"
    return True, f"{who}: did not lose on {metric} {on}, {ours:.4f} vs {theirs:.4f}"


def decide(
    *,
    metric: str,
    margin: float,
    challenger: float,
    champion: float | None,
    baselines: Mapping[str, float],
    leakage_passed: bool,
    champion_problem: str | None = None,
    champion_not_compared: str | None = None,
    leakage_findings: Sequence[tuple[str, str]] = (),
    simple: float | None = None,
    simple_margin: float = 0.0,
    shadow: tuple[bool, str] | None = None,
    simple_servable: bool = False,
) -> Decision:
    """Apply the promotion rules; ``reasons`` say why, pass or fail, one per rule, and end
    with the trees against the logistic-regression figure ``simple`` (``simple_model_reason``
    with ``simple_margin``; None: not recorded; ``simple_servable``: the run kept that model).

    ``champion`` None with ``champion_not_compared`` set: a champion exists but could not be
    compared fairly (the text says why); the rule passes with that text. ``leakage_findings``
    are the audit's (feature, reason) pairs; a failed audit's reason names each with its figure.
    ``shadow`` is ``shadow_rule``'s verdict (None: not required).
    """
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    failures: list[str] = []
    passes: list[str] = []
    if math.isnan(challenger):
        # Undefined on its test set (e.g. one class only): a NaN never beats anything, and
        # every comparison below would otherwise pass or fail by accident of NaN ordering.
        failures.append(f"challenger {metric} is NaN: undefined on its test set")
    elif champion_problem is not None:
        failures.append(champion_problem)
    elif champion is None:
        passes.append(champion_not_compared or "no current champion")
    elif sign * (challenger - champion) >= margin:
        passes.append(f"{metric} {challenger:.4f} beats champion {champion:.4f} by >= {margin}")
    else:
        failures.append(
            f"{metric} {challenger:.4f} does not beat champion {champion:.4f} by {margin}"
        )
    if not baselines:
        failures.append("no naive baseline was evaluated")
    for name, value in baselines.items():
        if math.isnan(value) or sign * (challenger - value) > 0:
            passes.append(f"{metric} beats naive baseline {name} ({value:.4f})")
        else:
            failures.append(f"{metric} {challenger:.4f} does not beat naive {name} ({value:.4f})")
    if leakage_passed:
        passes.append("leakage audit passed")
    else:
        failures.append(leakage_failure(leakage_findings))
    if shadow is not None:
        (passes if shadow[0] else failures).append(shadow[1])
    prefer_simple, simple_note = simple_model_reason(
        metric=metric,
        margin=simple_margin,
        trees=challenger,
        simple=simple,
        servable=simple_servable,
    )
    compared = simple is not None and not math.isnan(simple) and not math.isnan(challenger)
    if simple_note and failures and compared and not prefer_simple:
        # A refusal lists only what failed; the trees beating logistic regression is a check
        # that passed, so it is labelled as such rather than read as one more refusal reason.
        simple_note = f"passed: {simple_note}"
    return Decision(
        promote=not failures,
        reasons=(*(failures or passes), *([simple_note] if simple_note else [])),
        metric=metric,
        challenger=challenger,
        champion=champion,
        simple=simple,
        prefer_simple=prefer_simple,
        serve_simple=prefer_simple and simple_servable,
    )


def leakage_failure(findings: Sequence[tuple[str, str]]) -> str:
    """The refusal reason of a failed leakage audit: each flagged feature with the figure that
    flagged it (the audit's own reason text, as on the model card)."""
    if not findings:
        return "leakage audit failed"
    return "leakage audit failed: " + "; ".join(f"{f}: {reason}" for f, reason in findings)


def leakage_findings(client: MlflowClient, run: Run) -> list[tuple[str, str]]:
    """The (feature, reason) findings logged with ``run``; empty when none were recorded."""
    names = {a.path for a in client.list_artifacts(run.info.run_id)}
    names |= {a.path for a in client.list_artifacts(run.info.run_id, "evaluation")}
    for artifact in (LEAKAGE_FINDINGS_ARTIFACT, METRICS_ARTIFACT):
        if artifact not in names:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            path = client.download_artifacts(run.info.run_id, artifact, tmp)
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        return [(str(f), str(r)) for f, r in data.get("leakage_findings", [])]
    return []


def alias_version(client: MlflowClient, name: str, alias: str) -> ModelVersion | None:
    """The version holding ``alias``, or None when the alias (or the model) does not exist."""
    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def load_version(client: MlflowClient, version: ModelVersion, directory: Path) -> ScoringModel:
    """Download a version's ScoringModel files and load them, verified against its sha256 tags."""
    expected = {
        key.removeprefix(SHA256_TAG_PREFIX): value
        for key, value in version.tags.items()
        if key.startswith(SHA256_TAG_PREFIX)
    }
    local = client.download_artifacts(version.run_id, SCORING_MODEL_PATH, str(directory))
    return ScoringModel.load(Path(local), expected_sha256=expected)


def load_tested(client: MlflowClient, version: ModelVersion, directory: Path) -> ScoringModel:
    """The version's evaluated model (its run's ``evaluated_model/``, verified against the run's
    ``evaluated_sha256.*`` tags), or the shipped one when the run refit nothing."""
    tags = client.get_run(version.run_id).data.tags
    expected = {
        key.removeprefix(EVALUATED_SHA256_TAG_PREFIX): value
        for key, value in tags.items()
        if key.startswith(EVALUATED_SHA256_TAG_PREFIX)
    }
    if not expected:
        return load_version(client, version, directory)
    local = client.download_artifacts(version.run_id, EVALUATED_MODEL_PATH, str(directory))
    return ScoringModel.load(Path(local), expected_sha256=expected)


def outcomes_known_until(model: ScoringModel) -> datetime | None:
    """End of the latest label window the model's trees or calibrator saw (from its metadata),
    or None when its metadata does not say."""
    meta = model.metadata
    seen = meta.get("fit_cutoffs") or [
        *meta.get("train_cutoffs", []),
        *meta.get("calibration_cutoffs", []),
    ]
    if not seen or "horizon_days" not in meta:
        return None
    return max(datetime.fromisoformat(c) for c in seen) + timedelta(days=meta["horizon_days"])


def promote(
    client: MlflowClient,
    *,
    task: Task,
    config: PromotionConfig,
    now: datetime,
    force_untested: bool = False,
) -> Decision:
    """Decide on the current challenger and move ``champion`` to it if the rules pass.

    A challenger without a temporal test is refused (recorded, not an error) unless
    ``force_untested``; then only the leakage audit is checked.
    """
    name = TASK_TABLES[task].model_name
    challenger = alias_version(client, name, CHALLENGER)
    if challenger is None:
        raise UserError(f"{name} has no '{CHALLENGER}' version; run 'salesradar train {task}'")
    champion = alias_version(client, name, CHAMPION)
    if champion is not None and str(champion.version) == str(challenger.version):
        raise UserError(f"{name} version {challenger.version} is already the champion")
    run = client.get_run(challenger.run_id)
    passed = run.data.tags.get("leakage_audit") == "passed"
    findings = [] if passed else leakage_findings(client, run)
    shadow = shadow_rule(
        required=config.require_shadow_runs,
        metric=config.metric,
        evidence=None
        if champion is None
        else shadow_evidence(dict(challenger.tags or {}), str(champion.version)),
        challenger_version=str(challenger.version),
        champion_version=None if champion is None else str(champion.version),
    )
    if run.data.tags.get(TEMPORAL_TEST_TAG) == NO_TEMPORAL_TEST:
        decision = decide_untested(
            force=force_untested, leakage_passed=passed, leakage_findings=findings, shadow=shadow
        )
    else:
        decision = _decide_tested(client, run, challenger, champion, config, findings, shadow)
    if decision.promote:
        decision = _serve_preferred(client, run, name, challenger, decision)
    _record(client, run.info.run_id, name, challenger, champion, decision, now)
    if decision.promote:
        served = decision.served_version or str(challenger.version)
        history = _history(client, name, champion)
        client.set_registered_model_alias(name, CHAMPION, served)
        client.set_registered_model_tag(name, HISTORY_TAG, json.dumps([*history, served]))
        if served != str(challenger.version):
            _supersede(client, name, challenger, champion, served, decision, now)
    return decision


def _supersede(
    client: MlflowClient,
    name: str,
    trees: ModelVersion,
    champion: ModelVersion | None,
    served: str,
    decision: Decision,
    now: datetime,
) -> None:
    """The alias rule when the simple version ``served`` replaced the trees' ``trees`` (see the
    module docstring): ``challenger`` moves to it, the trees get ``superseded_by``, and the
    decision (against the previous ``champion``) is recorded on it too."""
    client.set_registered_model_alias(name, CHALLENGER, served)
    client.set_model_version_tag(name, str(trees.version), SUPERSEDED_TAG, served)
    simple = client.get_model_version(name, served)
    _record(client, str(simple.run_id), name, simple, champion, decision, now)


def _serve_preferred(
    client: MlflowClient, run: Run, name: str, challenger: ModelVersion, decision: Decision
) -> Decision:
    """``decision`` (a promotion) with the version to make champion: the trees' challenger, or,
    when the rule prefers the simple model and the run kept it, that model newly registered."""
    if not decision.serve_simple:
        return replace(decision, served_version=str(challenger.version))
    version = register_simple_model(client, run, name=name)
    note = (
        f"logistic regression registered as version {version} and made champion in place of "
        f"the trees (version {challenger.version})"
    )
    return replace(decision, reasons=(*decision.reasons, note), served_version=version)


def decide_untested(
    *,
    force: bool,
    leakage_passed: bool,
    leakage_findings: Sequence[tuple[str, str]] = (),
    shadow: tuple[bool, str] | None = None,
) -> Decision:
    """A challenger trained without a temporal test: refused unless forced (and never when its
    leakage audit failed; the reason then names each finding), nor when ``shadow``
    (``shadow_rule``'s verdict; None: not required) fails."""
    reasons = []
    if not force:
        reasons.append(
            "no temporal test: the model was never scored on later time "
            "(promote with --force-untested to ship it anyway)"
        )
    if not leakage_passed:
        reasons.append(leakage_failure(leakage_findings))
    if shadow is not None and not shadow[0]:
        reasons.append(shadow[1])
    promote_it = not reasons
    if promote_it:
        reasons = ["forced without a temporal test (--force-untested)", "leakage audit passed"]
        reasons += [] if shadow is None else [shadow[1]]
    nan = float("nan")
    return Decision(promote_it, tuple(reasons), metric="none", challenger=nan, champion=None)


def _decide_tested(
    client: MlflowClient,
    run: Run,
    challenger: ModelVersion,
    champion: ModelVersion | None,
    config: PromotionConfig,
    findings: Sequence[tuple[str, str]],
    shadow: tuple[bool, str] | None,
) -> Decision:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        test_path = client.download_artifacts(run.info.run_id, TEST_FRAME_ARTIFACT, str(root))
        test = pd.read_parquet(test_path)
        capacity = int(run.data.params.get("capacity", "200"))
        challenger_value = _metric(
            load_tested(client, challenger, root / "challenger"), test, config.metric, capacity
        )
        champion_value, problem, not_compared = None, None, None
        if champion is not None:
            model = load_tested(client, champion, root / "champion")
            champion_value, problem, not_compared = _champion_value(
                model, champion, test, config.metric, capacity
            )
    baselines = {
        key.removeprefix("baseline.").removesuffix(f".{config.metric}"): value
        for key, value in run.data.metrics.items()
        if key.startswith("baseline.") and key.endswith(f".{config.metric}")
    }
    return decide(
        metric=config.metric,
        margin=config.margin,
        challenger=challenger_value,
        champion=champion_value,
        baselines=baselines,
        leakage_passed=run.data.tags.get("leakage_audit") == "passed",
        champion_problem=problem,
        champion_not_compared=not_compared,
        leakage_findings=findings,
        simple=run.data.metrics.get(f"{SIMPLE_MODEL_METRIC_PREFIX}{config.metric}"),
        simple_margin=config.prefer_simple_margin,
        shadow=shadow,
        simple_servable=config.serve_simple_model and simple_model_servable(run),
    )


def _champion_value(
    model: ScoringModel, champion: ModelVersion, test: pd.DataFrame, metric: str, capacity: int
) -> tuple[float | None, str | None, str | None]:
    """(the champion's metric on ``test``, a problem that blocks promotion, why it was not
    compared): not compared when it knew outcomes after the test set's first cutoff."""
    first_test = pd.to_datetime(test["cutoff"]).min().to_pydatetime()
    known = outcomes_known_until(model)
    if known is not None and known > first_test:
        return (
            None,
            None,
            (
                f"champion version {champion.version} not compared: it knew outcomes until "
                f"{known:%Y-%m-%d}, after this test set's cutoff {first_test:%Y-%m-%d}"
            ),
        )
    try:
        return _metric(model, test, metric, capacity), None, None
    except FeatureFrameError as exc:
        problem = f"champion version {champion.version} cannot score this test set: {exc}"
        return None, problem, None


def rollback(client: MlflowClient, *, task: Task, now: datetime) -> tuple[str, str]:
    """Restore the previous champion; return (version rolled back from, version restored)."""
    name = TASK_TABLES[task].model_name
    champion = alias_version(client, name, CHAMPION)
    if champion is None:
        raise UserError(f"{name} has no champion to roll back")
    history = _history(client, name, champion)
    if len(history) < 2:
        raise UserError(f"{name} has no previous champion to restore (history: {history})")
    current, previous = history[-1], history[-2]
    client.set_registered_model_alias(name, CHAMPION, previous)
    client.set_registered_model_tag(name, HISTORY_TAG, json.dumps(history[:-1]))
    client.set_model_version_tag(name, current, "rolled_back_at", now.isoformat())
    logger.info("%s: champion rolled back from %s to %s", name, current, previous)
    return current, previous


def _history(client: MlflowClient, name: str, champion: ModelVersion | None) -> list[str]:
    """Champion versions, oldest first, ending with the current champion if there is one."""
    tags = client.get_registered_model(name).tags
    history: list[str] = json.loads(tags.get(HISTORY_TAG, "[]"))
    # An alias moved by hand (e.g. in the MLflow UI) still counts as a champion we can return to.
    if champion is not None and (not history or history[-1] != str(champion.version)):
        history.append(str(champion.version))
    return history


def _metric(model: ScoringModel, test: pd.DataFrame, metric: str, capacity: int) -> float:
    labels = test["label"].to_numpy(dtype="int64")
    values = test["value"].to_numpy(dtype="float64")
    proba = model.predict_proba(test)
    metrics = probability_metrics(labels, proba, values, capacity=capacity, ece_bins=10)
    if metric not in metrics:
        raise UserError(f"promotion metric {metric!r} is not one of {', '.join(metrics)}")
    return float(np.asarray(metrics[metric]))


def _record(
    client: MlflowClient,
    run_id: str,
    name: str,
    challenger: ModelVersion,
    champion: ModelVersion | None,
    decision: Decision,
    now: datetime,
) -> None:
    outcome = "promoted" if decision.promote else "rejected"
    client.set_tag(run_id, "promotion.decision", outcome)
    client.set_tag(run_id, "promotion.reasons", "; ".join(decision.reasons)[:5000])
    client.set_model_version_tag(name, str(challenger.version), "promotion.decision", outcome)
    record = {
        **asdict(decision),
        "decided_at": now.isoformat(),
        "challenger_version": str(challenger.version),
        "champion_version": str(champion.version) if champion else None,
    }
    client.log_dict(run_id, record, f"promotion/decision-{now:%Y%m%dT%H%M%S}.json")
