"""Exact TreeSHAP for small trees by table lookup: LightGBM's contributions, ~10x cheaper.

LightGBM's ``pred_contrib`` runs the TreeSHAP recursion for every row and tree. But a tree with
K internal nodes sends any row down one of at most 2**K *decision patterns* (left or right at
each node), and a row's SHAP values in that tree depend on nothing else. So for small trees
(the served models have 7 leaves, K = 6) every pattern's SHAP values are computed once, when
the model loads, and scoring a row becomes: evaluate every split (one vectorised comparison),
turn each tree's decisions into a pattern number, look the values up, add them per feature.

The values in the table are the Shapley values of the game LightGBM's TreeSHAP solves
(Lundberg et al. 2018, Algorithm 1 "EXPVALUE"): v(S) is the tree's output when the features
in S follow the row and every other split is averaged by the training rows that went each way
(``internal_count`` / ``leaf_count``, as LightGBM weighs them). Features a tree does not split
on are dummies, so each tree's game is solved over its own few features by enumerating their
subsets. Split semantics follow LightGBM's ``Tree::NumericalDecision`` and
``Tree::CategoricalDecision``. A test holds the result to ``pred_contrib`` on rows with
missing values, zeros, values on thresholds and unseen categories.

Models whose trees are larger than ``MAX_TABLE_NODES`` internal nodes (or of a kind this does
not cover) get no table; ``ScoringPlan`` then asks the booster, as before.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import lightgbm as lgb  # annotations only: loading a model imports only what it holds

# 2**8 patterns x 2**8 feature subsets per tree at most: a table built in well under a second
# for hundreds of trees. Larger trees fall back to the booster's own TreeSHAP.
MAX_TABLE_NODES = 8

# Rows scored per block: bounds the (rows x tree nodes) intermediates to a few tens of MB.
BLOCK_ROWS = 2_048

# LightGBM's kZeroThreshold (a float32 1e-35): its predictor drops values with |x| <= this from
# the row, so they reach the trees as 0.0.
_ZERO = float(np.float32(1e-35))


@dataclass(frozen=True)
class _Splits:
    """Every internal node of every tree, flattened: node j sits at (tree, slot) = divmod(j, K).

    A numeric node compares one column of the *widened* matrix ``[X with NaN as -inf | X with
    NaN as +inf]`` with its threshold: picking the half where NaN lands on the side LightGBM
    sends it turns every missing-value rule into the same single comparison.
    """

    column: np.ndarray  # (J,) column of the widened matrix (padding and categorical: 0)
    threshold: np.ndarray  # (J,) numeric threshold (padding and categorical: +inf)
    zero_nodes: np.ndarray  # (Z,) nodes with missing_type "Zero": 0 (and NaN) go by default
    zero_features: np.ndarray  # (Z,) their features
    zero_left: np.ndarray  # (Z,) bool: their default direction is left
    categorical: np.ndarray  # (C,) nodes that split on a category
    category_features: np.ndarray  # (U,) the distinct features those nodes split on
    category_column: np.ndarray  # (C,) each node's feature, as a position in category_features
    goes_left: np.ndarray  # (C * (codes + 1),) per node and code; code ``codes`` = invalid: False


@dataclass(frozen=True)
class _Lookup:
    """Where each (tree, feature slot) value sits in the flat table, grouped by feature.

    Slots are ordered by feature (then tree), so one ``np.add.reduceat`` per row sums every
    tree's value for a feature; ``starts`` mark where each feature of ``features`` begins.
    """

    tree: np.ndarray  # (S,) the tree of each used slot
    offset: np.ndarray  # (S,) tree * 2**K * M + slot: the flat index for pattern 0
    starts: np.ndarray  # (G,) first position of each feature's run of slots
    features: np.ndarray  # (G,) booster feature index of each run


@dataclass(frozen=True)
class ShapTables:
    """Per-tree SHAP values for every decision pattern; ``contributions`` = ``pred_contrib``."""

    n_features: int
    nodes_per_tree: int  # K: patterns are K-bit numbers
    slots_per_tree: int  # M: the most distinct features any tree splits on
    splits: _Splits
    values: np.ndarray  # (T * 2**K * M,) SHAP value of tree t's m-th feature for pattern p
    lookup: _Lookup
    bias: float  # sum of the trees' expected values: the last contributions column

    @classmethod
    def build(cls, booster: lgb.Booster) -> ShapTables | None:
        """Tables for ``booster``, or ``None`` when a tree is too large or of another kind."""
        model = booster.dump_model()
        if (
            model.get("num_tree_per_iteration") != 1
            or model.get("average_output")
            or any(tree.get("is_linear") for tree in model["tree_info"])
        ):
            return None
        trees = [tree["tree_structure"] for tree in model["tree_info"]]
        internal = [_internal_nodes(root) for root in trees]
        k = max((len(nodes) for nodes in internal), default=0)
        if k > MAX_TABLE_NODES:
            return None
        n_features = int(model["max_feature_idx"]) + 1
        m = max((len(_features_of(nodes)) for nodes in internal), default=0)
        values = np.zeros((len(trees), 2**k, m))
        slots: list[tuple[int, int, int]] = []  # (feature, tree, slot)
        bias = 0.0
        for t, (root, nodes) in enumerate(zip(trees, internal, strict=True)):
            features = _features_of(nodes)
            table, expected = _tree_table(root, nodes, features, k)
            values[t, :, : len(features)] = table
            slots += [(feature, t, slot) for slot, feature in enumerate(features)]
            bias += expected
        slots.sort()
        feature = np.array([f for f, _, _ in slots], dtype=np.intp)
        starts = np.flatnonzero(np.r_[True, feature[1:] != feature[:-1]]) if slots else feature
        tree = np.array([t for _, t, _ in slots], dtype=np.intp)
        slot = np.array([s for _, _, s in slots], dtype=np.intp)
        return cls(
            n_features=n_features,
            nodes_per_tree=k,
            slots_per_tree=m,
            splits=_flatten_splits(internal, k, n_features),
            values=values.ravel(),
            lookup=_Lookup(
                tree=tree, offset=tree * (2**k * m) + slot, starts=starts, features=feature[starts]
            ),
            bias=bias,
        )

    def contributions(self, encoded: np.ndarray) -> np.ndarray:
        """SHAP values per row, shape (n, n_features + 1); the last column is the bias."""
        out = np.zeros((encoded.shape[0], self.n_features + 1))
        out[:, -1] = self.bias
        if not len(self.lookup.tree):
            return out  # every tree is a single leaf: all of it is bias
        for start in range(0, encoded.shape[0], BLOCK_ROWS):
            block = encoded[start : start + BLOCK_ROWS]
            out[start : start + len(block), self.lookup.features] = self._block(block)
        return out

    def _block(self, encoded: np.ndarray) -> np.ndarray:
        """(n, G): each row's summed SHAP value per feature of ``lookup.features``."""
        n, k = encoded.shape[0], self.nodes_per_tree
        left = self._go_left(encoded).view(np.uint8).reshape(n, -1, k)
        # K <= 8 decisions per tree -> one byte; bit k = "left at the tree's k-th node".
        pattern = np.einsum("ntk,k->nt", left, (1 << np.arange(k)).astype(np.uint8))
        at = pattern.astype(np.intp)[:, self.lookup.tree]
        at *= self.slots_per_tree
        at += self.lookup.offset
        return np.add.reduceat(self.values[at], self.lookup.starts, axis=1)

    def _go_left(self, encoded: np.ndarray) -> np.ndarray:
        """(n, J) bool: whether each row goes left at each node, as LightGBM decides."""
        s = self.splits
        nan = np.isnan(encoded)
        x = np.where(np.abs(encoded) <= _ZERO, 0.0, encoded)  # NaN stays NaN
        wide = np.concatenate([np.where(nan, -np.inf, x), np.where(nan, np.inf, x)], axis=1)
        left = wide[:, s.column] <= s.threshold
        if len(s.zero_nodes):
            values = np.where(nan, 0.0, x)[:, s.zero_features]
            left[:, s.zero_nodes] = np.where(
                values == 0.0, s.zero_left, values <= s.threshold[s.zero_nodes]
            )
        if len(s.categorical):
            # C++ static_cast<int> truncates toward zero; NaN, negative codes and codes beyond
            # every split's bitset read as the invalid code, which goes right.
            codes = x[:, s.category_features]
            invalid = len(s.goes_left) // len(s.categorical) - 1
            valid = ~np.isnan(codes) & (codes > -1.0) & (codes < invalid)
            code = np.where(valid, codes, invalid).astype(np.intp)[:, s.category_column]
            code += np.arange(len(s.categorical), dtype=np.intp) * (invalid + 1)
            left[:, s.categorical] = s.goes_left[code]
        return left


def _internal_nodes(root: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Internal nodes in pre-order (node 0 is the root); a one-leaf tree has none."""
    out: list[Mapping[str, Any]] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if "split_feature" in node:
            out.append(node)
            stack += [node["right_child"], node["left_child"]]
    return out


def _features_of(nodes: list[Mapping[str, Any]]) -> list[int]:
    """The distinct features a tree splits on, in first-use order."""
    return list(dict.fromkeys(int(node["split_feature"]) for node in nodes))


def _tree_table(
    root: Mapping[str, Any], nodes: list[Mapping[str, Any]], features: list[int], k: int
) -> tuple[np.ndarray, float]:
    """(2**k, len(features)) SHAP values per decision pattern, and the tree's expected value."""
    m = len(features)
    subsets = np.arange(2**m)[:, None]
    patterns = np.arange(2**k)[None, :]
    slot = {feature: i for i, feature in enumerate(features)}
    position = {id(node): i for i, node in enumerate(nodes)}

    def count(node: Mapping[str, Any]) -> float:
        return float(node["internal_count"] if "split_feature" in node else node["leaf_count"])

    def value(node: Mapping[str, Any]) -> np.ndarray:
        """v(S) for every subset S (rows) and pattern (columns) below ``node``."""
        if "split_feature" not in node:
            return np.full((1, 1), float(node["leaf_value"]))
        low, high = node["left_child"], node["right_child"]
        v_left, v_right = value(low), value(high)
        known = (subsets >> slot[int(node["split_feature"])]) & 1 == 1
        goes_left = (patterns >> position[id(node)]) & 1 == 1
        followed = np.where(goes_left, v_left, v_right)
        total = count(node)
        averaged = v_left * (count(low) / total) + v_right * (count(high) / total)
        return np.where(known, followed, averaged)

    v = np.broadcast_to(value(root), (2**m, 2**k))
    expected = float(v[0, 0])  # v(empty set): no feature known, the same for every pattern
    if m == 0:
        return np.zeros((2**k, 0)), expected
    return (_shapley_weights(m) @ v).T, expected


def _shapley_weights(m: int) -> np.ndarray:
    """(m, 2**m) matrix W with phi = W @ v(S): the Shapley value as a sum over subsets."""
    weights = np.zeros((m, 2**m))
    for subset in range(2**m):
        size = subset.bit_count()
        if size == m:
            continue
        w = math.factorial(size) * math.factorial(m - size - 1) / math.factorial(m)
        for i in range(m):
            if not subset >> i & 1:
                weights[i, subset | 1 << i] += w
                weights[i, subset] -= w
    return weights


def _flatten_splits(internal: list[list[Mapping[str, Any]]], k: int, n_features: int) -> _Splits:
    size = len(internal) * k
    column = np.zeros(size, dtype=np.intp)
    threshold = np.full(size, np.inf)
    zero: list[tuple[int, int, bool]] = []
    categorical: list[tuple[int, int, list[int]]] = []
    for t, nodes in enumerate(internal):
        for i, node in enumerate(nodes):
            j, feature = t * k + i, int(node["split_feature"])
            if node["decision_type"] == "==":
                codes = [int(c) for c in str(node["threshold"]).split("||")]
                categorical.append((j, feature, codes))
                continue
            threshold[j] = float(node["threshold"])
            missing = node["missing_type"]
            if missing == "Zero":
                zero.append((j, feature, bool(node["default_left"])))
                continue
            # "NaN": missing goes the learned default way; "None": NaN is read as 0.0.
            nan_left = bool(node["default_left"]) if missing == "NaN" else threshold[j] >= 0.0
            column[j] = feature if nan_left else n_features + feature
    width = 1 + max((max(codes) for *_, codes in categorical), default=-1)
    goes_left = np.zeros((len(categorical), width + 1), dtype=bool)
    for row, (*_, codes) in enumerate(categorical):
        goes_left[row, codes] = True
    split_features = [f for _, f, _ in categorical]
    distinct = sorted(set(split_features))
    return _Splits(
        column=column,
        threshold=threshold,
        zero_nodes=np.array([j for j, _, _ in zero], dtype=np.intp),
        zero_features=np.array([f for _, f, _ in zero], dtype=np.intp),
        zero_left=np.array([d for _, _, d in zero], dtype=bool),
        categorical=np.array([j for j, _, _ in categorical], dtype=np.intp),
        category_features=np.array(distinct, dtype=np.intp),
        category_column=np.array([distinct.index(f) for f in split_features], dtype=np.intp),
        goes_left=goes_left.ravel(),
    )
