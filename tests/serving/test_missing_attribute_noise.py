"""A batch run over an export that lacks an attribute the model was trained on reports it once
(``BatchSummary.missing_attributes``, printed by ``score``), not again as a WARNING log line."""

from __future__ import annotations

import logging
from datetime import datetime

import pytest

from features.export import export_from_frames
from features.tasks import Task
from serving.batch import score_export
from serving.services import Services
from tests.serving.factories import make_frames


def test_a_missing_attribute_is_reported_once_not_logged_as_a_warning(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    services.models.reload()
    frames = make_frames(seed=11)
    frames["leads"] = frames["leads"].drop(columns=["industry"])
    export = export_from_frames(**frames)
    try:
        with caplog.at_level(logging.WARNING):
            summary = score_export(
                export,
                as_of=datetime(2025, 11, 1),
                models={Task.LEADS: services.models.current(Task.LEADS)},  # type: ignore[dict-item]
                store=services.store,  # type: ignore[arg-type]
                settings=services.settings,
                explain=services.explain,
                clock=lambda: datetime(2025, 11, 2),
            )
    finally:
        export.close()
    assert summary.missing_attributes == {"leads": ["industry"]}
    assert [r.getMessage() for r in caplog.records if "industry" in r.getMessage()] == []
