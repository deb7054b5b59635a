"""A model saved before the package layout changed (issue 12 §2) is refused in one line that
says what to do, not with a list of "untrusted" types or a failed import."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import skops.io as sio

from features.model.artifact_contract import ModelIntegrityError, file_sha256
from features.model.scoring_model import (
    ESTIMATOR_FILE,
    MANIFEST_FILE,
    SAVED_BEFORE_THE_LAYOUT,
    ScoringModel,
)
from tests.features.oldlayout import save_as_before_the_layout


def old_model(model: ScoringModel, folder: Path) -> Path:
    """``model`` saved into ``folder`` as salesradar saved it before the relayout."""
    model.save(folder / "new")
    shutil.copy(folder / "new" / MANIFEST_FILE, folder / MANIFEST_FILE)
    renamed = save_as_before_the_layout(folder / "new" / ESTIMATOR_FILE, folder / ESTIMATOR_FILE)
    assert set(renamed) == {
        "features.model.FeatureFrameEncoder",
        "features.categories.RareLevelGrouper",
    }
    return folder


def test_a_model_saved_before_the_layout_change_is_refused_in_one_line(
    fitted_model: ScoringModel, tmp_path: Path
) -> None:
    folder = old_model(fitted_model, tmp_path)
    # The rewrite is what an old save held: skops now reads those types under the old names,
    # and nothing else differs (the file as saved today loads).
    old_names = set(sio.get_untrusted_types(file=folder / ESTIMATOR_FILE))
    assert {"features.model.FeatureFrameEncoder", "features.categories.RareLevelGrouper"} <= (
        old_names & set(SAVED_BEFORE_THE_LAYOUT)
    )
    ScoringModel.load(folder / "new")
    # Hashes that match, so only the layout check can refuse it.
    hashes = {name: file_sha256(folder / name) for name in (ESTIMATOR_FILE, MANIFEST_FILE)}
    with pytest.raises(ModelIntegrityError) as refused:
        ScoringModel.load(folder, expected_sha256=hashes)
    assert str(refused.value) == (
        f"{folder / ESTIMATOR_FILE}: this model was saved by salesradar before the package"
        " layout changed; retrain it (salesradar train ... --promote)"
    )
    assert "\n" not in str(refused.value)
