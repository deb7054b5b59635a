"""Errors meant for the person at the keyboard: the CLI prints them as one line, no traceback."""

from __future__ import annotations

import sys

# pydantic puts this in front of every message a validator raises; the user needs only the rest.
PYDANTIC_PREFIX = "Value error, "


class UserError(Exception):
    """A mistake in the input or the invocation that the user can fix; ``str()`` says how."""

    exit_code = 2


def one_line(text: str) -> str:
    """``text`` as a single line: pydantic's "Value error, " prefix dropped, newlines folded."""
    return " ".join(text.replace(PYDANTIC_PREFIX, "").split())


def print_error(text: str) -> None:
    """Write ``text`` to stderr as exactly one line, verbatim (square brackets included).

    Plain ``sys.stderr`` rather than rich: rich's markup would swallow ``[split]``-style text,
    and its wrapping would break the one line at the terminal's width.
    """
    sys.stderr.write(one_line(text) + "\n")
    sys.stderr.flush()
