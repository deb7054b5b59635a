"""The column conventions of each CRM's import, one ``Format`` per ``--format``.

Salesforce (Data Import Wizard and Data Loader): the record's 15/18-character ``Id`` to match
and API names of custom fields (``Salesradar_Score__c``); a DateTime as
``YYYY-MM-DDThh:mm:ss.sssZ``, the format Data Loader documents. HubSpot imports: ``Record ID``
to match (the object's ``hs_object_id``) and property internal names (``salesradar_score``); a
date property holds a day at midnight UTC, written ``YYYY-MM-DD``. ``csv``: every field under
plain names, for anything else.

Text fields are capped by the CRMs (Salesforce Text(255)); a longer reason is refused with the
row named rather than cut.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time
from enum import StrEnum

from features.contract.times import iso_utc
from features.errors import UserError
from serving.delivery.news import strongest_reason
from serving.store.database import ListedScore

TEXT_LIMIT = 255


class CrmFormat(StrEnum):
    SALESFORCE = "salesforce"
    HUBSPOT = "hubspot"
    CSV = "csv"


@dataclass(frozen=True)
class Fields:
    """One row's values before formatting (``as_of`` naive UTC)."""

    entity_kind: str
    entity_id: str
    owner_id: str | None
    score: int
    tier: str
    probability: float
    value: float | None
    top_factor_up: str
    top_factor_down: str
    as_of: datetime
    previous_score: int | None
    run_id: str


def fields_of(row: ListedScore) -> Fields:
    """A stored row's export fields; the top factors are the strongest stored reasons that
    raise and that lower the score ("" when none points that way)."""
    return Fields(
        entity_kind=row.entity_kind,
        entity_id=row.entity_id,
        owner_id=row.owner_id,
        score=row.score,
        tier=row.tier,
        probability=row.probability,
        value=row.value,
        top_factor_up=strongest_reason(row.reasons, rising=True) or "",
        top_factor_down=strongest_reason(row.reasons, rising=False) or "",
        as_of=row.as_of,
        previous_score=row.previous_score,
        run_id=row.run_id,
    )


def _salesforce_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _hubspot_date(moment: datetime) -> str:
    if moment.time() != time(0):
        raise UserError(
            f"as_of {iso_utc(moment)} is not midnight UTC: a HubSpot date property holds a day "
            "only; score with --as-of a date, or export --format csv"
        )
    return moment.strftime("%Y-%m-%d")


def _text(value: str, *, where: str) -> str:
    if len(value) > TEXT_LIMIT:
        raise UserError(f"{where}: {len(value)} characters, more than the {TEXT_LIMIT} allowed")
    return value


def _number(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"


Row = dict[str, str]


# The two CRMs take the same seven values under their own names, in this order.
SALESFORCE_COLUMNS = (
    "Id",
    "Salesradar_Score__c",
    "Salesradar_Tier__c",
    "Salesradar_Probability__c",
    "Salesradar_Top_Factor_Up__c",
    "Salesradar_Top_Factor_Down__c",
    "Salesradar_As_Of__c",
)
HUBSPOT_COLUMNS = (
    "Record ID",
    "salesradar_score",
    "salesradar_tier",
    "salesradar_probability",
    "salesradar_top_factor_up",
    "salesradar_top_factor_down",
    "salesradar_as_of",
)


def _crm_row(f: Fields, columns: tuple[str, ...], as_of: str) -> Row:
    where = f"{f.entity_kind} {f.entity_id}"
    values = (
        f.entity_id,
        str(f.score),
        f.tier,
        _number(f.probability, 4),
        _text(f.top_factor_up, where=f"{where}, factor up"),
        _text(f.top_factor_down, where=f"{where}, factor down"),
        as_of,
    )
    return dict(zip(columns, values, strict=True))


def salesforce_row(f: Fields) -> Row:
    """A Salesforce import row: ``Id`` and the custom fields' API names."""
    return _crm_row(f, SALESFORCE_COLUMNS, _salesforce_time(f.as_of))


def hubspot_row(f: Fields) -> Row:
    """A HubSpot import row: ``Record ID`` and the properties' internal names."""
    return _crm_row(f, HUBSPOT_COLUMNS, _hubspot_date(f.as_of))


def csv_row(f: Fields) -> Row:
    """A plain row with every field under its own name (empty text for unknown values)."""
    return {
        "entity_kind": f.entity_kind,
        "entity_id": f.entity_id,
        "owner_id": f.owner_id or "",
        "score": str(f.score),
        "previous_score": "" if f.previous_score is None else str(f.previous_score),
        "tier": f.tier,
        "probability": _number(f.probability, 4),
        "value": _number(f.value, 2),
        "top_factor_up": f.top_factor_up,
        "top_factor_down": f.top_factor_down,
        "as_of": iso_utc(f.as_of),
        "run_id": f.run_id,
    }


ROW_BUILDERS: dict[CrmFormat, Callable[[Fields], Row]] = {
    CrmFormat.SALESFORCE: salesforce_row,
    CrmFormat.HUBSPOT: hubspot_row,
    CrmFormat.CSV: csv_row,
}
