"""Recommenders implementing the shared protocol (``ml.models.base.Recommender``)."""

import json
from pathlib import Path

from ml.models.als import ALSRecommender
from ml.models.base import Recommender, UnsupportedOperation
from ml.models.content import ContentRecommender, HybridRecommender
from ml.models.item_item import ItemItemRecommender
from ml.models.popularity import PopularityRecommender
from ml.models.two_tower import TwoTowerRecommender

MODELS: dict[str, type[Recommender]] = {
    cls.name: cls for cls in (PopularityRecommender, ItemItemRecommender, ALSRecommender, TwoTowerRecommender,
                                ContentRecommender, HybridRecommender)
}


def load_model(directory) -> Recommender:
    """Load any saved model, dispatching on the name in its params.json."""
    name = json.loads((Path(directory) / "params.json").read_text())["model"]
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r} in {directory}; known: {sorted(MODELS)}")
    return MODELS[name].load(directory)


__all__ = ["MODELS", "ALSRecommender", "ContentRecommender", "HybridRecommender", "ItemItemRecommender",
           "PopularityRecommender", "Recommender", "TwoTowerRecommender", "UnsupportedOperation", "load_model"]
