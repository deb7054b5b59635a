"""A model trained on an export in words no one here chose works as well as on our own words.

The synthetic CRM is generated twice from one seed, once with ``--rename`` (every event type,
channel and attribute renamed: ``order`` -> ``Zq Order``). Both go through the training path
(vocabulary learnt from the export, temporal split, evaluation). The renamed model must match
the original's test metrics within noise, have per-type features named after the new types, and
phrase its reasons in the new words. Churn is told its purchase type with ``activity_types``,
as a user of such an export would (``--activity-types`` on the CLI).
"""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from features.compute.snapshots import MONTHLY
from features.contract.tasks import Task
from features.model.reasons import explain
from features.synthetic import generate_crm
from training.config import TrainingConfig, load_config
from training.jobs import prepare_training
from training.trainer import LeakageResult, TrainedTask, train_task

AS_OF = datetime(2026, 10, 1)
HORIZON = timedelta(days=90)


def _train(data: Path, task: Task, config: TrainingConfig) -> TrainedTask:
    # The CLI's own preparation (vocabulary, cutoffs, training set); no MLflow, to stay fast.
    training, _ = prepare_training(
        data,
        task=task,
        as_of=AS_OF,
        horizon=HORIZON,
        cutoffs=None,
        every=MONTHLY,
        no_test=False,
        config=config,
    )
    assert training.vocabulary is not None
    return train_task(
        training.frame,
        training.specs,
        task=task,
        vocabulary=training.vocabulary,
        horizon=HORIZON,
        config=config,
        seed=3,
        leakage=LeakageResult(()),
    )


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("renamed")
    out = {}
    for name, rename in (("ours", False), ("theirs", True)):
        out[name] = root / name
        generate_crm(
            out[name],
            leads=4000,
            customers=2500,
            seed=11,
            as_of=AS_OF,
            months=18,
            truth=False,
            rename=rename,
        )
    return out


@pytest.mark.slow
@pytest.mark.parametrize("task", list(Task))
def test_renamed_export_trains_as_well_and_speaks_its_words(
    exports: dict[str, Path], task: Task
) -> None:
    config = load_config()
    ours = _train(exports["ours"], task, config)
    renamed = dataclasses.replace(config.vocabulary, activity_types=("Zq Order",))
    theirs = _train(exports["theirs"], task, dataclasses.replace(config, vocabulary=renamed))

    for metric in ("roc_auc", "pr_auc", "ece"):
        assert theirs.evaluation.model[metric] == pytest.approx(
            ours.evaluation.model[metric], abs=0.01
        ), metric

    slugs = {k.slug for k in theirs.model.vocabulary.kinds}
    names = set(theirs.model.feature_names)
    if task is Task.LEADS:
        assert {"zq_email_open", "zq_email_reply", "zq_quote", "zq_demo"} <= slugs
        assert {"zq_email_reply_count_30d", "zq_quote_value_90d"} <= names
        assert "zq_industry" in names  # attributes come under their new names
    else:
        assert theirs.model.vocabulary.activity_types == ("zq_order",)
        assert {"zq_support_ticket", "zq_portal_login"} <= slugs
        assert {"purchase_count_90d", "zq_support_ticket_count_30d"} <= names
    assert not any(n.startswith(("email_", "order_", "quote_")) for n in names)

    rows = theirs.test_frame.head(300)
    # Attribute values (levels such as "Quote request") are data, not renamed vocabulary.
    family = {s.name: s.family for s in theirs.model.feature_specs}
    texts = [
        r.text
        for reasons in explain(theirs.model, rows, theirs.model.contributions(rows))
        for r in reasons
        if family[r.feature] != "attribute"
    ]
    assert any("zq" in t.lower() for t in texts), texts[:20]
    # Our own words appear only inside the renamed ones ("zq email open").
    ours_words = re.compile(r"(?<!zq )\b(email open|email repl|quote|order)")
    assert not [t for t in texts if ours_words.search(t.lower())]
