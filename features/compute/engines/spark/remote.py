"""An export behind a URI, fetched for validation through the Spark session's file systems.

Spark reads an export's tables from any URI its Hadoop file systems know (``file:``, ``hdfs:``,
``s3a:``, ``gs:``, ... as configured on the session). The validator
(``features.contract.validation``) reads local files: it streams every byte of every table once,
checks row by row and names the row of each problem. So that a URI export is checked by exactly the
same rules as a local one, ``staged_for_validation`` copies the export's table files, through the
session's own Hadoop file system, into a temporary local folder that the validator reads; the copy
is deleted as soon as validation ends, and Spark then reads the tables from the URI itself. The
cost: the export's size in local temporary disk on the machine that runs the command, for the time
of validation (validation already streams every byte through this machine for a local folder too).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from py4j.protocol import Py4JJavaError
from pyspark.sql import SparkSession

from features.contract.tables import FILE_SUFFIXES, TABLES
from features.errors import UserError


class UnreadableUri(UserError):
    """The session's file system cannot read the URI (unknown scheme, no access, no folder)."""


def _java_reason(error: Py4JJavaError) -> str:
    """The Java exception's class and first message line, e.g. ``UnsupportedFileSystemException:
    No FileSystem for scheme "s3a"``."""
    java = error.java_exception
    message = str(java.getMessage() or "").splitlines()
    name = str(java.getClass().getSimpleName())
    return f"{name}: {message[0]}" if message else name


def is_table_file(name: str) -> bool:
    """Whether a file name is one of the contract's table files (``customers.parquet``)."""
    path = Path(name)
    return path.suffix in FILE_SUFFIXES and path.stem in {t.name for t in TABLES}


@contextmanager
def staged_for_validation(uri: str, *, session: SparkSession) -> Iterator[Path]:
    """A temporary local folder holding the table files found at ``uri`` (copied through the
    session's Hadoop file system), deleted on exit.

    Other top-level files are created empty under their own names, so the validator still
    warns about them (``unknown_file``) without their bytes being copied; subfolders are
    ignored, as for a local export. Raises ``UnreadableUri`` (a ``UserError`` naming ``uri``)
    when the file system cannot list it or it is not a folder.
    """
    context = session.sparkContext
    jvm: Any = context._jvm  # py4j's view of the driver's JVM
    hadoop = jvm.org.apache.hadoop.fs
    try:
        folder = hadoop.Path(uri)
        system = folder.getFileSystem(context._jsc.hadoopConfiguration())
        found = system.exists(folder) and system.getFileStatus(folder).isDirectory()
        if not found:
            raise UnreadableUri(f"--data {uri}: no such export folder")
        entries = [e for e in system.listStatus(folder) if e.isFile()]
    except Py4JJavaError as error:
        raise UnreadableUri(f"--data {uri}: Spark cannot read it ({_java_reason(error)})") from None
    with tempfile.TemporaryDirectory(prefix="salesradar-validate-") as local:
        try:
            for entry in entries:
                name = str(entry.getPath().getName())
                target = Path(local) / name
                if not is_table_file(name):
                    target.touch()
                    continue
                # delSrc=False, useRawLocalFileSystem=True: keep the source, write no .crc file.
                system.copyToLocalFile(False, entry.getPath(), hadoop.Path(target.as_uri()), True)
        except Py4JJavaError as error:
            reason = _java_reason(error)
            raise UnreadableUri(f"--data {uri}: Spark cannot copy {name} ({reason})") from None
        yield Path(local)


def file_uri(uri: str, name: str) -> str:
    """The URI of the file ``name`` inside the folder ``uri``."""
    return f"{uri.rstrip('/')}/{name}"
