"""Thread counts of the parallel libraries, measured: the evidence for ml.threads' default.

    python -m bench.threads [--rounds 3]

Each heavy kind of step the graph runs, sized to a few seconds: implicit ALS (its own OpenMP threads,
BLAS at 1), item-item neighbours (numba), a two-tower-sized torch training loop, LightGBM. Each runs
with 1 and with 2 threads (``ml.threads.apply``), alternating, median of the rounds; once on an idle
machine and once beside a busy neighbour (a process spinning on one core: dbt, another run or the
service). Prints seconds per step and condition, and the totals that choose the default.

    python -m bench.threads --lanes [--rounds 3]

Lanes instead (``ml.threads.lanes``): four one-thread LightGBM fits one after another against
``lanes()`` at a time in threads, idle and beside the busy core: the evidence for running the two-stage
ranker's independent tuning trials side by side.
"""

import argparse
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import lightgbm as lgb
import numpy as np
import scipy.sparse as sp
import torch

from ml import threads
from ml.recommenders import ALSRecommender
from ml.recommenders.item_item import item_neighbours


def interactions(seed: int = 0) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    n_users, n_items, nnz = 40_000, 8_000, 800_000
    items = np.minimum(rng.zipf(1.3, nnz), n_items) - 1  # popular items, as real data has
    X = sp.csr_matrix((np.ones(nnz, np.float32), (rng.integers(0, n_users, nnz), items)), shape=(n_users, n_items))
    X.sum_duplicates()
    return X


def torch_loop(steps: int = 150) -> None:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(256, 256), torch.nn.ReLU(), torch.nn.Linear(256, 64))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x, items = torch.randn(512, 256), torch.randn(2048, 64)
    for _ in range(steps):
        loss = torch.logsumexp(net(x) @ items.T, dim=1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()


def lightgbm_fit() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200_000, 30))
    y = (X[:, 0] + rng.normal(size=len(X)) > 0).astype(int)
    params = {"objective": "binary", "verbose": -1, "num_threads": threads.budget(), "deterministic": True}
    lgb.train(params, lgb.Dataset(X, y), num_boost_round=60)


def steps(X: sp.csr_matrix) -> dict:
    return {
        "als (implicit)": lambda: ALSRecommender(factors=64, iterations=8).fit(X),
        "item-item (numba)": lambda: item_neighbours(X, 50, 10.0),
        "torch loop": torch_loop,
        "lightgbm": lightgbm_fit,
    }


def measure(fn, n_threads: int) -> float:
    threads.apply(n_threads)
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def run(X: sp.csr_matrix, rounds: int) -> dict[tuple[str, int], float]:
    out: dict[tuple[str, int], list[float]] = {}
    for name, fn in steps(X).items():
        measure(fn, 1)  # warm-up: numba compiles, libraries load
        for _ in range(rounds):
            for n in (1, 2):
                out.setdefault((name, n), []).append(measure(fn, n))
    return {key: statistics.median(values) for key, values in out.items()}


def in_lanes(n_lanes: int, tasks: int = 4) -> float:
    threads.apply(1)
    t0 = time.perf_counter()
    with ThreadPoolExecutor(n_lanes) as pool:
        list(pool.map(lambda _: lightgbm_fit(), range(tasks)))
    return time.perf_counter() - t0


def run_lanes(rounds: int) -> dict[int, float]:
    n = threads.lanes()
    out: dict[int, list[float]] = {1: [], n: []}
    for _ in range(rounds):
        for lanes in out:
            out[lanes].append(in_lanes(lanes))
    return {lanes: statistics.median(values) for lanes, values in out.items()}


def beside_busy_core(fn):
    """``fn()`` while a second process spins on one core (dbt, another run or the service)."""
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        return fn()
    finally:
        spinner.kill()
        spinner.wait()


def main_lanes(rounds: int) -> None:
    idle = run_lanes(rounds)
    busy = beside_busy_core(lambda: run_lanes(rounds))
    print(f"four one-thread LightGBM fits, seconds, median of {rounds}; lanes on this machine: {threads.lanes()}")
    for lanes in idle:
        print(f"{lanes} at a time: idle {idle[lanes]:.2f}, beside a busy core {busy[lanes]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--lanes", action="store_true", help="measure tasks side by side instead of threads")
    args = parser.parse_args()
    if args.lanes:
        return main_lanes(args.rounds)
    X = interactions()
    idle = run(X, args.rounds)
    busy = beside_busy_core(lambda: run(X, args.rounds))
    names = list(steps(X))
    print(f"seconds, median of {args.rounds} (1 and 2 threads alternating); busy = beside a process spinning on one core")
    print(f"{'step':<20} {'idle 1':>8} {'idle 2':>8} {'busy 1':>8} {'busy 2':>8}")
    for name in names:
        print(f"{name:<20} {idle[name, 1]:8.2f} {idle[name, 2]:8.2f} {busy[name, 1]:8.2f} {busy[name, 2]:8.2f}")
    tot = {(c, n): sum(r[name, n] for name in names) for c, r in (("idle", idle), ("busy", busy)) for n in (1, 2)}
    print(f"{'total':<20} {tot['idle', 1]:8.2f} {tot['idle', 2]:8.2f} {tot['busy', 1]:8.2f} {tot['busy', 2]:8.2f}")
    print(
        f"2 threads vs 1: idle x{tot['idle', 1] / tot['idle', 2]:.2f} speed-up, busy x{tot['busy', 1] / tot['busy', 2]:.2f}; "
        f"ml.threads default on this machine: {threads.default_threads()}"
    )


if __name__ == "__main__":
    main()
