-- every raw item row with its quarantine reason (null = valid), the column at fault and its raw value.
-- Values are read as text and validated here.
with raw as (
    select
        {{ raw_row_number() }} as source_row,
        {{ raw_text('item_id') }} as raw_item_id,
        {{ raw_text('category') }} as raw_category,
        {{ raw_text('title') }} as title,
        {{ raw_text('brand') }} as brand,
        {{ raw_text('price') }} as raw_price,
        {{ raw_text('released_at') }} as raw_released_at
    from {{ raw_relation('items') }}
),

typed as (
    select
        raw.*,
        {{ integer_id('raw_item_id') }} as item_id,
        raw_category as category,
        {{ try_cast_to('trim(raw_price)', type_double()) }} as price,
        {{ utc_timestamp('raw_released_at') }} as released_at
    from raw
),

ranked as (
    -- the first row of an item_id in file order is kept; later rows are duplicates
    select typed.*, row_number() over (partition by item_id order by source_row) as id_rank
    from typed
),

checked as (
    select
        ranked.*,
        {{ quarantine_verdict([
            ['missing_or_invalid_item_id', 'item_id', 'item_id is null'],
            ['missing_category', 'category', "category is null or trim(category) = ''"],
            ['invalid_price', 'price', '(price is null and raw_price is not null) or price < 0 or not ' ~ is_finite('price')],
            ['invalid_released_at', 'released_at', 'released_at is null'],
            ['released_at_out_of_range', 'released_at', "released_at < cast('" ~ var('released_at_min') ~ "' as " ~ dbt.type_timestamp() ~ ") or released_at > " ~ dbt.dateadd('day', 366, dbt.current_timestamp())],
            ['duplicate_item_id', 'item_id', 'id_rank > 1'],
        ]) }}
    from ranked
)

select
    item_id, category, title, brand, price, released_at,
    case when quarantine_reason is not null then raw_item_id end as raw_item_id,
    quarantine_reason, quarantine_column, quarantine_value
from checked
{{ malformed_lines('items', [
    ['item_id', dbt.type_bigint()], ['category', dbt.type_string()], ['title', dbt.type_string()], ['brand', dbt.type_string()],
    ['price', type_double()], ['released_at', dbt.type_timestamp()], ['raw_item_id', dbt.type_string()],
]) }}
