"""CTR rankers on the impression-level ``ctr_examples`` mart: Deep & Cross Network v2 and an
embedding + MLP baseline. BCE with logits, AdamW, early stopping on a validation AUC where the
validation set is the latest train block (carved from the train window by time, never the test
window). ``RerankRecommender`` uses a CTR model to rerank another recommender's top-N.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
import torch.nn.functional as F

from ml import metrics as M
from ml.data import user_category_share
from ml.models.base import Recommender, UnsupportedOperation
from ml.models.neural import TabularEncoder, arrays_to_state, mlp, seed_everything, state_to_arrays

CTR_NUMERIC = [
    "event_hour", "is_weekend", "user_days_since_signup", "user_n_impression", "user_n_click", "user_n_purchase",
    "user_n_engaged", "user_active_days", "user_ctr_smoothed", "user_cvr_smoothed", "user_days_since_last_event",
    "user_avg_engaged_price", "price", "price_vs_category", "item_days_since_release", "item_n_impression",
    "item_n_click", "item_n_purchase", "item_n_engaged", "item_ctr_smoothed", "item_cvr_smoothed",
    "item_days_since_last_event", "user_category_share", "user_price_ratio",
]
CTR_CATEGORICAL = ["country", "segment", "age_band", "category", "brand", "user_idx", "item_idx"]
ARCHITECTURES = ("dcn", "mlp")
# feature groups for ablations (drop_features removes a group's columns)
CTR_FEATURE_GROUPS = {
    "context": ["event_hour", "is_weekend"],
    "user_history": [c for c in CTR_NUMERIC if c.startswith("user_") and c not in ("user_category_share", "user_price_ratio")],
    "item_history": [c for c in CTR_NUMERIC if c.startswith("item_")],
    "pair": ["user_category_share", "user_price_ratio"],
    "attributes": ["country", "segment", "age_band", "category", "brand", "price", "price_vs_category"],
    "ids": ["user_idx", "item_idx"],
}


class CTRNet(torch.nn.Module):
    """``dcn``: DCN-v2, x_{l+1} = x0 * (W_l x_l + b_l) + x_l (full-rank cross layers) in parallel with a
    deep MLP, concatenated into the logit. ``mlp``: embeddings + numeric features -> MLP -> logit."""

    def __init__(self, architecture: str, cardinalities: list[int], n_numeric: int, emb_dim: int,
                 cross_layers: int, hidden: list[int], dropout: float) -> None:
        super().__init__()
        self.architecture = architecture
        self.embs = torch.nn.ModuleList(torch.nn.Embedding(c, emb_dim) for c in cardinalities)
        width = emb_dim * len(cardinalities) + n_numeric
        self.deep = mlp([width, *hidden], dropout)
        if architecture == "dcn":
            self.cross = torch.nn.ModuleList(torch.nn.Linear(width, width) for _ in range(cross_layers))
            self.head = torch.nn.Linear(width + hidden[-1], 1)
        else:
            self.cross = torch.nn.ModuleList()
            self.head = torch.nn.Linear(hidden[-1], 1)

    def forward(self, cats: torch.Tensor, nums: torch.Tensor) -> torch.Tensor:
        x0 = torch.cat([emb(cats[:, j]) for j, emb in enumerate(self.embs)] + [nums], dim=1)
        deep = self.deep(x0)
        if self.architecture == "dcn":
            x = x0
            for layer in self.cross:
                x = x0 * layer(x) + x
            deep = torch.cat([x, deep], dim=1)
        return self.head(deep).squeeze(1)


class CTRModel:
    """Click-probability model over ctr_examples rows (any frame with CTR_NUMERIC + CTR_CATEGORICAL)."""

    def __init__(self, architecture: str = "dcn", embedding_dim: int = 4, cross_layers: int = 2,
                 hidden: tuple[int, ...] = (128, 64), dropout: float = 0.1, epochs: int = 20, batch_size: int = 512,
                 learning_rate: float = 2e-3, weight_decay: float = 1e-4, patience: int = 3, seed: int = 42,
                 drop_features: tuple[str, ...] = ()) -> None:
        if architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {architecture!r}")
        self.params = dict(architecture=architecture, embedding_dim=embedding_dim, cross_layers=cross_layers,
                           hidden=list(hidden), dropout=dropout, epochs=epochs, batch_size=batch_size,
                           learning_rate=learning_rate, weight_decay=weight_decay, patience=patience, seed=seed,
                           drop_features=list(drop_features))
        self.history: list[dict] = []

    @property
    def name(self) -> str:
        return self.params["architecture"]

    def _net(self) -> CTRNet:
        p = self.params
        return CTRNet(p["architecture"], self.encoder.cardinalities, len(self.encoder.numeric), p["embedding_dim"],
                      p["cross_layers"], p["hidden"], p["dropout"])

    def fit(self, train: pd.DataFrame, validation: pd.DataFrame, log: Callable[[str], None] | None = None) -> CTRModel:
        p = self.params
        gen = seed_everything(p["seed"])
        drop = set(p["drop_features"])
        self.encoder = TabularEncoder([c for c in CTR_NUMERIC if c not in drop],
                                      [c for c in CTR_CATEGORICAL if c not in drop]).fit(train)
        num, cat = (torch.from_numpy(a) for a in self.encoder.transform(train))
        y = torch.from_numpy(train["clicked"].to_numpy(np.float32))
        self.net = self._net()
        opt = torch.optim.AdamW(self.net.parameters(), lr=p["learning_rate"], weight_decay=p["weight_decay"])
        best_auc, best_state, stale = -1.0, None, 0
        self.history = []
        for epoch in range(p["epochs"]):
            t0 = time.perf_counter()
            self.net.train()
            order = torch.randperm(len(y), generator=gen)
            total = 0.0
            for lo in range(0, len(order), p["batch_size"]):
                b = order[lo:lo + p["batch_size"]]
                loss = F.binary_cross_entropy_with_logits(self.net(cat[b], num[b]), y[b])
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(b)
            val_auc = M.roc_auc(validation["clicked"].to_numpy(), self.predict_proba(validation))
            record = {"epoch": epoch + 1, "train_loss": total / len(y), "val_auc": val_auc,
                      "seconds": time.perf_counter() - t0}
            self.history.append(record)
            if log:
                log(f"{self.name} epoch {epoch + 1}: train loss {record['train_loss']:.4f}, validation AUC {val_auc:.4f}")
            if val_auc > best_auc:
                best_auc, stale = val_auc, 0
                best_state = {k: v.clone() for k, v in self.net.state_dict().items()}
            else:
                stale += 1
                if stale >= p["patience"]:
                    break
        self.net.load_state_dict(best_state)
        self.best_epoch = int(np.argmax([h["val_auc"] for h in self.history])) + 1
        return self

    def predict_proba(self, frame: pd.DataFrame, batch: int = 65536) -> np.ndarray:
        num, cat = (torch.from_numpy(a) for a in self.encoder.transform(frame))
        self.net.eval()
        out = []
        with torch.no_grad():
            for lo in range(0, len(num), batch):
                out.append(torch.sigmoid(self.net(cat[lo:lo + batch], num[lo:lo + batch])).numpy())
        return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)

    def save(self, directory: str | Path) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        meta = {"model": self.name, "params": self.params, "encoder": self.encoder.to_dict(), "history": self.history}
        (directory / "params.json").write_text(json.dumps(meta, indent=2))
        np.savez(directory / "arrays.npz", **state_to_arrays(self.net))
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> CTRModel:
        directory = Path(directory)
        meta = json.loads((directory / "params.json").read_text())
        model = cls(**meta["params"])
        model.encoder = TabularEncoder.from_dict(meta["encoder"])
        model.history = meta["history"]
        model.net = model._net()
        with np.load(directory / "arrays.npz") as f:
            arrays_to_state(model.net, {k: f[k] for k in f.files})
        return model


def split_examples(examples: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(train, validation, test): validation = the latest train block by time, test = the test window."""
    train_all = examples[examples["split"] == "train"]
    if train_all["snapshot_at"].nunique() < 2:
        raise ValueError("need at least two train blocks in ctr_examples (dbt var ctr_train_snapshots >= 2)")
    last = train_all["snapshot_at"].max()
    return (train_all[train_all["snapshot_at"] < last], train_all[train_all["snapshot_at"] == last],
            examples[examples["split"] == "test"])


def ctr_report(labels: np.ndarray, probabilities: np.ndarray) -> dict:
    """AUC, log loss and a calibration summary (expected calibration error over quantile bins)."""
    table = M.calibration_table(labels, probabilities)
    ece = float(np.mean([abs(r["predicted"] - r["observed"]) for r in table]))
    return {"auc": M.roc_auc(labels, probabilities), "log_loss": M.log_loss(labels, probabilities),
            "calibration_error": ece, "mean_predicted": float(np.mean(probabilities)),
            "observed_ctr": float(np.mean(labels)), "calibration": table}


def pair_features(users: pd.DataFrame, items: pd.DataFrame, train: sp.csr_matrix, user_idx: np.ndarray,
                  item_idx: np.ndarray, event_hour: int = 20, is_weekend: int = 0) -> pd.DataFrame:
    """CTR feature rows for arbitrary (user, item) pairs from the feature marts as of the split, shaped
    like ctr_examples (context features fixed to ``event_hour``/``is_weekend``)."""
    u = users.iloc[user_idx].reset_index(drop=True)
    it = items.iloc[item_idx].reset_index(drop=True)
    frame = pd.DataFrame({"user_idx": user_idx, "item_idx": item_idx, "event_hour": event_hour,
                          "is_weekend": is_weekend, "user_days_since_signup": u["days_since_signup"]})
    for col in ("country", "segment", "age_band"):
        frame[col] = u[col]
    for col in ("n_impression", "n_click", "n_purchase", "n_engaged", "active_days", "ctr_smoothed", "cvr_smoothed",
                "days_since_last_event", "avg_engaged_price"):
        frame[f"user_{col}"] = u[col]
    for col in ("category", "brand", "price", "price_vs_category"):
        frame[col] = it[col]
    frame["item_days_since_release"] = it["days_since_release"]
    for col in ("n_impression", "n_click", "n_purchase", "n_engaged", "ctr_smoothed", "cvr_smoothed",
                "days_since_last_event"):
        frame[f"item_{col}"] = it[col]
    # the user's share of train weight in the item's category (as in int_user_categories_snapshotted)
    frame["user_category_share"] = user_category_share(train, items["category"], user_idx, item_idx)
    frame["user_price_ratio"] = frame["user_avg_engaged_price"].fillna(frame["price"]) / frame["price"]
    return frame


class RerankRecommender(Recommender):
    """Reranks ``base``'s top-``n_candidates`` by a CTR model's click probability."""

    name = "rerank"

    def __init__(self, base: Recommender, ctr: CTRModel, users: pd.DataFrame, items: pd.DataFrame,
                 train: sp.csr_matrix, n_candidates: int = 50) -> None:
        super().__init__(n_candidates=n_candidates)
        self.base, self.ctr, self.users, self.items, self.train = base, ctr, users, items, train
        self.n_users, self.n_items = base.n_users, base.n_items
        self.name = f"{ctr.name}_rerank_{base.name}"

    def fit(self, interactions, **side):
        raise UnsupportedOperation("fit the base recommender and the CTR model separately")

    def score_users(self, user_indices: np.ndarray) -> np.ndarray:
        cand, _ = self.base.recommend(user_indices, self.params["n_candidates"], exclude=self.train)
        rows = np.repeat(np.arange(len(user_indices)), cand.shape[1])
        valid = cand.ravel() >= 0
        probs = self.ctr.predict_proba(pair_features(self.users, self.items, self.train,
                                                     np.asarray(user_indices)[rows[valid]], cand.ravel()[valid]))
        scores = np.full((len(user_indices), self.n_items), -np.inf, dtype=np.float32)
        scores[rows[valid], cand.ravel()[valid]] = probs
        return scores

    def _arrays(self):
        raise UnsupportedOperation("a rerank pipeline is not saved; save its base model and CTR model")

    def _restore(self, arrays):
        raise UnsupportedOperation("a rerank pipeline is not loaded; load its base model and CTR model")


class LightGBMCTR:
    """Gradient-boosted binary CTR model on the same ctr_examples features (categoricals as LightGBM
    categories), early stopping on the validation block's AUC."""

    name = "lgbm_ctr"

    def __init__(self, n_estimators: int = 500, learning_rate: float = 0.05, num_leaves: int = 31,
                 min_child_samples: int = 50, seed: int = 42) -> None:
        self.params = dict(n_estimators=n_estimators, learning_rate=learning_rate, num_leaves=num_leaves,
                           min_child_samples=min_child_samples, seed=seed)

    def _frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        out = frame[CTR_NUMERIC].astype(float).copy()
        for col in ("country", "segment", "age_band", "category", "brand"):
            out[col] = pd.Categorical(frame[col].astype(str), categories=self.categories[col])
        return out

    def fit(self, train: pd.DataFrame, validation: pd.DataFrame) -> LightGBMCTR:
        import lightgbm as lgb

        p = self.params
        self.categories = {c: sorted(train[c].astype(str).unique()) for c in ("country", "segment", "age_band",
                                                                              "category", "brand")}
        self.model = lgb.LGBMClassifier(n_estimators=p["n_estimators"], learning_rate=p["learning_rate"],
                                        num_leaves=p["num_leaves"], min_child_samples=p["min_child_samples"],
                                        random_state=p["seed"], n_jobs=2, deterministic=True, force_row_wise=True,
                                        verbose=-1)
        self.model.fit(self._frame(train), train["clicked"], eval_X=(self._frame(validation),), eval_y=(validation["clicked"],),
                       eval_metric="auc", callbacks=[lgb.early_stopping(30, verbose=False)])
        return self

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return self.model.predict_proba(self._frame(frame))[:, 1]

    def save(self, directory: str | Path) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.model.booster_.save_model(str(directory / "model.txt"))
        (directory / "params.json").write_text(json.dumps({"model": self.name, "params": self.params,
                                                           "categories": self.categories}, indent=2))
        return directory
