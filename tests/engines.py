"""What the engine tests compare: a tiny generated dataset, and per mart the figures every engine must
agree on for the same input."""

import shutil
from pathlib import Path

import pandas as pd

from ml.ingest import synthetic

TINY = synthetic.SyntheticConfig(n_users=200, n_items=150, n_days=30, seed=3)
# what both engines must agree on, mart by mart
FIGURES = {
    "events staged": "select count(*) as n from intermediate.int_events_referenced where quarantine_reason is null",
    "quarantine": "select source_table || ':' || quarantine_reason as k, count(*) as n from marts.quarantined_rows group by 1",
    "interactions": "select split as k, count(*) as n, sum(weight) as w from marts.interactions group by 1",
    "user_features": "select count(*) as n, sum(ctr_smoothed) as s from marts.user_features",
    "item_features": "select count(*) as n, sum(n_purchase) as p from marts.item_features",
    "ctr_examples": "select split as k, count(*) as n, sum(clicked) as c from marts.ctr_examples group by 1",
}


def figures(read, names: tuple[str, ...] = tuple(FIGURES)) -> dict[str, list]:
    """FIGURES (those of ``names``) through ``read(sql) -> DataFrame``, rows sorted, numbers to 9
    significant digits."""
    out = {}
    for name in names:
        sql = FIGURES[name]
        frame = read(sql)
        frame = frame.sort_values(list(frame.columns)).reset_index(drop=True)
        out[name] = [[value(v) for v in row] for row in frame.itertuples(index=False)]
    return out


def value(v) -> float | str:
    """A number to 9 significant digits (engines sum floats in different orders), else its text."""
    try:
        return float(f"{float(v):.9g}")
    except (TypeError, ValueError):
        return str(v)


def sample_as_parquet(directory: Path) -> Path:
    """The committed seeds as raw Parquet files, every value the seed's text (empty cells null), with the
    sample's ground truth beside them, as a generated dataset's folder has it."""
    directory.mkdir()
    for table in ("users", "items", "events"):
        frame = pd.read_csv(synthetic.SEEDS_DIR / f"raw_{table}.csv", dtype=str, keep_default_na=False, na_values=[""])
        frame.to_parquet(directory / f"{table}.parquet", index=False)
    shutil.copy(synthetic.SAMPLE_GROUND_TRUTH, directory / "ground_truth.npz")
    return directory
