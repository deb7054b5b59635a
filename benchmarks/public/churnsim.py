"""fightchurn's ChurnSim social network (``socialnet7``) as a customers-only CRM export.

Source: the ChurnSim simulator inside the ``fightchurn`` 1.2.0 wheel (MIT; Carl Gold, *Fighting
Churn With Data*), run by ``benchmarks/public/churnsim_run.py`` in its own virtualenv (fightchurn
pins libraries that clash with ours). Its model ``socialnet7`` is a subscription social network:
accounts (channel, date of birth, country), monthly subscriptions (product ``basic``, 9.99) and
app events named ``post``, ``newfriend``, ``like``, ``adview``, ``dislike``, ``unfriend``,
``message``, ``reply``. Churn is decided by the simulator's utility model at each renewal.
The simulator's own config is used (2020-01-01 to 2020-06-01) except ``init_customers``, lowered
from 10,000 to 3,000 so the run takes minutes, not an hour, on two cores.

Conversion (pure, ``convert``):

- **customers**: one per account, ``created_at`` = its first subscription's start, ``churned_at``
  = its last subscription's end when that is before the simulation's end (the account did not
  renew), ``annual_value`` = 12 x the first subscription's ``mrr``; attributes ``channel`` and
  ``country`` (verbatim, from the account table) and ``age_at_signup`` (whole years from
  ``date_of_birth`` to ``created_at``: known at sign-up, unlike a birth date).
- **customer_events**: every event before the simulation's end, ``type`` = the simulator's
  ``event_type_name`` verbatim, ``value`` = ``event_value``, ``user_id`` as a free-text column.
  ChurnSim simulates each customer's last month in full, past its ``end_date`` (about 12% of the
  events); an export as of the end date cannot hold them, so they are dropped.
- No leads: the export is one half only (customers), which salesradar validates, trains and
  serves on its own.

Task (``DATASET``): *will a subscriber churn within 30 days?* (explicit non-renewal, or no event
at all). As of 2020-06-01, the simulation's end. Subscriptions renew monthly, so a month is the
natural horizon, and five months of history leave monthly cutoffs 2020-02-01 .. 2020-05-01
labelled: 05-01 is the temporal test, and the embargo leaves 02-01 .. 04-01 to learn from.
"""

from __future__ import annotations

import pandas as pd

from benchmarks.public.exports import Tables

RAW_TABLES = {
    "account": ("id", "channel", "date_of_birth", "country"),
    "subscription": (
        "account_id",
        "product",
        "start_date",
        "end_date",
        "mrr",
        "quantity",
        "units",
        "bill_period_months",
        "discount",
    ),
    "event": ("account_id", "event_time", "event_type_id", "user_id", "event_value"),
    "event_type": ("event_type_id", "event_type_name"),
}
OWNER = "unassigned"


def convert(raw: dict[str, pd.DataFrame], *, simulation_end: str) -> Tables:
    """ChurnSim's raw tables (``RAW_TABLES``, text frames) -> contract tables (text frames).

    ``simulation_end`` is the simulator's ``end_date`` (ISO date): a last subscription ending
    before it was not renewed (churn); one ending at or after it is still running.
    """
    for name, columns in RAW_TABLES.items():
        missing = [c for c in columns if c not in raw.get(name, pd.DataFrame()).columns]
        if missing:
            raise ValueError(f"churnsim {name}: missing column(s) {', '.join(missing)}")
    end = pd.Timestamp(simulation_end)
    subs = raw["subscription"].astype(str)
    starts = pd.to_datetime(subs["start_date"]).groupby(subs["account_id"]).min()
    ends = pd.to_datetime(subs["end_date"]).groupby(subs["account_id"]).max()
    first = (
        subs.assign(_start=pd.to_datetime(subs["start_date"]))
        .sort_values(["account_id", "_start"], kind="stable")
        .groupby("account_id")
        .first()
    )

    accounts = raw["account"].astype(str).set_index("id").loc[starts.index]
    born = pd.to_datetime(accounts["date_of_birth"])
    age = [_whole_years(b, s) for b, s in zip(born, starts, strict=True)]
    customers = pd.DataFrame(
        {
            "customer_id": starts.index,
            "created_at": [t.date().isoformat() for t in starts],
            "owner_id": OWNER,
            "churned_at": [t.date().isoformat() if t < end else "" for t in ends],
            "annual_value": [f"{12 * float(m):.2f}" for m in first["mrr"]],
            "channel": accounts["channel"].to_numpy(),
            "country": accounts["country"].replace({"nan": "", "None": ""}).to_numpy(),
            "age_at_signup": age,
        }
    )
    names = raw["event_type"].astype(str).set_index("event_type_id")["event_type_name"]
    events = raw["event"].astype(str)
    events = events[pd.to_datetime(events["event_time"]) < end]
    values = events["event_value"].where(~events["event_value"].isin(["", "nan", "None"]), "")
    customer_events = pd.DataFrame(
        {
            "customer_id": events["account_id"].to_numpy(),
            "occurred_at": events["event_time"].to_numpy(),
            "type": events["event_type_id"].map(names).to_numpy(),
            "value": values.to_numpy(),
            "user_id": events["user_id"].to_numpy(),
        }
    )
    unknown = customer_events["type"].isna()
    if unknown.any():
        raise ValueError(f"churnsim event: {int(unknown.sum())} row(s) with an unknown type id")
    return {"customers": customers, "customer_events": customer_events}


def _whole_years(born: pd.Timestamp, at: pd.Timestamp) -> int:
    return at.year - born.year - int((at.month, at.day) < (born.month, born.day))
