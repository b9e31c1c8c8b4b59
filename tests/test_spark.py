"""The same project on Spark: a local Spark Connect server (as a cluster would serve it) that dbt and the
Python assets share. Raw Parquet files become tables, the feature layer builds with its data tests,
models train from marts read as Arrow, evaluations are written back, and the leaderboard builds; the
marts and the metrics equal the DuckDB run's on the same files."""

import shutil
from pathlib import Path

import pandas as pd
import pytest

from ml.evaluation.protocol import metric_frame
from ml.ingest import synthetic
from ml.warehouse import connection as warehouse
from ml.warehouse import evaluation_store
from ml.warehouse import spark_server as spark
from tests.conftest import RUN_INDEPENDENT, isolated_env, pipeline, run_dbt
from tests.engines import TINY, figures, sample_as_parquet
from tests.system import debian_package

# one Spark server (a minute to start, 2 GB) for the module: its tests stay on one xdist worker
pytestmark = pytest.mark.xdist_group("spark")
# one model with its evaluation and upstream, and the leaderboard: every kind of read and write, and what
# the UI can select (the dbt tests that read models outside the subset, the quarantine reconciliation, are not run)
SELECTION = '+key:"evaluation/popularity" or key:"evaluation/results" or key:"marts/leaderboard"'
# the marts of the subset (the CTR examples and the quarantine mart are outside it)
IN_SUBSET = ("events staged", "interactions", "user_features", "item_features")


@pytest.fixture(scope="module")
def spark_remote(tmp_path_factory):
    debian_package("openjdk-17-jre-headless", lambda: bool(shutil.which("java")))
    with spark.local_server(tmp_path_factory.mktemp("spark"), memory="2g") as address:
        yield address


@pytest.fixture
def on_spark(spark_remote, monkeypatch):
    monkeypatch.setenv("RECSYS_DBT_TARGET", "spark")
    monkeypatch.setenv("SPARK_REMOTE", spark_remote)
    return {"RECSYS_DBT_TARGET": "spark", "SPARK_REMOTE": spark_remote}


def test_python_reads_and_writes_spark_tables(on_spark):
    """Arrow both ways: types and nulls survive, appends add missing columns, the latest run is found."""
    first = metric_frame([("all", "ndcg", 10, 0.25, 4)]).assign(model="m", model_version="v1")
    assert evaluation_store.append_analysis("spark_check", first, "r1") == 1
    second = first.assign(value=0.5, note="new column")
    evaluation_store.append_analysis("spark_check", second, "r2", note="varchar")
    with warehouse.connect() as con:
        assert warehouse.table_exists(con, "analysis", "spark_check") and not warehouse.table_exists(con, "nowhere", "x")
        rows = con.execute("select run_id, value, ci_low, k, evaluated_at, note from analysis.spark_check order by run_id").df()
        assert con.execute("select count(*) from analysis.spark_check where value > ?", [0.3]).fetchone() == (1,)
    assert rows["value"].tolist() == [0.25, 0.5] and rows["ci_low"].isna().all()  # NaN is written as null
    assert rows["k"].tolist() == [10, 10] and rows["note"].fillna("-").tolist() == ["-", "new column"]
    assert rows["evaluated_at"].is_monotonic_increasing and rows["evaluated_at"].dt.tz is None  # naive UTC
    evaluation_store.write_user_results("m", pd.Series([0.0, 1.0], index=[7, 8]), "r1", "v1", "w1")
    try:
        assert evaluation_store.previous_user_results("m", "w1").to_dict() == {7: 0.0, 8: 1.0}
        assert evaluation_store.previous_user_results("m", "w2") is None
    finally:  # the graph test below builds its leaderboard on this server
        with warehouse.connect() as con:
            for table in ("user_results", "results"):
                con.execute(f"drop table if exists evaluation.{table}")


def test_the_graph_runs_on_spark_from_raw_parquet_and_matches_duckdb(on_spark, tmp_path, sample_warehouse, pipeline_env):
    """A subset on a fresh Spark warehouse: the sample as Parquet files gives the marts of the seeds on
    DuckDB, and the popularity model the same metrics, bit for bit, as the main job's DuckDB run."""
    env = {**isolated_env(tmp_path), **on_spark, "RECSYS_RAW_DIR": str(sample_as_parquet(tmp_path / "raw"))}
    proc = pipeline(env, "--select", SELECTION)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "skipped" not in proc.stdout and "starting a local Spark" not in proc.stdout, proc.stdout  # the given server
    assert "marts.interactions: 17,992 rows" in proc.stdout and "marts.ctr_examples: not built" in proc.stdout
    assert figures(warehouse.query_df, IN_SUBSET) == figures(lambda sql: query_duckdb(sql, sample_warehouse), IN_SUBSET)
    assert (tmp_path / "data" / "models" / "popularity" / "latest" / "params.json").exists()
    board = warehouse.query_df("select * from marts.leaderboard").set_index("model")[RUN_INDEPENDENT]
    assert list(board.index) == ["popularity"] and board.loc["popularity", "ndcg_at_10"] > 0
    on_duckdb = pipeline_env[3].set_index("model").loc[["popularity"], RUN_INDEPENDENT]
    pd.testing.assert_frame_equal(board, on_duckdb, check_exact=True, check_dtype=False)


def query_duckdb(sql: str, path: Path) -> pd.DataFrame:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RECSYS_DBT_TARGET", "duckdb")
        return warehouse.query_df(sql, path)


def test_spark_reads_only_parquet_raw_files(on_spark, tmp_path):
    raw = tmp_path / "raw"
    synthetic.write_csv(synthetic.generate(TINY), raw, prefix="")
    proc = run_dbt(["build"], tmp_path / "unused.duckdb", raw_dir=raw, raw_format="csv", extra_env=on_spark, check=False)
    assert proc.returncode != 0 and "on Spark raw files must be Parquet" in proc.stdout
