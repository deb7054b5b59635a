"""Spark's Python daemon with the served unit's libraries imported before it forks its workers.

Spark starts one Python daemon per executor (``python -m`` the module named by
``spark.python.daemon.module``; ``features.compute.engines.spark.session`` names this one), and
the daemon forks a worker per task slot, again whenever a worker was stopped after sitting idle.
Each worker of a scoring pass (``mapInPandas``) imports the model's libraries (scikit-learn,
LightGBM, skops through ``features.model.scoring_model``) and the feature code before its first
chunk: measured at 30 s of CPU per worker on a loaded 2-core machine. Imported here once, before
PySpark's own daemon loop starts, every forked worker inherits them. Only modules of ``features``
(the dependency direction); the serving modules a worker imports on top are lighter.
"""

from __future__ import annotations

from pyspark import daemon

# Imported for their side effect on sys.modules, which every forked worker inherits.
import features.compute.snapshots
import features.definitions.btyd
import features.model.scoring_model  # noqa: F401

if __name__ == "__main__":
    daemon.manager()
