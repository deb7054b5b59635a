"""A throwaway PostgreSQL cluster for tests: initdb into a temp dir, 127.0.0.1, a free port.

The binaries come from ``/usr/lib/postgresql/*/bin``. Missing binaries skip the PostgreSQL tests
unless ``SALESRADAR_REQUIRE_POSTGRES=1`` (CI), where they fail instead. As root (CI containers),
the server runs as the ``postgres`` system user because PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.servers import free_port


@dataclass(frozen=True)
class PostgresServer:
    port: int
    user: str

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _run_as(user: str | None, args: list[str]) -> None:
    command = ["runuser", "-u", user, "--", *args] if user else args
    subprocess.run(command, check=True, capture_output=True, timeout=120)


@contextmanager
def start_postgres() -> Iterator[PostgresServer]:
    """Start a cluster, yield it, stop it and remove its files."""
    bin_dir = _bin_dir()
    if bin_dir is None:
        message = "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin"
        if os.environ.get("SALESRADAR_REQUIRE_POSTGRES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    run_user = "postgres" if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="salesradar-pg-"))
    if run_user:
        entry = pwd.getpwnam(run_user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    data, sockets, port = root / "data", root / "sockets", free_port()
    db_user = "salesradar"
    try:
        _run_as(run_user, ["mkdir", "-p", str(sockets)])
        _run_as(
            run_user,
            [str(bin_dir / "initdb"), "-D", str(data), "-U", db_user, "--auth=trust", "-E", "UTF8"],
        )
        options = f"-h 127.0.0.1 -p {port} -k {sockets} -c fsync=off -c full_page_writes=off"
        _run_as(
            run_user,
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "-l",
                str(root / "server.log"),
                "start",
            ],
        )
        try:
            yield PostgresServer(port=port, user=db_user)
        finally:
            _run_as(run_user, [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"])
    finally:
        shutil.rmtree(root, ignore_errors=True)


def create_database(server: PostgresServer) -> str:
    """A fresh, empty database on ``server``; returns its SQLAlchemy URL."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(
        host="127.0.0.1", port=server.port, user=server.user, dbname="postgres", autocommit=True
    ) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server.url(name)
