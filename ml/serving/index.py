"""The serving index of a published model: the id <-> index mapping it was trained with, the train
interactions (items never recommended again) and the item attributes. Saved next to the model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml import columns as C
from ml.artifacts import read_arrays, sparse_from_arrays, sparse_to_arrays, write_arrays
from ml.interactions import InteractionData

ITEM_ATTRIBUTES = ["item_id", "category", "title", "brand", "price", "released_at"]


@dataclass
class ServingIndex:
    """The id mapping (sorted ids, row i = index i), the train interactions and the item attributes."""

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
        write_arrays(
            directory / "index.npz", {"user_ids": self.user_ids, "item_ids": self.item_ids, **sparse_to_arrays("seen", self.seen)}
        )
        self.items.to_parquet(directory / "items.parquet", index=False)

    @classmethod
    def load(cls, directory: str | Path) -> ServingIndex:
        directory = Path(directory)
        arrays = read_arrays(directory / "index.npz")
        return cls(
            arrays["user_ids"],
            arrays["item_ids"],
            sparse_from_arrays("seen", arrays),
            pd.read_parquet(directory / "items.parquet"),
        )
