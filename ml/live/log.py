"""The live log: the events the service receives (``POST /events``) and every list it serves (the
exposures), in one SQLite file that every service worker and the Dagster step that loads it share.

Why SQLite and not the warehouse or per-process memory: DuckDB admits one writing process, and a Dagster
run holds the warehouse for minutes, so the service cannot write there while the models train; memory
is lost on a restart and not seen by the other workers. SQLite in WAL mode lets several processes
append (each transaction holds the write lock for microseconds) while others read, and a committed
transaction survives the process: with ``synchronous=NORMAL`` (the default here) a commit is in the
operating system before the call returns, so a kill -9 loses nothing; ``RECSYS_LIVE_SYNC=full`` also
fsyncs each commit (survives a power cut, costs a disk flush per request).

An exposure's ``user_id`` has no declared type: SQLite keeps it as given (an integer, or the digits of an
id beyond int64, which an integer column would turn into a float). Times are UTC, stored as
``YYYY-MM-DD HH:MM:SS.ffffff`` text (sorts as time). Rows are never updated
or deleted: ``seq`` orders them, and the loader takes everything up to the newest row.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
SCHEMA = (
    """create table if not exists events (
        seq integer primary key autoincrement, user_id integer not null, item_id integer not null,
        event_type text not null, event_at text not null, received_at text not null, request_id text)""",
    "create index if not exists events_by_user on events (user_id, event_at)",
    """create table if not exists exposures (
        seq integer primary key autoincrement, request_id text not null, user_id not null,
        item_id integer not null, position integer not null, score real, model text not null,
        model_version text not null, experiment text, arm text, served_at text not null)""",
)
SYNC_MODES = ("normal", "full")
INT64 = (-(2**63), 2**63 - 1)


def stamp(when: datetime) -> str:
    """A time as the log stores it: UTC, naive, microseconds."""
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return when.strftime(TIME_FORMAT)


def exact_id(value: int) -> int | str:
    """An id as SQLite keeps it exactly: one beyond int64 (the service answers any JSON integer) as its
    digits; staging quarantines it as it does such a raw id."""
    return value if INT64[0] <= value <= INT64[1] else str(value)


def now() -> datetime:
    """The service's clock: UTC now, or in a simulated world the simulation's time (``RECSYS_SIMULATED_CLOCK``
    names a file holding an ISO time, which ``recsys-simulate`` advances), so that exposures, events and
    their attribution all run on the simulated days."""
    clock = os.environ.get("RECSYS_SIMULATED_CLOCK")
    if clock:
        return datetime.fromisoformat(Path(clock).read_text().strip()).astimezone(UTC)
    return datetime.now(UTC)


@dataclass(frozen=True)
class LiveEvent:
    user_id: int
    item_id: int
    event_type: str
    event_at: datetime


@dataclass(frozen=True)
class Exposure:
    """One position of a served list."""

    request_id: str
    user_id: int
    item_id: int
    position: int  # 1-based
    score: float
    model: str
    model_version: str
    experiment: str | None = None
    arm: str | None = None


class LiveLog:
    """Append events and exposures, read a user's events since a time, read everything for loading."""

    def __init__(self, path: str | Path, sync: str | None = None) -> None:
        self.path = Path(path)
        sync = (sync or os.environ.get("RECSYS_LIVE_SYNC", "normal")).lower()
        if sync not in SYNC_MODES:
            raise ValueError(f"RECSYS_LIVE_SYNC={sync!r}: use normal (survives a crash) or full (also a power cut)")
        self.sync = sync
        self._lock = threading.Lock()
        self._opened: sqlite3.Connection | None = None

    @property
    def _con(self) -> sqlite3.Connection:
        """One connection, opened on first use (creating the file), used under the lock: requests run on
        the event loop and in the thread pool."""
        if self._opened is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            con = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=10)
            con.execute("pragma journal_mode=wal")
            con.execute(f"pragma synchronous={self.sync}")
            for sql in SCHEMA:
                con.execute(sql)
            self._opened = con
        return self._opened

    def close(self) -> None:
        with self._lock:
            if self._opened is not None:
                self._opened.close()
                self._opened = None

    def __enter__(self) -> LiveLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _append(self, sql: str, rows: Sequence[tuple]) -> None:
        if not rows:
            return
        with self._lock:
            self._con.execute("begin immediate")
            try:
                self._con.executemany(sql, rows)
            except BaseException:
                self._con.execute("rollback")
                raise
            self._con.execute("commit")  # durable (see the module's note) before the caller answers

    def append_events(self, events: Sequence[LiveEvent], request_id: str | None = None) -> None:
        received = stamp(now())
        self._append(
            "insert into events (user_id, item_id, event_type, event_at, received_at, request_id) values (?, ?, ?, ?, ?, ?)",
            [(e.user_id, e.item_id, e.event_type, stamp(e.event_at), received, request_id) for e in events],
        )

    def log_exposures(self, exposures: Iterable[Exposure]) -> None:
        served = stamp(now())
        self._append(
            "insert into exposures (request_id, user_id, item_id, position, score, model, model_version, experiment, arm, "
            "served_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (x.request_id, exact_id(x.user_id), x.item_id, x.position, x.score, x.model, x.model_version, x.experiment)
                + (x.arm, served)
                for x in exposures
            ],
        )

    def histories(self, user_ids: Sequence[int], after: datetime | None) -> dict[int, list[tuple[int, str]]]:
        """Per user with events later than ``after`` (all when None): (item_id, event_type), oldest first."""
        ids = sorted({u for u in user_ids if INT64[0] <= u <= INT64[1]})  # no other id can be in the log
        if not ids:
            return {}
        out: dict[int, list[tuple[int, str]]] = {}
        with self._lock:
            rows = self._con.execute(
                f"select user_id, item_id, event_type from events where user_id in ({', '.join('?' * len(ids))}) "
                "and event_at > ? order by event_at, seq",
                (*ids, stamp(after) if after is not None else ""),
            ).fetchall()
        for user_id, item_id, event_type in rows:
            out.setdefault(user_id, []).append((item_id, event_type))
        return out

    def table(self, name: str) -> pd.DataFrame:
        """A whole table (``events`` or ``exposures``), in ``seq`` order, for loading into the warehouse."""
        if name not in ("events", "exposures"):
            raise ValueError(f"the live log has tables events and exposures, not {name!r}")
        with self._lock:
            cursor = self._con.execute(f"select * from {name} order by seq")
            rows = cursor.fetchall()
        # object columns: every value as SQLite gave it (pandas would make an id beyond int64 a float)
        return pd.DataFrame(rows, columns=[d[0] for d in cursor.description], dtype=object)

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {t: self._con.execute(f"select count(*) from {t}").fetchone()[0] for t in ("events", "exposures")}
