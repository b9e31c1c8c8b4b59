-- staged events with their split (train / validation / test, by the user's boundaries in
-- int_user_splits_defined), implicit-feedback weight (event_weights var) and optional exponential
-- time decay towards the user's split (decay_half_life_days var; train and validation events only)
select
    e.event_id, e.user_id, e.item_id, e.event_type, e.event_at,
    {{ dbt.date_trunc('day', 'e.event_at') }} as event_day,
    {{ hour_of_day('e.event_at') }} as event_hour,
    {{ is_weekend('e.event_at') }} as is_weekend,
    case
        when e.event_at >= s.split_at then 'test'
        when e.event_at >= s.valid_at then 'validation'
        else 'train'
    end as split,
    cast({{ event_weight('e.event_type') }} as {{ dbt.type_float() }})
    {%- if var('decay_half_life_days') %}
      * case when e.event_at < s.split_at
             then power(0.5, {{ dbt.datediff('e.event_at', 's.split_at', 'second') }} / (86400.0 * {{ var('decay_half_life_days') }}))
             else 1.0 end
    {%- endif %} as weight
from {{ ref('int_events_referenced') }} as e
inner join {{ ref('int_user_splits_defined') }} as s on e.user_id = s.user_id
where e.quarantine_reason is null
