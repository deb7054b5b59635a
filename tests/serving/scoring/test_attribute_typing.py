"""Attributes are read in the type their export column had at training, in the export and the
API alike: lossless conversions are coerced with a warning, the rest read as unknown with one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from features.compute.online import COERCED, UNREADABLE, UNSEEN, read_attribute
from features.compute.snapshots import build_scoring_table
from features.contract.export import export_from_frames
from features.contract.tasks import Task
from features.definitions.registry import FeatureSpec
from serving.api.app import create_app
from serving.scoring.input_warnings import model_grouped_levels, model_levels
from tests.serving.api.test_scoring_api import lead
from tests.serving.appkit import FolderChampions, auth, build_test_services, create_keys
from tests.serving.factories import fit_model, make_frames

RARE = "shipbuilding"


def typed_frames() -> dict[str, Any]:
    """The factories' export, its leads with a boolean, a numeric and a text attribute."""
    frames = make_frames(seed=11)
    leads = frames["leads"]
    # Partners convert more, so that the trees split on the boolean; the size is noise.
    converted = leads["converted_at"].notna().to_numpy()
    leads["is_partner"] = [bool(c) or i % 4 == 0 for i, c in enumerate(converted)]
    leads["employees"] = [float(20 + (i * 37) % 500) for i in range(len(leads))]
    # One open lead created in August 2025 holds a level too rare to learn: it is in the
    # training rows of two monthly cutoffs (the factory keeps levels of 5 rows or more), so
    # training sees it and groups it into "other".
    august = leads["created_at"].between(datetime(2025, 8, 2), datetime(2025, 8, 31))
    still_open = leads["converted_at"].isna()
    leads.loc[leads.index[august & still_open][0], "industry"] = RARE
    return frames


@pytest.fixture(scope="module")
def typed_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A lead model trained on ``typed_frames``."""
    export = export_from_frames(**typed_frames())
    model = fit_model(export, Task.LEADS, seed=3)
    export.close()
    folder = tmp_path_factory.mktemp("typed") / "v1"
    return folder, model.save(folder)


@pytest.fixture
def typed(tmp_path: Path, typed_model: tuple[Path, dict[str, str]]) -> Iterator[Any]:
    source = FolderChampions()
    source.publish(Task.LEADS, "1", *typed_model)
    services = build_test_services(tmp_path, source)
    keys = create_keys(services)
    with TestClient(create_app(services)) as client:
        yield client, keys, services


def score(typed: Any, **attributes: object) -> tuple[tuple, list[tuple[str, str]]]:
    """What the model made of the entity (probability and signed reasons), and its warnings.

    The reasons carry each feature's value as read and its exact contribution, which tells
    two readings apart even where the calibrated probability is the same."""
    client, keys, _ = typed
    entity = lead(events=10)
    entity["attributes"] = {"industry": "retail", "is_partner": True, "employees": 120}
    entity["attributes"].update(attributes)
    entity["attributes"] = {k: v for k, v in entity["attributes"].items() if v != "OMIT"}
    body = {"as_of": "2025-12-01T00:00:00Z", "leads": [entity]}
    response = client.post("/v1/leads/score", json=body, headers=auth(keys["crm"]))
    assert response.status_code == 200, response.text
    (result,) = response.json()["results"]
    assert result["status"] == "scored", result
    reasons = tuple((r["feature"], r["value"], r["contribution"]) for r in result["reasons"])
    warnings = [(w["field"], w["code"]) for w in result["warnings"]]
    return (result["probability"], reasons), warnings


def _scoring_table(model: Any, frames: dict[str, Any]) -> Any:
    """The batch scoring table of ``frames`` for ``model``, as of 2025-10-01."""
    export = export_from_frames(**frames)
    specs = [FeatureSpec(**vars(s)) for s in model.feature_specs]
    table = build_scoring_table(
        export,
        task=Task.LEADS,
        as_of=datetime(2025, 10, 1),
        vocabulary=model.vocabulary,
        specs=specs,
    )
    export.close()
    return table


def test_the_export_types_booleans_as_true_false_levels(typed: Any) -> None:
    """The export path: a boolean column is categorical with the levels "true" and "false"."""
    _, _, services = typed
    model = services.models.current(Task.LEADS).model
    specs = {s.name: s.dtype for s in model.feature_specs}
    assert specs["is_partner"] == "categorical" and specs["employees"] == "numeric"
    assert {"true", "false"} <= set(model_levels(model)["is_partner"])


def test_the_export_and_the_api_read_attributes_alike(typed: Any) -> None:
    """Batch scoring reads the export's cells as the API reads the same values sent as JSON."""
    _, _, services = typed
    model = services.models.current(Task.LEADS).model
    frames = typed_frames()
    table = _scoring_table(model, frames)
    sent = frames["leads"].set_index("lead_id")
    levels = model_levels(model)
    for row in table.head(40).itertuples():
        partner = bool(sent.loc[row.entity_id, "is_partner"])
        for value in (partner, int(partner), str(partner)):
            assert read_attribute("categorical", value, levels["is_partner"])[0] == row.is_partner
        size = sent.loc[row.entity_id, "employees"]
        assert read_attribute("numeric", float(size))[0] == row.employees
        assert read_attribute("numeric", str(size))[0] == row.employees


def test_a_boolean_attribute_accepts_json_booleans_and_coerces_lossless_values(
    typed: Any,
) -> None:
    partner, warnings = score(typed, is_partner=True)
    assert warnings == []
    not_partner, _ = score(typed, is_partner=False)
    assert ("is_partner", "true") in {r[:2] for r in partner[1]}
    assert partner != not_partner  # the attribute reaches the model
    assert score(typed, is_partner="true") == (partner, [])
    for coercible, flag in ((1, True), ("True", True), ("1", True), (0, False), ("FALSE", False)):
        probability, warnings = score(typed, is_partner=coercible)
        assert probability == (partner if flag else not_partner), coercible
        assert warnings == [("attributes.is_partner", "coerced_attribute")], coercible


def test_unreadable_values_are_missing_with_a_warning(typed: Any) -> None:
    missing, warnings = score(typed, is_partner="OMIT")
    assert warnings == [("attributes.is_partner", "missing_attribute")]
    for unreadable in ("maybe", 2, 0.5):
        probability, warnings = score(typed, is_partner=unreadable)
        assert probability == missing
        assert warnings == [("attributes.is_partner", "unreadable_attribute")]
    no_size, _ = score(typed, employees="OMIT")
    for unreadable in ("lots", True, "1,250"):
        assert score(typed, employees=unreadable) == (
            no_size,
            [("attributes.employees", "unreadable_attribute")],
        )


def test_numbers_as_text_are_coerced(typed: Any) -> None:
    sized, warnings = score(typed, employees=120)
    assert warnings == []
    assert score(typed, employees="120") == (
        sized,
        [("attributes.employees", "coerced_attribute")],
    )


def test_an_unseen_level_is_warned(typed: Any) -> None:
    _, warnings = score(typed, industry="retail")
    assert warnings == []
    _, warnings = score(typed, industry="Retail")
    assert warnings == [("attributes.industry", "unseen_level")]
    _, warnings = score(typed, industry=7)
    assert warnings == [
        ("attributes.industry", "coerced_attribute"),
        ("attributes.industry", "unseen_level"),
    ]


def test_a_level_grouped_as_rare_is_known_not_unseen(typed: Any) -> None:
    _, _, services = typed
    model = services.models.current(Task.LEADS).model
    assert RARE in model_grouped_levels(model)["industry"]
    assert RARE not in model_levels(model)["industry"]  # grouped, not learnt
    rare, warnings = score(typed, industry=RARE)
    assert warnings == []
    unseen, warnings = score(typed, industry="submarines")
    assert warnings == [("attributes.industry", "unseen_level")]
    assert rare == unseen  # both read as "other", as at training


def test_batch_counts_unseen_levels_but_not_rare_ones(typed: Any) -> None:
    from serving.scoring.batch_rows import read_attributes

    _, _, services = typed
    model = services.models.current(Task.LEADS).model
    frames = typed_frames()
    leads = frames["leads"]
    leads.loc[leads.index[1:4], "industry"] = RARE
    leads.loc[leads.index[4:6], "industry"] = "submarines"
    table = _scoring_table(model, frames)
    assert (table["industry"] == RARE).any()
    _, notes = read_attributes(table, model, Task.LEADS)
    assert notes["industry"] == {UNSEEN: int((table["industry"] == "submarines").sum())}


@pytest.mark.parametrize(
    ("dtype", "value", "levels", "expected"),
    [
        ("numeric", 3, (), (3.0, ())),
        ("numeric", "2.5", (), (2.5, (COERCED,))),
        ("numeric", "inf", (), (float("nan"), (UNREADABLE,))),
        ("numeric", 10**400, (), (float("nan"), (UNREADABLE,))),
        ("categorical", True, ("True", "False", "__other__"), ("True", ())),
        ("categorical", "true", ("True", "False"), ("True", (COERCED,))),
        ("categorical", False, ("a", "b"), ("false", (COERCED, UNSEEN))),
        ("categorical", 1.5, ("a",), (None, (UNREADABLE,))),
        ("categorical", None, ("a",), (None, ())),
    ],
)
def test_read_attribute(dtype: str, value: object, levels: tuple, expected: tuple) -> None:
    got = read_attribute(dtype, value, levels)
    assert repr(got) == repr(expected)  # repr: NaN equals NaN


def test_batch_scoring_reads_export_cells_by_the_api_rule_and_counts_them(typed: Any) -> None:
    """A CSV-like export whose boolean column holds the texts "True"/"False" and whose text
    attribute has a level the model never learnt: batch scoring reads the booleans as the
    learnt levels (coerced, counted) and counts the unseen level, as the API warns per entity."""
    from serving.scoring.batch_rows import read_attributes

    _, _, services = typed
    model = services.models.current(Task.LEADS).model
    frames = typed_frames()
    leads = frames["leads"]
    leads["is_partner"] = leads["is_partner"].map({True: "True", False: "False"})
    leads.loc[leads.index[:7], "industry"] = "Shipbuilding"
    table = _scoring_table(model, frames)
    read, notes = read_attributes(table, model, Task.LEADS)
    assert set(table["is_partner"].dropna()) == {"True", "False"}  # as written
    assert set(read["is_partner"].dropna()) <= {"true", "false"}  # as the model learnt them
    assert notes["is_partner"] == {COERCED: int(table["is_partner"].notna().sum())}
    shipbuilding = int((table["industry"] == "Shipbuilding").sum())
    assert 0 < shipbuilding <= 7 and notes["industry"] == {UNSEEN: shipbuilding}
    assert "employees" not in notes  # numbers the export typed as numbers: read as written
    assert read["employees"].equals(table["employees"])
