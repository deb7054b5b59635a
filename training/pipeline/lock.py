"""One ``salesradar pipeline`` at a time: an exclusive ``filelock`` on a file beside the MLflow
store, which the operating system drops when the process ends, however it ends."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from features.contract.times import iso_utc
from features.errors import UserError
from training.pipeline.records import RunHolder

LOCK_FILE = "pipeline.lock"


class PipelineRunning(UserError):
    """Another pipeline run holds the lock; the message names it when its row says who."""

    exit_code = 3


@contextmanager
def pipeline_lock(folder: Path, *, holder: Callable[[], RunHolder | None]) -> Iterator[None]:
    """Hold ``folder/pipeline.lock`` for the ``with`` block, without waiting.

    Raises ``PipelineRunning`` (one line) when another process holds it; ``holder`` is asked
    then for the run recorded as running, to name it.
    """
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(folder / LOCK_FILE)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        who = holder()
        detail = (
            "holder unknown"
            if who is None
            else f"run {who.pipeline_run_id} started {iso_utc(who.started_at)} by pid {who.pid} "
            f"on {who.host}"
        )
        raise PipelineRunning(
            f"another pipeline run is in progress ({detail}); lock {folder / LOCK_FILE}"
        ) from None
    try:
        yield
    finally:
        lock.release()
