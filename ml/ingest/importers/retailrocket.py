"""RetailRocket e-commerce events and item properties (timestamps in milliseconds)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from ml import columns as C
from ml.ingest.importers.common import Imported, events_frame, items_frame, require, users_from_events
from ml.ingest.importers.fields import RowChecks, first_line_ids
from ml.ingest.importers.reading import Ledger, read_delimited

RETAILROCKET_EVENTS = {"view": "view", "addtocart": "add_to_cart", "transaction": "purchase"}
RETAILROCKET_PRICE = "790"
WHAT = "RetailRocket timestamps"


def _properties(parts: list[Path], ledger: Ledger, read) -> pd.DataFrame:
    """Checked property rows (timestamp, item_id, property, value) of every ``item_properties*.csv``."""
    frames = [pd.DataFrame(columns=["timestamp", "item_id", "property", "value"])]
    for part in parts:
        checks = RowChecks(read(part, ["timestamp", "itemid", "property", "value"]), part.name, ledger)
        at, item = checks.unix_time("timestamp", "ms", WHAT), checks.integer("itemid")
        prop, value = checks.text("property"), checks.text("value", required=False)
        keep = checks.kept()
        frames.append(pd.DataFrame({"timestamp": at[keep], "item_id": item[keep], "property": prop[keep], "value": value[keep]}))
    return pd.concat(frames, ignore_index=True).astype({"item_id": "int64", "timestamp": "datetime64[us]"})


def retailrocket(src: Path, rating_events: dict[float, str] | None = None, encoding: str = "auto") -> Imported:
    """RetailRocket-style e-commerce logs: ``events.csv`` and ``item_properties_part*.csv``."""
    src = Path(src)
    require(src, "RetailRocket", "events.csv")
    ledger = Ledger()
    read = partial(read_delimited, ledger=ledger, sep=",", header=True, quoted=True, encoding=encoding)
    checks = RowChecks(read(src / "events.csv", ["timestamp", "visitorid", "event", "itemid"]), "events.csv", ledger)
    at, user, item = checks.unix_time("timestamp", "ms", WHAT), checks.integer("visitorid"), checks.integer("itemid")
    event = checks.one_of("event", RETAILROCKET_EVENTS)
    keep = checks.kept()
    rows = pd.DataFrame({"user_id": user[keep], "item_id": item[keep], "event_at": at[keep]})
    rows["event_id"] = first_line_ids(checks.lines[keep], user[keep], item[keep], event[keep], at[keep])
    events = events_frame(rows, pd.Series(event[keep]).map(RETAILROCKET_EVENTS))
    props = _properties(sorted(src.glob("item_properties*.csv")), ledger, read).sort_values("timestamp", kind="stable")
    latest = props.drop_duplicates(["item_id", "property"], keep="last").pivot(
        index="item_id", columns="property", values="value"
    )
    item_ids = np.union1d(events[C.ITEM_ID].unique(), latest.index.to_numpy()).astype(np.int64)
    latest = latest.reindex(item_ids)
    first_seen = pd.concat([events.groupby(C.ITEM_ID)[C.EVENT_AT].min(), props.groupby("item_id")["timestamp"].min()], axis=1)
    category = latest["categoryid"] if "categoryid" in latest else pd.Series(pd.NA, index=item_ids)
    price = latest[RETAILROCKET_PRICE] if RETAILROCKET_PRICE in latest else pd.Series(np.nan, index=item_ids)
    items = items_frame(
        item_ids,
        category.fillna("unknown").astype(str).map(lambda c: c if c == "unknown" else f"category_{c}"),
        first_seen.min(axis=1).reindex(item_ids),
        price=pd.to_numeric(price.astype("string").str.lstrip("n").str.split(" ").str[0], errors="coerce"),
    )
    return Imported({"users": users_from_events(events), "items": items, "events": events}, ledger)
