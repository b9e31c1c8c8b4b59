{# The CTR features of (user, item) pairs as of a snapshot, point in time: every row of `examples`
   (columns user_id, item_id, snapshot_at, event_hour, is_weekend, and whatever else it carries) joined
   to the user, item and user x category features taken at its snapshot_at, built only from events
   before it. The one definition of the CTR features: the training examples (marts.ctr_examples) and
   the pairs a model scores at serving time (marts.ctr_candidate_features) both select from it. #}
{% macro ctr_features(examples) -%}
select
    ex.*,
    u.user_idx,
    i.item_idx,
    -- user attributes and history as of snapshot_at
    u.country,
    u.segment,
    u.age_band,
    {{ dbt.datediff('u.signup_at', 'ex.snapshot_at', 'day') }} as user_days_since_signup,
    coalesce(uf.active_days, 0) as user_active_days,
    uf.avg_engaged_price as user_avg_engaged_price,
    {{ snapshot_history_features('uf', 'g', 'user_') }},
    -- item attributes and history as of snapshot_at
    i.category,
    i.brand,
    i.price,
    i.price_vs_category,
    {{ dbt.datediff('i.released_at', 'ex.snapshot_at', 'day') }} as item_days_since_release,
    {{ snapshot_history_features('itf', 'g', 'item_') }},
    -- user x item: the user's share of engagement in this item's category
    coalesce(uc.category_share, 0) as user_category_share,
    coalesce(uf.avg_engaged_price, i.price) / i.price as user_price_ratio
from {{ examples }} as ex
inner join {{ ref('user_features') }} as u on ex.user_id = u.user_id
inner join {{ ref('item_features') }} as i on ex.item_id = i.item_id
left join {{ ref('int_global_rates_snapshotted') }} as g on g.snapshot_at = ex.snapshot_at
left join {{ ref('int_user_features_snapshotted') }} as uf
    on uf.user_id = ex.user_id and uf.snapshot_at = ex.snapshot_at
left join {{ ref('int_item_features_snapshotted') }} as itf
    on itf.item_id = ex.item_id and itf.snapshot_at = ex.snapshot_at
left join {{ ref('int_user_categories_snapshotted') }} as uc
    on uc.user_id = ex.user_id and uc.snapshot_at = ex.snapshot_at and uc.category = i.category
{%- endmacro %}

{# The columns of another model's contract (names and declared types) as a select list, for a relation
   that must read exactly like it: `typed_columns('ctr_examples', columns_to_leave_out)`. #}
{% macro typed_columns(model_name, leave_out=[]) -%}
    {%- if not execute %}{{ return('1 as parsed') }}{% endif %}
    {%- set node = graph.nodes.values() | selectattr('name', 'equalto', model_name) | first %}
    {%- for name, column in node.columns.items() if name not in leave_out %}
    cast({{ name }} as {{ column.data_type }}) as {{ name }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}
