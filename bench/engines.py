"""The same project on DuckDB, PostgreSQL and Spark, side by side.

    python -m bench.engines                      # the sample, 1M generated events, the whole graph
    python -m bench.engines --events 0 --runs 1  # the sample only, once, and the whole graph
    python -m bench.engines --engines duckdb spark

Prints, per engine, the median time of `dbt build` of the committed sample (seeds, models, data and unit
tests) over --runs runs; then for --events generated events in Parquet: the load (DuckDB: none, the
files are read in place; PostgreSQL: recsys-load-raw, COPY; Spark: the run-start hook copies them into
tables) and `dbt build` (no unit tests) times; then the whole graph (recsys-pipeline on the sample) on
each engine: wall time, and NDCG@10 per model side by side with the largest difference of any
leaderboard metric from DuckDB's. A throwaway PostgreSQL server (Debian's package) and a local Spark
Connect server are started for the run; their start-up is printed, not counted.
"""

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from bench.common import isolated_env
from dagster_defs.dbt_cli import dbt_command
from ml.ingest import synthetic
from ml.warehouse import connection as warehouse
from ml.warehouse import spark_server as spark
from tests.postgres import postgres_server

ENGINES = ("duckdb", "postgres", "spark")
TARGETS = {"duckdb": "duckdb", "postgres": "postgres", "spark": "spark"}


def timed(cmd: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd[:3])} failed:\n{proc.stdout[-3000:]}")
    return time.perf_counter() - t0


def dbt(*args: str, tmp: Path) -> list[str]:
    return dbt_command(*args, "--quiet", target_path=tmp / "target", log_path=tmp / "logs")


def servers(names: list[str], tmp: Path, stack: contextlib.ExitStack) -> dict[str, dict[str, str]]:
    """Each engine's connection environment, starting the servers it needs."""
    out = {}
    for name in names:
        t0 = time.perf_counter()
        if name == "postgres":
            out[name] = stack.enter_context(postgres_server())
        elif name == "spark":
            out[name] = {"SPARK_REMOTE": stack.enter_context(spark.local_server(tmp / "spark"))}
        else:
            out[name] = {}
        if name != "duckdb":
            print(f"{name} server started in {time.perf_counter() - t0:.0f}s (not counted below)", flush=True)
    return out


@contextlib.contextmanager
def target(name: str, connection: dict[str, str]):
    """This process reads the engine's warehouse while the block runs."""
    saved = dict(os.environ)
    os.environ.update({**connection, "RECSYS_DBT_TARGET": TARGETS[name]})
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
    args = parser.parse_args()
    names = ["duckdb", *[n for n in args.engines if n != "duckdb"]]  # DuckDB is the reference
    tmp = Path(tempfile.mkdtemp(prefix="bench_engines_"))
    base = {k: v for k, v in os.environ.items() if k not in ("RECSYS_RAW_DIR", "RECSYS_DBT_TARGET", "SPARK_REMOTE")}
    base["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    with contextlib.ExitStack() as stack:
        connections = servers(names, tmp, stack)
        envs = {n: {**base, **connections[n], "RECSYS_DBT_TARGET": TARGETS[n]} for n in names}
        envs["duckdb"]["RECSYS_DUCKDB_PATH"] = str(tmp / "sample.duckdb")
        for name, env in envs.items():
            times = []
            for _ in range(args.runs):
                Path(tmp / "sample.duckdb").unlink(missing_ok=True)
                times.append(timed(dbt("build", tmp=tmp), env))
            each = ", ".join(f"{t:.1f}" for t in times)
            print(f"{name:<9} sample dbt build: median {statistics.median(times):5.1f}s over {args.runs} ({each})", flush=True)
        if args.events:
            raw = tmp / "raw"
            synthetic.write_parquet(synthetic.generate(synthetic.SyntheticConfig.for_events(args.events)), raw)
            build = dbt("build", "--exclude", "resource_type:unit_test", tmp=tmp)
            parts = []
            for name, env in envs.items():
                env = {**env, "RECSYS_RAW_DIR": str(raw), "RECSYS_DUCKDB_PATH": str(tmp / "large.duckdb")}
                load = timed([str(Path(sys.executable).parent / "recsys-load-raw"), str(raw)], env)
                seconds = timed(build, env)
                parts.append(f"{name} {load + seconds:.1f}s" + (f" (load {load:.1f}s + build {seconds:.1f}s)" if load else ""))
            print(f"{args.events:,} events, load + dbt build: " + "; ".join(parts), flush=True)

        boards: dict[str, pd.DataFrame] = {}
        seconds: dict[str, float] = {}
        for name in names:
            env = {**isolated_env(tmp / name / "data"), **connections[name], "RECSYS_DBT_TARGET": TARGETS[name]}
            if name == "postgres":  # a fresh database (the one above holds the loaded raw files)
                with target(name, connections[name]), warehouse.connect() as con:
                    con.execute("create database recsys_graph")
                env["RECSYS_PG_DATABASE"] = "recsys_graph"
            seconds[name] = timed([sys.executable, "-m", "dagster_defs.pipeline"], env)
            with target(name, {k: v for k, v in env.items() if k.startswith(("RECSYS_", "SPARK_"))}):
                boards[name] = warehouse.query_df("select * from marts.leaderboard").set_index("model").sort_index()
        print("whole graph on the sample: " + ", ".join(f"{n} {s:.0f}s" for n, s in seconds.items()))
        numeric = boards["duckdb"].select_dtypes("number").columns
        for model, row in boards["duckdb"].iterrows():
            others = "  ".join(f"{n} {boards[n].loc[model, 'ndcg_at_10']:.6f}" for n in names[1:])
            print(f"  {model:<11} ndcg@10 duckdb {row.ndcg_at_10:.6f}  {others}")
        for name in names[1:]:
            diff = (boards["duckdb"][numeric] - boards[name][numeric]).abs().max().max()
            print(f"  largest difference of any leaderboard metric, {name} vs duckdb: {diff:.2e}")


if __name__ == "__main__":
    main()
