"""Hyperparameters of every training asset, as Dagster configs (editable in the Launchpad). Defaults
are the models' own defaults; each field says what it does."""

import dagster as dg
from pydantic import Field


class PopularityConfig(dg.Config):
    """The popularity baseline has no hyperparameters."""


class ItemItemConfig(dg.Config):
    k_neighbors: int = Field(100, description="neighbours kept per item")
    shrinkage: float = Field(50.0, description="added to the cosine denominator; damps rare co-occurrences")
    weighting: str = Field("log", description="transform of the mart weights: log (log1p), binary or raw")


class ALSConfig(dg.Config):
    factors: int = Field(16, description="latent dimensions")
    regularization: float = Field(1.0, description="L2 penalty on the factors")
    alpha: float = Field(1.0, description="confidence = 1 + alpha * weight")
    iterations: int = Field(15, description="ALS sweeps")
    seed: int = Field(42, description="random seed of the factor initialisation")


class TwoTowerConfig(dg.Config):
    embedding_dim: int = Field(32, description="size of the user/item embeddings (output of each tower)")
    hidden: int = Field(64, description="hidden units of each tower's MLP")
    epochs: int = Field(15, description="passes over the train interactions")
    batch_size: int = Field(512, description="interactions per batch (in-batch negatives)")
    negatives: str = Field("mixed", description="extra negatives: random (uniform), hard (popular, unseen) or mixed")
    n_negatives: int = Field(256, description="extra negatives shared by a batch")
    learning_rate: float = Field(3e-3, description="AdamW learning rate")
    temperature: float = Field(0.1, description="softmax temperature of the dot-product scores")
    id_dropout: float = Field(0.1, description="share of training rows whose user ID is hidden (teaches cold start)")
    seed: int = Field(42, description="seed of torch, numpy and the samplers")


class ContentConfig(dg.Config):
    """Item vectors from category, brand and price band; no hyperparameters."""


class HybridConfig(dg.Config):
    alpha: float = Field(0.7, description="weight of the standardised ALS scores; 1 - alpha goes to content")
    factors: int = Field(16, description="ALS latent dimensions")
    regularization: float = Field(1.0, description="ALS L2 penalty")
    als_alpha: float = Field(1.0, description="ALS confidence = 1 + als_alpha * weight")
    iterations: int = Field(15, description="ALS sweeps")
    seed: int = Field(42, description="ALS seed")


class CTRConfig(dg.Config):
    embedding_dim: int = Field(4, description="embedding size of each categorical feature")
    cross_layers: int = Field(2, description="DCN-v2 cross layers (ignored by the MLP baseline)")
    hidden: list[int] = Field([128, 64], description="deep MLP layer sizes")
    dropout: float = Field(0.1, description="dropout in the deep MLP")
    epochs: int = Field(20, description="maximum epochs (early stopping on validation AUC)")
    batch_size: int = Field(512, description="examples per batch")
    learning_rate: float = Field(2e-3, description="AdamW learning rate")
    weight_decay: float = Field(1e-4, description="AdamW weight decay")
    patience: int = Field(3, description="epochs without a better validation AUC before stopping")
    seed: int = Field(42, description="seed of torch and numpy")


class TwoStageConfig(dg.Config):
    n_candidates: int = Field(50, description="top-N taken from each generator (popularity, item_item, als)")
    label_days: int = Field(7, description="length of each label window inside the train period")
    n_train_windows: int = Field(5, description="weekly label windows stacked for ranker training")
    max_users_per_window: int = Field(
        5_000, description="users sampled (seeded) per training window; bounds the candidate frames on large data"
    )
    num_leaves: int = Field(15, description="LightGBM leaves per tree")
    min_child_samples: int = Field(300, description="LightGBM minimum examples per leaf")
    n_estimators: int = Field(600, description="maximum boosting rounds (early stopping on the validation window)")
    learning_rate: float = Field(0.03, description="LightGBM learning rate")
    seed: int = Field(42, description="LightGBM seed")


class LightGBMCTRConfig(dg.Config):
    n_estimators: int = Field(500, description="maximum boosting rounds (early stopping on validation AUC)")
    learning_rate: float = Field(0.05, description="LightGBM learning rate")
    num_leaves: int = Field(31, description="leaves per tree")
    min_child_samples: int = Field(50, description="minimum examples per leaf")
    seed: int = Field(42, description="LightGBM seed")


CONFIGS: dict[str, type[dg.Config]] = {
    "popularity": PopularityConfig,
    "item_item": ItemItemConfig,
    "als": ALSConfig,
    "two_tower": TwoTowerConfig,
    "content": ContentConfig,
    "hybrid": HybridConfig,
    "dcn": CTRConfig,
    "ctr_mlp": CTRConfig,
    "lgbm_ctr": LightGBMCTRConfig,
    "two_stage": TwoStageConfig,
}
