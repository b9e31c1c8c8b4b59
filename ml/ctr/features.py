"""The CTR examples mart as model input: the feature columns, their ablation groups, the time split
into train / validation / test, and the same features for arbitrary (user, item) pairs at serving time.

The feature lists are checked against the ``ctr_examples`` contract (``dbt_project/models/marts``) by
the tests, and :func:`pair_features` is tested to reproduce the SQL features for the test snapshot.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml.interactions import user_category_share

CTR_NUMERIC = [
    "event_hour",
    "is_weekend",
    "user_days_since_signup",
    "user_n_impression",
    "user_n_click",
    "user_n_purchase",
    "user_n_engaged",
    "user_active_days",
    "user_ctr_smoothed",
    "user_cvr_smoothed",
    "user_days_since_last_event",
    "user_avg_engaged_price",
    "price",
    "price_vs_category",
    "item_days_since_release",
    "item_n_impression",
    "item_n_click",
    "item_n_purchase",
    "item_n_engaged",
    "item_ctr_smoothed",
    "item_cvr_smoothed",
    "item_days_since_last_event",
    "user_category_share",
    "user_price_ratio",
]
CTR_ATTRIBUTES = ["country", "segment", "age_band", "category", "brand"]  # text categoricals
CTR_CATEGORICAL = [*CTR_ATTRIBUTES, "user_idx", "item_idx"]
# feature groups for ablations (drop_features removes a group's columns)
CTR_FEATURE_GROUPS = {
    "context": ["event_hour", "is_weekend"],
    "user_history": [c for c in CTR_NUMERIC if c.startswith("user_") and c not in ("user_category_share", "user_price_ratio")],
    "item_history": [c for c in CTR_NUMERIC if c.startswith("item_")],
    "pair": ["user_category_share", "user_price_ratio"],
    "attributes": ["country", "segment", "age_band", "category", "brand", "price", "price_vs_category"],
    "ids": ["user_idx", "item_idx"],
}


# where pair_features takes each column from: user_features / item_features as of the split
PAIR_FEATURES = ["user_category_share", "user_price_ratio"]
USER_ATTRIBUTES = ["country", "segment", "age_band"]
ITEM_ATTRIBUTES = ["category", "brand", "price", "price_vs_category"]
USER_COLUMNS = {c: c.removeprefix("user_") for c in CTR_NUMERIC if c.startswith("user_") and c not in PAIR_FEATURES}
ITEM_COLUMNS = {c: c.removeprefix("item_") for c in CTR_NUMERIC if c.startswith("item_")}


def skip_reason(examples: pd.DataFrame) -> str | None:
    """Why no CTR model can be trained on these examples, or None when one can."""
    if examples.empty:
        return (
            "marts.ctr_examples is empty: the data has no impression events (optional in the raw "
            "contract), and click models learn from impressions"
        )
    if examples.loc[examples["split"] == "train", "snapshot_at"].nunique() < 2:
        return "marts.ctr_examples has fewer than two train blocks: raise dbt var ctr_train_snapshots or add history"
    if (examples["split"] == "test").sum() == 0:
        return "marts.ctr_examples has no test impressions: nothing to evaluate a click model on"
    return None


def split_examples(examples: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(train, validation, test): validation = the latest train block by time, test = the test window."""
    train_all = examples[examples["split"] == "train"]
    if train_all["snapshot_at"].nunique() < 2:
        raise ValueError("need at least two train blocks in ctr_examples (dbt var ctr_train_snapshots >= 2)")
    last = train_all["snapshot_at"].max()
    return (
        train_all[train_all["snapshot_at"] < last],
        train_all[train_all["snapshot_at"] == last],
        examples[examples["split"] == "test"],
    )


def pair_features(
    users: pd.DataFrame,
    items: pd.DataFrame,
    train: sp.csr_matrix,
    user_idx: np.ndarray,
    item_idx: np.ndarray,
    event_hour: int = 20,
    is_weekend: int = 0,
) -> pd.DataFrame:
    """CTR feature rows for arbitrary (user, item) pairs from the feature marts as of the split, shaped
    like ctr_examples (context features fixed to ``event_hour``/``is_weekend``)."""
    u = users.iloc[user_idx].reset_index(drop=True)
    it = items.iloc[item_idx].reset_index(drop=True)
    frame = pd.DataFrame({"user_idx": user_idx, "item_idx": item_idx, "event_hour": event_hour, "is_weekend": is_weekend})
    for col in USER_ATTRIBUTES:
        frame[col] = u[col]
    for col, source in USER_COLUMNS.items():
        frame[col] = u[source]
    for col in ITEM_ATTRIBUTES:
        frame[col] = it[col]
    for col, source in ITEM_COLUMNS.items():
        frame[col] = it[source]
    # the user's share of train weight in the item's category (as in int_user_categories_snapshotted)
    frame["user_category_share"] = user_category_share(train, items["category"], user_idx, item_idx)
    frame["user_price_ratio"] = frame["user_avg_engaged_price"].fillna(frame["price"]) / frame["price"]
    return frame
