"""The service's own log lines: time, level and logger on each (uvicorn's access log is its own)."""

import logging
import sys

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _Stderr(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a line is logged (as Python's last-resort handler does)."""

    @property  # type: ignore[override]
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def service_log() -> logging.Logger:
    """The ``recsys.service`` logger, writing to stderr with :data:`FORMAT` (set up once)."""
    log = logging.getLogger("recsys.service")
    if not log.handlers:
        handler = _Stderr()
        handler.setFormatter(logging.Formatter(FORMAT))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
    return log
