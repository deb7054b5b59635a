"""Seeded CRM frames and tiny real models for serving tests (fitted through
features.model.scoring_model)."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from features.compute.snapshots import build_training_set
from features.contract.export import Export, export_from_frames
from features.contract.tasks import Task
from features.definitions.btyd import BgNbdParameters, BtydFeatures, add_btyd_features
from features.definitions.registry import btyd_specs
from features.model.scoring_model import ScoringModel
from tests.features.vocabkit import sim_vocabulary
from training.tree_fit import fit_scoring_model

START = datetime(2025, 1, 1)
END = datetime(2025, 12, 1)
LEAD_TYPES = ("email_open", "email_reply", "call", "meeting", "demo", "quote")


def make_frames(*, seed: int, leads: int = 240, customers: int = 240) -> dict[str, pd.DataFrame]:
    """Leads convert more after demos and quotes; customers who stop ordering churn."""
    rng = np.random.default_rng(seed)
    lead_rows, lead_events = [], []
    for i in range(leads):
        created = START + timedelta(days=int(rng.integers(0, 300)))
        intent = rng.random()
        converted = None
        for day in range(0, 200, int(rng.integers(4, 15))):
            at = created + timedelta(days=day, hours=int(rng.integers(8, 18)))
            if at >= END:
                break
            kind = LEAD_TYPES[min(int(rng.random() * 3 + intent * 4), 5)]
            value = float(rng.integers(1, 50) * 100) if kind == "quote" else None
            lead_events.append(
                {
                    "lead_id": f"L{i:04d}",
                    "occurred_at": at,
                    "type": kind,
                    "value": value,
                    "channel": "email" if kind.startswith("email") else "phone",
                    "direction": "outbound",
                    "outcome": "done",
                }
            )
            if kind in ("demo", "quote") and rng.random() < 0.25 * intent:
                converted = at + timedelta(days=2)
                break
        lead_rows.append(
            {
                "lead_id": f"L{i:04d}",
                "created_at": created,
                "owner_id": f"rep-{i % 3}",
                "converted_at": converted,
                "expected_value": float(rng.integers(5, 60) * 1000),
                "industry": ["retail", "health", "logistics"][i % 3],
            }
        )
    customer_rows, customer_events = [], []
    for i in range(customers):
        created = START - timedelta(days=int(rng.integers(30, 400)))
        gap = int(rng.integers(10, 40))
        stop = START + timedelta(days=int(rng.integers(30, 500)))
        at = created + timedelta(days=int(rng.integers(0, gap)))
        while at < min(stop, END):
            customer_events.append(
                {
                    "customer_id": f"C{i:04d}",
                    "occurred_at": at,
                    "type": "order",
                    "value": float(rng.integers(1, 20) * 100),
                    "channel": "web",
                    "direction": "inbound",
                    "outcome": "paid",
                }
            )
            if rng.random() < 0.2:
                customer_events.append(
                    {
                        "customer_id": f"C{i:04d}",
                        "occurred_at": at + timedelta(hours=3),
                        "type": "support_ticket",
                        "value": None,
                        "channel": "email",
                        "direction": "inbound",
                        "outcome": "open",
                    }
                )
            at += timedelta(days=gap + int(rng.integers(-3, 4)))
        customer_rows.append(
            {
                "customer_id": f"C{i:04d}",
                "created_at": created,
                "owner_id": f"rep-{i % 3}",
                "churned_at": None,
                "annual_value": float(rng.integers(2, 90) * 1000),
                "plan": ["basic", "pro"][i % 2],
            }
        )

    def frame(rows: list[dict[str, object]], times: tuple[str, ...]) -> pd.DataFrame:
        out = pd.DataFrame(rows)
        for column in times:
            out[column] = pd.to_datetime(out[column]).astype("datetime64[us]")
        return out

    return {
        "leads": frame(lead_rows, ("created_at", "converted_at")),
        "customers": frame(customer_rows, ("created_at", "churned_at")),
        "lead_events": frame(lead_events, ("occurred_at",)),
        "customer_events": frame(customer_events, ("occurred_at",)),
    }


def make_export(*, seed: int) -> Export:
    return export_from_frames(**make_frames(seed=seed))


# The churn model has derived BG/NBD features, as a trained churn model with a purchase kind
# does (training fits the parameters; serving only reads them from the model).
CHURN_BTYD = BtydFeatures(BgNbdParameters(r=0.8, alpha=20.0, a=0.5, b=4.0), horizon_days=60)


def fit_model(export: Export, task: Task, *, seed: int) -> ScoringModel:
    cutoffs = [datetime(2025, month, 1) for month in range(4, 11)]
    training = build_training_set(
        export,
        task=task,
        cutoffs=cutoffs,
        horizon=timedelta(days=60),
        vocabulary=sim_vocabulary(task),
    )
    btyd = CHURN_BTYD if task is Task.CHURN else None
    specs = [*training.specs, *(btyd_specs(sim_vocabulary(task), btyd) if btyd else [])]
    return fit_scoring_model(
        add_btyd_features(training.frame, btyd),
        specs,
        btyd=btyd,
        task=task,
        seed=seed,
        params={"n_estimators": 30, "min_child_samples": 10},
        min_level_count=5,
        metadata={"metrics": {"test_auc": 0.8}},
        vocabulary=sim_vocabulary(task),
    )
