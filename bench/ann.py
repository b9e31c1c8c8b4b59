"""ANN retrieval (ml.ann) against exact search on a large catalogue of synthetic item vectors.

    python -m bench.ann [--items 200000] [--dim 32] [--users 20000] [--serve]

Item vectors are drawn the way trained factors look (clusters of items, users near a cluster,
log-normal item norms as popularity gives), in the trained dimension (two-tower's 32 by default; ALS
tunes 16 to 128); every user has seen 20 items, excluded from their recommendations. Prints:
- index build time and size;
- recall@10 of ANN top-10 against exact top-10 (seen items excluded), over 1,000 users;
- single-user queries/s through ``ml.ann.recommend`` and through the model's exact ``recommend``,
  and their ratio (target >= 10x), median of 3 rounds;
- the same two timings at smaller catalogues: where ANN starts to pay (RECSYS_ANN_MIN_ITEMS);
- with --serve: the service on that catalogue under load (bench.serve_load, wrk when installed),
  through the index and with exact search.
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from bench import serve_load
from ml.recommenders import ALSRecommender, PopularityRecommender
from ml.serving import ann
from ml.serving.index import ServingIndex
from ml.serving.publish import publish

SEEN_PER_USER = 20


def synthetic_model(n_items: int, n_users: int, dim: int, seed: int = 0) -> tuple[ALSRecommender, sp.csr_matrix]:
    """An embedding model with clustered item vectors, and every user's seen items (their cluster's)."""
    rng = np.random.default_rng(seed)
    n_clusters = max(10, n_items // 2000)
    centres = rng.normal(size=(n_clusters, dim))
    item_cluster = rng.integers(0, n_clusters, n_items)
    items = (centres[item_cluster] + 0.6 * rng.normal(size=(n_items, dim))) * rng.lognormal(0, 0.3, (n_items, 1))
    user_cluster = rng.integers(0, n_clusters, n_users)
    users = centres[user_cluster] + 0.8 * rng.normal(size=(n_users, dim))
    model = ALSRecommender(factors=dim)
    model.n_users, model.n_items = n_users, n_items
    model.user_factors = (users / np.sqrt(dim)).astype(np.float32)
    model.item_factors = (items / np.sqrt(dim)).astype(np.float32)
    cols = rng.integers(0, n_items, (n_users, SEEN_PER_USER))
    rows = np.repeat(np.arange(n_users), SEEN_PER_USER)
    seen = sp.csr_matrix((np.ones(cols.size, np.float32), (rows, cols.ravel())), shape=(n_users, n_items))
    seen.sum_duplicates()
    return model, seen


def per_query_s(fn, users: np.ndarray, rounds: int = 3) -> float:
    """Median over rounds of the mean time of one single-user call."""
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for u in users:
            fn(u)
        times.append((time.perf_counter() - t0) / len(users))
    return statistics.median(times)


def compare(model, seen, index, n_queries: int) -> tuple[float, float]:
    users = np.arange(min(n_queries, model.n_users))
    exact = per_query_s(lambda u: model.recommend([u], 10, exclude=seen), users)
    approx = per_query_s(lambda u: ann.recommend(model, index, [u], 10, exclude=seen), users)
    return exact, approx


def publish_catalogue(model: ALSRecommender, seen: sp.csr_matrix, data_dir: Path) -> None:
    """The model and a popularity fallback as the service loads them (ids 1..n, plain item attributes)."""
    n_users, n_items = seen.shape
    items = pd.DataFrame(
        {
            "item_id": np.arange(1, n_items + 1),
            "category": [f"c{i % 50}" for i in range(n_items)],
            "brand": None,
            "price": 10.0,
            "released_at": pd.Timestamp("2024-01-01"),
        }
    )
    serving = ServingIndex(user_ids=np.arange(1, n_users + 1), item_ids=np.arange(1, n_items + 1), seen=seen, items=items)
    for name, m in (("als", model), ("popularity", PopularityRecommender().fit(seen))):
        directory = publish(data_dir / "models", name, "bench", m)
        serving.save(directory)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    serve_load.arguments(parser)
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--dim", type=int, default=32)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--serve", action="store_true", help="also load-test the service on this catalogue")
    args = parser.parse_args()

    model, seen = synthetic_model(args.items, args.users, args.dim)
    t0 = time.perf_counter()
    index = ann.build_for(model)
    build_s = time.perf_counter() - t0
    print(
        f"{args.items:,} items x {args.dim} dims: HNSW build {build_s:.1f} s, index {index.size_bytes / 2**20:.1f} MiB "
        f"(the vectors alone {model.item_factors.nbytes / 2**20:.1f} MiB)"
    )
    users = np.arange(args.queries)
    exact_items, _ = model.recommend(users, 10, exclude=seen)
    ann_items, _ = ann.recommend(model, index, users, 10, exclude=seen)
    recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(ann_items, exact_items, strict=True)])
    print(f"recall@10 against exact (seen items excluded), {args.queries:,} users: {recall:.3f} [target >= 0.95]")
    exact_s, ann_s = compare(model, seen, index, args.queries)
    print(f"single-user top-10: exact {1 / exact_s:,.0f} q/s, ANN {1 / ann_s:,.0f} q/s: {exact_s / ann_s:.1f}x [target >= 10x]")

    print("where ANN starts to pay (single-user top-10, median of 3 rounds of 300 queries):")
    for n in (2_000, 5_000, 10_000, 20_000, 50_000):
        small, small_seen = synthetic_model(n, 2_000, args.dim, seed=1)
        e, a = compare(small, small_seen, ann.build_for(small), 300)
        print(f"  {n:>7,} items: exact {e * 1e3:.3f} ms, ANN {a * 1e3:.3f} ms ({e / a:.1f}x)")

    if args.serve:
        data_dir = Path(tempfile.mkdtemp(prefix="bench_ann_")) / "data"
        publish_catalogue(model, seen, data_dir)
        print(f"the service on {args.items:,} items, ALS through its ANN index:")
        serve_load.load_test(data_dir, args, {"RECSYS_ANN_MIN_ITEMS": "0"})
        print("the same, exact search (the baseline):")
        serve_load.load_test(data_dir, args, {"RECSYS_ANN_MIN_ITEMS": str(args.items + 1)})


if __name__ == "__main__":
    main()
