"""Reading a whole published run through ``ScoreStore.list_scores`` (read-only), page by page.

Shared by the digests (``serving.delivery.news``) and the CRM write-back
(``serving.writeback``), so both see exactly the rows, previous scores and tiers the lists show.
"""

from __future__ import annotations

from collections.abc import Iterator

from features.contract.tasks import EntityKind
from features.errors import UserError
from serving.store.database import ScorePage, ScoreStore, UnknownRun

PAGE_ROWS = 5_000


def resolve_run(store: ScoreStore, run_id: str | None) -> str:
    """``run_id``, or the published run's id when None; ``UserError`` when nothing is
    published yet (an unknown ``run_id`` is caught by ``run_pages``)."""
    chosen = run_id or store.published_run_id()
    if chosen is None:
        raise UserError("nothing is published yet: run 'salesradar score' first")
    return chosen


def run_pages(store: ScoreStore, kind: EntityKind, run_id: str) -> Iterator[ScorePage]:
    """Every page of ``kind``'s rows in the published run ``run_id``, in list order (at least
    one page, maybe empty, so the run's times are always known). Raises ``UserError`` when
    ``run_id`` names no published run (never was, or removed by retention)."""
    offset = 0
    while True:
        try:
            page = store.list_scores(kind, limit=PAGE_ROWS, offset=offset, run_id=run_id)
        except UnknownRun:
            raise UserError(f"--run-id {run_id}: no published run has this id") from None
        yield page
        offset += len(page.items)
        if offset >= page.total or not page.items:
            return
