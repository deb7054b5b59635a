"""Rows to scores, tiers and reasons: online, batch, Spark, shadow."""
