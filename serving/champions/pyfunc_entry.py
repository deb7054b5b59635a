"""MLflow "models from code" entry point of the registered scorer (``serving.champions.pyfunc``).

MLflow runs this file when it loads the model, so the model is code, not a pickle; nothing in
salesradar imports it (``training.pyfunc`` logs it by path).
"""

from mlflow.models import set_model

from serving.champions.pyfunc import EntityScorer

set_model(EntityScorer())
