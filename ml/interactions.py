"""The interaction data models take: train / validation / test user x item weight matrices (CSR, indexed
by the marts' dense indices) with the user and item feature frames, and helpers over them. Built from
the marts by ``ml.warehouse.marts.load_interactions``; nothing here opens a connection."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml import columns as C
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
    # the steps behind ``train`` in time order (user_idx, item_idx, split, position; marts.user_sequences):
    # loaded for sequential models only, never a test step
    sequences: pd.DataFrame | None = None

    def tuning(self, max_users: int | None = None, max_items: int | None = None, seed: int = 0) -> InteractionData:
        """Train split -> validation split, in the same shape: evaluate a candidate on it with
        ``ml.evaluation.protocol.evaluate`` (user/item features stay as of the split).

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
        steps = None
        if self.sequences is not None:  # the train split's steps of the users and items kept
            s = self.sequences
            kept = (
                (s[C.SPLIT] == C.TRAIN).to_numpy()
                & (np.diff(fit.indptr)[s[C.USER_IDX].to_numpy()] > 0)
                & np.isin(s[C.ITEM_IDX].to_numpy(), np.unique(fit.indices))
            )
            steps = s[kept]
        return InteractionData(train=fit, test=validation, users=self.users, items=self.items, sequences=steps)

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


def sampled(frame: pd.DataFrame, max_rows: int, seed: int) -> pd.DataFrame:
    """At most ``max_rows`` rows of ``frame`` (0: all), drawn at random (seeded), in their order."""
    if not max_rows or len(frame) <= max_rows:
        return frame
    return frame.iloc[np.sort(np.random.default_rng(seed).choice(len(frame), max_rows, replace=False))]


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
