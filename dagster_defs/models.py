"""Training and evaluation assets: thin wrappers around ml/ (one asset per model, per evaluation)."""

import hashlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
from pydantic import Field

import ml
from dagster_defs.resources import RecsysResource
from ml import artifacts, evaluation, warehouse
from ml.data import InteractionData, ServingIndex, load_interactions
from ml.models import (
    ALSRecommender,
    ContentRecommender,
    HybridRecommender,
    ItemItemRecommender,
    PopularityRecommender,
    Recommender,
    TwoTowerRecommender,
    load_model,
)
from ml.models.ctr import CTRModel, RerankRecommender, ctr_report, split_examples
from ml.synthetic import GroundTruth

MART_KEYS = [dg.AssetKey(["marts", "interactions"]), dg.AssetKey(["marts", "user_features"]),
             dg.AssetKey(["marts", "item_features"])]
ML_DIR = Path(ml.__file__).parent


def code_version(*files: str) -> str:
    """Hash of the ml/ sources an asset runs, so the UI flags it when that code changes."""
    digest = hashlib.sha1()
    for name in ("data.py", "models/base.py", *files):
        digest.update((ML_DIR / name).read_bytes())
    return digest.hexdigest()[:12]


@dataclass(frozen=True)
class ModelArtifact:
    """What a training asset hands to its evaluation: the exact artifact version it published."""

    model: str
    version: str
    path: str


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


TRAINED = {
    "popularity": (PopularityRecommender, PopularityConfig, "models/popularity.py"),
    "item_item": (ItemItemRecommender, ItemItemConfig, "models/item_item.py"),
    "als": (ALSRecommender, ALSConfig, "models/als.py"),
    "two_tower": (TwoTowerRecommender, TwoTowerConfig, "models/two_tower.py"),
    "content": (ContentRecommender, ContentConfig, "models/content.py"),
    "hybrid": (HybridRecommender, HybridConfig, "models/content.py"),
}
KINDS = {"als": {"python", "implicit"}, "two_tower": {"python", "pytorch"}}


def history_table(history: list[dict]) -> dg.MetadataValue:
    if not history:
        return dg.MetadataValue.md("(no epochs)")
    frame = pd.DataFrame(history).round(4)
    return dg.MetadataValue.md(frame.to_markdown(index=False))


def sample_recommendations(model: Recommender, data: InteractionData, n: int = 3, k: int = 5) -> str:
    users = np.flatnonzero(np.diff(data.train.indptr) > 0)[:n]
    items, scores = model.recommend(users, k, exclude=data.train)
    lines = ["| user_id | recommended item_id (category) |", "|---|---|"]
    for u, row in zip(users, items, strict=True):
        cells = ", ".join(f"{data.items.item_id[i]} ({data.items.category[i]})" for i in row if i >= 0)
        lines.append(f"| {data.users.user_id[u]} | {cells} |")
    return "\n".join(lines)


def build_training_asset(name: str):
    model_cls, config_cls, source = TRAINED[name]

    @dg.asset(key=["models", name], group_name="models", deps=MART_KEYS, code_version=code_version(source),
              kinds=KINDS.get(name, {"python"}),
              description=f"{model_cls.__doc__ or name} Trained on the train window of marts.interactions.")
    def train(context: dg.AssetExecutionContext, config: config_cls, recsys: RecsysResource) -> ModelArtifact:
        data = load_interactions(recsys.warehouse_path)
        model = model_cls(**config.model_dump())
        t0 = time.perf_counter()
        model.fit(data.train, user_features=data.users, item_features=data.items, log=context.log.info)
        seconds = time.perf_counter() - t0
        version = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{context.run_id[:8]}"
        index = ServingIndex.from_data(data)

        def write(directory: Path) -> None:  # the model plus what the service needs to serve it alone
            model.save(directory)
            index.save(directory)

        path = artifacts.publish(recsys.artifacts_dir, name, version, write)
        size = sum(f.stat().st_size for f in path.iterdir())
        context.add_output_metadata({
            "training_seconds": dg.MetadataValue.float(round(seconds, 3)),
            "n_users": data.n_users, "n_items": data.n_items, "train_interactions": int(data.train.nnz),
            "artifact_path": dg.MetadataValue.path(str(path)), "artifact_bytes": size,
            "artifact_version": version, "hyperparameters": dg.MetadataValue.json(config.model_dump()),
            "sample_recommendations": dg.MetadataValue.md(sample_recommendations(model, data)),
            **({"epochs": history_table(model.history), "final_loss": float(model.history[-1]["loss"])}
               if getattr(model, "history", None) else {}),
        })
        return ModelArtifact(model=name, version=version, path=str(path))

    return train


def metrics_metadata(frame: pd.DataFrame) -> dict:
    """Numeric headline metrics (plotted across materializations) plus a markdown table."""
    at10 = frame[frame["k"] == 10]
    meta = {f"{r.slice}/{r.metric}@10": dg.MetadataValue.float(float(np.nan_to_num(r.value)))
            for r in at10.itertuples() if r.slice in ("all", "cold_users", "new_items")}
    table = at10.pivot_table(index="metric", columns="slice", values="value").round(4)
    meta["metrics@10"] = dg.MetadataValue.md(table.to_markdown() if hasattr(table, "to_markdown") else table.to_string())
    return meta


def store_metrics(context, frame: pd.DataFrame, name: str, version: str, recsys: RecsysResource) -> dict:
    frame = frame.assign(model=name, model_version=version, run_id=context.run_id,
                         evaluated_at=datetime.now(UTC).replace(tzinfo=None))
    n = warehouse.append_metrics(name, frame, recsys.warehouse_path)
    return {"rows_written": n, "table": f"evaluation.{name}", **metrics_metadata(frame)}


def evaluate_and_store(context, recsys: RecsysResource, name: str, model: ModelArtifact,
                       fallback: ModelArtifact) -> dg.MaterializeResult:
    data = load_interactions(recsys.warehouse_path)
    trained = load_model(model.path)
    fb = trained if fallback.path == model.path else load_model(fallback.path)
    frame = evaluation.evaluate(trained, data, fallback=fb)
    return dg.MaterializeResult(metadata=store_metrics(context, frame, name, model.version, recsys))


def build_evaluation_asset(name: str):
    spec = dict(key=["evaluation", name], group_name="evaluation", deps=MART_KEYS,
                code_version=code_version("evaluation.py", "metrics.py"), kinds={"python", "duckdb"},
                description=f"Test-window metrics of models/{name} (cold users served by popularity), "
                            f"appended to the warehouse table evaluation.{name}.")
    if name == "popularity":
        @dg.asset(ins={"model": dg.AssetIn(["models", name])}, **spec)
        def evaluate_own(context: dg.AssetExecutionContext, recsys: RecsysResource,
                         model: ModelArtifact) -> dg.MaterializeResult:
            return evaluate_and_store(context, recsys, name, model, model)

        return evaluate_own

    @dg.asset(ins={"model": dg.AssetIn(["models", name]), "fallback": dg.AssetIn(["models", "popularity"])}, **spec)
    def evaluate(context: dg.AssetExecutionContext, recsys: RecsysResource, model: ModelArtifact,
                 fallback: ModelArtifact) -> dg.MaterializeResult:
        return evaluate_and_store(context, recsys, name, model, fallback)

    return evaluate


@dg.asset(key=["evaluation", "oracle"], group_name="evaluation", deps=[*MART_KEYS, dg.AssetKey(["marts", "ctr_examples"])],
          kinds={"python", "duckdb"},
          code_version=code_version("evaluation.py", "metrics.py", "synthetic.py"),
          description="Upper bound: ranking by the synthetic generator's true affinity (needs its ground truth).")
def oracle_evaluation(context: dg.AssetExecutionContext, recsys: RecsysResource) -> dg.MaterializeResult:
    gt_path = Path(recsys.ground_truth_path)
    if not gt_path.exists():
        context.log.warning(f"no ground truth at {gt_path}: real data has no oracle; nothing written")
        return dg.MaterializeResult(metadata={"ground_truth": "missing", "rows_written": 0})
    data = load_interactions(recsys.warehouse_path)
    oracle = evaluation.OracleRecommender(GroundTruth.load(gt_path)).fit(
        data.train, user_ids=data.users["user_id"].to_numpy(), item_ids=data.items["item_id"].to_numpy())
    frame = evaluation.evaluate(oracle, data, fallback=None)
    _, _, test = split_examples(load_ctr_examples(recsys))
    truth = pd.Series(oracle.ground_truth.click_probability, index=oracle.ground_truth.impression_event_ids)
    report = ctr_report(test["clicked"].to_numpy(), truth.reindex(test["event_id"]).to_numpy())
    frame = pd.concat([frame, ctr_rows(report)], ignore_index=True)
    return dg.MaterializeResult(metadata=store_metrics(context, frame, "oracle", gt_path.name, recsys))


def build_beats_popularity_check(name: str):
    @dg.asset_check(asset=dg.AssetKey(["evaluation", name]), blocking=True,
                    additional_deps=[dg.AssetKey(["evaluation", "popularity"])],
                    description=f"{name} NDCG@10 on the test window is above the popularity baseline's")
    def beats_popularity(recsys: RecsysResource) -> dg.AssetCheckResult:
        mine = warehouse.metric_history(name, path=recsys.warehouse_path)
        base = warehouse.metric_history("popularity", path=recsys.warehouse_path)
        if mine.empty or base.empty:
            return dg.AssetCheckResult(passed=False, description="missing evaluation rows")
        m, b = float(mine["value"].iloc[-1]), float(base["value"].iloc[-1])
        return dg.AssetCheckResult(passed=m > b, metadata={"ndcg@10": m, "popularity_ndcg@10": b, "lift": m - b})

    return beats_popularity


def build_regression_check(name: str):
    @dg.asset_check(asset=dg.AssetKey(["evaluation", name]), blocking=True,
                    description="NDCG@10 did not drop more than ndcg_regression_tolerance below the previous evaluation")
    def ndcg_not_regressed(recsys: RecsysResource) -> dg.AssetCheckResult:
        history = warehouse.metric_history(name, path=recsys.warehouse_path)
        if len(history) < 2:
            return dg.AssetCheckResult(passed=True, metadata={"note": "first evaluation, nothing to compare"})
        prev, cur = float(history["value"].iloc[-2]), float(history["value"].iloc[-1])
        return dg.AssetCheckResult(
            passed=cur >= prev - recsys.ndcg_regression_tolerance,
            metadata={"ndcg@10": cur, "previous_ndcg@10": prev, "tolerance": recsys.ndcg_regression_tolerance})

    return ndcg_not_regressed


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


CTR_KEY = dg.AssetKey(["marts", "ctr_examples"])
CTR_MODELS = {"dcn": "dcn", "ctr_mlp": "mlp"}


def load_ctr_examples(recsys: RecsysResource) -> pd.DataFrame:
    with warehouse.connect(recsys.warehouse_path) as con:
        return con.execute("select * from marts.ctr_examples order by event_id").df()


def build_ctr_training_asset(name: str):
    @dg.asset(key=["models", name], group_name="models", deps=[CTR_KEY], kinds={"python", "pytorch"},
              code_version=code_version("models/ctr.py", "models/neural.py"),
              description=f"{'Deep & Cross Network v2' if name == 'dcn' else 'Embedding + MLP baseline'} CTR model "
                          "on marts.ctr_examples; validation = the latest train block, early stopping on its AUC.")
    def train_ctr(context: dg.AssetExecutionContext, config: CTRConfig, recsys: RecsysResource) -> ModelArtifact:
        train, validation, _ = split_examples(load_ctr_examples(recsys))
        model = CTRModel(architecture=CTR_MODELS[name], **config.model_dump())
        t0 = time.perf_counter()
        model.fit(train, validation, log=context.log.info)
        seconds = time.perf_counter() - t0
        version = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{context.run_id[:8]}"
        path = artifacts.publish(recsys.artifacts_dir, name, version, model.save)
        context.add_output_metadata({
            "training_seconds": dg.MetadataValue.float(round(seconds, 3)),
            "train_examples": len(train), "validation_examples": len(validation), "best_epoch": model.best_epoch,
            "best_validation_auc": dg.MetadataValue.float(max(h["val_auc"] for h in model.history)),
            "epochs": history_table(model.history), "artifact_path": dg.MetadataValue.path(str(path)),
            "artifact_version": version, "hyperparameters": dg.MetadataValue.json(config.model_dump()),
        })
        return ModelArtifact(model=name, version=version, path=str(path))

    return train_ctr


def ctr_rows(report: dict) -> pd.DataFrame:
    return pd.DataFrame([("ctr_test", m, 0, report[m], 0) for m in ("auc", "log_loss", "calibration_error")],
                        columns=["slice", "metric", "k", "value", "n_users"])


def evaluate_ctr_model(context, recsys: RecsysResource, name: str, model: ModelArtifact,
                       base: ModelArtifact | None = None, fallback: ModelArtifact | None = None) -> dg.MaterializeResult:
    ctr = CTRModel.load(model.path)
    _, _, test = split_examples(load_ctr_examples(recsys))
    report = ctr_report(test["clicked"].to_numpy(), ctr.predict_proba(test))
    frames = [ctr_rows(report)]
    if base is not None:
        data = load_interactions(recsys.warehouse_path)
        rerank = RerankRecommender(load_model(base.path), ctr, data.users, data.items, data.train, n_candidates=50)
        frames.append(evaluation.evaluate(rerank, data, fallback=load_model(fallback.path)))
    meta = store_metrics(context, pd.concat(frames, ignore_index=True), name, model.version, recsys)
    meta.update({"test_auc": dg.MetadataValue.float(report["auc"]),
                 "test_log_loss": dg.MetadataValue.float(report["log_loss"]),
                 "calibration": dg.MetadataValue.md(pd.DataFrame(report["calibration"]).round(4).to_markdown(index=False))})
    return dg.MaterializeResult(metadata=meta)


def build_ctr_evaluation_asset(name: str):
    spec = dict(key=["evaluation", name], group_name="evaluation", deps=[CTR_KEY, *MART_KEYS],
                kinds={"python", "duckdb"}, code_version=code_version("models/ctr.py", "evaluation.py", "metrics.py"),
                description=f"Test-window AUC, log loss and calibration of models/{name}"
                            + (" and the ranking metrics of ALS's top-50 reranked by it" if name == "dcn" else "")
                            + f"; appended to evaluation.{name}.")
    if name == "dcn":
        @dg.asset(ins={"model": dg.AssetIn(["models", name]), "base": dg.AssetIn(["models", "als"]),
                       "fallback": dg.AssetIn(["models", "popularity"])}, **spec)
        def evaluate_reranker(context: dg.AssetExecutionContext, recsys: RecsysResource, model: ModelArtifact,
                              base: ModelArtifact, fallback: ModelArtifact) -> dg.MaterializeResult:
            return evaluate_ctr_model(context, recsys, name, model, base, fallback)

        return evaluate_reranker

    @dg.asset(ins={"model": dg.AssetIn(["models", name])}, **spec)
    def evaluate_ctr(context: dg.AssetExecutionContext, recsys: RecsysResource,
                     model: ModelArtifact) -> dg.MaterializeResult:
        return evaluate_ctr_model(context, recsys, name, model)

    return evaluate_ctr


training_assets = [build_training_asset(name) for name in TRAINED] + [build_ctr_training_asset(n) for n in CTR_MODELS]
evaluation_assets = ([build_evaluation_asset(name) for name in TRAINED] + [oracle_evaluation]
                     + [build_ctr_evaluation_asset(n) for n in CTR_MODELS])
evaluation_checks = [build_beats_popularity_check(n) for n in ("item_item", "als", "two_tower")] + [
    build_regression_check(n) for n in TRAINED]
