"""The Spark engine keeps PySpark's "pandas >= 3" FutureWarning out of the CLI's output, and
only that warning (no Spark session needed: the warning comes from PySpark's own imports)."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import warnings
import features.compute.engines.spark.session
from pyspark.sql.pandas.utils import require_minimum_pandas_version
require_minimum_pandas_version()  # what each toPandas / createDataFrame / mapInPandas calls
warnings.warn("another library's future warning", FutureWarning)
"""


def test_the_spark_engine_silences_pysparks_pandas_warning_and_no_other() -> None:
    result = subprocess.run(
        [sys.executable, "-W", "default", "-c", SCRIPT],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert "PySpark does not yet fully support pandas" not in result.stderr
    assert "FutureWarning: another library's future warning" in result.stderr
