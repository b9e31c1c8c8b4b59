"""Hyperparameters: every model declares them once, as a frozen dataclass next to the model, with a
default and a description per field. The model is built from it, and the Dagster config of its
training asset (Launchpad fields with descriptions) is generated from it."""

from __future__ import annotations

import dataclasses
from typing import Any


def param(default: Any, doc: str) -> Any:
    """A hyperparameter field: its default and what it does."""
    return dataclasses.field(default=default, metadata={"doc": doc})


def one_of(params: Any, name: str, choices: Any) -> None:
    """Raise a clear error when hyperparameter ``name`` is not one of ``choices``."""
    value = getattr(params, name)
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}")


@dataclasses.dataclass(frozen=True)
class NoParams:
    """A model without hyperparameters."""


def describe(params_cls: type) -> dict[str, tuple[Any, str]]:
    """name -> (default, description) of a hyperparameter dataclass."""
    return {f.name: (f.default, f.metadata.get("doc", "")) for f in dataclasses.fields(params_cls)}
