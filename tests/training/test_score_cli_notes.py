"""``score`` prints the export's own attribute names verbatim: a name with brackets is text, not
rich markup (``[/EU]`` would otherwise stop the command with a MarkupError after the publish)."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.training.pipelinekit import LATE, cli_world, invoke, late_and_early

ODD_NAME = "Region [/EU] [red]"


@pytest.mark.slow
def test_a_missing_attribute_with_brackets_is_named_verbatim(tmp_path: Path) -> None:
    late = late_and_early(tmp_path)
    customers = pq.read_table(late / "customers.parquet")
    pq.write_table(
        customers.rename_columns(
            [ODD_NAME if n == "region" else n for n in customers.column_names]
        ),
        late / "customers.parquet",
    )
    env, common = cli_world(tmp_path)
    as_of = ["--as-of", LATE.isoformat()]
    code, output = invoke(
        ["train", "churn", "--data", str(late), *as_of, "--promote", *common], env
    )
    assert code == 0, output
    # The scoring export lacks the attribute the champion was trained on.
    pq.write_table(customers.drop_columns(["region"]), late / "customers.parquet")
    code, output = invoke(["score", "--data", str(late), *as_of, "--task", "churn"], env)
    assert code == 0, output
    assert f"attribute(s) {ODD_NAME} that the model was trained on are not in the export" in output
