"""The CTR examples mart as model input: why a click model cannot be trained on it, and its time split
into train / validation / test. Which columns are features is declared in the mart's yml (read by
``ml.warehouse.declarations``); the features of pairs to score come from the same SQL
(``ml.warehouse.marts.candidate_features``).
"""

from __future__ import annotations

import pandas as pd


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
