"""Amazon reviews (2018 or 2023 layout) with product metadata."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ml import columns as C
from ml.ingest.importers.common import events_frame, items_frame, rating_event_types, rating_rule


def _read_jsonl(path: Path) -> pd.DataFrame:
    return pd.read_json(path, lines=True, dtype=False, compression="infer")


def _price(value) -> float:
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        number = pd.to_numeric(value.replace("$", "").replace(",", "").strip(), errors="coerce")
        return float(number)
    return float("nan")


def amazon_reviews(src: Path, rating_events: dict[float, str] | None = None, meta: Path | None = None) -> dict[str, pd.DataFrame]:
    """Amazon reviews JSONL (2018 or 2023 layout) and its product metadata JSONL (``meta``; else the
    ``meta_*.jsonl[.gz]`` next to the reviews file)."""
    src = Path(src)
    if not src.is_file():
        raise FileNotFoundError(f"{src}: give the reviews .jsonl (or .json / .jsonl.gz) file")
    if meta is None:
        found = sorted(p for p in src.parent.glob("meta*") if p.is_file())
        meta = found[0] if found else None
    reviews = _read_jsonl(src)
    if "reviewerID" in reviews:  # 2018 layout
        reviews = reviews.rename(columns={"reviewerID": "user", "asin": "product", "overall": "rating"})
        reviews["event_at"] = pd.to_datetime(reviews["unixReviewTime"], unit="s")
    else:  # 2023 layout
        product = "parent_asin" if "parent_asin" in reviews else "asin"
        reviews = reviews.rename(columns={"user_id": "user", product: "product"})
        reviews["event_at"] = pd.to_datetime(reviews["timestamp"], unit="ms")
    products = _read_jsonl(meta) if meta is not None else pd.DataFrame(columns=["asin"])
    key = "parent_asin" if "parent_asin" in products else "asin"
    products = products.drop_duplicates(key).set_index(key)
    users = pd.Index(np.sort(reviews["user"].astype(str).unique()))
    item_ext = pd.Index(np.sort(np.union1d(reviews["product"].astype(str).unique(), products.index.astype(str))))
    reviews["user_id"] = users.get_indexer(reviews["user"].astype(str)) + 1
    reviews["item_id"] = item_ext.get_indexer(reviews["product"].astype(str)) + 1
    events = events_frame(reviews, rating_event_types(reviews["rating"], rating_rule(rating_events)))
    products = products.reindex(item_ext)

    def first(values) -> object:
        if isinstance(values, list | np.ndarray) and len(values):
            inner = values[0]
            return first(inner) if isinstance(inner, list) else inner
        return values if isinstance(values, str) and values else None

    cats = products["categories"] if "categories" in products else products.get("category", pd.Series(None, index=item_ext))
    category = [
        first(c) or (m if isinstance(m, str) and m else "unknown")
        for c, m in zip(cats, products.get("main_category", pd.Series(None, index=item_ext)), strict=True)
    ]
    brand = products["brand"] if "brand" in products else products.get("store", pd.Series(None, index=item_ext))
    first_review = events.groupby(C.ITEM_ID)[C.EVENT_AT].min()
    item_ids = np.arange(1, len(item_ext) + 1)
    items = items_frame(
        item_ids,
        category,
        pd.Series(item_ids).map(first_review),
        title=products.get("title", pd.Series(None, index=item_ext)).to_numpy(),
        brand=[b if isinstance(b, str) and b else None for b in brand],
        price=[_price(p) for p in products.get("price", pd.Series(None, index=item_ext))],
    )
    items["external_id"] = item_ext.to_numpy()
    user_frame = pd.DataFrame(
        {C.USER_ID: np.arange(1, len(users) + 1), "signup_at": pd.NaT, "country": pd.NA, "segment": pd.NA, "age_band": pd.NA}
    )
    user_frame["external_id"] = users.to_numpy()
    return {"users": user_frame, "items": items, "events": events}
