"""The set of served models, loaded from the artifacts' ``latest`` versions and swapped atomically.

A :class:`Snapshot` is immutable: a request takes the current snapshot once and uses it to the end,
so a reload (a new snapshot replacing the reference) never changes a request in flight. A
background thread polls the ``latest`` links and rebuilds the snapshot when any version changes.
The warehouse is read only for the /models metrics, with a short read-only connection that waits
(in the background thread, never in a request) if a Dagster run holds the write lock.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ml.models import SERVED
from ml.warehouse import marts
from ml.warehouse.connection import connect, warehouse_exists
from service.served import Catalogue, ServedModel, catalogue_for, load_served

log = logging.getLogger("recsys.service")


@dataclass(frozen=True)
class Snapshot:
    models: dict[str, ServedModel]
    metrics: dict[str, dict]
    loaded_at: str
    versions: dict[str, str] = field(default_factory=dict)
    catalogue: Catalogue | None = None


def read_metrics(warehouse_path: Path) -> dict[str, dict]:
    """Latest leaderboard row per model; empty when the warehouse or the leaderboard is not there."""
    if not warehouse_exists(warehouse_path):
        return {}
    try:
        with connect(warehouse_path, read_only=True, wait_s=30) as con:
            frame = marts.leaderboard(con)
    except Exception as exc:  # the service keeps serving without metrics
        log.warning("could not read metrics from %s: %s", warehouse_path, exc)
        return {}
    frame = frame.astype(object).where(frame.notna(), None)
    return {
        row["model"]: {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items() if k != "model"}
        for row in frame.to_dict("records")
    }


class Registry:
    def __init__(self, artifacts_dir: Path, warehouse_path: Path, reload_interval_s: float = 5.0) -> None:
        self.artifacts_dir = Path(artifacts_dir)
        self.warehouse_path = Path(warehouse_path)
        self.reload_interval_s = reload_interval_s
        self._snapshot = Snapshot(models={}, metrics={}, loaded_at="never")
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot

    def current_versions(self) -> dict[str, str]:
        versions = {}
        for name in SERVED:
            link = self.artifacts_dir / name / "latest"
            if link.exists():
                versions[name] = link.resolve().name
        return versions

    def reload(self, force: bool = False) -> bool:
        """Build a new snapshot if any model version changed; returns whether it swapped."""
        with self._lock:
            versions = self.current_versions()
            if not force and versions == self._snapshot.versions:
                return False
            models = dict(self._snapshot.models)
            for name, version in versions.items():
                if name in models and models[name].version == version:
                    continue
                try:
                    models[name] = load_served(name, self.artifacts_dir / name / version)
                except Exception as exc:  # keep serving the previous version of this model
                    log.error("could not load %s/%s: %s", name, version, exc)
            self._snapshot = Snapshot(
                models=models,
                metrics=read_metrics(self.warehouse_path),
                loaded_at=datetime.now(UTC).isoformat(),
                versions=versions,
                catalogue=catalogue_for(models, self._snapshot.catalogue),
            )
            log.info("serving %s", {n: m.version for n, m in models.items()})
            return True

    def waiting(self) -> dict[str, str]:
        """Versions published as ``latest`` that are not served yet (the watcher loads them on its next
        poll; one whose scores are not finite is never loaded and stays here)."""
        served = {name: m.version for name, m in self._snapshot.models.items()}
        return {name: v for name, v in self.current_versions().items() if served.get(name) != v}

    def start(self) -> None:
        self.reload(force=True)
        self._thread = threading.Thread(target=self._watch, name="artifact-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _watch(self) -> None:
        while not self._stop.wait(self.reload_interval_s):
            try:
                self.reload()
            except Exception as exc:
                log.error("reload failed: %s", exc)
