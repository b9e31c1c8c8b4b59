"""Every query Python runs against the dbt output: the contracted marts (``dbt_project/models/marts``),
read into the shapes the pure ML side takes (``ml.interactions.InteractionData``, frames). Nothing else
in Python reads a dbt relation, and nothing here reads staging or intermediate models.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pandas as pd

from ml import columns as C
from ml.feature_sets import FeatureJoin
from ml.interactions import InteractionData, to_csr
from ml.two_stage import ranker_windows
from ml.warehouse import declarations, evaluation_store
from ml.warehouse.connection import connect, scalar, table_exists
from ml.warehouse.engines import Connection
from ml.warehouse.evaluation_store import append, declared_columns

SCHEMA = "marts"
SPLIT_WINDOWS = "split_windows"
QUARANTINE = "quarantined_rows"
LEADERBOARD = "leaderboard"
HISTORY = "user_item_history"
CANDIDATES = "ctr_candidates"  # a source the Python side writes: the pairs whose features it asks for


def load_interactions(path: str | Path | None = None, sequences: bool = False) -> InteractionData:
    """marts.interactions, user_features and item_features (train = train + validation splits; the
    splits apart in ``fit`` and ``validation``); with ``sequences``, also the steps of
    marts.user_sequences before the test window (what sequential models learn from)."""
    steps = None
    with connect(path) as con:
        if sequences:
            steps = con.execute(
                f"select {C.USER_IDX}, {C.ITEM_IDX}, {C.SPLIT}, {C.POSITION} from {SCHEMA}.{C.USER_SEQUENCES} "
                f"where {C.SPLIT} <> '{C.TEST}' order by {C.USER_IDX}, {C.POSITION}"
            ).df()
        users = con.execute(f"select * from {SCHEMA}.{C.USER_FEATURES} order by {C.USER_IDX}").df()
        items = con.execute(f"select * from {SCHEMA}.{C.ITEM_FEATURES} order by {C.ITEM_IDX}").df()
        inter = con.execute(f"select {C.USER_IDX}, {C.ITEM_IDX}, {C.SPLIT}, {C.WEIGHT} from {SCHEMA}.{C.INTERACTIONS}").df()
        users, items = joined(con, users, C.USER_FEATURES), joined(con, items, C.ITEM_FEATURES)
    if not (users[C.USER_IDX].to_numpy() == np.arange(len(users))).all():
        raise ValueError("marts.user_features.user_idx must be dense 0..n-1; rebuild the dbt marts")
    if not (items[C.ITEM_IDX].to_numpy() == np.arange(len(items))).all():
        raise ValueError("marts.item_features.item_idx must be dense 0..n-1; rebuild the dbt marts")
    split = inter[C.SPLIT]
    fit, validation, test = (to_csr(inter[split == s], len(users), len(items)) for s in (C.TRAIN, C.VALIDATION, C.TEST))
    return InteractionData(
        train=fit + validation, test=test, users=users, items=items, fit=fit, validation=validation, sequences=steps
    )


def joined(con: Connection, frame: pd.DataFrame, into: str, joins: list[FeatureJoin] | None = None) -> pd.DataFrame:
    """``frame`` (rows of mart ``into``) with the declared features of every feature mart that joins it
    (``joins``, default: the manifest's), left-joined on the declared keys: the same rows, in the same
    order; a null key matches nothing, as in SQL."""
    for join in declarations.feature_joins(into=into) if joins is None else joins:
        columns = [*join.keys, *join.features.names]
        right = con.execute(f"select {', '.join(columns)} from {SCHEMA}.{join.mart}").df().dropna(subset=list(join.keys))
        if right.duplicated(list(join.keys)).any():
            raise ValueError(f"marts.{join.mart} has several rows per key {list(join.keys)}: its feature_join needs unique keys")
        frame = frame.merge(right, on=list(join.keys), how="left")
    return frame


def load_examples(path: str | Path | None = None) -> pd.DataFrame:
    """marts.ctr_examples in event order, with the features of the marts that join it."""
    with connect(path) as con:
        return joined(con, con.execute(f"select * from {SCHEMA}.{C.CTR_EXAMPLES} order by {C.EVENT_ID}").df(), C.CTR_EXAMPLES)


def load_daily(path: str | Path | None = None) -> pd.DataFrame:
    """marts.interactions_daily: user x item x day weights and impressions (the ranker's windows)."""
    with connect(path) as con:
        return con.execute(f"select * from {SCHEMA}.{C.INTERACTIONS_DAILY}").df()


def load_ranker_inputs(label_days: int, n_train_windows: int, path: str | Path | None = None) -> tuple:
    """The interaction data and the two-stage ranker's (train windows, early-stopping window, test
    window) from marts.interactions_daily and the split (``ml.two_stage.ranker_windows``)."""
    data = load_interactions(path)
    return data, load_ranker_windows(data, label_days, n_train_windows, path)


def load_ranker_windows(data, label_days: int, n_train_windows: int, path: str | Path | None = None) -> tuple:
    """The two-stage ranker's windows over ``data`` (loaded already) from marts.interactions_daily."""
    return ranker_windows(data, load_daily(path), split_window(path=path), label_days, n_train_windows)


def split_window(con: Connection | None = None, path: str | Path | None = None) -> dict:
    """The row of marts.split_windows: strategy, boundaries and users per window."""
    if con is None:
        with connect(path) as own:
            return split_window(own)
    return con.execute(f"select * from {SCHEMA}.{SPLIT_WINDOWS}").df().iloc[0].to_dict()


def data_window(path: str | Path | None = None) -> dict | None:
    """The data window a model is trained on, for its provenance: None when there are no marts (a model
    trained outside the pipeline)."""
    try:
        split = split_window(path=path)
    except Exception:  # no warehouse, or no split mart yet
        return None
    return {
        "split_strategy": split["split_strategy"],
        "trained_on_events_from": str(split["min_event_at"]),
        "test_from": str(split["split_at"]),
        "events_until": str(split["end_at"]),
    }


def leaderboard(con: Connection) -> pd.DataFrame:
    """marts.leaderboard, empty when it is not built yet."""
    if not table_exists(con, SCHEMA, LEADERBOARD):
        return pd.DataFrame()
    return con.execute(f"select * from {SCHEMA}.{LEADERBOARD}").df()


def online_vs_offline(con: Connection) -> pd.DataFrame:
    """experiments.online_vs_offline (each experiment arm's online CTR beside its model's offline NDCG@10),
    empty when it is not built yet."""
    if not table_exists(con, "experiments", "online_vs_offline"):
        return pd.DataFrame()
    return con.execute("select * from experiments.online_vs_offline order by experiment, arm").df()


def experiment_users(con: Connection, experiment: str) -> pd.DataFrame:
    """Per arm and user of an experiment: exposures and attributed clicks (experiments.experiment_exposures)."""
    return con.execute(
        "select arm, user_id, count(*) as exposures, sum(clicked) as clicks from experiments.experiment_exposures "
        "where experiment = ? group by arm, user_id",
        [experiment],
    ).df()


def quarantine_counts(con: Connection) -> pd.DataFrame | None:
    """Quarantined rows per raw table and reason (most first); None before the mart is built."""
    if not table_exists(con, SCHEMA, QUARANTINE):
        return None
    return con.execute(
        f"select source_table, quarantine_reason, count(*) as n from {SCHEMA}.{QUARANTINE} group by 1, 2 order by 1, 3 desc"
    ).df()


def mart_rows(con: Connection, mart: str) -> int | None:
    """Rows of ``marts.<mart>``; None when it is not built."""
    return scalar(con, f"select count(*) from {SCHEMA}.{mart}") if table_exists(con, SCHEMA, mart) else None


def user_history(con: Connection, user_id: int) -> pd.DataFrame:
    """A user's items with title, category, price, event types, events, first and last date; newest first."""
    return con.execute(
        f"select item_id, title, category, price, event_types, n_events as events, first_at, last_at "
        f"from {SCHEMA}.{HISTORY} where user_id = ? order by last_at desc, item_id",
        [user_id],
    ).df()


def row_counts(con: Connection) -> pd.DataFrame:
    """marts.raw_row_counts: rows in, staged and quarantined per raw table (empty before it is built)."""
    if not table_exists(con, SCHEMA, "raw_row_counts"):
        return pd.DataFrame(columns=["source_table", "rows_in", "rows_staged", "rows_quarantined"])
    return con.execute(f"select * from {SCHEMA}.raw_row_counts").df()


def candidate_features(pairs: pd.DataFrame, path: str | Path | None = None) -> pd.DataFrame:
    """The CTR features of (user_id, item_id, event_hour, is_weekend) pairs as of the split, by the SQL
    of marts.ctr_examples (the view marts.ctr_candidate_features, and the marts that join it), in the
    order of ``pairs``. The pairs are written to evaluation.ctr_candidates first (one request at a time)."""
    request = uuid.uuid4().hex
    rows = pairs[["user_id", "item_id", "event_hour", "is_weekend"]].assign(request_id=request)
    with connect(path, read_only=False) as con:
        append(con, evaluation_store.SCHEMA, CANDIDATES, rows.iloc[:0], declared_columns(CANDIDATES))  # created if missing
        con.execute(f"truncate table {evaluation_store.SCHEMA}.{CANDIDATES}")
        append(con, evaluation_store.SCHEMA, CANDIDATES, rows, declared_columns(CANDIDATES))
        found = con.execute(f"select * from {SCHEMA}.ctr_candidate_features where request_id = ?", [request]).df()
        found = joined(con, found, C.CTR_EXAMPLES)
    keys = pd.MultiIndex.from_frame(pairs[["user_id", "item_id"]])
    found = found.drop_duplicates(["user_id", "item_id"]).set_index(["user_id", "item_id"])
    return found.reindex(keys).reset_index()
