"""Feature rows without a DataFrame: what an online request's features are before pandas.

A scoring request holds a handful of entities; building a pandas frame for them (one Arrow
string array per categorical column, then splitting them back out to encode) cost more than
scoring them. ``FeatureRows`` keeps the values as ``features.compute.online`` computes them, a float
matrix and the text of categorical columns, and the model and the reasons read it directly
(``ScoringModel.score`` and ``features.model.reasons.explain`` take either). ``to_frame`` gives the
very frame ``online_feature_frame`` returns, so the two never disagree: tests hold scores and
reasons from both to each other bit for bit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TypeAlias

import numpy as np
import pandas as pd

from features.compute.snapshots import CATEGORICAL_DTYPE


@dataclass(frozen=True, eq=False)
class FeatureRows:
    """Feature values of ``entity_ids``, one row each, in columns ``names``.

    ``numeric`` holds every numeric column (categorical columns are NaN there); ``text`` holds
    each categorical column's values by position, None when missing.
    """

    entity_ids: tuple[str, ...]
    names: tuple[str, ...]
    numeric: np.ndarray  # (rows, len(names)) float64
    text: Mapping[int, Sequence[str | None]]

    def __len__(self) -> int:
        return len(self.entity_ids)

    @cached_property
    def positions(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.names)}

    def values(self, name: str) -> list[object]:
        """One column as plain Python values (float, NaN when missing; text or None)."""
        position = self.positions[name]
        if position in self.text:
            return list(self.text[position])
        return list(self.numeric[:, position].tolist())

    def to_frame(self) -> pd.DataFrame:
        """The same rows as a frame: float64 and text columns, indexed by ``entity_id``."""
        index = pd.Index(list(self.entity_ids), name="entity_id", dtype=object)
        # Numbers go in as one float block (one pandas column build instead of ~80); text
        # columns then replace their placeholders in place, keeping the column order.
        frame = pd.DataFrame(self.numeric, index=index, columns=list(self.names))
        for position, values in sorted(self.text.items()):
            frame.isetitem(position, pd.array(list(values), dtype=CATEGORICAL_DTYPE))
        return frame

    @classmethod
    def concat(cls, parts: Sequence[FeatureRows]) -> FeatureRows:
        """``parts`` one after another; they must share their columns."""
        if not parts:
            raise ValueError("nothing to concatenate")
        names = parts[0].names
        if any(part.names != names for part in parts):
            raise ValueError("feature rows with different columns cannot be concatenated")
        return cls(
            entity_ids=tuple(e for part in parts for e in part.entity_ids),
            names=names,
            numeric=np.concatenate([part.numeric for part in parts]),
            text={
                position: [v for part in parts for v in part.text[position]]
                for position in parts[0].text
            },
        )


# What the model and the reasons accept: a feature frame or, from online requests, rows.
FeatureTable: TypeAlias = pd.DataFrame | FeatureRows


def concat_tables(parts: Sequence[FeatureTable]) -> FeatureTable:
    """``parts`` one after another, rows staying rows (and frames, frames)."""
    if all(isinstance(part, FeatureRows) for part in parts):
        return FeatureRows.concat(parts)
    return pd.concat([p.to_frame() if isinstance(p, FeatureRows) else p for p in parts])
