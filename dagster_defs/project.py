"""The dbt project as Dagster sees it: one ``DbtProject``, the translator that names and groups its
assets, and the lineage groups of the whole graph.

The manifest is prepared by ``prepare_if_dev()`` under ``dagster dev`` (with this environment's dbt,
so an unactivated venv works) and by an explicit ``dbt parse`` in the pipeline CLI, tests and CI.
"""

import os
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject
from dagster_dbt.dbt_project import DagsterDbtProjectPreparer

from ml import catalog, settings

# the lineage reads left to right in this order; each group's meaning (shown in the README)
GROUPS = {
    "raw": "raw data contract: the sample seeds (or raw files) loaded into schema raw",
    "staging": "typed, deduplicated rows; unusable raw rows quarantined with a reason",
    "intermediate": "event weights, the time split, daily aggregates and point-in-time feature snapshots",
    "marts": "the contracts Python reads: interactions, user/item features, CTR examples",
    "tuning": "hyperparameters chosen on the validation window (train split -> validation split)",
    "models": "trained models, published as versioned artifacts under data/models",
    "evaluation": "test-window metrics of every model, appended to schema evaluation",
    "leaderboard": "the latest evaluation of every model side by side (dbt over the evaluation tables)",
    "analysis": "cold-start and feature-ablation analyses (schema analysis)",
}
LEADERBOARD = "leaderboard"


class EnvironmentDbtPreparer(DagsterDbtProjectPreparer):
    """Parses the project with the dbt executable of this Python environment (not the one on PATH)."""

    def _prepare_manifest(self, project: DbtProject) -> None:
        DbtCliResource(project_dir=project, dbt_executable=settings.DBT_EXECUTABLE).cli(
            ["parse", "--quiet"], target_path=project.target_path
        ).wait()


# DBT_TARGET_PATH (dbt's own setting, which dagster-dbt also reads) moves the manifest: runs on other
# data or engines from one checkout keep theirs apart (the tests give each run its own)
dbt_project = DbtProject(
    project_dir=settings.DBT_PROJECT_DIR,
    profiles_dir=settings.DBT_PROJECT_DIR,
    target_path=os.environ.get("DBT_TARGET_PATH", "target"),
)
EnvironmentDbtPreparer().prepare_if_dev(dbt_project)  # DbtProject.prepare_if_dev, with this environment's dbt


class Translator(DagsterDbtTranslator):
    """Groups dbt assets by layer. When the seeds load the raw tables, staging's dependency on
    source('shop', ...) is the seed asset itself, so no external copy of the raw tables appears.
    The leaderboard depends on every model's evaluation asset."""

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        if not unique_id.startswith("model."):
            return spec
        if manifest["nodes"][unique_id]["name"] == LEADERBOARD:  # it reads every model's evaluation table
            return spec.replace_attributes(deps=[*spec.deps, *(dg.AssetKey(["evaluation", m]) for m in catalog.MODELS)])
        shadowed = self.seeded_source_keys(manifest, project)
        if not shadowed & {dep.asset_key for dep in spec.deps}:
            return spec
        return spec.replace_attributes(deps=[dep for dep in spec.deps if dep.asset_key not in shadowed])

    def seeded_source_keys(self, manifest: Mapping[str, Any], project: DbtProject | None) -> set[dg.AssetKey]:
        """Keys of the shop sources whose tables the seeds load (once per manifest)."""
        if getattr(self, "_seeded_for", None) is not manifest:
            seeds = {node["name"] for node in manifest["nodes"].values() if node["resource_type"] == "seed"}
            self._seeded = {
                self.get_asset_spec(manifest, uid, project).key
                for uid, source in manifest.get("sources", {}).items()
                if source["source_name"] == "shop" and source["identifier"] in seeds
            }
            self._seeded_for = manifest
        return self._seeded

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        resource_type = dbt_resource_props["resource_type"]
        if resource_type in ("seed", "source"):
            return "raw"
        if dbt_resource_props["name"] == LEADERBOARD:
            return "leaderboard"
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else None
