"""The CLI's exit on a ``UserError``: one line on stderr, the error's exit code."""

from __future__ import annotations

import typer

from features.errors import UserError, print_error


def fail(exc: UserError) -> typer.Exit:
    """Print ``exc`` as one line on stderr; return the exit (with its code) for the caller to raise.

    Commands call this themselves rather than relying on the console-script wrapper so that the
    same one-line behaviour holds under ``typer.testing.CliRunner`` and when embedded.
    """
    print_error(f"error: {exc}")
    return typer.Exit(exc.exit_code)
