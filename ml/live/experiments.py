"""Experiments: traffic split between models (or pinned model versions) by a stable hash of the user id.

Declared in a YAML file (``RECSYS_EXPERIMENTS``, default ``<data>/experiments.yml``; no file, no
experiment)::

    experiments:
      - name: als_vs_ease
        arms:
          - {name: control, model: als, share: 0.5}
          - {name: treatment, model: ease, share: 0.5}

A user's arm is a function of the experiment's name and the user id only (SHA-256 of
``"<experiment>:<user_id>"`` as a number in [0, 1), against the arms' cumulative shares), so every
service worker and every restart puts a user in the same arm for the experiment's life. The first
experiment of the file decides the requests that name no model; a request may name another with
``experiment``. The arm of each served list is logged with it (``ml.live.log``) for the dbt marts
``experiment_exposures`` and ``experiment_arms``.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")


class ExperimentError(ValueError):
    """An experiments file that cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class Arm:
    name: str
    model: str
    share: float


@dataclass(frozen=True)
class Experiment:
    name: str
    arms: tuple[Arm, ...]

    def position(self, user_id: int) -> float:
        """The user's stable place in [0, 1) for this experiment."""
        digest = hashlib.sha256(f"{self.name}:{user_id}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    def arm(self, user_id: int) -> Arm:
        place, edge = self.position(user_id), 0.0
        for arm in self.arms:
            edge += arm.share
            if place < edge:
                return arm
        return self.arms[-1]  # rounding of the shares' sum


def parse(spec: dict | None, models: list[str], where: str) -> list[Experiment]:
    entries = (spec or {}).get("experiments") or []
    if not isinstance(entries, list):
        raise ExperimentError(f"{where}: 'experiments' must be a list of {{name, arms}}")
    out, names = [], set()
    for entry in entries:
        name = str((entry or {}).get("name", ""))
        if not NAME.fullmatch(name) or name in names:
            raise ExperimentError(f"{where}: experiment name {name!r} must be unique, lower case, letters, digits and _")
        names.add(name)
        arms: list[Arm] = []
        for a in entry.get("arms") or []:
            arm_name, model, share = str(a.get("name", "")), str(a.get("model", "")), a.get("share")
            if not NAME.fullmatch(arm_name) or arm_name in {x.name for x in arms}:
                raise ExperimentError(f"{where}: experiment {name}: arm {arm_name!r}: names are unique, lower case, a-z 0-9 _")
            if model not in models:
                raise ExperimentError(f"{where}: experiment {name}, arm {arm_name}: model {model!r} is not one of {models}")
            if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 1:
                raise ExperimentError(f"{where}: experiment {name}, arm {arm_name}: share must be in (0, 1], got {share!r}")
            arms.append(Arm(arm_name, model, float(share)))
        if len(arms) < 2:
            raise ExperimentError(f"{where}: experiment {name} needs at least two arms")
        if not math.isclose(sum(a.share for a in arms), 1.0, abs_tol=1e-6):
            raise ExperimentError(f"{where}: experiment {name}: the arms' shares add up to {sum(a.share for a in arms):g}, not 1")
        out.append(Experiment(name, tuple(arms)))
    return out


def load(path: str | Path, models: list[str]) -> list[Experiment]:
    """The experiments declared in ``path`` (none when the file does not exist)."""
    path = Path(path)
    if not path.exists():
        return []
    try:
        spec = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ExperimentError(f"{path} is not valid YAML: {exc}") from exc
    if spec is not None and not isinstance(spec, dict):
        raise ExperimentError(f"{path}: expected a mapping with the key 'experiments'")
    return parse(spec, models, str(path))
