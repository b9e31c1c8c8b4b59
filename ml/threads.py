"""One thread budget for every library that computes in parallel: torch, BLAS and OpenMP (through
threadpoolctl), numba, implicit's ALS, LightGBM and FAISS.

``RECSYS_THREADS`` (or the ``threads`` field of the Dagster ``recsys`` resource) sets it. The default,
one thread fewer than the machine's cores (at least 1), is what ``python -m bench.threads`` measured on
this project's 2-core machines: a second thread buys little when the machine is idle and costs a lot
when anything else is busy (dbt, another run, the service), because the libraries' worker threads
spin while they wait for a core. On bigger machines it leaves one core to everything else.
"""

from __future__ import annotations

import os

ENV = "RECSYS_THREADS"


def default_threads() -> int:
    return max(1, (os.cpu_count() or 1) - 1)


def budget() -> int:
    """The thread budget: RECSYS_THREADS when set, else :func:`default_threads`."""
    value = os.environ.get(ENV, "").strip()
    if not value:
        return default_threads()
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(f"{ENV} must be a whole number of threads of at least 1, got {value!r}")
    return n


def lanes() -> int:
    """How many tasks of the thread budget fit the machine's cores at once (at least 1). Independent,
    separately seeded tasks (the two-stage ranker's random-start tuning trials) run that many at a
    time: unlike one library's threads they never wait for each other, so a busy neighbour only shares
    the cores with them (``python -m bench.threads --lanes`` measures both)."""
    return max(1, (os.cpu_count() or 1) // budget())


def apply(n: int | None = None) -> int:
    """Set every library's thread count to ``n`` (default: :func:`budget`) for this process; returns it."""
    import faiss
    import numba
    import torch
    from threadpoolctl import threadpool_limits

    n = budget() if n is None else n
    os.environ[ENV] = str(n)  # what budget() answers from now on (LightGBM's and implicit's own counts)
    torch.set_num_threads(n)
    threadpool_limits(n)  # BLAS and OpenMP pools already loaded (numpy's, scipy's, LightGBM's)
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]
    faiss.omp_set_num_threads(n)
    return n
