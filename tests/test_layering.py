"""The layers: ``numeric`` at the bottom (numpy only, never SymPy, never symdiff), then the
subpackages of ``symdiff`` in the order docs/design.md draws them.

``numeric`` is checked twice: in a fresh interpreter (importing numeric and running a
program leaves sympy and symdiff out of ``sys.modules``) and statically (no file under
numeric/ imports them, whatever the form of the import). Every import of every module of
``symdiff`` (inside functions too) must point down the list of layers, except in the one
marked late-binding block of ``symdiff/graph/node.py``; and no modules import each other
in a circle.
"""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import numeric

NUMERIC_DIR = Path(numeric.__file__).resolve().parent
FORBIDDEN = ("sympy", "symdiff")

SCRIPT = r"""
import json, sys
import numpy as np
import numeric
from numeric import PRIMITIVES, Program, check_grads, central_difference

# a small program through both sweeps: f(x, y) = sum(sin(x) * y) + sum(x ** 2)
prog = Program(input_shapes=[(3,), (3,)], constants=[],
               instructions=[("sin", (0,), {}), ("mul", (2, 1), {}), ("sum", (3,), {}),
                             ("pow", (0,), {"p": 2}), ("sum", (5,), {}), ("add", (4, 6), {})],
               output=7, wrt=[0, 1])
x, y = np.array([0.1, 0.2, 0.3]), np.array([1.0, 2.0, 3.0])
value, (gx, gy) = prog(x, y)
check_grads(lambda a, b: prog.forward(a, b), lambda a, b: prog(a, b)[1], [x, y])
central_difference(lambda a: float(np.sum(a ** 3)), [x])
for row in PRIMITIVES.values():       # touch every row's callables
    assert callable(row.forward) and row.shape
print(json.dumps({
    "loaded": sorted(m for m in sys.modules
                     if m.split(".")[0] in ("sympy", "symdiff", "mpmath")),
    "value": float(value),
    "gx": gx.tolist(),
    "gy": gy.tolist(),
}))
"""


def test_importing_and_running_numeric_never_loads_sympy_or_symdiff():
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=120, cwd=str(NUMERIC_DIR.parent))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["loaded"] == [], f"numeric pulled in: {out['loaded']}"
    # and the program really ran: value and gradients of sum(sin(x)*y) + sum(x**2)
    import numpy as np
    x, y = np.array([0.1, 0.2, 0.3]), np.array([1.0, 2.0, 3.0])
    assert np.isclose(out["value"], np.sum(np.sin(x) * y) + np.sum(x ** 2))
    assert np.allclose(out["gx"], np.cos(x) * y + 2 * x)
    assert np.allclose(out["gy"], np.sin(x))


def test_the_subprocess_check_can_fail():
    """Meta-test: the same probe does see sympy when something imports it."""
    probe = "import sys, json, numeric, sympy; print(json.dumps('sympy' in sys.modules))"
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=120, cwd=str(NUMERIC_DIR.parent))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip()) is True


def _imports(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) of every import in a module, including ``importlib.import_module``
    and ``__import__`` calls with a literal name."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.Call):
            fn = node.func
            name = fn.attr if isinstance(fn, ast.Attribute) else getattr(fn, "id", "")
            if name in ("import_module", "__import__") and node.args and \
                    isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                found.append((node.lineno, node.args[0].value))
    return found


def test_no_file_under_numeric_imports_sympy_or_symdiff():
    files = sorted(NUMERIC_DIR.rglob("*.py"))
    assert len(files) >= 4, files  # __init__, errors, primitives, program, finite_diff
    bad = []
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, module in _imports(tree):
            if module.split(".")[0] in FORBIDDEN:
                bad.append(f"{path.name}:{line}: import {module}")
    assert not bad, "numeric must not import sympy or symdiff:\n" + "\n".join(bad)


def test_static_check_sees_every_import_form():
    """Meta-test of the AST scan on the forms it must catch."""
    src = ("import sympy\nfrom sympy import Symbol\nimport symdiff.node as n\n"
           "from symdiff import var\nimportlib.import_module('sympy')\n__import__('symdiff')\n"
           "from . import primitives\nimport numpy as np\n")
    mods = [m for _, m in sorted(_imports(ast.parse(src)))]
    assert mods == ["sympy", "sympy", "symdiff.node", "symdiff", "sympy", "symdiff", "numpy"]


# ---------------------------------------------------------------------------
# the layers of symdiff/: every import points down this list
# ---------------------------------------------------------------------------

SYMDIFF_DIR = NUMERIC_DIR.parent / "symdiff"
LAYERS = [
    ("numeric", ("numeric",)),
    ("base", ("symdiff.errors", "symdiff.budget")),
    ("text", ("symdiff.text",)),
    ("graph", ("symdiff.graph",)),
    ("lowering", ("symdiff.lowering",)),
    ("symbolic", ("symdiff.symbolic",)),
    ("derivatives", ("symdiff.derivatives",)),
    ("checking", ("symdiff.checking",)),
    ("teaching", ("symdiff.teaching",)),
    ("top", ("symdiff.testing", "symdiff.cli", "symdiff.__main__", "symdiff")),
]
RULE = ("arrows point down: " + " <- ".join(name for name, _ in LAYERS)
        + " (a module may import its own layer and the layers before it; docs/design.md)")
LATE_BINDING = ("# ---- late binding", "# ---- end of late binding")
"""Markers of the one block allowed to import upward: the Node methods that call into
lowering and the closed forms (``.eval``, ``.sympy``, ``.backward``, the repr), as
``torch.Tensor.backward`` calls into autograd."""


def layer_of(module: str) -> int | None:
    """Index in LAYERS of a module name (longest prefix wins), None outside the project."""
    best = None
    for k, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if module == p or module.startswith(p + "."):
                if best is None or len(p) > best[1]:
                    best = (k, len(p))
    return None if best is None else best[0]


def module_name(path: Path) -> str:
    rel = path.relative_to(NUMERIC_DIR.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(node: ast.ImportFrom, path: Path) -> list[str]:
    """Absolute module names a ``from ... import`` brings in: ``from . import codegen`` is
    package.codegen, ``from symdiff.graph.node import Node`` is symdiff.graph.node."""
    if node.level == 0:
        mod = node.module or ""
    else:
        base = module_name(path).split(".")
        if path.name != "__init__.py":
            base = base[:-1]
        base = base[:len(base) - (node.level - 1)]
        mod = ".".join(base + ([node.module] if node.module else []))
    out = []
    for a in node.names:
        sub = f"{mod}.{a.name}"
        out.append(sub if _exists(sub) else mod)
    return out


def _type_checking_lines(tree: ast.AST) -> set[int]:
    """Lines inside ``if TYPE_CHECKING:`` blocks: imports there never run."""
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", "")) \
                == "TYPE_CHECKING":
            for inner in node.body:
                lines.update(range(inner.lineno, (inner.end_lineno or inner.lineno) + 1))
    return lines


def project_imports(path: Path) -> list[tuple[int, str, bool]]:
    """(line, imported project module, inside the late-binding block) for every import
    that runs (``if TYPE_CHECKING:`` imports are left out)."""
    source = path.read_text(encoding="utf-8")
    block, inside = set(), False
    for i, text in enumerate(source.splitlines(), 1):
        if text.strip().startswith(LATE_BINDING[0]):
            inside = True
        elif text.strip().startswith(LATE_BINDING[1]):
            inside = False
        if inside:
            block.add(i)
    tree = ast.parse(source, filename=str(path))
    typing_only = _type_checking_lines(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = _resolve(node, path)
        else:
            continue
        if node.lineno in typing_only:
            continue
        for m in dict.fromkeys(names):
            if layer_of(m) is not None and _exists(m):
                found.append((node.lineno, m, node.lineno in block))
    return found


def _exists(module: str) -> bool:
    rel = Path(*module.split("."))
    root = NUMERIC_DIR.parent
    return (root / rel).with_suffix(".py").exists() or (root / rel / "__init__.py").exists()


def _symdiff_files() -> list[Path]:
    return sorted(SYMDIFF_DIR.rglob("*.py"))


def upward_imports() -> list[str]:
    bad = []
    for path in _symdiff_files():
        me = module_name(path)
        mine = layer_of(me)
        for line, m, late in project_imports(path):
            theirs = layer_of(m)
            if theirs is None or theirs <= mine:
                continue
            if late and me == "symdiff.graph.node":
                continue
            bad.append(f"{path.relative_to(NUMERIC_DIR.parent)}:{line}: {me} -> {m}: "
                       f"{LAYERS[mine][0]} may not import {LAYERS[theirs][0]}")
    return bad


def test_every_import_points_down_the_layers():
    bad = upward_imports()
    assert not bad, "upward imports:\n" + "\n".join(bad) + "\n" + RULE


def test_every_module_belongs_to_a_layer():
    lost = [module_name(p) for p in _symdiff_files() if layer_of(module_name(p)) is None]
    assert not lost, lost


def import_cycles() -> list[list[str]]:
    """Strongly connected components (more than one module) of the import graph, counting
    imports inside functions too, except the Node's marked late-binding block."""
    graph: dict[str, set[str]] = {}
    for path in _symdiff_files() + sorted(NUMERIC_DIR.rglob("*.py")):
        me = module_name(path)
        edges = graph.setdefault(me, set())
        for _, m, late in project_imports(path):
            if late or m == me:
                continue
            edges.add(m)
    # Tarjan, iteratively
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on, stack, out = set(), [], []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
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
    return out


def test_no_import_cycles():
    cycles = import_cycles()
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_the_layering_checks_can_fail(tmp_path, monkeypatch):
    """Meta-test: an upward import and a cycle planted in a copy of the tree are reported,
    naming the arrow and the rule."""
    import shutil
    root = tmp_path / "repo"
    shutil.copytree(NUMERIC_DIR.parent / "symdiff", root / "symdiff")
    shutil.copytree(NUMERIC_DIR, root / "numeric")
    lower = root / "symdiff" / "lowering" / "lower.py"
    lower.write_text(lower.read_text() + "\nfrom symdiff.teaching.explain import explain\n")
    monkeypatch.setattr(sys.modules[__name__], "NUMERIC_DIR", root / "numeric")
    monkeypatch.setattr(sys.modules[__name__], "SYMDIFF_DIR", root / "symdiff")
    bad = upward_imports()
    assert any("symdiff.lowering.lower -> symdiff.teaching.explain: lowering may not import "
               "teaching" in b for b in bad), bad
    assert any("symdiff.lowering.lower" in c for cycle in import_cycles() for c in cycle)
