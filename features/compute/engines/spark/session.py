"""The process's Spark session, configured so that Spark computes what DuckDB computes.

``spark.sql.session.timeZone=UTC``: the contract's timestamps are naive UTC, and Spark's
``TIMESTAMP`` is an instant rendered in the session time zone; any other zone would shift every
timestamp read from a CSV text or handed back to pandas (``docs/features.md``, "Spark").
``spark.sql.ansi.enabled=true``: integer overflow and bad casts raise, as in DuckDB, instead of
wrapping or reading NULL (Spark 4's default too; set so a cluster's older default cannot differ).
Arrow carries frames both ways (``toPandas``, ``createDataFrame``, ``mapInPandas``).

Shuffle partitions follow the master's cores (``shuffle_partitions``), on every master: Spark's
default of 200 is for large data, and on a CRM export its 200 tiny tasks per shuffle cost more in
scheduling than the work itself (a standalone master used to get the 200).

The driver's heap (``driver_memory``): on a local master the driver JVM is the whole of Spark, and
every row collected to Python (the training set) passes through its heap several times (the
task's serialized result, its copy in the block manager, the fetched copy, the Arrow batches).
Spark's default of 1 GiB failed the default CRM's churn training set (~200k rows x ~90 columns:
``OutOfMemoryError`` in the task or the result getter, or ``TaskResultLost`` when the fetch of the
stored result failed), so a local session gets a quarter of the machine's memory (of the
container's limit when lower), the JVM's own default heap, unless
``SALESRADAR_SPARK_DRIVER_MEMORY`` says otherwise.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from pyspark.sql import SparkSession

from features.errors import UserError

MASTER_VARIABLE = "SALESRADAR_SPARK_MASTER"
DEFAULT_MASTER = "local[2]"
PARTITIONS_VARIABLE = "SALESRADAR_SPARK_SHUFFLE_PARTITIONS"
# Tasks per core of a shuffle: two, so that a slow task (skew, a busy machine) leaves the other
# cores work to do; AQE then merges partitions too small to be worth a task (ENGINE_CONF).
TASKS_PER_CORE = 2
DRIVER_MEMORY_VARIABLE = "SALESRADAR_SPARK_DRIVER_MEMORY"
# A quarter of the machine: the JVM's own default heap (MaxRAMPercentage=25), which Spark's
# -Xmx1g replaces; never below Spark's default.
MACHINE_SHARE = 4
MIN_DRIVER_MIB = 1024
# A container's memory limit: cgroup v2's file, then v1's (whose "no limit" is a huge number).
CGROUP_LIMIT_FILES = (
    "/sys/fs/cgroup/memory.max",
    "/sys/fs/cgroup/memory/memory.limit_in_bytes",
)
# Spark refuses a heap under 450 MiB at start (its reserved 300 MiB x 1.5) with a Java stack.
SMALLEST_DRIVER_MIB = 512
# A JVM memory size as Spark reads spark.driver.memory: a whole number of k, m, g or t.
_SIZE = re.compile(r"(\d+)([kmgt])", re.IGNORECASE)
_MIB_PER_UNIT = {"k": 1 / 1024, "m": 1, "g": 1024, "t": 1024 * 1024}

# Settings every session gets, wherever it runs.
ENGINE_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.ansi.enabled": "true",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.execution.arrow.pyspark.fallback.enabled": "false",
    # Spark's defaults since 3.2, set so that a cluster's older defaults cannot differ: AQE
    # merges small shuffle partitions (never below the cores, parallelismFirst's default).
    "spark.sql.adaptive.enabled": "true",
    "spark.sql.adaptive.coalescePartitions.enabled": "true",
}

# Read when the session starts (not SQL settings): a Python worker serves the tasks one after
# another, so each worker imports the scoring code once (serving.scoring.spark_scoring).
WORKER_CONF: dict[str, str] = {
    "spark.python.worker.reuse": "true",
    # The daemon that forks the workers imports the model's libraries first (see its docstring).
    "spark.python.daemon.module": "features.compute.engines.spark.daemon",
}

# Settings of a local session only: one machine, no UI, nothing listening beyond loopback.
LOCAL_CONF: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
}


class SparkSettingInvalid(UserError):
    """An environment setting of the Spark session is not a value it can take."""


def shuffle_partitions(*, cores: int, override: int | None = None) -> int:
    """The shuffle partitions of a session whose master offers ``cores`` cores: ``override``
    when given, else ``TASKS_PER_CORE`` per core (at least one core counted).

    Raises ``ValueError`` for an ``override`` below 1.
    """
    if override is not None:
        if override < 1:
            raise ValueError(f"{PARTITIONS_VARIABLE}={override}: need at least 1 partition")
        return override
    return TASKS_PER_CORE * max(1, cores)


def driver_memory(*, machine_bytes: int) -> str:
    """``spark.driver.memory`` for a local master on a machine with ``machine_bytes`` of physical
    memory: a quarter of it (the JVM's default heap) in whole MiB, at least ``MIN_DRIVER_MIB``
    (Spark's own default, 1 GiB), e.g. ``"6026m"`` for 24 GB."""
    return f"{max(MIN_DRIVER_MIB, machine_bytes // MACHINE_SHARE // 2**20)}m"


def machine_memory(*, limit_files: Sequence[str] = CGROUP_LIMIT_FILES) -> int:
    """The memory this process may use, in bytes: the machine's physical memory (``sysconf``:
    Linux and macOS), or a container's cgroup memory limit when that is lower, as the JVM itself
    reads it for its default heap (the first of ``limit_files`` that exists decides: a number of
    bytes is a limit, ``max`` is none).
    """
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for name in limit_files:
        try:
            text = Path(name).read_text().strip()
        except OSError:
            continue  # not this cgroup version, or no cgroups (macOS)
        return min(physical, int(text)) if text.isdigit() else physical
    return physical


def driver_memory_override(environ: Mapping[str, str]) -> str | None:
    """``SALESRADAR_SPARK_DRIVER_MEMORY`` from ``environ`` (``"8g"``, ``"4096m"``), lower-cased, or
    None when unset.

    Raises ``SparkSettingInvalid`` (a ``UserError``) naming the variable when it is not a whole
    number with a unit k, m, g or t, or is below ``SMALLEST_DRIVER_MIB`` (Spark would refuse
    to start with a Java stack trace).
    """
    text = environ.get(DRIVER_MEMORY_VARIABLE, "").strip()
    if not text:
        return None
    size = _SIZE.fullmatch(text)
    if size is None:
        raise SparkSettingInvalid(
            f"{DRIVER_MEMORY_VARIABLE}={text!r}: need a size like 4g or 4096m (k, m, g or t)"
        )
    if int(size[1]) * _MIB_PER_UNIT[size[2].lower()] < SMALLEST_DRIVER_MIB:
        raise SparkSettingInvalid(
            f"{DRIVER_MEMORY_VARIABLE}={text!r}: need at least {SMALLEST_DRIVER_MIB}m"
        )
    return text.lower()


def master_cores(session: SparkSession) -> int:
    """The cores the session's master offers its jobs: the configured ones when the session
    fixes them (``spark.cores.max`` on a standalone master, or ``spark.executor.instances`` x
    ``spark.executor.cores`` on YARN / Kubernetes), else Spark's ``defaultParallelism`` (``N``
    of ``local[N]``; on a cluster, the cores of the executors registered so far, at least 2).
    """
    conf = session.sparkContext.getConf()
    cores_max = conf.get("spark.cores.max")
    if cores_max is not None:
        return int(cores_max)
    instances, per_executor = conf.get("spark.executor.instances"), conf.get("spark.executor.cores")
    if instances is not None and per_executor is not None:
        return int(instances) * int(per_executor)
    return int(session.sparkContext.defaultParallelism)


def partitions_override(environ: Mapping[str, str]) -> int | None:
    """``SALESRADAR_SPARK_SHUFFLE_PARTITIONS`` from ``environ`` as a count, or None when unset.

    Raises ``SparkSettingInvalid`` (a ``UserError``) naming the variable when it is not a whole
    number of at least 1.
    """
    text = environ.get(PARTITIONS_VARIABLE, "").strip()
    if not text:
        return None
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise SparkSettingInvalid(f"{PARTITIONS_VARIABLE}={text!r}: need a whole number >= 1")
    return count


def build_session(
    *,
    master: str,
    app_name: str = "salesradar",
    partitions: int | None = None,
    memory: str | None = None,
) -> SparkSession:
    """A Spark session on ``master`` (``local[N]`` or a cluster URL) with ``ENGINE_CONF``
    and ``WORKER_CONF``, and ``spark.sql.shuffle.partitions`` = ``partitions``, or when None
    ``shuffle_partitions`` of the master's cores (``master_cores``).

    ``spark.driver.memory`` = ``memory`` (a JVM size, ``"8g"``) when given; else a ``local``
    master gets ``driver_memory`` of this machine and any other master Spark's configuration
    (its ``spark-defaults.conf``, 1 GiB by default). It sizes the JVM's heap when the JVM
    starts: a session already running in this process keeps its own.
    A ``local`` master also gets ``LOCAL_CONF``, and unless the environment sets them
    ``SPARK_LOCAL_IP=127.0.0.1`` and ``PYSPARK_PYTHON`` = this interpreter. Spark keeps one
    session per process, so a second call returns the first session (with these settings
    applied again). Raises ``ValueError`` for ``partitions`` below 1 (before any session starts).
    """
    if partitions is not None:
        shuffle_partitions(cores=1, override=partitions)  # raises before the JVM starts
    builder = SparkSession.builder.master(master).appName(app_name)
    # Any master: Spark's console progress bars would interleave with the CLI's own.
    builder = builder.config("spark.ui.showConsoleProgress", "false")
    conf = ENGINE_CONF | WORKER_CONF
    if master.startswith("local"):
        conf |= LOCAL_CONF
        memory = memory or driver_memory(machine_bytes=machine_memory())
        # Read by the JVM at start: without it Spark resolves the host name and binds its block
        # manager to the first network interface's address.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        # Python workers (mapInPandas) run this interpreter, so they import what the driver
        # does; PySpark's default is whatever `python3` is first on PATH.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    if memory is not None:
        conf |= {"spark.driver.memory": memory}
    for key, value in conf.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    # Spark's WARN lines (e.g. the spine's unpartitioned dense_rank, see docs/features.md) are
    # not the CLI's output; errors still reach stderr.
    session.sparkContext.setLogLevel("ERROR")
    for key, value in ENGINE_CONF.items():
        # getOrCreate keeps an existing session's SQL settings: set ours again.
        session.conf.set(key, value)
    chosen = shuffle_partitions(cores=master_cores(session), override=partitions)
    session.conf.set("spark.sql.shuffle.partitions", str(chosen))
    return session


def spark_session() -> SparkSession:
    """The entry points' session: master from ``SALESRADAR_SPARK_MASTER`` (default
    ``local[2]``), shuffle partitions from ``SALESRADAR_SPARK_SHUFFLE_PARTITIONS`` (default: two
    per core of the master), driver memory from ``SALESRADAR_SPARK_DRIVER_MEMORY`` (default: a
    quarter of the machine on a local master, ``driver_memory``). Only entry points
    (``features.compute.engines.open_export``) call this. Raises ``SparkSettingInvalid`` naming
    the variable when a setting is not a value it can take, before any session starts."""
    return build_session(
        master=os.environ.get(MASTER_VARIABLE, DEFAULT_MASTER),
        partitions=partitions_override(os.environ),
        memory=driver_memory_override(os.environ),
    )
