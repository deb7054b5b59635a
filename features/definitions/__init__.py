"""What each feature is: aggregates, expressions, registry, vocabulary."""
