"""CTR rankers on the impression-level ``ctr_examples`` mart: Deep & Cross Network v2 and an
embedding + MLP baseline. BCE with logits, AdamW, early stopping on a validation AUC where the
validation set is the latest train block (carved from the train window by time, never the test
window).
"""

from __future__ import annotations

import copy
import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from ml.artifacts import loader, read_arrays, read_params, write_arrays, write_params
from ml.evaluation import metrics as M
from ml.feature_sets import FeatureSet
from ml.hyperparams import param
from ml.neural import TabularEncoder, arrays_to_state, epoch_orders, epoch_size, mlp, seed_everything, state_to_arrays
from ml.progress import Progress

ARCHITECTURES = ("dcn", "mlp")


@dataclasses.dataclass(frozen=True)
class CTRParams:
    embedding_dim: int = param(4, "embedding size of each categorical feature")
    cross_layers: int = param(2, "DCN-v2 cross layers (ignored by the MLP baseline)")
    hidden: tuple[int, ...] = param((128, 64), "deep MLP layer sizes")
    dropout: float = param(0.1, "dropout in the deep MLP")
    epochs: int = param(20, "maximum epochs (early stopping on validation AUC)")
    warm_epochs: int = param(2, "maximum epochs when continuing from the previous version (ml.warm_start)")
    examples_per_epoch: int = param(
        500_000, "train examples per epoch at most (0: all); larger data is covered over several epochs"
    )
    batch_size: int = param(512, "examples per batch")
    learning_rate: float = param(2e-3, "AdamW learning rate")
    weight_decay: float = param(1e-4, "AdamW weight decay")
    patience: int = param(3, "epochs without a better validation AUC before stopping")
    seed: int = param(42, "seed of torch and numpy")


class CTRNet(torch.nn.Module):
    """``dcn``: DCN-v2, x_{l+1} = x0 * (W_l x_l + b_l) + x_l (full-rank cross layers) in parallel with a
    deep MLP, concatenated into the logit. ``mlp``: embeddings + numeric features -> MLP -> logit."""

    def __init__(
        self,
        architecture: str,
        cardinalities: list[int],
        n_numeric: int,
        emb_dim: int,
        cross_layers: int,
        hidden: list[int],
        dropout: float,
    ) -> None:
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


def best_epoch(history: list[dict]) -> int:
    """The epoch of the best validation AUC (0: the version a warm start began from); 0 without history."""
    return int(history[int(np.argmax([h["val_auc"] for h in history]))]["epoch"]) if history else 0


@loader(*ARCHITECTURES)
class CTRModel:
    """Click-probability model over ctr_examples rows: the declared features it is fit with (a
    ``FeatureSet`` of the mart, recorded in the artifact)."""

    Params = CTRParams

    def __init__(self, architecture: str = "dcn", **params: Any) -> None:
        if architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {architecture!r}")
        hp = dataclasses.asdict(CTRParams(**params))
        self.params: dict[str, Any] = {"architecture": architecture, **hp, "hidden": list(hp["hidden"])}
        self.history: list[dict] = []

    @property
    def name(self) -> str:
        return self.params["architecture"]

    def _net(self) -> CTRNet:
        p = self.params
        return CTRNet(
            p["architecture"],
            self.encoder.cardinalities,
            len(self.encoder.numeric),
            p["embedding_dim"],
            p["cross_layers"],
            p["hidden"],
            p["dropout"],
        )

    def fit(
        self,
        train: pd.DataFrame,
        validation: pd.DataFrame,
        features: FeatureSet,
        log: Callable[[str], None] | None = None,
        start: CTRModel | None = None,
    ) -> CTRModel:
        """Fit on ``train``, early-stopped on ``validation``'s AUC; from ``start`` (the previous version,
        same parameters and features) when given: its encoder, so that its embeddings and weights keep
        their meaning, and its weights, for at most ``warm_epochs`` (its own validation AUC is epoch 0)."""
        p = self.params
        gen = seed_everything(p["seed"])
        self.features = features
        self.history, epochs = [], p["epochs"]
        if start is None:
            self.encoder = TabularEncoder(features.numeric, features.categorical).fit(train)
            self.net, best_auc, best_state = self._net(), -1.0, None
        else:
            self.encoder, self.net, epochs = start.encoder, copy.deepcopy(start.net), p["warm_epochs"]
            best_auc = M.roc_auc(validation["clicked"].to_numpy(), self.predict_proba(validation))
            best_state = {k: v.clone() for k, v in self.net.state_dict().items()}
            self.history.append({"epoch": 0, "train_loss": None, "val_auc": best_auc, "seconds": 0.0})
        num, cat = (torch.from_numpy(a) for a in self.encoder.transform(train))
        y = torch.from_numpy(train["clicked"].to_numpy(np.float32))
        opt = torch.optim.AdamW(self.net.parameters(), lr=p["learning_rate"], weight_decay=p["weight_decay"], fused=True)
        stale = 0
        per_epoch = epoch_size(len(y), p["examples_per_epoch"])
        progress = Progress(f"{self.name} training", epochs * per_epoch, log, unit="examples")

        def shuffle(n: int) -> np.ndarray:
            return torch.randperm(n, generator=gen).numpy()

        for epoch, indices in enumerate(epoch_orders(len(y), p["examples_per_epoch"], epochs, shuffle), start=1):
            t0 = time.perf_counter()
            self.net.train()
            order = torch.from_numpy(indices)
            total = 0.0
            for lo in range(0, len(order), p["batch_size"]):
                b = order[lo : lo + p["batch_size"]]
                loss = F.binary_cross_entropy_with_logits(self.net(cat[b], num[b]), y[b])
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(b)
                progress.update(len(b))
            val_auc = M.roc_auc(validation["clicked"].to_numpy(), self.predict_proba(validation))
            seconds = time.perf_counter() - t0
            record = {"epoch": epoch, "train_loss": total / len(order), "val_auc": val_auc, "seconds": seconds}
            self.history.append(record)
            if log:
                log(f"{self.name} epoch {record['epoch']}: train loss {record['train_loss']:.4f}, validation AUC {val_auc:.4f}")
            if val_auc > best_auc:
                best_auc, stale = val_auc, 0
                best_state = {k: v.clone() for k, v in self.net.state_dict().items()}
            else:
                stale += 1
                if stale >= p["patience"]:
                    break
        self.best_epoch = best_epoch(self.history)
        progress.finish(f"; best validation AUC at epoch {self.best_epoch}")
        assert best_state is not None  # the first epoch always improves on -1
        self.net.load_state_dict(best_state)
        return self

    def predict_proba(self, frame: pd.DataFrame, batch: int = 65536) -> np.ndarray:
        num, cat = (torch.from_numpy(a) for a in self.encoder.transform(frame))
        self.net.eval()
        out = []
        with torch.no_grad():
            for lo in range(0, len(num), batch):
                out.append(torch.sigmoid(self.net(cat[lo : lo + batch], num[lo : lo + batch])).numpy())
        return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)

    def save(self, directory: str | Path) -> Path:
        directory = write_params(
            directory,
            self.name,
            self.params,
            encoder=self.encoder.to_dict(),
            history=self.history,
            features=self.features.to_dict(),
        )
        write_arrays(directory / "arrays.npz", state_to_arrays(self.net))
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> CTRModel:
        meta = read_params(directory)
        if meta["model"] not in ARCHITECTURES:
            raise ValueError(f"{directory} holds a {meta['model']} model, not a CTR network {ARCHITECTURES}")
        model = cls(**meta["params"])
        model.encoder = TabularEncoder.from_dict(meta["encoder"])
        model.features = FeatureSet.from_dict(meta["features"])
        model.history = meta["history"]
        model.best_epoch = best_epoch(model.history)
        model.net = model._net()
        arrays_to_state(model.net, read_arrays(Path(directory) / "arrays.npz"))
        return model
