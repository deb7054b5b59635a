"""The feature query drops exact duplicate events with a ``SELECT DISTINCT`` only when it can
matter: validation found duplicates, or two raw spellings code alike. Otherwise the features
are the same without it (and the query skips hashing every event row)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd

from features.compute.snapshots import build_feature_query, build_scoring_table
from features.compute.sql import needs_dedup
from features.contract.export import Export
from features.contract.loading import load_export
from features.contract.tasks import Task
from features.definitions.registry import feature_specs
from features.definitions.vocabulary import learn_vocabulary
from tests.features.exportkit import AS_OF, valid_tables, write_export
from training.config import load_config


def _load(directory: Path, tables: dict[str, list[dict[str, str]]]) -> Export:
    return load_export(write_export(directory, tables), as_of=AS_OF)


def _churn_table(export: Export) -> tuple[pd.DataFrame, bool]:
    vocabulary = learn_vocabulary(
        export, task=Task.CHURN, before=AS_OF, settings=load_config().vocabulary
    )
    specs = feature_specs(Task.CHURN, vocabulary, export)
    dedup = build_feature_query(Task.CHURN, export, specs, vocabulary).dedup
    table = build_scoring_table(
        export, task=Task.CHURN, as_of=AS_OF, vocabulary=vocabulary, specs=specs
    )
    return table, dedup


def test_loading_records_the_event_tables_validation_found_duplicate_free(tmp_path: Path) -> None:
    tables = valid_tables()
    clean = _load(tmp_path / "clean", tables)
    assert clean.duplicate_free_events == {"customer_events", "lead_events"}
    clean.close()
    tables["customer_events"].append(dict(tables["customer_events"][0]))
    repeated = _load(tmp_path / "repeated", tables)
    assert repeated.duplicate_free_events == {"lead_events"}
    repeated.close()


def test_a_duplicate_free_export_skips_the_distinct_and_gets_the_same_features(
    tmp_path: Path,
) -> None:
    export = _load(tmp_path / "export", valid_tables())
    without, dedup = _churn_table(export)
    assert dedup is False
    # The same tables, not known duplicate-free (an export built from frames): DISTINCT runs.
    unknown = dataclasses.replace(export, duplicate_free_events=frozenset())
    with_distinct, dedup = _churn_table(unknown)
    assert dedup is True
    pd.testing.assert_frame_equal(without, with_distinct)
    export.close()


def test_duplicates_or_two_spellings_of_one_type_keep_the_distinct(tmp_path: Path) -> None:
    tables = valid_tables()
    first = tables["customer_events"][0]
    tables["customer_events"].append(dict(first))  # an exact duplicate
    once = valid_tables()
    respelled = valid_tables()
    # Not equal as written, but one event once the type is normalised.
    respelled["customer_events"].append({**first, "type": first["type"].upper()})
    counts = {}
    for name, rows in (("duplicate", tables), ("once", once), ("respelled", respelled)):
        export = _load(tmp_path / name, rows)
        table, dedup = _churn_table(export)
        assert dedup is (name != "once"), name
        counts[name] = table["event_count_365d"].tolist()
        export.close()
    assert counts["duplicate"] == counts["once"] == counts["respelled"]


def test_needs_dedup_follows_validation_and_the_coding() -> None:
    coding = [("order", 1, 1), ("ticket", 2, 2)]
    directions = [("inbound", "inbound"), ("outbound", "outbound")]
    assert needs_dedup(True, coding, directions) is False
    assert needs_dedup(False, coding, directions) is True
    assert needs_dedup(True, [*coding, ("Order", 1, 1)], directions) is True
    assert needs_dedup(True, coding, [*directions, ("Inbound ", "inbound")]) is True
