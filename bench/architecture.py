"""The shape of the code: import floors and cycles of ``ml``, which layer imports which, and the largest
Python files (ARCHITECTURE.md; ``tests/test_architecture.py`` asserts the rules).

    python -m bench.architecture

Imports are read statically (every ``import`` and ``from ... import`` in a module, those inside
functions included), so a lazy import that closes a cycle counts as one.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = {  # package prefix -> layer, most specific first
    "ml.ingest": "ingest",
    "ml.warehouse": "warehouse",
    "ml.serving": "serving",
    "ml.live": "live",
    "ml.simulation": "simulation",
    "ml.tracking": "tracking",
    **{
        f"ml.{m}": "base"
        for m in ("settings", "columns", "feature_sets", "artifacts", "errors", "hyperparams", "threads", "progress")
    },
    "ml": "pure",
}
# what each layer may import of ml (its own layer included)
ALLOWED = {
    "base": {"base"},
    "pure": {"base", "pure"},
    "serving": {"base", "pure", "serving"},
    "live": {"base", "live"},
    "simulation": {"base", "pure", "serving", "warehouse", "ingest", "live", "simulation"},
    "warehouse": {"base", "pure", "warehouse"},
    "tracking": {"base", "pure", "tracking"},
    "ingest": {"base", "pure", "warehouse", "live", "ingest"},
}
# third-party modules that open connections or orchestrate: never imported below their layer
IO_MODULES = {"sqlite3", "duckdb", "adbc_driver_postgresql", "pyspark", "dagster", "dagster_dbt", "mlflow"}
IO_ALLOWED = {"warehouse", "ingest", "tracking", "live"}  # dagster is never imported by ml at all


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(package: str = "ml") -> dict[str, Path]:
    return {module_name(p): p for p in sorted((ROOT / package).rglob("*.py"))}


def imported(path: Path) -> set[str]:
    """Every absolute name ``path`` imports: ``a.b`` for ``from a import b`` (the module ``a.b``, or the
    object ``b`` of the module ``a``, which :func:`graph` resolves to ``a``)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names |= {f"{node.module}.{a.name}" for a in node.names}
    return names


def layer(module: str) -> str:
    return next(layer for prefix, layer in LAYERS.items() if module == prefix or module.startswith(prefix + "."))


def graph(package: str = "ml") -> dict[str, set[str]]:
    """Module -> the modules of ``package`` it imports."""
    mods = modules(package)
    edges: dict[str, set[str]] = {}
    for name, path in mods.items():
        targets = set()
        for target in imported(path):
            while target and target not in mods:
                target = target.rpartition(".")[0]
            if target and target != name:
                targets.add(target)
        edges[name] = targets
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def floors(edges: dict[str, set[str]]) -> dict[str, int]:
    """Each module's import floor: 0 imports nothing of the package, n imports a module of floor n - 1
    at most (acyclic graphs only)."""
    out: dict[str, int] = {}

    def floor(v: str) -> int:
        if v not in out:
            out[v] = 1 + max((floor(w) for w in edges[v]), default=-1)
        return out[v]

    for v in edges:
        floor(v)
    return out


def layer_violations(edges: dict[str, set[str]]) -> list[str]:
    out = []
    for module, targets in edges.items():
        for target in targets:
            if layer(target) not in ALLOWED[layer(module)]:
                out.append(f"{module} ({layer(module)}) imports {target} ({layer(target)})")
    for module, path in modules().items():
        for name in imported(path):
            top = name.split(".")[0]
            if top in IO_MODULES and (layer(module) not in IO_ALLOWED or top.startswith("dagster")):
                out.append(f"{module} ({layer(module)}) imports {top}")
    return sorted(set(out))


def largest_files(n: int = 5) -> list[tuple[int, str]]:
    files = [p for d in ("ml", "dagster_defs", "service", "bench") for p in (ROOT / d).rglob("*.py")]
    return sorted(((len(p.read_text().splitlines()), str(p.relative_to(ROOT))) for p in files), reverse=True)[:n]


def main() -> None:
    edges = graph()
    found = cycles(edges)
    top = {m.split(".")[1] for m in edges if m != "ml"}
    print(f"ml: {len(edges)} modules, {len(top)} top-level modules and packages, {len(found)} import cycles")
    for component in found:
        print("  cycle: " + " <-> ".join(component))
    if not found:
        levels = floors(edges)
        print(f"import floors of modules: {max(levels.values()) + 1} (deepest: {max(levels, key=levels.get)})")  # type: ignore[arg-type]
        units = {m: ".".join(m.split(".")[:2]) for m in edges}
        unit_edges: dict[str, set[str]] = {u: set() for u in units.values()}
        for m, targets in edges.items():
            unit_edges[units[m]] |= {units[t] for t in targets if units[t] != units[m]}
        if not cycles(unit_edges):
            print(f"import floors of top-level modules and packages: {max(floors(unit_edges).values()) + 1}")
    print("layer violations: " + (", ".join(layer_violations(edges)) or "none"))
    print("largest Python files: " + ", ".join(f"{path} {lines}" for lines, path in largest_files()))


if __name__ == "__main__":
    main()
