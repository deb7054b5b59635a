"""The datasets of ``make bench-public``: where each comes from, its task and its time frame.

``prepare`` functions are the edges: they fetch the raw data (from a pinned wheel, or by running
a pinned simulator in its own virtualenv), call the pure converter and write the export.
Why each as-of, horizon and set of cutoffs: see the converter's docstring.
"""

from __future__ import annotations

import gzip
import io
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

from benchmarks.public import churnsim, retentioneering_ecom
from benchmarks.public.exports import Tables, write_export
from benchmarks.public.sources import WheelFile, read_wheel_file


@dataclass(frozen=True)
class Paths:
    """Where raw data, wheels and exports go, and the ChurnSim virtualenv's Python."""

    data: Path  # exports: data/<dataset>/; raw simulator output: data/raw/<dataset>/
    wheels: Path
    churnsim_python: Path


@dataclass(frozen=True)
class Dataset:
    name: str
    source: str  # package==version and the file or simulator used
    licence: str
    task: str  # "leads" | "churn"
    question: str
    as_of: datetime
    horizon: timedelta
    cutoffs: tuple[datetime, ...]
    # Churn only: the event types whose absence in the horizon is silent churn (and that feed the
    # activity baselines). The reference labels use them and the runner passes them to
    # `salesradar train churn --activity-types`, so both sides label alike. None for leads.
    activity_types: tuple[str, ...] | None
    load: Callable[[Paths], Tables]


def _monthly(first: datetime, last: datetime) -> tuple[datetime, ...]:
    months = (last.year - first.year) * 12 + last.month - first.month
    return tuple(
        datetime(first.year + (first.month - 1 + i) // 12, (first.month - 1 + i) % 12 + 1, 1)
        for i in range(months + 1)
    )


ECOM_FILE = WheelFile(
    package="retentioneering",
    version="5.2.4",
    member="retentioneering/datasets/ecom.csv.gz",
    sha256="110716838facbec8143c6c9af74500eb0252197da212fd75aa4c47bf3b692090",
)


def load_ecom(paths: Paths) -> Tables:
    """retentioneering's ecom clickstream, read from its wheel, converted."""
    data = gzip.decompress(read_wheel_file(ECOM_FILE, wheels=paths.wheels))
    raw = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    return retentioneering_ecom.convert(raw)


REPOSITORY = Path(__file__).resolve().parents[2]  # the driver runs as a module from here
CHURNSIM_MODEL = "socialnet7"
CHURNSIM_SEED = 7
# The simulator's own socialnet7 config, except fewer initial customers (minutes, not an hour).
CHURNSIM_OVERRIDES = ("init_customers=3000",)
CHURNSIM_END = "2020-06-01"  # socialnet7.yaml end_date
# A subscription social network: every event is use of the product, so all of socialnet7's event
# names count as activity (salesradar's default, "order", does not occur).
CHURNSIM_ACTIVITY_TYPES = (
    "post", "newfriend", "like", "adview", "dislike", "unfriend", "message", "reply",
)  # fmt: skip


def load_churnsim(paths: Paths, *, timeout: float = 3600) -> Tables:
    """Run ChurnSim once (cached in data/raw/<name>/ by its settings), then convert."""
    raw_dir = paths.data / "raw" / f"churnsim-{CHURNSIM_MODEL}"
    stamp = raw_dir / "settings.txt"
    settings = f"model={CHURNSIM_MODEL} seed={CHURNSIM_SEED} " + " ".join(CHURNSIM_OVERRIDES)
    if not stamp.exists() or stamp.read_text(encoding="utf-8").strip() != settings:
        if not paths.churnsim_python.exists():
            raise FileNotFoundError(
                f"{paths.churnsim_python} is missing: 'make bench-public' builds ChurnSim's "
                "virtualenv from benchmarks/public/requirements-churnsim.txt"
            )
        tmp = raw_dir.parent / f".tmp-churnsim-{CHURNSIM_MODEL}"
        tmp.mkdir(parents=True, exist_ok=True)
        command = [
            str(paths.churnsim_python),
            "-m",
            "benchmarks.public.churnsim_run",
            "--out",
            str(raw_dir.resolve()),
            "--model",
            CHURNSIM_MODEL,
            "--seed",
            str(CHURNSIM_SEED),
        ]
        for override in CHURNSIM_OVERRIDES:
            command += ["--set", override]
        # ChurnSim numbers customers through a file in the temporary folder: a private one.
        env = {**os.environ, "TMPDIR": str(tmp)}
        subprocess.run(
            command, check=True, timeout=timeout, env=env, cwd=REPOSITORY, stdout=subprocess.DEVNULL
        )
        stamp.write_text(settings + "\n", encoding="utf-8")
    raw = {
        name: pd.read_csv(raw_dir / f"{name}.csv", dtype=str, keep_default_na=False)
        for name in churnsim.RAW_TABLES
    }
    return churnsim.convert(raw, simulation_end=CHURNSIM_END)


DATASETS: dict[str, Dataset] = {
    "retentioneering-ecom": Dataset(
        name="retentioneering-ecom",
        source="retentioneering==5.2.4, retentioneering/datasets/ecom.csv.gz",
        licence="Apache-2.0",
        task="leads",
        question="visitor buys within 30 days",
        as_of=datetime(2024, 7, 1),
        horizon=timedelta(days=30),
        cutoffs=_monthly(datetime(2024, 2, 1), datetime(2024, 6, 1)),
        activity_types=None,
        load=load_ecom,
    ),
    "churnsim-socialnet7": Dataset(
        name="churnsim-socialnet7",
        source="fightchurn==1.2.0, ChurnSim model socialnet7 (init_customers=3000, seed 7)",
        licence="MIT",
        task="churn",
        question="subscriber churns within 30 days",
        as_of=datetime(2020, 6, 1),
        horizon=timedelta(days=30),
        cutoffs=_monthly(datetime(2020, 2, 1), datetime(2020, 5, 1)),
        activity_types=CHURNSIM_ACTIVITY_TYPES,
        load=load_churnsim,
    ),
}


def prepare(dataset: Dataset, paths: Paths) -> Path:
    """Write ``dataset``'s export to ``paths.data / name`` (only the halves it has); its folder."""
    folder = (paths.data / dataset.name).resolve()
    write_export(dataset.load(paths), folder)
    return folder
