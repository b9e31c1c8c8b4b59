"""Search quality on a labelled query set built from the catalogue (ml.evaluation.search_quality):
precision@10 and recall@10 of plain search, of search personalised with ALS for 20 users, and of the
same queries with a typo (a letter dropped inside the word), and the time per query.

    python -m bench.search [--warehouse data/warehouse.duckdb]   # after recsys-pipeline
"""

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

from ml import settings
from ml.evaluation.search_quality import labelled_queries, precision_recall_at_k
from ml.recommenders import ALSRecommender
from ml.serving.search import CatalogueSearch
from ml.warehouse.connection import query_df
from ml.warehouse.marts import load_interactions


def typo(query: str) -> str:
    """The query with the letter after its middle dropped ("kettle" -> "ketle")."""
    return query[: len(query) // 2] + query[len(query) // 2 + 1 :] if len(query) >= 5 else query


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warehouse", default=str(settings.warehouse_path()))
    args = parser.parse_args()
    items = query_df("select item_id, title, category, brand from marts.item_features order by item_id", args.warehouse)
    labels = labelled_queries(items)
    search = CatalogueSearch(items)
    started = time.perf_counter()
    plain = {q: search.search(q, 10).positions for q in labels}
    per_query_ms = (time.perf_counter() - started) / len(labels) * 1000
    typos = {q: search.search(typo(q), 10).positions for q in labels}
    data = load_interactions(args.warehouse)
    with threadpool_limits(1, "blas"):
        als = ALSRecommender(iterations=10).fit(data.train)
    personal = []
    for user in np.flatnonzero(np.diff(data.train.indptr) > 0)[:20]:
        scores = als.score_users(np.array([user]))[0]
        personal.append(precision_recall_at_k({q: search.search(q, 10, scores).positions for q in labels}, labels))
    print(f"{len(items):,} items, {len(labels)} labelled queries (categories and product nouns), {per_query_ms:.1f} ms per query")
    for name, (p, r) in (
        ("plain", precision_recall_at_k(plain, labels)),
        ("personalised (ALS, 20 users)", tuple(np.mean(personal, axis=0))),
        ("with a typo", precision_recall_at_k(typos, labels)),
    ):
        print(f"  {name:<30} precision@10 {p:.4f}  recall@10 {r:.4f}")


if __name__ == "__main__":
    main()
