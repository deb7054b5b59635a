"""The CLI's contract with the person at the keyboard (issue 14, "one-line errors").

Every user mistake is one line and a non-zero exit, whatever the command; arguments are checked
before heavy work; usage errors are one line too; -h and --version work; stores are never
created by commands that only read them; tables keep identifiers whole; times are ISO 8601 "Z".
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import datetime
from importlib.metadata import version
from pathlib import Path

import pytest
import typer.main
from rich.console import Console
from typer.testing import CliRunner

from features.cli.exits import fail
from features.cli.root import build_app
from features.contract.tasks import TASK_TABLES, Task
from features.errors import UserError
from tests.features.exportkit import AS_OF, write_valid_export

ROOT = Path(__file__).parents[1]
SALESRADAR = Path(sys.executable).parent / "salesradar"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every store the commands could touch lives under ``tmp_path``."""
    monkeypatch.setenv("SALESRADAR_SCORES_URL", f"sqlite:///{tmp_path / 'scores.db'}")
    monkeypatch.setenv("SALESRADAR_SERVED_DIR", str(tmp_path / "served"))
    monkeypatch.setenv("SALESRADAR_MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(build_app(), list(args), env={"COLUMNS": "80"})
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return result.exit_code, result.output


MISSING = "{tmp}/no/such/folder"  # under tmp_path: a command that creates it harms nothing
MISTAKES = {
    # a missing folder
    "validate missing": ["validate", MISSING],
    "summary missing": ["summary", MISSING],
    "train missing": ["train", "leads", "--data", MISSING],
    "score missing": ["score", "--data", MISSING],
    "quickstart missing": ["keys", "quickstart", "--data", MISSING],
    "models missing": ["models", "--models-dir", MISSING],
    "promote missing": ["promote", "churn", "--models-dir", MISSING],
    # a bad time ({data} is a real folder)
    "generate time": ["generate", "--out", "{tmp}/out", "--as-of", "garbage"],
    "validate time": ["validate", "{data}", "--as-of", "garbage"],
    "summary time": ["summary", "{data}", "--as-of", "garbage"],
    "train time": ["train", "leads", "--data", "{data}", "--as-of", "garbage"],
    "score time": ["score", "--data", "{data}", "--as-of", "garbage"],
    "quickstart time": ["keys", "quickstart", "--data", "{data}", "--as-of", "garbage"],
    # a bad task
    "train task": ["train", "leeds", "--data", "{data}"],
    "promote task": ["promote", "leeds"],
    "models task": ["models", "leeds"],
    "score task": ["score", "--data", "{data}", "--task", "leeds"],
    # a bad flag, on every command
    **{
        f"{' '.join(command)} flag": [*command, "--bogus"]
        for command in (
            ["generate"],
            ["validate"],
            ["summary"],
            ["train"],
            ["promote"],
            ["models"],
            ["score"],
            ["serve"],
            ["keys", "create"],
            ["keys", "revoke"],
            ["keys", "list"],
            ["keys", "quickstart"],
        )
    },
    # a bad choice (pydantic's "Value error, " prefix must not leak)
    "keys role": ["keys", "create", "--role", "boss"],
}


@pytest.mark.parametrize("args", list(MISTAKES.values()), ids=list(MISTAKES))
def test_every_user_mistake_is_one_line_and_a_non_zero_exit(env: Path, args: list[str]) -> None:
    data = write_valid_export(env / "export")
    filled = [a.format(tmp=env, data=data) for a in args]
    code, output = _invoke(*filled)
    lines = [line for line in output.splitlines() if line.strip()]
    assert code != 0
    assert len(lines) == 1, output
    assert "Traceback" not in output and "╭" not in output and "Value error" not in output
    assert not (env / "no").exists()


def test_a_real_process_prints_one_line_on_stderr_and_nothing_on_stdout(tmp_path: Path) -> None:
    for args, line in (
        (["train", "--foo"], "salesradar train: no such option: --foo (try 'salesradar train -h')"),
        (
            ["score", "--data", str(tmp_path / "no")],
            f"error: --data {tmp_path / 'no'}: no such export folder",
        ),
    ):
        done = subprocess.run(
            [str(SALESRADAR), *args],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "COLUMNS": "80"},
        )
        assert done.returncode == 2
        assert done.stdout == ""
        assert done.stderr.splitlines() == [line]


def test_score_and_quickstart_check_arguments_before_loading_anything(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def untouchable(*args: object, **kwargs: object) -> None:
        raise AssertionError("champions, MLflow or the scores database opened before --data")

    import serving.cli
    import serving.wiring

    monkeypatch.setattr(serving.wiring, "build_services", untouchable)
    monkeypatch.setattr(serving.cli.ScoreStore, "from_url", untouchable)
    missing = env / "no"
    for args in (["score"], ["keys", "quickstart"]):
        code, output = _invoke(*args, "--data", str(missing))
        assert (code, output) == (2, f"error: --data {missing}: no such export folder\n")


def test_usage_errors_are_one_line_naming_the_command() -> None:
    code, output = _invoke("train", "--foo")
    assert (code, output) == (
        2,
        "salesradar train: no such option: --foo (try 'salesradar train -h')\n",
    )
    code, output = _invoke("keys", "create", "--role", "boss")
    assert output == (
        "salesradar keys create: invalid value for '--role': 'boss' is not one of 'crm', "
        "'rep', 'admin' (try 'salesradar keys create -h')\n"
    )


def test_a_bad_setting_is_one_line_without_the_pydantic_prefix(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SALESRADAR_LEAD_TIERS__MEDIUM", "0.9")
    code, output = _invoke("keys", "list")
    assert (code, output) == (
        2,
        "error: SALESRADAR_LEAD_TIERS: medium threshold must be below the high threshold\n",
    )


def test_dash_h_is_help_on_every_command_and_version_prints_the_package_version() -> None:
    app = build_app()
    group = typer.main.get_command(app)
    paths = [[]]
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        paths.append([name])
        paths += [[name, sub] for sub in getattr(command, "commands", {})]
    for path in paths:
        code, output = _invoke(*path, "-h")
        assert code == 0 and "Usage" in output, (path, output)
    assert _invoke("--version") == (0, f"salesradar {version('salesradar')}\n")


def test_fail_keeps_square_brackets(capsys: pytest.CaptureFixture[str]) -> None:
    exit_ = fail(UserError("[split] max_as_of_gap_days is 30, the gap is 45 days"))
    assert exit_.exit_code == 2
    assert capsys.readouterr().err == (
        "error: [split] max_as_of_gap_days is 30, the gap is 45 days\n"
    )


@pytest.mark.parametrize("command", [["models"], ["promote", "churn"]])
def test_reading_commands_never_create_a_store(
    env: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    typo = env / "typo"
    code, output = _invoke(*command, "--models-dir", str(typo))
    assert (code, output) == (
        2,
        f"error: --models-dir {typo}: no MLflow store there (no mlflow.db); "
        "'salesradar train' creates one\n",
    )
    assert not typo.exists()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{env / 'elsewhere' / 'mlflow.db'}")
    code, output = _invoke(*command)
    assert code == 2 and "no such database file" in output
    assert not (env / "elsewhere").exists()


def _registry_with_long_names(models: Path) -> None:
    """Two registered versions per task with aliases, as `train` would leave them."""
    from mlflow import MlflowClient

    from training.tracking import connect, resolve_tracking

    client: MlflowClient = connect(resolve_tracking(models_dir=models, environ={}))
    experiment = client.create_experiment("x", artifact_location=(models / "art").as_uri())
    for task in Task:
        name = TASK_TABLES[task].model_name
        client.create_registered_model(name)
        for _ in range(2):
            run = client.create_run(experiment)
            for metric, value in (("roc_auc", 0.81234), ("pr_auc", 0.4), ("brier", 0.1)):
                client.log_metric(run.info.run_id, f"test.{metric}", value)
            version = client.create_model_version(name, run.info.artifact_uri, run.info.run_id)
            client.set_model_version_tag(
                name, version.version, "promotion.decision", "rejected (leakage audit failed)"
            )
        client.set_registered_model_alias(name, "challenger", "2")
        client.set_registered_model_alias(name, "champion", "1")


@pytest.mark.parametrize("width", [80, 120])
def test_models_table_keeps_identifiers_whole_at_terminal_widths(
    tmp_path: Path, width: int
) -> None:
    from training.cli import models_table
    from training.model_registry import list_versions
    from training.tracking import connect, resolve_tracking

    _registry_with_long_names(tmp_path)
    rows = list_versions(
        connect(resolve_tracking(models_dir=tmp_path, environ={})), tasks=list(Task)
    )
    out = io.StringIO()
    Console(file=out, width=width, force_terminal=False).print(models_table(rows, width=width))
    text = out.getvalue()
    assert "…" not in text
    assert all(len(line) <= width for line in text.splitlines())
    for name in ("salesradar-leads", "salesradar-churn"):
        assert text.count(f" {name} ") == 2
    assert "roc_auc" in text and "0.812" in text


def test_models_in_a_pipe_cuts_nothing(env: Path) -> None:
    _registry_with_long_names(env / "models")
    code, output = _invoke("models", "--models-dir", str(env / "models"))
    assert code == 0
    header, *rows = output.splitlines()
    assert header.split("\t")[:4] == ["model", "version", "aliases", "created"]
    assert len(rows) == 4
    first = rows[0].split("\t")
    assert first[:3] == ["salesradar-leads", "2", "challenger"]
    assert first[-1] == "rejected (leakage audit failed)"
    assert datetime.fromisoformat(first[3].removesuffix("Z")) and first[3].endswith("Z")


def test_a_refused_promotion_names_each_flagged_feature_with_its_figure(env: Path) -> None:
    from mlflow import MlflowClient

    from training.tracking import LEAKAGE_FINDINGS_ARTIFACT, connect, resolve_tracking

    models = env / "models"
    client: MlflowClient = connect(resolve_tracking(models_dir=models, environ={}))
    experiment = client.create_experiment("x", artifact_location=(models / "art").as_uri())
    run = client.create_run(experiment)
    findings = [
        ["loss_reason", "on its own it separates the labels with ROC AUC 0.993 (> 0.95)"],
        ["end_date", "present only on rows with label 1 (40 of 40)"],
    ]
    (env / LEAKAGE_FINDINGS_ARTIFACT).write_text(json.dumps({"leakage_findings": findings}))
    client.log_artifact(run.info.run_id, str(env / LEAKAGE_FINDINGS_ARTIFACT))
    client.set_tag(run.info.run_id, "leakage_audit", "failed")
    client.set_tag(run.info.run_id, "temporal_test", "none")
    name = TASK_TABLES[Task.CHURN].model_name
    client.create_registered_model(name)
    client.create_model_version(name, run.info.artifact_uri, run.info.run_id)
    client.set_registered_model_alias(name, "challenger", "1")

    code, output = _invoke("promote", "churn", "--force-untested", "--models-dir", str(models))

    assert code == 0
    assert " ".join(output.split()) == (
        "not promoted: leakage audit failed: loss_reason: on its own it separates the labels "
        "with ROC AUC 0.993 (> 0.95); end_date: present only on rows with label 1 (40 of 40)"
    )


def test_serve_help_lists_every_setting_and_env_example_documents_each(env: Path) -> None:
    from serving.cli import environment_variables

    names = {name for name, _ in environment_variables()}
    assert {"SALESRADAR_PORT", "SALESRADAR_LEAD_TIERS__HIGH", "SALESRADAR_SCORES_URL"} <= names
    result = CliRunner().invoke(build_app(), ["serve", "--help"], env={"COLUMNS": "200"})
    assert all(name in result.output for name in names)
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    documented = {
        line.lstrip("# ").split("=")[0]
        for line in example.splitlines()
        if line.lstrip("# ").startswith("SALESRADAR_") and "=" in line
    }
    assert documented == names
    defaults = dict(environment_variables())
    for line in example.splitlines():
        if line.lstrip("# ").startswith("SALESRADAR_") and "=" in line:
            key, value = line.lstrip("# ").split("=", 1)
            assert defaults[key] == value, key


def test_times_the_cli_prints_are_iso_8601_utc_with_z() -> None:
    from features.contract.times import iso_utc

    assert iso_utc(datetime(2026, 3, 1, 12, 30, 5, 123456)) == "2026-03-01T12:30:05Z"
    assert iso_utc(datetime.fromisoformat("2026-03-01T12:30:05+02:00")) == ("2026-03-01T10:30:05Z")


def test_validate_prints_its_as_of_with_z(tmp_path: Path) -> None:
    path = write_valid_export(tmp_path)
    code, output = _invoke("validate", str(path), "--as-of", AS_OF.isoformat())
    assert code == 0
    assert "valid as of 2024-06-01T00:00:00Z — 0 error(s)" in output


def test_a_tested_challenger_refused_for_leakage_names_the_findings() -> None:
    from training.promotion import decide

    decision = decide(
        metric="pr_auc",
        margin=0.0,
        challenger=0.6,
        champion=None,
        baselines={"recency": 0.3},
        leakage_passed=False,
        leakage_findings=[("loss_reason", "separates the labels with ROC AUC 0.993 (> 0.95)")],
    )
    assert not decision.promote
    assert decision.reasons == (
        "leakage audit failed: loss_reason: separates the labels with ROC AUC 0.993 (> 0.95)",
    )
