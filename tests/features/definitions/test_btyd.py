"""BG/NBD in ``features.definitions.btyd``: the closed forms against independent computations, and
the derived churn features on handwritten histories, batch against online.

The likelihood and P(alive) against direct numerical integration of the individual-level
likelihood (FHL 2005 eq. (3)) over the Gamma and Beta mixing distributions; P(no purchase)
against importance sampling of the process; eq. (10) in its transformed form against the
published one. The process-level checks (simulation, fit) are in tests/training/test_btyd.py.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import integrate, stats
from scipy.special import hyp2f1

from features.compute.online import online_feature_rows
from features.compute.rows import FeatureRows
from features.compute.snapshots import build_feature_table, build_scoring_table
from features.contract.tasks import Task
from features.definitions.btyd import (
    BgNbdParameters,
    BtydFeatures,
    add_btyd_features,
    btyd_values,
    expected_purchases,
    log_likelihood,
    probability_alive,
    probability_no_purchase,
)
from features.definitions.registry import btyd_specs, feature_specs
from features.model.artifact_contract import ModelIntegrityError
from features.model.scoring_model import MANIFEST_FILE, ScoringModel
from tests.features.test_features_support import make_export, online_entities
from tests.features.vocabkit import sim_vocabulary
from training.tree_fit import fit_scoring_model

PARAMS = BgNbdParameters(r=0.7, alpha=25.0, a=0.8, b=3.0)
# (x, t_x, T) in days: no repeat purchase, a steady buyer, a buyer gone quiet, a heavy buyer.
HISTORIES = [(0, 0.0, 40.0), (3, 150.0, 160.0), (4, 30.0, 300.0), (25, 410.0, 420.0)]
BTYD = BtydFeatures(PARAMS, horizon_days=90)
NAMES = BTYD.names


def _lambda_integral(power: float, decay: float) -> float:
    """∫ lam^power e^(-lam decay) Gamma(lam; r, alpha) dlam, by quadrature."""
    density = stats.gamma(PARAMS.r, scale=1.0 / PARAMS.alpha).pdf
    value, _ = integrate.quad(
        lambda lam: lam**power * np.exp(-lam * decay) * density(lam),
        0,
        np.inf,
        epsabs=0,
        epsrel=1e-11,
        limit=500,
    )
    return value


def _p_integral(dies: int, survives: int) -> float:
    """∫ p^dies (1 - p)^survives Beta(p; a, b) dp, by quadrature."""
    density = stats.beta(PARAMS.a, PARAMS.b).pdf
    value, _ = integrate.quad(
        lambda p: p**dies * (1 - p) ** survives * density(p),
        0,
        1,
        epsabs=0,
        epsrel=1e-11,
        limit=500,
    )
    return value


def _integrated(x: int, t_x: float, t_obs: float) -> tuple[float, float]:
    """(alive branch, dead branch) of eq. (3) integrated over the mixing distributions."""
    alive = _p_integral(0, x) * _lambda_integral(x, t_obs)
    dead = _p_integral(1, x - 1) * _lambda_integral(x, t_x) if x > 0 else 0.0
    return alive, dead


@pytest.mark.parametrize(("x", "t_x", "t_obs"), HISTORIES)
def test_log_likelihood_matches_numerical_integration(x: int, t_x: float, t_obs: float) -> None:
    alive, dead = _integrated(x, t_x, t_obs)
    got = log_likelihood(PARAMS, [x], [t_x], [t_obs])[0]
    assert got == pytest.approx(np.log(alive + dead), abs=1e-7)


@pytest.mark.parametrize(("x", "t_x", "t_obs"), HISTORIES)
def test_probability_alive_matches_numerical_integration(x: int, t_x: float, t_obs: float) -> None:
    alive, dead = _integrated(x, t_x, t_obs)
    got = probability_alive(PARAMS, [x], [t_x], [t_obs])[0]
    assert got == pytest.approx(alive / (alive + dead), abs=1e-8)
    if x == 0:
        assert got == 1.0  # nobody dies at the trial


def test_probability_no_purchase_matches_importance_sampling() -> None:
    """Draw (lam, p) from the priors, weight by eq. (3), then run the process forward from T:
    alive with P(alive | lam, p, history), next purchase after an exponential(lam) wait."""
    rng = np.random.default_rng(3)
    draws, days = 400_000, 90.0
    for x, t_x, t_obs in HISTORIES:
        lam = rng.gamma(PARAMS.r, 1.0 / PARAMS.alpha, draws)
        p = rng.beta(PARAMS.a, PARAMS.b, draws)
        alive_branch = (1 - p) ** x * lam**x * np.exp(-lam * t_obs)
        dead_branch = p * (1 - p) ** (x - 1) * lam**x * np.exp(-lam * t_x) if x else 0.0
        weight = alive_branch + dead_branch
        alive = rng.random(draws) < alive_branch / weight
        quiet = ~alive | (rng.exponential(1.0 / lam) > days)
        w = weight / weight.sum()
        estimate = float(np.sum(w * quiet))
        standard_error = float(np.sqrt(np.sum(w**2 * (quiet - estimate) ** 2)))
        exact = probability_no_purchase(PARAMS, [x], [t_x], [t_obs], days=days)[0]
        assert abs(estimate - exact) < 4 * standard_error + 1e-12, (x, estimate, exact)


def test_probability_no_purchase_limits() -> None:
    x, t_x, t_obs = np.array([0, 3, 4]), np.array([0.0, 150.0, 30.0]), np.array([40, 160, 300])
    assert np.allclose(probability_no_purchase(PARAMS, x, t_x, t_obs, days=0.0), 1.0)
    # Over an endless window only the dead stay quiet.
    endless = probability_no_purchase(PARAMS, x, t_x, t_obs, days=1e12)
    assert np.allclose(endless, 1 - probability_alive(PARAMS, x, t_x, t_obs), atol=1e-6)


def _eq10_as_published(x: float, t_x: float, t_obs: float, days: float) -> float:
    """FHL 2005 eq. (10) term by term, untransformed (fine for small x)."""
    r, alpha, a, b = PARAMS.r, PARAMS.alpha, PARAMS.a, PARAMS.b
    base = alpha + t_obs
    tail = (base / (base + days)) ** (r + x) * hyp2f1(
        r + x, b + x, a + b + x - 1, days / (base + days)
    )
    alive = 1.0
    if x > 0:
        alive = 1 / (1 + a / (b + x - 1) * ((alpha + t_obs) / (alpha + t_x)) ** (r + x))
    return (a + b + x - 1) / (a - 1) * (1 - tail) * alive


@pytest.mark.parametrize(("x", "t_x", "t_obs"), HISTORIES)
def test_expected_purchases_match_eq10_as_published(x: int, t_x: float, t_obs: float) -> None:
    for days in (1.0, 90.0, 365.0):
        got = expected_purchases(PARAMS, [x], [t_x], [t_obs], days=days)[0]
        assert got == pytest.approx(_eq10_as_published(x, t_x, t_obs, days), rel=1e-9)


def test_every_formula_stays_finite_for_a_heavy_buyer() -> None:
    """2,000 repeat purchases in 40 days: the published eq. (10) gives NaN; ours does not."""
    x, t_x, t_obs = [2000.0, 2000.0], [39.999, 1.0], [40.0, 40.0]
    with np.errstate(all="ignore"):
        assert not np.isfinite(_eq10_as_published(2000.0, 39.999, 40.0, 90.0))
    alive = probability_alive(PARAMS, x, t_x, t_obs)
    expected = expected_purchases(PARAMS, x, t_x, t_obs, days=90.0)
    quiet = probability_no_purchase(PARAMS, x, t_x, t_obs, days=90.0)
    assert np.isfinite(expected).all() and expected[0] > 100 and expected[1] >= 0.0
    assert alive[0] > 0.99 and alive[1] == pytest.approx(0.0, abs=1e-12)
    assert quiet[0] == pytest.approx(1 - alive[0], abs=1e-12) and quiet[1] == pytest.approx(1.0)


# --- the derived features ---

# A handwritten history as of 2025-02-10: "a" ordered at days 0, 9.5 and 30 after its first
# order (x = 2, t_x = 30, T = 37.5, two same-day events one of which is a call); "b" once,
# 21 days ago (x = 0, t_x = 0, T = 21); "c" never ordered.
AS_OF = datetime(2025, 2, 10)
CUSTOMERS = [
    {"customer_id": c, "created_at": datetime(2025, 1, 1), "owner_id": "o", "annual_value": 1.0}
    for c in ("a", "b", "c")
]
EVENTS = [
    {"customer_id": "a", "occurred_at": "2025-01-03 12:00", "type": "order", "value": 5.0},
    {"customer_id": "a", "occurred_at": "2025-01-13 00:00", "type": "order", "value": 7.0},
    {"customer_id": "a", "occurred_at": "2025-02-02 12:00", "type": "order", "value": 1.0},
    {"customer_id": "a", "occurred_at": "2025-02-02 12:00", "type": "call", "value": None},
    {"customer_id": "a", "occurred_at": "2025-02-10 00:00", "type": "order", "value": 1.0},
    {"customer_id": "b", "occurred_at": "2025-01-20 00:00", "type": "order", "value": 2.0},
    {"customer_id": "c", "occurred_at": "2025-01-20 00:00", "type": "call", "value": None},
]


def _specs() -> list:
    vocabulary = sim_vocabulary(Task.CHURN)
    return [*feature_specs(Task.CHURN, vocabulary), *btyd_specs(vocabulary, BTYD)]


def _by_hand(x: float, t_x: float, t_obs: float) -> tuple[float, float, float]:
    """P(alive), eq. (10) and P(no purchase) in 90 days, written out in plain arithmetic."""
    r, alpha, a, b = PARAMS.r, PARAMS.alpha, PARAMS.a, PARAMS.b
    alive = 1.0
    if x > 0:
        alive = 1 / (1 + a / (b + x - 1) * ((alpha + t_obs) / (alpha + t_x)) ** (r + x))
    quiet = 1 - alive * (1 - ((alpha + t_obs) / (alpha + t_obs + 90)) ** (r + x))
    return alive, _eq10_as_published(x, t_x, t_obs, 90.0), quiet


def test_golden_values_of_a_handwritten_history_batch_and_online() -> None:
    export = make_export(Task.CHURN, CUSTOMERS, EVENTS)
    try:
        batch = build_scoring_table(
            export,
            task=Task.CHURN,
            as_of=AS_OF,
            vocabulary=sim_vocabulary(Task.CHURN),
            specs=_specs(),
        )
    finally:
        export.close()
    assert not any(name in batch.columns for name in NAMES)  # the SQL leaves them out
    batch = add_btyd_features(batch, BTYD).set_index("entity_id")
    online = add_btyd_features(
        online_feature_rows(
            Task.CHURN,
            online_entities(Task.CHURN, CUSTOMERS, EVENTS),
            as_of=AS_OF,
            vocabulary=sim_vocabulary(Task.CHURN),
            specs=_specs(),
        ),
        BTYD,
    ).to_frame()
    assert batch.index.tolist() == ["a", "b"]  # "c" never ordered: not eligible
    for entity, history in (("a", (2.0, 30.0, 37.5)), ("b", (0.0, 0.0, 21.0))):
        expected = _by_hand(*history)
        assert batch.loc[entity, list(NAMES)].tolist() == pytest.approx(expected, rel=1e-12)
        assert online.loc[entity, list(NAMES)].tolist() == pytest.approx(expected, rel=1e-12)
    assert batch.loc["b", NAMES[0]] == 1.0  # nobody dies at the trial
    assert online.loc["c", list(NAMES)].isna().all()


def test_rows_and_frames_get_the_same_bits() -> None:
    rows = online_feature_rows(
        Task.CHURN,
        online_entities(Task.CHURN, CUSTOMERS, EVENTS),
        as_of=AS_OF,
        vocabulary=sim_vocabulary(Task.CHURN),
        specs=_specs(),
    )
    assert not any(name in rows.names for name in NAMES)
    from_rows = add_btyd_features(rows, BTYD)
    assert isinstance(from_rows, FeatureRows) and from_rows.names[-3:] == NAMES
    from_frame = add_btyd_features(rows.to_frame(), BTYD)
    pd.testing.assert_frame_equal(from_rows.to_frame(), from_frame)
    assert add_btyd_features(rows, None) is rows
    with pytest.raises(ValueError, match="already hold"):
        add_btyd_features(from_rows, BTYD)


def test_a_record_field_named_like_a_derived_feature_is_not_read() -> None:
    (entity,) = online_entities(Task.CHURN, CUSTOMERS[1:2], EVENTS)
    record = {**entity.record, NAMES[0]: 0.123}
    rows = online_feature_rows(
        Task.CHURN,
        [type(entity)(entity.entity_id, record, entity.events)],
        as_of=AS_OF,
        vocabulary=sim_vocabulary(Task.CHURN),
        specs=_specs(),
    )
    assert add_btyd_features(rows, BTYD).values(NAMES[0]) == [1.0]


def test_no_purchase_reads_missing_and_inputs_are_required() -> None:
    values = btyd_values(BTYD, [0.0, 1.0], [np.nan, 5.0], [np.nan, 5.0])
    for name in NAMES:
        assert math.isnan(values[name][0]) and np.isfinite(values[name][1])
    with pytest.raises(ValueError, match="need column\\(s\\) days_since_first_purchase"):
        add_btyd_features(pd.DataFrame({"purchase_count_all": [1.0]}), BTYD)


BASE = datetime(2024, 1, 1)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    orders=st.lists(
        st.tuples(st.integers(0, 2), st.integers(0, 400), st.integers(0, 86_399_999_999)),
        max_size=30,
    ),
    cutoff_days=st.lists(st.integers(1, 420), min_size=1, max_size=2),
)
def test_batch_and_online_derived_features_agree(orders, cutoff_days) -> None:
    """Random order histories and cutoffs: the same derived values within 1e-9 (NaN = NaN)."""
    customers = [{"customer_id": f"e{i}", "created_at": BASE, "owner_id": "o"} for i in range(3)]
    events = [
        {
            "customer_id": f"e{who}",
            "occurred_at": BASE + timedelta(days=day, microseconds=us),
            "type": "order",
            "value": None,
        }
        for who, day, us in orders
    ]
    export = make_export(Task.CHURN, customers, events)
    cutoffs = [BASE + timedelta(days=d) for d in sorted(set(cutoff_days))]
    pairs = pd.DataFrame(
        [(c["customer_id"], cutoff) for c in customers for cutoff in cutoffs],
        columns=["entity_id", "cutoff"],
    )
    try:
        batch = build_feature_table(
            export,
            task=Task.CHURN,
            pairs=pairs,
            specs=_specs(),
            vocabulary=sim_vocabulary(Task.CHURN),
        )
    finally:
        export.close()
    batch = add_btyd_features(batch, BTYD)
    requests = online_entities(Task.CHURN, customers, events)
    for cutoff in cutoffs:
        online = add_btyd_features(
            online_feature_rows(
                Task.CHURN,
                requests,
                as_of=cutoff,
                vocabulary=sim_vocabulary(Task.CHURN),
                specs=_specs(),
            ),
            BTYD,
        ).to_frame()
        expected = batch[batch["cutoff"] == cutoff].set_index("entity_id").loc[online.index]
        for name in NAMES:
            left, right = expected[name].to_numpy(), online[name].to_numpy()
            assert np.isclose(left, right, rtol=1e-9, atol=1e-9, equal_nan=True).all(), name


# --- the parameters travel with the model ---


@pytest.fixture(scope="module")
def btyd_model() -> ScoringModel:
    """Its own fit, not the package's shared ``fitted_model``: a churn model over BG/NBD
    features, which must carry their parameters."""
    rng = np.random.default_rng(4)
    rows = 400
    count = rng.integers(1, 12, rows).astype(float)
    first = rng.uniform(10, 300, rows)
    last = first * rng.uniform(0, 1, rows)
    frame = pd.DataFrame(
        {
            "cutoff": np.repeat(pd.date_range("2025-01-01", periods=4, freq="MS"), rows // 4),
            "purchase_count_all": count,
            "days_since_first_purchase": first,
            "days_since_last_purchase": last,
        }
    )
    frame["label"] = (rng.random(rows) < last / 300).astype(int)
    frame = add_btyd_features(frame, BTYD)
    wanted = {"purchase_count_all", "days_since_first_purchase", "days_since_last_purchase"}
    specs = [s for s in _specs() if s.name in wanted or s.name in NAMES]
    return fit_scoring_model(
        frame,
        specs,
        task=Task.CHURN,
        seed=1,
        params={"n_estimators": 10},
        vocabulary=sim_vocabulary(Task.CHURN),
        calibration_method="sigmoid",
        btyd=BTYD,
    )


def test_parameters_are_saved_as_plain_numbers_and_loaded(
    btyd_model: ScoringModel, tmp_path: Path
) -> None:
    model = btyd_model
    hashes = model.save(tmp_path)
    manifest = json.loads((tmp_path / MANIFEST_FILE).read_text())
    assert manifest["btyd"] == {"r": 0.7, "alpha": 25.0, "a": 0.8, "b": 3.0, "horizon_days": 90}
    loaded = ScoringModel.load(tmp_path, expected_sha256=hashes)
    assert loaded.btyd == BTYD


def test_a_model_whose_derived_features_and_parameters_disagree_is_refused(
    btyd_model: ScoringModel, tmp_path: Path
) -> None:
    model = btyd_model
    with pytest.raises(ValueError, match="do not match"):
        ScoringModel(
            task=model.task,
            feature_specs=model.feature_specs,
            estimator=model.estimator,
            vocabulary=model.vocabulary,
        )
    model.save(tmp_path)
    manifest = json.loads((tmp_path / MANIFEST_FILE).read_text())
    manifest["btyd"]["horizon_days"] = 30
    (tmp_path / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(ModelIntegrityError, match="do not match"):
        ScoringModel.load(tmp_path)
