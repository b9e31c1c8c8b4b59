"""Ibis's PostgreSQL backend against the engine's ADBC (binary COPY, Arrow reads) on the evaluation
store's shape: why ``ml/warehouse/postgres.py`` does not go through Ibis.

    pip install "ibis-framework[postgres]"   # not a dependency of the project
    python -m bench.ibis_postgres [--rows 100000]

Starts a local PostgreSQL server (as the tests do), writes ``--rows`` per-user metric rows with each,
then reads them back, and prints rows per second and the ratios.
"""

import argparse
import os
import time

import numpy as np
import pandas as pd
import pyarrow as pa
from adbc_driver_postgresql import dbapi

from ml import settings
from tests.postgres import postgres_server

SCHEMA = {"run_id": "string", "model_version": "string", "test_window": "string", "user_id": "int64", "value": "float64"}


def timed(step) -> float:
    t0 = time.perf_counter()
    step()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    n = parser.parse_args().rows
    try:
        import ibis
    except ImportError:
        raise SystemExit('Ibis is not installed: pip install "ibis-framework[postgres]"') from None
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"run_id": "r", "model_version": "v", "test_window": "w", "user_id": np.arange(n), "value": rng.random(n)}
    )
    with postgres_server() as env:
        os.environ.update(env)
        con = ibis.postgres.connect(
            host=env["RECSYS_PG_HOST"],
            port=int(env["RECSYS_PG_PORT"]),
            user=env["RECSYS_PG_USER"],
            database=env["RECSYS_PG_DATABASE"],
        )
        con.create_table("by_ibis", schema=ibis.schema(SCHEMA))
        con.create_table("by_adbc", schema=ibis.schema(SCHEMA))
        ibis_write = timed(lambda: con.insert("by_ibis", frame))
        ibis_read = timed(lambda: con.table("by_ibis").to_pyarrow())
        with dbapi.connect(settings.postgres_uri(env), autocommit=True) as pg, pg.cursor() as cur:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            adbc_write = timed(lambda: cur.adbc_ingest("by_adbc", table, mode="append"))

            def read() -> None:
                cur.execute("select * from by_adbc")
                cur.fetch_arrow_table()

            adbc_read = timed(read)
    print(f"{n:,} rows written: Ibis insert {n / ibis_write:,.0f} rows/s, ADBC COPY {n / adbc_write:,.0f} rows/s")
    print(f"  Ibis / ADBC time: write {ibis_write / adbc_write:.1f}x, read {ibis_read / adbc_read:.1f}x")


if __name__ == "__main__":
    main()
