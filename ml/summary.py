"""What landed in the warehouse, as text: quarantine counts, mart sizes and the leaderboard. Reads
whatever exists, so it also describes a run that stopped half way."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from ml import settings, warehouse

MARTS = ("interactions", "user_features", "item_features", "ctr_examples")
BOARD_COLUMNS = [
    "model",
    "ndcg_at_10",
    "recall_at_10",
    "hit_rate_at_10",
    "coverage_at_10",
    "cold_users_ndcg_at_10",
    "ndcg_share_of_oracle",
    "ctr_auc",
    "n_users",
]


def leaderboard(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The leaderboard's headline columns, best NDCG@10 first."""
    board = con.execute("select * from marts.leaderboard order by ndcg_at_10 desc nulls last").df()
    return board[[c for c in BOARD_COLUMNS if c in board.columns]]


def warehouse_summary(path: str | Path | None = None) -> str:
    path = Path(path or settings.warehouse_path())
    if not path.exists():
        return f"warehouse {path} does not exist yet"
    lines = [f"warehouse: {path}"]
    with warehouse.connect(path) as con:
        if warehouse.table_exists(con, "marts", "quarantined_rows"):
            rows = con.execute(
                "select source_table, quarantine_reason, count(*) from marts.quarantined_rows group by all order by 1, 3 desc"
            ).fetchall()
            lines.append("quarantined rows: " + (", ".join(f"{t}/{r}={n:,}" for t, r, n in rows) or "none"))
        for mart in MARTS:
            if warehouse.table_exists(con, "marts", mart):
                lines.append(f"marts.{mart}: {warehouse.scalar(con, f'select count(*) from marts.{mart}'):,} rows")
            else:
                lines.append(f"marts.{mart}: not built")
        if warehouse.table_exists(con, "marts", "leaderboard"):
            board = leaderboard(con).round(4).to_string(index=False, na_rep="")
            lines += ["leaderboard (select * from marts.leaderboard):", board]
    return "\n".join(lines)
