"""Model benchmarks for the CF models and the metrics.

    python -m bench.models [--raw-dir data/raw]

Prints:
- ALS fit through the protocol vs bare implicit on the same matrix (ratio, target <= 1.10);
- item-item neighbour build vs implicit's CosineRecommender on the same matrix (ratio, target <= 1.0)
  and its peak traced memory;
- ranking metrics for 100k users at K=10 (target <= 2 s);
on the 10M-event interaction matrix if data/raw exists (else on a synthetic 1M-event one).
"""

import argparse
import time
import tracemalloc
from pathlib import Path

import duckdb
import numpy as np
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares
from implicit.nearest_neighbours import CosineRecommender
from threadpoolctl import threadpool_limits

from ml import settings
from ml.evaluation import metrics as M
from ml.ingest import synthetic
from ml.recommenders import ALSRecommender, ItemItemRecommender

WEIGHTS = "case event_type when 'view' then 1 when 'click' then 2 when 'add_to_cart' then 3 when 'purchase' then 5 else 0 end"


def interaction_matrix(raw: Path) -> sp.csr_matrix:
    if not (raw / "events.parquet").exists():
        data = synthetic.generate(synthetic.SyntheticConfig.for_events(1_000_000))
        synthetic.write_parquet(data, raw)
    frame = duckdb.sql(f"""
        select dense_rank() over (order by user_id) - 1 as u, dense_rank() over (order by item_id) - 1 as i, w
        from (select user_id, item_id, sum({WEIGHTS}) as w from read_parquet('{raw}/events.parquet')
              group by all having w > 0)""").df()
    return sp.csr_matrix((frame.w.to_numpy(np.float32), (frame.u, frame.i)))


def best_of(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--raw-dir", type=Path, default=settings.data_dir() / "raw")
    args = parser.parse_args()
    X = interaction_matrix(args.raw_dir.resolve())
    print(f"matrix: {X.shape[0]:,} users x {X.shape[1]:,} items, {X.nnz:,} interactions")

    params = dict(factors=16, regularization=1.0, alpha=1.0, iterations=15, seed=42)

    def bare_als():
        with threadpool_limits(1, "blas"):
            m = AlternatingLeastSquares(
                factors=16, regularization=1.0, alpha=1.0, iterations=15, random_state=42, calculate_training_loss=False
            )
            m.fit(X, show_progress=False)

    t_bare, t_mine = np.inf, np.inf
    for _ in range(3):  # interleaved, best of 3
        t_bare = min(t_bare, best_of(bare_als, repeat=1))
        t_mine = min(t_mine, best_of(lambda: ALSRecommender(**params).fit(X), repeat=1))
    print(f"ALS fit: protocol {t_mine:.2f}s vs bare implicit {t_bare:.2f}s -> ratio {t_mine / t_bare:.3f}  [target <= 1.10]")

    ItemItemRecommender(k_neighbors=100).fit(X[:100])  # numba compile (cached on disk after the first run)
    t_ref, t_ii = np.inf, np.inf
    for _ in range(3):  # interleaved, best of 3: this machine's timings are noisy
        t_ref = min(t_ref, best_of(lambda: CosineRecommender(K=100).fit(X, show_progress=False), repeat=1))
        t_ii = min(t_ii, best_of(lambda: ItemItemRecommender(k_neighbors=100, shrinkage=50.0).fit(X), repeat=1))
    tracemalloc.start()
    ItemItemRecommender(k_neighbors=100, shrinkage=50.0).fit(X)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    dense_items_sq = X.shape[1] ** 2 * 4
    print(
        f"item-item top-100 neighbours: {t_ii:.2f}s vs implicit CosineRecommender {t_ref:.2f}s -> ratio "
        f"{t_ii / t_ref:.2f}  [target <= 1.0]; peak traced memory {peak / 2**20:.0f} MiB "
        f"(a dense items x items matrix would be "
        f"{dense_items_sq / 2**20:.0f} MiB)"
    )

    rng = np.random.default_rng(0)
    n_users, n_items, k = 100_000, 20_000, 10
    recs = rng.integers(0, n_items, (n_users, k))
    rel = sp.random(n_users, n_items, density=5 / n_items, random_state=rng, format="csr")

    def all_metrics():
        h = M.hits(recs, rel)
        n_rel = M.n_relevant(rel)
        for values in (
            M.precision_at_k(h, k),
            M.recall_at_k(h, n_rel, k),
            M.ndcg_at_k(h, n_rel, k),
            M.map_at_k(h, n_rel, k),
            M.mrr_at_k(h, k),
            M.hit_rate_at_k(h, k),
        ):
            values[n_rel > 0].mean()  # the mean over users with a relevant item, as the evaluation takes it
        M.catalogue_coverage(recs, n_items)
        M.novelty(recs, np.asarray((rel > 0).sum(axis=0)).ravel(), n_users)

    print(
        f"metrics (precision, recall, ndcg, map, mrr, hit rate, coverage, novelty) for 100k users at K=10: "
        f"{best_of(all_metrics):.2f}s  [target <= 2s]"
    )


if __name__ == "__main__":
    main()
