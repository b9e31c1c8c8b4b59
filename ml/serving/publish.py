"""Publish a trained model as a versioned artifact that the service can serve on its own: the model,
its serving index, its ANN index when it is an embedding model, and ``provenance.json`` (when it was
trained, on which warehouse and data window). Written atomically by ``ml.artifacts.write_version``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ml import artifacts
from ml.interactions import InteractionData
from ml.recommenders.base import Scorer, check_finite_scores
from ml.serving import ann
from ml.serving.freshness import PROVENANCE
from ml.serving.index import ServingIndex


def provenance(warehouse: str, data_window: dict | None) -> dict:
    """When a model was trained, on which warehouse (a label, never a password), and the data window it
    saw (trained on train + validation, evaluated from ``test_from``; None outside the pipeline)."""
    return {"trained_at": datetime.now(UTC).isoformat(timespec="seconds"), "warehouse": warehouse, "data_window": data_window}


def publish(
    root: str | Path, name: str, version: str, model: Any, data: InteractionData | None = None, origin: dict | None = None
) -> Path:
    """Publish ``model`` (anything with ``save(directory)``) as ``<root>/<name>/<version>``; with
    ``data``, the serving index (id mapping, train items to exclude, item attributes) goes with it, and
    ``origin`` (:func:`provenance`) is written as provenance.json; an embedding model gets its ANN index
    (``ann.faiss``). A ranking model whose scores are not finite is refused before anything is written."""
    if isinstance(model, Scorer):
        check_finite_scores(model)  # a diverged model never becomes latest

    def write(directory: Path) -> None:
        model.save(directory)
        index = ann.build_for(model)
        if index is not None:
            index.save(directory)
        if data is not None:
            ServingIndex.from_data(data).save(directory)
        (directory / PROVENANCE).write_text(json.dumps(origin or {}, indent=2))

    return artifacts.write_version(root, name, version, write)
