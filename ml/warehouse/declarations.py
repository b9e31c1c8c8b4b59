"""What the dbt project declares, read from its manifest (``target/manifest.json``, where
``DBT_TARGET_PATH`` moves it): the feature columns of every mart (``ml.feature_sets``)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ml import settings
from ml.feature_sets import FeatureSet, parse_columns


def manifest_path() -> Path:
    """The manifest dbt and Dagster use: ``DBT_TARGET_PATH`` (relative to the dbt project), else target/."""
    target = Path(os.environ.get("DBT_TARGET_PATH", "target"))
    return (target if target.is_absolute() else settings.DBT_PROJECT_DIR / target) / "manifest.json"


def load_manifest(path: Path | None = None) -> dict:
    path = path or manifest_path()
    if not path.exists():
        raise FileNotFoundError(f"no dbt manifest at {path}: run `dbt parse` (recsys-pipeline does) first")
    return json.loads(path.read_text())


def feature_sets(manifest: dict | None = None) -> dict[str, FeatureSet]:
    """Per mart (by model name), the features its yml declares; marts without any are left out."""
    manifest = manifest if manifest is not None else load_manifest()
    out = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] == "model":
            declared = parse_columns(node["name"], node.get("columns") or {})
            if declared.features:
                out[node["name"]] = declared
    return out


def features_of(mart: str, manifest: dict | None = None) -> FeatureSet:
    """The declared features of ``mart`` (empty when it declares none)."""
    return feature_sets(manifest).get(mart, FeatureSet(mart))
