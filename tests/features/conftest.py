"""One fitted churn model for the whole of tests/features, fitted once per session.

A test that needs a fitted ``ScoringModel`` (its rows, reasons, persistence) but no particular
fit takes ``fitted_model``, with ``fitted_frame`` the rows it was fitted on; a test that is about
the fit itself (calibration method, offset, seeds) still fits its own.
"""

from __future__ import annotations

import pandas as pd
import pytest

from features.contract.tasks import Task
from features.model.scoring_model import ScoringModel
from tests.features.vocabkit import sim_vocabulary
from tests.training.factories import SPECS, make_training_frame
from training.tree_fit import fit_scoring_model


@pytest.fixture(scope="session")
def fitted_frame() -> pd.DataFrame:
    """The training rows of ``fitted_model`` (400 entities x 6 monthly cutoffs, seed 3)."""
    return make_training_frame(seed=3)


@pytest.fixture(scope="session")
def fitted_model(fitted_frame: pd.DataFrame) -> ScoringModel:
    """A churn model over ``tests.training.factories.SPECS``: 40 trees, seed 1, metadata
    ``{"k": 1}``. Shared: a test must not change it."""
    return fit_scoring_model(
        fitted_frame,
        SPECS,
        task=Task.CHURN,
        seed=1,
        params={"n_estimators": 40},
        metadata={"k": 1},
        vocabulary=sim_vocabulary(Task.CHURN),
    )
