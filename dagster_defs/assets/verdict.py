"""The verdict of a feature change: each retrained model that takes declared features against its
version before the change, on the same validation rows (never the test window): the metric's change,
its 95% interval, the paired p-value, and helped / hurt / noise (``ml.feature_checks``). Follows the
models (automation); its table is analysis.feature_verdict, and the main job's summary prints it."""

import dagster as dg
import pandas as pd

from dagster_defs.assets.common import THREAD_BUDGET, ModelArtifact, code_version, md, store_analysis
from ml import feature_checks
from ml.warehouse import evaluation_store

# the models with validation rows of their own: the click models (their early-stopping block) and the
# two-stage ranker (its early-stopping window)
JUDGED = ("dcn", "ctr_mlp", "lgbm_ctr", "two_stage")
COLUMNS = ["model", "metric", "value", "ci_low", "ci_high", "p_value", "verdict", "features_added", "features_removed"]


@dg.asset(
    key=["analysis", "feature_verdict"],
    group_name="analysis",
    required_resource_keys=THREAD_BUDGET,
    ins={name: dg.AssetIn(["models", name]) for name in JUDGED},
    kinds={"python"},
    code_version=code_version("feature_checks.py"),
    description="Did the last feature change help? Each retrained click model and the two-stage ranker against its "
    "version before, on the same validation rows: change, 95% interval, paired p-value, helped / hurt / noise; "
    "table analysis.feature_verdict.",
)
def feature_verdict(context: dg.AssetExecutionContext, **trained: ModelArtifact) -> dg.MaterializeResult:
    rows, notes = [], {}
    for name, artifact in trained.items():
        pair = None if artifact.skipped else evaluation_store.validation_pair(name, artifact.version)
        if pair is None:
            notes[name] = artifact.skipped or "no earlier version on the same validation rows (first training, or new data)"
            continue
        rows.append(feature_checks.compare_versions(name, *pair))
    frame = pd.DataFrame(rows)
    meta: dict = {"not judged": dg.MetadataValue.json(notes)} if notes else {}
    if frame.empty:
        return dg.MaterializeResult(metadata={**meta, "verdicts": "(none)"})
    frame = frame.assign(slice="feature_change", k=0, **{c: float("nan") for c in ("auc", "auc_before") if c not in frame})
    extra = {"verdict": "varchar", "previous_version": "varchar", "features_added": "varchar", "features_removed": "varchar"}
    store_analysis(context, frame, "feature_verdict", **extra, auc="double", auc_before="double")  # AUCs: click models
    for row in frame.itertuples():
        interval = f"[{row.ci_low:+.5f}, {row.ci_high:+.5f}]"
        context.log.info(f"{row.model}: {row.verdict} ({row.metric} {row.value:+.5f} {interval}, p = {row.p_value:.3g})")
    return dg.MaterializeResult(
        metadata={**meta, "verdicts": md(frame[COLUMNS]), "table": "analysis.feature_verdict", "dagster/row_count": len(frame)}
    )
