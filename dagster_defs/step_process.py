"""What every step process of a run starts from: the multiprocess executor's forkserver imports this
module once per run and forks each step's process from it, so that a step does not pay the imports
(torch, LightGBM, dagster-dbt and the dbt manifest: about 5 s) again. Nothing here may start a thread
pool: a process forked after numba's OpenMP pool started is terminated by numba; each step applies
the run's thread budget itself (the ``recsys`` resource)."""

from dagster_defs.definitions import defs  # noqa: F401  (imported once here, inherited by every step)
