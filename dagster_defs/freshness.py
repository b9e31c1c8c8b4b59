"""Staleness the UI shows: each served model's check ``trained_on_the_newest_data`` (its data's last
event against the marts' newest, past ``RECSYS_STALE_AFTER_HOURS`` it warns), evaluated with the model
and again whenever the split mart is rebuilt (with the automation sensor on), and a Dagster freshness
policy on the marts the models read (warn when more than 26 h pass without a rebuild, fail past 50 h),
evaluated by Dagster's own daemon (``dagster dev`` starts it) and shown on each mart."""

from datetime import timedelta
from pathlib import Path

import dagster as dg

from dagster_defs.assets.common import CTR_MART, DAILY_MART, INTERACTION_MARTS, SPLIT_MART
from dagster_defs.resources import RecsysResource
from ml import models, settings
from ml.serving import freshness
from ml.warehouse import marts

MART_WARN, MART_FAIL = timedelta(hours=26), timedelta(hours=50)  # a daily build, with slack


def current_staleness(artifacts_dir: Path, names: list[str]) -> list[freshness.Staleness]:
    """The published models' staleness against the marts' newest event now (unknown without the marts)."""
    try:
        newest = freshness.as_utc(marts.split_window()["end_at"])
    except Exception:  # no warehouse or split mart yet: the ages alone
        newest = None
    return freshness.served_staleness(artifacts_dir, names, newest, timedelta(hours=settings.stale_after_hours()))


def staleness_result(staleness: freshness.Staleness) -> dg.AssetCheckResult:
    behind = staleness.behind
    return dg.AssetCheckResult(
        passed=not staleness.stale,
        severity=dg.AssetCheckSeverity.WARN,
        description=staleness.describe(),
        metadata={
            "data_until": str(staleness.data_until),
            "marts_newest_event": str(staleness.newest_event),
            "days_behind": dg.MetadataValue.float(freshness.days(behind)) if behind is not None else None,
            "allowance_days": dg.MetadataValue.float(freshness.days(staleness.allowance)),
        },
    )


def build_data_freshness_check(name: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey(["models", name]),
        name="trained_on_the_newest_data",
        additional_deps=[SPLIT_MART],
        blocking=False,
        automation_condition=dg.AutomationCondition.any_deps_updated(),
        description=f"{name}'s latest version was trained on data whose last event is within RECSYS_STALE_AFTER_HOURS "
        "of the marts' newest event (else: a warning to retrain)",
    )
    def trained_on_the_newest_data(recsys: RecsysResource) -> dg.AssetCheckResult:
        found = current_staleness(Path(recsys.artifacts_dir), [name])
        if not found:
            return dg.AssetCheckResult(passed=True, description=f"{name} has no published version yet")
        return staleness_result(found[0])

    return trained_on_the_newest_data


model_freshness_checks = [build_data_freshness_check(n) for n in models.SERVED]
MARTS_READ = {*INTERACTION_MARTS, DAILY_MART, CTR_MART, SPLIT_MART}
MART_POLICY = dg.FreshnessPolicy.time_window(fail_window=MART_FAIL, warn_window=MART_WARN)


def with_mart_freshness(spec: dg.AssetSpec) -> dg.AssetSpec:
    """A mart the models read, with its freshness policy (a daily build)."""
    return dg.apply_freshness_policy(spec, MART_POLICY) if spec.key in MARTS_READ else spec
