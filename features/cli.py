"""The ``salesradar`` command line.

The root app lives here and knows only the ``features`` commands. ``training`` and ``serving``
add their command groups through the ``salesradar.commands`` entry-point group (see
``pyproject.toml``), so this package never imports them and the dependency direction holds.
"""

from __future__ import annotations

import logging
import sys
from importlib.metadata import entry_points

import typer

from features.commands import generate, summary, validate
from features.errors import UserError, fail

ENTRY_POINT_GROUP = "salesradar.commands"


def build_app() -> typer.Typer:
    """Assemble the CLI: features' own commands plus every registered command group."""
    app = typer.Typer(
        name="salesradar",
        help="Score hot leads and flag customers likely to leave silently, from CRM history.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    app.command("generate")(generate.command)
    app.command("validate")(validate.command)
    app.command("summary")(summary.command)
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        register = ep.load()
        register(app)
    return app


def main() -> None:
    """Console-script entry point: user mistakes become one line on stderr and a non-zero exit."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        build_app()(standalone_mode=True)
    except UserError as exc:
        sys.exit(fail(exc).exit_code)
