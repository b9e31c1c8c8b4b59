"""System packages the tests need (Debian's PostgreSQL and Chromium), installed when missing on a
fresh machine running as root, as CI's is."""

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
        subprocess.run(["apt-get", "install", "-y", "-q", package], env=env, check=False, capture_output=True)
        if not present():  # a fresh machine: refresh the index first
            subprocess.run(["apt-get", "update", "-q"], env=env, check=True, capture_output=True)
            subprocess.run(["apt-get", "install", "-y", "-q", package], env=env, check=True, capture_output=True)
    if not present():
        raise RuntimeError(f"{package} is not installed: apt-get install {package} (Debian), then rerun")
