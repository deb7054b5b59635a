"""``[pipeline]`` and ``[promotion] prefer_simple_margin``: shipped values load, mistakes name
the key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from training.config import DEFAULT_CONFIG_PATH, ConfigError, load_config


def test_shipped_pipeline_settings_load() -> None:
    config = load_config()
    assert config.pipeline.max_model_age_days == 90
    assert config.pipeline.retrain_on_drift is True
    assert config.pipeline.performance_margin == 0.05
    assert config.promotion.prefer_simple_margin == 0.0
    assert config.promotion.serve_simple_model is False


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "max_model_age_days = 90",
            "max_model_age_days = 90\nage = 1",
            "unknown key(s) pipeline.age",
        ),
        (
            "max_model_age_days = 90",
            "max_model_age_days = 0",
            "pipeline.max_model_age_days must be",
        ),
        ("retrain_on_drift = true", "retrain_on_drift = 1", "pipeline.retrain_on_drift = 1 has"),
        ("performance_margin = 0.05", "performance_margin = -0.1", "performance_margin must be at"),
        ("prefer_simple_margin = 0.0", "", "missing key promotion.prefer_simple_margin"),
        ("serve_simple_model = false", "serve_simple_model = 0", "serve_simple_model = 0 has"),
        ("[pipeline]", "[pipelines]", "missing section [pipeline]"),
    ],
)
def test_mistakes_name_the_key(tmp_path: Path, old: str, new: str, message: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(DEFAULT_CONFIG_PATH.read_text().replace(old, new, 1))
    (tmp_path / "wording.toml").write_text(
        DEFAULT_CONFIG_PATH.with_name("wording.toml").read_text()
    )
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(path)
