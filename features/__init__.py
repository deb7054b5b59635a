"""Everything about an export's features, in packages: contract, definitions, compute, model,
synthetic; and cli. Pure (no MLflow, no HTTP) outside features/cli, the one user of typer and
rich."""
