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
from ml.data import InteractionData, load_interactions
from ml.models import ALSRecommender, ItemItemRecommender, PopularityRecommender, Recommender, load_model
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


TRAINED = {
    "popularity": (PopularityRecommender, PopularityConfig, "models/popularity.py"),
    "item_item": (ItemItemRecommender, ItemItemConfig, "models/item_item.py"),
    "als": (ALSRecommender, ALSConfig, "models/als.py"),
}


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
              kinds={"python", "implicit"} if name == "als" else {"python"},
              description=f"{model_cls.__doc__ or name} Trained on the train window of marts.interactions.")
    def train(context: dg.AssetExecutionContext, config: config_cls, recsys: RecsysResource) -> ModelArtifact:
        data = load_interactions(recsys.warehouse_path)
        model = model_cls(**config.model_dump())
        t0 = time.perf_counter()
        model.fit(data.train)
        seconds = time.perf_counter() - t0
        version = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{context.run_id[:8]}"
        path = artifacts.publish(recsys.artifacts_dir, name, version, model.save)
        size = sum(f.stat().st_size for f in path.iterdir())
        context.add_output_metadata({
            "training_seconds": dg.MetadataValue.float(round(seconds, 3)),
            "n_users": data.n_users, "n_items": data.n_items, "train_interactions": int(data.train.nnz),
            "artifact_path": dg.MetadataValue.path(str(path)), "artifact_bytes": size,
            "artifact_version": version, "hyperparameters": dg.MetadataValue.json(config.model_dump()),
            "sample_recommendations": dg.MetadataValue.md(sample_recommendations(model, data)),
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


@dg.asset(key=["evaluation", "oracle"], group_name="evaluation", deps=MART_KEYS, kinds={"python", "duckdb"},
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


training_assets = [build_training_asset(name) for name in TRAINED]
evaluation_assets = [build_evaluation_asset(name) for name in TRAINED] + [oracle_evaluation]
evaluation_checks = [build_beats_popularity_check(n) for n in ("item_item", "als")] + [
    build_regression_check(n) for n in TRAINED]
