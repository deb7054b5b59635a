"""retentioneering's ``ecom`` clickstream as a CRM export: visitors are leads, buyers customers.

Source: ``retentioneering/datasets/ecom.csv.gz`` inside the ``retentioneering`` 5.2.4 wheel
(Apache-2.0): 31,106 events of 600 users of a consumer-electronics web shop, 2024-01-04 to
2024-06-29, columns ``user_id, session_id, event, timestamp, platform, acquisition_channel,
user_cohort, user_lifecycle``; 19 event names (``catalog``, ``product_view``, ``add_to_cart``,
``purchase``, ...). The package's authors generated it to teach path analysis.

Conversion (pure, ``convert``):

- **leads**: one per user, ``created_at`` = the user's first event, ``converted_at`` = the first
  ``purchase`` (empty if none). The data names no owner, so ``owner_id`` is ``unassigned``.
  Attributes known at the first event: ``acquisition_channel``, ``user_cohort`` (registration
  month) and ``platform`` of the first session.
- **lead_events**: every event strictly before the conversion, ``type`` = ``event`` verbatim;
  ``session_id``, ``platform`` and ``user_lifecycle`` ride along as free-text columns.
- **customers** / **customer_events**: users who purchased, from their first purchase on (that
  purchase included), same names. No explicit cancellation exists, so ``churned_at`` is empty.

Task (``DATASET``): *will a visitor who has not bought yet buy within 30 days?* As of 2024-07-01
(the day after the last event, so no label window reaches past the data). Users register from
January to April and come back every two to three weeks, so a 30-day horizon is the longest that
leaves enough labelled cutoffs: with 30 days, monthly cutoffs 2024-02-01 .. 2024-06-01 are all
labelled; 2024-06-01 is the temporal test, and the embargo leaves 02-01 .. 05-01 to learn from.
Weekly cutoffs would repeat the same 600 users four times a month without adding any; we keep
salesradar's default monthly spacing and pass the cutoffs explicitly so every scorer shares them.
"""

from __future__ import annotations

import pandas as pd

from benchmarks.public.exports import Tables

RAW_COLUMNS = (
    "user_id",
    "session_id",
    "event",
    "timestamp",
    "platform",
    "acquisition_channel",
    "user_cohort",
    "user_lifecycle",
)
PURCHASE = "purchase"  # the dataset's own name for a completed order
OWNER = "unassigned"
EVENT_TEXT = ("session_id", "platform", "user_lifecycle")


def convert(raw: pd.DataFrame) -> Tables:
    """The raw clickstream (``RAW_COLUMNS``, text) -> contract tables (text frames).

    Event order within a user is by timestamp, then by row order, so the first session's platform
    is the one of the earliest event.
    """
    missing = [c for c in RAW_COLUMNS if c not in raw.columns]
    if missing:
        raise ValueError(f"ecom: missing column(s) {', '.join(missing)}")
    events = raw.loc[:, list(RAW_COLUMNS)].astype(str).copy()
    events["_at"] = pd.to_datetime(events["timestamp"], format="ISO8601")
    events = events.sort_values(["user_id", "_at"], kind="stable")
    first = events.groupby("user_id", sort=True).first()
    bought = events[events["event"] == PURCHASE].groupby("user_id")["_at"].min()
    converted = first.index.map(bought)

    leads = pd.DataFrame(
        {
            "lead_id": first.index,
            "created_at": first["timestamp"].to_numpy(),
            "owner_id": OWNER,
            "converted_at": [_iso(t) for t in converted],
            "acquisition_channel": first["acquisition_channel"].to_numpy(),
            "user_cohort": first["user_cohort"].to_numpy(),
            "platform": first["platform"].to_numpy(),
        }
    )
    conversion = events["user_id"].map(bought)
    before = conversion.isna() | (events["_at"] < conversion)
    lead_events = _events(events[before], key="lead_id")

    buyers = first.loc[bought.index]
    customers = pd.DataFrame(
        {
            "customer_id": buyers.index,
            "created_at": [_iso(t) for t in bought.loc[buyers.index]],
            "owner_id": OWNER,
            "churned_at": "",
            "acquisition_channel": buyers["acquisition_channel"].to_numpy(),
            "user_cohort": buyers["user_cohort"].to_numpy(),
            "platform": buyers["platform"].to_numpy(),
        }
    )
    customer_events = _events(events[~before], key="customer_id")
    return {
        "leads": leads,
        "lead_events": lead_events,
        "customers": customers,
        "customer_events": customer_events,
    }


def _events(events: pd.DataFrame, *, key: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            key: events["user_id"].to_numpy(),
            "occurred_at": events["timestamp"].to_numpy(),
            "type": events["event"].to_numpy(),
            **{c: events[c].to_numpy() for c in EVENT_TEXT},
        }
    )


def _iso(moment: object) -> str:
    return "" if pd.isna(moment) else pd.Timestamp(moment).isoformat()  # type: ignore[arg-type]
