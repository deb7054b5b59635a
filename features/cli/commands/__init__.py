"""One module per ``features`` CLI command; each exposes a Typer-decorated-free ``command``."""
