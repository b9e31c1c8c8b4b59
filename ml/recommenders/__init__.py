"""Recommenders implementing the shared protocol (``ml.recommenders.base``); load any artifact with
``ml.artifacts.load_model``."""

from ml.recommenders.als import ALSRecommender
from ml.recommenders.base import CannotTrain, CatalogueTooLarge, Embedding, ItemSimilarity, Recommender, Scorer
from ml.recommenders.content import ContentRecommender, HybridRecommender
from ml.recommenders.ease import EASERecommender
from ml.recommenders.item_item import ItemItemRecommender
from ml.recommenders.popularity import PopularityRecommender
from ml.recommenders.rp3beta import RP3betaRecommender
from ml.recommenders.sasrec import SASRecRecommender
from ml.recommenders.two_tower import TwoTowerRecommender

RECOMMENDERS: dict[str, type[Recommender]] = {
    cls.name: cls
    for cls in (
        PopularityRecommender,
        ItemItemRecommender,
        ALSRecommender,
        EASERecommender,
        RP3betaRecommender,
        TwoTowerRecommender,
        SASRecRecommender,
        ContentRecommender,
        HybridRecommender,
    )
}

__all__ = [
    "RECOMMENDERS",
    "ALSRecommender",
    "CannotTrain",
    "CatalogueTooLarge",
    "ContentRecommender",
    "EASERecommender",
    "Embedding",
    "HybridRecommender",
    "ItemItemRecommender",
    "ItemSimilarity",
    "PopularityRecommender",
    "RP3betaRecommender",
    "Recommender",
    "SASRecRecommender",
    "Scorer",
    "TwoTowerRecommender",
]
