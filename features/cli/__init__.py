"""The command line: root app, commands, exits (the only typer/rich users)."""
