"""The dbt models over what the Python steps and the service wrote, built by one dbt step:

- the leaderboard, over evaluation.results, the table the Python evaluation assets write (its dbt
  source is the asset evaluation/results), so the lineage closes from raw data to every model's
  metrics. Its materialization shows the table itself, as a table with its columns described (from
  the dbt yml), missing values empty;
- the live log's staging and the experiment marts (group ``experiments``), over the raw tables the
  step ``raw_live_log`` loads (``dagster_defs.assets.live``).

One step, not two: each dbt invocation costs about 2 s of start-up, and these are the last dbt
models of a run. A run of some of them (the sensor ``live_log``: the experiments) builds only those.
"""

import dagster as dg
import pandas as pd
from dagster_dbt import DbtCliResource, dbt_assets

from dagster_defs.project import EXPERIMENTS, LEADERBOARD, Translator, dbt_project
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


LEADERBOARD_KEY = dg.AssetKey(["marts", LEADERBOARD])


@dbt_assets(
    manifest=dbt_project.manifest_path,
    dagster_dbt_translator=Translator(),
    select=f"{LEADERBOARD} {EXPERIMENTS}",
    name="dbt_leaderboard_and_experiments",
)
def leaderboard_dbt_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource, recsys: RecsysResource):
    """`dbt build` of the leaderboard over evaluation.results (latest run per model), shown in its
    metadata, and of the experiment marts over the live log, with their tests as asset checks."""
    events = list(dbt_build(context, dbt, recsys))  # the table is read once dbt has released the warehouse
    if LEADERBOARD_KEY not in context.selected_asset_keys:
        yield from events
        return
    with connect() as con:
        frame = leaderboard(con)
    columns = declarations.load_manifest()["nodes"].get("model.recsys.leaderboard", {}).get("columns", {})
    board = table(frame, {**{c: v.get("description", "") for c, v in columns.items()}, **DERIVED})
    for event in events:
        leaderboard_output = isinstance(event, dg.Output) and event.output_name == LEADERBOARD_KEY.to_python_identifier()
        yield event.with_metadata({**event.metadata, "leaderboard": board}) if leaderboard_output else event
