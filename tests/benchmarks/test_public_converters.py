"""The public-dataset converters (benchmarks/public): on tiny handwritten frames in each dataset's
own raw format, the export passes ``salesradar validate`` and keeps the source's vocabulary.
No download, no simulator run.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from benchmarks.public import churnsim, flat, retentioneering_ecom
from benchmarks.public.exports import write_export
from features.cli.root import build_app

ECOM_COLUMNS = retentioneering_ecom.RAW_COLUMNS
ECOM_ROWS = [
    # user_id, session_id, event, timestamp, platform, acquisition_channel, user_cohort, lifecycle
    ("user_0001", "sess_01", "home", "2024-01-05 10:00:00", "mobile", "email", "2024-01", "new"),
    ("user_0001", "sess_01", "product_view", "2024-01-05 10:01:00", "mobile", "email", "2024-01",
     "new"),
    ("user_0001", "sess_02", "add_to_cart", "2024-01-20 09:00:00", "desktop", "email", "2024-01",
     "new"),
    ("user_0001", "sess_02", "purchase", "2024-01-20 09:05:00", "desktop", "email", "2024-01",
     "new"),
    ("user_0001", "sess_03", "catalog", "2024-02-10 18:00:00", "desktop", "email", "2024-01",
     "returning"),
    ("user_0002", "sess_04", "search", "2024-01-07 12:00:00", "tablet", "organic", "2024-01",
     "new"),
    ("user_0002", "sess_04", "checkout_bug", "2024-01-07 12:03:00", "tablet", "organic",
     "2024-01", "new"),
]  # fmt: skip


def validate(folder: Path, as_of: str) -> tuple[int, str]:
    result = CliRunner().invoke(build_app(), ["validate", str(folder), "--as-of", as_of])
    return result.exit_code, result.stdout


def test_ecom_export_validates_and_keeps_the_clickstream_vocabulary(tmp_path: Path) -> None:
    raw = pd.DataFrame(ECOM_ROWS, columns=ECOM_COLUMNS)

    tables = retentioneering_ecom.convert(raw)
    write_export(tables, tmp_path / "ecom")
    code, out = validate(tmp_path / "ecom", "2024-03-01")

    assert code == 0, out
    leads = tables["leads"].set_index("lead_id")
    assert leads.loc["user_0001", "converted_at"] == "2024-01-20T09:05:00"
    assert leads.loc["user_0002", "converted_at"] == ""
    assert leads.loc["user_0001", "platform"] == "mobile"  # the first session's
    assert list(tables["lead_events"]["type"]) == [
        "home", "product_view", "add_to_cart", "search", "checkout_bug",
    ]  # fmt: skip
    assert list(tables["customers"]["customer_id"]) == ["user_0001"]
    assert list(tables["customer_events"]["type"]) == ["purchase", "catalog"]


def churnsim_raw() -> dict[str, pd.DataFrame]:
    return {
        "account": pd.DataFrame(
            [("0", "web", "1990-03-15", "CN"), ("1", "appstore2", "1975-12-01", "")],
            columns=churnsim.RAW_TABLES["account"],
        ),
        "subscription": pd.DataFrame(
            [
                ("0", "basic", "2020-01-10", "2020-02-10", "9.99", "", "", "1", "0.0"),
                ("0", "basic", "2020-02-10", "2020-03-10", "9.99", "", "", "1", "0.0"),
                ("1", "basic", "2020-01-20", "2020-02-20", "9.99", "", "", "1", "0.0"),
                ("1", "basic", "2020-05-20", "2020-06-20", "9.99", "", "", "1", "0.0"),
            ],
            columns=churnsim.RAW_TABLES["subscription"],
        ),
        "event": pd.DataFrame(
            [
                ("0", "2020-01-11 04:25:41", "0", "0", ""),
                ("0", "2020-02-28 13:00:00", "2", "0", ""),
                ("1", "2020-01-21 08:00:00", "2", "0", ""),
                ("1", "2020-05-30 22:10:05", "0", "0", ""),
                ("1", "2020-06-10 07:00:00", "1", "0", ""),  # after the end: simulated, dropped
            ],
            columns=churnsim.RAW_TABLES["event"],
        ),
        "event_type": pd.DataFrame(
            [("0", "post"), ("1", "newfriend"), ("2", "like")],
            columns=churnsim.RAW_TABLES["event_type"],
        ),
    }


def test_churnsim_export_keeps_the_simulator_vocabulary_and_outcomes(tmp_path: Path) -> None:
    tables = churnsim.convert(churnsim_raw(), simulation_end="2020-06-01")

    customers = tables["customers"].set_index("customer_id")
    assert customers.loc["0", "churned_at"] == "2020-03-10"  # did not renew
    assert customers.loc["1", "churned_at"] == ""  # renewed past the simulation's end
    assert customers.loc["0", "annual_value"] == "119.88"
    assert customers.loc["0", "age_at_signup"] == 29
    assert customers.loc["1", "age_at_signup"] == 44
    assert list(tables["customer_events"]["type"]) == ["post", "like", "like", "post"]
    assert set(tables) == {"customers", "customer_events"}  # one half only


def test_churnsim_export_validates_with_customers_only(tmp_path: Path) -> None:
    tables = churnsim.convert(churnsim_raw(), simulation_end="2020-06-01")
    write_export(tables, tmp_path / "alone")

    code, out = validate(tmp_path / "alone", "2020-06-01")

    assert code == 0, out
    assert not (tmp_path / "alone" / "leads.csv").exists()
    assert not (tmp_path / "alone" / "lead_events.csv").exists()


def test_reference_labels_follow_the_documented_definitions(tmp_path: Path) -> None:
    tables = churnsim.convert(churnsim_raw(), simulation_end="2020-06-01")
    write_export(tables, tmp_path / "export")
    con = flat.connect(tmp_path / "export")
    split = flat.temporal_split(
        [datetime(2020, 2, 1), datetime(2020, 3, 1), datetime(2020, 5, 1)],
        horizon=timedelta(days=30),
        as_of=datetime(2020, 6, 1),
    )

    rows = flat.spine(con, task="churn", cutoffs=split.all, horizon=timedelta(days=30),
                      activity_types=None)  # fmt: skip

    assert split.learn == (datetime(2020, 2, 1), datetime(2020, 3, 1))
    assert split.test == datetime(2020, 5, 1)
    got = {(r.entity_id, f"{r.cutoff:%m-%d}"): r.label for r in rows.itertuples()}
    # 0: churns 03-10, inside (03-01, 03-31]; active in February (event 02-28). 1: silent from
    # 01-21 to 05-30, so no activity in either early window; active again in May.
    assert got == {("0", "02-01"): 0, ("0", "03-01"): 1, ("1", "02-01"): 1,
                   ("1", "03-01"): 1, ("1", "05-01"): 0}  # fmt: skip


def test_api_requests_stay_within_the_default_limits() -> None:
    from benchmarks.public.salesradar_steps import MAX_BODY_BYTES, _batches

    event = {"occurred_at": "2020-04-01T10:00:00", "type": "post"}
    entities = [
        {"customer_id": f"C{i}", "events": [event] * (9_000 if i % 3 == 0 else 10)}
        for i in range(1_500)
    ]

    batches = list(_batches(entities))

    assert [e for b in batches for e in b] == entities  # all, in order, once
    assert all(len(b) <= 1_000 for b in batches)
    assert all(sum(len(e["events"]) for e in b) <= 150_000 for b in batches)
    assert all(len(json.dumps(b)) <= MAX_BODY_BYTES for b in batches)


def test_churnsim_trains_with_every_event_type_as_activity_like_the_reference(
    tmp_path: Path,
) -> None:
    from benchmarks.bench_public import train_arguments
    from benchmarks.public.datasets import DATASETS

    churn, ecom = DATASETS["churnsim-socialnet7"], DATASETS["retentioneering-ecom"]
    split = flat.temporal_split(churn.cutoffs, horizon=churn.horizon, as_of=churn.as_of)

    args = train_arguments(churn, tmp_path, split, models=tmp_path / "models")
    ecom_args = train_arguments(ecom, tmp_path, split, models=tmp_path / "models")

    assert args[args.index("--activity-types") + 1] == (
        "post,newfriend,like,adview,dislike,unfriend,message,reply"
    )
    assert "--activity-types" not in ecom_args
