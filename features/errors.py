"""Errors meant for the person at the keyboard: the CLI prints them as one line, no traceback."""

from __future__ import annotations


class UserError(Exception):
    """A mistake in the input or the invocation that the user can fix; ``str()`` says how."""

    exit_code = 2
