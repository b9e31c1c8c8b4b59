"""The whole graph on a public dataset in its published layout (MovieLens 100k), and whether choosing
on the validation window transfers to the test window.

    python -m bench.public_dataset [--src path/to/ml-100k] [--skip-grid]

1. MovieLens 100k: ``--src`` (the unpacked ``ml-100k/`` folder), else the copy that ships inside the
   ``recbole`` wheel on PyPI (``pip download``; RecBole's tab-separated ``ml-100k.inter/.item/.user``
   hold the same 100,000 ratings), written back in the published layout (``u.data``, ``u.item``,
   ``u.user``). Nothing else is downloaded.
2. ``recsys-import movielens-100k`` and ``recsys-pipeline`` with a per-user split (each user's last 10
   items test, the 10 before validation); the leaderboard with 95% intervals and the paired test
   against popularity.
3. Tuned (on validation) vs hand-picked defaults per model, both refit on the train window and
   evaluated on the test window, with the tuning time.
4. Selection transfer: the validation-tuned ALS against the best ALS of a grid searched directly on the
   test window (target: >= 98% of its test NDCG@10).
"""

import argparse
import itertools
import json
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pandas as pd

from bench.common import isolated_env
from bench.tuning import test_ndcg, tuned_vs_default
from ml import settings, tuning
from ml.ingest.importers.movielens import ML100K_GENRES
from ml.warehouse import connection as warehouse
from ml.warehouse.marts import load_interactions

SPLIT_VARS = {"split_strategy": "leave_last_k", "holdout_k": 10}
RECBOLE = "recbole==1.2.1"


def movielens_from_recbole(out: Path) -> Path:
    """MovieLens 100k in its published layout, rebuilt from the copy inside the recbole wheel."""
    cache = settings.data_dir() / "cache"
    wheels = sorted(cache.glob("recbole-*.whl"))
    if not wheels:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", RECBOLE, "-d", str(cache)], check=True)
        wheels = sorted(cache.glob("recbole-*.whl"))
    with zipfile.ZipFile(wheels[-1]) as wheel:

        def table(ext: str) -> pd.DataFrame:
            with wheel.open(f"recbole/dataset_example/ml-100k/ml-100k.{ext}") as f:
                frame = pd.read_csv(f, sep="\t", dtype=str, keep_default_na=False)
            return frame.rename(columns=lambda c: c.split(":")[0])

        inter, item, user = table("inter"), table("item"), table("user")
    out.mkdir(parents=True, exist_ok=True)
    inter[["user_id", "item_id", "rating", "timestamp"]].to_csv(out / "u.data", sep="\t", header=False, index=False)
    rows = []
    for r in item.itertuples():
        genres = set(r[4].split(" "))
        flags = ["1" if g in genres else "0" for g in ML100K_GENRES]
        release = f"01-Jan-{r.release_year}" if str(r.release_year).isdigit() else ""  # as published: empty when unknown
        rows.append("|".join([r.item_id, f"{r.movie_title} ({r.release_year})", release, "", "", *flags]))
    (out / "u.item").write_text("\n".join(rows) + "\n", encoding="latin-1")
    user[["user_id", "age", "gender", "occupation", "zip_code"]].to_csv(out / "u.user", sep="|", header=False, index=False)
    return out


def build_movielens(work: Path, src: Path | None = None, split_vars: dict | None = None) -> Path:
    """Import MovieLens 100k and run the whole graph on it under ``split_vars`` (default ``SPLIT_VARS``);
    the warehouse's path."""
    split_vars = split_vars or SPLIT_VARS
    src = src or movielens_from_recbole(work / "ml-100k")
    raw, data_dir = work / "raw", work / "data"
    subprocess.run([Path(sys.executable).parent / "recsys-import", "movielens-100k", str(src), "--out", str(raw)], check=True)
    env = {**isolated_env(data_dir), "RECSYS_RAW_DIR": str(raw)}
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "dagster_defs.pipeline", "--vars", json.dumps(split_vars)],
        env=env,
        cwd=settings.ROOT,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - t0
    print(f"MovieLens 100k from {src}; split {split_vars}; whole graph: {seconds:.0f}s (exit {proc.returncode})")
    print("\n".join(line for line in proc.stdout.splitlines() if "skipped" in line or line.startswith("split")))
    return data_dir / "warehouse.duckdb"


def leaderboard(path: Path) -> pd.DataFrame:
    return warehouse.query_df(
        "select model, ndcg_at_10, ndcg_at_10_ci_low, ndcg_at_10_ci_high, ndcg_lift_vs_popularity, p_vs_popularity, "
        "recall_at_10, n_users from marts.leaderboard order by ndcg_at_10 desc nulls last",
        path,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--src", type=Path, default=None, help="an unpacked ml-100k/ folder (default: the recbole copy)")
    parser.add_argument("--skip-grid", action="store_true", help="skip the test-window ALS grid")
    args = parser.parse_args()
    wh = build_movielens(Path(tempfile.mkdtemp(prefix="bench_public_")), args.src)
    print(leaderboard(wh).round(4).to_string(index=False))

    data = load_interactions(wh)
    table = tuned_vs_default(data)
    print("\ntuned on validation vs hand-picked defaults (NDCG@10; both refit on the train window):")
    print(table.round(4).to_string(index=False))
    if args.skip_grid:
        return
    als_tuned = float(table.set_index("model").loc["als", "test_tuned"])
    grid = {"factors": [16, 32, 64, 128], "regularization": [0.01, 0.1, 1.0, 10.0], "alpha": [0.5, 1.0, 2.0, 5.0, 10.0, 20.0]}
    t = time.perf_counter()
    best, best_params = -1.0, {}
    points = list(itertools.product(*grid.values()))
    for values in points:
        params = {**tuning.default_params("als"), **dict(zip(grid, values, strict=True))}
        score, _ = test_ndcg("als", params, data)
        if score > best:
            best, best_params = score, params
    print(
        f"\nselection transfer: validation-tuned ALS test NDCG@10 {als_tuned:.4f} vs best of a {len(points)}"
        f"-point grid searched on the test window {best:.4f} ({ {k: best_params[k] for k in grid} }, "
        f"{time.perf_counter() - t:.0f}s): {als_tuned / best:.1%}  [target >= 98%]"
    )


if __name__ == "__main__":
    main()
