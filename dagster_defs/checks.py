"""Asset checks on the evaluations (blocking: a failing model stops what depends on it) and on the
marts' column schemas. The decisions are plain functions, tested directly."""

import dagster as dg
import pandas as pd

from dagster_defs.assets.common import CTR_MART, DAILY_MART, INTERACTION_MARTS
from dagster_defs.resources import RecsysResource
from ml import catalog, warehouse
from ml import metrics as M

HEADLINE = f"{M.HEADLINE}@10"


def beats_baseline(mine: pd.DataFrame, base: pd.DataFrame) -> dg.AssetCheckResult:
    """Passes when the latest headline metric of ``mine`` is above the latest of ``base``."""
    if mine.empty or base.empty:
        return dg.AssetCheckResult(passed=False, description="missing evaluation rows: evaluate both models first")
    m, b = float(mine["value"].iloc[-1]), float(base["value"].iloc[-1])
    return dg.AssetCheckResult(
        passed=m > b, metadata={HEADLINE: round(m, 4), f"popularity_{HEADLINE}": round(b, 4), "lift": round(m - b, 4)}
    )


def not_regressed(history: pd.DataFrame, tolerance: float) -> dg.AssetCheckResult:
    """Passes on a first evaluation, or when the latest value is at most ``tolerance`` below the previous."""
    if len(history) < 2:
        return dg.AssetCheckResult(passed=True, metadata={"note": "first evaluation, nothing to compare"})
    prev, cur = float(history["value"].iloc[-2]), float(history["value"].iloc[-1])
    return dg.AssetCheckResult(
        passed=cur >= prev - tolerance,
        metadata={HEADLINE: round(cur, 4), f"previous_{HEADLINE}": round(prev, 4), "tolerance": tolerance},
    )


def build_beats_popularity_check(name: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey(["evaluation", name]),
        blocking=True,
        additional_deps=[dg.AssetKey(["evaluation", catalog.FALLBACK])],
        description=f"{name} {HEADLINE} on the test window is above the popularity baseline's",
    )
    def beats_popularity(recsys: RecsysResource) -> dg.AssetCheckResult:
        return beats_baseline(
            warehouse.metric_history(name, path=recsys.warehouse_path),
            warehouse.metric_history(catalog.FALLBACK, path=recsys.warehouse_path),
        )

    return beats_popularity


def build_regression_check(name: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey(["evaluation", name]),
        blocking=True,
        description=f"{HEADLINE} did not drop more than ndcg_regression_tolerance below the previous evaluation",
    )
    def ndcg_not_regressed(recsys: RecsysResource) -> dg.AssetCheckResult:
        return not_regressed(warehouse.metric_history(name, path=recsys.warehouse_path), recsys.ndcg_regression_tolerance)

    return ndcg_not_regressed


BEATS_POPULARITY = ("item_item", "als", "two_tower")
evaluation_checks = [build_beats_popularity_check(n) for n in BEATS_POPULARITY] + [
    build_regression_check(n) for n in catalog.RECOMMENDER_NAMES
]
# a mart whose columns change (renamed, dropped, retyped) warns before the models read it
schema_checks = dg.build_column_schema_change_checks(
    assets=[*INTERACTION_MARTS, DAILY_MART, CTR_MART], severity=dg.AssetCheckSeverity.WARN
)
