"""Conformance on data no one here wrote: public datasets shipped inside packages on the package
index, converted into the export contract, run through salesradar's CLI and API, and scored beside
naive baselines and a logistic regression on flat features over the same temporal split.

    python -m benchmarks.bench_public [--datasets NAME ...] [--seed 7]

Per dataset (benchmarks/public/datasets.py; docs/public-benchmarks.md): convert into
``data/public/<name>/``; ``salesradar validate``; ``salesradar train <task> --promote`` with the
dataset's as-of, horizon and cutoffs, stores in a throwaway folder; ``salesradar score`` (batch);
``salesradar keys create --role crm``; ``salesradar serve`` on 127.0.0.1 and ``POST`` every test
entity as of the test cutoff. The test cutoff is the last labelled one (as salesradar picks it);
the reference scorers learn from the earlier cutoffs whose label windows close by it.

Exports hold only the halves a dataset has (ChurnSim: customers only).
Every failure is reported with the command's own last line; nothing is retried or hidden.
"""

from __future__ import annotations

import argparse
import math
import resource
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmarks.public import flat
from benchmarks.public.datasets import DATASETS, Dataset, Paths, prepare
from benchmarks.public.salesradar_steps import (
    Step,
    Workspace,
    crm_key,
    force_champion,
    request_entities,
    score_through_api,
    serving,
)
from training.config import DEFAULT_CONFIG_PATH

SALESRADAR = "salesradar (API)"


@dataclass
class Outcome:
    """What one dataset produced: test rows, metrics per scorer, and notes in plain words."""

    dataset: Dataset
    rows: int = 0
    positives: int = 0
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    seconds: float = 0.0


def evaluate(dataset: Dataset, paths: Paths, *, seed: int, work: Path) -> Outcome:
    """Convert, run salesradar and the reference scorers, and measure all on the same test rows."""
    outcome = Outcome(dataset)
    started = time.perf_counter()
    export = prepare(dataset, paths)
    split = flat.temporal_split(dataset.cutoffs, horizon=dataset.horizon, as_of=dataset.as_of)
    con = flat.connect(export)
    spine = flat.spine(
        con,
        task=dataset.task,
        cutoffs=split.all,
        horizon=dataset.horizon,
        activity_types=dataset.activity_types,
    )
    types = flat.vocabulary(con, task=dataset.task, before=split.test)
    features = flat.flat_features(
        con, spine, task=dataset.task, types=types, activity_types=dataset.activity_types
    )
    is_test = (spine["cutoff"] == split.test).to_numpy()
    test_rows = spine[is_test].reset_index(drop=True)
    labels = test_rows["label"].to_numpy(int)
    outcome.rows, outcome.positives = len(labels), int(labels.sum())

    workspace = Workspace(work / dataset.name)
    probabilities = run_salesradar(dataset, export, split, test_rows, workspace, con, outcome)
    if probabilities is not None:
        outcome.metrics[SALESRADAR] = flat.ranking_metrics(labels, probabilities)
    lr = flat.logistic_scores(
        features[~is_test],
        spine.loc[~is_test, "label"].to_numpy(int),
        features[is_test],
        seed=seed,
    )
    outcome.metrics["logistic regression (flat)"] = flat.ranking_metrics(labels, lr)
    for name, scores in flat.naive_scores(features[is_test], task=dataset.task).items():
        outcome.metrics[f"naive: {name}"] = flat.ranking_metrics(labels, scores)
    con.close()
    outcome.notes.append(
        f"cutoffs: learn {', '.join(f'{c:%Y-%m-%d}' for c in split.learn)}; "
        f"test {split.test:%Y-%m-%d}; horizon {dataset.horizon.days}d; as of {dataset.as_of:%F}; "
        f"{len(types)} event types"
    )
    outcome.steps = workspace.steps
    outcome.notes.append(
        "salesradar steps: "
        + "; ".join(
            f"{s.name} {'ok' if s.ok else f'exit {s.returncode}'} {s.seconds:.0f}s "
            f"{s.peak_mb:,.0f} MB"
            for s in workspace.steps
        )
    )
    outcome.seconds = time.perf_counter() - started
    return outcome


def run_salesradar(
    dataset: Dataset,
    export: Path,
    split: flat.Split,
    test_rows,  # type: ignore[no-untyped-def]
    workspace: Workspace,
    con,  # type: ignore[no-untyped-def]
    outcome: Outcome,
) -> np.ndarray | None:
    """The CLI steps and the API; returns probabilities for ``test_rows`` (None if impossible)."""
    as_of = f"{dataset.as_of:%Y-%m-%dT%H:%M:%S}"
    step = workspace.run("validate", "validate", str(export), "--as-of", as_of)
    if not step.ok:
        outcome.notes.append(f"salesradar validate failed: {workspace.errors('validate')}")
        return None
    step = workspace.run(
        "train", *train_arguments(dataset, export, split, models=workspace.root / "models")
    )
    if not step.ok:
        outcome.notes.append(f"salesradar train {dataset.task} failed: {workspace.errors('train')}")
        return None
    if "not promoted" in workspace.log("train"):
        version = force_champion(workspace, task=dataset.task)
        reason = workspace.log("train").split("not promoted:", 1)[-1].strip().splitlines()[0]
        outcome.notes.append(
            f"salesradar refused to promote ({reason}); champion forced to v{version} to measure it"
        )
    step = workspace.run("score", "score", "--data", str(export), "--as-of", as_of)
    if not step.ok:
        outcome.notes.append(f"salesradar score (batch) failed: {workspace.errors('score')}")
    key = crm_key(workspace)
    if key is None:
        outcome.notes.append(f"salesradar keys create failed: {workspace.steps[-1].last_line}")
        return None
    ids = test_rows["entity_id"].tolist()
    entities, truncated = request_entities(con, ids, task=dataset.task, as_of=split.test)
    if truncated:
        outcome.notes.append(
            f"{truncated} test entities have more than 10,000 events before the test cutoff "
            "(the API's per-entity limit): their latest 10,000 were sent"
        )
    started = time.perf_counter()
    try:
        with serving(workspace) as (base, ready):
            if ready != 200:
                outcome.notes.append(f"/health/ready answered {ready}")
            scored, errors = score_through_api(
                base, key, entities, task=dataset.task, as_of=split.test
            )
    except RuntimeError as exc:
        outcome.notes.append(f"salesradar serve: {exc} (see {workspace.root / 'serve.log'})")
        return None
    outcome.notes.append(
        f"API: {len(scored)} of {len(ids)} test entities scored in "
        f"{time.perf_counter() - started:.1f}s"
    )
    if errors:
        outcome.notes.append(f"API errors ({len(errors)}), first: {errors[0]}")
    if len(scored) < len(ids):
        return None
    return np.array([scored[i] for i in ids])


def evaluated_model_config(folder: Path) -> Path:
    """The shipped training config with ``refit_on_all = false``, written into ``folder``.

    The served model is then the evaluated one, fitted before the test cutoff: the shipped
    default refits on every labelled cutoff, test included, and scoring the test rows with
    that model would be in-sample (it measured 0.890 where the evaluated model had 0.559).
    """
    folder.mkdir(parents=True, exist_ok=True)
    text = DEFAULT_CONFIG_PATH.read_text(encoding="utf-8")
    if "refit_on_all = true" not in text:
        raise RuntimeError(f"{DEFAULT_CONFIG_PATH}: no 'refit_on_all = true' to turn off")
    path = folder / "config.toml"
    path.write_text(text.replace("refit_on_all = true", "refit_on_all = false"), encoding="utf-8")
    wording = DEFAULT_CONFIG_PATH.with_name("wording.toml")
    (folder / "wording.toml").write_text(wording.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def train_arguments(
    dataset: Dataset, export: Path, split: flat.Split, *, models: Path
) -> list[str]:
    """``salesradar train`` arguments: the dataset's as-of, horizon, shared cutoffs, the
    evaluated model as the one that ships (``evaluated_model_config``) and, for churn, its
    activity types (so salesradar labels silent churn as the reference scorers do)."""
    config = evaluated_model_config(models.parent / "config")
    cutoffs = ",".join(f"{c:%Y-%m-%d}" for c in split.all)
    activity = []
    if dataset.task == "churn" and dataset.activity_types is not None:
        activity = ["--activity-types", ",".join(dataset.activity_types)]
    return [
        "train", dataset.task, "--data", str(export),
        "--as-of", f"{dataset.as_of:%Y-%m-%dT%H:%M:%S}",
        "--horizon", f"{dataset.horizon.days}d", "--cutoffs", cutoffs, "--seed", "7",
        "--models-dir", str(models), "--config", str(config), *activity, "--promote",
    ]  # fmt: skip


def render(outcomes: list[Outcome]) -> str:
    """The markdown table (one row per dataset and scorer) and each dataset's notes."""
    lines = [
        "| dataset | task | test rows (positive) | scorer | ROC AUC | PR AUC | top-decile lift |",
        "|---|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        head = f"| {o.dataset.name} | {o.dataset.task}: {o.dataset.question} | "
        head += f"{o.rows:,} ({o.positives:,})"
        scorers = [SALESRADAR] if SALESRADAR not in o.metrics else []
        for name in [*scorers, *o.metrics]:
            m = o.metrics.get(name)
            cells = ["failed", "-", "-"] if m is None else [
                _fmt(m["roc_auc"]), _fmt(m["pr_auc"]), _fmt(m["lift"], digits=2)
            ]  # fmt: skip
            lines.append(f"{head} | {name} | {' | '.join(cells)} |")
            head = "| | |"
    for o in outcomes:
        lines.append("")
        lines.append(
            f"{o.dataset.name} ({o.dataset.source}; {o.dataset.licence}), {o.seconds:.0f}s:"
        )
        lines.extend(f"- {note}" for note in o.notes)
    return "\n".join(lines)


def _fmt(value: float, *, digits: int = 3) -> str:
    return "-" if math.isnan(value) else f"{value:.{digits}f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", choices=sorted(DATASETS), default=list(DATASETS))
    parser.add_argument("--data", type=Path, default=Path("data/public"))
    parser.add_argument("--wheels", type=Path, default=Path("build/wheels"))
    parser.add_argument(
        "--churnsim-python", type=Path, default=Path("build/venv-churnsim/bin/python")
    )
    parser.add_argument(
        "--work",
        type=Path,
        default=Path("build/bench-public"),
        help="throwaway salesradar stores and step logs, one subfolder per dataset (replaced)",
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    paths = Paths(data=args.data, wheels=args.wheels, churnsim_python=args.churnsim_python)
    started = time.perf_counter()
    outcomes = []
    work = args.work.resolve()
    for name in args.datasets:
        shutil.rmtree(work / name, ignore_errors=True)
        outcome = evaluate(DATASETS[name], paths, seed=args.seed, work=work)
        outcomes.append(outcome)
        print(f"{name}: done in {outcome.seconds:.0f}s (logs: {work / name})", file=sys.stderr)
    print(render(outcomes))
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    steps = max((s.peak_mb for o in outcomes for s in o.steps), default=0.0)
    print(
        f"\ntotal {time.perf_counter() - started:.0f}s; peak RSS: this process (conversion, "
        f"reference scorers) {own:,.0f} MB, largest salesradar command {steps:,.0f} MB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
