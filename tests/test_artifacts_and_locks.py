import subprocess
import sys
import textwrap
import time

import pytest

from ml import artifacts
from ml.warehouse import connection as warehouse
from ml.warehouse import evaluation_store


def test_publish_switches_latest_only_when_complete(tmp_path):
    def write(text):
        return lambda d: (d / "params.json").write_text(text)

    artifacts.write_version(tmp_path, "als", "v1", write("one"))
    assert (artifacts.latest(tmp_path, "als") / "params.json").read_text() == "one"

    def crash(d):
        (d / "params.json").write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        artifacts.write_version(tmp_path, "als", "v2", crash)
    assert (artifacts.latest(tmp_path, "als") / "params.json").read_text() == "one"
    assert not (tmp_path / "als" / "v2").exists()
    assert not [p for p in (tmp_path / "als").iterdir() if p.name.startswith(".tmp")]
    artifacts.write_version(tmp_path, "als", "v3", write("three"))
    assert artifacts.latest(tmp_path, "als").name == "v3"


HOLD_LOCK = textwrap.dedent("""
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1])
    con.execute("create table if not exists t (x int)")
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
    con.close()
""")


def test_writers_wait_for_the_duckdb_lock_instead_of_failing(tmp_path):
    db = tmp_path / "wh.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(db), "2.5"], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    t0 = time.monotonic()
    with warehouse.connect(db, read_only=False, wait_s=30) as con:
        con.execute("insert into t values (1)")
    assert time.monotonic() - t0 > 1.0  # it really waited for the other process
    holder.wait(timeout=30)
    with warehouse.connect(db) as con:
        assert warehouse.scalar(con, "select count(*) from t") == 1


def test_lock_wait_gives_up_with_the_error(tmp_path):
    db = tmp_path / "wh.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(db), "5"], stdout=subprocess.PIPE, text=True)
    holder.stdout.readline()
    try:
        with pytest.raises(Exception, match="(?i)lock"):
            with warehouse.connect(db, read_only=False, wait_s=0.5):
                pass
    finally:
        holder.kill()


def test_analysis_tables_gain_extra_columns_without_losing_rows(tmp_path):
    from ml.evaluation.protocol import metric_frame

    path = tmp_path / "w.duckdb"
    row = metric_frame([("all", "ndcg", 10, 0.5, 3)]).assign(model="m", model_version="v1")
    evaluation_store.append_analysis("t", row, "r1", path)  # an older table, no extras
    later = row.assign(value=0.4, delta=-0.1, dropped_group="pair")
    evaluation_store.append_analysis("t", later, "r2", path, dropped_group="varchar", delta="double")
    with warehouse.connect(path) as con:
        rows = con.execute("select run_id, value, dropped_group, delta from analysis.t order by run_id").fetchall()
    assert rows == [("r1", 0.5, None, None), ("r2", 0.4, "pair", -0.1)]
    with pytest.raises(ValueError, match="delta"):  # a declared column the rows lack: nothing written
        evaluation_store.append_analysis("t", row, "r3", path, delta="double")
    assert warehouse.query_df("select count(*) as n from analysis.t", path)["n"][0] == 2


def test_a_model_with_nan_scores_is_neither_published_nor_served(tmp_path):
    import numpy as np
    import scipy.sparse as sp

    from ml.recommenders import ALSRecommender
    from ml.serving.publish import publish
    from service.served import load_served

    X = sp.random(30, 20, density=0.3, random_state=0, format="csr", dtype=np.float32)
    good = ALSRecommender(factors=4).fit(X)
    path = publish(tmp_path, "als", "v1", good)
    good.user_factors[7] = np.nan  # as a diverged training leaves it
    with pytest.raises(ValueError, match="non-finite"):
        publish(tmp_path, "als", "v2", good)
    assert artifacts.latest(tmp_path, "als") == path and not (tmp_path / "als" / "v2").exists()
    ALSRecommender.save(good, tmp_path / "broken")  # written by hand, past publish's check
    with pytest.raises(ValueError, match="non-finite"):
        load_served("als", tmp_path / "broken")
