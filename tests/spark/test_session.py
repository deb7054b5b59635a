"""Shuffle partitions sized from the master's cores on every master, never Spark's 200; the
driver's heap sized from the machine on a local master, never Spark's 1 GiB."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from features.compute.engines.spark.connection import SparkResult
from features.compute.engines.spark.session import (
    DRIVER_MEMORY_VARIABLE,
    PARTITIONS_VARIABLE,
    SparkSettingInvalid,
    build_session,
    driver_memory,
    driver_memory_override,
    machine_memory,
    partitions_override,
    shuffle_partitions,
)
from tests.servers import free_port

START_SECONDS = 400  # a loaded 2-core machine: master + worker took 102 s, the driver 124 s


@pytest.mark.parametrize(
    ("cores", "override", "expected"),
    [(2, None, 4), (16, None, 32), (1, None, 2), (0, None, 2), (2, 7, 7), (64, 1, 1)],
)
def test_shuffle_partitions_are_two_per_core_unless_overridden(cores, override, expected):
    assert shuffle_partitions(cores=cores, override=override) == expected


def test_an_override_below_one_partition_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        shuffle_partitions(cores=2, override=0)
    with pytest.raises(ValueError, match="at least 1"):
        build_session(master="local[2]", partitions=0)


@pytest.mark.parametrize(("text", "expected"), [("", None), (" ", None), ("8", 8), (" 3 ", 3)])
def test_the_partitions_setting_is_read_from_the_environment(text, expected):
    assert partitions_override({PARTITIONS_VARIABLE: text}) == expected
    assert partitions_override({}) is None


@pytest.mark.parametrize("text", ["0", "-4", "four", "2.5"])
def test_a_bad_partitions_setting_names_the_variable(text):
    with pytest.raises(SparkSettingInvalid, match=f"{PARTITIONS_VARIABLE}='{text}'"):
        partitions_override({PARTITIONS_VARIABLE: text})


def test_the_local_session_gets_two_partitions_per_core_and_worker_reuse(spark):
    assert spark.sparkContext.defaultParallelism == 2  # the suite's local[2]
    assert spark.conf.get("spark.sql.shuffle.partitions") == "4"
    assert spark.sparkContext.getConf().get("spark.python.worker.reuse") == "true"
    assert spark.conf.get("spark.sql.adaptive.coalescePartitions.enabled") == "true"


GIB = 2**30


@pytest.mark.parametrize(
    ("machine", "expected"),
    [
        (24 * GIB, "6144m"),
        (16 * GIB, "4096m"),
        (6 * GIB, "1536m"),
        (2 * GIB, "1024m"),
        (0, "1024m"),
    ],
)
def test_a_local_driver_gets_a_quarter_of_the_machine_and_at_least_1g(machine, expected):
    assert driver_memory(machine_bytes=machine) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", None), (" ", None), ("8g", "8g"), (" 4096M ", "4096m"), ("512m", "512m"), ("1T", "1t")],
)
def test_the_driver_memory_setting_is_read_from_the_environment(text, expected):
    assert driver_memory_override({DRIVER_MEMORY_VARIABLE: text}) == expected
    assert driver_memory_override({}) is None


@pytest.mark.parametrize("text", ["8", "8gb", "lots", "-1g", "1.5g", "511m", "1024k"])
def test_a_bad_driver_memory_setting_names_the_variable(text):
    with pytest.raises(SparkSettingInvalid, match=f"{DRIVER_MEMORY_VARIABLE}='{text}'"):
        driver_memory_override({DRIVER_MEMORY_VARIABLE: text})


def test_a_container_limit_below_the_machine_sizes_the_heap(tmp_path):
    """In a container the JVM sizes its own heap from the cgroup limit, not the host: so does
    the driver's quarter. v2's ``max`` and a missing file mean no limit; v1's file is read when
    v2's is absent."""
    physical = machine_memory(limit_files=())
    v2, v1 = tmp_path / "memory.max", tmp_path / "memory.limit_in_bytes"
    v1.write_text(f"{2 * 2**30}\n")
    assert machine_memory(limit_files=(str(v2), str(v1))) == min(physical, 2 * 2**30)
    v2.write_text("max\n")
    assert machine_memory(limit_files=(str(v2), str(v1))) == physical
    v2.write_text(f"{physical * 4}\n")  # a limit above the machine limits nothing
    assert machine_memory(limit_files=(str(v2),)) == physical
    assert machine_memory(limit_files=(str(tmp_path / "absent"),)) == physical
    assert driver_memory(machine_bytes=machine_memory(limit_files=(str(v1),))) == "1024m"


def test_the_local_session_heap_is_sized_from_the_machine_not_sparks_1g(spark):
    """The setting reaches the JVM: its maximum heap is the machine's quarter (the JVM reports
    a little less: one survivor space is not counted)."""
    expected = driver_memory(machine_bytes=machine_memory())
    assert spark.sparkContext.getConf().get("spark.driver.memory") == expected
    heap = spark.sparkContext._jvm.java.lang.Runtime.getRuntime().maxMemory()
    assert heap >= 0.9 * int(expected.removesuffix("m")) * 2**20


def test_a_result_larger_than_a_direct_task_result_is_collected_whole(spark):
    """~8 MB per task, above ``spark.task.maxDirectResultSize`` (1 MiB): each task's result is
    stored in the block manager and fetched from it, the path that lost the churn training set
    on a 1 GiB heap; every row and value arrives, in order."""
    assert spark.sparkContext.getConf().get("spark.task.maxDirectResultSize", "1m") == "1m"
    columns = [f"CAST(id * {i} AS DOUBLE) AS f{i}" for i in range(40)]
    rows = spark.range(0, 50_000, 1, numPartitions=2).selectExpr("id", *columns)
    frame = SparkResult(rows.orderBy("id")).df()
    assert frame.shape == (50_000, 41)
    assert frame["id"].tolist() == list(range(50_000))
    assert (frame["f39"] == frame["id"] * 39.0).all()


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _alive_workers(ui_port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{ui_port}/json/", timeout=2) as answer:
            return int(json.load(answer).get("aliveworkers", 0))
    except OSError:
        return 0


def _wait(ready, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        if ready():
            return
        time.sleep(0.5)
    raise TimeoutError(f"{what} not ready within {START_SECONDS} s")


@contextmanager
def _daemon(args: list[str], log: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """A Spark daemon (``spark-class`` ``args``) with its output in ``log``; stopped on exit."""
    spark_class = Path(sys.executable).parent.parent
    launcher = next(spark_class.glob("lib/python3*/site-packages/pyspark/bin/spark-class"))
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(launcher), *args], stdout=output, stderr=subprocess.STDOUT, env=env
        )
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def standalone_master(tmp_path: Path) -> Iterator[str]:
    """A standalone master and one 2-core worker on 127.0.0.1 (the README's team set-up);
    yields the master's ``spark://`` URL once the worker has registered."""
    port, ui, worker_ui = free_port(), free_port(), free_port()
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_WORKER_DIR": str(tmp_path)}
    url = f"spark://127.0.0.1:{port}"
    master_args = ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1"]
    master_args += ["--port", str(port), "--webui-port", str(ui)]
    worker_args = ["org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1"]
    worker_args += ["--cores", "2", "--memory", "512m", "--webui-port", str(worker_ui), url]
    with ExitStack() as stack:
        master = stack.enter_context(_daemon(master_args, tmp_path / "master.log", env))
        _wait(lambda: _listening(port), master, "the standalone master")
        worker = stack.enter_context(_daemon(worker_args, tmp_path / "worker.log", env))
        _wait(lambda: _alive_workers(ui) == 1, worker, "the standalone worker")
        yield url


DRIVER = """
import sys
from features.compute.engines.spark.session import build_session, master_cores
session = build_session(master=sys.argv[1])
print(master_cores(session), session.conf.get("spark.sql.shuffle.partitions"))
session.stop()
"""


@pytest.mark.slow
def test_a_session_on_a_standalone_master_gets_partitions_from_its_cores(spark, tmp_path):
    """On ``spark://`` the local settings do not apply; the partitions still follow the cores
    (the suite's own session is local[2], and a process holds one: the driver runs apart)."""
    with standalone_master(tmp_path) as url:
        env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable}
        env.pop(PARTITIONS_VARIABLE, None)
        done = subprocess.run(
            [sys.executable, "-c", DRIVER, url],
            capture_output=True,
            text=True,
            env=env,
            timeout=START_SECONDS,
            cwd=Path(__file__).parents[2],
        )
    assert done.returncode == 0, done.stderr[-2000:]
    cores, partitions = done.stdout.split()
    assert int(cores) == 2  # the worker's 2 cores (Spark counts at least 2 before it registers)
    assert int(partitions) == shuffle_partitions(cores=2) == 4
