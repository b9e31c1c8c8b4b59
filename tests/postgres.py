"""A throwaway PostgreSQL server for the tests and benchmarks: Debian's ``postgresql`` package (installed
here when missing and running as root, as on CI), a data directory under a temporary folder, a free
port, stopped at the end. The server refuses to run as root, so it runs as the ``postgres`` user."""

import contextlib
import getpass
import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import free_port
from tests.system import debian_package


def pg_bin() -> Path:
    def initdb() -> list[str]:
        return sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))

    debian_package("postgresql", lambda: bool(initdb()))
    return Path(initdb()[-1]).parent


@contextlib.contextmanager
def postgres_server(database: str = "recsys") -> Iterator[dict[str, str]]:
    """Start a server; yields the RECSYS_PG_* environment that the dbt profile and the loader read."""
    bin_dir = pg_bin()
    root = Path(tempfile.mkdtemp(prefix="recsys_pg_"))
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_user:
        shutil.chown(root, "postgres")
    user = "postgres" if as_user else getpass.getuser()
    port = free_port()
    data = root / "data"
    run = lambda *cmd: subprocess.run([*as_user, *cmd], check=True, capture_output=True, text=True)  # noqa: E731
    run(str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", user)
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    run(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "server.log"), "-w", "start")
    try:
        run(str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", user, database)
        yield {
            "RECSYS_DBT_TARGET": "postgres",
            "RECSYS_PG_HOST": "127.0.0.1",
            "RECSYS_PG_PORT": str(port),
            "RECSYS_PG_USER": user,
            "RECSYS_PG_DATABASE": database,
        }
    finally:
        subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
