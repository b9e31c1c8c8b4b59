"""Neural model benchmarks.

    python -m bench.neural                # sample figures + one epoch on the 10M-event dataset
    python -m bench.neural --skip-large

Sample (the pipeline's warehouse, built if missing): two-tower and DCN training time with the
default config (target <= 60 s each), two-tower NDCG@10 for the three negative strategies next to
popularity, DCN vs MLP vs oracle test AUC. Large: one training epoch of each model on the
10M-event dataset (data/raw, built through dbt into data/bench_large.duckdb if missing):
examples/s and peak memory (each model in its own process).
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from dagster_defs.dbt_cli import dbt_command
from ml import settings
from ml.ctr.deep import CTRModel
from ml.ctr.features import split_examples
from ml.evaluation.metrics import ctr_report
from ml.evaluation.protocol import evaluate
from ml.ingest.synthetic import GroundTruth
from ml.recommenders import PopularityRecommender, TwoTowerRecommender
from ml.warehouse import connection as warehouse
from ml.warehouse.declarations import feature_sets
from ml.warehouse.marts import load_interactions

ONE_EPOCH = """
import json, resource, sys, time
from ml.warehouse import connection as warehouse
from ml.warehouse.marts import load_interactions
from ml.recommenders import TwoTowerRecommender
from ml.ctr.deep import CTRModel
from ml.ctr.features import split_examples
from ml.warehouse.declarations import feature_sets
kind, path = sys.argv[1], sys.argv[2]
if kind == "two_tower":
    data = load_interactions(path)
    t0 = time.perf_counter()
    TwoTowerRecommender(epochs=1).fit(data.train, user_features=data.users, item_features=data.items, features=feature_sets())
    n = data.train.nnz
else:
    ex = warehouse.query_df("select * from marts.ctr_examples", path)
    train, val, _ = split_examples(ex)
    del ex
    t0 = time.perf_counter()
    CTRModel("dcn", epochs=1).fit(train, val, feature_sets()["ctr_examples"].for_model("dcn"))
    n = len(train)
secs = time.perf_counter() - t0
print(json.dumps({"examples": n, "seconds": secs, "peak_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}))
"""


def ndcg10(frame: pd.DataFrame, slice_: str = "all") -> float:
    return float(frame[(frame.metric == "ndcg") & (frame.k == 10) & (frame.slice == slice_)].value.iloc[0])


def sample_figures(path: Path) -> None:
    data = load_interactions(path)
    pop = PopularityRecommender().fit(data.train)
    base = evaluate(pop, data, fallback=pop)
    rows = [("popularity", 0.0, ndcg10(base), ndcg10(base, "cold_users"))]
    for strategy in ("random", "hard", "mixed"):
        t0 = time.perf_counter()
        model = TwoTowerRecommender(negatives=strategy).fit(
            data.train, user_features=data.users, item_features=data.items, features=feature_sets()
        )
        secs = time.perf_counter() - t0
        res = evaluate(model, data, fallback=pop)
        rows.append((f"two_tower[{strategy}]", secs, ndcg10(res), ndcg10(res, "cold_users")))
    print("two-tower negatives (sample, default config otherwise):")
    print(
        pd.DataFrame(rows, columns=["model", "train_s", "ndcg@10", "cold_users_ndcg@10"]).to_string(
            index=False, float_format=lambda v: f"{v:.4f}"
        )
    )

    examples = warehouse.query_df("select * from marts.ctr_examples order by event_id", path)
    train, val, test = split_examples(examples)
    y = test["clicked"].to_numpy()
    out = []
    for arch in ("dcn", "mlp"):
        t0 = time.perf_counter()
        model = CTRModel(arch).fit(train, val, feature_sets()["ctr_examples"].for_model("dcn"))
        secs = time.perf_counter() - t0
        rep = ctr_report(y, model.predict_proba(test))
        out.append((arch, secs, model.best_epoch, rep["auc"], rep["log_loss"], rep["calibration_error"]))
    gt_path = settings.ROOT / "data" / "sample" / "ground_truth.npz"
    gt = GroundTruth.load(gt_path)
    truth = pd.Series(gt.click_probability, index=gt.impression_event_ids).reindex(test["event_id"]).to_numpy()
    oracle = ctr_report(y, truth)
    out.append(("oracle", 0.0, 0, oracle["auc"], oracle["log_loss"], oracle["calibration_error"]))
    frame = pd.DataFrame(out, columns=["model", "train_s", "best_epoch", "test_auc", "log_loss", "calibration_error"])
    frame["auc_share_of_oracle"] = frame["test_auc"] / oracle["auc"]
    print("CTR (sample test window) [targets: train <= 60 s; DCN AUC >= MLP and >= 0.97 x oracle]:")
    print(frame.to_string(index=False, float_format=lambda v: f"{v:.4f}"))


def large_figures(raw: Path) -> None:
    large = settings.data_dir() / "bench_large.duckdb"
    if not large.exists():
        env = {**os.environ, "RECSYS_DUCKDB_PATH": str(large), "RECSYS_RAW_DIR": str(raw)}
        target = settings.data_dir() / "bench_large_target"  # keep the project's own manifest untouched
        subprocess.run(dbt_command("run", "--quiet", target_path=target), env=env, check=True)
    for kind in ("two_tower", "dcn"):
        proc = subprocess.run([sys.executable, "-c", ONE_EPOCH, kind, str(large)], capture_output=True, text=True, check=True)
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        print(
            f"{kind} one epoch on the 10M-event dataset: {r['examples']:,} examples in {r['seconds']:.1f}s "
            f"-> {r['examples'] / r['seconds']:,.0f} examples/s, peak RSS {r['peak_gib']:.2f} GiB"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument("--raw-dir", type=Path, default=settings.data_dir() / "raw")
    args = parser.parse_args()
    wh = settings.warehouse_path()
    if not wh.exists():
        subprocess.run([sys.executable, "-m", "dagster_defs.pipeline", "--select", "*"], check=True)
    sample_figures(wh)
    if not args.skip_large:
        large_figures(args.raw_dir.resolve())


if __name__ == "__main__":
    main()
