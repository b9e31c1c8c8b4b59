-- one row per valid item: dense 0-based item_idx (CSR column), attributes and history features
-- as of the split; is_new_item marks items released in the test window
{{ contract_typed_start() }}
with snap as (
    select * from {{ ref('int_item_features_snapshotted') }}
    where snapshot_at = (select split_at from {{ ref('int_split_defined') }})
)

select
    cast(row_number() over (order by i.item_id) - 1 as integer) as item_idx,
    i.item_id,
    i.category,
    i.title,
    i.brand,
    i.price,
    i.price / {{ exact_avg('i.price', 'over (partition by i.category)') }} as price_vs_category,
    i.released_at,
    {{ dbt.datediff('i.released_at', 's.split_at', 'day') }} as days_since_release,
    case when i.released_at >= s.split_at then 1 else 0 end as is_new_item,
    {{ history_features_as_of_split('snap', 'g') }}
from {{ ref('stg_shop__items') }} as i
cross join {{ ref('int_split_defined') }} as s
left join {{ ref('int_global_rates_snapshotted') }} as g on g.snapshot_at = s.split_at
left join snap on i.item_id = snap.item_id
{{ contract_typed_end() }}
