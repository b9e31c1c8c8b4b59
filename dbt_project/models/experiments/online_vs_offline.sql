-- the leaderboard's offline NDCG@10 (test window, with its interval) next to each experiment arm's
-- online CTR (with its interval), per model: whether the offline ranking agrees with what users did
select
    a.experiment, a.arm, a.model, l.model_version as evaluated_version,
    l.ndcg_at_10, l.ndcg_at_10_ci_low, l.ndcg_at_10_ci_high,
    a.users, a.exposures, a.ctr, a.ctr_ci_low, a.ctr_ci_high, a.ctr_vs_control, a.ctr_z_vs_control
from {{ ref('experiment_arms') }} as a
left join {{ ref('leaderboard') }} as l on a.model = l.model
