"""Write one kind's rows of a published run as an import file, atomically."""

from __future__ import annotations

import csv
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from features.contract.tasks import EntityKind
from serving.delivery.published import resolve_run, run_pages
from serving.store.database import ScoreStore
from serving.writeback.formats import ROW_BUILDERS, CrmFormat, Fields, fields_of


@dataclass(frozen=True)
class ExportSummary:
    """What ``export_scores`` wrote: the run, the rows and the file."""

    run_id: str
    rows: int
    path: Path


def export_scores(
    store: ScoreStore,
    *,
    kind: EntityKind,
    crm_format: CrmFormat,
    out: Path,
    run_id: str | None = None,
) -> ExportSummary:
    """Write every ``kind`` row of ``run_id`` (default: the published run) to ``out`` as a
    UTF-8 CSV in ``crm_format``'s columns, in list order.

    The file appears complete or not at all (written beside ``out``, then renamed over it), so
    a failure never leaves a half-written import. Raises ``UserError`` for nothing published,
    an unknown run, or a value the format cannot hold (naming the entity).
    """
    chosen = resolve_run(store, run_id)
    build = ROW_BUILDERS[crm_format]
    out.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    rows = 0
    try:
        with open(descriptor, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=_header(crm_format))
            writer.writeheader()  # also for no rows: the import still maps its columns
            for page in run_pages(store, kind, chosen):
                for item in page.items:
                    writer.writerow(build(fields_of(item)))
                    rows += 1
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return ExportSummary(chosen, rows, out)


def _header(crm_format: CrmFormat) -> list[str]:
    """The format's column names, read off an example row (one definition of the columns)."""
    example = Fields("lead", "x", None, 0, "", 0.0, None, "", "", datetime(2000, 1, 1), None, "")
    return list(ROW_BUILDERS[crm_format](example))
