"""The service's own log lines, one JSON object each (structlog's formatter over the standard logging
module): ``timestamp`` (UTC, ISO 8601), ``level``, ``logger``, ``event`` (the message), the fields a
line adds, and the ``request_id`` of the request it was written in (``service.observe``). uvicorn's
own access log repeats what ``service.observe`` logs per request: start uvicorn with ``--no-access-log``."""

import logging
import sys

import structlog

CHAIN: list[structlog.typing.Processor] = [
    structlog.contextvars.merge_contextvars,  # request_id, while a request runs
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.ExtraAdder(),  # the fields passed as ``extra=``
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.processors.format_exc_info,
]


class _Stderr(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a line is logged (as Python's last-resort handler does)."""

    @property  # type: ignore[override]
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def service_log() -> logging.Logger:
    """The ``recsys.service`` logger, writing JSON lines to stderr (set up once)."""
    log = logging.getLogger("recsys.service")
    if not log.handlers:
        handler = _Stderr()
        handler.setFormatter(
            structlog.stdlib.ProcessorFormatter(
                processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, structlog.processors.JSONRenderer()],
                foreign_pre_chain=CHAIN,
            )
        )
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
    return log
