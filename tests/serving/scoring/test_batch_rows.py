"""``serving.scoring.batch_rows.score_rows``, the one row scoring of both engines' batch runs:
without a context, tier counts or progress (a Spark partition) it scores exactly what the DuckDB run
does with them, and leaves the display fields and last activity to the caller."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from features.contract.export import export_from_frames
from features.contract.tasks import Task
from serving.api.services import Services
from serving.scoring.batch_rows import build_served_table, row_context, score_rows
from tests.serving.factories import make_frames

AS_OF = datetime(2025, 11, 1)


def test_rows_scored_without_context_tiers_or_progress_match_the_duckdb_run(
    services: Services,
) -> None:
    frames = make_frames(seed=11)
    frames["customers"]["name"] = [f"Customer {i}" for i in range(len(frames["customers"]))]
    export = export_from_frames(**frames)
    services.models.reload()  # the app would load the champions at startup
    served = services.models.current(Task.CHURN)
    assert served is not None
    table, _ = build_served_table(export, served, as_of=AS_OF)
    context = row_context(export, Task.CHURN, served, [("customers", "name")], as_of=AS_OF)
    export.close()
    common = {"as_of": AS_OF, "settings": services.settings, "explain": services.explain}
    tiers: dict[str, int] = {}
    reported: list[tuple[Task, int, int]] = []
    full = list(
        score_rows(
            served,
            table,
            context=context,
            tiers=tiers,
            progress=lambda *done: reported.append(done),
            **common,  # type: ignore[arg-type]
        )
    )
    bare = list(score_rows(served, table, **common))  # type: ignore[arg-type]

    assert len(full) == len(table) > 100
    assert reported == [(Task.CHURN, len(table), len(table))]
    assert sum(tiers.values()) == len(table)
    assert all(r.display is None and r.last_activity_at is None for r in bare)
    assert sum(r.display is not None for r in full) == len(full)
    assert sum(r.last_activity_at is not None for r in full) > 0
    for with_context, without in zip(full, bare, strict=True):
        assert dataclasses.replace(with_context, display=None, last_activity_at=None) == without
        assert with_context.detail is not None and without.detail is not None
        assert with_context.detail.raw_margin == without.detail.raw_margin
