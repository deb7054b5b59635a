"""`salesradar train` on 12 months of history with a 182-day horizon: it trains without a
temporal test, says what it could and could not evaluate, and the model is never auto-promoted."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from features.cli.root import build_app
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


@pytest.mark.slow  # trains through the CLI: 102 s measured
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


def _leads_only(out: Path, *, leads: int) -> Path:
    """A 4-month export with the customer tables dropped: leads only."""
    generate_crm(out, leads=leads, customers=1, seed=3, as_of=DEFAULT_AS_OF, months=4, truth=False)
    for table in ("customers", "customer_events"):
        (out / f"{table}.parquet").unlink()
    return out


@pytest.mark.slow  # plans every offered option: 58 s measured
def test_plan_advice_on_a_short_leads_only_export_trains_when_followed(
    tmp_path: Path, small_config: Path
) -> None:
    data = str(_leads_only(tmp_path / "export", leads=300))
    common = ["--as-of", AS_OF, "--config", str(small_config)]
    common += ["--models-dir", str(tmp_path / "models")]
    asked = _run("train", "leads", "--data", data, "--plan", *common)
    # One labelled monthly cutoff of 90 days: nothing trains as asked, so --plan fails.
    assert asked.exit_code == 2, asked.output  # type: ignore[attr-defined]
    error = asked.stderr.splitlines()  # type: ignore[attr-defined]
    assert len(error) == 1 and error[0].startswith("error: leads: need at least 2 labelled")
    offered = re.findall(r"--horizon \S+ --every \S+(?: --no-test)?", error[0])
    assert len(offered) >= 2, error[0]
    for options in offered:
        followed = _run("train", "leads", "--data", data, *options.split(), "--plan", *common)
        assert followed.exit_code == 0, (options, followed.output)  # type: ignore[attr-defined]
    trained = _run("train", "leads", "--data", data, *offered[0].split(), *common)
    assert trained.exit_code == 0, trained.output  # type: ignore[attr-defined]
    assert "registered salesradar-leads version 1 as challenger" in " ".join(
        trained.output.split()  # type: ignore[attr-defined]
    )


def test_plan_says_plainly_when_nothing_trains_and_exits_2(
    tmp_path: Path, small_config: Path
) -> None:
    data = str(_leads_only(tmp_path / "export", leads=40))
    result = _run(
        "train", "leads", "--data", data, "--as-of", AS_OF, "--plan",
        "--models-dir", str(tmp_path / "models"),
    )  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [  # type: ignore[attr-defined]
        "error: leads: need at least 2 labelled cutoffs to train without a temporal test "
        "(calibration cross-fitted across cutoffs); found 1; what would work: nothing the plan "
        "tried trains on this history (every 1m, 7d, 14d; horizons of 30, 60, 90, 182, 365 days "
        "and the longest with a temporal test; with and without --no-test): too few labelled "
        "cutoffs, or fewer than 50 positives in the training cutoffs"
    ]
