"""How a real CRM export is messy: inconsistent spellings and missing values."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa


@dataclass(frozen=True)
class MessyCategory:
    """A categorical attribute whose levels are typed by hand in several ways.

    ``spellings[i]`` lists the ways level ``i`` appears, the usual spelling first.
    """

    spellings: tuple[tuple[str, ...], ...]
    usual_share: float = 0.8

    def render(
        self, rng: np.random.Generator, levels: np.ndarray, *, missing_share: float
    ) -> pa.Array:
        """One text value per entity (null for a missing value)."""
        strings: list[str] = []
        first_code: list[int] = []
        for variants in self.spellings:
            first_code.append(len(strings))
            strings.extend(variants)
        counts = np.array([len(v) for v in self.spellings])[levels]
        unusual = rng.random(levels.size) >= self.usual_share
        pick = np.where(unusual, rng.integers(0, np.iinfo(np.int32).max, levels.size) % counts, 0)
        codes = np.asarray(first_code)[levels] + pick
        missing = rng.random(levels.size) < missing_share
        indices = pa.array(codes, mask=missing, type=pa.int64())
        return pa.array(strings, type=pa.string()).take(indices)


def mask_amounts(
    rng: np.random.Generator, amounts: np.ndarray, *, missing_share: float
) -> pa.Array:
    """Amounts rounded to cents, a share of them missing (null, never NaN)."""
    missing = rng.random(amounts.size) < missing_share
    return pa.array(np.round(amounts, 2), mask=missing, type=pa.float64())


def draw_levels(rng: np.random.Generator, weights: tuple[float, ...], size: int) -> np.ndarray:
    """Level indices drawn with the given weights."""
    p = np.asarray(weights, dtype=float)
    return rng.choice(p.size, size=size, p=p / p.sum())
