"""The trees against the logistic-regression model in every tested promotion decision."""

from __future__ import annotations

from training.promotion import SIMPLE_MODEL_NOT_SERVABLE, decide

RULES = {"margin": 0.01, "champion": None, "baselines": {"days": 0.6}, "leakage_passed": True}


def test_trees_that_beat_the_simple_model_by_the_margin_are_stated_and_not_second_guessed() -> None:
    decision = decide(metric="pr_auc", challenger=0.70, simple=0.67, simple_margin=0.02, **RULES)
    assert decision.promote and not decision.prefer_simple
    assert decision.simple == 0.67
    assert decision.reasons[-1] == "trees pr_auc 0.7000 beat logistic regression 0.6700 by >= 0.02"


def test_trees_that_tie_the_simple_model_prefer_it_and_say_it_cannot_be_served() -> None:
    # The default CRM's lead task: PR AUC 0.671 (logistic) vs 0.670 (trees).
    decision = decide(metric="pr_auc", challenger=0.670, simple=0.671, simple_margin=0.0, **RULES)
    assert decision.prefer_simple
    assert decision.reasons[-1] == (
        "trees pr_auc 0.6700 do not beat logistic regression 0.6710 by 0.0: the simpler model "
        f"is preferred, but {SIMPLE_MODEL_NOT_SERVABLE}; the trees are judged by the other rules"
    )
    # Not servable, so nothing is faked: the trees still pass or fail on the other rules.
    assert decision.promote


def test_lower_is_better_metrics_compare_in_their_direction() -> None:
    better = decide(metric="ece", challenger=0.012, simple=0.021, simple_margin=0.005, **RULES)
    worse = decide(metric="ece", challenger=0.021, simple=0.012, simple_margin=0.0, **RULES)
    assert not better.prefer_simple
    assert worse.prefer_simple


def test_a_nan_figure_prefers_nothing_and_says_so() -> None:
    decision = decide(
        metric="roc_auc", challenger=0.8, simple=float("nan"), simple_margin=0.0, **RULES
    )
    assert not decision.prefer_simple
    assert decision.reasons[-1] == (
        "trees vs logistic regression on roc_auc undefined (NaN): not compared"
    )


def test_a_run_that_kept_its_simple_model_says_it_will_be_served_in_the_trees_place() -> None:
    decision = decide(
        metric="pr_auc",
        challenger=0.670,
        simple=0.671,
        simple_margin=0.0,
        simple_servable=True,
        **RULES,
    )
    assert decision.prefer_simple and decision.promote and decision.serve_simple
    assert decision.reasons[-1] == (
        "trees pr_auc 0.6700 do not beat logistic regression 0.6710 by 0.0: the simpler model "
        "is preferred; the trees are judged by the other rules and, if they pass, the "
        "logistic-regression model is served in their place"
    )


def test_a_refusal_lists_only_what_failed_and_labels_the_passed_simple_model_check() -> None:
    # The churn task a user ran: refused on the naive baseline, trees ahead of the logistic model.
    rules = {**RULES, "baselines": {"recency": 0.9324}, "margin": 0.0, "simple_margin": 0.0}
    decision = decide(metric="roc_auc", challenger=0.9321, simple=0.9260, **rules)
    assert not decision.promote
    assert decision.reasons == (
        "roc_auc 0.9321 does not beat naive recency (0.9324)",
        "passed: trees roc_auc 0.9321 beat logistic regression 0.9260 by >= 0.0",
    )
    # Promoted, the same comparison stands beside the passes unlabelled, as before.
    promoted = decide(metric="roc_auc", challenger=0.94, simple=0.9260, **rules)
    assert promoted.reasons[-1] == "trees roc_auc 0.9400 beat logistic regression 0.9260 by >= 0.0"
