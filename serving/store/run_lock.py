"""One batch scoring run at a time per scores database, with a lock the OS or server releases.

A second ``salesradar score`` against the same database would remove the first one's unfinished
run as abandoned (``ScoreStore.begin_run``) and the first would then die on a foreign key. So a
run holds a lock from its first write to its last delete:

- PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) on a connection kept open
  for the run. The server drops it when that session ends, including when the process is killed.
- SQLite: ``flock`` on a ``<database>.lock`` file next to the database. The kernel drops it when
  the process exits, however it exits, so a crashed run never leaves a lock to take over.

Neither lock says who holds it, so the holder also writes its pid, host and start time to the
``scoring_lock`` table; a run that finds the lock taken reads that row for its one-line message.
The row is only information: a row left by a dead run blocks nothing. (Between taking the lock
and writing the row, a few milliseconds, the message can name the previous holder.)
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.engine import make_url

from features.contract.times import iso_utc
from features.errors import UserError
from serving.store.tables import scoring_lock

# The advisory lock's key, an arbitrary constant: the first 8 bytes of sha256(b"salesradar score")
# as a signed 64-bit integer. Advisory locks are per database, so one key serves every database.
ADVISORY_KEY = -469_414_002_689_764_025


@dataclass(frozen=True)
class LockHolder:
    """The process that runs a batch: its pid, its host name and when the run started (UTC)."""

    pid: int
    host: str
    started_at: datetime


class ScoringRunInProgress(UserError):
    """Another scoring run holds the lock; ``holder`` is who, when known (see module docstring)."""

    def __init__(self, holder: LockHolder | None) -> None:
        self.holder = holder
        if holder is None:
            who = "holder unknown"
        else:
            who = f"started {iso_utc(holder.started_at)} by pid {holder.pid} on {holder.host}"
        super().__init__(f"another scoring run is in progress ({who})")


def _current_holder(engine: Engine) -> LockHolder | None:
    with engine.connect() as conn:
        row = conn.execute(select(scoring_lock).where(scoring_lock.c.slot == 1)).first()
    return None if row is None else LockHolder(row.pid, row.host, row.started_at)


def _record_holder(engine: Engine, holder: LockHolder) -> None:
    with engine.begin() as conn:
        conn.execute(delete(scoring_lock))
        conn.execute(
            scoring_lock.insert().values(
                slot=1, pid=holder.pid, host=holder.host, started_at=holder.started_at
            )
        )


@contextmanager
def _advisory_lock(engine: Engine) -> Iterator[bool]:
    """Yields whether the PostgreSQL advisory lock was taken; holds it until the block ends."""
    # AUTOCOMMIT: the session holds the lock, so no transaction needs to stay open for hours.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        taken = bool(conn.execute(select(func.pg_try_advisory_lock(ADVISORY_KEY))).scalar_one())
        try:
            yield taken
        finally:
            if taken:
                conn.execute(select(func.pg_advisory_unlock(ADVISORY_KEY)))


@contextmanager
def _file_lock(path: str) -> Iterator[bool]:
    """Yields whether an exclusive ``flock`` on ``path`` was taken; holds it until the block ends.

    The file is opened without truncating and never deleted: deleting a lock file lets two
    processes lock two different files of the same name.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def lock_file_path(engine: Engine) -> str | None:
    """The SQLite lock file next to the database file, or None for in-memory or non-SQLite."""
    url = make_url(str(engine.url))
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return f"{url.database}.lock"


@contextmanager
def scoring_lock_held(engine: Engine, holder: LockHolder) -> Iterator[None]:
    """Hold the scoring lock of the database behind ``engine`` for the ``with`` block.

    Takes it without waiting; raises ``ScoringRunInProgress`` (a one-line ``UserError``) naming
    the current holder when another process has it. Released when the block ends, and by the
    operating system or the PostgreSQL server when the process dies. An in-memory SQLite
    database is private to its process, so it needs no lock.
    """
    backend = engine.dialect.name
    if backend == "postgresql":
        mechanism = _advisory_lock(engine)
    elif backend == "sqlite":
        path = lock_file_path(engine)
        if path is None:
            yield
            return
        mechanism = _file_lock(path)
    else:
        raise UserError(f"scores database backend {backend!r} is not supported for batch runs")
    with mechanism as taken:
        if not taken:
            raise ScoringRunInProgress(_current_holder(engine))
        _record_holder(engine, holder)
        yield
