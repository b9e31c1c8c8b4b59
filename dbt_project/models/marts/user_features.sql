-- one row per valid user: dense 0-based user_idx (CSR row), attributes and history features as of
-- the split (served features and model side features; cold-start users have zero counts)
{{ contract_typed_start() }}
with snap as (
    select * from {{ ref('int_user_features_snapshotted') }}
    where snapshot_at = (select split_at from {{ ref('int_split_defined') }})
),

fav as (
    select user_id, category as favourite_category, category_share as favourite_category_share
    from {{ ref('int_user_categories_snapshotted') }}
    where category_rank = 1 and snapshot_at = (select split_at from {{ ref('int_split_defined') }})
)

select
    cast(row_number() over (order by u.user_id) - 1 as integer) as user_idx,
    u.user_id,
    u.country,
    u.segment,
    u.age_band,
    u.signup_at,
    {{ dbt.datediff('u.signup_at', 's.split_at', 'day') }} as days_since_signup,
    snap.avg_engaged_price,
    fav.favourite_category,
    fav.favourite_category_share,
    {{ history_features_as_of_split('snap', 'g') }}
from {{ ref('stg_shop__users') }} as u
cross join {{ ref('int_split_defined') }} as s
left join {{ ref('int_global_rates_snapshotted') }} as g on g.snapshot_at = s.split_at
left join snap on u.user_id = snap.user_id
left join fav on u.user_id = fav.user_id
{{ contract_typed_end() }}
