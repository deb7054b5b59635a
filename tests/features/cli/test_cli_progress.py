"""``features.cli.progress.progress_bars``: the one progress display of validate, summary and
generate; bars on the console it is given, and only when that console is a terminal."""

from __future__ import annotations

import io

from rich.console import Console

from features.cli.progress import progress_bars


def test_bars_draw_on_the_given_terminal() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=80)
    with progress_bars(console) as report:
        report("reading leads", 1, 4)
        report("reading leads", 4, 4)
        report("empty step", 0, 0)
    drawn = screen.getvalue()
    assert "reading leads" in drawn
    assert "100.0%" in drawn
    assert "empty step" in drawn


def test_nothing_is_written_into_a_pipe() -> None:
    pipe = io.StringIO()
    with progress_bars(Console(file=pipe)) as report:
        report("reading leads", 2, 4)
    assert pipe.getvalue() == ""
