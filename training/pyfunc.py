"""Log the whole scorer as an MLflow pyfunc model beside the bare sklearn estimator.

The pyfunc (``serving.champions.pyfunc.EntityScorer``) scores raw entities with the API's own code.
It is logged so it loads in a fresh environment from its own files:

- "models from code": ``python_model`` is the path of ``serving/champions/pyfunc_entry.py``, which
  MLflow runs at load time, so no pickle of ours is written (MLflow would otherwise cloudpickle the
  wrapper);
- ``code_paths``: the ``features`` and ``serving`` packages are copied into the model's ``code/``
  folder and put on ``sys.path`` when it loads. Chosen over a wheel logged with the model:
  MLflow 3.17.2 supports ``code_paths`` for every pyfunc and every ``--env-manager`` with no
  build step, while a wheel needs building at training time and a ``requirements.txt`` line
  pointing into the artifacts;
- ``pip_requirements``: exact pins (the versions installed, i.e. requirements.txt) of what the
  scorer imports, so ``--env-manager virtualenv``/``uv`` and ``spark_udf`` build a working venv;
- the scoring model's own files as the ``scoring_model`` artifact, verified against their
  sha256 (``model_config``) and parsed by skops with the trusted types only.

``training`` never imports ``serving`` (dependency direction): the entry file is located on disk.
"""

from __future__ import annotations

from datetime import datetime
from importlib.metadata import version
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, Schema
from mlflow.types.schema import AnyType

from features.contract.tasks import TASK_TABLES, Task
from features.model.artifact_contract import SCORING_MODEL_ARTIFACT
from features.model.scorer_columns import (
    RESPONSE_VALUE,
    example_rows,
    input_columns,
    output_columns,
)
from features.model.scoring_model import ScoringModel

PYFUNC_MODEL_NAME = "scorer"  # the pyfunc's folder in the run, beside the sklearn flavour's
SKLEARN_MODEL_NAME = "model"  # the bare estimator's folder in the run (training.tracking)
# The distributions the scorer imports (features + serving's scoring path and their imports),
# pinned to the installed versions, which `make setup` installs from requirements.txt.
SCORER_LIBRARIES = (
    "mlflow",
    "numpy",
    "pandas",
    "scipy",
    "scikit-learn",
    "lightgbm",
    "skops",
    "duckdb",
    "pyarrow",
    "pydantic",
    "pydantic-settings",
    "typing_extensions",
    "sqlalchemy",
    "prometheus-client",
    "typer",
    "rich",
    "pycountry",  # serving.settings checks currency codes
)


def scorer_requirements() -> list[str]:
    """``name==version`` for every library the scorer imports, as installed here."""
    return [f"{lib}=={version(lib)}" for lib in SCORER_LIBRARIES]


def scorer_signature(task: Task) -> ModelSignature:
    """Named input and output columns (``features.model.scorer_columns``); optional where the API's
    request field is optional. Inputs are typed ``any``; outputs: ``probability`` and the value
    double, ``score`` long, the rest text (JSON columns are text), every one nullable."""
    required = {TASK_TABLES[task].key, "created_at", "owner_id", "as_of"}
    # Every input is typed `any`, so MLflow's schema check neither converts nor refuses a
    # value: the API's request schema, which the model runs on every row, is the one check,
    # and refuses a bad value in its row only. A typed column would be checked by MLflow first,
    # differently on each route: `mlflow models serve` casts a `double` column with
    # `astype(float)` ("12000" and true become 12000.0 and 1.0, which the API refuses), while
    # `PyFuncModel.predict` fails the whole batch on one such value (and on a `string` column
    # that pandas holds as numbers or datetimes). A typed `events` array was also checked event
    # by event through pandas (40 s for bench-serving's 1,000-lead request of 10,000 events,
    # 0.03 s untyped).
    inputs = [ColSpec(AnyType(), name, required=name in required) for name in input_columns(task)]
    kinds = {"probability": "double", "score": "long", RESPONSE_VALUE[task]: "double"}
    # Every output may be missing: a refused row has only its error (and its id if valid).
    outputs = [
        ColSpec(kinds.get(name, "string"), name, required=False) for name in output_columns(task)
    ]
    return ModelSignature(inputs=Schema(inputs), outputs=Schema(outputs))


def log_scorer(
    model: ScoringModel,
    scoring_model_dir: Path,
    *,
    sha256: dict[str, str],
    name: str,
    run_id: str,
    as_of: datetime,
) -> Any:
    """Log the pyfunc scorer in the active run (``PYFUNC_MODEL_NAME``) and register it as a new
    version of ``name``; returns MLflow's ``ModelInfo``.

    ``scoring_model_dir`` holds the saved ``model`` (files hashed in ``sha256``); the input
    example scores made-up entities as of ``as_of`` (the training as-of, naive UTC).
    """
    task = model.task
    serving = Path(_package_dir("serving"))

    example = pd.DataFrame(
        example_rows(task, [kind.types[0] for kind in model.vocabulary.kinds], as_of=as_of)
    )
    return mlflow.pyfunc.log_model(
        name=PYFUNC_MODEL_NAME,
        python_model=str(serving / "champions" / "pyfunc_entry.py"),
        code_paths=[_package_dir("features"), str(serving)],
        artifacts={SCORING_MODEL_ARTIFACT: str(scoring_model_dir)},
        model_config={"task": str(task), "name": name, "run_id": run_id, "sha256": sha256},
        signature=scorer_signature(task),
        input_example=example,
        pip_requirements=scorer_requirements(),
        registered_model_name=name,
    )


def card_section(*, name: str, version: str, run_id: str) -> str:
    """The model card's note on which logged model is which (appended to ``model_card.md``)."""
    return (
        "\n## Which model is which\n\n"
        f"- `models:/{name}/{version}` (and its aliases): the whole scorer, an MLflow pyfunc "
        "model. Input one row per raw entity (fields, attributes, events, `as_of`); output "
        "probability, 0-100 score, tier, value, reasons and warnings as the API returns them, "
        "or the row's error. Serve it with `mlflow models serve` or `spark_udf`.\n"
        f"- `runs:/{run_id}/{SKLEARN_MODEL_NAME}`: the bare estimator (sklearn flavour, "
        "skops), `predict_proba` on the engineered feature columns, for data scientists.\n"
    )


def _package_dir(package: str) -> str:
    """The folder of a top-level package of this project, found without importing it."""
    spec = find_spec(package)
    assert spec is not None and spec.origin is not None, package
    return str(Path(spec.origin).parent)
