-- user x item activity per day (long form): lets Python cut leak-free windows inside the train
-- period, e.g. features before day D and labels in [D, D + n) for the two-stage ranker.
-- weight: summed event weights (0 on days with impressions only); n_impressions: how often the item
-- was shown to the user that day (exposure, a ranking feature)
{{ contract_typed_start() }}
select
    u.user_idx,
    i.item_idx,
    e.event_day,
    e.split,
    sum(e.weight) as weight,
    sum(case when e.event_type = 'impression' then 1 else 0 end) as n_impressions
from {{ ref('int_events_weighted') }} as e
inner join {{ ref('user_features') }} as u on e.user_id = u.user_id
inner join {{ ref('item_features') }} as i on e.item_id = i.item_id
where e.weight > 0 or e.event_type = 'impression'
group by u.user_idx, i.item_idx, e.event_day, e.split
{{ contract_typed_end() }}
