"""Names in generated code: a variable may be called anything ``sd.var`` accepts, and the
generated C and Python still mean it.

C reserves far more names than its keywords: ``pow`` hides the function, ``HUGE_VALF`` is
a macro (``double HUGE_VALF`` compiled and crashed when called), ``M_LN2`` and ``FP_NAN``
did not compile. Generated C renames them (``symdiff.derivatives.c_names``); these tests
compile the code with ``-Wall -Werror`` in ISO and GNU modes and call it through ctypes,
once with the names of the review and once with every name this machine's ``math.h``
and ``stdlib.h`` define or declare. Python: the names the generated code uses besides
its arguments are read from the code itself, for every op, so a new global cannot slip
past the check that refuses variables shadowing them.
"""
from __future__ import annotations

import ast
import ctypes
import re
import shutil
import subprocess

import numpy as np
import pytest

import symdiff as sd
from symdiff.derivatives.c_names import C_RESERVED, c_identifiers, c_reserved
from symdiff.derivatives.printers import PYTHON_GLOBALS

MODES = (["-std=c99"], ["-std=c11"], [])   # [] is the compiler's default, GNU C


def c_compiler() -> str:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler on this machine")
    return cc


def build(code: str, tmp_path, mode: list, tag: str) -> ctypes.CDLL:
    src, lib = tmp_path / f"{tag}.c", tmp_path / f"lib{tag}.so"
    src.write_text(code)
    proc = subprocess.run([c_compiler(), *mode, "-Wall", "-Werror", "-shared", "-fPIC", "-O1",
                           "-o", str(lib), str(src), "-lm"], capture_output=True, text=True)
    assert proc.returncode == 0, f"{mode}: {proc.stderr}\n{code[:3000]}"
    return ctypes.CDLL(str(lib))


REVIEW_NAMES = ["pow", "HUGE_VALF", "M_LN2", "FP_NAN", "exp", "sin", "int", "double", "main",
                "pow_", "MB_CUR_MAX", "linux", "y0", "sinf", "NAN", "abs", "fabs", "signbit"]


@pytest.mark.parametrize("mode", MODES, ids=["c99", "c11", "gnu"])
def test_a_gradient_over_reserved_names_compiles_and_runs(tmp_path, mode):
    vs = [sd.var(n) for n in REVIEW_NAMES]
    f = sd.const(0.0)
    for i, v in enumerate(vs):
        f = f + sd.sin(v) * (i + 1)
    f = f + vs[0] ** 3 + sd.exp(vs[1] * vs[2]) + sd.abs(vs[3]) * vs[4]
    code = sd.formula(f, vs, lang="c")
    assert "double pow__," in code and "double pow_," in code    # pow_ was taken
    assert "Names C reserves are renamed: pow is pow__" in code
    fn = build(code, tmp_path, mode, "review").grad_f
    point = [0.1 * (i + 1) for i in range(len(vs))]
    outs = [ctypes.c_double() for _ in vs]
    fn.restype = None
    fn(*[ctypes.c_double(p) for p in point], *[ctypes.byref(o) for o in outs])
    _, want = sd.value_and_grad(f, vs)(dict(zip(REVIEW_NAMES, point)))
    np.testing.assert_allclose([o.value for o in outs], want, rtol=1e-12)


def test_array_variables_with_reserved_names(tmp_path):
    W, b = sd.var("pow", (2, 3)), sd.var("HUGE_VAL", (3,))
    f = sd.sum(sd.sin(W) * b)
    code = sd.formula(f, [W, b], lang="c")
    assert "const double *pow_" in code and "const double *HUGE_VAL_" in code
    fn = build(code, tmp_path, [], "arrays").grad_f
    w = np.arange(6.0).reshape(2, 3) / 7
    bv = np.array([0.5, -1.0, 2.0])
    dw, db = np.zeros((2, 3)), np.zeros(3)
    ptr = ctypes.POINTER(ctypes.c_double)
    fn.restype = None
    fn(*[a.ctypes.data_as(ptr) for a in (w, bv, dw, db)])
    np.testing.assert_allclose(dw, np.cos(w) * bv, rtol=1e-12)
    np.testing.assert_allclose(db, np.sin(w).sum(axis=0), rtol=1e-12)


def _local_header_names() -> tuple[set, set]:
    """(macros, identifiers) that this machine's math.h and stdlib.h define or mention,
    in GNU mode (the most names), without the reserved _-names."""
    cc = c_compiler()
    src = "#include <math.h>\n#include <stdlib.h>\n"
    macros = subprocess.run([cc, "-E", "-dM", "-x", "c", "-"], input=src, text=True,
                            capture_output=True, check=True).stdout
    text = subprocess.run([cc, "-E", "-P", "-x", "c", "-"], input=src, text=True,
                          capture_output=True, check=True).stdout
    defined = {m.group(1) for m in re.finditer(r"^#define (\w+)", macros, re.M)}
    tokens = set(re.findall(r"[A-Za-z_]\w*", text))
    keep = lambda names: {n for n in names if not n.startswith("_")}
    return keep(defined), keep(tokens)


def test_every_macro_of_the_local_headers_is_renamed():
    macros, _ = _local_header_names()
    assert {"HUGE_VALF", "M_LN2", "FP_NAN", "NULL", "RAND_MAX"} <= macros  # the probe works
    missed = sorted(n for n in macros if not c_reserved(n))
    assert missed == [], f"macros generated C would use as they are: {missed}"


def test_every_name_of_the_local_headers_works_as_a_variable(tmp_path):
    """Each name the headers mention (functions, types, macros, keywords, parameter and
    field names) as a parameter, used in the body beside calls of the math functions."""
    macros, tokens = _local_header_names()
    names = sorted(macros | tokens | C_RESERVED)
    names = [n for n in names if not n.startswith("_")]
    c = c_identifiers(names)
    assert len(set(c.values())) == len(names)
    chunks = [names[i:i + 100] for i in range(0, len(names), 100)]
    lines = ["#include <math.h>", "#include <stdlib.h>"]
    for k, chunk in enumerate(chunks):
        params = ", ".join(f"double {c[n]}" for n in chunk)
        terms = " + ".join(f"{i + 1}.0 * {c[n]}" for i, n in enumerate(chunk))
        lines.append(f"double g{k}({params}) {{ return {terms} + sin(1.0) + pow(2.0, 0.5) "
                     "+ exp(0.0) + fabs(-1.0) + sqrt(4.0) + log(1.0) + (HUGE_VAL > 0.0); }")
    for mode in ([], ["-std=c99"]):
        lib = build("\n".join(lines) + "\n", tmp_path, mode, f"all{len(mode)}")
        for k, chunk in enumerate(chunks):
            fn = getattr(lib, f"g{k}")
            fn.restype = ctypes.c_double
            got = fn(*[ctypes.c_double(0.5) for _ in chunk])
            want = 0.5 * sum(range(1, len(chunk) + 1)) + np.sin(1.0) + 2 ** 0.5 + 1 + 1 + 2 + 1
            assert got == pytest.approx(want, rel=1e-12), (mode, chunk)


def test_renamed_names_are_never_reserved_and_never_collide():
    assert not any(n.endswith("_") for n in C_RESERVED)
    names = ["pow", "pow_", "pow__", "x", "M_PI", "M_PI_", "_q", "v_q_", "int"]
    c = c_identifiers(names)
    assert len(set(c.values())) == len(names)
    assert not any(c_reserved(v) for v in c.values())
    assert c["x"] == "x" and c["pow_"] == "pow_" and c["pow"] == "pow___"


# ---- generated Python ------------------------------------------------------------------

def _globals_used(code: str) -> set:
    """Names the generated module's function reads that are not its own (arguments,
    assignments, lambda parameters)."""
    tree = ast.parse(code)
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef))
    own = {a.arg for a in fn.args.args}
    for node in ast.walk(fn):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            own.add(node.id)
        elif isinstance(node, ast.Lambda):
            own |= {a.arg for a in node.args.args}
    return {n.id for n in ast.walk(fn) if isinstance(n, ast.Name)
            and isinstance(n.ctx, ast.Load)} - own


def _imports(code: str) -> set:
    return {a.name.split(".")[0] for n in ast.parse(code).body if isinstance(n, ast.Import)
            for a in n.names}


def _python_cases():
    a, b = sd.var("a"), sd.var("b")
    v, w = sd.var("v", (3,)), sd.var("w", (3,))
    M = sd.var("M", (2, 2))
    scalar = {name: getattr(sd, name)(a * 0.5 + 1.5) for name in
              ["exp", "log", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "sqrt", "abs"]}
    scalar |= {"pow": a ** b, "maximum": sd.maximum(a, b), "minimum": sd.minimum(a, b),
               "where": sd.where(a > b, a * b, a - b), "step": sd.step(a) * a,
               "div": a / b, "sign": sd.sign(a) * a}
    arrays = {"matmul": sd.sum((M @ v[:2]) * w[:2]), "norm": sd.norm(v),
              "logsumexp": sd.logsumexp(v), "softmax": sd.sum(sd.softmax(v) * w),
              "det": sd.det(M), "inv": sd.sum(sd.inv(M)), "logdet": sd.logdet(M),
              "trace": sd.trace(M), "transpose": sd.sum(M.T @ M), "mean": sd.mean(v * w),
              "index": v[0] * w[2], "broadcast": sd.sum(sd.broadcast_to(v, (2, 3)) * w),
              "scalar and array": sd.sum(v * a) + b * sd.sum(M)}
    return scalar | arrays


@pytest.mark.parametrize("name, f", list(_python_cases().items()))
def test_generated_python_uses_no_global_a_variable_may_shadow(name, f):
    code = sd.formula(f, lang="python")
    assert _globals_used(code) <= _imports(code) | PYTHON_GLOBALS, code


@pytest.mark.parametrize("name", sorted(PYTHON_GLOBALS | {"numpy"}))
def test_variables_named_like_the_generated_codes_globals_are_refused(name):
    with pytest.raises(sd.SymdiffError, match=name):
        sd.formula(sd.var(name) * sd.var("q"), lang="python")


def test_a_name_python_would_normalise_into_numpy_is_refused_at_sd_var():
    # NFKC turns the fullwidth letters into numpy, which the generated code imports
    with pytest.raises(sd.ArgumentError, match="FULLWIDTH"):
        sd.var("\uff4e\uff55\uff4d\uff50\uff59")
