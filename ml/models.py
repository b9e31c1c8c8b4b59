"""Every model the graph trains, evaluates or serves, by name and kind: the one list that the Dagster
assets, the service, the evaluation table and the tests read. Importing it imports every model class,
so each has registered its loader: ``ml.models.load_model`` loads any published artifact."""

from __future__ import annotations

from dataclasses import dataclass

from ml.artifacts import load_model
from ml.ctr.deep import ARCHITECTURES
from ml.ctr.gbdt import LightGBMCTR
from ml.ctr.rerank import RerankScorer
from ml.evaluation.oracle import OracleRecommender
from ml.recommenders import RECOMMENDERS
from ml.two_stage.ranker import TwoStageScorer


@dataclass(frozen=True)
class ModelSpec:
    name: str
    kind: str  # recommender (interaction matrix), ranker (two-stage), ctr (click model), reference (oracle)
    description: str


_SPECS = [
    ModelSpec(
        "popularity",
        "recommender",
        "Popularity baseline: the items with the most train users, the same for "
        "everyone (weight breaks ties); also the fallback for users without history.",
    ),
    ModelSpec(
        "item_item",
        "recommender",
        "Item-item collaborative filtering: shrunk cosine similarity between item "
        "columns, top-k neighbours per item, users scored through the items they interacted with.",
    ),
    ModelSpec(
        "als", "recommender", "Implicit-feedback ALS (implicit library): latent factors fit with confidence 1 + alpha * weight."
    ),
    ModelSpec(
        "ease",
        "recommender",
        "EASE: closed-form linear item-item weights (ridge regression of each item on all others, zero "
        "diagonal); refuses catalogues above its memory budget.",
    ),
    ModelSpec(
        "rp3beta",
        "recommender",
        "RP3beta: item-to-item transition probabilities of a three-step random walk on the user-item graph, "
        "popular destinations penalised (beta); top-k neighbours per item.",
    ),
    ModelSpec(
        "two_tower",
        "recommender",
        "Two-tower retrieval (torch): ID + feature towers, sampled softmax with "
        "logQ-corrected negatives; users without history embedded from their features.",
    ),
    ModelSpec(
        "sasrec",
        "recommender",
        "SASRec: causal self-attention over a user's latest steps (marts.user_sequences), next item by "
        "inner product with the item vectors; events logged since training continue the sequence.",
    ),
    ModelSpec(
        "content",
        "recommender",
        "Content-based: item vectors of category, brand and price band; a user's "
        "profile is the weighted mean of the items they interacted with.",
    ),
    ModelSpec("hybrid", "recommender", "Hybrid: per-user standardised blend of ALS and content scores."),
    ModelSpec(
        "two_stage",
        "ranker",
        "Two-stage: LightGBM LambdaRank over the union of popularity, item-item, ALS and EASE "
        "candidates, boosted from the ALS ranking.",
    ),
    ModelSpec(
        "dcn",
        "ctr",
        "Deep & Cross Network v2 click model on the impression-level CTR examples; its "
        "evaluation also reranks ALS's top-50 by predicted click probability.",
    ),
    ModelSpec("ctr_mlp", "ctr", "Embedding + MLP click model: the DCN's baseline."),
    ModelSpec("lgbm_ctr", "ctr", "LightGBM binary click model on the CTR examples."),
    ModelSpec("oracle", "reference", "Upper bound: ranks by the synthetic generator's true affinity (synthetic data only)."),
]
MODELS: dict[str, ModelSpec] = {spec.name: spec for spec in _SPECS}
RECOMMENDER_NAMES = [s.name for s in _SPECS if s.kind == "recommender"]
CTR_MODELS = [s.name for s in _SPECS if s.kind == "ctr"]
CTR_NETWORKS = {"dcn": "dcn", "ctr_mlp": "mlp"}  # CTR models that are networks -> their CTRModel architecture
SERVED = [s.name for s in _SPECS if s.kind in ("recommender", "ranker")]
EVALUATED_ONLY = [s.name for s in _SPECS if s.name not in SERVED]  # CTR models rank through ALS; the oracle has no artifact
FALLBACK = "popularity"  # serves users a model cannot rank (unknown, or without history)
# what the service loads when published: the served models, and the oracle where a simulated world
# (recsys-simulate) published it for its experiment
SERVABLE = [*SERVED, OracleRecommender.name]
assert set(RECOMMENDERS) == set(RECOMMENDER_NAMES), "ml.recommenders and the model list disagree"
assert set(CTR_NETWORKS.values()) == set(ARCHITECTURES) and set(CTR_NETWORKS) <= set(CTR_MODELS)
assert TwoStageScorer.name in SERVED and LightGBMCTR.name in CTR_MODELS and RerankScorer.name == "rerank"

__all__ = [
    "CTR_MODELS",
    "CTR_NETWORKS",
    "EVALUATED_ONLY",
    "FALLBACK",
    "MODELS",
    "RECOMMENDER_NAMES",
    "SERVABLE",
    "SERVED",
    "ModelSpec",
    "load_model",
]
