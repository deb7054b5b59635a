"""Monitoring of published batch runs: realised outcomes as labels mature, and drift.

``reference`` (written at training time) keeps a compact profile of the training data's feature
and score distributions; ``outcomes`` judges a run on what happened next; ``training.drift``
compares a run's features with the reference; ``store`` keeps the results in the scores database;
``report`` renders them (HTML, plots, MLflow); ``cli`` is ``salesradar monitor``.
"""
