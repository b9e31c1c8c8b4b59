-- the weighted user x item interaction matrix in long form, train and test windows. user_idx and
-- item_idx are dense 0-based indices: scipy.sparse.csr_matrix((weight, (user_idx, item_idx)))
{{ contract_typed_start() }}
select
    u.user_idx,
    i.item_idx,
    e.user_id,
    e.item_id,
    e.split,
    sum(e.weight) as weight,
    count(*) as n_events,
    max(e.event_at) as last_event_at
from {{ ref('int_events_weighted') }} as e
inner join {{ ref('user_features') }} as u on e.user_id = u.user_id
inner join {{ ref('item_features') }} as i on e.item_id = i.item_id
where e.weight > 0
group by u.user_idx, i.item_idx, e.user_id, e.item_id, e.split
{{ contract_typed_end() }}
