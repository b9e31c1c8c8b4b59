-- one row per model: the headline metrics of its latest evaluation run (slice all, k = 10) with the
-- 95% per-user bootstrap interval of NDCG@10, the paired test against popularity (lift, its interval,
-- p-value) and against the model's previous run on the same test window (change, p-value;
-- ml/evaluation/uncertainty.py), the cold-start and new-item slices, NDCG@10 as a share of the
-- oracle's (synthetic data only), and for CTR models the test AUC / log loss (the dcn row's ranking
-- metrics are ALS's top-50 reranked by DCN). A column per ranking and beyond-accuracy metric of the
-- dbt var metrics, in its order.
{{ config(pre_hook="{{ create_evaluation_tables() }}") }}
{%- set metric_names = [] %}
{%- for name, metric in var('metrics').items() if metric.kind in ('ranking', 'beyond_accuracy') %}
    {%- do metric_names.append(name) %}
{%- endfor %}

with results as (
    select * from {{ source('evaluation', 'results') }}
),

latest as (
    select model, max(evaluated_at) as evaluated_at
    from results
    group by model
),

current_results as (
    select r.*
    from results as r
    inner join latest as l on r.model = l.model and r.evaluated_at = l.evaluated_at
),

wide as (
    select
        model,
        max(model_version) as model_version,
        max(evaluated_at) as evaluated_at,
        {%- for m in metric_names %}
        max(case when slice = 'all' and metric = '{{ m }}' and k = 10 then value end) as {{ m }}_at_10,
        {%- endfor %}
        max(case when slice = 'all' and metric = 'ndcg' and k = 10 then ci_low end) as ndcg_at_10_ci_low,
        max(case when slice = 'all' and metric = 'ndcg' and k = 10 then ci_high end) as ndcg_at_10_ci_high,
        max(case when slice = 'vs_popularity' and metric = 'ndcg' and k = 10 then value end) as ndcg_lift_vs_popularity,
        max(case when slice = 'vs_popularity' and metric = 'ndcg' and k = 10 then ci_low end) as lift_ci_low,
        max(case when slice = 'vs_popularity' and metric = 'ndcg' and k = 10 then ci_high end) as lift_ci_high,
        max(case when slice = 'vs_popularity' and metric = 'ndcg' and k = 10 then p_value end) as p_vs_popularity,
        max(case when slice = 'vs_previous' and metric = 'ndcg' and k = 10 then value end) as ndcg_change_vs_previous,
        max(case when slice = 'vs_previous' and metric = 'ndcg' and k = 10 then p_value end) as p_vs_previous,
        max(case when slice = 'cold_users' and metric = 'ndcg' and k = 10 then value end) as cold_users_ndcg_at_10,
        max(case when slice = 'new_items' and metric = 'ndcg' and k = 10 then value end) as new_items_ndcg_at_10,
        max(case when slice = 'ctr_test' and metric = 'auc' then value end) as ctr_auc,
        max(case when slice = 'ctr_test' and metric = 'log_loss' then value end) as ctr_log_loss,
        max(case when slice = 'all' and metric = 'ndcg' and k = 10 then n_users end) as n_users
    from current_results
    group by model
)

select
    w.model, w.model_version, w.evaluated_at,
    {%- for m in metric_names %}
    w.{{ m }}_at_10,
    {%- endfor %}
    w.ndcg_at_10_ci_low,
    w.ndcg_at_10_ci_high,
    w.ndcg_lift_vs_popularity,
    w.lift_ci_low,
    w.lift_ci_high,
    w.p_vs_popularity,
    w.ndcg_change_vs_previous,
    w.p_vs_previous,
    w.cold_users_ndcg_at_10,
    w.new_items_ndcg_at_10,
    w.ndcg_at_10 / nullif(o.ndcg_at_10, 0) as ndcg_share_of_oracle,
    w.ctr_auc,
    w.ctr_log_loss,
    w.ctr_auc / nullif(o.ctr_auc, 0) as ctr_auc_share_of_oracle,
    w.n_users
from wide as w
left join wide as o on o.model = 'oracle'
