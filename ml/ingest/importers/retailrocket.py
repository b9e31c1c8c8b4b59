"""RetailRocket e-commerce events and item properties."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ml import columns as C
from ml.ingest.importers.common import events_frame, items_frame, require, users_from_events

RETAILROCKET_EVENTS = {"view": "view", "addtocart": "add_to_cart", "transaction": "purchase"}
RETAILROCKET_PRICE = "790"


def retailrocket(src: Path, rating_events: dict[float, str] | None = None) -> dict[str, pd.DataFrame]:
    """RetailRocket-style e-commerce logs: ``events.csv`` and ``item_properties_part*.csv``."""
    src = Path(src)
    require(src, "RetailRocket", "events.csv")
    raw = pd.read_csv(src / "events.csv").rename(columns={"visitorid": "user_id", "itemid": "item_id"})
    raw["event_at"] = pd.to_datetime(raw["timestamp"], unit="ms")
    events = events_frame(raw, raw["event"].map(RETAILROCKET_EVENTS).astype(object))
    parts = sorted(src.glob("item_properties*.csv"))
    props = (
        pd.concat([pd.read_csv(p) for p in parts], ignore_index=True)
        if parts
        else pd.DataFrame(columns=["timestamp", "itemid", "property", "value"])
    )
    props = props.rename(columns={"itemid": "item_id"}).sort_values("timestamp", kind="stable")
    latest = props.drop_duplicates(["item_id", "property"], keep="last").pivot(
        index="item_id", columns="property", values="value"
    )
    item_ids = np.union1d(events[C.ITEM_ID].unique(), latest.index.to_numpy()).astype(np.int64)
    latest = latest.reindex(item_ids)
    first_seen = pd.concat(
        [events.groupby(C.ITEM_ID)[C.EVENT_AT].min(), pd.to_datetime(props.groupby("item_id")["timestamp"].min(), unit="ms")],
        axis=1,
    ).min(axis=1)
    category = latest["categoryid"] if "categoryid" in latest else pd.Series(pd.NA, index=item_ids)
    price = latest[RETAILROCKET_PRICE] if RETAILROCKET_PRICE in latest else pd.Series(np.nan, index=item_ids)
    items = items_frame(
        item_ids,
        category.fillna("unknown").astype(str).map(lambda c: c if c == "unknown" else f"category_{c}"),
        first_seen.reindex(item_ids),
        price=pd.to_numeric(price.astype("string").str.lstrip("n").str.split(" ").str[0], errors="coerce"),
    )
    return {"users": users_from_events(events), "items": items, "events": events}
