"""The set of served models, loaded from the artifacts' ``latest`` versions and swapped atomically.

A :class:`Snapshot` is immutable: a request takes the current snapshot once and uses it to the end,
so a reload (a new snapshot replacing the reference) never changes a request in flight. A
background thread polls the ``latest`` links and rebuilds the snapshot when any version changes.
The warehouse is read only for the /models metrics, with a short read-only connection that waits
(in the background thread, never in a request) if a Dagster run holds the write lock.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from ml import ann, settings, warehouse
from ml.catalog import FALLBACK, SERVED, load_model
from ml.data import ServingIndex
from ml.recommenders import Embedding, ItemSimilarity, Scorer
from ml.recommenders.base import check_finite_scores
from ml.search import CatalogueSearch
from ml.training import PROVENANCE

log = logging.getLogger("recsys.service")
FALLBACK_MODEL = FALLBACK


@dataclass(frozen=True)
class ServedModel:
    name: str
    version: str
    path: str
    model: Scorer
    index: ServingIndex
    items: pd.DataFrame
    provenance: dict = field(default_factory=dict)  # ml.training.provenance: trained_at, warehouse, data window
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


@dataclass(frozen=True)
class Snapshot:
    models: dict[str, ServedModel]
    metrics: dict[str, dict]
    loaded_at: str
    versions: dict[str, str] = field(default_factory=dict)
    catalogue: Catalogue | None = None


def catalogue_for(models: dict[str, ServedModel], previous: Catalogue | None) -> Catalogue | None:
    """The catalogue of these models; the previous one when its source version is still served."""
    if not models:
        return None
    source = models.get(FALLBACK) or models[sorted(models)[0]]
    if previous is not None and (previous.model, previous.version) == (source.name, source.version):
        return previous
    return Catalogue.of(source)


def load_served(name: str, directory: Path) -> ServedModel:
    model = load_model(directory)
    if not isinstance(model, Scorer):
        raise ValueError(f"{directory} holds a {type(model).__name__}, not a ranking model")
    check_finite_scores(model)  # never serve NaN scores: the previous version stays
    index = ServingIndex.load(directory)
    items = index.items.copy()
    items["released_at"] = items["released_at"].astype(str)
    if not (np.all(np.diff(index.user_ids) > 0) and np.all(np.diff(index.item_ids) > 0)):
        raise ValueError(f"{directory}: user and item ids must be sorted and unique (the marts' dense indices)")
    origin = directory / PROVENANCE
    provenance = json.loads(origin.read_text()) if origin.exists() else {}
    index_ann = None
    if isinstance(model, Embedding) and model.n_items >= settings.ann_min_items():
        if (directory / ann.FILE).exists():
            index_ann = ann.AnnIndex.load(directory, model.item_vectors())
        else:
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


def read_metrics(warehouse_path: Path) -> dict[str, dict]:
    """Latest leaderboard row per model; empty when the warehouse or the leaderboard is not there."""
    if not warehouse.warehouse_exists(warehouse_path):
        return {}
    try:
        with warehouse.connect(warehouse_path, read_only=True, wait_s=30) as con:
            if not warehouse.table_exists(con, "marts", "leaderboard"):
                return {}
            frame = con.execute("select * from marts.leaderboard").df()
    except Exception as exc:  # the service keeps serving without metrics
        log.warning("could not read metrics from %s: %s", warehouse_path, exc)
        return {}
    frame = frame.astype(object).where(frame.notna(), None)
    return {
        row["model"]: {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items() if k != "model"}
        for row in frame.to_dict("records")
    }


class Registry:
    def __init__(self, artifacts_dir: Path, warehouse_path: Path, reload_interval_s: float = 5.0) -> None:
        self.artifacts_dir = Path(artifacts_dir)
        self.warehouse_path = Path(warehouse_path)
        self.reload_interval_s = reload_interval_s
        self._snapshot = Snapshot(models={}, metrics={}, loaded_at="never")
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot

    def current_versions(self) -> dict[str, str]:
        versions = {}
        for name in SERVED:
            link = self.artifacts_dir / name / "latest"
            if link.exists():
                versions[name] = link.resolve().name
        return versions

    def reload(self, force: bool = False) -> bool:
        """Build a new snapshot if any model version changed; returns whether it swapped."""
        with self._lock:
            versions = self.current_versions()
            if not force and versions == self._snapshot.versions:
                return False
            models = dict(self._snapshot.models)
            for name, version in versions.items():
                if name in models and models[name].version == version:
                    continue
                try:
                    models[name] = load_served(name, self.artifacts_dir / name / version)
                except Exception as exc:  # keep serving the previous version of this model
                    log.error("could not load %s/%s: %s", name, version, exc)
            self._snapshot = Snapshot(
                models=models,
                metrics=read_metrics(self.warehouse_path),
                loaded_at=datetime.now(UTC).isoformat(),
                versions=versions,
                catalogue=catalogue_for(models, self._snapshot.catalogue),
            )
            log.info("serving %s", {n: m.version for n, m in models.items()})
            return True

    def waiting(self) -> dict[str, str]:
        """Versions published as ``latest`` that are not served yet (the watcher loads them on its next
        poll; one whose scores are not finite is never loaded and stays here)."""
        served = {name: m.version for name, m in self._snapshot.models.items()}
        return {name: v for name, v in self.current_versions().items() if served.get(name) != v}

    def start(self) -> None:
        self.reload(force=True)
        self._thread = threading.Thread(target=self._watch, name="artifact-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _watch(self) -> None:
        while not self._stop.wait(self.reload_interval_s):
            try:
                self.reload()
            except Exception as exc:
                log.error("reload failed: %s", exc)


class NoFallback(RuntimeError):
    """Unknown users need the popularity model, and it is not loaded."""


@dataclass(frozen=True)
class UserResult:
    user_id: int
    item_ids: np.ndarray
    scores: np.ndarray
    fallback: str | None  # why the fallback served this user, or None


def _result(served: ServedModel, user_id: int, items: np.ndarray, scores: np.ndarray, reason: str | None) -> UserResult:
    valid = items >= 0
    return UserResult(user_id, served.index.item_ids[items[valid]], scores[valid], reason)


def recommend(served: ServedModel, fallback: ServedModel | None, user_ids: list[int], k: int) -> list[UserResult]:
    """Top-k per user, items seen in train excluded. Unknown users, and users without history unless
    the model embeds them from features, get the fallback (popularity) list, marked with the reason."""
    pos = served.user_rows(user_ids)
    known = pos >= 0
    history = np.zeros(len(user_ids), dtype=bool)
    history[known] = np.diff(served.index.seen.indptr)[pos[known]] > 0
    direct = known & (history | served.model.cold_start_from_features)
    out: list[UserResult | None] = [None] * len(user_ids)
    if direct.any():
        items, scores = served.top_k(pos[direct], k)
        for j, row in enumerate(np.flatnonzero(direct)):
            out[row] = _result(served, user_ids[row], items[j], scores[j], None)
    for row in np.flatnonzero(~direct):
        if fallback is None:
            raise NoFallback(f"the {FALLBACK_MODEL} model is not loaded, so user {user_ids[row]} cannot be served")
        fb_pos = fallback.user_rows([user_ids[row]])[0]
        if fb_pos >= 0:  # known user without history: still never show what they interacted with
            items, scores = fallback.model.recommend([fb_pos], k, exclude=fallback.index.seen)
        else:  # popularity scores do not depend on the user row
            items, scores = fallback.model.recommend([0], k)
        reason = f"{FALLBACK_MODEL}:{'no_history' if known[row] else 'unknown_user'}"
        out[row] = _result(fallback, user_ids[row], items[0], scores[0], reason)
    return [r for r in out if r is not None]  # every row was filled above


def personal_scores(served: ServedModel, catalogue: Catalogue, user_id: int) -> np.ndarray | None:
    """``served``'s scores of the catalogue's items for one user (NaN for items the model does not
    know); None for a user it cannot rank (unknown, or without history and not embedded from features)."""
    pos = served.user_rows([user_id])[0]
    if pos < 0 or not (np.diff(served.index.seen.indptr)[pos] > 0 or served.model.cold_start_from_features):
        return None
    scores = np.asarray(served.model.score_users(np.array([pos]))[0], dtype=np.float64)
    rows = served.item_rows(catalogue.items["item_id"].to_numpy())
    return np.where(rows >= 0, scores[np.maximum(rows, 0)], np.nan)
