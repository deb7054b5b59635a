"""The contract tables (as Arrow tables) of a simulated world: IDs, attributes, mess.

Column names come from ``features.contract.tables``; extra columns are attributes (entity tables) or
event text columns. Timestamps are naive UTC ``timestamp[us]``; amounts are ``float64`` >= 0
with nulls (never NaN) for missing values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from features.synthetic import customers as cust
from features.synthetic import leads as ld
from features.synthetic.calendar import SECONDS_PER_DAY, HistoryCalendar
from features.synthetic.customers import CustomerWorld
from features.synthetic.events import EventBatch, Vocabulary, draw_times_of_day
from features.synthetic.leads import LeadWorld
from features.synthetic.noise import MessyCategory, draw_levels, mask_amounts

SOURCE_SPELLINGS = MessyCategory(
    (
        ("Inbound Web", "inbound web ", "web-form", "Web Form"),
        ("Referral", "referral", "Partner referral"),
        ("Outbound Call", "outbound", "cold call"),
        ("Trade Show", "tradeshow", "Trade-Show"),
    )
)
SIZE_SPELLINGS = MessyCategory(tuple((s,) for s in ld.COMPANY_SIZES))
PRODUCT_SPELLINGS = MessyCategory(
    (
        ("Paper", "paper"),
        ("Toner", "toner", "Toner/Ink"),
        ("Special Inks", "special inks"),
        ("Furniture", "furniture", "Office Furniture"),
    ),
    usual_share=0.85,
)
FIRST_TOUCH_SPELLINGS = MessyCategory(
    (
        ("Quote request", "quote request", "RFQ"),
        ("Callback request", "call back"),
        ("Catalogue download", "catalog download"),
        ("Newsletter signup", "newsletter"),
    )
)
REGIONS = ("North", "South", "East", "West", "Central")
REGION_SPELLINGS = MessyCategory(
    (
        ("North", "north", "N"),
        ("South", "south", "S"),
        ("East", "east", "E"),
        ("West", "west", "W"),
        ("Central", "central", "Centre"),
    ),
    usual_share=0.85,
)
SEGMENT_SPELLINGS = MessyCategory(
    (
        ("Small Office", "small office", "SMB"),
        ("Mid-Market", "mid market"),
        ("Enterprise", "enterprise", "ENT"),
    ),
)
PLAN_SPELLINGS = MessyCategory(
    (
        ("Pay as you go", "PAYG", "pay-as-you-go"),
        ("Monthly", "monthly contract"),
        ("Annual", "annual contract", "Yearly"),
    ),
)
INDUSTRIES = (
    "Education",
    "Healthcare",
    "Legal",
    "Finance",
    "Government",
    "Manufacturing",
    "Retail",
    "Technology",
    "Non-profit",
)
INDUSTRY_WEIGHTS = (0.16, 0.13, 0.1, 0.1, 0.08, 0.12, 0.11, 0.12, 0.08)
INDUSTRY_SPELLINGS = MessyCategory(
    tuple((name, name.lower()) for name in INDUSTRIES), usual_share=0.9
)
# Employees per company-size bin (leads) and per segment (customers): (low, high).
EMPLOYEE_RANGES_BY_SIZE = ((1, 10), (11, 50), (51, 200), (201, 1000), (1001, 8000))
EMPLOYEE_RANGES_BY_SEGMENT = ((2, 60), (40, 600), (400, 8000))


@dataclass(frozen=True)
class Owners:
    """Rep IDs: SDRs and account executives own leads, customer-success reps own customers."""

    sdrs: int
    aes: int
    csms: int

    @classmethod
    def sized_for(cls, *, leads: int, customers: int) -> Owners:
        return cls(
            sdrs=max(2, -(-leads // 1_500)),
            aes=max(1, -(-leads // 4_000)),
            csms=max(1, -(-customers // 600)),
        )


def format_ids(prefix: str, count: int, *, width: int = 6) -> pa.Array:
    """``L000001``-style IDs: zero-padded, so leading zeros must survive every reader."""
    width = max(width, len(str(count)))
    return pa.array([f"{prefix}{i:0{width}d}" for i in range(1, count + 1)], type=pa.string())


def to_timestamps(history: HistoryCalendar, seconds: np.ndarray, missing: np.ndarray) -> pa.Array:
    """Seconds since the calendar start -> naive UTC timestamps (null where ``missing``)."""
    origin = np.datetime64(history.start, "us")
    moments = origin + seconds.astype("timedelta64[s]").astype("timedelta64[us]")
    return pa.array(moments, mask=missing, type=pa.timestamp("us"))


def outcome_timestamps(
    rng: np.random.Generator, history: HistoryCalendar, exit_day: np.ndarray, happened: np.ndarray
) -> pa.Array:
    """A time on the exit day for entities where ``happened``; null elsewhere."""
    seconds = exit_day * SECONDS_PER_DAY + draw_times_of_day(rng, exit_day.size)
    return to_timestamps(history, np.where(happened, seconds, 0), ~happened)


def _pick(ids: pa.Array, index: np.ndarray) -> pa.Array:
    """``ids[index]``; index -1 becomes null."""
    return ids.take(pa.array(index, mask=index < 0, type=pa.int64()))


def _rep_ids(prefix: str, count: int) -> pa.Array:
    return pa.array([f"{prefix}-{i:03d}" for i in range(1, count + 1)], type=pa.string())


def _employees(
    rng: np.random.Generator, ranges: tuple[tuple[int, int], ...], bins: np.ndarray
) -> np.ndarray:
    bounds = np.asarray(ranges, dtype=float)[bins]
    # Log-uniform within the bin: small companies are more common than large ones.
    drawn = np.round(np.exp(rng.uniform(np.log(bounds[:, 0]), np.log(bounds[:, 1]))))
    return np.asarray(drawn, dtype=np.int64)


def build_lead_table(
    rng: np.random.Generator,
    world: LeadWorld,
    history: HistoryCalendar,
    *,
    lead_ids: pa.Array,
    account_index: np.ndarray,
    account_ids: pa.Array,
    owners: Owners,
) -> pa.Table:
    """The ``leads`` table: referrals, trade shows and big companies go to account executives."""
    n = world.size
    to_ae = (np.isin(world.source, (1, 3)) | (world.company_size >= 3)) & (rng.random(n) < 0.85)
    owner = np.where(
        to_ae, owners.sdrs + rng.integers(0, owners.aes, n), rng.integers(0, owners.sdrs, n)
    )
    reps = pa.concat_arrays([_rep_ids("SDR", owners.sdrs), _rep_ids("AE", owners.aes)])
    path = world.path
    columns = {
        "lead_id": lead_ids,
        "created_at": to_timestamps(history, world.created_second, np.zeros(n, dtype=bool)),
        "owner_id": reps.take(pa.array(owner)),
        "account_id": _pick(account_ids, account_index),
        "converted_at": outcome_timestamps(rng, history, path.exit_day, path.exit_kind == ld.WON),
        "closed_lost_at": outcome_timestamps(
            rng, history, path.exit_day, path.exit_kind == ld.LOST
        ),
        "expected_value": mask_amounts(rng, world.deal_size, missing_share=0.15),
        "source": SOURCE_SPELLINGS.render(rng, world.source, missing_share=0.05),
        "company_size": SIZE_SPELLINGS.render(rng, world.company_size, missing_share=0.2),
        "region": REGION_SPELLINGS.render(rng, draw_levels(rng, (1,) * 5, n), missing_share=0.1),
        "product_interest": PRODUCT_SPELLINGS.render(rng, world.product, missing_share=0.12),
        "first_touch": FIRST_TOUCH_SPELLINGS.render(rng, world.first_touch, missing_share=0.1),
    }
    return pa.table(columns)


def build_customer_table(
    rng: np.random.Generator,
    world: CustomerWorld,
    history: HistoryCalendar,
    *,
    customer_ids: pa.Array,
    account_index: np.ndarray,
    account_ids: pa.Array,
    owners: Owners,
) -> pa.Table:
    """The ``customers`` table; ``annual_value`` is the book value the CS team plans with."""
    n = world.size
    annual = world.order_rate * world.basket * 365.0 * rng.lognormal(0.0, 0.2, n)
    path = world.path
    columns = {
        "customer_id": customer_ids,
        "created_at": to_timestamps(history, world.created_second, np.zeros(n, dtype=bool)),
        "owner_id": _rep_ids("CSM", owners.csms).take(pa.array(rng.integers(0, owners.csms, n))),
        "account_id": _pick(account_ids, account_index),
        "churned_at": outcome_timestamps(
            rng, history, path.exit_day, path.exit_kind == cust.CANCELLED
        ),
        "annual_value": mask_amounts(rng, annual, missing_share=0.1),
        "segment": SEGMENT_SPELLINGS.render(rng, world.segment, missing_share=0.05),
        "plan": PLAN_SPELLINGS.render(rng, world.plan, missing_share=0.08),
        "region": REGION_SPELLINGS.render(rng, draw_levels(rng, (1,) * 5, n), missing_share=0.06),
        "preferred_category": PRODUCT_SPELLINGS.render(rng, world.product, missing_share=0.25),
    }
    return pa.table(columns)


def build_account_table(
    rng: np.random.Generator,
    *,
    account_ids: pa.Array,
    customer_segment: np.ndarray,
    lead_company_size: np.ndarray,
) -> pa.Table:
    """``accounts``: customer accounts first, then the accounts of new leads.

    Named ``hq_region`` (not ``region``) so it never collides with the entity tables' own
    ``region`` when account attributes are joined onto a lead or customer.
    """
    employees = np.concatenate(
        [
            _employees(rng, EMPLOYEE_RANGES_BY_SEGMENT, customer_segment),
            _employees(rng, EMPLOYEE_RANGES_BY_SIZE, lead_company_size),
        ]
    )
    n = employees.size
    columns = {
        "account_id": account_ids,
        "industry": INDUSTRY_SPELLINGS.render(
            rng, draw_levels(rng, INDUSTRY_WEIGHTS, n), missing_share=0.1
        ),
        "employees": pa.array(employees, mask=rng.random(n) < 0.2, type=pa.int64()),
        "hq_region": REGION_SPELLINGS.render(rng, draw_levels(rng, (1,) * 5, n), missing_share=0.1),
    }
    return pa.table(columns)


def build_event_table(
    key: str,
    ids: pa.Array,
    events: EventBatch,
    history: HistoryCalendar,
    vocabulary: Vocabulary,
) -> pa.Table:
    """An event table: key, occurred_at, type, value, then the text columns."""
    size = len(events)
    columns = {
        key: pa.DictionaryArray.from_arrays(pa.array(events.entity, type=pa.int32()), ids),
        "occurred_at": to_timestamps(history, events.second, np.zeros(size, dtype=bool)),
        "type": vocabulary.to_arrow(events.type),
        "value": pa.array(events.value, mask=np.isnan(events.value), type=pa.float64()),
        "channel": vocabulary.to_arrow(events.channel),
        "direction": vocabulary.to_arrow(events.direction),
        "outcome": vocabulary.to_arrow(events.outcome),
    }
    return pa.table(columns)
