"""Published files read as text: every field a string with its physical line number, so that a value
is validated exactly or rejected with its line, never coerced by a parser's type guessing.

A file that does not have its format's shape at all (another separator, gzip under a plain name is
fine, a header only) stops the import with one line naming the file, the line and the fix; a row that
does not fit is rejected into the :class:`Ledger`, which reconciles rows in = rows kept + rows rejected.
"""

from __future__ import annotations

import codecs
import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

REJECT_COLUMNS = ["file", "line", "field", "value", "reason"]
SEPARATORS = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe", "::": "'::'"}


class ImportFileError(ValueError):
    """A file the importer cannot read as its format: the message is one line, with the fix."""


@dataclass
class Ledger:
    """Per file: data rows read, kept and rejected, the encoding read, and the rejected rows themselves."""

    rows_in: dict[str, int] = field(default_factory=dict)
    kept: dict[str, int] = field(default_factory=dict)
    encodings: dict[str, str] = field(default_factory=dict)
    blank: dict[str, int] = field(default_factory=dict)
    _rejects: list[pd.DataFrame] = field(default_factory=list)

    def reject(self, file: str, lines, field_name: str, values, reason: str) -> None:
        lines = np.asarray(lines, dtype=np.int64)
        if len(lines):
            values = [str(v)[:200] for v in values]
            self._rejects.append(
                pd.DataFrame({"file": file, "line": lines, "field": field_name, "value": values, "reason": reason})
            )

    def rejects(self) -> pd.DataFrame:
        if not self._rejects:
            return pd.DataFrame({c: pd.Series(dtype="int64" if c == "line" else "object") for c in REJECT_COLUMNS})
        return pd.concat(self._rejects, ignore_index=True).sort_values(["file", "line"], kind="stable", ignore_index=True)

    def rejected(self, file: str) -> int:
        return sum(int((r["file"] == file).sum()) for r in self._rejects)

    def summary(self) -> list[str]:
        lines = []
        for file, n in self.rows_in.items():
            blank = f", {self.blank[file]:,} blank lines skipped" if self.blank.get(file) else ""
            lines.append(
                f"{file} ({self.encodings.get(file, 'utf-8')}): {n:,} rows in = {self.kept.get(file, 0):,} kept"
                f" + {self.rejected(file):,} rejected{blank}"
            )
        return lines

    def unbalanced(self) -> list[str]:
        """Files whose rows in differ from rows kept + rows rejected (empty when every row is accounted for)."""
        return [f for f, n in self.rows_in.items() if n != self.kept.get(f, 0) + self.rejected(f)]


def file_bytes(path: Path, ledger: Ledger, encoding: str = "auto") -> bytes:
    """The file's bytes as UTF-8: gzip is recognised by its magic number whatever the name; ``auto`` reads
    UTF-8 when the bytes are valid UTF-8, else latin-1 (MovieLens 100k/1M are latin-1)."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise ImportFileError(f"{path.name}: a damaged gzip file ({exc}): download or unpack it again") from None
    data = data.removeprefix(codecs.BOM_UTF8)
    if encoding == "auto":
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            encoding = "latin-1"  # every byte is a latin-1 character
        else:
            ledger.encodings[path.name] = "utf-8"
            return data
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ImportFileError(
            f"{path.name} line {line}: not valid {encoding} (byte {data[exc.start]:#x}): "
            "set --encoding to the file's encoding (e.g. latin-1), or auto"
        ) from None
    except LookupError:
        raise ImportFileError(f"--encoding {encoding!r} is not an encoding Python knows (e.g. utf-8, latin-1)") from None
    ledger.encodings[path.name] = encoding
    return data if codecs.lookup(encoding).name == "utf-8" else text.encode("utf-8")


def _header(first_line: str, sep: str, columns: list[str], name: str) -> list[str]:
    found = [name.strip('"') for name in first_line.split(sep)]
    missing = [c for c in columns if c not in found]
    if missing:
        other = next((label for s, label in SEPARATORS.items() if s != sep and s in first_line), None)
        hint = f" (is it {other}-separated? this format is {SEPARATORS.get(sep, sep)}-separated)" if other else ""
        raise ImportFileError(f"{name} line 1: expected the columns {','.join(columns)}, found {first_line[:120]!r}{hint}")
    return found


def read_delimited(
    path: Path,
    columns: list[str],
    ledger: Ledger,
    *,
    sep: str,
    header: bool = False,
    quoted: bool = False,
    encoding: str = "auto",
    join_surplus_into: int | None = None,
) -> pa.Table:
    """Every row of a delimited file as strings, plus its physical ``line``. Rows with the wrong number
    of fields are rejected (``join_surplus_into``: surplus separators belong to that column, e.g. '::'
    inside a movies.dat title); a file whose rows mostly do not fit stops the import."""
    name = path.name
    data = file_bytes(path, ledger, encoding)
    if not data.strip():
        raise ImportFileError(f"{name}: the file is empty: give the file with its data")
    delimiter = "\x1f" if len(sep) > 1 else sep
    if len(sep) > 1:
        data = data.replace(sep.encode(), b"\x1f")
    first = data.split(b"\n", 1)[0].decode().rstrip("\r").replace("\x1f", sep)
    names = _header(first, sep, columns, name) if header else columns
    bad: list[tuple[int, int, str]] = []
    repaired: list[tuple[int, list[str]]] = []

    def on_invalid(row) -> str:
        fields = row.text.split(delimiter)
        if join_surplus_into is not None and row.actual_columns > len(names):
            extra = len(fields) - len(names)
            i = join_surplus_into
            repaired.append((row.number, [*fields[:i], sep.join(fields[i : i + extra + 1]), *fields[i + extra + 1 :]]))
        else:
            bad.append((row.number, row.actual_columns, row.text))
        return "skip"

    table = pacsv.read_csv(
        pa.py_buffer(data),
        read_options=pacsv.ReadOptions(use_threads=False, column_names=names, skip_rows=1 if header else 0),
        parse_options=pacsv.ParseOptions(
            delimiter=delimiter, quote_char='"' if quoted else False, invalid_row_handler=on_invalid, ignore_empty_lines=False
        ),
        convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False),
    )
    start = 2 if header else 1
    skipped = {number for number, *_ in bad} | {number for number, _ in repaired}
    physical = np.arange(start, start + table.num_rows + len(skipped))
    table = table.append_column("line", pa.array(physical[~np.isin(physical, list(skipped))]))
    if repaired:
        rows = {c: [r[i] for _, r in repaired] for i, c in enumerate(names)}
        table = pa.concat_tables([table, pa.table({**rows, "line": [n for n, _ in repaired]})]).sort_by("line")
    blank = pc.equal(table[names[0]], "")
    for column in names[1:]:
        blank = pc.and_(blank, pc.equal(table[column], ""))
    blank = blank.to_numpy()
    table = table.filter(pa.array(~blank))
    ledger.blank[name] = int(blank.sum())
    ledger.rows_in[name] = table.num_rows + len(bad)
    if ledger.rows_in[name] == 0:
        raise ImportFileError(f"{name}: {'a header but ' if header else ''}no rows: give the file with its data")
    if bad and len(bad) >= table.num_rows:
        number, found, text = bad[0]
        other = next((label for s, label in SEPARATORS.items() if s != sep and s in text), None)
        hint = f" (is it {other}-separated?)" if other and found == 1 else ""
        raise ImportFileError(
            f"{name} line {number}: expected {len(names)} {SEPARATORS.get(sep, sep)}-separated fields, "
            f"found {found}{hint}: most rows do not have the {name} layout"
        )
    for number, found, text in bad:
        ledger.reject(name, [number], "(row)", [text], f"expected {len(names)} fields, found {found}")
    return table.select([*columns, "line"])


def read_jsonl(path: Path, ledger: Ledger) -> tuple[list[dict], list[int]]:
    """The JSON objects of a JSON-lines file with their line numbers; a line that is not a JSON object is
    rejected (all of them: the file is not JSON lines, and the import stops)."""
    name = path.name
    records, lines, bad = [], [], []
    text = file_bytes(path, ledger, "utf-8").decode("utf-8")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            ledger.blank[name] = ledger.blank.get(name, 0) + 1
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            bad.append((number, line, f"not JSON: {exc.msg}"))
            continue
        if not isinstance(record, dict):
            bad.append((number, line, "not a JSON object"))
            continue
        records.append(record)
        lines.append(number)
    ledger.rows_in[name] = len(records) + len(bad)
    if not records:
        detail = f" line {bad[0][0]}: {bad[0][2]}" if bad else ": no rows"
        raise ImportFileError(f"{name}{detail}: give a JSON-lines file (one JSON object per line)")
    for number, line, reason in bad:
        ledger.reject(name, [number], "(row)", [line], reason)
    return records, lines
