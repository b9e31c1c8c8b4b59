"""Whole asset graph on the committed sample, from raw seeds to leaderboard, in a fresh data dir.

    python -m bench.pipeline

Prints the wall time (target <= 120 s on 2 cores) and each model's NDCG@10 as a share of the
oracle's, from marts.leaderboard.
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ml import settings, warehouse


def main():
    tmp = Path(tempfile.mkdtemp(prefix="bench_pipeline_"))
    env = {**os.environ, "RECSYS_DATA_DIR": str(tmp / "data"), "DAGSTER_HOME": str(tmp / "dagster_home")}
    env.pop("RECSYS_DUCKDB_PATH", None)
    env.pop("RECSYS_RAW_DIR", None)
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "dagster_defs.pipeline"],
        env=env,
        cwd=settings.ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    secs = time.perf_counter() - t0
    print(f"whole graph (dbt build, training, evaluation, leaderboard) on the sample: {secs:.1f}s  [target <= 120s]")
    board = warehouse.query_df(
        "select model, ndcg_at_10, recall_at_10, ndcg_share_of_oracle, cold_users_ndcg_at_10, new_items_ndcg_at_10, "
        "ctr_auc, ctr_auc_share_of_oracle "
        "from marts.leaderboard order by ndcg_at_10 desc",
        tmp / "data" / "warehouse.duckdb",
    )
    print(board.to_string(index=False, float_format=lambda v: f"{v:.4f}"))


if __name__ == "__main__":
    main()
