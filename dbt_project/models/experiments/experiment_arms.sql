-- per experiment and arm: users, exposures, CTR (clicked exposures / exposures), conversion (share of
-- users with an attributed purchase) and purchases per exposure, with 95% intervals, and CTR against
-- the control arm (named control, else the first by name). The user is the unit the hash randomises,
-- so the intervals are clustered by user: a ratio's standard error by the delta method,
-- se = sqrt(sum((c_u - r e_u)^2) / (n (n - 1))) / mean(e_u); conversion's by the normal approximation.
-- significant: |z| > 1.96 (two-sided 5%); a difference inside the interval is noise.
with per_user as (
    select experiment, arm, model, user_id,
        count(*) as exposures, sum(clicked) as clicks, sum(purchased) as purchases
    from {{ ref('experiment_exposures') }}
    group by experiment, arm, model, user_id
),

totals as (
    select experiment, arm, model,
        count(*) as users, sum(exposures) as exposures, sum(clicks) as clicks, sum(purchases) as purchases,
        -- floats on every engine (1.0 * ... alone is an exact numeric on PostgreSQL)
        cast(sum(clicks) as {{ type_double() }}) / sum(exposures) as ctr,
        cast(sum(purchases) as {{ type_double() }}) / sum(exposures) as purchases_per_exposure,
        avg(case when purchases > 0 then cast(1 as {{ type_double() }}) else cast(0 as {{ type_double() }}) end) as conversion,
        avg(cast(exposures as {{ type_double() }})) as mean_exposures
    from per_user
    group by experiment, arm, model
),

spread as (
    select t.experiment, t.arm,
        sum((u.clicks - t.ctr * u.exposures) * (u.clicks - t.ctr * u.exposures)) as ctr_ss,
        sum((u.purchases - t.purchases_per_exposure * u.exposures) * (u.purchases - t.purchases_per_exposure * u.exposures)) as ppe_ss
    from per_user as u
    inner join totals as t on u.experiment = t.experiment and u.arm = t.arm
    group by t.experiment, t.arm
),

arms as (
    select t.*,
        case when t.users > 1 then sqrt(s.ctr_ss / (t.users * (t.users - 1))) / t.mean_exposures end as ctr_se,
        case when t.users > 1 then sqrt(s.ppe_ss / (t.users * (t.users - 1))) / t.mean_exposures end as ppe_se,
        sqrt(t.conversion * (1 - t.conversion) / t.users) as conversion_se,
        row_number() over (partition by t.experiment order by case when t.arm = 'control' then 0 else 1 end, t.arm) as arm_order
    from totals as t
    inner join spread as s on t.experiment = s.experiment and t.arm = s.arm
),

control as (
    select experiment, arm as control_arm, ctr as control_ctr, ctr_se as control_ctr_se from arms where arm_order = 1
)

select
    a.experiment, a.arm, a.model, a.users, a.exposures, a.clicks, a.purchases,
    a.ctr, a.ctr - 1.96 * a.ctr_se as ctr_ci_low, a.ctr + 1.96 * a.ctr_se as ctr_ci_high,
    a.conversion, a.conversion - 1.96 * a.conversion_se as conversion_ci_low, a.conversion + 1.96 * a.conversion_se as conversion_ci_high,
    a.purchases_per_exposure,
    a.purchases_per_exposure - 1.96 * a.ppe_se as purchases_per_exposure_ci_low,
    a.purchases_per_exposure + 1.96 * a.ppe_se as purchases_per_exposure_ci_high,
    c.control_arm,
    case when a.arm_order > 1 then a.ctr - c.control_ctr end as ctr_vs_control,
    case when a.arm_order > 1 and a.ctr_se * a.ctr_se + c.control_ctr_se * c.control_ctr_se > 0
        then (a.ctr - c.control_ctr) / sqrt(a.ctr_se * a.ctr_se + c.control_ctr_se * c.control_ctr_se) end as ctr_z_vs_control
from arms as a
inner join control as c on a.experiment = c.experiment
