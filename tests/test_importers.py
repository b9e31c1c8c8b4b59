"""Public datasets in their published layouts: the MovieLens 100k importer on a small file set written
here, and the whole graph on what it imports (no impressions, prices, brands or signup dates)."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from dagster_defs.pipeline import parse_vars
from ml import catalog, importers, warehouse
from tests.movielens_fixture import GENRES, write_ml100k


def test_movielens_100k_becomes_the_raw_contract(tmp_path):
    frames = importers.movielens_100k(write_ml100k(tmp_path / "ml-100k", n_users=20, n_items=12, per_user=6))
    events, items, users = frames["events"], frames["items"], frames["users"]
    ratings = pd.read_csv(tmp_path / "ml-100k" / "u.data", sep="\t", names=["u", "i", "r", "t"])
    assert len(events) == len(ratings) and events["event_id"].is_unique
    assert events["event_at"].is_monotonic_increasing and events["event_at"].min().year == 1997
    # ratings map to event types by the documented rule: 5 purchase, 4 add_to_cart, 3 click, 1-2 view
    by_rating = ratings.sort_values(["t", "u", "i"], kind="stable")["r"].map(importers.DEFAULT_RATING_EVENTS)
    assert events["event_type"].tolist() == by_rating.tolist()
    assert set(items["category"]) <= set(GENRES) and items["brand"].isna().all() and items["price"].isna().all()
    undated = items.set_index("item_id").loc[6, "released_at"]  # the fixture's movie without a release date
    assert undated == events.loc[events["item_id"] == 6, "event_at"].min()
    assert users.loc[users["user_id"] == 1, "age_band"].item() == "18-24" and users["signup_at"].isna().all()
    custom = importers.movielens_100k(tmp_path / "ml-100k", rating_events={5: "purchase", 4: "click"})
    assert set(custom["events"]["event_type"].dropna()) == {"purchase", "click"}  # the rest: quarantined
    with pytest.raises(ValueError, match="not event types"):
        importers.movielens_100k(tmp_path / "ml-100k", rating_events={5: "like"})
    with pytest.raises(FileNotFoundError, match=r"lacks u\.data"):
        importers.movielens_100k(tmp_path)


def test_pipeline_vars_are_validated():
    assert parse_vars("{test_days: 14}") == '{"test_days": 14}'
    assert parse_vars("") == ""
    with pytest.raises(SystemExit, match="must be a mapping"):
        parse_vars("[1, 2]")


def test_whole_graph_on_imported_movielens_skips_what_needs_impressions(tmp_path):
    raw = tmp_path / "raw"
    recsys_import = Path(sys.executable).parent / "recsys-import"  # the installed command, venv not activated
    subprocess.run(
        [recsys_import, "movielens-100k", str(write_ml100k(tmp_path / "ml-100k")), "--out", str(raw)],
        check=True,
        capture_output=True,
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "RECSYS_RAW_DIR": str(raw),
        "RECSYS_DATA_DIR": str(tmp_path / "data"),
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "dagster_defs.pipeline", "--vars", "{test_days: 14}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    board = warehouse.query_df("select * from marts.leaderboard", tmp_path / "data" / "warehouse.duckdb").set_index("model")
    assert set(board.index) == {*catalog.RECOMMENDER_NAMES, "two_stage"}  # no CTR models, no oracle
    assert board["n_users"].min() > 40
    assert (board.drop("popularity")["ndcg_at_10"] > board.loc["popularity", "ndcg_at_10"]).sum() >= 3
    for name in ("models/dcn", "models/ctr_mlp", "models/lgbm_ctr", "evaluation/oracle"):
        line = next(line for line in proc.stdout.splitlines() if f"] {name} " in line)
        assert "skipped: " in line, line
    assert "marts.ctr_examples is empty" in proc.stdout and "quarantined rows: none" in proc.stdout
