"""The rules of ARCHITECTURE.md, on the code as it is: imports go one way between layers, ``ml`` has no
import cycle, pure ML opens no connection, Python reads only contracted marts, no file is too long."""

import re

from bench import architecture as A

# dbt's private layers: Python reads the contracted marts (and the evaluation tables it writes) only
READS = re.compile(r"\b(staging\.stg_|intermediate\.int_)\w+")


def test_ml_has_no_import_cycle_and_imports_go_one_way():
    edges = A.graph()
    assert A.cycles(edges) == []
    assert A.layer_violations(edges) == []
    # the layer rules bite: a pure module importing the warehouse, or base importing pure, is reported
    assert A.layer_violations({"ml.evaluation.protocol": {"ml.warehouse.marts"}, "ml.columns": {"ml.interactions"}}) == [
        "ml.columns (base) imports ml.interactions (pure)",
        "ml.evaluation.protocol (pure) imports ml.warehouse.marts (warehouse)",
    ]


def test_a_cycle_is_found_however_it_is_closed():
    assert A.cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert A.floors({"a": set(), "b": {"a"}, "c": {"a", "b"}}) == {"a": 0, "b": 1, "c": 2}


def test_python_reads_only_contracted_marts():
    offenders = []
    for package in ("ml", "service", "dagster_defs"):
        for path in (A.ROOT / package).rglob("*.py"):
            offenders += [f"{path.relative_to(A.ROOT)}: {m.group(0)}" for m in READS.finditer(path.read_text())]
    assert offenders == []


def test_no_python_file_outside_the_tests_is_over_250_lines():
    assert [(n, p) for n, p in A.largest_files(50) if n > 250] == []
