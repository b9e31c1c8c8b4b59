"""Progress of long loops in the run logs: done/total, rate and time left, at most every ``every_s``
seconds (and once at the end), through the ``log`` callable that training already receives."""

from __future__ import annotations

import time
from collections.abc import Callable

EVERY_S = 30.0  # a line per half minute: visible in the UI's run log without flooding it


def duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s" if m else f"{s}s"


class Progress:
    """``update(n)`` after each chunk of work; a line goes to ``log`` when ``every_s`` has passed since
    the last one, and ``finish()`` writes the last."""

    def __init__(
        self,
        what: str,
        total: int,
        log: Callable[[str], None] | None,
        unit: str = "rows",
        every_s: float = EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.what, self.total, self.log, self.unit, self.every_s, self.clock = what, total, log, unit, every_s, clock
        self.done = 0
        self.started = self.last = clock()

    def line(self) -> str:
        elapsed = self.clock() - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        left = f", {duration((self.total - self.done) / rate)} left" if 0 < rate and self.done < self.total else ""
        share = f" ({100 * self.done / self.total:.0f}%)" if self.total else ""
        return f"{self.what}: {self.done:,}/{self.total:,} {self.unit}{share}, {rate:,.0f} {self.unit}/s{left}"

    def update(self, n: int) -> None:
        self.done += n
        if self.log is not None and self.clock() - self.last >= self.every_s:
            self.last = self.clock()
            self.log(self.line())

    def finish(self, note: str = "") -> None:
        if self.log is not None:
            self.log(self.line() + f" in {duration(self.clock() - self.started)}{note}")
