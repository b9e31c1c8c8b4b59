"""The same dbt project on PostgreSQL: the sample builds with the same models and tests, raw files load
with COPY, and the marts equal DuckDB's for the same input."""

import pandas as pd
import pytest

from ml import models, settings
from ml.ingest import synthetic
from ml.ingest.cli import load_raw_main
from ml.warehouse import connection as warehouse
from tests.conftest import RUN_INDEPENDENT, isolated_env, pipeline, run_dbt
from tests.engines import TINY, figures, sample_as_parquet
from tests.postgres import postgres_server


@pytest.fixture(scope="module")
def pg():
    with postgres_server() as env:
        yield env


def query_pg(env: dict, sql: str) -> pd.DataFrame:
    from adbc_driver_postgresql import dbapi

    with dbapi.connect(settings.postgres_uri(env), autocommit=True) as con, con.cursor() as cur:
        cur.execute(sql)
        return cur.fetch_arrow_table().to_pandas()


def test_the_sample_builds_on_postgres_with_the_same_models_and_tests(pg, tmp_path, sample_warehouse):
    proc = run_dbt(["build"], tmp_path / "unused.duckdb", extra_env=pg)  # seeds, models, data and unit tests
    assert "target='postgres'" in proc.stdout and "Completed successfully" in proc.stdout
    assert figures(lambda sql: query_pg(pg, sql)) == figures(lambda sql: warehouse.query_df(sql, sample_warehouse))


def test_raw_files_load_with_copy_and_build_to_the_same_marts(pg, tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    synthetic.write_csv(synthetic.generate(TINY), raw, prefix="")
    with (raw / "events.csv").open("a") as f:  # a ragged line and a bad row: quarantined on both engines
        f.write("99001,1,1,view,2026-01-20 10:00:00,extra\n99002,abc,1,view,2026-01-20 10:00:00\n")
    for key, value in pg.items():
        monkeypatch.setenv(key, value)
    load_raw_main([str(raw), "--format", "csv"])  # what the pipeline's raw step does: DuckDB reads, COPY loads
    loaded = query_pg(pg, "select count(*) as n from raw.raw_events_rejected")["n"][0]
    assert loaded == 1
    run_dbt(
        ["build", "--exclude", "resource_type:unit_test"], tmp_path / "unused.duckdb", raw_dir=raw, raw_format="csv", extra_env=pg
    )
    duck = tmp_path / "wh.duckdb"
    monkeypatch.setenv("RECSYS_DBT_TARGET", "duckdb")
    run_dbt(
        ["build", "--exclude", "resource_type:unit_test"],
        duck,
        raw_dir=raw,
        raw_format="csv",
        extra_env={"RECSYS_DBT_TARGET": "duckdb"},
    )
    on_pg, on_duckdb = figures(lambda sql: query_pg(pg, sql)), figures(lambda sql: warehouse.query_df(sql, duck))
    assert on_pg == on_duckdb
    assert ["events:malformed_line", 1.0] in on_pg["quarantine"] and ["events:missing_or_invalid_user_id", 1.0] in on_pg[
        "quarantine"
    ]


def test_the_whole_graph_runs_on_postgres_and_reproduces_the_duckdb_run(pg, tmp_path, pipeline_env):
    """One setting moves everything: the raw files' load (COPY), dbt, the Python assets' reads and writes,
    the evaluation tables and the leaderboard. This run starts from fresh directories on another engine,
    with the sample as raw Parquet files instead of seeds, and every metric of every model equals the
    DuckDB run's on the seeds bit for bit: the graph is portable and reproducible (seeded randomness,
    deterministic SQL), which is why the suite runs no second fresh DuckDB run. Should the engines ever
    differ in a last bit, compare with rtol=1e-9 here and re-run on DuckDB for the exact check."""
    query_pg(pg, "create database recsys_graph")
    raw = sample_as_parquet(tmp_path / "raw")
    env = {**isolated_env(tmp_path), **pg, "RECSYS_PG_DATABASE": "recsys_graph", "RECSYS_RAW_DIR": str(raw)}
    proc = pipeline(env, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    on_pg = query_pg(env, "select * from marts.leaderboard").set_index("model")[RUN_INDEPENDENT].sort_index()
    on_duckdb = pipeline_env[3].set_index("model")[RUN_INDEPENDENT].sort_index()
    assert len(on_pg) == len(on_duckdb) == len(models.MODELS)
    pd.testing.assert_frame_equal(on_pg, on_duckdb, check_exact=True, check_dtype=False)
