"""The process's Spark session, configured so that Spark computes what DuckDB computes.

``spark.sql.session.timeZone=UTC``: the contract's timestamps are naive UTC, and Spark's
``TIMESTAMP`` is an instant rendered in the session time zone; any other zone would shift every
timestamp read from a CSV text or handed back to pandas (``docs/features.md``, "Spark").
``spark.sql.ansi.enabled=true``: integer overflow and bad casts raise, as in DuckDB, instead of
wrapping or reading NULL (Spark 4's default too; set so a cluster's older default cannot differ).
Arrow carries frames both ways (``toPandas``, ``createDataFrame``, ``mapInPandas``).
"""

from __future__ import annotations

import os
import sys

from pyspark.sql import SparkSession

MASTER_VARIABLE = "SALESRADAR_SPARK_MASTER"
DEFAULT_MASTER = "local[2]"

# Settings every session gets, wherever it runs.
ENGINE_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.ansi.enabled": "true",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.execution.arrow.pyspark.fallback.enabled": "false",
}

# Settings of a local session only: one machine, no UI, nothing listening beyond loopback.
# 4 shuffle partitions instead of 200: on local[2] and a CRM export, 200 tiny tasks per shuffle
# cost more in scheduling than the work itself.
LOCAL_CONF: dict[str, str] = {
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "2",
    "spark.ui.enabled": "false",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
}


def build_session(*, master: str, app_name: str = "salesradar") -> SparkSession:
    """A Spark session on ``master`` (``local[N]`` or a cluster URL) with ``ENGINE_CONF``.

    A ``local`` master also gets ``LOCAL_CONF``, and unless the environment sets them
    ``SPARK_LOCAL_IP=127.0.0.1`` and ``PYSPARK_PYTHON`` = this interpreter. Spark keeps one
    session per process, so a second call returns the first session (with these settings
    applied again).
    """
    builder = SparkSession.builder.master(master).appName(app_name)
    # Any master: Spark's console progress bars would interleave with the CLI's own.
    builder = builder.config("spark.ui.showConsoleProgress", "false")
    conf = dict(ENGINE_CONF)
    if master.startswith("local"):
        conf |= LOCAL_CONF
        # Read by the JVM at start: without it Spark resolves the host name and binds its block
        # manager to the first network interface's address.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        # Python workers (mapInPandas) run this interpreter, so they import what the driver
        # does; PySpark's default is whatever `python3` is first on PATH.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    for key, value in conf.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    # Spark's WARN lines (e.g. the spine's unpartitioned dense_rank, see docs/features.md) are
    # not the CLI's output; errors still reach stderr.
    session.sparkContext.setLogLevel("ERROR")
    for key, value in ENGINE_CONF.items():
        # getOrCreate keeps an existing session's SQL settings: set ours again.
        session.conf.set(key, value)
    return session


def spark_session() -> SparkSession:
    """The entry points' session: master from ``SALESRADAR_SPARK_MASTER`` (default
    ``local[2]``). Only entry points (``features.compute.engines.open_export``) call this."""
    return build_session(master=os.environ.get(MASTER_VARIABLE, DEFAULT_MASTER))
