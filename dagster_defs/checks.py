"""Asset checks on the evaluations (blocking: a failing model stops what depends on it) and on the
marts' column schemas. The decisions are plain functions, tested directly."""

import dagster as dg

from dagster_defs.assets.common import CTR_INPUTS, CTR_MART, DAILY_MART, INTERACTION_MARTS, SPLIT_MART
from dagster_defs.project import dbt_project
from ml import feature_checks, models
from ml.ctr.features import skip_reason, split_examples
from ml.evaluation import metrics as M
from ml.evaluation import uncertainty
from ml.warehouse import declarations, evaluation_store, marts

HEADLINE = f"{M.HEADLINE}@10"


def comparison_metadata(c: uncertainty.Comparison) -> dict:
    return {
        f"{HEADLINE}_difference": dg.MetadataValue.float(round(c.diff, 4)),
        "ci95": f"[{c.ci_low:+.4f}, {c.ci_high:+.4f}]",
        "p_value": dg.MetadataValue.float(float(c.p_value)),  # unrounded: 1.2e-08 is not 0
        "paired_users": c.n_users,
    }


def beats_baseline(c: uncertainty.Comparison | None) -> dg.AssetCheckResult:
    """Decides on the paired test against popularity (same users): passes when the model is
    significantly better; a difference inside the noise warns (does not block); significantly worse fails."""
    if c is None:
        return dg.AssetCheckResult(passed=False, description="no paired comparison with popularity: evaluate the model first")
    verdict = c.verdict()
    severity = (
        dg.AssetCheckSeverity.WARN if verdict in ("no significant difference", "not comparable") else dg.AssetCheckSeverity.ERROR
    )
    return dg.AssetCheckResult(
        passed=verdict == "better",
        severity=severity,
        description=f"{verdict} than popularity ({HEADLINE} {c.diff:+.4f}, p = {c.p_value:.3g}, {c.n_users} users)",
        metadata=comparison_metadata(c),
    )


def not_regressed(c: uncertainty.Comparison | None) -> dg.AssetCheckResult:
    """Fails only when the model is significantly worse than its previous evaluation on the same test
    window and users."""
    if c is None:
        note = "no earlier evaluation on this test window (the first one, or new data moved the window): nothing to compare"
        return dg.AssetCheckResult(passed=True, description=note, metadata={"note": note})
    verdict = c.verdict()
    return dg.AssetCheckResult(
        passed=verdict != "worse",
        description=f"{verdict} than the previous evaluation ({HEADLINE} {c.diff:+.4f}, p = {c.p_value:.3g})",
        metadata=comparison_metadata(c),
    )


def build_beats_popularity_check(name: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey(["evaluation", name]),
        blocking=True,
        additional_deps=[dg.AssetKey(["evaluation", models.FALLBACK])],
        description=f"{name} {HEADLINE} on the test window is significantly above popularity's (paired t-test on "
        "the same users; inside the noise: warning)",
    )
    def beats_popularity() -> dg.AssetCheckResult:
        return beats_baseline(evaluation_store.latest_comparison(name, "vs_popularity"))

    return beats_popularity


def build_regression_check(name: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey(["evaluation", name]),
        blocking=True,
        description=f"{HEADLINE} is not significantly below the previous evaluation's on the same test window (paired "
        "t-test on the same users)",
    )
    def ndcg_not_regressed() -> dg.AssetCheckResult:
        return not_regressed(evaluation_store.latest_comparison(name, "vs_previous"))

    return ndcg_not_regressed


BEATS_POPULARITY = ("item_item", "als", "ease", "two_tower")
evaluation_checks = [build_beats_popularity_check(n) for n in BEATS_POPULARITY] + [
    build_regression_check(n) for n in models.RECOMMENDER_NAMES
]
# a mart whose columns change (renamed, dropped, retyped) warns before the models read it
schema_checks = dg.build_column_schema_change_checks(
    assets=[*INTERACTION_MARTS, DAILY_MART, CTR_MART, SPLIT_MART], severity=dg.AssetCheckSeverity.WARN
)


def build_leak_check(asset: dg.AssetKey) -> dg.AssetChecksDefinition:
    """A blocking check, on the CTR examples and on each feature mart that joins them, that no declared
    CTR feature predicts the click on its own (a label leak the click models would learn)."""

    @dg.asset_check(
        asset=asset,
        name="ctr_features_do_not_leak_the_label",
        blocking=True,
        description="No declared CTR feature predicts the click on its own (single-feature validation AUC below "
        f"{feature_checks.LEAK_AUC}): such a feature leaks the label, and the click models would learn the leak",
    )
    def check() -> dg.AssetCheckResult:
        examples = marts.load_examples()
        if skip_reason(examples):
            return dg.AssetCheckResult(passed=True, description=f"nothing to check: {skip_reason(examples)}")
        train, validation, _ = split_examples(examples)
        features = declarations.features_of("ctr_examples", declarations.load_manifest(dbt_project.manifest_path))
        leaks = feature_checks.leaking(train, validation, features)
        said = ", ".join(f"{name} (AUC {auc:.3f})" for name, auc in leaks.items())
        return dg.AssetCheckResult(
            passed=not leaks,
            description=f"label leak among the CTR features: {said}; compute it from events before the snapshot"
            if leaks
            else f"{len(features.names)} declared features, none predicts the click on its own",
            metadata={"leaking": dg.MetadataValue.json({k: round(v, 4) for k, v in leaks.items()})},
        )

    return check


leak_checks = [build_leak_check(key) for key in CTR_INPUTS]
