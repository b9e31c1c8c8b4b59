"""Versioned, atomically published model artifacts.

File format: ``params.json`` names the model (what :func:`load_model` dispatches on) and its
parameters; arrays go to ``arrays.npz`` (no pickles); sparse matrices as their CSR arrays. Every class
that saves an artifact registers its loader here (:func:`loader`), so this module imports no model:
``import ml.models`` registers them all.

Layout: ``<root>/<model>/<version>/`` (params.json, arrays.npz, ...) and ``<root>/<model>/latest``, a
symlink to the newest complete version. A version is written into a hidden temporary directory,
renamed into place when complete, and only then ``latest`` is switched with an atomic rename, so a
crash mid-write never leaves a half-written artifact behind ``latest`` and readers (the service)
see either the old or the new version. ``files.json`` records each file's size and SHA-256 when the
version is complete; a reader that loads versions long after they were written (the service) checks
them first with :func:`verify_files`, so a file damaged later (truncated, emptied, replaced) is
refused by name instead of failing somewhere inside a library.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import scipy.sparse as sp

KEEP_VERSIONS = 3
MANIFEST = "files.json"


class ArtifactDamaged(ValueError):
    """A file of a published version no longer matches what was published."""


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 22):
            sha.update(chunk)
    return sha.hexdigest()


def write_manifest(directory: Path) -> None:
    files = sorted(p for p in directory.rglob("*") if p.is_file() and p.name != MANIFEST)
    doc = {str(p.relative_to(directory)): {"bytes": p.stat().st_size, "sha256": _digest(p)} for p in files}
    (directory / MANIFEST).write_text(json.dumps(doc, indent=1, sort_keys=True))


def verify_files(directory: str | Path) -> None:
    """Raise :class:`ArtifactDamaged` naming the first file that differs from ``files.json`` (versions
    published before the manifest existed are not checked)."""
    directory = Path(directory)
    if not (directory / MANIFEST).exists():
        return
    for name, expected in json.loads((directory / MANIFEST).read_text()).items():
        path = directory / name
        if not path.is_file():
            raise ArtifactDamaged(f"{directory.name}/{name} is missing")
        size = path.stat().st_size
        if size != expected["bytes"]:
            raise ArtifactDamaged(f"{directory.name}/{name} has {size:,} bytes, {expected['bytes']:,} were published")
        if _digest(path) != expected["sha256"]:
            raise ArtifactDamaged(f"{directory.name}/{name} differs from what was published (checksum)")


def write_version(root: str | Path, model_name: str, version: str, write: Callable[[Path], object]) -> Path:
    """Write an artifact with ``write(tmp_dir)`` as ``<root>/<model_name>/<version>`` and switch
    ``latest`` to it, atomically (see the module docstring)."""
    base = Path(root) / model_name
    base.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{version}-", dir=base))
    try:
        write(tmp)
        write_manifest(tmp)
        final = base / version
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    link_tmp = base / f".latest-{version}"
    if link_tmp.is_symlink() or link_tmp.exists():
        link_tmp.unlink()
    link_tmp.symlink_to(version)
    os.replace(link_tmp, base / "latest")
    _prune(base)
    return final


def latest(root: str | Path, model_name: str) -> Path | None:
    link = Path(root) / model_name / "latest"
    return link.resolve() if link.exists() else None


def versions(root: str | Path, model_name: str) -> list[Path]:
    """The complete versions of a model on disk, newest first."""
    base = Path(root) / model_name
    if not base.is_dir():
        return []
    found = (p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".") and not p.is_symlink())
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def _prune(base: Path) -> None:
    current = (base / "latest").resolve().name
    for old in versions(base.parent, base.name)[KEEP_VERSIONS:]:
        if old.name != current:
            shutil.rmtree(old, ignore_errors=True)


def write_params(directory: str | Path, name: str, params: dict, **meta: Any) -> Path:
    """``params.json`` of an artifact: the model name :func:`load_model` dispatches on."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    doc = {"model": name, "params": params, **meta}
    (directory / "params.json").write_text(json.dumps(doc, indent=2, sort_keys=True, default=str))
    return directory


def read_params(directory: str | Path, expected: str | None = None) -> dict:
    directory = Path(directory)
    meta = json.loads((directory / "params.json").read_text())
    if expected is not None and meta["model"] != expected:
        raise ValueError(f"{directory} holds a {meta['model']} model, not {expected}")
    return meta


def write_arrays(path: str | Path, arrays: dict[str, np.ndarray]) -> None:
    np.savez(path, **arrays)  # type: ignore[arg-type]  # numpy's stub types **kwds as allow_pickle


def read_arrays(path: str | Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as f:
        return {key: f[key] for key in f.files}


def sparse_from_arrays(prefix: str, arrays: dict[str, np.ndarray]) -> sp.csr_matrix:
    return sp.csr_matrix(
        (arrays[f"{prefix}_data"], arrays[f"{prefix}_indices"], arrays[f"{prefix}_indptr"]),
        shape=tuple(arrays[f"{prefix}_shape"]),
    )


def sparse_to_arrays(prefix: str, matrix: sp.csr_matrix) -> dict[str, np.ndarray]:
    return {
        f"{prefix}_data": matrix.data,
        f"{prefix}_indices": matrix.indices,
        f"{prefix}_indptr": matrix.indptr,
        f"{prefix}_shape": np.asarray(matrix.shape),
    }


# params.json "model" -> the class whose ``load(directory)`` restores it
LOADERS: dict[str, Any] = {}
T = TypeVar("T")


def loader(*names: str) -> Callable[[T], T]:
    """Class decorator: the class loads the artifacts whose params.json names one of ``names``."""

    def register(cls: T) -> T:
        for name in names:
            LOADERS[name] = cls
        return cls

    return register


def load_model(directory: str | Path) -> Any:
    """Load any published artifact, dispatching on the ``model`` named in its params.json."""
    name = read_params(directory)["model"]
    if name not in LOADERS:
        raise ValueError(
            f"unknown model {name!r} in {directory}; known: {sorted(LOADERS)} (import ml.models registers every model)"
        )
    return LOADERS[name].load(directory)
