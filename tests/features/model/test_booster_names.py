"""Feature names LightGBM would rewrite or refuse ("Umsatz mio", "Region [EU]"): the booster gets
``lightgbm_name`` of each, the model keeps the user's spelling for scores and reasons."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from features.contract.tasks import Task
from features.definitions.wording import Wording
from features.model.booster_names import lightgbm_name
from features.model.reasons import explain
from features.model.scoring_model import ModelFeature, ScoringModel
from tests.features.vocabkit import sim_vocabulary
from tests.training.factories import SPECS, make_training_frame
from training.tree_fit import fit_scoring_model

RENAMED = {"days_since_last_purchase": "Umsatz mio", "segment": "Region [EU]"}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("orders_90d", "orders_90d"),
        ("Umsätze€/Jahr", "Umsätze€/Jahr"),
        ("Umsatz mio", "Umsatz_x0020_mio"),
        ("Region [EU]", "Region_x0020__x005B_EU_x005D_"),
        ("a_b c", "a_x005F_b_x0020_c"),
        ("a_x0020_b", "a_x005F_x0020_x005F_b"),
        ('"{x:1},\n\r\0', "_x0022__x007B_x_x003A_1_x007D__x002C__x000A__x000D__x0000_"),
    ],
)
def test_lightgbm_name_keeps_safe_names_and_escapes_the_rest(name: str, expected: str) -> None:
    assert lightgbm_name(name) == expected


def test_an_empty_name_is_refused() -> None:
    with pytest.raises(ValueError, match="must not be empty"):
        lightgbm_name("")


@given(st.text(alphabet=' _xX0F[]:,"{}\n\r\0aü', min_size=1, max_size=12), st.data())
def test_lightgbm_name_is_injective(name: str, data: st.DataObject) -> None:
    other = data.draw(st.text(alphabet=' _xX0F[]:,"{}\n\r\0aü', min_size=1, max_size=12))
    assert (lightgbm_name(name) == lightgbm_name(other)) == (name == other)


def _renamed_specs() -> tuple[ModelFeature, ...]:
    return tuple(
        ModelFeature(
            RENAMED.get(s.name, s.name), s.dtype, Wording(RENAMED[s.name]), s.family, s.unit
        )
        if s.name in RENAMED
        else s
        for s in SPECS
    )


@pytest.mark.parametrize("boost_from", [None, "Umsatz mio"])
def test_a_model_on_names_lightgbm_rewrites_scores_and_explains_in_the_users_spelling(
    tmp_path: Path, boost_from: str | None
) -> None:
    frame = make_training_frame(seed=5).rename(columns=RENAMED)
    if boost_from is not None:  # a prior probability to boost from
        frame[boost_from] = (frame[boost_from].rank(pct=True) * 0.8 + 0.1).fillna(0.5)
    specs = _renamed_specs()
    fitted = fit_scoring_model(
        frame,
        specs,
        task=Task.CHURN,
        seed=2,
        params={"n_estimators": 30},
        vocabulary=sim_vocabulary(Task.CHURN),
        boost_from=boost_from,
    )
    booster = fitted.pipeline[-1].booster_
    assert booster.feature_name() == [
        "Umsatz_x0020_mio",
        "orders_90d",
        "Region_x0020__x005B_EU_x005D_",
    ]
    hashes = fitted.save(tmp_path / "model")
    model = ScoringModel.load(tmp_path / "model", expected_sha256=hashes)
    rows = frame[model.feature_names].iloc[:50]
    scores = model.score(rows)
    np.testing.assert_array_equal(scores.probability, fitted.estimator.predict_proba(rows)[:, 1])
    contributions = model.contributions(rows)
    # TreeSHAP from the booster: each row's contributions add up to its raw log-odds.
    np.testing.assert_allclose(contributions.sum(axis=1), scores.raw_score, rtol=0, atol=1e-9)
    reasons = explain(model, rows, contributions, top_k=3)
    named = {reason.feature for row in reasons for reason in row}
    assert {"Umsatz mio", "Region [EU]"} <= named
    texts = " ".join(reason.text for row in reasons for reason in row)
    assert "Umsatz mio" in texts and "Umsatz_x0020_mio" not in texts
