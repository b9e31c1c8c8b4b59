"""What the request id, the Prometheus counters and the JSON access line cost per request.

    python -m bench.observe [--requests 2000] [--rounds 5]

Serves ALS top-10 for random users of a model trained on the warehouse of RECSYS_DATA_DIR, in this
process (the ASGI application called directly), once through the app as built and once with
``service.observe.Observed`` removed from its middleware, in alternating rounds; prints requests/s of
each and the cost per request (medians over the rounds of each pair's difference: the machine is
noisy). The access lines go to /dev/null.
"""

import argparse
import asyncio
import contextlib
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from ml.recommenders import ALSRecommender, PopularityRecommender
from ml.serving.publish import publish
from ml.warehouse.marts import load_interactions
from service.app import build_app
from service.observe import Observed
from service.registry import Registry


async def _rate(app, users: list[int], n: int) -> float:
    """Requests/s of ``app`` called as an ASGI application directly (no client or transport in between)."""
    rng = random.Random(0)
    statuses: list[int] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    start = time.perf_counter()
    for _ in range(n):
        path = f"/users/{rng.choice(users)}/recommendations"
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
            "path": path, "raw_path": path.encode(), "query_string": b"k=10&model=als", "root_path": "",
            "headers": [(b"host", b"bench")], "client": ("127.0.0.1", 1), "server": ("bench", 80),
        }  # fmt: skip
        await app(scope, receive, send)
    seconds = time.perf_counter() - start
    assert statuses == [200] * n, set(statuses)
    return n / seconds


def rate(app, users: list[int], n: int) -> float:
    return asyncio.run(_rate(app, users, n))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    data = load_interactions()  # the warehouse of RECSYS_DATA_DIR (run the main job first)
    models = Path(tempfile.mkdtemp(prefix="bench_observe_"))
    publish(models, "als", "v1", ALSRecommender().fit(data.train), data)
    publish(models, "popularity", "v1", PopularityRecommender().fit(data.train), data)
    registry = Registry(models, models / "none.duckdb")
    registry.reload(force=True)
    observed = build_app(registry)
    bare = build_app(registry)
    bare.user_middleware = [m for m in bare.user_middleware if m.cls is not Observed]
    users = data.users["user_id"].tolist()
    rates: dict[str, list[float]] = {"with": [], "without": []}
    with open(os.devnull, "w") as null, contextlib.redirect_stderr(null):
        for _ in range(args.rounds):
            rates["with"].append(rate(observed, users, args.requests))
            rates["without"].append(rate(bare, users, args.requests))
    cost = statistics.median(1 / w - 1 / wo for w, wo in zip(rates["with"], rates["without"], strict=True))
    with_, without = statistics.median(rates["with"]), statistics.median(rates["without"])
    print(f"requests/s with the observability middleware {with_:.0f}, without {without:.0f} (medians of {args.rounds} rounds)")
    print(f"cost per request: {cost * 1e6:.0f} us ({cost * without:+.1%} of a request without it)")


if __name__ == "__main__":
    main()
