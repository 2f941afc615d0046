"""The package's import structure: no import circles, and no import from a lower layer to a higher one.

Every ``import``/``from ... import`` of an onnxnet module is read with ``ast`` (module-level and inside
functions alike; imports under ``if TYPE_CHECKING:`` never run and are not counted). The layer order is
written once here and in docs/architecture.md.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

# Lowest first. A module may import its own layer or any lower one, never a higher one.
# "onnxnet" itself is only the package's ``__init__`` (its version), not a prefix for the rest.
LAYERS: list[tuple[str, ...]] = [
    ("onnxnet", "onnxnet.errors", "onnxnet.registry", "onnxnet.config", "onnxnet.ranking", "onnxnet.atomic",
     "onnxnet.hparams"),
    ("onnxnet.graph",),
    ("onnxnet.encode",),
    ("onnxnet.spaces",),
    ("onnxnet.bench",),
    ("onnxnet.label",),
    ("onnxnet.inputs",),
    ("onnxnet.features",),
    ("onnxnet.surrogate",),
    ("onnxnet.predictors",),
    ("onnxnet.evaluate",),
    ("onnxnet.search", "onnxnet.serve"),
    ("onnxnet.cli",),
]


def module_name(path: Path) -> str:
    rel = path.relative_to(SRC).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(mod: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = mod.split(".") if is_pkg else mod.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(path: Path, known: set[str]) -> list[tuple[str, int, bool]]:
    """(imported onnxnet module, line, at module level?) for every import in the file."""
    mod, is_pkg = module_name(path), path.name == "__init__.py"
    tree = ast.parse(path.read_text(), filename=str(path))
    top = {id(n) for n in tree.body}
    for n in tree.body:  # `if` / `try` blocks at module level run at import
        if isinstance(n, (ast.If, ast.Try)):
            top |= {id(c) for c in ast.walk(n)}
    typing_only = {id(c) for n in ast.walk(tree) if isinstance(n, ast.If) and "TYPE_CHECKING" in ast.unparse(n.test)
                   for c in ast.walk(n)}
    out = []
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(mod, is_pkg, node)
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for name in names:
            if name == "onnxnet" or name.startswith("onnxnet."):
                while name not in known and "." in name:
                    name = name.rsplit(".", 1)[0]
                if name != mod:
                    out.append((name, node.lineno, id(node) in top))
    return out


def import_graph() -> dict[str, list[tuple[str, int, bool]]]:
    files = sorted((SRC / "onnxnet").rglob("*.py"))
    known = {module_name(p) for p in files}
    return {module_name(p): imports_of(p, known) for p in files}


def layer_of(mod: str) -> int:
    best, index = -1, len(LAYERS)
    for i, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            below = mod.startswith(prefix + ".") and prefix != "onnxnet"
            if (mod == prefix or below) and len(prefix) > best:
                best, index = len(prefix), i
    return index


def cycles(graph: dict[str, list[tuple[str, int, bool]]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w, _, _ in graph.get(v, []):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def _package_graph(graph):
    """Imports between modules, ignoring a package __init__ importing its own submodules (re-exports)."""
    return {
        m: [(t, ln, top) for t, ln, top in deps if not t.startswith(m + ".")]
        for m, deps in graph.items()
    }


def test_every_module_has_a_layer() -> None:
    unplaced = [m for m in import_graph() if layer_of(m) == len(LAYERS)]
    assert not unplaced, f"modules outside the declared layers (add them to LAYERS): {unplaced}"


def test_no_upward_imports() -> None:
    bad = [
        f"{m}:{line} imports {t}"
        for m, deps in import_graph().items()
        for t, line, _ in deps
        if layer_of(t) > layer_of(m)
    ]
    assert not bad, "imports from a lower layer to a higher one:\n" + "\n".join(bad)


def test_no_import_circles() -> None:
    found = cycles(_package_graph(import_graph()))
    assert not found, "import circles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_the_checker_sees_circles_and_upward_imports() -> None:
    graph = {"a": [("b", 1, True)], "b": [("c", 1, False)], "c": [("a", 3, False)], "d": []}
    assert cycles(graph) == [["a", "b", "c"]]
    assert layer_of("onnxnet.graph.load") < layer_of("onnxnet.predictors.base") < layer_of("onnxnet.cli.main")


if __name__ == "__main__":  # counts for a report: circles and function-local onnxnet imports
    g = import_graph()
    local = len({(m, line) for m, deps in g.items() for _, line, top in deps if not top})  # statements
    up = sum(1 for m, deps in g.items() for t, _, _ in deps if layer_of(t) > layer_of(m))
    found = cycles(_package_graph(g))
    print(f"modules {len(g)}  circles {len(found)}  function-local onnxnet imports {local}  upward imports {up}")
    for c in found:
        print("  circle:", " ".join(c))
