"""The set of served models, loaded from the artifacts' ``latest`` versions and swapped atomically.

A :class:`Snapshot` is immutable: a request takes the current snapshot once and uses it to the end,
so a reload (a new snapshot replacing the reference) never changes a request in flight. A
background thread polls the ``latest`` links and rebuilds the snapshot when any version changes.
The warehouse is read only for the /models metrics, with a short read-only connection that waits
(in the background thread, never in a request) if a Dagster run holds the write lock.

A ``latest`` version that does not load (a damaged file, non-finite scores) is refused, logged with
the file and the reason, and the model keeps its served version, or after a restart the newest
version on disk that loads; the refusal shows in /status and /health until a new version replaces it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ml import artifacts
from ml.models import SERVABLE
from ml.warehouse import marts
from ml.warehouse.connection import connect, warehouse_exists
from service.logs import service_log
from service.served import Catalogue, ServedModel, catalogue_for, load_served

log = service_log()


@dataclass(frozen=True)
class Snapshot:
    models: dict[str, ServedModel]
    metrics: dict[str, dict]
    loaded_at: str
    versions: dict[str, str] = field(default_factory=dict)
    catalogue: Catalogue | None = None
    refused: dict[str, str] = field(default_factory=dict)  # model -> the latest version that did not load
    problems: dict[str, str] = field(default_factory=dict)  # model -> why its latest version is not served


def read_metrics(warehouse_path: Path, wait_s: float = 30) -> dict[str, dict]:
    """Latest leaderboard row per model; empty when the warehouse or the leaderboard is not there, or
    when a run holds the warehouse for longer than ``wait_s``."""
    if not warehouse_exists(warehouse_path):
        return {}
    try:
        with connect(warehouse_path, read_only=True, wait_s=wait_s) as con:
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
    def __init__(
        self, artifacts_dir: Path, warehouse_path: Path, reload_interval_s: float = 5.0, metrics_wait_s: float = 30
    ) -> None:
        """``metrics_wait_s``: how long a reload waits for a run's write lock to read /models' metrics (the
        service's watcher thread may wait; the web app, which reloads in the page's rerun, may not)."""
        self.metrics_wait_s = metrics_wait_s
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
        for name in SERVABLE:
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
            models, refused, problems = dict(self._snapshot.models), dict(self._snapshot.refused), dict(self._snapshot.problems)
            for name, version in versions.items():
                if (name in models and models[name].version == version) or (not force and refused.get(name) == version):
                    continue
                served, problem = self._load(name, version, models.get(name))
                for state in (refused, problems, models):
                    state.pop(name, None)
                if problem:
                    refused[name], problems[name] = version, problem
                if served is not None:
                    models[name] = served
            self._snapshot = Snapshot(
                models=models,
                metrics=read_metrics(self.warehouse_path, self.metrics_wait_s),
                loaded_at=datetime.now(UTC).isoformat(),
                versions=versions,
                catalogue=catalogue_for(models, self._snapshot.catalogue),
                refused=refused,
                problems=problems,
            )
            log.info("serving %s", {n: m.version for n, m in models.items()})
            return True

    def _load(self, name: str, version: str, previous: ServedModel | None) -> tuple[ServedModel | None, str | None]:
        """``latest`` when it loads; else the version served so far; else the newest older version on disk
        that loads. The problem, as one line without paths, when ``latest`` is refused."""
        try:
            return load_served(name, self.artifacts_dir / name / version), None
        except Exception as exc:
            problem = f"latest version {version} refused: {str(exc).replace(str(self.artifacts_dir), 'models')}"
        log.error("%s: %s", name, problem)
        if previous is not None:
            log.warning("%s: still serving version %s", name, previous.version)
            return previous, f"{problem}; serving {previous.version}"
        for older in artifacts.versions(self.artifacts_dir, name):
            if older.name == version:
                continue
            try:
                served = load_served(name, older)
            except Exception as exc:
                log.error("%s: version %s refused as well: %s", name, older.name, exc)
                continue
            log.warning("%s: serving version %s, the newest on disk that loads", name, older.name)
            return served, f"{problem}; serving {older.name}"
        return None, f"{problem}; no version on disk loads"

    def waiting(self) -> dict[str, str]:
        """Versions published as ``latest`` that are not served yet (the watcher loads them on its next
        poll; a refused one is not waiting: see ``Snapshot.problems``)."""
        snap = self._snapshot
        served = {name: m.version for name, m in snap.models.items()}
        return {n: v for n, v in self.current_versions().items() if served.get(n) != v and snap.refused.get(n) != v}

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
