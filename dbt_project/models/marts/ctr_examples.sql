-- impression-level CTR examples (label from int_impressions_labelled). Features are point in time:
-- each example joins the feature snapshot taken at the start of its block, built only from events
-- before it (test examples: before the split).
{{ contract_typed_start() }}
select
    imp.event_id,
    imp.user_id,
    imp.item_id,
    u.user_idx,
    i.item_idx,
    imp.impression_at,
    imp.split,
    imp.snapshot_at,
    imp.clicked,
    -- context
    imp.event_hour,
    imp.is_weekend,
    -- user attributes and history as of snapshot_at
    u.country,
    u.segment,
    u.age_band,
    {{ dbt.datediff('u.signup_at', 'imp.snapshot_at', 'day') }} as user_days_since_signup,
    coalesce(uf.active_days, 0) as user_active_days,
    uf.avg_engaged_price as user_avg_engaged_price,
    {{ snapshot_history_features('uf', 'g', 'user_') }},
    -- item attributes and history as of snapshot_at
    i.category,
    i.brand,
    i.price,
    i.price_vs_category,
    {{ dbt.datediff('i.released_at', 'imp.snapshot_at', 'day') }} as item_days_since_release,
    {{ snapshot_history_features('itf', 'g', 'item_') }},
    -- user x item: the user's share of engagement in this item's category
    coalesce(uc.category_share, 0) as user_category_share,
    coalesce(uf.avg_engaged_price, i.price) / i.price as user_price_ratio
from {{ ref('int_impressions_labelled') }} as imp
inner join {{ ref('user_features') }} as u on imp.user_id = u.user_id
inner join {{ ref('item_features') }} as i on imp.item_id = i.item_id
left join {{ ref('int_global_rates_snapshotted') }} as g on g.snapshot_at = imp.snapshot_at
left join {{ ref('int_user_features_snapshotted') }} as uf
    on uf.user_id = imp.user_id and uf.snapshot_at = imp.snapshot_at
left join {{ ref('int_item_features_snapshotted') }} as itf
    on itf.item_id = imp.item_id and itf.snapshot_at = imp.snapshot_at
left join {{ ref('int_user_categories_snapshotted') }} as uc
    on uc.user_id = imp.user_id and uc.snapshot_at = imp.snapshot_at and uc.category = i.category
{{ contract_typed_end() }}
