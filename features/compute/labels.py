"""Eligibility and labels per (entity, cutoff): the only code that reads outcome columns.

Time semantics: whatever happens at or after a cutoff t belongs to its future. Features read
events strictly before t (``features.compute.sql``); the label window is [t, t + H). An event
exactly at t is therefore in exactly one place, the label window (date-only exports put every event
at 00:00, where the default cutoffs fall), and one exactly at t + H belongs to the next window.

Leads: eligible at cutoff t if ``created_at <= t`` and neither ``converted_at`` nor
``closed_lost_at`` is before t; label 1 if ``converted_at`` is in [t, t + H).

Churn: eligible at t if ``created_at <= t``, ``churned_at`` is not before t, and the customer
has at least one activity event (type in ``activity_types``) strictly before t; label 1 if
``churned_at`` is in [t, t + H) or there is no activity event in [t, t + H).

The outcome columns are read here to decide who is in the spine and what the label is; the
feature query (``features.compute.sql``) never sees them.
"""

from __future__ import annotations

from collections.abc import Sequence

from features.contract.tasks import Task

_CUTOFFS = "cutoffs"  # relation with columns cutoff, horizon_end


def _string_list(values: Sequence[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def lead_spine_sql(*, cutoffs: str, with_label: bool) -> str:
    """SELECT of eligible leads per cutoff with created_at, owner_id, value (and label)."""
    label = (
        ", CASE WHEN l.converted_at >= c.cutoff AND l.converted_at < c.horizon_end "
        "THEN 1 ELSE 0 END AS label"
        if with_label
        else ""
    )
    return (
        "SELECT l.lead_id AS entity_id, c.cutoff, l.created_at, l.owner_id, "
        f"l.expected_value AS value{label} "
        f"FROM leads l JOIN {cutoffs} c ON l.created_at <= c.cutoff "
        "WHERE (l.converted_at IS NULL OR l.converted_at >= c.cutoff) "
        "AND (l.closed_lost_at IS NULL OR l.closed_lost_at >= c.cutoff)"
    )


def churn_spine_sql(*, cutoffs: str, activity_types: Sequence[str], with_label: bool) -> str:
    """SELECT of eligible customers per cutoff with created_at, owner_id, value (and label).

    ``activity_types`` are raw ``type`` texts as they appear in the export (the spellings of the
    model's purchase types, see ``features.definitions.vocabulary``); none at all means nobody is
    eligible.
    """
    matching = f"type IN ({_string_list(activity_types)})" if activity_types else "1 = 0"
    label = (
        ", CASE WHEN p.churned_at >= p.cutoff AND p.churned_at < p.horizon_end THEN 1 "
        "WHEN coalesce(x.after, 0) = 0 THEN 1 ELSE 0 END AS label"
        if with_label
        else ""
    )
    return (
        "WITH pairs AS (SELECT cu.customer_id AS entity_id, c.cutoff, c.horizon_end, "
        "cu.created_at, cu.owner_id, cu.annual_value AS value, cu.churned_at "
        f"FROM customers cu JOIN {cutoffs} c ON cu.created_at <= c.cutoff "
        "WHERE cu.churned_at IS NULL OR cu.churned_at >= c.cutoff), "
        # Only existence matters here, so duplicates need not be removed.
        "activity AS (SELECT customer_id, occurred_at FROM customer_events "
        f"WHERE {matching}), "
        "x AS (SELECT p.entity_id, p.cutoff, "
        "count(*) FILTER (WHERE a.occurred_at < p.cutoff) AS before, "
        "count(*) FILTER (WHERE a.occurred_at >= p.cutoff AND a.occurred_at < p.horizon_end) "
        "AS after "
        "FROM pairs p JOIN activity a ON a.customer_id = p.entity_id "
        "AND a.occurred_at < p.horizon_end GROUP BY p.entity_id, p.cutoff) "
        f"SELECT p.entity_id, p.cutoff, p.created_at, p.owner_id, p.value{label} "
        "FROM pairs p JOIN x ON x.entity_id = p.entity_id AND x.cutoff = p.cutoff "
        "WHERE x.before > 0"
    )


def spine_sql(task: Task, *, cutoffs: str, activity_types: Sequence[str], with_label: bool) -> str:
    """The eligibility (and label) query of a task over a relation of cutoffs."""
    if Task(task) is Task.LEADS:
        return lead_spine_sql(cutoffs=cutoffs, with_label=with_label)
    return churn_spine_sql(cutoffs=cutoffs, activity_types=activity_types, with_label=with_label)
