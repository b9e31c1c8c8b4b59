-- each user's engagement share per category as of each snapshot (category affinity)
with weights as (
    select s.snapshot_at, c.user_id, c.category, sum(c.weight) as weight
    from {{ ref('int_snapshots_defined') }} as s
    inner join {{ ref('int_user_categories_aggregated') }} as c on c.event_day < s.snapshot_at
    group by s.snapshot_at, c.user_id, c.category
)

select
    snapshot_at, user_id, category, weight,
    weight / sum(weight) over (partition by snapshot_at, user_id) as category_share,
    row_number() over (partition by snapshot_at, user_id order by weight desc, category) as category_rank
from weights
