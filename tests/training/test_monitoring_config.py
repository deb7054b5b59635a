"""`[monitoring]` in the training config: the shipped thresholds load; mistakes name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.config import DEFAULT_CONFIG_PATH, ConfigError, load_config


def test_shipped_thresholds_load() -> None:
    monitoring = load_config().monitoring
    assert monitoring.reference_bins == 10
    assert (monitoring.psi_warning, monitoring.psi_alert) == (0.1, 0.25)
    assert monitoring.unknown_event_share == 0.05


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("psi_alert = 0.25", "psi_alert = 0.05", "monitoring.psi_warning must not exceed"),
        ("p_value = 0.01", "p_value = 1.5", "monitoring.p_value must be in (0, 1), got 1.5"),
        ("reference_bins = 10", "reference_bins = 1", "monitoring.reference_bins must be at"),
        ("p_value = 0.01", "p_value = 0.01\npsi_alarm = 1", "unknown key(s) monitoring.psi_alarm"),
        ("psi_alert = 0.25", 'psi_alert = "high"', "monitoring.psi_alert = 'high' has the wrong"),
    ],
)
def test_mistakes_name_the_key(tmp_path: Path, old: str, new: str, message: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(DEFAULT_CONFIG_PATH.read_text().replace(old, new, 1))
    (tmp_path / "wording.toml").write_text(
        DEFAULT_CONFIG_PATH.with_name("wording.toml").read_text()
    )
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert message in str(raised.value)
