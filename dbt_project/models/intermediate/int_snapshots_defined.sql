-- feature snapshots: features as of snapshot_at use only events before it. Snapshot 0 is the split
-- (test examples, served features); snapshots 1..n are weekly blocks of CTR training examples.
{% for k in range(var('ctr_train_snapshots') + 1) %}
select
    {{ k }} as snapshot_number,
    {% if k == 0 -%}
    'test' as split,
    s.split_at as snapshot_at,
    s.end_at as window_end_at
    {%- else -%}
    'train' as split,
    {{ dbt.dateadd('day', -k * var('snapshot_days'), 's.split_at') }} as snapshot_at,
    {{ dbt.dateadd('day', -(k - 1) * var('snapshot_days'), 's.split_at') }} as window_end_at
    {%- endif %}
from {{ ref('int_split_defined') }} as s
{% if not loop.last %}union all{% endif %}
{% endfor %}
