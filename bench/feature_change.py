"""From a SQL feature edit to its verdict, on a copy of the project.

    python -m bench.feature_change [--events 350000]   # --events 0: the committed sample

Generates a synthetic world of ``--events`` events (``recsys-generate parquet``; the sample's
validation block, 7.7k CTR examples, is too small to resolve a gain of a few thousandths in log
likelihood for every model) and runs the main job once in a copy of the project. Then, for each
planted edit, from that same state, one ``recsys-pipeline --changed``: its wall time, the assets it
rebuilt against the whole main job, and what came of it: the verdict of every judged model
(validation rows, paired test), or the guard that stopped the edit. The edits
(``bench.feature_edits``), SQL and yml only:

- informative: the item's co-engagement similarity to the user's history (a new intermediate model
  and a column of the CTR features);
- the issue's example: a new mart, the user's share of engagement on the item's brand in the 28
  days before each snapshot, joined into the CTR examples on (user_id, brand, snapshot_at);
- random: a column of the CTR features that is a hash of the pair and snapshot (no signal);
- leak: a column counting the user's clicks on the item in the week after the snapshot (the label by
  another route).
"""

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import isolated_env
from bench.feature_edits import USER_BRAND_SHARE, add_co_engagement, add_ctr_column, add_feature_mart, copy_project
from ml import settings
from ml.warehouse import evaluation_store
from ml.warehouse.connection import connect

RANDOM = "(cast(hash(ex.user_id, ex.item_id, ex.snapshot_at) % 10000 as double) / 10000)"
LEAK = (
    "(select count(*) from {{ ref('int_events_weighted') }} as e where e.user_id = ex.user_id and e.item_id = ex.item_id"
    " and e.event_type = 'click' and e.event_at >= ex.snapshot_at and e.event_at < {{ dbt.dateadd('day', 7, 'ex.snapshot_at') }})"
)
EDITS = {
    "informative (column user_item_co_engagement)": add_co_engagement,
    "the issue's example (new mart user_brand_features)": lambda p: add_feature_mart(p, USER_BRAND_SHARE),
    "random (column random_hash)": lambda p: add_ctr_column(p, "random_hash", RANDOM, "a hash of the pair: no signal"),
    "leak (column clicks_in_week_after)": lambda p: add_ctr_column(p, "clicks_in_week_after", LEAK, "clicks after the snapshot"),
}


def pipeline(project: Path, data: Path, raw: Path | None, *args: str) -> tuple[float, subprocess.CompletedProcess]:
    env = {**isolated_env(data), **({"RECSYS_RAW_DIR": str(raw)} if raw else {})}
    t0 = time.perf_counter()
    command = [sys.executable, "-m", "dagster_defs.pipeline", *args]
    proc = subprocess.run(command, env=env, cwd=project, capture_output=True, text=True)
    return time.perf_counter() - t0, proc


def materialized(stdout: str) -> int:
    found = re.search(r"materializing (\d+) assets", stdout)
    return int(found.group(1)) if found else 0


def outcome(proc: subprocess.CompletedProcess, data: Path) -> list[str]:
    """The verdict rows the run wrote, or the lines saying what stopped it."""
    lines = [line.strip() for line in proc.stdout.splitlines()]
    warned = [line for line in lines if line.startswith("check warned:")]  # e.g. the CTR mart's columns changed
    stopped = [line for line in lines if line.startswith(("check failed:", "FAILED", "skipped step"))]
    if stopped:
        return warned + stopped
    if proc.returncode != 0:
        return [f"run failed ({proc.returncode}): " + (proc.stdout + proc.stderr)[-1500:]]
    with connect(data / "warehouse.duckdb") as con:  # a copy of the main job's, which has no verdict yet
        verdicts = evaluation_store.latest_analysis(con, "feature_verdict").sort_values("model")
    return warned + [
        f"{r.model:<10} {r.verdict:<6} {r.metric} {r.value:+.5f} [{r.ci_low:+.5f}, {r.ci_high:+.5f}] p = {r.p_value:.3g}"
        + (f"  (validation AUC {r.auc_before:.4f} -> {r.auc:.4f})" if r.metric == "log_likelihood" else "")
        for r in verdicts.itertuples()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=350_000)
    events = parser.parse_args().events
    root = Path(tempfile.mkdtemp(prefix="bench_feature_change_"))
    raw = root / "raw" if events else None
    if raw:
        generate = [sys.executable, "-m", "ml.ingest.cli", "parquet", "--events", str(events), "--out", str(raw)]
        subprocess.run(generate, check=True, stdout=subprocess.DEVNULL)
    base = root / "base"
    project = copy_project(settings.ROOT, base / "project")
    seconds, proc = pipeline(project, base / "data", raw)
    if proc.returncode:
        raise SystemExit(proc.stdout[-3000:] + proc.stderr[-2000:])
    whole = materialized(proc.stdout)
    print(f"main job on {raw or 'the sample'}: {whole} assets, {seconds:.0f} s", flush=True)
    seconds, proc = pipeline(project, base / "data", raw, "--changed")
    said = [line for line in proc.stdout.splitlines() if line.startswith(("changed: ", "nothing changed"))]
    print(f"--changed with no edit: {said[0] if said else proc.stdout[-500:]} ({seconds:.0f} s)", flush=True)
    for name, edit in EDITS.items():
        here = root / re.sub(r"\W+", "_", name)
        for part in ("data", "dagster_home"):
            shutil.copytree(base / part, here / part, symlinks=True)
        edit(copy_project(settings.ROOT, here / "project"))
        seconds, proc = pipeline(here / "project", here / "data", raw, "--changed")
        print(f"\n{name}: rebuilt {materialized(proc.stdout)} of {whole} assets in {seconds:.0f} s")
        for line in outcome(proc, here / "data"):
            print("   ", line, flush=True)
    print(f"\n(copies under {root})")


if __name__ == "__main__":
    main()
