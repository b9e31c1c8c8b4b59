-- per user, category and day: engagement weight (for category affinity as of any snapshot)
select e.user_id, i.category, e.event_day, sum(e.weight) as weight
from {{ ref('int_events_weighted') }} as e
inner join {{ ref('stg_shop__items') }} as i on e.item_id = i.item_id
where e.weight > 0
group by e.user_id, i.category, e.event_day
