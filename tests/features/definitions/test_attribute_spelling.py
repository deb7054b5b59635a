"""An attribute's label and sentences keep the user's own spelling of its column name (only the
first letter is capitalised): "Umsatz Mio", not "Umsatz mio"; "MRR", not "Mrr"."""

from __future__ import annotations

from datetime import datetime

from features.contract.tasks import Task
from features.definitions.registry import feature_specs
from features.definitions.wording import Wording
from tests.features.test_features_support import make_export
from tests.features.vocabkit import sim_vocabulary


def test_attribute_wording_keeps_the_column_spelling() -> None:
    customers = [
        {
            "customer_id": f"c{i}",
            "created_at": datetime(2024, 1, 1),
            "owner_id": "o1",
            "Umsatz Mio": float(i),
            "MRR_band": ["low", "high"][i % 2],
        }
        for i in range(10)
    ]
    export = make_export(Task.CHURN, customers, [])
    specs = {s.name: s for s in feature_specs("churn", sim_vocabulary("churn"), export)}
    assert specs["Umsatz Mio"].description == Wording.of(
        "Umsatz Mio (customer attribute)",
        {"missing": "Umsatz Mio not known", "other": "Umsatz Mio: {value}"},
    )
    assert specs["MRR_band"].description.label == "MRR band (customer attribute)"
