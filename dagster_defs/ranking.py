"""Issue-5 assets: LightGBM two-stage ranker, LightGBM CTR, and the cold-start and ablation analyses."""

import time
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import lightgbm as lgb
import pandas as pd
from pydantic import Field

from dagster_defs.models import CTR_KEY, MART_KEYS, ModelArtifact, code_version, ctr_rows, load_ctr_examples, store_metrics
from dagster_defs.resources import RecsysResource
from ml import artifacts, evaluation, warehouse
from ml import ranking as R
from ml.data import load_interactions
from ml.evaluation import relevant_items
from ml.models import load_model
from ml.models.ctr import CTR_FEATURE_GROUPS, CTRModel, LightGBMCTR, ctr_report, split_examples

DAILY_KEY = dg.AssetKey(["marts", "interactions_daily"])


class TwoStageConfig(dg.Config):
    n_candidates: int = Field(50, description="top-N taken from each generator (popularity, item_item, als)")
    label_days: int = Field(7, description="length of each label window inside the train period")
    n_train_windows: int = Field(5, description="weekly label windows stacked for ranker training")
    max_users_per_window: int = Field(5_000, description="users sampled (seeded) per training window; bounds the "
                                                          "candidate frames on large data")
    num_leaves: int = Field(15, description="LightGBM leaves per tree")
    min_child_samples: int = Field(300, description="LightGBM minimum examples per leaf")
    n_estimators: int = Field(600, description="maximum boosting rounds (early stopping on the validation window)")
    learning_rate: float = Field(0.03, description="LightGBM learning rate")
    seed: int = Field(42, description="LightGBM seed")


def ranking_inputs(recsys: RecsysResource, config: TwoStageConfig):
    return R.load_windows(recsys.warehouse_path, config.label_days, config.n_train_windows)


def ranker_frames(data, windows, config: TwoStageConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    train_windows, val_window, _ = windows
    train = R.stacked_frames(train_windows, data.users, data.items, config.n_candidates,
                             max_users=config.max_users_per_window, seed=config.seed)
    val, _ = R.ranking_frame(val_window, data.users, data.items, config.n_candidates,
                             max_users=config.max_users_per_window, seed=config.seed)
    return train, val


def fit_ranker(train: pd.DataFrame, val: pd.DataFrame, config: TwoStageConfig, features=R.FEATURES):
    return R.train_ranker(train, val, features=features, seed=config.seed, n_estimators=config.n_estimators,
                          learning_rate=config.learning_rate, num_leaves=config.num_leaves,
                          min_child_samples=config.min_child_samples)


def version_of(context) -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{context.run_id[:8]}"


@dg.asset(key=["models", "two_stage"], group_name="models", deps=[DAILY_KEY, *MART_KEYS], kinds={"python", "lightgbm"},
          code_version=code_version("ranking.py"),
          description="LightGBM LambdaRank over the union of popularity, item-item and ALS candidates, boosted from "
                      "the ALS ranking, trained on label windows inside the train period, early-stopped on the last one.")
def two_stage_model(context: dg.AssetExecutionContext, config: TwoStageConfig, recsys: RecsysResource) -> ModelArtifact:
    data, windows = ranking_inputs(recsys, config)
    t0 = time.perf_counter()
    train, val = ranker_frames(data, windows, config)
    ranker = fit_ranker(train, val, config)
    seconds = time.perf_counter() - t0
    importance = pd.DataFrame({"feature": R.FEATURES, "gain": ranker.booster_.feature_importance("gain")}
                              ).sort_values("gain", ascending=False)

    def write(directory: Path) -> None:
        ranker.booster_.save_model(str(directory / "ranker.txt"))
        (directory / "params.json").write_text(pd.Series(config.model_dump()).to_json())

    version = version_of(context)
    path = artifacts.publish(recsys.artifacts_dir, "two_stage", version, write)
    context.add_output_metadata({
        "training_seconds": dg.MetadataValue.float(round(seconds, 3)), "best_iteration": int(ranker.best_iteration_),
        "train_rows": len(train), "train_positives": int((train["label"] > 0).sum()), "validation_rows": len(val),
        "feature_importance_gain": dg.MetadataValue.md(importance.round(1).to_markdown(index=False)),
        "artifact_path": dg.MetadataValue.path(str(path)), "artifact_version": version,
    })
    return ModelArtifact(model="two_stage", version=version, path=str(path))


@dg.asset(key=["evaluation", "two_stage"], group_name="evaluation", deps=[DAILY_KEY, *MART_KEYS],
          ins={"model": dg.AssetIn(["models", "two_stage"]), "popularity": dg.AssetIn(["models", "popularity"]),
               "item_item": dg.AssetIn(["models", "item_item"]), "als": dg.AssetIn(["models", "als"])},
          kinds={"python", "duckdb"}, code_version=code_version("ranking.py", "evaluation.py", "metrics.py"),
          description="Test-window ranking metrics of the two-stage ranker (candidates from the trained "
                      "generators) and candidate recall@N; appended to evaluation.two_stage.")
def two_stage_evaluation(context: dg.AssetExecutionContext, recsys: RecsysResource, model: ModelArtifact,
                         popularity: ModelArtifact, item_item: ModelArtifact, als: ModelArtifact) -> dg.MaterializeResult:
    config = TwoStageConfig(**pd.read_json(Path(model.path) / "params.json", typ="series").to_dict())
    data, (_, _, test_window) = ranking_inputs(recsys, config)
    generators = {"popularity": load_model(popularity.path), "item_item": load_model(item_item.path),
                  "als": load_model(als.path)}
    ranker = lgb.Booster(model_file=str(Path(model.path) / "ranker.txt"))
    two_stage = R.TwoStageRecommender(generators, ranker, test_window, data.users, data.items, config.n_candidates)
    frame = evaluation.evaluate(two_stage, data, fallback=generators["popularity"])
    rel = relevant_items(data)
    recall = {n: R.candidate_recall(generators, data.train, rel, n) for n in (50, 100, 200)}
    frame = pd.concat([frame, pd.DataFrame([("all", "candidate_recall", n, v, 0) for n, v in recall.items()],
                                           columns=frame.columns)], ignore_index=True)
    meta = store_metrics(context, frame, "two_stage", model.version, recsys)
    meta.update({f"candidate_recall@{n}": dg.MetadataValue.float(v) for n, v in recall.items()})
    return dg.MaterializeResult(metadata=meta)


class LightGBMCTRConfig(dg.Config):
    n_estimators: int = Field(500, description="maximum boosting rounds (early stopping on validation AUC)")
    learning_rate: float = Field(0.05, description="LightGBM learning rate")
    num_leaves: int = Field(31, description="leaves per tree")
    min_child_samples: int = Field(50, description="minimum examples per leaf")
    seed: int = Field(42, description="LightGBM seed")


@dg.asset(key=["evaluation", "lgbm_ctr"], group_name="evaluation", deps=[CTR_KEY], kinds={"python", "lightgbm"},
          code_version=code_version("models/ctr.py"),
          description="LightGBM binary CTR model trained on the train blocks of ctr_examples (early stopping on the "
                      "latest block) and its test AUC next to the DCN's; appended to evaluation.lgbm_ctr.")
def lgbm_ctr_evaluation(context: dg.AssetExecutionContext, config: LightGBMCTRConfig,
                        recsys: RecsysResource) -> dg.MaterializeResult:
    train, val, test = split_examples(load_ctr_examples(recsys))
    t0 = time.perf_counter()
    model = LightGBMCTR(**config.model_dump()).fit(train, val)
    seconds = time.perf_counter() - t0
    version = version_of(context)
    path = artifacts.publish(recsys.artifacts_dir, "lgbm_ctr", version, model.save)
    report = ctr_report(test["clicked"].to_numpy(), model.predict_proba(test))
    meta = store_metrics(context, ctr_rows(report), "lgbm_ctr", version, recsys)
    meta.update({"training_seconds": dg.MetadataValue.float(round(seconds, 3)),
                 "test_auc": dg.MetadataValue.float(report["auc"]), "artifact_path": dg.MetadataValue.path(str(path))})
    return dg.MaterializeResult(metadata=meta)


COLD_START_MODELS = ("popularity", "item_item", "als", "two_tower", "content", "hybrid")


@dg.asset(key=["analysis", "cold_start"], group_name="analysis", deps=MART_KEYS, kinds={"python", "duckdb"},
          ins={name: dg.AssetIn(["models", name]) for name in COLD_START_MODELS},
          code_version=code_version("evaluation.py"),
          description="Per model, NDCG/recall@10 for users with no train interactions (each model's own answer, "
                      "no fallback), users with 1-3, and items new in the test window; table analysis.cold_start.")
def cold_start_analysis(context: dg.AssetExecutionContext, recsys: RecsysResource, **models: ModelArtifact
                        ) -> dg.MaterializeResult:
    data = load_interactions(recsys.warehouse_path)
    frames = []
    for name, artifact in models.items():
        frame = evaluation.cold_start_metrics(load_model(artifact.path), data)
        frames.append(frame.assign(model=name, model_version=artifact.version))
    frame = pd.concat(frames, ignore_index=True)
    frame = frame.assign(run_id=context.run_id, evaluated_at=datetime.now(UTC).replace(tzinfo=None))
    warehouse.append_metrics("cold_start", frame, recsys.warehouse_path, schema="analysis")
    table = frame[frame["metric"] == "ndcg"].pivot_table(index="model", columns="slice", values="value").round(4)
    return dg.MaterializeResult(metadata={"ndcg@10 by slice": dg.MetadataValue.md(table.to_markdown()),
                                          "table": "analysis.cold_start"})


@dg.asset(key=["analysis", "feature_ablation"], group_name="analysis", deps=[DAILY_KEY, CTR_KEY, *MART_KEYS],
          ins={"popularity": dg.AssetIn(["models", "popularity"]), "item_item": dg.AssetIn(["models", "item_item"]),
               "als": dg.AssetIn(["models", "als"])},
          kinds={"python", "lightgbm", "pytorch"}, code_version=code_version("ranking.py", "models/ctr.py"),
          description="Drop one feature group at a time: the two-stage ranker's test NDCG@10 and the DCN's test AUC "
                      "against the full model (delta), plus LightGBM gain importances; table analysis.feature_ablation.")
def feature_ablation(context: dg.AssetExecutionContext, recsys: RecsysResource, popularity: ModelArtifact,
                     item_item: ModelArtifact, als: ModelArtifact) -> dg.MaterializeResult:
    config = TwoStageConfig()
    data, windows = ranking_inputs(recsys, config)
    generators = {"popularity": load_model(popularity.path), "item_item": load_model(item_item.path),
                  "als": load_model(als.path)}
    rows = []
    train_frame, val_frame = ranker_frames(data, windows, config)  # candidates and features built once
    for group in [None, *R.FEATURE_GROUPS]:
        features = [f for f in R.FEATURES if group is None or f not in R.FEATURE_GROUPS[group]]
        ranker = fit_ranker(train_frame, val_frame, config, features)
        rec = R.TwoStageRecommender(generators, ranker, windows[2], data.users, data.items, config.n_candidates, features)
        res = evaluation.evaluate(rec, data, fallback=generators["popularity"], k_values=(10,))
        value = float(res[(res.metric == "ndcg") & (res.slice == "all")]["value"].iloc[0])
        rows.append(("two_stage", group or "none", "ndcg", 10, value))
        context.log.info(f"two_stage without {group}: ndcg@10 {value:.4f}")
    train, val, test = split_examples(load_ctr_examples(recsys))
    for group in [None, *CTR_FEATURE_GROUPS]:
        # capped epochs keep the seven retrainings short; the full model is retrained the same way
        model = CTRModel("dcn", epochs=4, drop_features=tuple(CTR_FEATURE_GROUPS.get(group, ()))).fit(train, val)
        auc = ctr_report(test["clicked"].to_numpy(), model.predict_proba(test))["auc"]
        rows.append(("dcn", group or "none", "auc", 0, auc))
        context.log.info(f"dcn without {group}: auc {auc:.4f}")
    frame = pd.DataFrame(rows, columns=["model", "dropped_group", "metric", "k", "value"])
    full = frame[frame["dropped_group"] == "none"].set_index("model")["value"]
    frame["delta"] = frame["value"] - frame["model"].map(full)
    frame = frame.assign(slice="drop:" + frame["dropped_group"], n_users=0, model_version="",
                         run_id=context.run_id, evaluated_at=datetime.now(UTC).replace(tzinfo=None))
    warehouse.append_metrics("feature_ablation", frame, recsys.warehouse_path, schema="analysis",
                             extra_columns={"dropped_group": "varchar", "delta": "double"})
    return dg.MaterializeResult(metadata={
        "ablation": dg.MetadataValue.md(frame[["model", "dropped_group", "metric", "value", "delta"]].round(4)
                                        .to_markdown(index=False)),
        "table": "analysis.feature_ablation"})


ranking_assets = [two_stage_model, two_stage_evaluation, lgbm_ctr_evaluation, cold_start_analysis, feature_ablation]
