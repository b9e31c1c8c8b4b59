"""Two-stage ranking benchmarks.

    python -m bench.ranking [--skip-large]

Sample (data/warehouse.duckdb, built by the pipeline if missing): LightGBM ranker training time
(target <= 30 s), two-stage NDCG@10 vs the best single generator, candidate recall@N for N in
{50, 100, 200}. Large: the same training on the 10M-event warehouse (data/bench_large.duckdb, made by
python -m bench.neural), time and peak memory in a separate process, then the test NDCG@10 of the
two-stage ranker and of ALS there.
"""

import argparse
import json
import subprocess
import sys
import time

from ml import settings
from ml.evaluation.protocol import evaluate, relevant_items
from ml.two_stage import Attributes, TwoStageScorer, candidate_recall
from ml.two_stage.features import fit_generators
from ml.two_stage.ranker import TwoStageParams, ranker_frames, train_ranker
from ml.warehouse.declarations import feature_sets
from ml.warehouse.marts import load_ranker_inputs

LARGE = """
import json, resource, sys, time
from ml.two_stage import Attributes, TwoStageScorer, candidate_recall
from ml.two_stage.ranker import TwoStageParams, ranker_frames, train_ranker
from ml.warehouse.declarations import feature_sets
from ml.warehouse.marts import load_ranker_inputs
from ml.two_stage.features import fit_generators
config = TwoStageParams()
data, windows = load_ranker_inputs(config.label_days, config.n_train_windows, sys.argv[1])
t0 = time.perf_counter()
attrs = Attributes.of(feature_sets())
train, val = ranker_frames(data, windows, config, attrs)
t1 = time.perf_counter()
ranker = train_ranker(train, val, config, attrs.features)
t2 = time.perf_counter()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
rows = len(train)
del train, val
from ml.evaluation.protocol import evaluate
generators = fit_generators(windows[2].history)
two = TwoStageScorer(generators, ranker.booster_, windows[2], data.users, data.items, attrs, config.n_candidates)
ndcg = {name: evaluate(model, data, fallback=generators["popularity"], k_values=(10,))
         for name, model in (("als", generators["als"]), ("two_stage", two))}
ndcg = {k: float(v[(v.metric == "ndcg") & (v.slice == "all")].value.iloc[0]) for k, v in ndcg.items()}
print(json.dumps({"rows": rows, "frames_s": t1 - t0, "fit_s": t2 - t1, "peak_gib": peak,
                   "ndcg": ndcg}))
"""


def ndcg(frame):
    return float(frame[(frame.metric == "ndcg") & (frame.k == 10) & (frame.slice == "all")].value.iloc[0])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-large", action="store_true")
    args = parser.parse_args()
    path = settings.warehouse_path()
    if not path.exists():
        subprocess.run([sys.executable, "-m", "dagster_defs.pipeline"], check=True)
    config = TwoStageParams()
    data, windows = load_ranker_inputs(config.label_days, config.n_train_windows, path)
    t0 = time.perf_counter()
    attrs = Attributes.of(feature_sets())
    train, val = ranker_frames(data, windows, config, attrs)
    t1 = time.perf_counter()
    ranker = train_ranker(train, val, config, attrs.features)
    t2 = time.perf_counter()
    print(
        f"sample: candidates + features {t1 - t0:.1f}s, LightGBM fit {t2 - t1:.1f}s ({len(train):,} rows, best "
        f"iteration {ranker.best_iteration_})  [target: training <= 30 s]"
    )
    generators = fit_generators(windows[2].history)
    pop = generators["popularity"]
    scores = {name: ndcg(evaluate(model, data, fallback=pop)) for name, model in generators.items()}
    two = TwoStageScorer(generators, ranker.booster_, windows[2], data.users, data.items, attrs, config.n_candidates)
    scores["two_stage"] = ndcg(evaluate(two, data, fallback=pop))
    print(
        "NDCG@10 on the test window: "
        + ", ".join(f"{k} {v:.4f}" for k, v in scores.items())
        + "  [target: two_stage >= best generator]"
    )
    rel = relevant_items(data)
    print(
        "candidate recall: "
        + ", ".join(f"@{n} {r:.3f}" for n, r in candidate_recall(generators, data.train, rel, (50, 100, 200)).items())
    )
    large = settings.data_dir() / "bench_large.duckdb"
    if not args.skip_large and large.exists():
        proc = subprocess.run([sys.executable, "-c", LARGE, str(large)], capture_output=True, text=True, check=True)
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        print(
            f"10M-event dataset: candidates + features {r['frames_s']:.1f}s, LightGBM fit {r['fit_s']:.1f}s "
            f"({r['rows']:,} rows), peak RSS {r['peak_gib']:.2f} GiB; test NDCG@10 two_stage "
            f"{r['ndcg']['two_stage']:.4f} vs als {r['ndcg']['als']:.4f}"
        )


if __name__ == "__main__":
    main()
