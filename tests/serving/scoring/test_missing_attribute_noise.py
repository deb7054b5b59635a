"""A batch run over an export that lacks an attribute the model was trained on reports it once
(``BatchSummary.missing_attributes``, printed by ``score``), not again as a WARNING log line."""

from __future__ import annotations

import logging

import pytest

from serving.api.services import Services
from tests.serving.api.test_lists_unscored_task import score_leads_only
from tests.serving.factories import make_frames


def test_a_missing_attribute_is_reported_once_not_logged_as_a_warning(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    services.models.reload()
    frames = make_frames(seed=11)
    frames["leads"] = frames["leads"].drop(columns=["industry"])
    with caplog.at_level(logging.WARNING):
        summary = score_leads_only(services, frames)
    assert summary.missing_attributes == {"leads": ["industry"]}
    assert [r.getMessage() for r in caplog.records if "industry" in r.getMessage()] == []
