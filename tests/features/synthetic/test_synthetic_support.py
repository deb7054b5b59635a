"""Helpers shared by the synthetic-generator tests (no tests here): reading and labelling."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

AS_OF = datetime(2026, 10, 1)
HORIZON = timedelta(days=90)
TABLE_NAMES = ("leads", "customers", "accounts", "lead_events", "customer_events")


def read_tables(directory: Path) -> dict[str, pd.DataFrame]:
    return {name: pd.read_parquet(directory / f"{name}.parquet") for name in TABLE_NAMES}


def eligible_leads(leads: pd.DataFrame, cutoff: datetime) -> pd.DataFrame:
    """Leads eligible at ``cutoff`` with their realized label (the features' definition)."""
    open_ = (
        (leads.created_at <= cutoff)
        & ~(leads.converted_at <= cutoff)
        & ~(leads.closed_lost_at <= cutoff)
    )
    rows = leads.loc[open_, ["lead_id", "converted_at"]]
    label = (rows.converted_at > cutoff) & (rows.converted_at <= cutoff + HORIZON)
    return pd.DataFrame({"entity_id": rows.lead_id, "label": label.astype(int)})


def eligible_customers(
    customers: pd.DataFrame, events: pd.DataFrame, cutoff: datetime
) -> pd.DataFrame:
    """Customers eligible at ``cutoff`` with their realized churn label."""
    orders = events[events.type == "order"]
    ordered_before = set(orders.customer_id[orders.occurred_at < cutoff])
    window = orders[(orders.occurred_at > cutoff) & (orders.occurred_at <= cutoff + HORIZON)]
    ordered_in_window = set(window.customer_id)
    keep = (
        (customers.created_at <= cutoff)
        & ~(customers.churned_at <= cutoff)
        & customers.customer_id.isin(ordered_before)
    )
    rows = customers.loc[keep, ["customer_id", "churned_at"]]
    cancelled = (rows.churned_at > cutoff) & (rows.churned_at <= cutoff + HORIZON)
    silent = ~rows.customer_id.isin(ordered_in_window)
    return pd.DataFrame({"entity_id": rows.customer_id, "label": (cancelled | silent).astype(int)})


def truth_with_labels(directory: Path) -> dict[str, pd.DataFrame]:
    """Ground-truth rows joined to labels recomputed from the export tables."""
    tables = read_tables(directory)
    result = {}
    for task, file in (("leads", "leads"), ("churn", "customers")):
        truth = pd.read_parquet(directory / "ground_truth" / f"{file}.parquet")
        parts = []
        for cutoff in sorted(truth.cutoff.unique()):
            moment = pd.Timestamp(cutoff).to_pydatetime()
            if task == "leads":
                frame = eligible_leads(tables["leads"], moment)
            else:
                frame = eligible_customers(tables["customers"], tables["customer_events"], moment)
            parts.append(frame.assign(cutoff=pd.Timestamp(cutoff)))
        labels = pd.concat(parts, ignore_index=True)
        result[task] = truth.merge(labels, on=["entity_id", "cutoff"], how="outer", indicator=True)
    return result
