"""The package's layers point one way (docs/ARCHITECTURE.md, "Layers").

Every ``.py`` file under ``embryo_gui/`` is parsed with :mod:`ast` (nothing is imported) and every
import statement counts, wherever it is: at module level, inside a function, under ``if``/``try``.
A local import that only hides a cycle is still a cycle here.  Checked:

- no import cycle between modules (importing ``a.b.c`` also runs ``a/__init__`` and ``a/b/__init__``,
  so those count as imported too, except the importer's own parent packages);
- no import cycle between packages (``embryo_gui.model``, ``embryo_gui.edits``, ... and the loose
  top-level modules such as ``embryo_gui.errors``);
- every package sits in a layer of :data:`LAYERS` and imports only from its own layer or below;
- Qt (PySide6, shiboken6, pyqtgraph, superqt, ...) is imported only inside ``embryo_gui.gui``.

The checker itself is tested on a throw-away package with deliberate cycles and a Qt import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "embryo_gui"

#: Bottom to top.  A package may import from its own layer (if no cycle) or any layer below it.
LAYERS: list[tuple[str, ...]] = [
    ("embryo_gui", "errors", "lineages", "policy", "progress", "arrays", "jsoncodec"),
    ("model",),
    ("edits", "io", "detect", "train", "demo"),
    ("app", "about", "resources"),
    ("batch",),
    ("cli", "gui"),
]
QT_MODULES = {"PySide6", "PySide2", "PyQt5", "PyQt6", "shiboken6", "shiboken2", "pyqtgraph", "superqt",
              "qtpy", "pytestqt"}
QT_PACKAGE = "gui"


def module_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def scan(root: Path) -> tuple[dict[str, set[str]], dict[str, set[str]], set[str]]:
    """``(module -> modules it imports inside the package, module -> external top-level names, modules)``."""
    files = {module_name(p, root): p for p in root.rglob("*.py")}
    modules = set(files)
    packages = {module_name(p, root) for p in root.rglob("__init__.py")}
    internal: dict[str, set[str]] = {m: set() for m in modules}
    external: dict[str, set[str]] = {m: set() for m in modules}
    top = root.name
    for mod, path in files.items():
        pkg = mod if mod in packages else mod.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                for a in node.names:
                    targets.add(a.name)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = pkg.split(".")
                    base = base[:len(base) - (node.level - 1)]
                    base_name = ".".join(base + ([node.module] if node.module else []))
                else:
                    base_name = node.module or ""
                targets.add(base_name)
                for a in node.names:  # `from pkg import submodule`
                    if f"{base_name}.{a.name}" in modules:
                        targets.add(f"{base_name}.{a.name}")
        for t in targets:
            if t.split(".")[0] != top:
                external[mod].add(t.split(".")[0])
                continue
            # importing a.b.c runs a/__init__ and a/b/__init__ first (except packages the importer is in)
            parts = t.split(".")
            for k in range(1, len(parts) + 1):
                name = ".".join(parts[:k])
                if name in modules and name != mod and not (mod + ".").startswith(name + "."):
                    internal[mod].add(name)
    return internal, external, modules


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a list of nodes (first == last), or None."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = {n: WHITE for n in graph}
    stack: list[str] = []

    def visit(n: str):
        colour[n] = GREY
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if colour.get(m, WHITE) == GREY:
                return stack[stack.index(m):] + [m]
            if colour.get(m, WHITE) == WHITE:
                found = visit(m)
                if found:
                    return found
        stack.pop()
        colour[n] = BLACK
        return None

    for n in sorted(graph):
        if colour[n] == WHITE:
            found = visit(n)
            if found:
                return found
    return None


def package_of(mod: str) -> str:
    parts = mod.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def package_graph(internal: dict[str, set[str]]) -> dict[str, set[str]]:
    g: dict[str, set[str]] = {}
    for a, targets in internal.items():
        pa = package_of(a)
        g.setdefault(pa, set())
        for b in targets:
            if package_of(b) != pa:
                g[pa].add(package_of(b))
    return g


def layer_violations(internal: dict[str, set[str]], layers=LAYERS) -> list[str]:
    rank = {p: i for i, names in enumerate(layers) for p in names}
    out = []
    for a, targets in sorted(internal.items()):
        pa = package_of(a)
        if pa not in rank:
            out.append(f"{a}: package {pa!r} is in no layer of tests/test_layers.py LAYERS")
            continue
        for b in sorted(targets):
            pb = package_of(b)
            if pb in rank and rank[pb] > rank[pa]:
                out.append(f"{a} (layer {rank[pa]}) imports {b} (layer {rank[pb]})")
    return out


def qt_violations(external: dict[str, set[str]], top: str = "embryo_gui") -> list[str]:
    return [f"{m} imports {', '.join(sorted(ext & QT_MODULES))}" for m, ext in sorted(external.items())
            if ext & QT_MODULES and package_of(m) != QT_PACKAGE]


# --- the checks on the real package -------------------------------------------------------------

@pytest.fixture(scope="module")
def graph():
    return scan(ROOT)


def test_no_module_import_cycle(graph):
    internal, _, _ = graph
    cycle = find_cycle(internal)
    assert cycle is None, "import cycle between modules: " + " -> ".join(cycle)


def test_no_package_import_cycle(graph):
    internal, _, _ = graph
    cycle = find_cycle(package_graph(internal))
    assert cycle is None, "import cycle between packages: " + " -> ".join(cycle)


def test_layers_point_one_way(graph):
    internal, _, _ = graph
    assert layer_violations(internal) == []


def test_model_never_imports_edits_or_anything_above(graph):
    internal, _, _ = graph
    bad = {(a, b) for a, ts in internal.items() if package_of(a) == "model" for b in ts
           if package_of(b) not in ("model",) + LAYERS[0]}
    assert not bad


def test_qt_only_in_the_gui_package(graph):
    _, external, _ = graph
    assert qt_violations(external) == []
    # and the GUI really is seen (the scan reads the files it should)
    assert "PySide6" in external["embryo_gui.gui.app"] | {x for m, e in external.items()
                                                          if m.startswith("embryo_gui.gui") for x in e}


def test_scan_sees_the_whole_package(graph):
    internal, _, modules = graph
    assert "embryo_gui.model.project" in modules and "embryo_gui.cli.main" in modules
    # an import inside a function counts: cli.commands imports the model only inside functions
    assert "embryo_gui.model" in internal["embryo_gui.cli.commands"]


# --- the checker can fail -----------------------------------------------------------------------

def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root / "embryo_gui"


def test_checker_finds_a_cycle_hidden_in_a_function(tmp_path):
    pkg = _write(tmp_path, {
        "embryo_gui/__init__.py": "",
        "embryo_gui/errors.py": "",
        "embryo_gui/detect/__init__.py": "",
        "embryo_gui/detect/corrupt.py": "from .features import f\n",
        "embryo_gui/detect/features.py": "def f():\n    from .corrupt import Settings  # local: hides it\n",
    })
    internal, _, _ = scan(pkg)
    cycle = find_cycle(internal)
    assert cycle is not None and set(cycle) == {"embryo_gui.detect.corrupt", "embryo_gui.detect.features"}


def test_checker_finds_a_package_cycle_and_a_layer_violation(tmp_path):
    pkg = _write(tmp_path, {
        "embryo_gui/__init__.py": "",
        "embryo_gui/model/__init__.py": "",
        "embryo_gui/model/embryo.py": "from ..edits.history import History\n",
        "embryo_gui/edits/__init__.py": "",
        "embryo_gui/edits/history.py": "",
        "embryo_gui/edits/flag_edits.py": "from embryo_gui.model import embryo\n",
    })
    internal, _, _ = scan(pkg)
    assert find_cycle(internal) is None  # no module cycle...
    cycle = find_cycle(package_graph(internal))
    assert cycle is not None and set(cycle) == {"model", "edits"}  # ...but the packages form one
    assert layer_violations(internal) == ["embryo_gui.model.embryo (layer 1) imports embryo_gui.edits "
                                          "(layer 2)",
                                          "embryo_gui.model.embryo (layer 1) imports embryo_gui.edits.history "
                                          "(layer 2)"]


def test_checker_finds_qt_outside_the_gui_and_unknown_packages(tmp_path):
    pkg = _write(tmp_path, {
        "embryo_gui/__init__.py": "",
        "embryo_gui/app/__init__.py": "",
        "embryo_gui/app/session.py": "def f():\n    from PySide6 import QtCore\n",
        "embryo_gui/gui/__init__.py": "",
        "embryo_gui/gui/app.py": "import pyqtgraph\n",
        "embryo_gui/newthing/__init__.py": "from .. import errors\n",
        "embryo_gui/errors.py": "",
    })
    internal, external, _ = scan(pkg)
    assert qt_violations(external) == ["embryo_gui.app.session imports PySide6"]
    assert layer_violations(internal) == [
        "embryo_gui.newthing: package 'newthing' is in no layer of tests/test_layers.py LAYERS"]


def test_checker_resolves_relative_and_submodule_imports(tmp_path):
    pkg = _write(tmp_path, {
        "embryo_gui/__init__.py": "",
        "embryo_gui/cli/__init__.py": "",
        "embryo_gui/cli/main.py": "from . import commands\nfrom .. import __version__\n",
        "embryo_gui/cli/commands.py": "from ..io import reader\n",
        "embryo_gui/io/__init__.py": "",
        "embryo_gui/io/reader.py": "",
    })
    internal, _, _ = scan(pkg)
    assert internal["embryo_gui.cli.main"] == {"embryo_gui.cli.commands"}  # own parents do not count
    assert internal["embryo_gui.cli.commands"] == {"embryo_gui.io", "embryo_gui.io.reader"}


def test_distributed_only_in_the_batch_engine(graph):
    """The desktop app (and everything but the batch engine) never imports Dask (issue 13)."""
    _, external, _ = graph
    users = sorted(m for m, ext in external.items() if ext & {"distributed", "dask", "dask_jobqueue"})
    assert users == ["embryo_gui.batch.engine"]
