"""What the stage modules share: the artifact handle a training asset passes to its evaluation, code
versions, dbt asset keys, and the metadata formatting of metrics."""

import functools
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
from dagster_dbt import get_asset_key_for_model

import ml
from dagster_defs.assets.features import feature_dbt_assets
from dagster_defs.project import dbt_project
from ml import columns as C
from ml import settings, tracking
from ml.evaluation import metrics as M
from ml.evaluation import uncertainty
from ml.feature_sets import FeatureSet
from ml.serving.publish import provenance
from ml.warehouse import declarations, evaluation_store, marts

ML_DIR = Path(ml.__file__).parent


def mart_key(name: str) -> dg.AssetKey:
    """The asset key dagster-dbt gives a dbt model (follows its +schema; never spelled by hand)."""
    return get_asset_key_for_model([feature_dbt_assets], name)


def joining(into: str) -> list[dg.AssetKey]:
    """The feature marts whose yml joins their features into mart ``into`` (``ml.feature_sets.FeatureJoin``):
    an asset that reads ``into`` reads them too."""
    manifest = declarations.load_manifest(dbt_project.manifest_path)
    return [mart_key(join.mart) for join in declarations.feature_joins(manifest, into=into)]


INTERACTION_MARTS = [mart_key(n) for n in (C.INTERACTIONS, C.USER_FEATURES, C.ITEM_FEATURES)]
INTERACTION_MARTS += joining(C.USER_FEATURES) + joining(C.ITEM_FEATURES)
DAILY_MART = mart_key(C.INTERACTIONS_DAILY)
SEQUENCE_MART = mart_key(C.USER_SEQUENCES)  # read by the sequential models (Recommender.reads_sequences)
CTR_MART = mart_key(C.CTR_EXAMPLES)
CTR_INPUTS = [CTR_MART, *joining(C.CTR_EXAMPLES)]  # the CTR examples and the feature marts joining them
CANDIDATE_MART = mart_key("ctr_candidate_features")  # the CTR features of pairs to score
SPLIT_MART = mart_key(marts.SPLIT_WINDOWS)  # read by the ranker's windows and every model's provenance
# what a computing asset that takes no settings from the ``recsys`` resource requires of it all the same:
# its setup applies the run's thread budget in the step's process (each step has its own process)
THREAD_BUDGET = {"recsys"}


def code_version(*paths: str, model: str | None = None) -> str:
    """Hash of the ml/ sources (files or packages, relative to ml/, or absolute paths of other files) an
    asset runs and, for ``model``, of the mart features declared for it, so the UI flags the asset when
    either changes (a feature added in a mart's yml makes the models that take it unsynced)."""
    digest = hashlib.sha1()
    if model is not None:
        digest.update("".join(fs.for_model(model).fingerprint for fs in declared_features().values()).encode())
    for name in ("interactions.py", "recommenders/base.py", *paths):
        path = ML_DIR / name
        for f in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(source_digest(f))
    return digest.hexdigest()[:12]


@functools.cache
def source_digest(path: Path) -> bytes:
    """One file's hash, read once however many assets run it."""
    return hashlib.sha1(path.read_bytes()).digest()


@dataclass(frozen=True)
class ModelArtifact:
    """What a training asset hands to its evaluation: the exact artifact version it published."""

    model: str
    version: str
    path: str
    skipped: str = ""  # why nothing was trained (e.g. no impressions for a click model); then no path


def last_materialization(context: dg.AssetExecutionContext, what: str) -> tuple[dict, str, str]:
    """This asset's last materialization (``what`` it made, for the messages), when it ran today's code
    version: (its metadata values, its run id, ""); else ({}, "", why not). What a run may reuse or
    continue from (a tuning, a model's last version)."""
    key = context.asset_key
    event = context.instance.get_latest_materialization_event(key)
    if event is None or event.asset_materialization is None:
        return {}, "", f"no earlier {what} to reuse"
    if context.instance.get_latest_materialization_code_versions([key]).get(key) != context.assets_def.code_versions_by_key[key]:
        return {}, "", f"its code changed since the last {what}"
    meta = {k: getattr(v, "value", v) for k, v in event.asset_materialization.metadata.items()}
    return meta, event.run_id, ""


def skip(context: dg.AssetExecutionContext, reason: str) -> dict:
    """Log why an asset computed nothing and return the metadata that says so in the UI. The asset
    still materializes (empty), so that what does not depend on it, like the leaderboard, runs."""
    context.log.warning(f"{context.asset_key.to_user_string()} skipped: {reason}")
    return {"skipped": reason}


def new_version(context: dg.AssetExecutionContext) -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{context.run_id[:8]}"


def md(frame: pd.DataFrame, index: bool = False) -> dg.MetadataValue:
    shown = frame.round(4).astype(object).where(frame.notna(), None)  # a missing value is empty, not nan
    return dg.MetadataValue.md(shown.to_markdown(index=index, missingval="") if len(frame) else "(empty)")


COMPARISONS = ("vs_popularity", "vs_previous")  # slices of the paired tests (ml.evaluation.protocol.comparison_rows)


def metrics_metadata(frame: pd.DataFrame) -> dict:
    """Headline metrics@10 (plotted across materializations, rounded) and a table in registry order."""
    at10 = frame[frame["k"] == 10]
    meta: dict = {
        f"{r.slice}/{r.metric}@10": dg.MetadataValue.float(round(float(np.nan_to_num(r.value)), 4))
        for r in at10.itertuples()
        if r.slice in ("all", "cold_users", "new_items") and r.metric in M.REGISTRY
    }
    if len(at10):
        order = [m for m in M.REGISTRY if m in set(at10["metric"])]
        table = at10[~at10["slice"].isin(COMPARISONS)].pivot_table(index="metric", columns="slice", values="value")
        meta["metrics@10"] = md(table.reindex(order), index=True)
    headline = at10[(at10["slice"] == "all") & (at10["metric"] == M.HEADLINE)]
    if len(headline) and "ci_low" in headline:
        r = headline.iloc[0]
        meta[f"all/{M.HEADLINE}@10 95% CI"] = f"[{r.ci_low:.4f}, {r.ci_high:.4f}] over {int(r.n_users)} users"
    for r in at10[at10["slice"].isin(COMPARISONS)].itertuples():
        verdict = "significant" if r.p_value < uncertainty.ALPHA else "not significant"
        meta[f"{M.HEADLINE}@10 {r.slice}"] = (
            f"{r.value:+.4f} [{r.ci_low:+.4f}, {r.ci_high:+.4f}], p = {r.p_value:.3g} ({verdict}; {int(r.n_users)} paired users)"
        )
    ctr = frame[frame["slice"] == "ctr_test"]
    meta.update({f"test_{r.metric}": dg.MetadataValue.float(round(float(r.value), 4)) for r in ctr.itertuples()})
    return meta


def store_results(context: dg.AssetExecutionContext, frame: pd.DataFrame, name: str, version: str, test_window: str = "") -> dict:
    """Append an evaluation's metrics to evaluation.results with the run's identity; the asset metadata."""
    identity = {"model": name, "model_version": version, "run_id": context.run_id, "test_window": test_window}
    n = evaluation_store.append_results(frame, identity)
    tracking.log(context.run_id, name, {"evaluated_version": version}, tracking.headline_metrics(frame))
    return {"rows_written": n, "table": "evaluation.results", **metrics_metadata(frame)}


def store_analysis(context: dg.AssetExecutionContext, frame: pd.DataFrame, table: str, **extra_columns: str) -> dict:
    """Append an analysis's metrics (model and model_version per row) to ``analysis.<table>``."""
    n = evaluation_store.append_analysis(table, frame, context.run_id, **extra_columns)
    return {"rows_written": n, "table": f"analysis.{table}"}


def data_origin() -> dict:
    """What a published model's provenance.json says about its data (``ml.serving.publish.provenance``)."""
    return provenance(settings.warehouse_label(), marts.data_window())


def declared_features() -> dict[str, FeatureSet]:
    """The features the marts' yml declare, read from the manifest the code location loaded."""
    return declarations.feature_sets(declarations.load_manifest(dbt_project.manifest_path))


def features_metadata(features: dict[str, FeatureSet]) -> dict:
    """The ``features`` a model was fit with, by mart, as the UI shows them."""
    return {"features": dg.MetadataValue.json({mart: fs.names for mart, fs in features.items()})}
