"""How far the CTR oracle is reachable: where its AUC comes from, and how the models close in with data.

    python -m bench.ctr_ceiling [--skip-large] [--epochs 3]

Sample (data/warehouse.duckdb + data/sample/ground_truth.npz), test block of marts.ctr_examples:
- the oracle's AUC with each term of the true affinity a(u, i) = U.V + category + quality + price
  left out (the generator's user/item vectors, ml/synthetic.py);
- a semi-oracle that knows the true item vectors and fits each user's vector (logistic regression)
  on that user's own train-block impressions.
Large (data/bench_large.duckdb + data/raw/ground_truth.npz, see python -m bench.neural): test AUC of the DCN,
the MLP and LightGBM with default configs (``--epochs`` caps the neural epochs) against the oracle.
"""

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from ml import settings
from ml.ctr.deep import CTRModel
from ml.ctr.features import split_examples
from ml.ctr.gbdt import LightGBMCTR
from ml.evaluation import metrics as M
from ml.ingest.synthetic import GroundTruth, SyntheticConfig
from ml.warehouse import connection as warehouse
from ml.warehouse.declarations import feature_sets

N_FACTORS = SyntheticConfig().n_factors


def load(warehouse_path: Path, truth_path: Path):
    examples = warehouse.query_df("select * from marts.ctr_examples order by event_id", warehouse_path)
    return split_examples(examples), GroundTruth.load(truth_path)


def affinity_terms(gt: GroundTruth, frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each term of a(u, i) for the frame's rows (vector layout of ml.synthetic.generate)."""
    u = gt.user_vectors[pd.Index(gt.user_ids).get_indexer(frame["user_id"])]
    i = gt.item_vectors[pd.Index(gt.item_ids).get_indexer(frame["item_id"])]
    width = u.shape[1]
    parts = {
        "latent U.V": slice(0, N_FACTORS),
        "category": slice(N_FACTORS, width - 2),
        "quality": slice(width - 2, width - 1),
        "price": slice(width - 1, width),
    }
    return {name: np.einsum("ij,ij->i", u[:, s], i[:, s]) for name, s in parts.items()}


def semi_oracle(gt: GroundTruth, train: pd.DataFrame, test: pd.DataFrame, c: float = 1.0) -> np.ndarray:
    item_vec = gt.item_vectors[pd.Index(gt.item_ids).get_indexer(train["item_id"])]
    test_vec = gt.item_vectors[pd.Index(gt.item_ids).get_indexer(test["item_id"])]
    clicked = train["clicked"].to_numpy()
    pred = np.full(len(test), float(clicked.mean()))
    by_user = pd.Series(np.arange(len(train))).groupby(train["user_id"].to_numpy()).apply(np.asarray)
    for user, rows in pd.Series(np.arange(len(test))).groupby(test["user_id"].to_numpy()):
        own = by_user.get(user)
        if own is None or clicked[own].min() == clicked[own].max():
            continue  # no history or one class only: the global CTR
        model = LogisticRegression(C=c, max_iter=500).fit(item_vec[own], clicked[own])
        pred[rows.to_numpy()] = model.decision_function(test_vec[rows.to_numpy()])
    return pred


def sample_figures() -> None:
    (train, val, test), gt = load(settings.warehouse_path(), settings.ROOT / "data" / "sample" / "ground_truth.npz")
    y = test["clicked"].to_numpy()
    terms = affinity_terms(gt, test)
    full = sum(terms.values())
    print(f"sample oracle AUC (true affinity): {M.roc_auc(y, full):.4f}")
    for name, values in terms.items():
        print(f"  without {name:<10}: {M.roc_auc(y, full - values):.4f}")
    history = pd.concat([train, val])
    print(
        f"semi-oracle (true item vectors, each user's vector fit on their own {len(history):,} train-block "
        f"impressions): {M.roc_auc(y, semi_oracle(gt, history, test)):.4f}"
    )


def large_figures(epochs: int) -> None:
    path = settings.data_dir() / "bench_large.duckdb"
    if not path.exists():
        print("no data/bench_large.duckdb: run python -m bench.neural first")
        return
    (train, val, test), gt = load(path, settings.data_dir() / "raw" / "ground_truth.npz")
    y = test["clicked"].to_numpy()
    truth = pd.Series(gt.click_probability, index=gt.impression_event_ids).reindex(test["event_id"]).to_numpy()
    oracle = M.roc_auc(y, truth)
    print(f"10M-event dataset: {len(train):,} train examples, oracle AUC {oracle:.4f}")
    for name, make in (
        ("dcn", lambda: CTRModel("dcn", epochs=epochs)),
        ("mlp", lambda: CTRModel("mlp", epochs=epochs)),
        ("lgbm_ctr", LightGBMCTR),
    ):
        t0 = time.perf_counter()
        auc = M.roc_auc(y, make().fit(train, val, feature_sets()["ctr_examples"].for_model(name)).predict_proba(test))
        print(f"  {name:<8} AUC {auc:.4f} = {auc / oracle:.3f} x oracle ({time.perf_counter() - t0:.0f} s)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument("--epochs", type=int, default=3, help="epoch cap for the neural models on the large data")
    args = parser.parse_args()
    sample_figures()
    if not args.skip_large:
        large_figures(args.epochs)


if __name__ == "__main__":
    main()
