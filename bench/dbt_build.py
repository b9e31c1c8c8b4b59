"""dbt benchmarks: the committed sample's `dbt build`, and a large Parquet dataset through dbt.

    python -m bench.dbt_build                 # sample build + 10M events (generated if missing)
    python -m bench.dbt_build --events 2000000 --skip-sample

Prints: sample build seconds; for the large dataset the dbt run seconds (staging + intermediate +
marts, no tests), events/s, peak memory of the dbt process, and the same compiled SQL executed
directly in DuckDB in this process (ratio dbt / direct).
"""

import argparse
import json
import os
import resource
import subprocess
import tempfile
import time
from pathlib import Path

import duckdb

from dagster_defs.dbt_cli import dbt_command
from ml import settings
from ml.ingest import raw_files, synthetic


def run_dbt(args, warehouse: Path, target: Path, raw_dir: Path | None = None) -> float:
    env = {**os.environ, "RECSYS_DUCKDB_PATH": str(warehouse), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    env.pop("RECSYS_RAW_DIR", None)
    if raw_dir:
        env["RECSYS_RAW_DIR"] = str(raw_dir)
        with duckdb.connect(str(warehouse)) as con:  # the pipeline's raw step: views over the Parquet files
            raw_files.read_with_duckdb(con, raw_dir, "parquet")
    t0 = time.perf_counter()
    subprocess.run(dbt_command(*args, "--quiet", target_path=target), env=env, check=True)
    return time.perf_counter() - t0


def direct_duckdb(target: Path, raw_dir: Path, warehouse: Path) -> float:
    """Run the compiled SQL of every model that dbt ran, in dbt's order, straight in DuckDB."""
    manifest = json.loads((target / "manifest.json").read_text())
    results = json.loads((target / "run_results.json").read_text())["results"]
    con = duckdb.connect(str(warehouse), config={"memory_limit": os.environ.get("RECSYS_DUCKDB_MEMORY_LIMIT", "3GB")})
    raw_files.read_with_duckdb(con, raw_dir, "parquet")  # raw.* as the pipeline's raw step makes them
    t0 = time.perf_counter()
    for schema in ("staging", "intermediate", "marts"):
        con.execute(f"create schema if not exists {schema}")
    for res in sorted(results, key=lambda r: r["timing"][0]["started_at"] if r["timing"] else ""):
        node = manifest["nodes"][res["unique_id"]]
        if node["resource_type"] != "model":
            continue
        kind = "table" if node["config"]["materialized"] == "table" else "view"
        con.execute(f"create or replace {kind} {node['schema']}.{node['name']} as {node['compiled_code']}")
    elapsed = time.perf_counter() - t0
    con.close()
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--raw-dir", type=Path, default=settings.data_dir() / "raw")
    parser.add_argument("--skip-sample", action="store_true")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_dbt_"))

    if not args.skip_sample:
        secs = run_dbt(["build"], tmp / "sample.duckdb", tmp / "target_sample")
        print(f"sample dbt build (seeds, models, tests): {secs:.1f}s  [target <= 30s]")

    raw = args.raw_dir.resolve()
    if not (raw / "events.parquet").exists():
        t0 = time.perf_counter()
        data = synthetic.generate(synthetic.SyntheticConfig.for_events(args.events))
        synthetic.write_parquet(data, raw)
        data.ground_truth.save(raw / "ground_truth.npz")
        print(f"generated {len(data.events):,} events in {time.perf_counter() - t0:.1f}s -> {raw}")
    n_events = duckdb.sql(f"select count(*) from read_parquet('{raw}/events.parquet')").fetchall()[0][0]

    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    run_dbt(["parse"], tmp / "large.duckdb", tmp / "target_large", raw)
    secs = run_dbt(["run"], tmp / "large.duckdb", tmp / "target_large", raw)
    peak_gib = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 2**20
    print(
        f"{n_events:,} events: dbt run (staging + intermediate + marts) {secs:.1f}s  [target <= 60s], "
        f"{n_events / secs:,.0f} events/s, peak RSS of dbt {peak_gib:.2f} GiB  [target <= 4 GiB]"
    )
    (tmp / "direct").mkdir()  # same file name: compiled SQL names the database "large"
    t_direct = direct_duckdb(tmp / "target_large", raw, tmp / "direct" / "large.duckdb")
    print(f"same compiled SQL directly in DuckDB: {t_direct:.1f}s -> ratio dbt/direct {secs / t_direct:.2f}")
    test_secs = run_dbt(["test", "--exclude", "resource_type:unit_test"], tmp / "large.duckdb", tmp / "target_large", raw)
    print(f"dbt data tests on the large dataset: {test_secs:.1f}s")


if __name__ == "__main__":
    main()
