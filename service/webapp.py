"""The web app (Streamlit): a user's history and every model's recommendations side by side, similar
items and catalogue search, the leaderboard with its intervals and slices, NDCG@10 over past runs.

    recsys-app                     # http://localhost:8501; RECSYS_DATA_DIR etc. as everywhere

It reads the published artifacts and the warehouse read-only (service.explore), so it can stay open
while pipeline runs write: a busy warehouse is said so, never waited on.
"""

import pandas as pd
import streamlit as st

from ml import settings
from service.explore import Explorer, WarehouseUnavailable

DEFAULT_MODELS = ["als", "two_tower", "item_item", "two_stage", "popularity"]
PER_ROW = 3  # model lists side by side
LIST_COLUMNS = ["title", "score", "new", "item_id"]
LIST_CONFIG = {
    "title": st.column_config.TextColumn("title", width="medium"),
    "score": st.column_config.NumberColumn("score", format="%.3f", width="small"),
    "new": st.column_config.CheckboxColumn("new", width="small"),
    "item_id": st.column_config.NumberColumn("item", format="%d", width="small"),
}
OVER_RUNS = {
    "mark": {"type": "line", "point": True},
    "encoding": {
        "x": {"field": "evaluated_at", "type": "temporal", "title": "evaluated at"},
        "y": {"field": "ndcg", "type": "quantitative", "title": "NDCG@10", "scale": {"zero": False}},
        "color": {"field": "model", "type": "nominal"},
        "tooltip": [{"field": "model"}, {"field": "ndcg", "format": ".4f"}, {"field": "evaluated_at", "type": "temporal"}],
    },
}


@st.cache_resource
def explorer(artifacts_dir: str, warehouse_path: str) -> Explorer:
    return Explorer(artifacts_dir, warehouse_path)  # type: ignore[arg-type]


def show(frame: pd.DataFrame, **kw) -> None:
    st.dataframe(frame, hide_index=True, width="stretch", **kw)


def warehouse_part(title: str, read) -> None:
    """A part of the page that reads the warehouse: its frame, or why there is none now."""
    st.subheader(title)
    try:
        frame = read()
    except WarehouseUnavailable as exc:
        st.warning(str(exc))
        return
    if frame is None or len(frame) == 0:
        st.info("nothing to show yet")
    elif isinstance(frame, pd.DataFrame):
        show(frame)


st.set_page_config(page_title="recsys explorer", layout="wide")
st.title("recsys explorer")
ex = explorer(str(settings.artifacts_dir()), str(settings.warehouse_path()))
ex.refresh()  # pick up versions published since the last rerun
if not ex.models:
    st.warning(
        f"Nothing has been materialized yet: no published model under {settings.artifacts_dir()}. "
        "Run `recsys-pipeline` (or materialize the assets in the Dagster UI), then reload this page."
    )
    st.stop()

with st.sidebar:
    users = ex.example_users()
    picked = st.selectbox("user (with history)", users, index=0 if users else None)
    typed = st.number_input("or type a user id (0: use the list)", min_value=0, value=0, step=1)
    user_id = int(typed) if typed else int(picked) if picked is not None else 0
    k = st.slider("items per list", 5, 50, 10)
    available = sorted(ex.models)
    names = st.multiselect("models", available, default=[m for m in DEFAULT_MODELS if m in available] or available[:3])

recommendations, items_tab, board = st.tabs(["Recommendations", "Items and search", "Leaderboard"])

with recommendations:
    st.header(f"User {user_id}")
    if not ex.is_known(user_id):
        st.info(f"User {user_id} is unknown to every model: each list below is the fallback (popularity).")
    warehouse_part("History", lambda: ex.history(user_id))
    st.subheader(f"Top {k} per model")
    lists = ex.recommendations(user_id, k, names)
    for start in range(0, len(lists), PER_ROW):  # a few lists per row, so titles and scores stay readable
        for column, result in zip(st.columns(PER_ROW), lists[start : start + PER_ROW], strict=False):
            with column:
                st.markdown(f"**{result.model}**  \n`{result.version}`")
                st.caption(result.data_age)
                if result.fallback:
                    st.caption(f"fallback: {result.fallback}")
                show(result.items[LIST_COLUMNS], column_config=LIST_CONFIG)
    st.caption("new = released after the model's training data ended (the test window)")

with items_tab:
    query = st.text_input("Search the catalogue (title, category, brand)", "")
    personal = st.checkbox(f"personalise for user {user_id} with", value=False)
    personal_model = st.selectbox("personalising model", names or available, label_visibility="collapsed")
    found = pd.DataFrame()
    if query.strip():
        found, used = ex.search(query, k, user_id if personal else None, personal_model)
        if len(found):
            st.caption(f"personalised with {used}" if used else "lexical relevance only")
            show(found)
        else:
            st.info(f"no item matches {query!r}")
    first = lists[0].items["item_id"].iloc[0] if lists and len(lists[0].items) else 1
    default_item = int(found["item_id"].iloc[0]) if len(found) else int(first)
    item_id = int(st.number_input("item id (the first result by default)", min_value=0, value=default_item, step=1))
    similar = ex.similar(item_id, k)
    st.subheader(f"Items similar to {item_id}: {ex.title(item_id) or '(no title)'}")
    if not similar:
        st.info(f"item {item_id} is not in the catalogue of any model that ranks by similarity")
    for start in range(0, len(similar), PER_ROW):
        for column, (name, frame) in zip(st.columns(PER_ROW), list(similar.items())[start : start + PER_ROW], strict=False):
            with column:
                st.markdown(f"**{name}**")
                show(frame[LIST_COLUMNS], column_config=LIST_CONFIG)

with board:
    warehouse_part("Leaderboard (test window; intervals are 95% bootstrap)", ex.leaderboard)
    warehouse_part("NDCG@10 per slice (each model's latest evaluation)", ex.metrics_by_slice)
    experiments = "Experiments (online CTR per arm beside offline NDCG@10; intervals 95%, clustered by user)"
    if ex.running:
        warehouse_part(experiments, ex.experiments)
    else:
        st.subheader(experiments)
        st.info(f"no experiment is running: declare one in {settings.experiments_path().name} (README, 'Experiments')")
    st.subheader("NDCG@10 over past runs")
    try:
        history = ex.ndcg_history()
        if len(history):  # a point per run, joined per model (a model evaluated once is a point, not nothing)
            st.vega_lite_chart(history, OVER_RUNS, width="stretch")
        else:
            st.info("no evaluation yet")
    except WarehouseUnavailable as exc:
        st.warning(str(exc))
