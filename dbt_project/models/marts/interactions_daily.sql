-- the weighted interaction matrix per day (long form): lets Python cut leak-free windows inside the
-- train period, e.g. features before day D and labels in [D, D + n) for the two-stage ranker
select
    u.user_idx,
    i.item_idx,
    e.event_day,
    e.split,
    sum(e.weight) as weight
from {{ ref('int_events_weighted') }} as e
inner join {{ ref('user_features') }} as u on e.user_id = u.user_id
inner join {{ ref('item_features') }} as i on e.item_id = i.item_id
where e.weight > 0
group by u.user_idx, i.item_idx, e.event_day, e.split
