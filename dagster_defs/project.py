"""The dbt project as Dagster sees it: one ``DbtProject``, the translator that groups its assets, the
lineage groups of the whole graph, and the dbt command line of this Python environment.

The manifest is prepared by ``prepare_if_dev()`` under ``dagster dev`` (with this environment's dbt,
so an unactivated venv works) and by an explicit ``dbt parse`` in the pipeline CLI, tests and CI.

Lineage comes from the dbt project itself: a dbt source names the asset that writes it
(``meta.dagster.asset_key``): the raw tables are the seeds' or the raw-file step's assets, and the
evaluation results are ``evaluation/results``. Nothing is patched here.
"""

import hashlib
import multiprocessing
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtProject
from dagster_dbt.dbt_project import DagsterDbtProjectPreparer

from dagster_defs.dbt_cli import dbt_command, parsed_into, target_dir
from ml import settings

# the lineage reads left to right in this order; each group's meaning (the UI shows it)
GROUPS = {
    "raw": "raw data contract: the sample seeds, or the raw files loaded into schema raw",
    "staging": "typed, deduplicated rows; unusable raw rows quarantined with a reason",
    "intermediate": "event weights, the time split, daily aggregates and point-in-time feature snapshots",
    "marts": "the contracts Python reads: interactions, user/item features, CTR examples, the split, the quarantine",
    "tuning": "hyperparameters chosen on the validation window (train split -> validation split)",
    "models": "trained models, published as versioned artifacts under data/models",
    "evaluation": "test-window metrics of every model, appended to evaluation.results",
    "leaderboard": "the latest evaluation of every model side by side (dbt over evaluation.results)",
    "analysis": "cold-start and feature-ablation analyses (schema analysis)",
    "experiments": "online metrics per experiment arm from the live log (what was served, what users did next)",
}
LEADERBOARD = "leaderboard"
EXPERIMENTS = "fqn:recsys.experiments stg_live__events stg_live__exposures"  # the live log's staging and marts


def with_group_meaning(spec: dg.AssetSpec) -> dg.AssetSpec:
    """The spec with its group's meaning in its metadata (``group``): Dagster has no group descriptions,
    so each asset's Definition tab says what its group is."""
    meaning = GROUPS.get(spec.group_name or "")
    return spec.merge_attributes(metadata={"group": f"{spec.group_name}: {meaning}"}) if meaning else spec


class EnvironmentDbtPreparer(DagsterDbtProjectPreparer):
    """Parses the project under ``dagster dev`` with the dbt executable of this Python environment (not the
    one on PATH, and without dagster-dbt's ``dbt --version`` subprocess first), in the process that loads
    the code location: not again in each run's worker, which the code server starts with multiprocessing
    after it has written the manifest (a parse there cost 3-7 s of every run from the UI:
    ``python -m bench.ui_run``). Reloading the code location starts a new code server, which parses."""

    def using_dagster_dev(self) -> bool:
        return super().using_dagster_dev() and multiprocessing.parent_process() is None

    def _prepare_manifest(self, project: DbtProject) -> None:
        target = Path(project.project_dir) / project.target_path  # as dagster-dbt resolves it
        with parsed_into(target) as scratch:
            subprocess.run(dbt_command("parse", "--quiet", target_path=scratch), check=True)


# DBT_TARGET_PATH (dbt's own setting, which dagster-dbt also reads) moves the manifest: runs on other
# data or engines from one checkout keep theirs apart (the tests give each run its own)
dbt_project = DbtProject(project_dir=settings.DBT_PROJECT_DIR, profiles_dir=settings.DBT_PROJECT_DIR, target_path=target_dir())
EnvironmentDbtPreparer().prepare_if_dev(dbt_project)  # DbtProject.prepare_if_dev, with this environment's dbt


def macro_digest(manifest: Mapping[str, Any], macro_ids: list[str], seen: dict[str, str] | None = None) -> str:
    """A hash of the SQL of ``macro_ids`` and of every macro they call, transitively."""
    seen = {} if seen is None else seen
    digest = hashlib.sha256()
    for macro_id in sorted(set(macro_ids)):
        if macro_id not in seen:
            macro = manifest["macros"].get(macro_id, {})
            seen[macro_id] = ""  # a recursive macro ends here
            inner = macro_digest(manifest, macro.get("depends_on", {}).get("macros", []), seen)
            seen[macro_id] = hashlib.sha256((macro.get("macro_sql", "") + inner).encode()).hexdigest()
        digest.update(seen[macro_id].encode())
    return digest.hexdigest()


def check_description(node: Mapping[str, Any]) -> str:
    """What a dbt test checks, for the UI and the terminal: its yml description; else a singular test's
    leading SQL comment; else the generic test, its column and its arguments."""
    if node.get("description"):
        return node["description"]
    comment = []
    for line in (node.get("raw_code") or "").splitlines():
        if not line.startswith("--"):
            break
        comment.append(line.removeprefix("--").strip())
    if comment:
        return " ".join(comment)
    meta = node.get("test_metadata") or {}
    args = {k: v for k, v in meta.get("kwargs", {}).items() if k not in ("model", "column_name")}
    column = f" on column {node['column_name']}" if node.get("column_name") else ""
    listed = " (" + ", ".join(f"{k}: {v}" for k, v in args.items()) + ")" if args else ""
    return f"dbt test {meta.get('name', node['name'])}{column}{listed}"


class Translator(DagsterDbtTranslator):
    """Groups dbt assets by layer (seeds and sources are ``raw``, models their folder's group), and gives
    each model a code version that covers the SQL that runs: dbt's checksum of its file and the SQL of
    every macro it calls, transitively (an edit of a macro marks exactly the models that call it)."""

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        node = manifest["nodes"].get(unique_id)
        if node is None or node["resource_type"] != "model":
            return spec
        macros = macro_digest(manifest, node["depends_on"]["macros"], self.macro_digests(manifest))
        version = hashlib.sha256(f"{spec.code_version}:{macros}".encode()).hexdigest()[:16]
        return spec.replace_attributes(code_version=version)

    def get_asset_check_spec(
        self, asset_spec: dg.AssetSpec, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetCheckSpec | None:
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None or spec.description:
            return spec
        return spec._replace(description=check_description(manifest["nodes"][unique_id]))

    def macro_digests(self, manifest: Mapping[str, Any]) -> dict[str, str]:
        """The per-macro digests of one manifest, computed once."""
        if getattr(self, "_digests_for", None) is not manifest:
            self._digests: dict[str, str] = {}
            self._digests_for = manifest
        return self._digests

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] in ("seed", "source"):
            return "raw"
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else None
