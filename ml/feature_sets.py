"""Feature sets: the columns of a mart that its yml declares as features (``config.meta.feature``),
in declaration order, each with its kind, its group and the models that may use it. The one
declaration is in dbt (``ml.warehouse.declarations`` reads it from the manifest); a model takes the
feature set of the marts it reads, records it in its artifact, and never lists columns itself.

Declaration, on a column of a mart's yml::

    - name: user_brand_share
      data_type: double precision
      config:
        meta: {feature: numeric, group: pair, models: [dcn, ctr_mlp, lgbm_ctr]}

``feature`` is ``numeric`` or ``categorical``; ``group`` names the group an ablation drops and
importance sums (default ``other``); ``models`` restricts the column to those models (default: every
model that reads the mart, see :data:`MART_READERS`).

A feature from a mart of its own joins the rows of a mart the models read, on keys its yml declares
(model-level ``config.meta``)::

    - name: user_brand_features
      config:
        meta:
          feature_join: {into: ctr_examples, keys: [user_id, brand, snapshot_at]}

Its declared features then belong to the ``into`` mart's feature set (:class:`FeatureJoin`); the
marts reader left-joins them on the keys, once per row (the keys must be unique in the joined mart),
for training and for the pairs a model scores alike; ``snapshot_at`` among the keys keeps it point in
time.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

KINDS = ("numeric", "categorical")
# the models a feature of each mart reaches when its declaration names none (``models:`` restricts or
# extends it). The two-stage ranker is not among them: it learns from windows before the split, and the
# marts' history features are as of the split, so only a feature that names it (a time-invariant
# attribute) reaches it.
MART_READERS: dict[str, tuple[str, ...]] = {
    "ctr_examples": ("dcn", "ctr_mlp", "lgbm_ctr"),
    "user_features": ("two_tower",),
    "item_features": ("two_tower", "content", "hybrid"),
}


@dataclass(frozen=True)
class Feature:
    name: str
    kind: str  # numeric | categorical
    group: str = "other"
    models: tuple[str, ...] | None = None  # None: every reader of the mart

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"feature {self.name}: `feature: {self.kind}` must be one of {KINDS} (its column's yml meta)")


@dataclass(frozen=True)
class FeatureSet:
    """The declared features of one mart (or the part of them one model may use), in declaration order."""

    mart: str
    features: tuple[Feature, ...] = field(default_factory=tuple)

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]

    @property
    def numeric(self) -> list[str]:
        return [f.name for f in self.features if f.kind == "numeric"]

    @property
    def categorical(self) -> list[str]:
        return [f.name for f in self.features if f.kind == "categorical"]

    @property
    def groups(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for f in self.features:
            out.setdefault(f.group, []).append(f.name)
        return out

    def for_model(self, model: str) -> FeatureSet:
        """The features ``model`` may use: those that name it in ``models``, and those without a ``models``
        list when ``model`` reads the mart (:data:`MART_READERS`)."""
        readers = MART_READERS.get(self.mart, ())
        return FeatureSet(self.mart, tuple(f for f in self.features if (model in f.models if f.models else model in readers)))

    def without(self, names) -> FeatureSet:
        drop = set(names)
        return FeatureSet(self.mart, tuple(f for f in self.features if f.name not in drop))

    def to_dict(self) -> dict:
        return {"mart": self.mart, "features": [[f.name, f.kind, f.group] for f in self.features]}

    @classmethod
    def from_dict(cls, d: dict) -> FeatureSet:
        return cls(d["mart"], tuple(Feature(name, kind, group) for name, kind, group in d["features"]))

    @property
    def fingerprint(self) -> str:
        """Changes when a feature is added, removed, renamed or changes kind (not its group)."""
        key = json.dumps([self.mart, [(f.name, f.kind) for f in self.features]])
        return hashlib.sha256(key.encode()).hexdigest()[:12]


def parse_columns(mart: str, columns: dict[str, dict]) -> FeatureSet:
    """The feature set of ``mart`` from its columns as the manifest has them (name -> column properties)."""
    features = []
    for name, column in columns.items():
        meta = {**(column.get("meta") or {}), **((column.get("config") or {}).get("meta") or {})}
        if "feature" not in meta:
            continue
        models = meta.get("models")
        features.append(Feature(name, meta["feature"], meta.get("group", "other"), tuple(models) if models else None))
    return FeatureSet(mart, tuple(features))


@dataclass(frozen=True)
class FeatureJoin:
    """A feature mart whose declared ``features`` join the rows of mart ``into`` on ``keys``."""

    mart: str
    into: str
    keys: tuple[str, ...]
    features: FeatureSet


def parse_join(mart: str, meta: dict, columns: dict[str, dict]) -> FeatureJoin | None:
    """The join a mart's model-level meta declares (``feature_join: {into, keys}``), or None."""
    spec = meta.get("feature_join")
    if spec is None:
        return None
    if not isinstance(spec, dict) or not isinstance(spec.get("into"), str) or not spec.get("keys"):
        raise ValueError(f"marts.{mart}: `feature_join` must be {{into: <mart>, keys: [<column>, ...]}} (its yml), not {spec!r}")
    missing = [k for k in spec["keys"] if k not in columns]
    features = parse_columns(spec["into"], columns)
    if missing or not features.features:
        what = f"declares no column {missing}" if missing else "declares no feature column (config.meta.feature)"
        raise ValueError(f"marts.{mart}: its feature_join {what}; list its columns in its yml")
    return FeatureJoin(mart, spec["into"], tuple(spec["keys"]), features)


def with_joins(sets: dict[str, FeatureSet], joins: list[FeatureJoin]) -> dict[str, FeatureSet]:
    """``sets`` (by mart) with each join's features appended to its ``into`` mart, in the joins' order."""
    out = {name: s for name, s in sets.items() if name not in {j.mart for j in joins}}
    for join in joins:
        base = out.get(join.into, FeatureSet(join.into))
        clash = set(base.names) & set(join.features.names)
        if clash:
            raise ValueError(f"marts.{join.mart} joins {sorted(clash)} into marts.{join.into}, which has them: rename them")
        out[join.into] = FeatureSet(join.into, base.features + join.features.features)
    return out


def declared(features: dict[str, FeatureSet] | None, mart: str, model: str) -> FeatureSet:
    """The features of ``mart`` that ``model`` may use, from ``features`` (the declarations by mart)."""
    if not features or mart not in features:
        raise ValueError(
            f"{model} needs the declared features of marts.{mart} (features={{'{mart}': FeatureSet}}, read from the dbt "
            "manifest by ml.warehouse.declarations.feature_sets); declare them in the mart's yml (config.meta.feature)"
        )
    return features[mart].for_model(model)
