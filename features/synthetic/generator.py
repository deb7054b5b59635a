"""``generate_crm``: simulate a CRM of a B2B office-supply distributor and write it as an export.

Deterministic for a seed: every random draw comes from one ``numpy`` generator per component,
spawned from ``seed``, and nothing reads the clock, so the same seed and arguments give
byte-identical files.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa

from features.contract.times import to_naive_utc
from features.errors import UserError
from features.synthetic.calendar import HistoryCalendar, build_calendar, monthly_cutoff_days
from features.synthetic.customers import CustomerDynamics, CustomerWorld, simulate_customers
from features.synthetic.events import Vocabulary
from features.synthetic.leads import LeadDynamics, LeadWorld, simulate_leads
from features.synthetic.outcomes import (
    build_churn_rows,
    build_lead_rows,
    build_truth_table,
    rank_auc,
)
from features.synthetic.renaming import rename_vocabulary
from features.synthetic.tables import (
    Owners,
    build_account_table,
    build_customer_table,
    build_event_table,
    build_lead_table,
    format_ids,
)
from features.synthetic.writer import check_target, write_export

log = logging.getLogger(__name__)

# The fixed default as-of time keeps `salesradar generate` deterministic (never "now").
DEFAULT_AS_OF = datetime(2026, 10, 1)
FORMATS = ("parquet", "csv")
EXPANSION_SHARE = 0.12  # leads from offices of existing customer accounts
LEAD_ACCOUNT_MISSING_SHARE = 0.08
CUSTOMER_ACCOUNT_MISSING_SHARE = 0.04

# Progress of the long steps: (step label, units done, units in all).
ProgressHook = Callable[[str, int, int], None]


@dataclass(frozen=True)
class GenerationSummary:
    """What was written, and how well the ground truth ranks the realized labels."""

    out: Path
    fmt: str
    as_of: datetime
    start: datetime
    leads: int
    customers: int
    accounts: int
    lead_events: int
    customer_events: int
    cutoffs: int
    truth_rows: dict[str, int]
    truth_auc: dict[str, float]  # ROC AUC of the ground truth against realized labels
    positives_per_cutoff: dict[str, float]


def _check_arguments(
    *, leads: int, customers: int, months: int, horizon_days: int, fmt: str, as_of: datetime
) -> None:
    if leads < 1:
        raise UserError(f"--leads must be at least 1 (got {leads})")
    if customers < 1:
        raise UserError(f"--customers must be at least 1 (got {customers})")
    if not 1 <= months <= 240:
        raise UserError(f"--months must be between 1 and 240 (got {months})")
    if horizon_days < 1:
        raise UserError(f"horizon_days must be at least 1 (got {horizon_days})")
    if fmt not in FORMATS:
        raise UserError(f"--format must be one of {', '.join(FORMATS)} (got {fmt!r})")
    if (as_of.hour, as_of.minute, as_of.second, as_of.microsecond) != (0, 0, 0, 0):
        raise UserError(f"--as-of must be a date (00:00 UTC), got {as_of.isoformat()}")


def _assign_accounts(
    rng: np.random.Generator, *, leads: int, customers: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """Account index of each customer and lead (-1: not recorded) and the number of accounts."""
    customer_account = np.where(
        rng.random(customers) < CUSTOMER_ACCOUNT_MISSING_SHARE, -1, np.arange(customers)
    )
    expansion = rng.random(leads) < EXPANSION_SHARE
    lead_account = np.where(
        expansion, rng.integers(0, customers, leads), customers + np.arange(leads)
    )
    lead_account = np.where(rng.random(leads) < LEAD_ACCOUNT_MISSING_SHARE, -1, lead_account)
    return customer_account, lead_account, customers + leads


def generate_crm(
    out: Path,
    *,
    leads: int,
    customers: int,
    seed: int,
    as_of: datetime,
    months: int,
    fmt: str = "parquet",
    horizon_days: int = 90,
    truth: bool = True,
    rename: bool = False,
    progress: ProgressHook | None = None,
) -> GenerationSummary:
    """Simulate ``months`` of CRM history ending at ``as_of`` and write it to ``out``.

    Every timestamp is before ``as_of`` (tz-aware values are converted to naive UTC). With
    ``truth``, ``out/ground_truth/{leads,customers}.parquet`` hold, for each monthly cutoff whose
    ``horizon_days`` window ends by ``as_of`` and each entity eligible at it, the exact
    probability of the task's label given the simulator's hidden state at the cutoff. With
    ``rename``, event types, channels and attribute columns are written in other words
    (``features.synthetic.renaming``); the simulated world and the ground truth are the same.
    """
    as_of = to_naive_utc(as_of, what="as_of")
    _check_arguments(
        leads=leads,
        customers=customers,
        months=months,
        horizon_days=horizon_days,
        fmt=fmt,
        as_of=as_of,
    )
    check_target(out)
    history = build_calendar(as_of=as_of, months=months)
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(5)]
    vocabulary = Vocabulary()

    def days_hook(label: str) -> Callable[[int], None] | None:
        if progress is None:
            return None
        return lambda day: progress(label, day, history.n_days)

    lead_world = simulate_leads(
        streams[0],
        size=leads,
        history=history,
        dynamics=LeadDynamics(),
        vocabulary=vocabulary,
        on_day=days_hook("simulating leads"),
    )
    customer_world = simulate_customers(
        streams[1],
        size=customers,
        history=history,
        dynamics=CustomerDynamics(),
        vocabulary=vocabulary,
        on_day=days_hook("simulating customers"),
    )
    lead_ids, customer_ids = format_ids("L", leads), format_ids("C", customers)
    tables = _build_tables(
        streams[2], history, lead_world, customer_world, vocabulary, lead_ids, customer_ids
    )
    cutoff_days = monthly_cutoff_days(history, horizon_days=horizon_days)
    if progress:
        progress("ground truth", 0, 2)
    lead_rows = build_lead_rows(
        lead_world, cutoff_days=cutoff_days, horizon_days=horizon_days, truth=truth
    )
    if progress:
        progress("ground truth", 1, 2)
    churn_rows = build_churn_rows(
        customer_world,
        order_code=vocabulary.code("order"),
        n_days=history.n_days,
        days=history.days,
        cutoff_days=cutoff_days,
        horizon_days=horizon_days,
        truth=truth,
    )
    if progress:
        progress("ground truth", 2, 2)
    truth_tables = (
        {
            "leads": build_truth_table(lead_rows, lead_ids, history, horizon_days),
            "customers": build_truth_table(churn_rows, customer_ids, history, horizon_days),
        }
        if truth
        else {}
    )
    if rename:
        tables = rename_vocabulary(tables)
    write_export(
        out,
        tables=tables,
        truth=truth_tables,
        fmt=fmt,
        seed=seed,
        on_file=(lambda name, done, total: progress("writing", done, total)) if progress else None,
    )
    n_cut = max(len(cutoff_days), 1)
    return GenerationSummary(
        out=out,
        fmt=fmt,
        as_of=as_of,
        start=history.start,
        leads=leads,
        customers=customers,
        accounts=tables["accounts"].num_rows,
        lead_events=tables["lead_events"].num_rows,
        customer_events=tables["customer_events"].num_rows,
        cutoffs=len(cutoff_days),
        truth_rows={"leads": lead_rows.entity.size, "churn": churn_rows.entity.size}
        if truth
        else {},
        truth_auc={
            "leads": rank_auc(lead_rows.label, lead_rows.probability),
            "churn": rank_auc(churn_rows.label, churn_rows.probability),
        }
        if truth
        else {},
        positives_per_cutoff={
            "leads": float(lead_rows.label.sum() / n_cut),
            "churn": float(churn_rows.label.sum() / n_cut),
        },
    )


def _build_tables(
    rng: np.random.Generator,
    history: HistoryCalendar,
    lead_world: LeadWorld,
    customer_world: CustomerWorld,
    vocabulary: Vocabulary,
    lead_ids: pa.Array,
    customer_ids: pa.Array,
) -> dict[str, pa.Table]:
    """The five contract tables, in the contract's order."""
    owners = Owners.sized_for(leads=lead_world.size, customers=customer_world.size)
    customer_account, lead_account, n_accounts = _assign_accounts(
        rng, leads=lead_world.size, customers=customer_world.size
    )
    account_ids = format_ids("A", n_accounts, width=7)
    used = np.unique(np.concatenate([customer_account, lead_account]))
    accounts = build_account_table(
        rng,
        account_ids=account_ids,
        customer_segment=customer_world.segment,
        lead_company_size=lead_world.company_size,
    ).take(pa.array(used[used >= 0]))
    return {
        "leads": build_lead_table(
            rng,
            lead_world,
            history,
            lead_ids=lead_ids,
            account_index=lead_account,
            account_ids=account_ids,
            owners=owners,
        ),
        "customers": build_customer_table(
            rng,
            customer_world,
            history,
            customer_ids=customer_ids,
            account_index=customer_account,
            account_ids=account_ids,
            owners=owners,
        ),
        "accounts": accounts,
        "lead_events": build_event_table(
            "lead_id", lead_ids, lead_world.events, history, vocabulary
        ),
        "customer_events": build_event_table(
            "customer_id", customer_ids, customer_world.events, history, vocabulary
        ),
    }
