-- The CTR features of the (user, item) pairs a click model is asked to score (evaluation.ctr_candidates,
-- written by the Python side, one request_id per batch), as of the split: the same SQL as the test
-- examples of marts.ctr_examples (macro ctr_features), so serving never computes a feature a second way.
-- A view: it is read a request at a time. Its columns are ctr_examples' own (macro typed_columns).
{{ config(materialized='view', pre_hook="{{ create_evaluation_tables() }}") }}
{%- set candidates %}(
    select c.request_id, c.user_id, c.item_id, s.split_at as snapshot_at, c.event_hour, c.is_weekend
    from {{ source('evaluation', 'ctr_candidates') }} as c
    cross join {{ ref('split_windows') }} as s
){%- endset %}
select
    request_id,
    {{ typed_columns('ctr_examples', ['event_id', 'impression_at', 'split', 'clicked']) }}
from (
    {{ ctr_features(candidates) }}
) as candidate_features
