"""Request-time freshness on a large catalogue: the latency of a recommendation right after an event,
events ingested per second, and events lost across a kill -9 of the service.

    python -m bench.live [--items 200000] [--users 50000] [--pairs 500] [--kills 3]

An ALS model (16 factors) is fit on random interactions over ``--items`` items and published with its
ANN index (so a request without fresh events retrieves through HNSW, as the service does above
RECSYS_ANN_MIN_ITEMS). In this process, the ASGI application is called directly (no client or network
in between): the median and p99 of ``POST /events`` + ``GET /users/{u}/recommendations`` for the same
user (the list folds the event in), against the same GET without an event (the ANN path), and events/s
through ``POST /events`` (one per request) and ``POST /events/batch`` (100 per request). Then uvicorn
serves the same model in a child process; a client posts events one at a time, counting the 2xx
answers, and the child is killed with SIGKILL mid-stream: every acknowledged event must be in the log.
"""

import argparse
import asyncio
import json
import logging
import os
import signal
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml.interactions import InteractionData
from ml.live.log import LiveLog
from ml.recommenders import ALSRecommender, PopularityRecommender
from ml.serving.publish import publish
from ml.simulation.run import free_port, start_service
from service.app import build_app
from service.registry import Registry


def catalogue(n_users: int, n_items: int, per_user: int = 20, seed: int = 0) -> InteractionData:
    rng = np.random.default_rng(seed)
    rows = np.repeat(np.arange(n_users), per_user)
    cols = np.minimum(rng.zipf(1.3, n_users * per_user) - 1, n_items - 1)  # a long tail, as real catalogues have
    X = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(n_users, n_items))
    X.sum_duplicates()
    items = pd.DataFrame({"item_id": np.arange(1, n_items + 1), "category": "c", "title": "t", "brand": None, "price": 1.0})
    items["released_at"] = pd.Timestamp("2024-01-01")
    return InteractionData(train=X, test=X, users=pd.DataFrame({"user_id": np.arange(1, n_users + 1)}), items=items)


async def call(app, method: str, path: str, body: dict | None = None) -> int:
    payload = json.dumps(body).encode() if body is not None else b""
    status: list[int] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": payload, "more_body": False}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    path, _, query = path.partition("?")
    headers = [(b"host", b"bench"), (b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "", "headers": headers,
        "client": ("127.0.0.1", 1), "server": ("bench", 80),
    }  # fmt: skip
    await app(scope, receive, send)
    return status[0]


async def measure(app, n_users: int, n_items: int, pairs: int) -> dict[str, float]:
    rng = np.random.default_rng(1)
    after, plain = [], []
    for _ in range(pairs):
        user, item = int(rng.integers(1, n_users + 1)), int(rng.integers(1, n_items + 1))
        t0 = time.perf_counter()
        assert await call(app, "GET", f"/users/{user + n_users}/recommendations?k=10&model=als") == 200  # no events
        t1 = time.perf_counter()
        assert await call(app, "POST", "/events", {"user_id": user, "item_id": item, "event_type": "click"}) == 200
        t2 = time.perf_counter()
        assert await call(app, "GET", f"/users/{user}/recommendations?k=10&model=als") == 200
        t3 = time.perf_counter()
        plain.append(t1 - t0)
        after.append(t3 - t2)
    start, n = time.perf_counter(), 2000
    for i in range(n):
        await call(app, "POST", "/events", {"user_id": i % n_users + 1, "item_id": i % n_items + 1, "event_type": "view"})
    single = n / (time.perf_counter() - start)
    start, batches = time.perf_counter(), 100
    for b in range(batches):
        events = [{"user_id": (b * 100 + i) % n_users + 1, "item_id": i + 1, "event_type": "view"} for i in range(100)]
        assert await call(app, "POST", "/events/batch", {"events": events}) == 200
    batch = batches * 100 / (time.perf_counter() - start)
    ms = lambda xs, q: 1000 * float(np.quantile(xs, q))  # noqa: E731
    return {
        "after_event_p50_ms": ms(after, 0.5), "after_event_p99_ms": ms(after, 0.99),
        "no_event_ann_p50_ms": ms(plain, 0.5), "no_event_ann_p99_ms": ms(plain, 0.99),
        "events_per_s_single": single, "events_per_s_batch": batch,
    }  # fmt: skip


def kill_test(data_dir: Path, seconds: float) -> tuple[int, int]:
    """(events acknowledged, acknowledged events missing from the log) after a SIGKILL mid-stream."""
    port = free_port()
    env = {**os.environ, "RECSYS_DATA_DIR": str(data_dir), "RECSYS_LIVE_LOG": str(data_dir / "kill.sqlite")}
    server = start_service(env, port)
    url, acked, stop = f"http://127.0.0.1:{port}", [], threading.Event()

    def post() -> None:
        with httpx.Client(timeout=5) as client:
            i = 0
            while not stop.is_set():
                i += 1
                try:
                    r = client.post(f"{url}/events", json={"user_id": 7, "item_id": i, "event_type": "view"})
                except httpx.TransportError:
                    return
                if r.status_code == 200:
                    acked.append(i)

    worker = threading.Thread(target=post)
    worker.start()
    time.sleep(seconds)
    os.kill(server.pid, signal.SIGKILL)
    server.wait()
    stop.set()
    worker.join()
    logged = set(LiveLog(data_dir / "kill.sqlite").table("events").item_id.tolist())
    return len(acked), len(set(acked) - logged)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--pairs", type=int, default=500)
    parser.add_argument("--kills", type=int, default=3)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="bench-live-"))
    data = catalogue(args.users, args.items)
    t0 = time.perf_counter()
    publish(data_dir / "models", "als", "v1", ALSRecommender(iterations=5).fit(data.train), data)
    publish(data_dir / "models", "popularity", "v1", PopularityRecommender().fit(data.train), data)
    print(f"{args.items:,} items, {args.users:,} users, {data.train.nnz:,} interactions; ALS + ANN index published in "
          f"{time.perf_counter() - t0:.0f} s")  # fmt: skip
    logging.getLogger("recsys.service").setLevel(logging.WARNING)  # no access line per request in the figures
    registry = Registry(data_dir / "models", data_dir / "none.duckdb", reload_interval_s=3600)
    registry.start()
    assert registry.snapshot.models["als"].retrieval == "ann"
    app = build_app(registry, LiveLog(data_dir / "live.sqlite"))
    figures = asyncio.run(measure(app, args.users, args.items, args.pairs))
    for name, value in figures.items():
        print(f"{name}: {value:,.2f}")
    for k in range(args.kills):
        acked, lost = kill_test(data_dir, seconds=3 + k)
        print(f"kill -9 #{k + 1}: {acked:,} events acknowledged, {lost} of them missing from the log")
        for leftover in data_dir.glob("kill.sqlite*"):  # the database and its WAL
            leftover.unlink()


if __name__ == "__main__":
    main()
