-- impression-level CTR examples. clicked = a click on the same user and item within
-- attribution_window_minutes after the impression (and before the example's block ends).
-- Features are point in time: each example joins the feature snapshot taken at the start of its
-- block, built only from events before it (test examples: before the split).
with impressions as (
    select
        e.event_id, e.user_id, e.item_id, e.event_at as impression_at, e.event_hour, e.is_weekend,
        s.split, s.snapshot_at, s.window_end_at
    from {{ ref('int_events_weighted') }} as e
    inner join {{ ref('int_snapshots_defined') }} as s
        on e.event_at >= s.snapshot_at and e.event_at < s.window_end_at
    where e.event_type = 'impression'
),

clicks as (
    select user_id, item_id, event_at as click_at
    from {{ ref('int_events_weighted') }}
    where event_type = 'click'
),

labelled as (
    select
        imp.event_id,
        max(case when c.click_at is not null then 1 else 0 end) as clicked
    from impressions as imp
    left join clicks as c
        on c.user_id = imp.user_id
        and c.item_id = imp.item_id
        and c.click_at >= imp.impression_at
        and c.click_at < {{ dbt.dateadd('minute', var('attribution_window_minutes'), 'imp.impression_at') }}
        and c.click_at < imp.window_end_at
    group by imp.event_id
)

select
    imp.event_id,
    imp.user_id,
    imp.item_id,
    u.user_idx,
    i.item_idx,
    imp.impression_at,
    imp.split,
    imp.snapshot_at,
    l.clicked,
    -- context
    imp.event_hour,
    imp.is_weekend,
    -- user attributes and history as of snapshot_at
    u.country,
    u.segment,
    u.age_band,
    {{ dbt.datediff('u.signup_at', 'imp.snapshot_at', 'day') }} as user_days_since_signup,
    coalesce(uf.n_impression, 0) as user_n_impression,
    coalesce(uf.n_click, 0) as user_n_click,
    coalesce(uf.n_purchase, 0) as user_n_purchase,
    coalesce(uf.n_engaged, 0) as user_n_engaged,
    coalesce(uf.active_days, 0) as user_active_days,
    coalesce(uf.ctr_smoothed, g.prior_ctr) as user_ctr_smoothed,
    coalesce(uf.cvr_smoothed, g.prior_cvr) as user_cvr_smoothed,
    uf.days_since_last_event as user_days_since_last_event,
    uf.avg_engaged_price as user_avg_engaged_price,
    uf.last_event_at as user_last_event_at,
    -- item attributes and history as of snapshot_at
    i.category,
    i.brand,
    i.price,
    i.price_vs_category,
    {{ dbt.datediff('i.released_at', 'imp.snapshot_at', 'day') }} as item_days_since_release,
    coalesce(itf.n_impression, 0) as item_n_impression,
    coalesce(itf.n_click, 0) as item_n_click,
    coalesce(itf.n_purchase, 0) as item_n_purchase,
    coalesce(itf.n_engaged, 0) as item_n_engaged,
    coalesce(itf.ctr_smoothed, g.prior_ctr) as item_ctr_smoothed,
    coalesce(itf.cvr_smoothed, g.prior_cvr) as item_cvr_smoothed,
    itf.days_since_last_event as item_days_since_last_event,
    itf.last_event_at as item_last_event_at,
    -- user x item: the user's share of engagement in this item's category
    coalesce(uc.category_share, 0) as user_category_share,
    coalesce(uf.avg_engaged_price, i.price) / i.price as user_price_ratio
from impressions as imp
inner join labelled as l on imp.event_id = l.event_id
inner join {{ ref('user_features') }} as u on imp.user_id = u.user_id
inner join {{ ref('item_features') }} as i on imp.item_id = i.item_id
left join {{ ref('int_global_rates_snapshotted') }} as g on g.snapshot_at = imp.snapshot_at
left join {{ ref('int_user_features_snapshotted') }} as uf
    on uf.user_id = imp.user_id and uf.snapshot_at = imp.snapshot_at
left join {{ ref('int_item_features_snapshotted') }} as itf
    on itf.item_id = imp.item_id and itf.snapshot_at = imp.snapshot_at
left join {{ ref('int_user_categories_snapshotted') }} as uc
    on uc.user_id = imp.user_id and uc.snapshot_at = imp.snapshot_at and uc.category = i.category
