"""How old a published model's data is: the last event of the data it was trained on (``events_until``
in its provenance), against now and against the newest event the marts hold. Shown by /status, the web
app and the main job's summary; the Dagster check ``trained_on_the_newest_data`` warns past an allowance."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

PROVENANCE = "provenance.json"  # beside each published version: when, on what and on which data window it was trained


def read_provenance(directory: str | Path) -> dict:
    """The provenance published with a version (empty when it has none: trained outside the pipeline)."""
    path = Path(directory) / PROVENANCE
    return json.loads(path.read_text()) if path.exists() else {}


def as_utc(stamp: str | datetime | None) -> datetime | None:
    """A timestamp as an aware UTC datetime; the warehouse's naive timestamps are UTC."""
    if stamp is None or stamp == "":
        return None
    when = stamp if isinstance(stamp, datetime) else datetime.fromisoformat(str(stamp))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def data_until(provenance: dict) -> datetime | None:
    """The last event of the data the version was trained on."""
    return as_utc((provenance.get("data_window") or {}).get("events_until"))


def days(delta: timedelta) -> float:
    return round(delta.total_seconds() / 86400, 2)


@dataclass(frozen=True)
class Staleness:
    model: str
    data_until: datetime | None
    newest_event: datetime | None
    allowance: timedelta

    @property
    def behind(self) -> timedelta | None:
        """How much newer data the marts hold than the model saw (None when either is unknown)."""
        if self.data_until is None or self.newest_event is None:
            return None
        return max(self.newest_event - self.data_until, timedelta(0))

    @property
    def stale(self) -> bool:
        return self.behind is not None and self.behind > self.allowance

    def describe(self) -> str:
        if self.data_until is None:
            return f"{self.model}: no data window in its provenance (trained outside the pipeline): age unknown"
        if self.behind is None:
            return f"{self.model}: trained on events until {self.data_until:%Y-%m-%d %H:%M}; the marts' newest event is unknown"
        if not self.stale:
            return f"{self.model}: trained on events until {self.data_until:%Y-%m-%d %H:%M}, the marts' newest"
        return (
            f"{self.model}: trained on events until {self.data_until:%Y-%m-%d %H:%M}, {days(self.behind)} days behind the "
            f"marts' newest event ({self.newest_event:%Y-%m-%d %H:%M}), past its allowance of "
            f"{days(self.allowance)} days: retrain it"
        )


def served_staleness(root: Path, models: list[str], newest: datetime | None, allowance: timedelta) -> list[Staleness]:
    """The staleness of each model's ``latest`` version under ``root`` (models not published are left out)."""
    out = []
    for name in models:
        latest = Path(root) / name / "latest"
        if latest.exists():
            out.append(Staleness(name, data_until(read_provenance(latest)), newest, allowance))
    return out


def age_now(provenance: dict, now: datetime | None = None) -> float | None:
    """Days since the last event of the version's data."""
    until = data_until(provenance)
    return None if until is None else days((now or datetime.now(UTC)) - until)


def summary_lines(found: list[Staleness], now: datetime | None = None) -> list[str]:
    """How old each served model's data is, a line each, for the main job's summary."""
    if not found:
        return []
    now, newest = now or datetime.now(UTC), found[0].newest_event
    hours = f"{found[0].allowance.total_seconds() / 3600:g}"
    marts = f"the marts' newest event {newest:%Y-%m-%d %H:%M}" if newest else "the marts' newest event unknown"
    lines = [f"served models' data, by its last event ({marts}; stale when more than {hours} h behind it):"]
    for s in found:
        if s.data_until is None:
            lines.append(f"  {s.model}: unknown (no data window in its provenance)")
            continue
        behind = s.behind
        state = "age of the marts unknown" if behind is None else f"{days(behind)} days behind the marts"
        state += ": STALE, retrain it" if s.stale else ""
        lines.append(f"  {s.model}: until {s.data_until:%Y-%m-%d %H:%M} ({days(now - s.data_until)} days ago), {state}")
    return lines
