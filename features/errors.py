"""Errors meant for the person at the keyboard: the CLI prints them as one line, no traceback."""

from __future__ import annotations

import typer
from rich.console import Console


class UserError(Exception):
    """A mistake in the input or the invocation that the user can fix; ``str()`` says how."""

    exit_code = 2


def fail(exc: UserError) -> typer.Exit:
    """Print ``exc`` as one line on stderr; return the exit (with its code) for the caller to raise.

    Commands call this themselves rather than relying on the console-script wrapper so that the
    same one-line behaviour holds under ``typer.testing.CliRunner`` and when embedded.
    """
    Console(stderr=True).print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
    return typer.Exit(exc.exit_code)
