"""What the dbt project declares, read from its manifest (``target/manifest.json``, where
``DBT_TARGET_PATH`` moves it): the feature columns of every mart (``ml.feature_sets``)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ml import settings
from ml.feature_sets import FeatureJoin, FeatureSet, parse_columns, parse_join, with_joins


def manifest_path() -> Path:
    """The manifest dbt and Dagster use: ``DBT_TARGET_PATH`` (relative to the dbt project), else target/."""
    target = Path(os.environ.get("DBT_TARGET_PATH", "target"))
    return (target if target.is_absolute() else settings.DBT_PROJECT_DIR / target) / "manifest.json"


def load_manifest(path: Path | None = None) -> dict:
    path = path or manifest_path()
    if not path.exists():
        raise FileNotFoundError(f"no dbt manifest at {path}: run `dbt parse` (recsys-pipeline does) first")
    return json.loads(path.read_text())


def models(manifest: dict) -> list[dict]:
    return [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]


def feature_joins(manifest: dict | None = None, into: str | None = None) -> list[FeatureJoin]:
    """The feature marts that join another mart's rows on declared keys (``ml.feature_sets.FeatureJoin``),
    by name; only those into ``into`` when given. None without a manifest (nothing is declared then)."""
    if manifest is None:
        if not manifest_path().exists():
            return []
        manifest = load_manifest()
    found = []
    for node in sorted(models(manifest), key=lambda n: n["name"]):
        meta = {**(node.get("meta") or {}), **((node.get("config") or {}).get("meta") or {})}
        join = parse_join(node["name"], meta, node.get("columns") or {})
        if join and (into is None or join.into == into):
            found.append(join)
    return found


def feature_sets(manifest: dict | None = None) -> dict[str, FeatureSet]:
    """Per mart the models read (by model name), the features its yml declares and those feature marts
    join into it; marts without any are left out."""
    manifest = manifest if manifest is not None else load_manifest()
    out = {}
    for node in models(manifest):
        declared = parse_columns(node["name"], node.get("columns") or {})
        if declared.features:
            out[node["name"]] = declared
    return with_joins(out, feature_joins(manifest))


def features_of(mart: str, manifest: dict | None = None) -> FeatureSet:
    """The declared features of ``mart`` (empty when it declares none)."""
    return feature_sets(manifest).get(mart, FeatureSet(mart))
