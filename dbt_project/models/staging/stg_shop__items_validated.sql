{{ depends_on_seed('raw_items') }}
-- every raw item row with its quarantine reason (null = valid)
with typed as (
    select
        {{ try_cast_to('item_id', dbt.type_bigint()) }} as item_id,
        cast(category as {{ dbt.type_string() }}) as category,
        cast(brand as {{ dbt.type_string() }}) as brand,
        {{ try_cast_to('price', dbt.type_float()) }} as price,
        {{ try_cast_to('released_at', dbt.type_timestamp()) }} as released_at,
        cast(item_id as {{ dbt.type_string() }}) as raw_item_id,
        cast(price as {{ dbt.type_string() }}) as raw_price,
        cast(released_at as {{ dbt.type_string() }}) as raw_released_at
    from {{ source('shop', 'items') }}
),

ranked as (
    select
        *,
        row_number() over (partition by item_id order by released_at, category, brand, price) as id_rank
    from typed
)

select
    item_id, category, brand, price, released_at, raw_item_id, raw_price, raw_released_at,
    case
        when item_id is null then 'missing_or_invalid_item_id'
        when category is null then 'missing_category'
        when price < 0 or not {{ is_finite('price') }} or (price is null and raw_price is not null) then 'invalid_price'
        when released_at is null then 'invalid_released_at'
        when id_rank > 1 then 'duplicate_item_id'
    end as quarantine_reason
from ranked
