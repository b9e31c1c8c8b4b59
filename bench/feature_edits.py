"""The feature edits an analytics engineer makes, as the README's "Add a feature" shows them: SQL and
yml only, on a copy of the project. ``bench.feature_change`` measures what they lead to and
``tests/test_feature_change.py`` runs one; both plant them through these functions.

- :func:`add_ctr_column`: a column in the CTR features' SQL (``macros/ctr_features.sql``, which the
  CTR examples and the pairs a model scores both select from) and its declaration in the mart's yml.
- :func:`add_feature_mart`: a mart of its own whose yml joins its features into the CTR examples on
  declared keys (``feature_join``); :data:`USER_BRAND_SHARE` is one, the user's recent share of
  engagement on the item's brand, point in time.
- :func:`add_co_engagement`: an intermediate model of item-to-item similarities (co-engagement, as of
  each snapshot) and a CTR column that sums the item's similarity to the user's history: a classic
  collaborative feature the CTR features lack.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

PARTS = ("ml", "dagster_defs", "dbt_project", "data/sample")
ANCHOR = "coalesce(uf.avg_engaged_price, i.price) / i.price as user_price_ratio"
DOUBLE = "\"{{ 'double' if target.type == 'spark' else 'double precision' }}\""
STRING = "\"{{ 'string' if target.type == 'spark' else 'varchar' }}\""


def copy_project(root: Path, to: Path) -> Path:
    """The project's code, dbt project and sample under ``to`` (what a run of the copy needs)."""
    for part in PARTS:
        shutil.copytree(root / part, to / part, ignore=shutil.ignore_patterns("target", "__pycache__", "logs", "dbt_packages"))
    return to


def add_ctr_column(project: Path, name: str, sql: str, description: str, group: str = "pair") -> None:
    """Column ``name`` = ``sql`` (over the macro's aliases: ex, u, i, uf, itf, uc, g) in the CTR features,
    declared as a numeric feature of marts.ctr_examples."""
    macro = project / "dbt_project" / "macros" / "ctr_features.sql"
    text = macro.read_text()
    assert ANCHOR in text, "macros/ctr_features.sql changed: update bench.feature_edits.ANCHOR"
    macro.write_text(text.replace(ANCHOR, f"{ANCHOR},\n    {sql} as {name}"))
    yml = project / "dbt_project" / "models" / "marts" / "_marts__models.yml"
    text = yml.read_text()
    after = text.index("  - name: user_price_ratio\n") + len("  - name: user_price_ratio\n")
    at = after + re.search(r"^(  - name: |- name: |  [a-z_]+:)", text[after:], re.M).start()  # the next column or model key
    entry = (
        f"  - name: {name}\n    data_type: {DOUBLE}\n    description: {json.dumps(description)}\n"
        f"    config:\n      meta: {{feature: numeric, group: {group}}}\n"
    )
    yml.write_text(text[:at] + entry + text[at:])


USER_BRAND_SHARE = (
    "user_brand_features",
    """-- each user's share of engagement per brand over the 28 days before each snapshot (point in time):
-- a feature mart its yml joins into marts.ctr_examples on (user_id, brand, snapshot_at)
{{ contract_typed_start() }}
with weights as (
    select s.snapshot_at, e.user_id, i.brand, sum(e.weight) as weight
    from {{ ref('int_snapshots_defined') }} as s
    inner join {{ ref('int_events_weighted') }} as e
        on e.event_at < s.snapshot_at and e.event_at >= {{ dbt.dateadd('day', -28, 's.snapshot_at') }}
    inner join {{ ref('item_features') }} as i on i.item_id = e.item_id
    where i.brand is not null
    group by s.snapshot_at, e.user_id, i.brand
)
select snapshot_at, user_id, brand, weight / sum(weight) over (partition by snapshot_at, user_id) as user_brand_share
from weights
{{ contract_typed_end() }}
""",
    f"""version: 2
models:
- name: user_brand_features
  description: each user's share of engagement per brand in the 28 days before each snapshot
  config:
    contract: {{enforced: true}}
    meta:
      feature_join: {{into: ctr_examples, keys: [user_id, brand, snapshot_at]}}
  columns:
  - {{name: snapshot_at, data_type: timestamp, description: the snapshot the share is as of}}
  - {{name: user_id, data_type: bigint, description: the user}}
  - {{name: brand, data_type: {STRING}, description: the brand}}
  - name: user_brand_share
    data_type: {DOUBLE}
    description: the user's share of engagement on this brand (no row, no engagement)
    config:
      meta: {{feature: numeric, group: pair}}
""",
)


def add_feature_mart(project: Path, mart: tuple[str, str, str] = USER_BRAND_SHARE) -> None:
    """A new mart (name, SQL, yml) under models/marts: nothing else changes."""
    name, sql, yml = mart
    folder = project / "dbt_project" / "models" / "marts"
    (folder / f"{name}.sql").write_text(sql)
    (folder / f"_{name}.yml").write_text(yml)


SIMILARITIES = """-- item-to-item cosine co-engagement as of each snapshot: users who engaged with (viewed, clicked,
-- carted, bought) both items before it, over the square root of each item's engagers
with engaged as (
    select distinct s.snapshot_at, e.user_id, e.item_id
    from {{ ref('int_snapshots_defined') }} as s
    inner join {{ ref('int_events_weighted') }} as e on e.event_at < s.snapshot_at and e.event_type <> 'impression'
),
engagers as (select snapshot_at, item_id, count(*) as n from engaged group by snapshot_at, item_id),
together as (
    select a.snapshot_at, a.item_id, b.item_id as other_item_id, count(*) as n
    from engaged as a
    inner join engaged as b on b.snapshot_at = a.snapshot_at and b.user_id = a.user_id and b.item_id <> a.item_id
    group by a.snapshot_at, a.item_id, b.item_id
)
select t.snapshot_at, t.item_id, t.other_item_id, t.n / sqrt(x.n * y.n) as similarity
from together as t
inner join engagers as x on x.snapshot_at = t.snapshot_at and x.item_id = t.item_id
inner join engagers as y on y.snapshot_at = t.snapshot_at and y.item_id = t.other_item_id
"""
CO_ENGAGEMENT = """coalesce((
        select sum(sim.similarity) from {{ ref('int_item_similarities_snapshotted') }} as sim
        where sim.snapshot_at = ex.snapshot_at and sim.item_id = ex.item_id and sim.other_item_id in (
            select e.item_id from {{ ref('int_events_weighted') }} as e
            where e.user_id = ex.user_id and e.event_at < ex.snapshot_at and e.event_type <> 'impression')
    ), 0)"""


def add_co_engagement(project: Path, name: str = "user_item_co_engagement") -> None:
    """The similarities (a new intermediate model) and the column that reads them."""
    (project / "dbt_project" / "models" / "intermediate" / "int_item_similarities_snapshotted.sql").write_text(SIMILARITIES)
    add_ctr_column(project, name, CO_ENGAGEMENT, "the item's co-engagement similarity to the user's history, as of the snapshot")
