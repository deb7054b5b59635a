"""The values of a feature frame: type checks and conversions, and the prior offset's log-odds.

Shared by the fitted pipeline (``features.model.scoring_model``) and its compiled form
(``features.model.scoring_plan``), so both read a frame by the same rules and neither imports the
other for them. Time-free.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import logit

from features.errors import UserError


class FeatureFrameError(UserError, ValueError):
    """A frame to score lacks a feature column or holds a value of the wrong kind."""


def check_text(series: pd.Series, name: str) -> None:
    """Raise ``FeatureFrameError`` naming ``name`` when a categorical column holds numbers."""
    check_text_dtype(series.dtype, name, all_missing=bool(series.isna().all()))


def check_text_dtype(dtype: Any, name: str, *, all_missing: bool) -> None:
    """Refuse numbers where text belongs; a column with no value at all is just missing.

    JSON cannot type an all-null column, so pandas (and MLflow's scoring server) reads it as
    float64 NaN: nothing is coerced by reading those as missing text.
    """
    if pd.api.types.is_bool_dtype(dtype) or (
        pd.api.types.is_float_dtype(dtype) and not all_missing
    ):
        raise FeatureFrameError(f"categorical feature {name!r} holds {dtype} values; expected text")


def as_text(series: pd.Series, name: str) -> pd.Series:
    """Categorical values as text; missing stays missing (never the string 'nan')."""
    check_text(series, name)
    return (
        series.astype("object")
        .where(series.notna(), None)
        .map(lambda v: v if v is None else str(v))
    )


def as_float(series: pd.Series, name: str) -> pd.Series:
    """Numeric values as float64; a non-numeric value is an error naming its row, not a NaN."""
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return series.astype("float64")
    converted = pd.to_numeric(series, errors="coerce")
    bad = converted.isna() & series.notna()
    if bad.any():
        # By position: a label can repeat, the first bad cell cannot.
        position = int(bad.to_numpy().argmax())
        row, value = series.index[position], series.iloc[position]
        raise FeatureFrameError(
            f"numeric feature {name!r} holds non-numeric value {value!r} at row {row!r}"
        )
    return converted.astype("float64")


# A prior probability is clipped this far from 0 and 1 before its log-odds start the trees:
# logit(1e-6) = -13.8 is already beyond what the trees' few hundred small steps could undo.
OFFSET_CLIP = 1e-6


def offset_log_odds(probability: np.ndarray) -> np.ndarray:
    """The log-odds the trees start from: logit(p) per row, p clipped to OFFSET_CLIP from 0 and 1.

    ``probability`` is a prior P(label = 1) per row, shape (n,); missing (NaN: no prior, e.g. a
    customer without a purchase yet) starts at log-odds 0, and the trees learn those rows
    from their other features (the prior's own column stays a feature, NaN included).
    Returns float64 log-odds, shape (n,). The one definition that fitting, the scikit-learn
    pipeline and ``features.model.scoring_plan`` all use.
    """
    p = np.clip(np.asarray(probability, dtype=np.float64), OFFSET_CLIP, 1.0 - OFFSET_CLIP)
    return np.asarray(np.nan_to_num(logit(p), nan=0.0))
