"""Servers the tests start in a child process (``mlflow server``, ``mlflow models serve``): a
free port on 127.0.0.1, start, wait until ``/health`` answers, and always stop."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

STARTUP_SECONDS = 120
STOP_SECONDS = 30


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (the OS picks it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    """Return once ``url``/health answers 200; ``RuntimeError`` if ``process`` exits first,
    ``TimeoutError`` after ``STARTUP_SECONDS``."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} not healthy within {STARTUP_SECONDS} s")


@contextmanager
def http_server(
    command: Callable[[int], list[str]],
    *,
    log: Path,
    env: Mapping[str, str],
    cwd: Path | None = None,
) -> Iterator[str]:
    """Run ``command(port)`` (a server listening on 127.0.0.1:port) with its output in ``log``;
    yields ``http://127.0.0.1:port`` once it is healthy, and on exit terminates it (killed
    after ``STOP_SECONDS``) and waits for it, whatever happened inside."""
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(
            command(port), stdout=output, stderr=subprocess.STDOUT, env=dict(env), cwd=cwd
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_healthy(url, process)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def mlflow_server(*, backend: str, artifacts: Path, log: Path) -> Iterator[str]:
    """``mlflow server`` (one worker) over the ``backend`` store URI, serving artifacts from
    ``artifacts`` (proxied: clients never write there themselves); yields its URL. The child
    gets an empty ``MLFLOW_TRACKING_URI`` so that a test's own setting cannot redirect it; on
    exit MLflow's process-wide tracking URI is reset, so no later test inherits the server's."""
    import mlflow

    def command(port: int) -> list[str]:
        return [
            str(Path(sys.executable).with_name("mlflow")), "server",
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
            "--backend-store-uri", backend, "--artifacts-destination", str(artifacts),
        ]  # fmt: skip

    try:
        with http_server(command, log=log, env={**os.environ, "MLFLOW_TRACKING_URI": ""}) as url:
            yield url
    finally:
        mlflow.set_tracking_uri(None)
