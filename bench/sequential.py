"""SASRec against the best non-sequential model, and the two-stage ranker against its best generator,
on a warehouse the main job built; SASRec's training time and request-time latency.

    python -m bench.sequential [--warehouse data/warehouse.duckdb]
    python -m bench.sequential --movielens leave_last_k|last_fraction

Printed: every model's NDCG@10 with its 95% interval (marts.leaderboard), then paired tests on the
same test users (the per-user values the evaluations stored in evaluation.user_results): SASRec vs
the best other model but the oracle, the two-stage ranker vs the best of its generators. Then SASRec
fit with its defaults on the same train window (seconds), and the median latency of scoring one user
from their trained sequence and of continuing it with three new items (``score_continued``, what a
request with fresh events costs), over 200 calls each. ``--movielens`` builds MovieLens 100k first
(``bench.public_dataset``) under the given split.
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ml import settings
from ml.evaluation import uncertainty
from ml.recommenders import SASRecRecommender
from ml.warehouse import connection as warehouse
from ml.warehouse.marts import load_interactions

GENERATORS = ("popularity", "item_item", "als", "ease")  # the two-stage ranker's candidate sources


def board(path: Path) -> pd.DataFrame:
    return warehouse.query_df(
        "select model, ndcg_at_10, ndcg_at_10_ci_low, ndcg_at_10_ci_high from marts.leaderboard "
        "where ndcg_at_10 is not null order by ndcg_at_10 desc",
        path,
    ).set_index("model")


def per_user(path: Path, model: str) -> pd.Series:
    """NDCG@10 per test user of ``model``'s latest evaluation run."""
    frame = warehouse.query_df(
        "select user_id, value from evaluation.user_results where model = ? and run_id = "
        "(select run_id from evaluation.user_results where model = ? order by written_at desc limit 1)",
        path,
        [model, model],
    )
    return frame.set_index("user_id")["value"]


def paired(path: Path, mine: str, theirs: str) -> str:
    c = uncertainty.paired_comparison(per_user(path, mine), per_user(path, theirs))
    return f"{mine} - {theirs}: {c.diff:+.4f} [{c.ci_low:+.4f}, {c.ci_high:+.4f}], p = {c.p_value:.2g} ({c.verdict()})"


def latency_ms(fn, calls: int = 200) -> float:
    times = []
    for _ in range(calls):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times) * 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warehouse", type=Path, default=settings.warehouse_path())
    parser.add_argument("--movielens", choices=("leave_last_k", "last_fraction"), help="build MovieLens 100k under this split")
    args = parser.parse_args()
    path = args.warehouse
    if args.movielens:
        from bench import public_dataset

        split = public_dataset.SPLIT_VARS if args.movielens == "leave_last_k" else {"split_strategy": "last_fraction"}
        path = public_dataset.build_movielens(Path(tempfile.mkdtemp(prefix="bench_sequential_")), split_vars=split)
    scores = board(path)
    print(f"NDCG@10 with 95% intervals, {path}:")
    print(scores.round(4).to_string())
    others = [m for m in scores.index if m not in ("sasrec", "oracle")]
    if "sasrec" in scores.index:
        print("\n" + paired(path, "sasrec", others[0]))
    generators = [m for m in scores.index if m in GENERATORS]
    if "two_stage" in scores.index and generators:
        print(paired(path, "two_stage", generators[0]))

    data = load_interactions(path, sequences=True)
    t = time.perf_counter()
    model = SASRecRecommender().fit(data.train, sequences=data.sequences, item_features=data.items)
    print(f"\nSASRec fit (defaults, {len(data.sequences):,} steps, {data.n_items:,} items): {time.perf_counter() - t:.1f}s")
    user = int(np.flatnonzero(np.diff(data.train.indptr))[0])
    new = [np.array([0, 1, 2])]
    print(
        f"one user, trained sequence: {latency_ms(lambda: model.score_users(np.array([user]))):.2f} ms; "
        f"continued by 3 new items: {latency_ms(lambda: model.score_continued(np.array([user]), new)):.2f} ms (median of 200)"
    )


if __name__ == "__main__":
    main()
