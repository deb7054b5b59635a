"""Wording as data (``features.definitions.wording``): every case kind reads as it did in the old
one-string grammar, any text is allowed in a label or a sentence, and the saved form round-trips
through a model's ``model.json``."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from features.definitions.wording import Case, Wording, WordingError
from features.model.reasons import phrase
from features.model.scoring_model import MANIFEST_FILE, ModelFeature, ScoringModel
from tests.training.factories import SPECS

EVERY_KIND = Wording.of(
    "Change in orders",
    {
        "missing": "No orders to compare",
        "=0": "Same number of orders",
        "=1": "1 more order",
        "<0": "{value} fewer orders; usually every {usual}",
        "other": "{value} more orders",
    },
)
# The same wording in the one-string grammar the registry wrote and the reasons parsed before.
EVERY_KIND_AS_TEXT = (
    "Change in orders | missing: No orders to compare | =0: Same number of orders"
    " | =1: 1 more order | <0: {value} fewer orders; usually every {usual}"
    " | other: {value} more orders"
)
USUAL = ModelFeature("usual", "numeric", Wording("Usual gap"), "cadence", "days")


def _say(wording: Wording, value: object, unit: str = "count") -> str:
    spec = ModelFeature("x", "numeric", wording, "trend", unit)
    return phrase(spec, {"x": value, "usual": 21.2}, (spec, USUAL))


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "No orders to compare"),
        (0.0, "Same number of orders"),
        (0.4, "Same number of orders"),  # shown as 0
        (1.0, "1 more order"),
        (-3.0, "3 fewer orders; usually every 21 days"),  # the magnitude: words carry the sign
        (7.0, "7 more orders"),
    ],
)
def test_each_case_kind_renders_as_the_string_grammar_did(value: object, text: str) -> None:
    assert _say(EVERY_KIND, value) == text
    # The old string, read as a model saved before format version 5 is, says the same.
    assert Wording.from_legacy_text(EVERY_KIND_AS_TEXT) == EVERY_KIND
    assert _say(Wording.from_legacy_text(EVERY_KIND_AS_TEXT), value) == text


def test_a_label_or_sentence_with_a_separator_or_colon_reads_as_written() -> None:
    wording = Wording.of(
        "Revenue | EMEA: last 30 days",
        {"missing": "No revenue: EMEA | APAC", "other": "Revenue | EMEA: {value}"},
    )
    assert _say(wording, 12500.0, "currency") == "Revenue | EMEA: 12,500"
    assert _say(wording, None, "currency") == "No revenue: EMEA | APAC"
    assert _say(Wording("Revenue | EMEA: last 30 days"), 5.0) == ("Revenue | EMEA: last 30 days: 5")
    # The one-string grammar could not hold it: split on " | ", the label lost its tail and
    # "EMEA: last 30 days" read as a malformed case, so every sentence was dropped.
    as_text = "Revenue | EMEA: last 30 days | missing: No revenue | other: Revenue {value}"
    assert Wording.from_legacy_text(as_text) == Wording("Revenue")
    assert _say(Wording.from_legacy_text(as_text), 12500.0, "currency") == "Revenue: 12,500"


def test_the_saved_form_round_trips_and_names_a_bad_field() -> None:
    saved = json.loads(json.dumps(EVERY_KIND.to_dict()))
    assert saved["cases"][3] == {
        "when": "<0",
        "text": "{value} fewer orders; usually every {usual}",
    }
    assert Wording.from_dict(saved) == EVERY_KIND
    bad = {**saved, "cases": [*saved["cases"][:2], {"when": "zero", "text": "none"}]}
    with pytest.raises(WordingError, match=r"^x\.cases\[2\]: case key 'zero'"):
        Wording.from_dict(bad, "x")
    with pytest.raises(WordingError, match=r"^x: expected an object with exactly label and cases"):
        Wording.from_dict({"label": "a"}, "x")
    with pytest.raises(WordingError, match=r"=1 repeated"):
        Wording("l", (Case("=1", "a"), Case("=1", "b")))


def test_a_saved_model_keeps_a_wording_any_text_included(
    fitted_model: ScoringModel, tmp_path: Path
) -> None:
    tricky = Wording.of("Orders | all: 90 days", {"=0": "No orders: none | at all", "other": "x"})
    specs = (
        SPECS[0],
        ModelFeature("orders_90d", "numeric", tricky, "frequency", "count"),
        SPECS[2],
    )
    # The words are the model's own copy (feature_specs), not the fit's: the shared model with
    # the feature reworded is a model saved with that wording, no fit of its own needed.
    model = dataclasses.replace(fitted_model, feature_specs=specs)
    hashes = model.save(tmp_path)
    manifest = json.loads((tmp_path / MANIFEST_FILE).read_text())
    assert manifest["feature_specs"][1]["description"] == tricky.to_dict()
    loaded = ScoringModel.load(tmp_path, expected_sha256=hashes)
    assert loaded.feature_specs == model.feature_specs
    assert loaded.feature_specs[1].description == tricky
