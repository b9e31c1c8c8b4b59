"""The main job on the committed sample, timed end to end, and the leaderboard it produces.

    python -m bench.pipeline [--runs 3]

Each run materializes the main job into a fresh data directory (seeds -> dbt -> models ->
evaluations -> leaderboard); the median of the runs is the figure (the machine is shared and noisy).
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import isolated_env
from ml import settings
from ml.warehouse import connection as warehouse


def timed_run(root: Path) -> tuple[float, Path]:
    data = Path(tempfile.mkdtemp(prefix="bench_pipeline_")) / "data"
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "dagster_defs.pipeline"],
        env=isolated_env(data),
        cwd=root,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - t0, data / "warehouse.duckdb"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    times = []
    for i in range(args.runs):
        secs, wh = timed_run(settings.ROOT)
        times.append(secs)
        print(f"run {i + 1}: {secs:.1f}s", flush=True)
    print(f"main job on the sample: median {statistics.median(times):.1f}s of {[round(t, 1) for t in times]}  [target <= 90 s]")
    board = warehouse.query_df(
        "select model, ndcg_at_10, recall_at_10, ndcg_share_of_oracle, cold_users_ndcg_at_10, new_items_ndcg_at_10, "
        "ctr_auc, ctr_auc_share_of_oracle from marts.leaderboard order by ndcg_at_10 desc nulls last",
        wh,
    )
    print(board.round(4).to_string(index=False))


if __name__ == "__main__":
    main()
