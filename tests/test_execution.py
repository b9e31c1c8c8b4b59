"""How a run's steps execute: one at a time in its process, or side by side in processes of their own
(``dagster_defs/execution.py``), and how recsys-pipeline chooses."""

import json
import re
import shutil
from datetime import datetime

import pandas as pd
import pytest

from dagster_defs import execution
from ml import threads
from tests.conftest import isolated_env, pipeline


def test_processes_are_chosen_by_the_raw_events_size_or_given(tmp_path, monkeypatch):
    """--processes auto counts the raw events the run loads (the seed's lines, Parquet footers) and
    runs steps side by side from the threshold on; a number is taken as given, anything else refused."""
    monkeypatch.setattr(threads, "lanes", lambda: 2)
    monkeypatch.delenv("RECSYS_RAW_DIR", raising=False)
    seed = len(pd.read_csv(execution.settings.DBT_PROJECT_DIR / "seeds" / "raw_events.csv", dtype=str))
    assert execution.raw_event_rows(None, "parquet") == seed  # no raw directory: the committed seed, as CSV
    for day, n in (("2026-01-01", 3), ("2026-01-02", 4)):
        (tmp_path / "events" / f"day={day}").mkdir(parents=True)
        pd.DataFrame({"user_id": ["u"] * n}).to_parquet(tmp_path / "events" / f"day={day}" / "part.parquet")
    assert execution.raw_event_rows(str(tmp_path), "parquet") == 7
    assert execution.raw_event_rows(str(tmp_path / "missing"), "parquet") is None
    monkeypatch.setattr(execution, "SIDE_BY_SIDE_FROM_EVENTS", 7)
    assert execution.processes_for("auto", json.dumps({"raw_data_dir": str(tmp_path)})) == 2
    monkeypatch.setattr(execution, "SIDE_BY_SIDE_FROM_EVENTS", 8)
    assert execution.processes_for("auto", json.dumps({"raw_data_dir": str(tmp_path)})) == 1
    assert execution.processes_for("auto", "") == (2 if seed >= 8 else 1)
    assert execution.processes_for("3", "") == 3
    for bad in ("0", "two", "-1"):
        with pytest.raises(SystemExit, match="--processes must be auto or a whole number of at least 1"):
            execution.processes_for(bad, "")


def test_the_steps_that_hold_the_ctr_examples_run_one_at_a_time_beside_the_others(tmp_path, sample_warehouse):
    """Side by side, the click models (each holds marts.ctr_examples in memory) never overlap each
    other, while another step runs beside them."""
    env = isolated_env(tmp_path)
    (tmp_path / "data").mkdir()
    shutil.copy(sample_warehouse, tmp_path / "data" / "warehouse.duckdb")  # the marts, as dbt built them
    click = ("models__ctr_mlp", "models__dcn", "models__lgbm_ctr")
    select = " or ".join(f'key:"{s.replace("__", "/")}"' for s in (*click, "tuning__ease", "tuning__item_item"))
    proc = pipeline(env, "--processes", "2", "--select", select)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    spans: dict[str, list[datetime]] = {}
    for line in next((tmp_path / "data" / "logs").glob("pipeline-*.log")).read_text().splitlines():
        if m := re.match(r"^(\d\d:\d\d:\d\d) \d+ (\S+) (Launching subprocess|Finished execution of step)", line):
            spans.setdefault(m[2], []).append(datetime.strptime(m[1], "%H:%M:%S"))
    ordered = sorted(click, key=lambda s: spans[s][0])
    for before, after in zip(ordered, ordered[1:], strict=False):
        assert spans[before][1] <= spans[after][0], spans  # launched once the one before had finished
    beside = [s for s in ("tuning__ease", "tuning__item_item") if spans[s][0] < spans[ordered[-1]][1]]
    assert beside, spans  # the other lane was not left idle
