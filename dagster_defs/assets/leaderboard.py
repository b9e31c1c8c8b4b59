"""The leaderboard: a dbt model over evaluation.results, the table the Python evaluation assets write
(its dbt source is the asset evaluation/results), so the lineage closes from raw data to every
model's metrics. Its materialization shows the table itself, as a table with its columns described
(from the dbt yml), missing values empty."""

import dagster as dg
import pandas as pd
from dagster_dbt import DbtCliResource, dbt_assets

from dagster_defs.project import LEADERBOARD, Translator, dbt_project
from dagster_defs.resources import RecsysResource, dbt_build
from ml.warehouse import declarations
from ml.warehouse.connection import connect
from ml.warehouse.summary import leaderboard

DERIVED = {
    "ndcg_95ci": "95% bootstrap interval of NDCG@10 over test users",
    "lift_vs_popularity": "NDCG@10 minus popularity's on the same users, with the paired test's p (noise: p >= 0.05)",
}


def table(frame: pd.DataFrame, descriptions: dict[str, str]) -> dg.MetadataValue:
    """``frame`` as a table the UI shows as such: typed, described columns; a missing value is empty."""
    kinds = {"f": "float", "i": "int", "b": "bool"}
    columns = [
        dg.TableColumn(c, kinds.get(frame[c].dtype.kind, "string"), description=descriptions.get(c)) for c in frame.columns
    ]
    rows = frame.astype(object).where(frame.notna(), None)
    records = [
        dg.TableRecord({c: (round(v, 4) if isinstance(v, float) else v) for c, v in r.items()}) for r in rows.to_dict("records")
    ]
    return dg.MetadataValue.table(records, dg.TableSchema(columns))


@dbt_assets(manifest=dbt_project.manifest_path, dagster_dbt_translator=Translator(), select=LEADERBOARD, name="dbt_leaderboard")
def leaderboard_dbt_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource, recsys: RecsysResource):
    """The leaderboard over evaluation.results (latest run per model), shown in its metadata."""
    events = list(dbt_build(context, dbt, recsys))  # the table is read once dbt has released the warehouse
    with connect() as con:
        frame = leaderboard(con)
    columns = declarations.load_manifest()["nodes"].get("model.recsys.leaderboard", {}).get("columns", {})
    board = table(frame, {**{c: v.get("description", "") for c, v in columns.items()}, **DERIVED})
    for event in events:
        yield event.with_metadata({**event.metadata, "leaderboard": board}) if isinstance(event, dg.Output) else event
