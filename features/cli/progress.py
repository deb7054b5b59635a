"""The progress bars of the commands that read or write an export (``validate``, ``summary``,
``generate``): one rich bar per step a ``progress(step, done, total)`` hook reports."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from features.contract.validation import ProgressHook


@contextmanager
def progress_bars(console: Console) -> Iterator[ProgressHook]:
    """Yield a hook ``(step, done, total)`` that draws one bar per step on ``console``.

    The caller picks the stream (``generate`` writes to stdout, ``validate`` and ``summary`` to
    stderr). Bars draw only when ``console`` is a terminal, and vanish when the block ends, so a
    pipe or a log receives nothing from them. A step reported with ``total`` 0 shows as empty.
    """
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,  # else stopping writes a blank line into a pipe or log
    ) as progress:
        tasks: dict[str, TaskID] = {}

        def report(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = progress.add_task(step, total=max(total, 1))
            progress.update(tasks[step], completed=done, total=max(total, 1))

        yield report
