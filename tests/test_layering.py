"""``numeric`` is the lower layer: numpy only, never SymPy, never symdiff.

Checked twice: in a fresh interpreter (importing numeric and running a program leaves
sympy and symdiff out of ``sys.modules``) and statically (no file under numeric/ imports
them, whatever the form of the import).
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
