"""What landed in the warehouse, as text: quarantine counts, mart sizes and the leaderboard. Reads
whatever exists, so it also describes a run that stopped half way."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ml import settings
from ml.evaluation.uncertainty import ALPHA
from ml.warehouse import evaluation_store, marts
from ml.warehouse.connection import connect, warehouse_exists
from ml.warehouse.engines import Connection

MARTS = ("interactions", "user_features", "item_features", "ctr_examples")
BOARD_COLUMNS = [
    "model",
    "ndcg_at_10",
    "ndcg_95ci",
    "lift_vs_popularity",
    "recall_at_10",
    "hit_rate_at_10",
    "coverage_at_10",
    "cold_users_ndcg_at_10",
    "ndcg_share_of_oracle",
    "ctr_auc",
    "n_users",
]


def leaderboard(con: Connection) -> pd.DataFrame:
    """The leaderboard's headline columns, best NDCG@10 first."""
    board = marts.leaderboard(con)
    if "ndcg_at_10" in board:  # no metric columns before any model was evaluated
        board = board.sort_values("ndcg_at_10", ascending=False, na_position="last", kind="stable")
    if "ndcg_at_10_ci_low" in board:
        board["ndcg_95ci"] = [
            f"[{lo:.4f}, {hi:.4f}]" if pd.notna(lo) else ""
            for lo, hi in zip(board.ndcg_at_10_ci_low, board.ndcg_at_10_ci_high, strict=True)
        ]
        board["lift_vs_popularity"] = [
            f"{d:+.4f} (p={p:.2g}{'' if p < ALPHA else ', noise'})" if pd.notna(p) else ""
            for d, p in zip(board.ndcg_lift_vs_popularity, board.p_vs_popularity, strict=True)
        ]
    return board[[c for c in BOARD_COLUMNS if c in board.columns]]


def widen_test_window(strategy: str) -> str:
    """What gives the test window more users, under the split strategy in use."""
    if strategy == "leave_last_k":
        return "leave_last_k tests only users with more than holdout_k distinct items: lower holdout_k, or bring more history"
    return "widen it (test_days or test_fraction) or use split_strategy leave_last_k (each user's last holdout_k events)"


def split_summary(con: Connection) -> list[str]:
    """The windows the models were trained, tuned and tested on, and a warning when the test window
    holds too few users to compare models."""
    row = marts.split_window(con)
    lines = [
        f"split ({row['split_strategy']}): validation from {row['valid_at']}, test from {row['split_at']}; users with "
        f"interactions: train {row['n_train_users']:,}, validation {row['n_validation_users']:,}, test {row['n_test_users']:,}"
    ]
    if row["n_test_users"] < row["min_test_users"]:
        lines.append(
            f"WARNING: the test window holds {row['n_test_users']:,} users (< min_test_users {row['min_test_users']:,}): model "
            f"differences will mostly be noise; {widen_test_window(row['split_strategy'])}"
        )
    return lines


# what to change when a quarantine reason takes every event
FIXES = {
    "event_at_out_of_range": (
        "set the dbt var event_time_min before your first event (e.g. --vars '{event_time_min: \"1970-01-01\"}')"
    ),
    "invalid_event_at": "write event_at as an ISO 8601 timestamp (YYYY-MM-DD HH:MM:SS, optionally with an offset such as +02:00)",
    "unknown_event_type": "map your event types to those of the dbt var event_weights, or add yours to it",
    "unknown_user": "every event's user_id must be in the users file",
    "unknown_item": "every event's item_id must be in the items file",
    "missing_or_invalid_user_id": "user_id must be a plain integer within 64 bits (no decimals, exponents or hex)",
    "missing_or_invalid_item_id": "item_id must be a plain integer within 64 bits (no decimals, exponents or hex)",
    "missing_or_invalid_event_id": "event_id must be a plain integer within 64 bits (no decimals, exponents or hex)",
    "malformed_line": "the file has lines with the wrong number of columns or bytes that are not UTF-8; re-export it",
    "released_at_out_of_range": "release dates before the dbt var released_at_min or over a year ahead are placeholders; "
    "fix them, or lower released_at_min for old catalogues",
    "signup_at_out_of_range": "signup_at must lie between the dbt var event_time_min and today",
}


def quarantine_summary(con: Connection) -> list[str]:
    """Quarantine counts per table and reason, and the cause and fix when no event is usable."""
    counts = marts.quarantine_counts(con)
    if counts is None:
        return []
    rows = list(counts.itertuples(index=False))
    lines = ["quarantined rows: " + (", ".join(f"{t}/{r}={n:,}" for t, r, n in rows) or "none")]
    reconciled = marts.row_counts(con)
    events = reconciled[reconciled["source_table"] == "events"]
    if len(events) and events["rows_staged"].iloc[0] == 0:
        total = int(events["rows_in"].iloc[0])
        reasons = [(r, n) for t, r, n in rows if t == "events"]
        if total == 0:
            lines.append("ERROR: the events file holds no rows: nothing to train on")
        else:
            lines.append(
                f"ERROR: all {total:,} events quarantined: "
                + ", ".join(f"{r} {c:,}" for r, c in reasons)
                + f"; {FIXES.get(reasons[0][0], 'see marts.quarantined_rows')}"
            )
    return lines


def verdict_summary(con: Connection) -> list[str]:
    """The latest feature verdict: each judged model against its version before the change."""
    verdicts = evaluation_store.latest_analysis(con, "feature_verdict")
    if verdicts.empty:
        return []
    lines = ["feature verdict (validation rows; select * from analysis.feature_verdict):"]
    for r in verdicts.itertuples():
        change = f"{r.metric} {r.value:+.5f} [{r.ci_low:+.5f}, {r.ci_high:+.5f}], p = {r.p_value:.2g}"
        features = ", ".join(
            f"{sign}{name}"
            for sign, names in (("+", r.features_added), ("-", r.features_removed))
            for name in (names or "").split(",")
            if name
        )
        lines.append(f"  {r.model:<10} {r.verdict:<6} {change}" + (f"; features {features}" if features else ""))
    return lines


def warehouse_summary(path: str | Path | None = None) -> str:
    path = Path(path or settings.warehouse_path())
    if not warehouse_exists(path):
        return f"warehouse {path} does not exist yet"
    where = path if settings.dbt_target() == "duckdb" else settings.warehouse_label()  # never a password
    lines = [f"warehouse: {where}"]
    with connect(path) as con:
        lines += quarantine_summary(con)
        if marts.mart_rows(con, marts.SPLIT_WINDOWS):
            lines += split_summary(con)
        for mart in MARTS:
            n = marts.mart_rows(con, mart)
            lines.append(f"marts.{mart}: {n:,} rows" if n is not None else f"marts.{mart}: not built")
        board = leaderboard(con)
        if len(board):
            lines += ["leaderboard (select * from marts.leaderboard):", board.round(4).to_string(index=False, na_rep="")]
        lines += verdict_summary(con)
    return "\n".join(lines)
