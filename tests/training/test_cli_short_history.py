"""`salesradar train` on 12 months of history with a 182-day horizon: it trains without a
temporal test, says what it could and could not evaluate, and the model is never auto-promoted."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from features.cli import build_app
from features.synthetic import DEFAULT_AS_OF, generate_crm
from training.tracking import connect, resolve_tracking

AS_OF = DEFAULT_AS_OF.isoformat()


@pytest.fixture(scope="module")
def short_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("crm") / "export"
    generate_crm(out, leads=50, customers=600, seed=5, as_of=DEFAULT_AS_OF, months=12)
    return out


@pytest.fixture(scope="module")
def small_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    shipped = Path(__file__).parents[2] / "training"
    path = tmp_path_factory.mktemp("config") / "config.toml"
    path.write_text(
        (shipped / "config.toml").read_text().replace("n_estimators = 250", "n_estimators = 20")
    )
    # The config names its wording file relative to itself.
    path.with_name("wording.toml").write_text((shipped / "wording.toml").read_text())
    return path


def _run(*args: str) -> object:
    return CliRunner().invoke(build_app(), list(args), env={"COLUMNS": "400"})


def test_182_day_horizon_on_12_months_trains_untested_and_is_not_promoted(
    short_export: Path, small_config: Path, tmp_path: Path
) -> None:
    models = str(tmp_path / "models")
    common = ["--config", str(small_config), "--models-dir", models]
    result = _run(
        "train", "churn", "--data", str(short_export), "--as-of", AS_OF, "--horizon", "182d",
        "--promote", *common,
    )  # fmt: skip
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    lines = result.output.splitlines()  # type: ignore[attr-defined]
    assert lines[:3] == [
        "plan: churn, 182-day horizon, cutoffs every 1m, as of 2026-10-01T00:00:00Z; "
        "6 labelled cutoff(s)",
        "  cutoff          rows  positives  part",
        "  2025-11-01       130         10  train",
    ]
    assert "longest horizon with a temporal test: 151d" in lines
    assert (
        "split: NO temporal test (need at least 2 cutoff(s) whose 182-day label window closes "
        "by the first test cutoff 2026-04-01; found 0); all 6 cutoff(s) train, calibration "
        "cross-fitted over 5 blocks; ranking and calibration on later time will not be measured "
        "and this model is never promoted automatically"
    ) in lines
    assert (
        "no temporal test: need at least 2 cutoff(s) whose 182-day label window closes by the "
        "first test cutoff 2026-04-01; found 0; not measured: ranking and calibration on later "
        "time, baselines, backtest; checked: leakage audit (passed)"
    ) in lines
    assert (
        "not promoted: no temporal test: the model was never scored on later time (promote "
        "with --force-untested to ship it anyway)"
    ) in lines
    client = connect(resolve_tracking(models_dir=Path(models), environ={}))
    version = client.get_model_version_by_alias("salesradar-churn", "challenger")
    run = client.get_run(version.run_id)
    assert run.data.tags["temporal_test"] == "none"
    assert run.data.params["shipped_window"] == "2025-11-01..2026-04-01"

    refused = _run("promote", "churn", *common)
    assert refused.exit_code == 0
    assert refused.output.startswith("not promoted: no temporal test")  # type: ignore[attr-defined]
    forced = _run("promote", "churn", "--force-untested", *common)
    assert forced.output.startswith(  # type: ignore[attr-defined]
        "promoted to champion: forced without a temporal test (--force-untested); leakage "
        "audit passed"
    )


def test_plan_fits_nothing_and_weekly_cutoffs_are_counted(
    short_export: Path, tmp_path: Path
) -> None:
    result = _run(
        "train", "churn", "--data", str(short_export), "--as-of", AS_OF, "--horizon", "182d",
        "--every", "1w", "--plan", "--models-dir", str(tmp_path / "models"),
    )  # fmt: skip
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    # 27 weekly cutoffs have a closed 182-day window (as "--every 7d" is offered above); the
    # first, the midnight after the first customer was created, has no eligible customer yet.
    assert result.output.splitlines()[0] == (  # type: ignore[attr-defined]
        "plan: churn, 182-day horizon, cutoffs every 7d, as of 2026-10-01T00:00:00Z; "
        "26 labelled cutoff(s)"
    )
    assert not (tmp_path / "models").exists()
