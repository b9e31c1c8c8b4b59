"""The whole graph on generated data at scale, in one `recsys-pipeline` run: wall time and peak memory (PSS) per
asset and in total; then one more day of events appended and the graph run again as the daily cycle
(``recsys-pipeline --daily``: tunings reused while the data holds, click models warm-started; the incremental
event models re-stage that day only): its time against the full run's, for the dbt layer and in all;
and NDCG@10 per model next to the sample's.

    python -m bench.scale                       # 10M events (recsys-generate parquet --by-day), the main job
    python -m bench.scale --events 1000000      # a smaller run
    python -m bench.scale --raw DIR             # files already generated (events.parquet or events/day=*/)
    python -m bench.scale --paired              # then a full run on every day, and the append's quality against it

The events land in arrival-day folders (events/day=YYYY-MM-DD/); the first run sees every day but the
last, the second run the last day too. The run's process tree (the pipeline, dbt, the Spark or other
children) is sampled for memory (PSS) every 0.5 s; each asset is charged the peak seen between the
previous asset's end and its own (the pipeline prints one line per asset as it finishes). The dbt
layer's time is the sum of its dbt steps' durations in the run's log (raw to marts; not the
leaderboard). The sample's NDCG@10 comes from a run of the main job on the committed sample into
another fresh directory (--no-sample skips it).
"""

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench import append_quality
from bench.common import isolated_env
from ml import settings
from ml.ingest import synthetic
from ml.warehouse import connection as warehouse

LINE = re.compile(r"^\[\s*(\d+)/(\d+)\] (\S+)\s+([\d.]+)s\s*(.*)$")
# the dbt steps downstream of newly arrived events (the entities' step reads users and items only)
AFTER_NEW_EVENTS = ("dbt_events_by_day", "dbt_feature_layer")
DBT_STEP = re.compile(
    rf'Finished execution of step "({"|".join(("dbt_entities", *AFTER_NEW_EVENTS))})" in (?:(\d+)m)?([\d.]+)(m?s)'
)
DBT_RUN = re.compile(r"Finished running .* \(([\d.]+)s\)\.")  # dbt's own summary: its nodes and hooks
TARGET_S, TARGET_GIB, TARGET_APPEND = 12 * 60, 8.0, 0.3  # issue 29


def tree_memory(root: int) -> int:
    """Memory of ``root`` and all its descendants: the sum of their proportional set sizes (Linux
    /proc), so that pages they share (steps forked from one server share its imports) count once."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        total += next((int(line.split()[1]) * 1024 for line in rollup.splitlines() if line.startswith("Pss:")), 0)
    return total


class TreeMemory(threading.Thread):
    """Samples the resident memory of a process and all its descendants."""

    def __init__(self, pid: int, every_s: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.root, self.every_s = pid, every_s
        self.peak = self.window_peak = self.last = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.last = total = tree_memory(self.root)
            self.peak, self.window_peak = max(self.peak, total), max(self.window_peak, total)
            time.sleep(self.every_s)

    def take_window(self) -> int:
        """The peak since the last call (at least the latest sample: dbt reports its models at once)."""
        peak, self.window_peak = max(self.window_peak, self.last), 0
        return peak


def run_pipeline(
    env: dict[str, str], log: Path, processes: str = "auto", *options: str
) -> tuple[float, int, list[tuple[str, float, int, str]], int]:
    """The main job; wall seconds, peak memory, per asset (name, seconds, peak memory, figure), exit code."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "dagster_defs.pipeline", "--processes", processes, *options],
        env=env,
        cwd=settings.ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    memory = TreeMemory(proc.pid)
    memory.start()
    assets = []
    with log.open("w") as out:
        for line in proc.stdout:
            out.write(line)
            match = LINE.match(line.strip())
            if match:
                assets.append((match[3], float(match[4]), memory.take_window(), match[5].strip()))
                print(f"  {line.rstrip()}  peak {assets[-1][2] / 2**30:.2f} GiB", flush=True)
    code = proc.wait()
    memory.done.set()
    memory.join()
    return time.perf_counter() - t0, memory.peak, assets, code


def leaderboard_ndcg(data_dir: Path) -> dict[str, float]:
    board = warehouse.query_df("select model, ndcg_at_10 from marts.leaderboard", data_dir / "warehouse.duckdb")
    return dict(zip(board["model"], board["ndcg_at_10"], strict=True))


def dbt_steps(data_dir: Path) -> list[tuple[str, float, float]]:
    """The dbt steps in the latest run's log under ``data_dir/logs``: (step, its seconds, the seconds of
    dbt's own run in it). The difference is what every invocation costs whatever it builds: dbt's start
    and parse, and the row counts and column schemas Dagster fetches afterwards."""
    log = max((data_dir / "logs").glob("pipeline-*.log"), key=lambda p: p.stat().st_mtime)
    text, start, steps = log.read_text(), 0, []
    for match in DBT_STEP.finditer(text):
        minutes, value, unit = match[2], float(match[3]), match[4]
        seconds = (int(minutes) * 60 if minutes else 0) + (value / 1000 if unit == "ms" else value)
        runs = DBT_RUN.findall(text, start, match.start())
        steps.append((match[1], seconds, float(runs[-1]) if runs else float("nan")))
        start = match.end()
    return steps


def dbt_seconds(data_dir: Path, title: str) -> tuple[float, list[tuple[str, float, float]]]:
    """The dbt layer's seconds (its steps' durations), each step printed with dbt's own share; the steps."""
    steps = dbt_steps(data_dir)
    for step, seconds, own in steps:
        print(f"  {title} {step:<20} {seconds:6.1f}s, of which dbt's own run {own:6.1f}s")
    return sum(seconds for _, seconds, _ in steps), steps


def append_floor(steps: list[tuple[str, float, float]]) -> tuple[float, float]:
    """What a one-day append costs in the dbt layer even if no mart recomputed anything: the fixed cost
    of each step downstream of the new events (its time beyond dbt's own run: dbt's start and parse,
    Dagster's row-count, schema and column-lineage fetch), and the new day's staging run itself."""
    fixed = sum(seconds - own for step, seconds, own in steps if step in AFTER_NEW_EVENTS)
    staging = sum(own for step, _, own in steps if step == AFTER_NEW_EVENTS[0])
    return fixed, staging


def report(title: str, seconds: float, peak: int, assets: list, code: int, log: Path) -> None:
    print(
        f"\n{title}: {seconds / 60:.1f} min, peak memory (PSS) {peak / 2**30:.2f} GiB, exit {code} "
        f"[targets <= {TARGET_S // 60} min, <= {TARGET_GIB:.0f} GiB]"
    )
    print("slowest assets:")
    for name, secs, rss, figure in sorted(assets, key=lambda a: -a[1])[:15]:
        print(f"  {name:<45} {secs:7.1f}s  peak {rss / 2**30:5.2f} GiB  {figure}")
    if code != 0:
        sys.exit(f"the run failed: see {log}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--raw", type=Path, help="a directory of raw Parquet files to use instead of generating")
    parser.add_argument("--processes", default="auto", help="recsys-pipeline --processes (default auto)")
    parser.add_argument("--no-sample", action="store_true", help="skip the sample run (its NDCG@10 column)")
    parser.add_argument("--cold-append", action="store_true", help="the append as a plain run, not the daily cycle (--daily)")
    parser.add_argument("--paired", action="store_true", help="then a full run on every day: the append's quality against it")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_scale_"))
    raw = tmp / "raw"
    t0 = time.perf_counter()
    if args.raw is None:  # what a user runs: recsys-generate parquet (files and ground truth)
        command = [sys.executable, "-m", "ml.ingest.cli", "parquet", "--by-day", "--events", str(args.events), "--out", str(raw)]
        subprocess.run(command, check=True, cwd=settings.ROOT)
    else:
        shutil.copytree(args.raw, raw, ignore=shutil.ignore_patterns("events.parquet"))
        if (args.raw / "events.parquet").exists():
            synthetic.events_by_day(args.raw / "events.parquet", raw / "events")
    days = sorted((raw / "events").glob("day=*"))
    print(f"{len(days)} arrival days in {raw} ({time.perf_counter() - t0:.0f}s)", flush=True)
    held = tmp / "held" / days[-1].name
    held.parent.mkdir()
    days[-1].rename(held)  # the last day lands after the first run

    data = tmp / "large" / "data"
    env = {**isolated_env(data), "RECSYS_RAW_DIR": str(raw)}
    print(f"whole graph on {len(days) - 1} days (log {tmp / 'large.log'}):", flush=True)
    seconds, peak, assets, code = run_pipeline(env, tmp / "large.log", args.processes)
    report("whole graph", seconds, peak, assets, code, tmp / "large.log")
    full_dbt, _ = dbt_seconds(data, "full")
    large = leaderboard_ndcg(data)

    held.rename(days[-1])
    print(f"\n{days[-1].name} appended: the graph again (log {tmp / 'append.log'}):", flush=True)
    daily = () if args.cold_append else ("--daily",)
    append_s, append_peak, append_assets, code = run_pipeline(env, tmp / "append.log", args.processes, *daily)
    report("after one appended day", append_s, append_peak, append_assets, code, tmp / "append.log")
    append_dbt, append_steps = dbt_seconds(data, "append")
    print(
        f"\none-day append vs full run: whole graph {append_s:.0f}s / {seconds:.0f}s = {append_s / seconds:.2f} "
        f"[target <= {TARGET_APPEND}]; dbt layer {append_dbt:.1f}s / {full_dbt:.1f}s = {append_dbt / full_dbt:.2f}"
    )
    fixed, staging = append_floor(append_steps)
    print(
        f"floor with no mart recomputed at all: the fixed cost of {' and '.join(AFTER_NEW_EVENTS)} {fixed:.1f}s "
        f"+ the day's staging {staging:.1f}s = {fixed + staging:.1f}s = {(fixed + staging) / full_dbt:.2f} of the full layer"
    )

    if args.paired:
        fresh = tmp / "fresh" / "data"
        print(f"\na full run on all {len(days)} days (log {tmp / 'fresh.log'}):", flush=True)
        fresh_env = {**isolated_env(fresh), "RECSYS_RAW_DIR": str(raw)}
        report("full run on every day", *run_pipeline(fresh_env, tmp / "fresh.log", args.processes), tmp / "fresh.log")
        append_quality.report(data / "warehouse.duckdb", fresh / "warehouse.duckdb")

    sample = {}
    if not args.no_sample:
        sample_env = isolated_env(tmp / "sample" / "data")
        run_pipeline(sample_env, tmp / "sample.log")
        sample = leaderboard_ndcg(tmp / "sample" / "data")
    print("\nNDCG@10         at scale   sample")
    for model in sorted(large, key=lambda m: -(large[m] if large[m] == large[m] else -1)):
        print(f"  {model:<12} {large[model]:8.4f}  {sample.get(model, float('nan')):8.4f}")


if __name__ == "__main__":
    main()
