"""Where an export lies: a local folder, or a URI that only Spark reads (``file:///``,
``s3a://``, ``hdfs://``, ``gs://``, ... whatever file systems the Spark session has).

The commands' ``--data`` is text; ``export_location`` turns it into a checked ``Path`` (a local
folder, either engine) or keeps the URI (Spark only), before any heavy work.
"""

from __future__ import annotations

import re
from pathlib import Path

from features.compute.engines.kinds import Engine
from features.errors import UserError

# RFC 3986 scheme followed by '//': "s3a://bucket/x", "file:///data/x". A bare "C:" or a
# relative path never matches.
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_uri(text: str) -> bool:
    """Whether ``text`` is a URI with a scheme and an authority part (``scheme://...``)."""
    return _URI.match(text) is not None


def check_directory(directory: Path, *, option: str | None = None) -> None:
    """Raise a one-line ``UserError`` naming ``directory`` (and its option) unless it is a folder.

    Commands call it before any heavy work, so a typo costs nothing.
    """
    if not directory.is_dir():
        if option is None:
            raise UserError(f"{directory} is not a folder")
        raise UserError(f"{option} {directory}: no such export folder")


def export_location(text: str, *, engine: Engine, option: str | None = "--data") -> Path | str:
    """The export named by ``text`` for ``engine``: a local folder as a ``Path``, or a URI.

    A URI is kept as given for Spark (whether it exists is checked when Spark opens it,
    ``features.compute.engines.spark.remote``); with DuckDB it is refused in one line saying to use
    ``--engine spark``. A local path must be a folder (``check_directory``). Raises
    ``UserError`` naming ``option`` (or nothing, for a positional argument) and the text.
    """
    where = text if option is None else f"{option} {text}"
    if is_uri(text):
        if Engine(engine) is not Engine.SPARK:
            raise UserError(
                f"{where}: DuckDB reads local folders only; read a URI with --engine spark "
                "(or SALESRADAR_ENGINE=spark)"
            )
        return text
    path = Path(text)
    check_directory(path, option=option)  # the local folder's one check and wording
    return path
