"""Code versions cover the SQL that runs: an edit of a macro changes the code version of exactly the
models that call it (through other macros too), and nothing else; a feature declaration changes the
code version of the models that take it."""

import json
import shutil
import subprocess

from dagster_defs.project import Translator
from ml import settings
from ml.feature_sets import FeatureSet
from tests.conftest import ROOT, declared


def dbt_parse(project, target) -> dict:
    cmd = [str(ROOT / ".venv" / "bin" / "dbt"), "parse", "--quiet", "--project-dir", str(project), "--profiles-dir", str(project)]
    subprocess.run([*cmd, "--target-path", str(target)], check=True, capture_output=True)
    return json.loads((target / "manifest.json").read_text())


def code_versions(manifest: dict) -> dict[str, str]:
    translator = Translator()
    return {
        node["name"]: translator.get_asset_spec(manifest, uid, None).code_version
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] == "model"
    }


def test_a_macro_edit_marks_exactly_the_models_that_call_it(tmp_path):
    project = tmp_path / "dbt_project"
    shutil.copytree(settings.DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    before = code_versions(dbt_parse(project, tmp_path / "before"))
    macro = project / "macros" / "entity_features.sql"
    edited = macro.read_text().replace("e.event_hour >= 18", "e.event_hour >= 17")  # the evening starts an hour earlier
    assert edited != macro.read_text()
    macro.write_text(edited)
    after = code_versions(dbt_parse(project, tmp_path / "after"))
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {"int_user_days_aggregated", "int_item_days_aggregated"}  # the two that call entity_days_aggregated
    # a model's own SQL still counts: editing a model file changes that model alone
    model = project / "models" / "marts" / "split_windows.sql"
    model.write_text(model.read_text() + "\n-- a comment changes dbt's checksum\n")
    again = code_versions(dbt_parse(project, tmp_path / "again"))
    assert {name for name in after if after[name] != again[name]} == {"split_windows"}


def test_the_feature_fingerprint_follows_the_declaration():
    ctr = declared()["ctr_examples"]
    assert ctr.fingerprint == FeatureSet.from_dict(ctr.to_dict()).fingerprint
    assert ctr.without(["price"]).fingerprint != ctr.fingerprint
