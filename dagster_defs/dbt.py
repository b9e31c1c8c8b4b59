"""The dbt project as Dagster assets: seeds, staging, intermediate and marts; dbt tests as asset checks."""


from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from ml import settings

settings.export_dbt_env()

dbt_project = DbtProject(project_dir=settings.DBT_PROJECT_DIR, profiles_dir=settings.DBT_PROJECT_DIR)
# `dagster dev` re-parses the project on load; tests, CI and the pipeline CLI run `dbt parse` first
dbt_project.prepare_if_dev()


class Translator(DagsterDbtTranslator):
    """Groups dbt assets by layer (raw seeds, staging, intermediate, marts) in the UI."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        resource_type = dbt_resource_props["resource_type"]
        if resource_type in ("seed", "source"):
            return "raw"
        if resource_type == "model":
            fqn = dbt_resource_props.get("fqn", [])
            return fqn[1] if len(fqn) > 2 else "dbt"
        return super().get_group_name(dbt_resource_props)


# The leaderboard reads the evaluation tables that Python assets write, so it is its own dbt asset
# set: the feature layer runs before the models, the leaderboard after the evaluations.
LEADERBOARD = "leaderboard"


@dbt_assets(manifest=dbt_project.manifest_path, dagster_dbt_translator=Translator(), exclude=LEADERBOARD,
            name="dbt_feature_layer")
def recsys_dbt_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """`dbt build` of the selected seeds and models, with their tests reported as asset checks."""
    yield from dbt.cli(["build"], context=context).stream()


@dbt_assets(manifest=dbt_project.manifest_path, dagster_dbt_translator=Translator(), select=LEADERBOARD,
            name="dbt_leaderboard")
def leaderboard_dbt_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """The leaderboard over the evaluation tables (latest run per model)."""
    yield from dbt.cli(["build"], context=context).stream()


dbt_resource = DbtCliResource(project_dir=dbt_project, dbt_executable=settings.DBT_EXECUTABLE)
