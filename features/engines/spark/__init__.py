"""The Spark engine: the export as Spark temporary views, the batch SQL transpiled by sqlglot."""
