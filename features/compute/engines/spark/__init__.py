"""The Spark engine: the export as Spark temporary views, the batch SQL transpiled by sqlglot."""

import warnings

# PySpark 4.3 warns that it "does not yet fully support pandas >= 3.0.0" on its import and on
# every conversion; our parity tests (tests/spark) are what vouches for the pandas we pin, and
# the warning is not the CLI's output. Set here, before any module of the engine imports
# pyspark (the first warning comes from that import); only this warning, by category and text.
warnings.filterwarnings(
    "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
)
