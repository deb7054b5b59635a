"""Training sets through ``features``, fitting, evaluation, MLflow tracking, promotion."""
