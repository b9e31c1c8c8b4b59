"""Public datasets in their published layouts: the MovieLens 100k importer on a small file set written
here, and the whole graph on what it imports (no impressions, prices, brands or signup dates)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dagster_defs.run_config import merged, parse_mapping, parse_vars
from ml import models, tuning
from ml.ingest import importers
from ml.ingest.importers.common import rating_event_types
from ml.ingest.importers.movielens import movielens_100k
from ml.warehouse import connection as warehouse
from tests.movielens_fixture import GENRES, write_ml100k

# tuning's trial 0 only (the hand-picked defaults): what the whole-graph test checks does not depend on the search
DEFAULTS_ONLY = json.dumps({"ops": {f"tuning__{name}": {"config": {"n_trials": 1}} for name in tuning.TUNED}})


def test_movielens_100k_becomes_the_raw_contract(tmp_path):
    frames = movielens_100k(write_ml100k(tmp_path / "ml-100k", n_users=20, n_items=12, per_user=6)).frames
    events, items, users = frames["events"], frames["items"], frames["users"]
    ratings = pd.read_csv(tmp_path / "ml-100k" / "u.data", sep="\t", names=["u", "i", "r", "t"])
    assert len(events) == len(ratings) and events["event_id"].is_unique
    assert events["event_at"].is_monotonic_increasing and events["event_at"].min().year == 1997
    # ratings map to event types by the documented rule: 5 purchase, 4 add_to_cart, 3 click, 1-2 view
    rule = {5: "purchase", 4: "add_to_cart", 3: "click", 2: "view", 1: "view"}
    assert events["event_type"].tolist() == ratings.sort_values(["t", "u", "i"], kind="stable")["r"].map(rule).tolist()
    assert set(items["category"]) <= set(GENRES) and items["brand"].isna().all() and items["price"].isna().all()
    undated = items.set_index("item_id").loc[6, "released_at"]  # the fixture's movie without a release date
    assert undated == events.loc[events["item_id"] == 6, "event_at"].min()
    assert users.loc[users["user_id"] == 1, "age_band"].item() == "18-24" and users["signup_at"].isna().all()
    custom = movielens_100k(tmp_path / "ml-100k", rating_events={5: "purchase", 4: "click"}).frames
    assert set(custom["events"]["event_type"].dropna()) == {"purchase", "click"}  # the rest: quarantined
    with pytest.raises(ValueError, match="not event types"):
        movielens_100k(tmp_path / "ml-100k", rating_events={5: "like"})
    with pytest.raises(FileNotFoundError, match=r"lacks u\.data"):
        movielens_100k(tmp_path)


def test_rating_rule_takes_the_highest_threshold_reached():
    ratings = pd.Series([5.0, 4.5, 4.0, 3.5, 0.5, 2.0])
    assert rating_event_types(ratings, importers.DEFAULT_RATING_EVENTS).tolist() == [
        "purchase",
        "add_to_cart",
        "add_to_cart",
        "click",
        "view",
        "view",
    ]
    threshold = rating_event_types(ratings, {4: "purchase"})  # a rating threshold: the rest quarantined
    assert threshold.tolist() == ["purchase", "purchase", "purchase", None, None, None]


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding=encoding)
    return path


def check_contract(frames: dict[str, pd.DataFrame]) -> None:
    """What staging requires: integer ids, every event's user and item present, times sorted."""
    events, users, items = frames["events"], frames["users"], frames["items"]
    assert events["event_id"].is_unique and events["event_at"].is_monotonic_increasing
    assert set(events["user_id"]) <= set(users["user_id"]) and set(events["item_id"]) <= set(items["item_id"])
    for frame, key in ((users, "user_id"), (items, "item_id")):
        assert pd.api.types.is_integer_dtype(frame[key]) and frame[key].is_unique
    assert {"category", "brand", "price", "released_at"} <= set(items.columns)
    assert {"signup_at", "country", "segment", "age_band"} <= set(users.columns)


def test_movielens_dat_layouts_1m_with_users_and_10m_with_half_stars(tmp_path):
    one_m = tmp_path / "ml-1m"
    write(one_m / "ratings.dat", "1::10::5::978300760\n1::20::3::978302109\n2::10::4::978301968\n")
    write(one_m / "movies.dat", "10::Heat (1995)::Action|Crime|Thriller\n20::Amélie (2001)::Comedy|Romance\n", "latin-1")
    write(one_m / "users.dat", "1::F::1::10::48067\n2::M::56::16::70072\n")
    frames = importers.IMPORTERS["movielens-1m"](one_m).frames
    check_contract(frames)
    items = frames["items"].set_index("item_id")
    assert items.loc[10, "category"] == "Action" and items.loc[20, "title"] == "Amélie (2001)"
    assert items.loc[20, "released_at"] == pd.Timestamp("2001-01-01")
    assert frames["users"].set_index("user_id")["age_band"].to_dict() == {1: "<18", 2: "55+"}
    assert frames["events"]["event_type"].tolist() == ["purchase", "add_to_cart", "click"]  # sorted by time
    ten_m = tmp_path / "ml-10M100K"
    write(ten_m / "ratings.dat", "7::10::4.5::1100000000\n8::10::0.5::1100000001\n")
    write(ten_m / "movies.dat", "10::Heat (1995)::Action|Crime\n")
    frames = importers.IMPORTERS["movielens-10m"](ten_m).frames  # no users.dat: users from the ratings
    check_contract(frames)
    assert frames["users"]["user_id"].tolist() == [7, 8] and frames["users"]["segment"].isna().all()
    assert frames["events"]["event_type"].tolist() == ["add_to_cart", "view"]


def test_movielens_csv_layout(tmp_path):
    src = tmp_path / "ml-latest-small"
    write(src / "ratings.csv", "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,3,5.0,964981247\n2,1,2.5,964982224\n")
    write(
        src / "movies.csv",
        'movieId,title,genres\n1,Toy Story (1995),Adventure|Animation\n3,"City, The (1990)",(no genres listed)\n',
    )
    frames = importers.IMPORTERS["movielens-25m"](src).frames
    check_contract(frames)
    assert frames["items"].set_index("item_id")["category"].to_dict() == {1: "Adventure", 3: "unknown"}
    assert frames["events"]["event_type"].tolist() == ["purchase", "view", "add_to_cart"]


def test_retailrocket_layout(tmp_path):
    src = tmp_path / "retailrocket"
    write(
        src / "events.csv",
        "timestamp,visitorid,event,itemid,transactionid\n"
        "1433221332117,257597,view,355908,\n1433224214164,992329,view,248676,\n"
        "1433221955914,257597,addtocart,355908,\n1433222000000,257597,transaction,355908,4000\n",
    )
    write(
        src / "item_properties_part1.csv",
        "timestamp,itemid,property,value\n1435460400000,355908,categoryid,1338\n1431226800000,355908,categoryid,1200\n"
        "1433000000000,355908,790,n277200.000\n1433000000000,111,available,1\n",
    )
    frames = importers.IMPORTERS["retailrocket"](src).frames
    check_contract(frames)
    items = frames["items"].set_index("item_id")
    assert items.loc[355908, "category"] == "category_1338"  # the latest categoryid
    assert items.loc[355908, "price"] == 277200.0 and np.isnan(items.loc[248676, "price"])
    assert items.loc[111, "category"] == "unknown"  # properties but no category: still an item
    assert frames["events"]["event_type"].tolist() == ["view", "add_to_cart", "purchase", "view"]


def test_amazon_reviews_2018_and_2023_layouts(tmp_path):
    src = tmp_path / "amazon"
    write(
        src / "Books.json",
        '{"reviewerID": "A2", "asin": "B01", "overall": 5.0, "unixReviewTime": 1400000000}\n'
        '{"reviewerID": "A1", "asin": "B02", "overall": 2.0, "unixReviewTime": 1400000100}\n',
    )
    write(
        src / "meta_Books.json",
        '{"asin": "B01", "title": "A book", "category": ["Books", "Fiction"], "brand": "Pub", "price": "$12.99"}\n'
        '{"asin": "B02", "title": "Another", "category": [], "price": ""}\n',
    )
    frames = importers.IMPORTERS["amazon-reviews"](src / "Books.json").frames  # meta found next to the reviews
    check_contract(frames)
    items = frames["items"].set_index("external_id")
    assert items.loc["B01", ["category", "brand", "price"]].tolist() == ["Books", "Pub", 12.99]
    assert items.loc["B02", "category"] == "unknown" and np.isnan(items.loc["B02", "price"])
    users = frames["users"].set_index("external_id")["user_id"]
    assert frames["events"]["user_id"].tolist() == [users["A2"], users["A1"]]
    new = tmp_path / "amazon2023"
    write(
        new / "reviews.jsonl", '{"user_id": "U1", "parent_asin": "P1", "asin": "X", "rating": 4.0, "timestamp": 1600000000000}\n'
    )
    write(
        new / "meta.jsonl",
        '{"parent_asin": "P1", "title": "Lamp", "main_category": "Home", "categories": [], "price": 20.5, "store": "S"}\n',
    )
    frames = importers.IMPORTERS["amazon-reviews"](new / "reviews.jsonl", meta=new / "meta.jsonl").frames
    check_contract(frames)
    assert frames["items"][["category", "brand", "price"]].iloc[0].tolist() == ["Home", "S", 20.5]
    assert frames["events"]["event_type"].tolist() == ["add_to_cart"]


def test_pipeline_vars_are_validated():
    assert parse_vars("{test_days: 14}") == '{"test_days": 14}'
    assert parse_vars("") == ""
    with pytest.raises(SystemExit, match="must be a mapping"):
        parse_vars("[1, 2]")


def test_pipeline_run_config_is_parsed_and_laid_over_the_defaults():
    config = parse_mapping("--config", "{ops: {tuning__als: {config: {n_trials: 3}}}}", "")
    base = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}, "resources": {"recsys": {"config": {"a": 1}}}}
    extra = {**config, "resources": {"recsys": {"config": {"b": 2}}}}
    assert merged(base, extra) == {
        "loggers": {"console": {"config": {"log_level": "CRITICAL"}}},
        "resources": {"recsys": {"config": {"a": 1, "b": 2}}},
        "ops": {"tuning__als": {"config": {"n_trials": 3}}},
    }
    with pytest.raises(SystemExit, match="--config is not valid YAML"):
        parse_mapping("--config", "{ops: [", "")


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
        "DBT_TARGET_PATH": str(tmp_path / "dbt_target"),  # its manifest (raw files) apart from the sample's
    }
    proc = subprocess.run(
        [sys.executable, "-m", "dagster_defs.pipeline", "--vars", "{test_days: 14}", "--config", DEFAULTS_ONLY],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    board = warehouse.query_df("select * from marts.leaderboard", tmp_path / "data" / "warehouse.duckdb").set_index("model")
    assert set(board.index) == {*models.RECOMMENDER_NAMES, "two_stage"}  # no CTR models, no oracle
    assert board["n_users"].min() > 40
    assert (board.drop("popularity")["ndcg_at_10"] > board.loc["popularity", "ndcg_at_10"]).sum() >= 3
    for name in ("models/dcn", "models/ctr_mlp", "models/lgbm_ctr", "evaluation/oracle"):
        line = next(line for line in proc.stdout.splitlines() if f"] {name} " in line)
        assert "skipped: " in line, line
    assert "marts.ctr_examples is empty" in proc.stdout and "quarantined rows: none" in proc.stdout
    titles = warehouse.query_df("select item_id, title from marts.item_features", tmp_path / "data" / "warehouse.duckdb")
    assert titles.set_index("item_id")["title"][3] == "Movie 3 (1992)"  # the published title reaches the marts
