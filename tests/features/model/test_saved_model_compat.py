"""A model saved before the fit moved to ``training`` (issue 12) loads and scores the same after.

``saved_models/offset_churn_9ae7d39/`` was written by ``ScoringModel.save`` at commit 9ae7d39,
when ``fit_scoring_model`` still lived in ``features.model.scoring_model``: a churn model boosted
from a prior (``OffsetBoostedClassifier``, ``FeatureFrameEncoder``, ``RareLevelGrouper``, sigmoid
calibration) fitted by ``fit_scoring_model`` over ``tests.training.factories.SPECS`` plus a
``prior`` feature (150 entities x 4 cutoffs, 8 trees, seed 1). ``expected.json`` holds twelve
input rows, the probabilities and contributions that code gave them, and ``save``'s hashes.
The classes a saved model names keep their module paths, so the file loads unchanged; the fit
code that moved is in no saved file.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio

from features.model.scoring_model import ESTIMATOR_FILE, TRUSTED_TYPES, ScoringModel

ROOT = Path(__file__).resolve().parents[3]
SAVED = ROOT / "tests" / "features" / "saved_models" / "offset_churn_9ae7d39"
OUR_TYPES = {
    "features.model.categories.RareLevelGrouper",
    "features.model.scoring_model.FeatureFrameEncoder",
    "features.model.scoring_model.OffsetBoostedClassifier",
}


@pytest.fixture(scope="module")
def expected() -> dict[str, object]:
    loaded: dict[str, object] = json.loads((SAVED / "expected.json").read_text(encoding="utf-8"))
    return loaded


def test_a_model_saved_before_the_move_loads_and_scores_the_same(
    expected: dict[str, object],
) -> None:
    model = ScoringModel.load(SAVED, expected_sha256=expected["sha256"])  # type: ignore[arg-type]
    rows = pd.DataFrame(expected["rows"])
    assert model.boost_from == "prior"
    np.testing.assert_allclose(model.predict_proba(rows), expected["probability"], rtol=1e-12)
    np.testing.assert_allclose(model.contributions(rows), expected["contributions"], atol=1e-12)


def test_the_saved_file_names_our_classes_where_they_still_live() -> None:
    saved = set(sio.get_untrusted_types(file=SAVED / ESTIMATOR_FILE))
    assert {name for name in saved if name.startswith("features.")} == OUR_TYPES
    assert saved <= set(TRUSTED_TYPES)


def test_a_model_fitted_today_holds_no_training_type(
    fitted_model: ScoringModel, tmp_path: Path
) -> None:
    """The fit moved, the served unit did not: a new save names our types where a save at
    9ae7d39 named them, and none in ``training``."""
    fitted_model.save(tmp_path)
    saved = set(sio.get_untrusted_types(file=tmp_path / ESTIMATOR_FILE))
    ours = {name for name in saved if name.startswith(("features.", "training."))}
    assert ours == OUR_TYPES - {"features.model.scoring_model.OffsetBoostedClassifier"}


def test_loading_a_model_imports_no_fit_code() -> None:
    """The served unit's module pulls in neither ``training`` nor LightGBM: a tree model's
    file imports LightGBM when it is loaded, a logistic-regression model never does."""
    probe = (
        "import sys, features.model.scoring_model; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('training', 'lightgbm')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert done.stdout.strip() == "[]"
