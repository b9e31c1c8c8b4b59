"""How a run's steps execute: one after another in the run's process, or side by side, each in a process
of its own (Dagster's multiprocess executor). The executor of the Definitions takes ``processes`` in
its run config (the launchpad's ``execution: config: processes``; 1, in the run's process, unless set);
``recsys-pipeline`` chooses by the size of the raw events (:func:`auto_processes`), or ``--processes``.

Side by side, every step's process is forked from a server that imported the code once
(``dagster_defs.step_process``), and each applies the run's thread budget itself (the ``recsys``
resource), so two steps of one thread each share the machine's two cores. Measured
(``python -m bench.scale``, ``python -m bench.pipeline``): at 10M events the main job takes 10.6 min
side by side against 15 min one at a time, with the same leaderboard; on the committed sample (117k
events) starting a process per step costs more than running two at a time saves (115 s against 90 s).
"""

from __future__ import annotations

import json
import os

import dagster as dg

from ml import settings, threads
from ml.ingest import raw_files

# from this many raw events on, recsys-pipeline runs steps side by side by default (measured above)
SIDE_BY_SIDE_FROM_EVENTS = 500_000
ASSET_JOB = "__ASSET_JOB"  # the Definitions' implicit job of every asset, which runs any selection
# the run's longest chain when steps run side by side (at 10M events tuning/two_stage 96 s, then the
# candidate generators' models, models/two_stage 55 s and evaluation/two_stage 93 s): its steps start
# first whenever they are ready, so that the chain does not end the run alone (Dagster's step priority)
CRITICAL_PATH = {"dagster/priority": "1"}
# the steps that hold marts.ctr_examples in memory (2.75M rows and their joined features at 10M events,
# 2.5-3.5 GiB each): side by side, one of them at a time (the executor's tag limit), which kept the run
# under 8 GiB; two together brought it to 8.4 GiB (``python -m bench.scale``)
HOLDS_CTR_EXAMPLES = {"recsys/memory": "ctr_examples"}


def _executor_config(config: dict) -> dict:
    n = config["processes"]
    if n <= 1:
        return {"in_process": {}}
    return {
        "multiprocess": {
            "max_concurrent": n,
            "start_method": {"forkserver": {"preload_modules": ["dagster_defs.step_process"]}},
            "tag_concurrency_limits": [{"key": key, "value": value, "limit": 1} for key, value in HOLDS_CTR_EXAMPLES.items()],
        }
    }


steps_executor = dg.multi_or_in_process_executor.configured(
    _executor_config,
    name="recsys_steps",
    config_schema={
        "processes": dg.Field(
            int,
            default_value=1,
            description="steps that run at once, each in its own process (1: one after another in the run's process); "
            f"recsys-pipeline sets it from the raw events' size (this machine: {threads.lanes()} from "
            f"{SIDE_BY_SIDE_FROM_EVENTS:,} events on)",
        )
    },
)


def raw_event_rows(raw_dir: str | None, fmt: str) -> int | None:
    """Rows of the raw events a run will load: the committed seed, or the files of ``raw_dir``; None
    when there are none to count (the raw asset then says why)."""
    if raw_dir:
        return raw_files.event_rows(raw_dir, fmt)
    seed = settings.DBT_PROJECT_DIR / "seeds" / "raw_events.csv"
    return raw_files.csv_rows(seed) if seed.is_file() else None


def auto_processes(raw_dir: str | None, fmt: str) -> int:
    """Side by side (``threads.lanes()`` at a time) from SIDE_BY_SIDE_FROM_EVENTS raw events on, else 1."""
    rows = raw_event_rows(raw_dir, fmt)
    return threads.lanes() if rows is not None and rows >= SIDE_BY_SIDE_FROM_EVENTS else 1


def processes_for(option: str, dbt_vars: str) -> int:
    """``recsys-pipeline --processes``: a whole number of at least 1, or auto (:func:`auto_processes` of
    the raw events the run loads: the dbt vars' ``raw_data_dir``, else RECSYS_RAW_DIR, else the seed)."""
    if option == "auto":
        raw = json.loads(dbt_vars) if dbt_vars else {}
        fmt = raw.get("raw_data_format") or os.environ.get("RECSYS_RAW_FORMAT", "parquet")
        return auto_processes(raw.get("raw_data_dir") or os.environ.get("RECSYS_RAW_DIR"), fmt)
    if not option.isdigit() or int(option) < 1:
        raise SystemExit(f"--processes must be auto or a whole number of at least 1, got {option!r}")
    return int(option)


def execute(instance: dg.DagsterInstance, run_id: str, keys: list, run_config: dict, tags: dict) -> bool:
    """Materialize ``keys`` as run ``run_id`` of the Definitions' asset job (loaded by module, so that
    a step's own process can load it again); whether the run succeeded."""
    from dagster._core.definitions.reconstruct import ReconstructableRepository
    from dagster._core.execution.api import execute_run

    job = ReconstructableRepository.for_module(
        "dagster_defs.definitions", "defs", working_directory=str(settings.ROOT)
    ).get_reconstructable_job(ASSET_JOB)
    run = instance.create_run_for_job(
        job_def=job.get_definition(),
        run_id=run_id,
        run_config=run_config,
        tags=tags,
        job_code_origin=job.get_python_origin(),
        asset_selection=frozenset(keys),
    )
    return execute_run(job, run, instance, raise_on_error=False).success
