"""Versioned, atomically published model artifacts.

Layout: ``<root>/<model>/<version>/`` (params.json, arrays.npz, ...) and ``<root>/<model>/latest``, a
symlink to the newest complete version. A version is written into a hidden temporary directory,
renamed into place when complete, and only then ``latest`` is switched with an atomic rename, so a
crash mid-write never leaves a half-written artifact behind ``latest`` and readers (the service)
see either the old or the new version.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

KEEP_VERSIONS = 3


def publish(root: str | Path, model_name: str, version: str, write: Callable[[Path], object]) -> Path:
    """Write an artifact with ``write(tmp_dir)`` and publish it as ``<root>/<model_name>/<version>``."""
    base = Path(root) / model_name
    base.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{version}-", dir=base))
    try:
        write(tmp)
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


def _prune(base: Path) -> None:
    current = (base / "latest").resolve().name
    versions = sorted(
        (p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".") and not p.is_symlink()),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in versions[KEEP_VERSIONS:]:
        if old.name != current:
            shutil.rmtree(old, ignore_errors=True)
