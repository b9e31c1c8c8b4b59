"""Row checks for imported files, as staging checks raw rows: a field is kept exactly or its row is
rejected with the first reason it fails (into the :class:`~ml.ingest.importers.reading.Ledger`); ids
stay integers end to end; timestamps outside the dbt var ``event_time_min``..now stop the import
(a wrong unit, not a bad row)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ml import columns as C
from ml.ingest.importers.reading import ImportFileError, Ledger

INTEGER = r"^[0-9]{1,18}$"
SIGNED_INTEGER = r"^-?[0-9]{1,18}$"
NUMBER = r"^-?[0-9]{1,15}(\.[0-9]{1,15})?$"
UNITS = {"s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds"}


def as_text(value) -> str:
    """A JSON value as the text a delimited file would hold ('' when absent or null)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(value)
    return json.dumps(value)


def text_table(records: list[dict], lines: list[int], fields: dict[str, str]) -> pa.Table:
    """Columns (name -> JSON key) of JSON records as text, with their line numbers."""
    return pa.table({name: [as_text(r.get(key)) for r in records] for name, key in fields.items()} | {"line": lines})


def time_bounds(unit: str) -> tuple[int, int]:
    """``event_time_min`` .. now + 1 day (what staging accepts) as integers in ``unit``."""
    per_second = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}[unit]
    low = datetime.fromisoformat(str(C.dbt_vars()["event_time_min"])).replace(tzinfo=UTC)
    high = datetime.now(UTC) + timedelta(days=1)
    return int(low.timestamp()) * per_second, int(high.timestamp()) * per_second


def _as_date(value: int, unit: str) -> str:
    try:
        return str(pd.Timestamp(value, unit=unit).date())
    except (OverflowError, ValueError, NotImplementedError):
        per_second = {"s": 1, "ms": 1e3, "us": 1e6, "ns": 1e9}[unit]
        return f"about the year {1970 + value / per_second / 31_556_952:.0f}"


class RowChecks:
    """The checks of one file's rows; :meth:`kept` records the rejects and returns the rows that passed."""

    def __init__(self, table: pa.Table, file: str, ledger: Ledger):
        self.table, self.file, self.ledger = table, file, ledger
        self.lines = table["line"].to_numpy()
        self.failure = np.full(table.num_rows, -1, dtype=np.int32)
        self.reasons: list[tuple[str, str]] = []

    def fail(self, mask, field: str, reason: str) -> None:
        """Reject the rows of ``mask`` (those not rejected already) for ``reason``."""
        mask = np.asarray(mask, dtype=bool) & (self.failure < 0)
        if mask.any():
            self.reasons.append((field, reason))
            self.failure[mask] = len(self.reasons) - 1

    @property
    def passing(self) -> np.ndarray:
        return self.failure < 0

    def text(self, field: str, required: bool = True) -> np.ndarray:
        values = self.table[field].to_numpy(zero_copy_only=False)
        if required:
            self.fail(values == "", field, "missing_value")
        return values

    def _matching(self, field: str, pattern: str, reason: str) -> pa.Array:
        values = self.table[field].combine_chunks()
        self.fail(pc.equal(values, "").to_numpy(zero_copy_only=False), field, "missing_value")
        ok = pc.match_substring_regex(values, pattern)
        self.fail(~ok.to_numpy(zero_copy_only=False), field, reason)
        return pc.if_else(ok, values, "0")

    def integer(self, field: str) -> np.ndarray:
        """A non-negative integer id (at most 18 digits)."""
        return pc.cast(self._matching(field, INTEGER, "not_an_integer_id"), pa.int64()).to_numpy()

    def number(self, field: str, allowed: np.ndarray | None = None, described: str = "") -> np.ndarray:
        """A decimal number (no exponent, nan or inf); ``allowed``: the values the format documents."""
        values = pc.cast(self._matching(field, NUMBER, "not_a_number"), pa.float64()).to_numpy()
        if allowed is not None:
            self.fail(~np.isin(values, allowed), field, f"outside {described}")
        return values

    def one_of(self, field: str, allowed) -> np.ndarray:
        values = self.text(field)
        self.fail(~np.isin(values, list(allowed)), field, f"not one of {', '.join(sorted(allowed))}")
        return values

    def unix_time(self, field: str, unit: str, what: str) -> np.ndarray:
        """Integer time since the epoch in ``unit``, as datetime64[us]; any value outside the accepted range
        stops the import, with the unit that would have fitted when there is one."""
        raw = pc.cast(self._matching(field, SIGNED_INTEGER, "not_an_integer_timestamp"), pa.int64()).to_numpy()
        low, high = time_bounds(unit)
        out = np.flatnonzero(self.passing & ((raw < low) | (raw > high)))
        if len(out):
            value = int(raw[out[0]])
            fits = [u for u in UNITS if u != unit and time_bounds(u)[0] <= value <= time_bounds(u)[1]]
            fix = (
                f"they look like {UNITS[fits[0]]} but {what} are {UNITS[unit]}: convert the column or use the matching format"
                if fits
                else f"fix or remove such lines ({what} are {UNITS[unit]} since 1970)"
            )
            raise ImportFileError(
                f"{self.file} line {self.lines[out[0]]}: {field} {value} is {_as_date(value, unit)}, outside "
                f"{C.dbt_vars()['event_time_min']}..now ({len(out):,} of {len(raw):,} rows): {fix}"
            )
        return raw.astype(f"datetime64[{unit}]").astype("datetime64[us]")

    def unique(self, values: np.ndarray, field: str) -> None:
        """Reject repeats of an id among the rows still passing (the first one is kept)."""
        rows = np.flatnonzero(self.passing)
        repeated = pd.Series(values[rows]).duplicated().to_numpy()
        mask = np.zeros(len(values), dtype=bool)
        mask[rows[repeated]] = True
        self.fail(mask, field, "duplicate_id")

    def kept(self) -> np.ndarray:
        """Record every rejected row (file, line, field, value, reason) and the kept count; the kept mask."""
        for code, (field, reason) in enumerate(self.reasons):
            rows = np.flatnonzero(self.failure == code)
            values = self.table[field].take(pa.array(rows)).to_pylist()
            self.ledger.reject(self.file, self.lines[rows], field, values, reason)
        self.ledger.kept[self.file] = int(self.passing.sum())
        if not self.passing.any():
            first = self.ledger.rejects().query("file == @self.file").iloc[0]
            raise ImportFileError(
                f"{self.file}: every row rejected (line {first['line']}: {first['field']} {first['value']!r}: "
                f"{first['reason']}): check the file is the right one for this format"
            )
        return self.passing


def first_line_ids(lines: np.ndarray, *keys) -> np.ndarray:
    """Stable event ids: the line on which a row's content first appears, so that repeated lines share
    their id and staging quarantines the repeats as ``exact_duplicate``."""
    frame = pd.DataFrame({f"k{i}": np.asarray(k) for i, k in enumerate(keys)})
    ids = np.asarray(lines, dtype=np.int64).copy()
    hashed = pd.Series(pd.util.hash_pandas_object(frame, index=False).to_numpy())
    maybe = np.flatnonzero(hashed.duplicated(keep=False).to_numpy())  # rare: only these need an exact grouping
    if len(maybe):
        repeated = frame.iloc[maybe].assign(line=ids[maybe])
        ids[maybe] = repeated.groupby(list(frame.columns), sort=False, dropna=False)["line"].transform("min").to_numpy()
    return ids
