"""``salesradar train|promote|models`` (registered through the salesradar.commands entry point)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the training commands to the root CLI."""
