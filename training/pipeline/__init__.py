"""``salesradar pipeline``: validate, score, monitor, retrain when due, promote, notify.

``fingerprint`` names an export by its content; ``records`` keeps every pipeline run and each
step's decision in the scores database; ``due`` decides whether a model is due for retraining;
``loop`` runs the steps (injected callables) idempotently; ``lock`` keeps two runs from
overlapping; ``cli`` is the command, which runs each step through the root CLI's own command so
training never imports serving (dependency direction: training -> features <- serving).
"""
