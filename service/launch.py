"""``recsys-app``: start the web app (service/webapp.py) with Streamlit, headless, on one port."""

import argparse
import os
import sys
from pathlib import Path

SCRIPT = Path(__file__).with_name("webapp.py")


def streamlit_command(port: int, address: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(SCRIPT),
        "--server.headless=true",
        f"--server.port={port}",
        f"--server.address={address}",
        "--browser.gatherUsageStats=false",
        "--server.fileWatcherType=none",
    ]


def app(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="recsys-app", description=__doc__)
    parser.add_argument("--port", type=int, default=8501)
    parser.add_argument("--address", default="127.0.0.1", help="interface to listen on (0.0.0.0: all)")
    args = parser.parse_args(argv)
    print(f"recsys-app: http://{args.address}:{args.port} (RECSYS_DATA_DIR={os.environ.get('RECSYS_DATA_DIR', 'data')})")
    sys.stdout.flush()
    os.execv(sys.executable, streamlit_command(args.port, args.address))
