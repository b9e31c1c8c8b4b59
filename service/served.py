"""One served model: the loaded artifact with its serving index, provenance and ANN index, the id <->
row lookups requests need, and the searchable catalogue (the item attributes published with a model)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ml import settings
from ml.artifacts import load_model, verify_files
from ml.models import FALLBACK
from ml.recommenders import Embedding, ItemSimilarity, Scorer
from ml.recommenders.base import check_finite_scores
from ml.serving import ann
from ml.serving.freshness import read_provenance
from ml.serving.index import ServingIndex
from ml.serving.search import CatalogueSearch

log = logging.getLogger("recsys.service")


@dataclass(frozen=True)
class ServedModel:
    name: str
    version: str
    path: str
    model: Scorer
    index: ServingIndex
    items: pd.DataFrame
    provenance: dict = field(default_factory=dict)  # ml.serving.publish.provenance: trained_at, warehouse, data window
    ann_index: ann.AnnIndex | None = None  # approximate retrieval, for an embedding model above ann_min_items

    @property
    def retrieval(self) -> str:
        return "ann" if self.ann_index is not None else "exact"

    def top_k(self, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k of the model's users at ``rows``, items seen in train excluded (exactly, also with ANN)."""
        if self.ann_index is not None:
            return ann.recommend(self.model, self.ann_index, rows, k, exclude=self.index.seen)
        return self.model.recommend(rows, k, exclude=self.index.seen)

    def user_rows(self, user_ids) -> np.ndarray:
        """Row index of each user id in the model (-1 when unknown). Ids are sorted (the marts'
        dense indices follow the id order), so a binary search does it."""
        return _positions(self.index.user_ids, user_ids)

    def item_rows(self, item_ids) -> np.ndarray:
        return _positions(self.index.item_ids, item_ids)

    @property
    def similarity(self) -> ItemSimilarity | None:
        """The model's item similarity, or None when it ranks no items by similarity."""
        return self.model if isinstance(self.model, ItemSimilarity) else None

    def similar(self, item_id: int, k: int) -> tuple[np.ndarray, np.ndarray] | None:
        """Catalogue rows of the (up to) k items most similar to ``item_id``, best first, and their
        scores; None when the model does not know the item. Only for models with ``similarity``."""
        assert self.similarity is not None, f"{self.name} ranks no items by similarity"
        pos = self.item_rows([item_id])[0]
        if pos < 0:
            return None
        items, scores = self.similarity.similar_items([pos], k)
        valid = items[0] >= 0
        return items[0][valid], scores[0][valid]


INT64 = np.iinfo(np.int64)


def _positions(sorted_ids: np.ndarray, ids) -> np.ndarray:
    """Position of each id in ``sorted_ids``, -1 when absent; an id outside int64 (the warehouse's
    BIGINT) cannot be in it and is absent."""
    fits = np.array([INT64.min <= i <= INT64.max for i in ids], dtype=bool)
    ids = np.array([i if ok else 0 for i, ok in zip(ids, fits, strict=True)], dtype=np.int64)
    pos = np.minimum(np.searchsorted(sorted_ids, ids), len(sorted_ids) - 1)
    return np.where(fits & (sorted_ids[pos] == ids), pos, -1)


@dataclass(frozen=True)
class Catalogue:
    """The searchable catalogue: the item attributes published with one served model (the fallback,
    which every deployment loads, else the first by name) and their search index."""

    model: str
    version: str
    items: pd.DataFrame
    search: CatalogueSearch

    @classmethod
    def of(cls, served: ServedModel) -> Catalogue:
        return cls(served.name, served.version, served.items, CatalogueSearch(served.items))


def catalogue_for(models: dict[str, ServedModel], previous: Catalogue | None) -> Catalogue | None:
    """The catalogue of these models; the previous one when its source version is still served."""
    if not models:
        return None
    source = models.get(FALLBACK) or models[sorted(models)[0]]
    if previous is not None and (previous.model, previous.version) == (source.name, source.version):
        return previous
    return Catalogue.of(source)


def load_served(name: str, directory: Path) -> ServedModel:
    verify_files(directory)  # a file damaged since publication is refused by name, before any library reads it
    model = load_model(directory)
    if not isinstance(model, Scorer):
        raise ValueError(f"{directory} holds a {type(model).__name__}, not a ranking model")
    check_finite_scores(model)  # never serve NaN scores: the previous version stays
    index = ServingIndex.load(directory)
    items = index.items.copy()
    items["released_at"] = items["released_at"].astype(str)
    if not (np.all(np.diff(index.user_ids) > 0) and np.all(np.diff(index.item_ids) > 0)):
        raise ValueError(f"{directory}: user and item ids must be sorted and unique (the marts' dense indices)")
    provenance = read_provenance(directory)
    index_ann = None
    if isinstance(model, Embedding) and (directory / ann.FILE).exists():
        index_ann = ann.AnnIndex.load(directory, model.item_vectors())  # an empty or foreign index is refused
        index_ann = index_ann if model.n_items >= settings.ann_min_items() else None  # used above the threshold
    elif isinstance(model, Embedding) and model.n_items >= settings.ann_min_items():
        log.warning("%s/%s has %d items but no ANN index: exact search", name, directory.name, model.n_items)
    return ServedModel(
        name=name,
        version=directory.name,
        path=str(directory),
        model=model,
        index=index,
        items=items,
        provenance=provenance,
        ann_index=index_ann,
    )
