"""Does the chosen setting hold on the test window? The one-look rule against the cross-fitted one.

    python -m bench.selection [--warehouse data/warehouse.duckdb] [--movielens] [--seeds 5]

For ALS, item-item and EASE, ``--seeds`` tuning runs (the seed draws the sampler, the tuning sample
and the cross-fitting draws), each with the asset's trial budget. From the same trials:
- **one look** (the rule before): the best trial on all validation users, adopted when significantly
  better than the defaults on those same users;
- **cross-fitted** (``ml.evaluation.selection``, the rule now): the best trial, adopted when the gain
  of choosing it, measured on users it was not chosen on (two folds, five draws), is significant.
Each adopted setting (and the defaults) is refit on the whole train window and evaluated once on the
test window; printed: the mean and spread over seeds of its test NDCG@10, how often it was adopted,
and its gain over the defaults on test. Both rules choose among the same trials.
Also the EASE regularisation path against one solve per ``l2`` (the same grid), seconds.
``--movielens`` builds MovieLens 100k (``bench.public_dataset``, split leave_last_k) first.
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

import pandas as pd

from bench.tuning import test_ndcg
from ml import settings, tuning
from ml.evaluation import selection
from ml.recommenders.ease import EASERecommender, RegularisationPath
from ml.warehouse.declarations import feature_sets
from ml.warehouse.marts import load_interactions

MODELS = ("als", "item_item", "ease")


def rules_over_seeds(data, name: str, seeds: int) -> pd.DataFrame:
    cache: dict[str, float] = {}

    def on_test(params: dict) -> float:
        key = json.dumps(params, sort_keys=True, default=str)
        if key not in cache:
            cache[key] = test_ndcg(name, params, data)[0]
        return cache[key]

    default = on_test(tuning.default_params(name))
    rows = []
    for seed in range(seeds):
        result = tuning.tune_recommender(name, data, feature_sets(), tuning.DEFAULT_TRIALS[name], seed=seed)
        for rule, chosen in (("one look", selection.one_look(result.scores)), ("cross-fitted", result.selection)):
            test = on_test(result.params_of(chosen.chosen))
            rows.append({"model": name, "seed": seed, "rule": rule, "adopted": chosen.confirmed, "test": test})
    frame = pd.DataFrame(rows)
    frame["gain_vs_default"] = frame["test"] - default
    return frame


def summary(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.groupby(["model", "rule"], sort=False).agg(
        adopted=("adopted", "sum"),
        test_mean=("test", "mean"),
        test_std=("test", "std"),
        test_min=("test", "min"),
        test_max=("test", "max"),
        gain_mean=("gain_vs_default", "mean"),
        gain_min=("gain_vs_default", "min"),
    )


def ease_path_seconds(data) -> tuple[float, float]:
    """Seconds for the whole EASE grid on the tuning view: the path vs one solve per l2."""
    train = data.tuning(tuning.MAX_USERS, tuning.MAX_ITEMS).train
    grid = tuning.GRIDS["ease"]
    t = time.perf_counter()
    for weighting in grid["weighting"]:
        path = RegularisationPath(train, weighting=weighting)
        for l2 in grid["l2"]:
            path.model(l2)
    path_s = time.perf_counter() - t
    t = time.perf_counter()
    for weighting in grid["weighting"]:
        for l2 in grid["l2"]:
            EASERecommender(l2=l2, weighting=weighting).fit(train)
    return path_s, time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warehouse", type=Path, default=settings.warehouse_path())
    parser.add_argument("--movielens", action="store_true", help="build MovieLens 100k and bench on it instead")
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    warehouse = args.warehouse
    if args.movielens:
        from bench.public_dataset import build_movielens

        warehouse = build_movielens(Path(tempfile.mkdtemp(prefix="bench_selection_")))
    data = load_interactions(warehouse)
    frame = pd.concat([rules_over_seeds(data, name, args.seeds) for name in MODELS])
    print(f"test NDCG@10 of the adopted setting over {args.seeds} tuning seeds, {warehouse}:")
    print(summary(frame).round(4).to_string())
    print("\nper seed:")
    print(frame.round(4).to_string(index=False))
    path_s, solves_s = ease_path_seconds(data)
    print(f"\nEASE grid of {len(tuning.GRIDS['ease']['l2']) * 2}: path {path_s:.2f}s, one solve per l2 {solves_s:.2f}s")


if __name__ == "__main__":
    main()
