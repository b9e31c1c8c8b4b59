-- every staged event checked against the staged users and items: an event of an unknown user or
-- item gets a quarantine reason (null = usable); downstream models read only the usable ones
select
    e.event_id, e.user_id, e.item_id, e.event_type, e.event_at, e.arrival_day, e.staged_at,
    case
        when u.user_id is null then 'unknown_user'
        when i.item_id is null then 'unknown_item'
    end as quarantine_reason
from {{ ref('stg_shop__events') }} as e
left join {{ ref('stg_shop__users') }} as u on e.user_id = u.user_id
left join {{ ref('stg_shop__items') }} as i on e.item_id = i.item_id
