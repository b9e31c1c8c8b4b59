-- catalogue-wide CTR (clicks / impressions) and CVR (purchases / clicks) as of each snapshot:
-- the prior of the smoothed per-user and per-item rates (0 when the data has no impressions or clicks:
-- impressions are optional in the raw contract)
select
    s.snapshot_at,
    -- rates are floats on every engine (1.0 * ... alone is an exact numeric on PostgreSQL)
    coalesce(cast(sum(d.n_click) as {{ type_double() }}) / nullif(sum(d.n_impression), 0), 0) as prior_ctr,
    coalesce(cast(sum(d.n_purchase) as {{ type_double() }}) / nullif(sum(d.n_click), 0), 0) as prior_cvr
from {{ ref('int_snapshots_defined') }} as s
inner join {{ ref('int_item_days_aggregated') }} as d on d.event_day < s.snapshot_at
group by s.snapshot_at
