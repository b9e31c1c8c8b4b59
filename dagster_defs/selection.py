"""What ``recsys-pipeline --select`` runs: the selection resolved against the asset graph, or one
message that says what is wrong with it and how to write it (never a traceback for a typing mistake)."""

from __future__ import annotations

import dagster as dg

EXAMPLES = (
    "a selection is Dagster's asset selection syntax: 'models/als' (one asset), '+models/als' (with what it reads), "
    "'models/als+' (with what reads it), 'group:evaluation', 'key:models/*'"
)


class SelectionError(ValueError):
    """A selection that cannot run as given; the message says why and what to write instead."""


def loaded_inputs(graph, key: dg.AssetKey) -> list[dg.AssetKey]:
    """The upstream assets whose stored value ``key`` loads (not its dbt deps, which it reads in the warehouse)."""
    assets_def = graph.get(key).assets_def
    node = assets_def.node_def
    return [k for name, k in assets_def.keys_by_input_name.items() if not node.input_def_named(name).dagster_type.is_nothing]


def resolve(select: str, graph, instance: dg.DagsterInstance) -> list[dg.AssetKey]:
    """The selected keys, sorted; :class:`SelectionError` when the selection is not valid, matches nothing,
    or needs the stored value of an asset outside it that this instance never materialized."""
    try:
        keys = sorted(dg.AssetSelection.from_string(select).resolve(graph), key=lambda k: k.to_user_string())
    except dg.DagsterError as exc:  # a selection string Dagster cannot parse, or keys it does not define
        raise SelectionError(f"--select {select!r}: {str(exc).splitlines()[0]}\n{EXAMPLES}") from None
    if not keys:
        raise SelectionError(f"--select {select!r} matches no asset\n{EXAMPLES}")
    chosen = set(keys)
    parents = {parent for key in keys for parent in loaded_inputs(graph, key)} - chosen
    missing = sorted(p.to_user_string() for p in parents if instance.get_latest_materialization_event(p) is None)
    if missing:
        raise SelectionError(
            f"--select {select!r} loads the stored values of {', '.join(missing)}, which this Dagster instance has never "
            f"materialized (DAGSTER_HOME={instance.root_directory}): select them too ('+{select}' adds everything "
            "upstream) or run the main job once"
        )
    return keys
