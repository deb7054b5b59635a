"""The config file: the shipped one loads; mistakes name the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from features.contract.tasks import Task
from training.config import DEFAULT_CONFIG_PATH, ConfigError, load_config


def test_shipped_config_loads() -> None:
    config = load_config()
    assert config.split.min_positives == 50
    assert config.trees.calibration == "sigmoid"
    assert config.trees.params["n_jobs"] == 1
    assert config.evaluation.capacity == {Task.LEADS: 200, Task.CHURN: 200}
    assert config.baselines[Task.CHURN]["days_since_last_purchase"] == "higher"
    assert config.text == DEFAULT_CONFIG_PATH.read_text()


def _write(tmp_path: Path, old: str, new: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(DEFAULT_CONFIG_PATH.read_text().replace(old, new, 1))
    wording = DEFAULT_CONFIG_PATH.with_name("wording.toml")
    (tmp_path / "wording.toml").write_text(wording.read_text())
    return path


def test_vocabulary_settings_load_with_their_wording() -> None:
    settings = load_config().vocabulary
    assert settings.activity_types == ("order",)
    assert (settings.min_events, settings.max_types, settings.valued_share) == (50, 30, 0.5)
    assert settings.wording["email_open"].counted == (
        "No emails opened",
        "Opened 1 email",
        "Opened {value} emails",
    )


def test_boost_from_btyd_is_a_mode_kept_out_of_the_tree_parameters(tmp_path: Path) -> None:
    config = load_config()
    assert config.trees.boost_from_btyd == "auto"
    assert "boost_from_btyd" not in config.trees.params  # LightGBM would reject it
    path = _write(tmp_path, 'boost_from_btyd = "auto"', 'boost_from_btyd = "sometimes"')
    with pytest.raises(ConfigError, match=r"boost_from_btyd must be auto \| always \| never"):
        load_config(path)
    path = _write(tmp_path, 'boost_from_btyd = "auto"', "boost_from_btyd = true")
    with pytest.raises(ConfigError, match=r"trees\.boost_from_btyd = True has the wrong type"):
        load_config(path)


def test_empty_activity_types_are_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, 'activity_types = ["order"]', "activity_types = []")
    with pytest.raises(ConfigError, match=r"vocabulary\.activity_types must list event type names"):
        load_config(path)


def test_a_bad_wording_entry_names_the_file_and_type(tmp_path: Path) -> None:
    path = _write(tmp_path, "embargo = true", "embargo = true")
    (tmp_path / "wording.toml").write_text('[webinar]\nnoun = "webinar"\ncounted = ["a"]\n')
    with pytest.raises(ConfigError, match=r"wording.toml: webinar.counted: expected a list of 3"):
        load_config(path)


def test_a_missing_wording_file_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path, 'wording = "wording.toml"', 'wording = "nope.toml"')
    with pytest.raises(ConfigError, match=r"nope.toml: cannot read wording file"):
        load_config(path)


def test_unknown_key_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path, "embargo = true", "embargo = true\nembargoo = 1")
    with pytest.raises(ConfigError, match=r"unknown key\(s\) split\.embargoo"):
        load_config(path)


def test_wrong_type_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path, "min_positives = 50", 'min_positives = "50"')
    with pytest.raises(ConfigError, match=r"split\.min_positives = '50' has the wrong type"):
        load_config(path)


def test_bad_baseline_direction_is_named(tmp_path: Path) -> None:
    path = _write(
        tmp_path, 'days_since_last_purchase = "higher"', 'days_since_last_purchase = "up"'
    )
    with pytest.raises(ConfigError, match=r"baselines\.churn\.days_since_last_purchase = 'up'"):
        load_config(path)


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read training config"):
        load_config(tmp_path / "missing.toml")
