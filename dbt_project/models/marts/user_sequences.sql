-- each user's steps in time order (int_user_steps_ordered) with the dense indices models use; split
-- says which window a step is in, so a model trained on the train window reads nothing after it
{{ contract_typed_start() }}
select
    u.user_idx,
    i.item_idx,
    s.user_id,
    s.item_id,
    s.split,
    s.event_at,
    s.position
from {{ ref('int_user_steps_ordered') }} as s
inner join {{ ref('user_features') }} as u on s.user_id = u.user_id
inner join {{ ref('item_features') }} as i on s.item_id = i.item_id
{{ contract_typed_end() }}
