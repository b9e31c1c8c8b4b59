"""System packages the tests need (Debian's PostgreSQL and Chromium), installed when missing on a
fresh machine running as root, as CI's is; one install at a time (the suite's workers share apt)."""

import fcntl
import os
import shutil
import subprocess
from collections.abc import Callable


def debian_package(package: str, present: Callable[[], bool]) -> None:
    """Install ``package`` with apt-get unless ``present()``; raise with the command to run otherwise."""
    if present():
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        with open("/tmp/recsys-tests-apt.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # another worker's install holds dpkg's lock until it is done
            if not present():
                subprocess.run(["apt-get", "install", "-y", "-q", package], env=env, check=False, capture_output=True)
            if not present():  # a fresh machine: refresh the index first
                subprocess.run(["apt-get", "update", "-q"], env=env, check=True, capture_output=True)
                subprocess.run(["apt-get", "install", "-y", "-q", package], env=env, check=True, capture_output=True)
    if not present():
        raise RuntimeError(f"{package} is not installed: apt-get install {package} (Debian), then rerun")
