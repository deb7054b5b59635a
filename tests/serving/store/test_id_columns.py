"""The scores database's id columns are as long as the ids the API and validation accept."""

from __future__ import annotations

from sqlalchemy import String

from features.contract.tables import MAX_ID_CHARS
from serving.store.actions import action_metadata
from serving.store.tables import metadata


def test_every_entity_and_owner_id_column_holds_the_longest_accepted_id() -> None:
    columns = {
        f"{table.name}.{column.name}": column.type
        for meta in (metadata, action_metadata)
        for table in meta.tables.values()
        for column in table.columns
        if column.name == "entity_id" or column.name.endswith("owner_id")
    }
    assert sorted(columns) == [
        "api_keys.owner_id",
        "rep_actions.entity_id",
        "rep_actions.owner_id",
        "rep_actions.recorded_by_owner_id",
        "score_details.entity_id",
        "scores.entity_id",
        "scores.owner_id",
        "shadow_scores.entity_id",
    ]
    for name, kind in columns.items():
        assert isinstance(kind, String) and kind.length == MAX_ID_CHARS, name
