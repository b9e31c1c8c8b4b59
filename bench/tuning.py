"""Tuned (on validation) vs hand-picked defaults, per tuned model, on the test window.

    python -m bench.tuning [--warehouse data/warehouse.duckdb]

For ALS, item-item, EASE, the two-tower and the hybrid: the tuning asset's search (same budget and
seed), then both parameter sets refit on the whole train window (train + validation) and evaluated
once on the test window, with the paired difference, its 95% interval and p-value. Run it on a
warehouse the main job built (the sample by default; ``bench.public_dataset`` runs it on MovieLens).
"""

import argparse
import json
import time
from pathlib import Path

import pandas as pd

from ml import settings, tuning
from ml.evaluation import protocol as evaluation
from ml.evaluation import uncertainty
from ml.interactions import InteractionData
from ml.recommenders import RECOMMENDERS, PopularityRecommender
from ml.warehouse.declarations import feature_sets
from ml.warehouse.marts import load_interactions

MODELS = ("als", "item_item", "ease", "two_tower", "hybrid")


def test_ndcg(name: str, params: dict, data: InteractionData) -> tuple[float, pd.Series]:
    model = RECOMMENDERS[name](**params).fit(
        data.train, user_features=data.users, item_features=data.items, features=feature_sets()
    )
    frame, per_user = evaluation.evaluate_users(model, data, fallback=PopularityRecommender().fit(data.train))
    return float(frame.query("slice == 'all' and metric == 'ndcg' and k == 10")["value"].iloc[0]), per_user


def tuned_vs_default(data: InteractionData, models=MODELS) -> pd.DataFrame:
    rows = []
    for name in models:
        t = time.perf_counter()
        result = tuning.tune_recommender(name, data, feature_sets(), tuning.DEFAULT_TRIALS[name], seed=0)
        tuning_s = time.perf_counter() - t
        default_ndcg, default_users = test_ndcg(name, tuning.default_params(name), data)
        tuned_ndcg, tuned_users = test_ndcg(name, result.params, data)
        c = uncertainty.paired_comparison(tuned_users, default_users)
        rows.append(
            {
                "model": name,
                "trials": len(result.trials),
                "tuning_s": round(tuning_s, 1),
                "val_default": result.default_value,
                "val_tuned": result.value,
                "test_default": default_ndcg,
                "test_tuned": tuned_ndcg,
                "test_diff_ci95": f"{c.diff:+.4f} [{c.ci_low:+.4f}, {c.ci_high:+.4f}] p={c.p_value:.2g}",
                "chosen": json.dumps(result.tuned, default=lambda v: round(v, 3)),
            }
        )
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warehouse", type=Path, default=settings.warehouse_path())
    args = parser.parse_args()
    print(f"tuned on validation vs hand-picked defaults (NDCG@10; both refit on the train window), {args.warehouse}:")
    print(tuned_vs_default(load_interactions(args.warehouse)).round(4).to_string(index=False))


if __name__ == "__main__":
    main()
