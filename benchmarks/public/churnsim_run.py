"""Run fightchurn's ChurnSim and write its raw tables as CSV, without its PostgreSQL database.

Runs in the separate virtualenv of ``benchmarks/public/requirements-churnsim.txt`` (fightchurn pins
libraries that clash with ours), never in the project's; nothing in salesradar imports it.

    build/venv-churnsim/bin/python -m benchmarks.public.churnsim_run --out DIR
        [--model socialnet7] [--seed 7] [--set init_customers=3000 ...]

ChurnSim's own ``ChurnSimulation`` does the simulating; only its three database writers are
replaced by ones that keep the rows in memory. ``DIR`` receives the simulator's tables with the
columns of its own schema (``fightchurn/churnsim/schema/create_*.sql``, listed in
``benchmarks.public.churnsim.RAW_TABLES``), plus ``conf.yaml`` (the resolved simulator config).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
from pathlib import Path
from typing import Any


def simulate(out: Path, *, model: str, seed: int, overrides: list[str]) -> dict[str, int]:
    """Simulate ``model`` with hydra ``overrides`` and write the raw tables into ``out``.

    Returns the row count of each table written. Needs ``TMPDIR`` private to this run: ChurnSim
    numbers customers through a file in the temporary folder, read when ``customer`` is imported.
    """
    import numpy as np
    from fightchurn.churnsim.churnsim import ChurnSimulation
    from hydra import compose, initialize_config_module
    from omegaconf import OmegaConf

    from benchmarks.public.churnsim import RAW_TABLES

    with initialize_config_module(config_module="fightchurn.churnsim.conf", version_base=None):
        cfg = compose(config_name=model, overrides=[f"random_seed={seed}", *overrides])
    random.seed(seed)
    np.random.seed(seed)

    accounts: list[tuple[Any, ...]] = []
    subscriptions: list[tuple[Any, ...]] = []
    events: list[tuple[Any, ...]] = []

    class InMemorySimulation(ChurnSimulation):  # type: ignore[misc]
        """ChurnSim with its database writes kept in memory (n_parallel must stay 1)."""

        def first_sim_setup(self, force: bool) -> None:
            self.remove_tmp_files()

        def sim_rate_debug_query(self) -> None:
            return None

        def add_customer_to_database(self, customer: Any) -> None:
            country = None if customer.country == "None" else customer.country
            accounts.append(
                (customer.id, customer.channel, customer.date_of_birth.isoformat(), country)
            )

        def customer_events_subs_to_database(self, customer: Any) -> None:
            subscriptions.extend((customer.id, *s) for s in customer.subscriptions)
            events.extend((customer.id, *e) for e in customer.events)

    if int(cfg.n_parallel) != 1:
        raise SystemExit("n_parallel must be 1: the rows are collected in this process")
    out.mkdir(parents=True, exist_ok=True)
    os.environ["CHURN_OUT_DIR"] = str(out / "simulator")
    simulation = InMemorySimulation(cfg)
    simulation.run_simulation(force=True)
    behaviour = simulation.behavior_models[next(iter(simulation.behavior_models))]
    rows_by_table = {
        "account": accounts,
        "subscription": subscriptions,
        "event": events,
        "event_type": list(enumerate(behaviour.behave_names)),
    }
    tables = {name: (RAW_TABLES[name], rows) for name, rows in rows_by_table.items()}
    for name, (header, rows) in tables.items():
        with (out / f"{name}.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)
    OmegaConf.save(cfg, out / "conf.yaml")
    return {name: len(rows) for name, (_, rows) in tables.items()}


def main(argv: list[str] | None = None) -> int:
    """Command line: parse the options, simulate, print the row counts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--model", default="socialnet7")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--set", action="append", default=[], help="hydra override key=value")
    args = parser.parse_args(argv)
    counts = simulate(args.out, model=args.model, seed=args.seed, overrides=args.set)
    sys.stdout.write(" ".join(f"{k}={v}" for k, v in counts.items()) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
