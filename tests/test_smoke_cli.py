"""The CLI assembles and every command answers --help."""

from __future__ import annotations

from typer.testing import CliRunner

from features.cli.root import build_app


def test_every_command_has_help() -> None:
    app = build_app()
    runner = CliRunner()
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0, result.output
    import typer.main

    group = typer.main.get_command(app)
    names = list(group.commands)  # type: ignore[attr-defined]
    assert {"generate", "validate"} <= set(names)
    for name in names:
        sub = runner.invoke(app, [name, "--help"])
        assert sub.exit_code == 0, (name, sub.output)
        assert "Usage" in sub.output
