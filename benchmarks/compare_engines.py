"""The two engines on the default CRM: the same model metrics and the same published scores?

Runs the CLI exactly as a user does, once per engine (``--engine duckdb`` then ``--engine
spark``), each into a throwaway store (MLflow sqlite store, scores database, served copies, Spark
runs) under a temporary folder:

1. ``salesradar generate`` with its defaults into the temporary folder (or ``--data DIR``: an
   export already generated, e.g. ``data/generated/default``);
2. ``salesradar train leads`` and ``train churn`` (``--as-of``, ``--seed``); the new version is
   made champion directly (as ``salesradar promote`` does when the challenger wins: the promotion
   rules are not what is compared);
3. ``salesradar score`` as of the same time.

Then prints, per task, every metric MLflow logged for the run on each engine side by side with
the absolute difference, the largest difference, and for the published runs the entities scored,
the largest |probability difference|, the score and tier agreement and the reason agreement
(the same reasons, in the same order, with the same wording and values).

Usage: ``python -m benchmarks.compare_engines [--data DIR] [--as-of 2026-10-01] [--seed 7]
[--keep DIR] [--engines duckdb spark]`` (``make compare-engines``). Minutes on a laptop: four
trainings on the default CRM; with ``--keep`` the two engines may run in two processes at once.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlflow import MlflowClient

from features.compute.engines import Engine
from features.contract.tasks import Task
from features.model.artifact_contract import CHALLENGER, CHAMPION
from serving.scoring.entity_scores import entity_kind
from serving.store.database import ListedScore, ScoreStore

NAMES = {task: f"salesradar-{task.value}" for task in Task}
# Far above the default CRM's entities: one page holds a whole run.
ALL_ROWS = 10_000_000
FINISHED = "finished"  # written in an engine's store when it is complete: its seconds


@dataclass(frozen=True)
class EngineRun:
    """One engine's throwaway store: its metrics per task and its published scores per kind."""

    engine: Engine
    metrics: dict[Task, dict[str, float]]
    scores: dict[str, dict[str, ListedScore]]
    seconds: float


def _salesradar(args: list[str], env: Mapping[str, str], log: Path) -> None:
    """Run the CLI (this interpreter's ``salesradar``); its output goes to ``log``. Raises
    ``SystemExit`` naming the command and the log when it fails."""
    command = [str(Path(sys.executable).with_name("salesradar")), *args]
    with log.open("a") as out:
        out.write(f"$ {' '.join(command)}\n")
        out.flush()
        done = subprocess.run(command, env={**os.environ, **env}, stdout=out, stderr=out)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args[:2])} failed (exit {done.returncode}): see {log}")


def run_engine(engine: Engine, data: Path, root: Path, *, as_of: str, seed: int) -> EngineRun:
    """Train both tasks and score on ``engine`` into a store under ``root``; read it back.

    A store already finished there (``FINISHED`` written, e.g. by an earlier run with
    ``--engines spark`` and ``--keep``) is read back instead of being made again."""
    if (root / FINISHED).exists():
        return read_run(engine, root, seconds=float((root / FINISHED).read_text()))
    root.mkdir(parents=True)
    tracking = f"sqlite:///{root / 'mlflow.db'}"
    env = {
        "MLFLOW_TRACKING_URI": tracking,
        "SALESRADAR_SCORES_URL": f"sqlite:///{root / 'scores.db'}",
        "SALESRADAR_SERVED_DIR": str(root / "served"),
        "SALESRADAR_SPARK_RUNS_DIR": str(root / "spark-runs"),
        "SALESRADAR_ENGINE": engine.value,
        "COLUMNS": "200",
    }
    log = root / "commands.log"
    started = time.perf_counter()
    client = MlflowClient(tracking_uri=tracking, registry_uri=tracking)
    for task in Task:
        common = ["--data", str(data), "--as-of", as_of]
        _salesradar(["train", task.value, *common, "--seed", str(seed)], env, log)
        version = client.get_model_version_by_alias(NAMES[task], CHALLENGER)
        client.set_registered_model_alias(NAMES[task], CHAMPION, version.version)
    _salesradar(["score", "--data", str(data), "--as-of", as_of], env, log)
    seconds = time.perf_counter() - started
    (root / FINISHED).write_text(f"{seconds:.1f}")
    return read_run(engine, root, seconds=seconds)


def read_run(engine: Engine, root: Path, *, seconds: float) -> EngineRun:
    """The champions' logged metrics and the published scores of the store under ``root``."""
    tracking = f"sqlite:///{root / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=tracking, registry_uri=tracking)
    metrics = {}
    for task in Task:
        version = client.get_model_version_by_alias(NAMES[task], CHAMPION)
        metrics[task] = dict(client.get_run(version.run_id).data.metrics)
    store = ScoreStore.from_url(f"sqlite:///{root / 'scores.db'}")
    try:
        scores = {}
        for task in Task:
            kind = entity_kind(task)
            page = store.list_scores(kind, limit=ALL_ROWS)
            scores[kind] = {item.entity_id: item for item in page.items}
    finally:
        store.engine.dispose()
    return EngineRun(engine, metrics, scores, seconds)


def metric_lines(duck: dict[str, float], spark: dict[str, float]) -> tuple[list[str], float]:
    """One line per metric (both engines, |difference|) and the largest difference; a metric
    logged on one engine only is listed as such (and counts as an infinite difference)."""
    lines, largest = [], 0.0
    for name in sorted(duck.keys() | spark.keys()):
        if name not in duck or name not in spark:
            where = "duckdb" if name in duck else "spark"
            lines.append(f"  {name:<48} only on {where}")
            largest = float("inf")
            continue
        gap = abs(duck[name] - spark[name])
        largest = max(largest, gap)
        lines.append(f"  {name:<48} {duck[name]:>14.6f} {spark[name]:>14.6f} {gap:>10.2e}")
    return lines, largest


def score_summary(duck: dict[str, ListedScore], spark: dict[str, ListedScore]) -> dict[str, Any]:
    """Published rows compared entity by entity: counts, largest |probability difference|, and
    the shares of entities with the same score, tier and reasons."""
    common = sorted(duck.keys() & spark.keys())
    pairs = [(duck[e], spark[e]) for e in common]
    return {
        "duckdb rows": len(duck),
        "spark rows": len(spark),
        "on one engine only": len(duck.keys() ^ spark.keys()),
        "max |probability difference|": max(
            (abs(a.probability - b.probability) for a, b in pairs), default=0.0
        ),
        "same score": sum(a.score == b.score for a, b in pairs),
        "same tier": sum(a.tier == b.tier for a, b in pairs),
        "same reasons": sum(a.reasons == b.reasons for a, b in pairs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="an export folder (default: generate one)")
    parser.add_argument("--as-of", default="2026-10-01", help="the generator's default as-of")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--keep", type=Path, help="keep the stores in this folder (finished ones are reused)"
    )
    parser.add_argument(
        "--engines",
        nargs="+",
        type=Engine,
        default=[Engine.DUCKDB, Engine.SPARK],
        help="run only these (e.g. each in its own process with the same --keep)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="compare-engines-") as tmp:
        root = args.keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        data = args.data
        if data is None:
            data = root / "export"
            seeded = ["--as-of", args.as_of, "--seed", str(args.seed)]
            _salesradar(["generate", "--out", str(data), *seeded], {}, root / "generate.log")
        runs = {
            engine: run_engine(engine, data, root / engine.value, as_of=args.as_of, seed=args.seed)
            for engine in args.engines
        }
    if set(runs) != set(Engine):
        print(f"finished {', '.join(runs)} in {root}; run again with both engines to compare")
        return
    duck, spark = runs[Engine.DUCKDB], runs[Engine.SPARK]
    print(f"export {data}, as of {args.as_of}, seed {args.seed}")
    print(f"time (train both + score): duckdb {duck.seconds:.0f} s, spark {spark.seconds:.0f} s")
    for task in Task:
        lines, largest = metric_lines(duck.metrics[task], spark.metrics[task])
        print(f"\n{task.value}: {'metric':<48} {'duckdb':>14} {'spark':>14} {'|diff|':>10}")
        print("\n".join(lines))
        print(f"  max |metric difference|: {largest:.3e}")
    for kind in duck.scores:
        print(f"\npublished {kind} scores:")
        for what, value in score_summary(duck.scores[kind], spark.scores[kind]).items():
            shown = f"{value:.3e}" if isinstance(value, float) else str(value)
            print(f"  {what:<30} {shown}")


if __name__ == "__main__":
    main()
