"""Load the dbt marts into the shapes models use: CSR matrices indexed by the marts' dense indices."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml import columns as C
from ml import warehouse
from ml.errors import CannotTrain


@dataclass
class InteractionData:
    """Train and test user x item weight matrices plus the user/item feature marts (row i = index i).

    ``train`` is the whole window before the test window (train + validation splits: what final
    models are fit on); ``validation`` is the validation split, and :meth:`tuning` the view that
    selection uses (fit on the train split, score on validation), so nothing chosen reads the test."""

    train: sp.csr_matrix
    test: sp.csr_matrix
    users: pd.DataFrame
    items: pd.DataFrame
    fit: sp.csr_matrix | None = None  # the train split alone
    validation: sp.csr_matrix | None = None

    def tuning(self, max_users: int | None = None, max_items: int | None = None, seed: int = 0) -> InteractionData:
        """Train split -> validation split, in the same shape: evaluate a candidate on it with
        ``ml.evaluation.evaluate`` (user/item features stay as of the split).

        On data larger than ``max_users`` users or ``max_items`` items, selection runs on a sample of
        it, so that its cost stops growing with the data: ``max_users`` users drawn at random (seeded)
        keep their rows, and the ``max_items`` items most chosen by them in the train split keep
        their columns; the rest are emptied in both splits (the shape and the indices stay)."""
        if self.fit is None or self.validation is None or self.validation.nnz == 0:
            raise CannotTrain(
                "the validation window is empty: set the dbt vars validation_days, validation_fraction or "
                "holdout_k so that some events fall between the train and test windows"
            )
        fit, validation = self.fit, self.validation
        if max_users is not None and self.n_users > max_users:
            keep = np.zeros(self.n_users, dtype=bool)
            keep[np.random.default_rng(seed).choice(self.n_users, size=max_users, replace=False)] = True
            rows = sp.diags(keep.astype(np.float32))
            fit, validation = (sp.csr_matrix(rows @ m) for m in (fit, validation))
        if max_items is not None and self.n_items > max_items:
            keep = np.zeros(self.n_items, dtype=bool)
            keep[most_chosen(np.asarray((fit > 0).sum(axis=0)).ravel(), max_items)] = True
            cols = sp.diags(keep.astype(np.float32))
            fit, validation = (sp.csr_matrix(m @ cols) for m in (fit, validation))
        for m in (fit, validation):
            m.eliminate_zeros()
        return InteractionData(train=fit, test=validation, users=self.users, items=self.items)

    def sample_size(self) -> tuple[int, int]:
        """Users and items with any train or test rows (what :meth:`tuning`'s sample kept)."""
        both = (self.train != 0) + (self.test != 0)
        return int(np.diff(both.tocsr().indptr).astype(bool).sum()), int(np.unique(both.tocoo().col).size)

    @property
    def n_users(self) -> int:
        return self.train.shape[0]

    @property
    def n_items(self) -> int:
        return self.train.shape[1]

    def item_popularity(self) -> np.ndarray:
        """Number of train users who interacted with each item."""
        return np.asarray((self.train > 0).sum(axis=0)).ravel()


def most_chosen(counts: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest counts, ties to the lower index, in index order."""
    return np.sort(np.argsort(-counts, kind="stable")[:k])


def to_csr(frame: pd.DataFrame, n_users: int, n_items: int) -> sp.csr_matrix:
    matrix = sp.csr_matrix(
        (frame[C.WEIGHT].to_numpy(np.float32), (frame[C.USER_IDX].to_numpy(), frame[C.ITEM_IDX].to_numpy())),
        shape=(n_users, n_items),
    )
    matrix.sum_duplicates()
    matrix.sort_indices()
    return matrix


def load_interactions(path: str | Path | None = None) -> InteractionData:
    """Read marts.interactions, marts.user_features and marts.item_features from the warehouse (train =
    train + validation splits; the splits apart in ``fit`` and ``validation``)."""
    with warehouse.connect(path) as con:
        users = con.execute(f"select * from marts.{C.USER_FEATURES} order by {C.USER_IDX}").df()
        items = con.execute(f"select * from marts.{C.ITEM_FEATURES} order by {C.ITEM_IDX}").df()
        inter = con.execute(f"select {C.USER_IDX}, {C.ITEM_IDX}, {C.SPLIT}, {C.WEIGHT} from marts.{C.INTERACTIONS}").df()
    if not (users[C.USER_IDX].to_numpy() == np.arange(len(users))).all():
        raise ValueError("marts.user_features.user_idx must be dense 0..n-1; rebuild the dbt marts")
    if not (items[C.ITEM_IDX].to_numpy() == np.arange(len(items))).all():
        raise ValueError("marts.item_features.item_idx must be dense 0..n-1; rebuild the dbt marts")
    split = inter[C.SPLIT]
    fit, validation, test = (to_csr(inter[split == s], len(users), len(items)) for s in (C.TRAIN, C.VALIDATION, C.TEST))
    return InteractionData(train=fit + validation, test=test, users=users, items=items, fit=fit, validation=validation)


ITEM_ATTRIBUTES = ["item_id", "category", "title", "brand", "price", "released_at"]


@dataclass
class ServingIndex:
    """What a saved model needs to be served on its own: the id <-> index mapping it was trained with,
    the train interactions (items to exclude), and item attributes. Saved next to the model."""

    user_ids: np.ndarray
    item_ids: np.ndarray
    seen: sp.csr_matrix
    items: pd.DataFrame

    @classmethod
    def from_data(cls, data: InteractionData) -> ServingIndex:
        return cls(
            user_ids=data.users[C.USER_ID].to_numpy(np.int64),
            item_ids=data.items[C.ITEM_ID].to_numpy(np.int64),
            seen=data.train,
            items=data.items[ITEM_ATTRIBUTES].reset_index(drop=True),
        )

    def save(self, directory: str | Path) -> None:
        directory = Path(directory)
        np.savez(
            directory / "index.npz",
            user_ids=self.user_ids,
            item_ids=self.item_ids,
            seen_data=self.seen.data,
            seen_indices=self.seen.indices,
            seen_indptr=self.seen.indptr,
            seen_shape=np.asarray(self.seen.shape),
        )
        self.items.to_parquet(directory / "items.parquet", index=False)

    @classmethod
    def load(cls, directory: str | Path) -> ServingIndex:
        directory = Path(directory)
        with np.load(directory / "index.npz") as f:
            seen = sp.csr_matrix((f["seen_data"], f["seen_indices"], f["seen_indptr"]), shape=tuple(f["seen_shape"]))
            return cls(
                user_ids=f["user_ids"], item_ids=f["item_ids"], seen=seen, items=pd.read_parquet(directory / "items.parquet")
            )


def user_category_share(
    interactions: sp.csr_matrix, categories: pd.Series, user_idx: np.ndarray, item_idx: np.ndarray
) -> np.ndarray:
    """For each (user, item) pair: the user's share of interaction weight in the item's category
    (as int_user_categories_snapshotted computes it in SQL). Only the requested users' rows are read."""
    codes = pd.Categorical(categories).codes
    users, inverse = np.unique(np.asarray(user_idx), return_inverse=True)
    onehot = sp.csr_matrix((np.ones(len(codes)), (np.arange(len(codes)), codes)), shape=(len(codes), codes.max() + 1))
    per_cat = (interactions[users] @ onehot).toarray()
    share = per_cat / np.maximum(per_cat.sum(axis=1, keepdims=True), 1e-12)
    return share[inverse, codes[np.asarray(item_idx)]]


def as_text(values: pd.Series) -> pd.Series:
    """Categorical values as text, a missing value being its own category ``(missing)`` (brand, price
    and user attributes are optional in the raw contract)."""
    return values.astype(object).where(values.notna(), "(missing)").astype(str)
