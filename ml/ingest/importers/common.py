"""What every importer shares: the rating rule, the frames of the raw contract, and writing them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ml import columns as C
from ml.ingest.importers.reading import Ledger

REJECTS_FILE = "import_rejects.csv"

DEFAULT_RATING_EVENTS: dict[float, str] = {5: "purchase", 4: "add_to_cart", 3: "click", 0: "view"}
AGE_BANDS = [(0, 18, "<18"), (18, 25, "18-24"), (25, 35, "25-34"), (35, 45, "35-44"), (45, 55, "45-54"), (55, 200, "55+")]


def require(src: Path, dataset: str, *names: str) -> None:
    missing = [n for n in names if not (src / n).exists()]
    if missing:
        raise FileNotFoundError(f"{src} lacks {', '.join(missing)}: point it at the unpacked {dataset} folder")


def rating_rule(rating_events: dict[float, str] | None) -> dict[float, str]:
    rule = dict(rating_events or DEFAULT_RATING_EVENTS)
    unknown = set(rule.values()) - set(C.event_types())
    if unknown:
        raise ValueError(f"rating events {sorted(unknown)} are not event types of dbt var event_weights {C.event_types()}")
    return rule


def rating_event_types(ratings: pd.Series, rule: dict[float, str]) -> pd.Series:
    """The event type of each rating: that of the highest threshold the rating reaches (else missing)."""
    thresholds = sorted(rule)
    position = np.searchsorted(np.asarray(thresholds, dtype=float), ratings.to_numpy(float), side="right") - 1
    names = np.array([rule[t] for t in thresholds] + [None], dtype=object)
    return pd.Series(names[np.where(position >= 0, position, len(thresholds))], index=ratings.index, dtype="object")


def events_frame(ratings: pd.DataFrame, event_type) -> pd.DataFrame:
    """Events in the contract from rating-like rows (event_id, user_id, item_id, event_at), sorted by time."""
    frame = pd.DataFrame(
        {
            C.EVENT_ID: np.asarray(ratings["event_id"], dtype=np.int64),
            C.USER_ID: np.asarray(ratings["user_id"], dtype=np.int64),
            C.ITEM_ID: np.asarray(ratings["item_id"], dtype=np.int64),
            C.EVENT_TYPE: np.asarray(event_type, dtype=object),
            C.EVENT_AT: ratings["event_at"],
        }
    )
    order = np.argsort(frame[C.EVENT_AT].to_numpy().view(np.int64), kind="stable")  # ties stay in file order
    return frame.take(order).reset_index(drop=True)


def users_from_events(events: pd.DataFrame) -> pd.DataFrame:
    """A users table for datasets without one: every user id of the events, no attributes."""
    ids = np.sort(events[C.USER_ID].unique())
    return pd.DataFrame({C.USER_ID: ids, "signup_at": pd.NaT, "country": pd.NA, "segment": pd.NA, "age_band": pd.NA})


def items_frame(item_id, category, released_at, title=None, brand=None, price=None) -> pd.DataFrame:
    n = len(item_id)
    return pd.DataFrame(
        {
            C.ITEM_ID: np.asarray(item_id),
            "category": np.asarray(category, dtype=object),
            "brand": np.asarray(brand, dtype=object) if brand is not None else np.full(n, None, dtype=object),
            "price": np.asarray(price, dtype=float) if price is not None else np.full(n, np.nan),
            "released_at": pd.to_datetime(np.asarray(released_at)),
            **({"title": np.asarray(title, dtype=object)} if title is not None else {}),
        }
    )


def age_band(age: pd.Series) -> pd.Series:
    bands = pd.Series(pd.NA, index=age.index, dtype="object")
    for lo, hi, label in AGE_BANDS:
        bands[(age >= lo) & (age < hi)] = label
    return bands


@dataclass
class Imported:
    """What an importer made: the users/items/events frames of the raw contract, and the ledger of the
    rows it read, kept and rejected per file."""

    frames: dict[str, pd.DataFrame]
    ledger: Ledger

    def write(self, out: Path) -> dict[str, Path]:
        """users/items/events as Parquet files (text columns as strings) and the rejects as
        ``import_rejects.csv`` (file, line, field, value, reason) into ``out``."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        paths = {}
        for name, frame in self.frames.items():
            frame = frame.astype({c: "string" for c in frame.columns if frame[c].dtype == object or frame[c].dtype == "str"})
            paths[name] = out / f"{name}.parquet"
            frame.to_parquet(paths[name], index=False)
        paths["rejects"] = out / REJECTS_FILE
        self.ledger.rejects().to_csv(paths["rejects"], index=False)
        return paths
