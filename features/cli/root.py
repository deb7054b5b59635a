"""The ``salesradar`` command line.

The root app lives here and knows only the ``features`` commands. ``training`` and ``serving``
add their command groups through the ``salesradar.commands`` entry-point group (see
``pyproject.toml``), so this package never imports them and the dependency direction holds.

Every user mistake ends the same way, whichever command made it: one line on stderr and a
non-zero exit. Click's usage errors (unknown option, bad choice, missing argument) and our
``UserError`` are both turned into that line by the root group, so it holds under
``typer.testing.CliRunner`` as well as from the console script.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, entry_points, version
from typing import Annotated, Any

import typer

# typer 0.29 vendors click; its usage errors derive from this class, not from click's, and
# the group methods overridden below take and return its Context (typer.Context subclasses it).
from typer._click.core import Context
from typer._click.exceptions import ClickException
from typer.core import TyperGroup

from features.cli.commands import generate, summary, validate
from features.cli.exits import fail
from features.errors import UserError, print_error

ENTRY_POINT_GROUP = "salesradar.commands"
HELP_OPTIONS = {"help_option_names": ["-h", "--help"]}


def usage_error_line(exc: ClickException) -> str:
    """Click's error as one line: ``salesradar train: no such option: --foo (try '… -h')``."""
    message = exc.format_message().rstrip(".")
    message = message[:1].lower() + message[1:]
    ctx = getattr(exc, "ctx", None)
    path = ctx.command_path if ctx is not None else "salesradar"
    return f"{path}: {message} (try '{path} -h')"


class OneLineErrors(TyperGroup):
    """The root group: usage errors and ``UserError`` become one line and an exit code."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: Context | None = None,
        **extra: Any,
    ) -> Context:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except ClickException as exc:
            print_error(usage_error_line(exc))
            raise typer.Exit(exc.exit_code) from None

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except ClickException as exc:
            print_error(usage_error_line(exc))
            raise typer.Exit(exc.exit_code) from None
        except UserError as exc:
            raise fail(exc) from None


def package_version() -> str:
    """The installed distribution's version ("unknown" when run from an uninstalled tree)."""
    try:
        return version("salesradar")
    except PackageNotFoundError:
        return "unknown"


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"salesradar {package_version()}")
        raise typer.Exit()


def _root(
    _version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_show_version,
            is_eager=True,
            help="Print 'salesradar <version>' and exit.",
        ),
    ] = False,
) -> None:
    """Score hot leads and flag customers likely to leave silently, from CRM history."""


def build_app() -> typer.Typer:
    """Assemble the CLI: features' own commands plus every registered command group."""
    app = typer.Typer(
        name="salesradar",
        cls=OneLineErrors,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        context_settings=HELP_OPTIONS,
    )
    app.callback()(_root)
    app.command("generate")(generate.command)
    app.command("validate")(validate.command)
    app.command("summary")(summary.command)
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        register = ep.load()
        register(app)
    return app


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point: user mistakes become one line on stderr and a non-zero exit."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        build_app()(args=argv, prog_name="salesradar", standalone_mode=True)
    except UserError as exc:
        sys.exit(fail(exc).exit_code)
