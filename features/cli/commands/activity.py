"""The ``--activity-types`` option of ``train`` and ``summary``: one definition for both."""

from __future__ import annotations

from typing import Annotated

import typer

from features.errors import UserError

ActivityTypesOption = Annotated[
    str | None,
    typer.Option(
        "--activity-types",
        help="Churn: comma-separated event types that count as a purchase (default: 'train' "
        "reads the config's [vocabulary] activity_types, 'summary' takes 'order').",
        show_default=False,
    ),
]


def parse_activity_types(text: str | None) -> tuple[str, ...] | None:
    """The event type names of an ``--activity-types`` value in the order given (None when the
    option was not given); raises a one-line ``UserError`` for an empty name (``a,,b``)."""
    if text is None:
        return None
    names = tuple(n.strip() for n in text.split(","))
    if not all(names):
        raise UserError(f"--activity-types: expected comma-separated type names, got {text!r}")
    return names
