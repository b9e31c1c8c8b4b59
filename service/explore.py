"""What the web app shows, as plain functions over the published artifacts and the warehouse.

The artifacts are loaded through the service's registry (the same ``latest`` versions, the same
fallback). The warehouse is read with short read-only connections that give up after
``LOCK_WAIT_S`` instead of waiting for a pipeline run that holds DuckDB's write lock: the app shows
what it has and says the warehouse is busy, and never keeps a connection open that a run would wait
for.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from ml import settings
from ml.live import experiments as exp
from ml.models import EVALUATED_ONLY, FALLBACK, SERVABLE
from ml.serving import freshness
from ml.warehouse import evaluation_store, marts, summary
from ml.warehouse.connection import connect, warehouse_exists
from service.recommend import NoFallback, personal_scores, recommend
from service.registry import Registry
from service.served import ServedModel

LOCK_WAIT_S = 2.0
BUSY = "the warehouse is busy (a pipeline run is writing to it); try again when the run has finished"


class WarehouseUnavailable(RuntimeError):
    """The warehouse cannot be read now: not built yet, or a run holds it."""


@dataclass(frozen=True)
class ModelList:
    """One model's top-k for a user: the items with their attributes, and the fallback reason if any."""

    model: str
    version: str
    items: pd.DataFrame  # rank, item_id, title, category, price, score, new
    fallback: str | None
    data_age: str = ""  # the last event of the version's data, and how long ago


class Explorer:
    def __init__(self, artifacts_dir: Path, warehouse_path: Path) -> None:
        self.warehouse_path = Path(warehouse_path)
        self.registry = Registry(artifacts_dir, warehouse_path, metrics_wait_s=LOCK_WAIT_S)
        self.registry.reload(force=True)
        self.running = exp.load(settings.experiments_path(), SERVABLE)  # what the service splits traffic by
        self._busy_until = 0.0

    def refresh(self) -> bool:
        """Load versions published since the last look; True when something changed."""
        return self.registry.reload()

    @property
    def models(self) -> dict[str, ServedModel]:
        return self.registry.snapshot.models

    def read(self, fn):
        """``fn(connection)`` on a short read-only connection; WarehouseUnavailable when there is none."""
        if not warehouse_exists(self.warehouse_path):
            raise WarehouseUnavailable("no warehouse yet: run recsys-pipeline first")
        if time.monotonic() < self._busy_until:  # found busy a moment ago: one wait per page, not one per read
            raise WarehouseUnavailable(BUSY)
        try:
            with connect(self.warehouse_path, read_only=True, wait_s=LOCK_WAIT_S) as con:
                return fn(con)
        except (duckdb.IOException, duckdb.ConnectionException) as exc:
            self._busy_until = time.monotonic() + 2 * LOCK_WAIT_S
            raise WarehouseUnavailable(BUSY) from exc

    # ---- users -------------------------------------------------------------------------------
    def example_users(self, n: int = 200) -> list[int]:
        """Users with train history, by id (the fallback model's index, which every deployment loads)."""
        source = self.models.get(FALLBACK) or next(iter(self.models.values()), None)
        if source is None:
            return []
        with_history = np.flatnonzero(np.diff(source.index.seen.indptr) > 0)
        return source.index.user_ids[with_history[:n]].tolist()

    def is_known(self, user_id: int) -> bool:
        return any(m.user_rows([user_id])[0] >= 0 for m in self.models.values())

    def history(self, user_id: int) -> pd.DataFrame:
        """The user's events per item: attributes, event types, first and last date (newest first)."""
        return self.read(lambda con: marts.user_history(con, user_id))

    # ---- recommendations ---------------------------------------------------------------------
    def recommendations(self, user_id: int, k: int, names: list[str]) -> list[ModelList]:
        """Top-k of each named model side by side; unknown users get the fallback, marked."""
        out = []
        fallback = self.models.get(FALLBACK)
        for name in names:
            served = self.models[name]
            try:
                result = recommend(served, fallback, [user_id], k)[0]
            except NoFallback:
                continue
            source = fallback if result.fallback and fallback is not None else served
            until, age = freshness.data_until(served.provenance), freshness.age_now(served.provenance)
            data_age = f"data until {until:%Y-%m-%d %H:%M} ({age:g} days ago)" if until is not None else "data age unknown"
            items = ranked(source, result.item_ids, result.scores)
            out.append(ModelList(name, served.version, items, result.fallback, data_age))
        return out

    def similar(self, item_id: int, k: int) -> dict[str, pd.DataFrame]:
        """Items most similar to one item, per model that ranks by similarity and knows the item."""
        out = {}
        for name, served in self.models.items():
            if served.similarity is None:
                continue
            found = served.similar(item_id, k)
            if found is not None:
                out[name] = ranked(served, served.index.item_ids[found[0]], found[1])
        return out

    def search(self, query: str, k: int, user_id: int | None = None, model: str | None = None) -> tuple[pd.DataFrame, str | None]:
        """Catalogue search, personalised by ``model`` for ``user_id`` when that model can rank the user."""
        catalogue = self.registry.snapshot.catalogue
        if catalogue is None:
            return pd.DataFrame(), None
        scores = None
        if user_id is not None and model in self.models:
            scores = personal_scores(self.models[model], catalogue, user_id)
        found = catalogue.search.search(query, k, scores)
        rows = catalogue.items.iloc[found.positions].reset_index(drop=True)
        table = rows[[c for c in ("item_id", "title", "category", "brand", "price") if c in rows]].assign(
            relevance=found.relevance, score=found.scores
        )
        return table, (model if scores is not None else None)

    # ---- metrics -----------------------------------------------------------------------------
    def leaderboard(self) -> pd.DataFrame:
        """The leaderboard's headline columns, model first, best NDCG@10 first, intervals as text."""
        board = self.read(summary.leaderboard)
        if board.empty:
            raise WarehouseUnavailable("no leaderboard yet: run recsys-pipeline first")
        return board

    def experiments(self) -> pd.DataFrame:
        """The running experiments' arms (the experiments file) with their online and offline figures so far."""
        arms = pd.DataFrame(
            [{"experiment": e.name, "arm": a.name, "model": a.model, "share": a.share} for e in self.running for a in e.arms]
        )
        if arms.empty:
            return arms
        measured = self.read(marts.online_vs_offline)
        if measured.empty:
            return arms
        return arms.merge(measured.drop(columns="model"), on=["experiment", "arm"], how="left")

    def metrics_by_slice(self, metric: str = "ndcg", k: int = 10) -> pd.DataFrame:
        """``metric@k`` of each shown model's latest evaluation per slice (a row per model, a column per slice)."""
        frame = self.read(lambda con: evaluation_store.latest_by_slice(con, metric, k))
        frame = frame[frame["model"].isin([*self.models, *EVALUATED_ONLY])]
        if frame.empty:
            return pd.DataFrame()
        return (
            frame.pivot_table(index="model", columns="slice", values="value").sort_index().reset_index().rename_axis(columns=None)
        )

    def title(self, item_id: int) -> str | None:
        """The item's title in the searchable catalogue, if it has one."""
        catalogue = self.registry.snapshot.catalogue
        if catalogue is None or "title" not in catalogue.items:
            return None
        found = catalogue.items.loc[catalogue.items["item_id"] == item_id, "title"]
        return str(found.iloc[0]) if len(found) and pd.notna(found.iloc[0]) else None

    def ndcg_history(self, k: int = 10) -> pd.DataFrame:
        """NDCG@k on all test users per model and evaluation run, oldest first (one row per run)."""
        frame = self.read(lambda con: evaluation_store.headline_history(con, k))
        return frame[frame["model"].isin([*self.models, *EVALUATED_ONLY])].reset_index(drop=True)


def ranked(served: ServedModel, item_ids: np.ndarray, scores: np.ndarray) -> pd.DataFrame:
    """Items in rank order with their attributes; ``new`` marks items released after the model's
    training data ended (the test window's start, from the artifact's provenance)."""
    rows = served.item_rows(np.asarray(item_ids, dtype=np.int64))
    items = served.items.iloc[rows].reset_index(drop=True)
    test_from = (served.provenance.get("data_window") or {}).get("test_from")
    released = pd.to_datetime(items["released_at"], errors="coerce")
    new = released >= pd.Timestamp(test_from) if test_from else pd.Series(False, index=items.index)
    return pd.DataFrame(
        {
            "rank": np.arange(1, len(items) + 1),
            "item_id": items["item_id"].to_numpy(),
            "title": items["title"] if "title" in items else None,
            "category": items["category"],
            "price": items["price"],
            "score": np.asarray(scores, dtype=np.float64),
            "new": new.fillna(False).to_numpy(dtype=bool),
        }
    )
