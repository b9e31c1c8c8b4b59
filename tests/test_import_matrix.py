"""The malformed-file matrix of the importers: for each format a small valid file set written here, then
one damage per case. Every case either stops the import with a one-line message naming the file and
the fix, or rejects exactly the damaged rows (file, line, field, reason) while rows in = kept +
rejected per file; nothing is coerced (ids stay integers, no phantom item, no mojibake). The README's
outcome table is this matrix (checked below)."""

from pathlib import Path

import numpy as np
import pytest

from ml.ingest import importers
from tests.import_cases import AZ, BASE, CASES, RATINGS


def run_case(tmp_path: Path, fmt: str, case: str, damage):
    files = dict(BASE[fmt])
    if case.startswith("no properties"):
        files.pop("item_properties_part1.csv")
    damage(files)
    for name, text in files.items():
        (tmp_path / name).write_bytes(
            text if isinstance(text, bytes) else text.encode("latin-1" if name.startswith("u.") else "utf-8")
        )
    src = tmp_path / "reviews.json" if fmt == AZ else tmp_path
    return importers.IMPORTERS[fmt](src)


@pytest.mark.parametrize(("fmt", "case", "damage", "outcome"), CASES, ids=[f"{c[0]}: {c[1]}" for c in CASES])
def test_malformed_file_matrix(tmp_path, fmt, case, damage, outcome):
    if outcome.startswith("stopped: "):
        with pytest.raises(importers.ImportFileError) as stop:
            run_case(tmp_path, fmt, case, damage)
        message = str(stop.value)
        assert outcome.removeprefix("stopped: ") in message and "\n" not in message, message
        return
    imported = run_case(tmp_path, fmt, case, damage)
    ledger, events, items = imported.ledger, imported.frames["events"], imported.frames["items"]
    assert ledger.unbalanced() == [] and ledger.kept[RATINGS[fmt]] == len(events)
    assert sum(ledger.rows_in.values()) == sum(ledger.kept.values()) + len(ledger.rejects())
    for frame, key in ((events, "user_id"), (events, "item_id"), (items, "item_id")):
        assert frame[key].dtype == np.int64 and frame[key].min() > 0  # no float ids, no phantom item
    rejects = ledger.rejects()
    if outcome.startswith("rejected "):
        file, _, number, field = outcome.removeprefix("rejected ").split(":")[0].split(" ", 3)
        assert rejects[["file", "line", "field"]].values.tolist() == [[file, int(number), field]], rejects
        assert rejects["reason"].item().startswith(outcome.split(": ", 1)[1]), rejects["reason"].item()
        return
    assert rejects.empty, rejects
    if outcome.startswith("read: title "):
        assert outcome.removeprefix("read: title ") in items["title"].tolist()
    elif outcome.endswith(" events"):
        assert len(events) == int(outcome.split()[1])
    else:  # a repeated line keeps the id of its first appearance: staging quarantines it as exact_duplicate
        assert events["event_id"].value_counts().max() == 2 and (events["event_id"] == 1).sum() == 2


def outcome_table() -> str:
    rows = [f"| `{fmt}` | {case} | {outcome} |" for fmt, case, _, outcome in CASES]
    return "\n".join(["| format | damage | outcome |", "|---|---|---|", *rows])


def test_the_readme_shows_this_matrix():
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert outcome_table() in readme, (
        "regenerate the README table: python -c 'from tests.test_import_matrix import outcome_table; print(outcome_table())'"
    )


def test_the_command_prints_the_ledger_and_stops_in_one_line(tmp_path, capsys):
    from ml.ingest.cli import import_main

    files = dict(BASE["movielens-100k"]) | {"u.data": BASE["movielens-100k"]["u.data"] + "3\t10\t99\t875000400\n"}
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="latin-1")
    import_main(["movielens-100k", str(tmp_path), "--out", str(tmp_path / "out")])
    printed = capsys.readouterr().out
    assert "u.data (utf-8): 5 rows in = 4 kept + 1 rejected" in printed and "u.item (latin-1): 2 rows in = 2 kept" in printed
    assert (tmp_path / "out" / "import_rejects.csv").read_text().splitlines()[1] == "u.data,5,rating,99,outside 1-5 (whole stars)"
    (tmp_path / "u.data").write_text("1,10,5,875000000\n")
    with pytest.raises(SystemExit) as stop:
        import_main(["movielens-100k", str(tmp_path), "--out", str(tmp_path / "out")])
    assert str(stop.value) == (
        "recsys-import movielens-100k: u.data line 1: expected 4 tab-separated fields, found 1 (is it comma-separated?): "
        "most rows do not have the u.data layout"
    )
