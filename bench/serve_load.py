"""Load test of the real service on loopback: uvicorn in one process, the load in another.

    python -m bench.serve_load [--seconds 15] [--concurrency 8] [--data-dir DIR]

Materializes the graph into a temp data dir unless --data-dir holds artifacts, starts
`uvicorn service.app:app` (1 worker), then from a second process: single-user top-10 for ALS
(p50/p99 latency, requests/s; targets p99 <= 20 ms, >= 500 req/s) and batches of 100 users
(p50/p99; target <= 50 ms). Bounded in time and in requests; loopback only.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from bench.common import run_pipeline
from tests.conftest import running_service

LOAD = r"""
import asyncio, json, random, sys, time
import httpx
url, seconds, concurrency, max_requests = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
user_ids = json.loads(sys.argv[5])

async def single(client, lat, deadline, counter):
    rng = random.Random(len(lat))
    while time.perf_counter() < deadline and counter[0] < max_requests:
        counter[0] += 1
        t0 = time.perf_counter()
        r = await client.get(f"{url}/users/{rng.choice(user_ids)}/recommendations", params={"k": 10, "model": "als"})
        lat.append(time.perf_counter() - t0)
        assert r.status_code == 200, r.text

async def main():
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:
        lat, counter = [], [0]
        t0 = time.perf_counter()
        await asyncio.gather(*[single(client, lat, t0 + seconds, counter) for _ in range(concurrency)])
        wall = time.perf_counter() - t0
        batch = []
        rng = random.Random(1)
        for _ in range(200):
            body = {"user_ids": rng.sample(user_ids, 100), "top_n": 10, "model": "als"}
            t = time.perf_counter()
            r = await client.post(f"{url}/recommendations", json=body)
            batch.append(time.perf_counter() - t)
            assert r.status_code == 200
    pct = lambda xs, q: sorted(xs)[min(len(xs) - 1, int(q * len(xs)))] * 1000
    print(json.dumps({"requests": len(lat), "rps": len(lat) / wall, "p50_ms": pct(lat, 0.5), "p99_ms": pct(lat, 0.99),
                      "batch_p50_ms": pct(batch, 0.5), "batch_p99_ms": pct(batch, 0.99)}))

asyncio.run(main())
"""


def arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-requests", type=int, default=50_000)
    return parser


def main():
    parser = arguments(argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter))
    parser.add_argument("--data-dir", type=Path)
    args = parser.parse_args()
    data_dir = args.data_dir
    if data_dir is None or not (data_dir / "models" / "als" / "latest" / "index.npz").exists():
        data_dir = Path(tempfile.mkdtemp(prefix="bench_serve_")) / "data"
        run_pipeline(data_dir)
    load_test(data_dir, args)


def load_test(data_dir: Path, args: argparse.Namespace, extra_env: dict[str, str] | None = None) -> None:
    """Serve ``data_dir``'s artifacts with uvicorn and print the single-user and batch figures."""
    env = {**os.environ, "RECSYS_DATA_DIR": str(data_dir), **(extra_env or {})}
    env.pop("RECSYS_DUCKDB_PATH", None)
    with running_service(env) as url:
        users = sorted(
            {
                r["user_id"]
                for r in httpx.post(
                    f"{url}/recommendations", json={"user_ids": list(range(1, 1001)), "model": "als", "top_n": 1}
                ).json()["results"]
            }
        )
        if shutil.which("wrk"):
            wrk_single(url, users, args)
        proc = subprocess.run(
            [
                sys.executable,
                "-c",
                LOAD,
                url,
                str(args.seconds),
                str(args.concurrency),
                str(args.max_requests),
                json.dumps(users),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    print(
        f"single-user top-10 (ALS), python httpx client (the client is the bottleneck), {args.concurrency} concurrent, "
        f"{r['requests']:,} requests: {r['rps']:,.0f} req/s, p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms"
    )
    print(f"batch of 100 users top-10 (ALS): p50 {r['batch_p50_ms']:.1f} ms, p99 {r['batch_p99_ms']:.1f} ms [target <= 50 ms]")


WRK_SCRIPT = """
math.randomseed(42)
local users = {%s}
request = function()
  return wrk.format("GET", "/users/" .. users[math.random(1, #users)] .. "/recommendations?k=10&model=als")
end
"""


def wrk_single(url: str, users: list[int], args) -> None:
    """wrk (Debian package) as the load process: single-user top-10 with random known users."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(WRK_SCRIPT % ", ".join(map(str, users)))
    out = subprocess.run(
        ["wrk", "-t1", f"-c{args.concurrency}", f"-d{int(args.seconds)}s", "--latency", "-s", f.name, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    pct = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))
    total = re.search(r"(\d+) requests in", out).group(1)
    print(
        f"single-user top-10 (ALS), wrk, {args.concurrency} connections, {total} requests: {rps:,.0f} req/s "
        f"[target >= 500], p50 {pct['50']}, p99 {pct['99']} [target <= 20 ms]"
    )


if __name__ == "__main__":
    main()
