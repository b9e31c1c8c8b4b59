"""The same dbt project on DuckDB and on PostgreSQL, side by side.

    python -m bench.engines                      # the sample, 1M generated events, the whole graph
    python -m bench.engines --events 0 --runs 1  # the sample only, once, and the whole graph

Prints, per engine, the median time of `dbt build` of the committed sample (seeds, models, data and unit
tests) over --runs runs; then for --events generated events in Parquet: the load (DuckDB: none, the
files are read in place; PostgreSQL: recsys-load-raw, COPY) and `dbt build` (no unit tests) times, and
then the whole graph (recsys-pipeline on the sample) on each engine: wall time, and NDCG@10 per model
side by side with the largest difference of any leaderboard metric. A throwaway PostgreSQL server is
started for the run (Debian's package). Spark is not measured yet.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import isolated_env
from ml import settings, synthetic, warehouse
from tests.postgres import postgres_server


def timed(cmd: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd[:3])} failed:\n{proc.stdout[-3000:]}")
    return time.perf_counter() - t0


def dbt(*args: str, tmp: Path) -> list[str]:
    return settings.dbt_command(*args, "--quiet", target_path=tmp / "target", log_path=tmp / "logs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_engines_"))
    base = {k: v for k, v in os.environ.items() if k not in ("RECSYS_RAW_DIR", "RECSYS_DBT_TARGET")}
    base["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    with postgres_server() as pg:
        engines = {
            "duckdb": {**base, "RECSYS_DBT_TARGET": "dev", "RECSYS_DUCKDB_PATH": str(tmp / "sample.duckdb")},
            "postgres": {**base, **pg},
        }
        for name, env in engines.items():
            times = []
            for _ in range(args.runs):
                Path(tmp / "sample.duckdb").unlink(missing_ok=True)
                times.append(timed(dbt("build", tmp=tmp), env))
            each = ", ".join(f"{t:.1f}" for t in times)
            print(f"{name:<9} sample dbt build: median {statistics.median(times):5.1f}s over {args.runs} ({each})")
        if args.events:
            raw = tmp / "raw"
            synthetic.write_parquet(synthetic.generate(synthetic.SyntheticConfig.for_events(args.events)), raw)
            build = dbt("build", "--exclude", "resource_type:unit_test", tmp=tmp)
            duck = {**engines["duckdb"], "RECSYS_RAW_DIR": str(raw), "RECSYS_DUCKDB_PATH": str(tmp / "large.duckdb")}
            t_duck = timed(build, duck)
            pg_env = {**engines["postgres"], "RECSYS_RAW_DIR": str(raw)}
            t_load = timed([sys.executable, "-m", "ml.raw_loader", str(raw)], pg_env)
            t_pg = timed(build, pg_env)
            print(
                f"{args.events:,} events: duckdb build {t_duck:.1f}s (files read in place); postgres load (COPY) "
                f"{t_load:.1f}s + build {t_pg:.1f}s; ratio postgres/duckdb {(t_load + t_pg) / t_duck:.1f}"
            )

        boards, seconds = {}, {}
        for name in engines:
            env = {**isolated_env(tmp / name / "data"), **({k: v for k, v in engines[name].items() if k.startswith("RECSYS_PG")})}
            env["RECSYS_DBT_TARGET"] = "dev" if name == "duckdb" else "postgres"
            if name == "postgres":  # a fresh database (the one above holds the loaded raw files)
                os.environ.update(engines["postgres"])
                with warehouse.connect() as con:
                    con.execute("create database recsys_graph")
                env["RECSYS_PG_DATABASE"] = "recsys_graph"
            seconds[name] = timed([sys.executable, "-m", "dagster_defs.pipeline"], env)
            os.environ.update({k: v for k, v in env.items() if k.startswith("RECSYS_")})
            boards[name] = warehouse.query_df("select * from marts.leaderboard").set_index("model").sort_index()
        print(f"whole graph on the sample: duckdb {seconds['duckdb']:.0f}s, postgres {seconds['postgres']:.0f}s")
        numeric = boards["duckdb"].select_dtypes("number").columns
        diff = (boards["duckdb"][numeric] - boards["postgres"][numeric]).abs().max().max()
        for model, row in boards["duckdb"].iterrows():
            print(
                f"  {model:<11} ndcg@10 duckdb {row.ndcg_at_10:.6f}  postgres {boards['postgres'].loc[model, 'ndcg_at_10']:.6f}"
            )
        print(f"  largest difference of any leaderboard metric: {diff:.2e}")


if __name__ == "__main__":
    main()
