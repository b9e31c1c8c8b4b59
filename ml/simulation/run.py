"""``recsys-simulate``: a simulated world drives the running service for N days through its public API.

    recsys-pipeline && recsys-simulate --days 7 --users-per-day 300

On a data directory the main job has built (RECSYS_DATA_DIR, default data/): publishes the oracle (the
generator's true affinities) as a servable artifact, declares an experiment that splits the visitors
evenly between the oracle and the served models (``--arms``), and starts the service (uvicorn, its own
live log and experiments file under ``<data>/simulation/``, so real traffic is never mixed in). Each
simulated day the visitors ask for their list (``GET /users/{id}/recommendations``: the experiment picks
the arm), answer it as the truth says (``POST /events/batch``), and at the day's end the Dagster job
loads the live log and rebuilds the experiment marts (``recsys-pipeline --select`` the live assets); with ``--retrain`` the main
job instead, so the served days join the training events and every model retrains and is re-evaluated
before the next day. The service runs on the simulation's clock (``RECSYS_SIMULATED_CLOCK``): the days
follow the data's last event, each visitor at their moment of the day.
Prints the per-arm online CTR with intervals beside the offline NDCG@10, and Kendall's tau of the two
rankings with its interval.

"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import yaml

from ml import settings
from ml.artifacts import latest
from ml.evaluation.oracle import OracleRecommender
from ml.ingest.synthetic import SAMPLE_GROUND_TRUTH
from ml.ingest.synthetic.truth import GroundTruth
from ml.interactions import InteractionData
from ml.models import FALLBACK
from ml.serving.freshness import data_until, read_provenance
from ml.serving.index import ServingIndex
from ml.serving.publish import publish
from ml.simulation.report import table, tau_interval
from ml.simulation.world import World
from ml.warehouse import marts
from ml.warehouse.connection import connect

EXPERIMENT = "simulation"
# the live log's load, its staging and the experiment marts (not what the log's rows also feed: the events'
# staging and everything below it, which the main job rebuilds with --retrain)
LIVE_ASSETS = (
    " or ".join(
        f"key:{k}"
        for k in ("raw/raw_live_events", "raw/raw_exposures", "staging/stg_live__events", "staging/stg_live__exposures")
    )
    + " or group:experiments"
)
DEFAULT_ARMS = "oracle,als,item_item,ease,popularity"


def publish_oracle(models_dir: Path, truth: GroundTruth, index: ServingIndex) -> None:
    """The oracle over the users and items of the fallback model's serving index (the served catalogue)."""
    data = InteractionData(train=index.seen, test=index.seen, users=pd.DataFrame({"user_id": index.user_ids}), items=index.items)
    model = OracleRecommender().fit(index.seen, truth=truth, user_ids=index.user_ids, item_ids=index.item_ids)
    publish(models_dir, "oracle", time.strftime("sim-%Y%m%dT%H%M%S"), model, data, origin={})


def served_fallback(models_dir: Path) -> Path:
    found = latest(models_dir, FALLBACK)
    if found is None:
        raise SystemExit(f"recsys-simulate: no {FALLBACK} model under {models_dir}: run recsys-pipeline first")
    return found


def start_service(env: dict, port: int) -> subprocess.Popen:
    """uvicorn serving ``service.app`` on 127.0.0.1:``port`` in a child process, once /health answers 200."""
    cmd = [sys.executable, "-m", "uvicorn", "service.app:app", "--port", str(port), "--log-level", "warning", "--no-access-log"]
    server = subprocess.Popen(cmd, env=env, cwd=settings.ROOT, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    server.kill()
    raise SystemExit("recsys-simulate: the service did not become healthy in 120 s (run recsys-pipeline first?)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def first_day(fallback: Path) -> datetime:
    """Midnight after the last event the served fallback was trained on: the simulated days follow the data."""
    until = data_until(read_provenance(fallback))
    if until is None:
        raise SystemExit("recsys-simulate: the served models have no data window in their provenance: run recsys-pipeline")
    return datetime.combine(until.date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)


def wait_for_new_versions(client: httpx.Client, before: dict, timeout: float = 60) -> dict:
    """The served versions once the service has loaded what the run published (its watcher polls)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = client.get("/health").json()["models"]
        if now != before:
            return now
        time.sleep(0.5)
    return before


def simulate(days: int, users_per_day: int, arms: list[str], k: int, seed: int, truth_path: Path, retrain: bool) -> None:
    data_dir, models_dir = settings.data_dir(), settings.artifacts_dir()
    if not truth_path.exists():
        raise SystemExit(f"recsys-simulate: no generator truth at {truth_path}: it runs on synthetic data (recsys-generate)")
    fallback = served_fallback(models_dir)  # the main job ran: its catalogue, users and data window
    index = ServingIndex.load(fallback)
    sim = data_dir / "simulation"
    sim.mkdir(parents=True, exist_ok=True)
    for old in sim.glob("live.sqlite*"):  # a new world: the previous simulation's log goes
        old.unlink()
    truth = GroundTruth.load(truth_path)
    publish_oracle(models_dir, truth, index)
    share = round(1 / len(arms), 6)
    spec = {"experiments": [{"name": EXPERIMENT, "arms": [
        {"name": a, "model": a, "share": share if i else round(1 - share * (len(arms) - 1), 6)} for i, a in enumerate(arms)
    ]}]}  # fmt: skip
    (sim / "experiments.yml").write_text(yaml.safe_dump(spec, sort_keys=False))
    clock = sim / "clock.txt"  # the service's clock, advanced here visitor by visitor (ml.live.log.now)
    start = first_day(fallback)
    clock.write_text(start.isoformat())
    env = {**os.environ, "RECSYS_DATA_DIR": str(data_dir), "RECSYS_LIVE_LOG": str(sim / "live.sqlite"),
           "RECSYS_EXPERIMENTS": str(sim / "experiments.yml"), "RECSYS_SIMULATED_CLOCK": str(clock),
           "RECSYS_RELOAD_INTERVAL_S": "1"}  # fmt: skip
    visitors = index.user_ids[np.diff(index.seen.indptr) > 0]
    world = World(truth, index.items, visitors, seed)
    port = free_port()
    server = start_service(env, port)
    url = f"http://127.0.0.1:{port}"
    try:
        for day in range(days):
            started, shown, sent = time.perf_counter(), 0, 0
            with httpx.Client(base_url=url, timeout=30) as client:
                for i, user in enumerate(visitors := world.visitors(day, users_per_day)):
                    clock.write_text((start + timedelta(days=day, seconds=(i + 0.5) * 86400 / len(visitors))).isoformat())
                    answer = client.get(f"/users/{user}/recommendations", params={"k": k}).raise_for_status().json()
                    items = [i["item_id"] for i in answer["items"]]
                    events = world.respond(day, user, items)
                    if events:
                        client.post("/events/batch", json={"events": events}).raise_for_status()
                    shown, sent = shown + len(items), sent + len(events)
            served_s = time.perf_counter() - started
            before = httpx.get(f"{url}/health").json()["models"]
            # the day's end: the main job (the log loaded and staged with the other events, every model
            # retrained and evaluated) or the live assets alone (the log measured, the models kept)
            select = [] if retrain else ["--select", LIVE_ASSETS]
            subprocess.run([sys.executable, "-m", "dagster_defs.pipeline", *select], env=env, cwd=settings.ROOT,
                           check=True, stdout=subprocess.DEVNULL)  # fmt: skip
            if retrain:
                with httpx.Client(base_url=url, timeout=30) as client:
                    wait_for_new_versions(client, before)
            what = "retraining" if retrain else "ingestion"
            print(f"day {day + 1}: {shown:,} items shown, {sent:,} events back; served in {served_s:.1f} s, "
                  f"day end to end {time.perf_counter() - started:.1f} s (with the Dagster {what})", flush=True)  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=30)
    with connect(read_only=True) as con:
        online = marts.online_vs_offline(con)
        per_user = marts.experiment_users(con, EXPERIMENT)
    online = online[online["experiment"] == EXPERIMENT]
    print(table(online))
    ranked = online.dropna(subset=["ndcg_at_10"]).set_index("arm")["ndcg_at_10"]
    tau, low, high = tau_interval(per_user, ranked)
    print(f"Kendall tau (online CTR vs offline NDCG@10 over {len(ranked)} arms): {tau:+.3f} [{low:+.3f}, {high:+.3f}]")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="recsys-simulate", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--users-per-day", type=int, default=300)
    parser.add_argument("--arms", default=DEFAULT_ARMS, help=f"the experiment's arms, models by name (default {DEFAULT_ARMS})")
    parser.add_argument("--k", type=int, default=10, help="items per list")
    parser.add_argument("--seed", type=int, default=0)
    raw = os.environ.get("RECSYS_RAW_DIR")
    truth = Path(raw) / "ground_truth.npz" if raw else SAMPLE_GROUND_TRUTH
    parser.add_argument("--truth", type=Path, default=truth, help=f"the generator's ground truth (default {truth})")
    parser.add_argument(
        "--retrain", action="store_true", help="run the main job at each day's end: the models learn from the served days"
    )
    args = parser.parse_args(argv)
    arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    simulate(args.days, args.users_per_day, arms, args.k, args.seed, args.truth, args.retrain)


if __name__ == "__main__":
    main()
