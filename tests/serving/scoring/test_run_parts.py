"""The Parquet parts a Spark batch run hands to the publish are removed after the run, wherever
``spark_runs_dir`` points (``serving.scoring.batch.remove_run_parts``)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from serving.scoring import batch


def test_removing_run_parts_takes_paths_and_uris_and_tolerates_absence(
    tmp_path, caplog, monkeypatch
):
    """A relative or absolute path and a file:// URI are removed whole; a missing folder is no
    error; a scheme pyarrow cannot open is a logged warning, not an exception."""
    monkeypatch.chdir(tmp_path)
    for name, location in [
        ("relative", "relative"),
        ("absolute", str(tmp_path / "absolute")),
        ("uri", (tmp_path / "uri").as_uri()),
    ]:
        (tmp_path / name / "leads").mkdir(parents=True)
        pq.write_table(pa.table({"x": [1]}), str(tmp_path / name / "leads" / "part-0.parquet"))
        batch.remove_run_parts(location)
        assert not (tmp_path / name).exists()
    batch.remove_run_parts(str(tmp_path / "never-written"))
    with caplog.at_level("WARNING", logger="serving.scoring.batch"):
        batch.remove_run_parts("nosuchscheme://bucket/runs/r1")
    assert (
        "could not remove the run's Parquet parts at nosuchscheme://bucket/runs/r1" in caplog.text
    )
