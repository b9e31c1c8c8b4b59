"""Where the time of a run launched from the UI goes, from the click to the end of its step.

    python -m bench.ui_run [--select tuning/als] [--runs 3] [--data-dir DIR]

Starts ``dagster dev`` on a data directory where the main job has run (runs it first when the
directory has no warehouse), then launches runs of one asset through the webserver's GraphQL API, as
the UI's Materialize button does, one after the other. For each run it prints the timeline the Dagster
instance recorded, in seconds after the click: queued, taken from the queue by the daemon, the run
worker's process started, the code location loaded in it (run start), the step started, the step's
first own log line (for a dbt step: the dbt command starting), the step ended, the run ended.
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg
import httpx

from bench.common import isolated_env, run_pipeline, wait_until_ok
from ml import settings

LAUNCH = """mutation($p: ExecutionParams!) { launchPipelineExecution(executionParams: $p) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } ... on InvalidSubsetError { message } } }"""
T = dg.DagsterEventType
MARKS = [  # (label, event type, optional message start)
    ("queued", T.RUN_ENQUEUED, None),
    ("dequeued", T.RUN_DEQUEUED, None),
    ("worker started", T.ENGINE_EVENT, "Started process for run"),
    ("code loaded, run start", T.RUN_START, None),
    ("step start", T.STEP_START, None),
    ("step's first line", None, None),  # the first log line of the step after its start
    ("step end", T.STEP_SUCCESS, None),
    ("run end", T.RUN_SUCCESS, None),
]


def location(url: str) -> str:
    query = "{ workspaceOrError { ... on Workspace { locationEntries { name } } } }"
    answer = httpx.post(f"{url}/graphql", json={"query": query}, timeout=120).json()
    return answer["data"]["workspaceOrError"]["locationEntries"][0]["name"]


def launch(url: str, asset: str) -> tuple[str, float]:
    params = {
        "selector": {
            "repositoryLocationName": location(url),
            "repositoryName": "__repository__",
            "pipelineName": "__ASSET_JOB",
            "assetSelection": [{"path": asset.split("/")}],
            "assetCheckSelection": [],
        },
        "mode": "default",
        "executionMetadata": {"tags": []},
    }
    clicked = time.time()
    answer = httpx.post(f"{url}/graphql", json={"query": LAUNCH, "variables": {"p": params}}, timeout=120).json()
    result = answer["data"]["launchPipelineExecution"]
    if result["__typename"] != "LaunchRunSuccess":
        raise SystemExit(f"launch failed: {result}")
    return result["run"]["runId"], clicked


def timeline(instance: dg.DagsterInstance, run_id: str, clicked: float, timeout: float = 600) -> dict[str, float]:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        run = instance.get_run_by_id(run_id)
        if run is not None and run.is_finished:
            break
        time.sleep(0.5)
    entries = [r.event_log_entry for r in instance.get_records_for_run(run_id, limit=100000).records]
    out: dict[str, float] = {}
    step_started = None
    for e in entries:
        kind = e.dagster_event.event_type if e.dagster_event else None
        for label, wanted, prefix in MARKS:
            if label not in out and wanted is not None and kind == wanted:
                if prefix is None or (e.message or "").startswith(prefix):
                    out[label] = e.timestamp - clicked
        if kind == T.STEP_START:
            step_started = e.timestamp
        elif step_started and "step's first line" not in out and kind is None and e.timestamp >= step_started:
            out["step's first line"] = e.timestamp - clicked
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--select", default="tuning/als", help="the asset to materialize (default tuning/als)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=None, help="a data dir where the main job ran (default: a new one)")
    parser.add_argument("--port", type=int, default=3071)
    parser.add_argument("--root", type=Path, default=settings.ROOT, help="the checkout to serve (default this one)")
    args = parser.parse_args()
    data = args.data_dir or Path(tempfile.mkdtemp(prefix="bench_ui_")) / "data"
    env = isolated_env(data)
    if not (data / "warehouse.duckdb").exists():
        print(f"running the main job into {data} first ...", flush=True)
        env = run_pipeline(data)
    Path(env["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
    committed = args.root / "data" / "dagster_home" / "dagster.yaml"
    (Path(env["DAGSTER_HOME"]) / "dagster.yaml").write_text(committed.read_text())
    url = f"http://127.0.0.1:{args.port}"
    log = open(data.parent / "dagster_dev.log", "w")  # noqa: SIM115 - open for the server's life
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster"), "dev", "-p", str(args.port), "-h", "127.0.0.1"],
        env=env, cwd=args.root, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        wait_until_ok(f"{url}/server_info")
        os.environ["DAGSTER_HOME"] = env["DAGSTER_HOME"]
        instance = dg.DagsterInstance.get()
        rows = []
        for i in range(args.runs):
            run_id, clicked = launch(url, args.select)
            marks = timeline(instance, run_id, clicked)
            rows.append(marks)
            print(f"run {i + 1} ({run_id[:8]}): " + ", ".join(f"{k} {v:.1f}s" for k, v in marks.items()), flush=True)
        print(f"\n{args.select} from the UI, median of {args.runs} runs (seconds after the click):")
        for label, _, _ in MARKS:
            values = [r[label] for r in rows if label in r]
            if values:
                print(f"  {label:<24} {statistics.median(values):6.1f}")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)


if __name__ == "__main__":
    main()
