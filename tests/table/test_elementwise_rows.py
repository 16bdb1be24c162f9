"""The elementwise rows of issue 14 beyond what the table sweep asks of every row.

The sweep (``test_primitives``, ``test_properties``, ``test_torch_oracle``) already holds
each row to numpy, central differences, SymPy, the complex step and PyTorch. Here: the
closed forms print as a person writes them and read back through ``sd.parse`` (and their
derivatives too); the SymPy functions of ours (cbrt, softplus, logaddexp, clip) agree with
their rewrites; the numerically stable forms stay finite where the textbook formulas
overflow; np.clip's semantics (lo > hi, one-sided bounds, arrays as bounds); the matrix
notation of claims; generated Python and C; and sd.check on each row.
"""
from __future__ import annotations

import math
import shutil
import subprocess
import ctypes

import numpy as np
import pytest
import sympy

import symdiff as sd
from numeric import PRIMITIVES
from numeric.primitives import _erf_complex
from symdiff.graph.numpy_api import FUNCTIONS as NUMPY_IMPLEMENTATIONS, ufunc_row
from symdiff.graph.walks import free_names
from symdiff.symbolic.functions import cbrt, clip, logaddexp, sigmoid, softplus

from row_cases import rng_for
from strategies import draw_inputs

UNARY = ["log1p", "expm1", "square", "reciprocal", "cbrt", "exp2", "log2", "log10", "arcsin",
         "arccos", "arctan", "sinh", "cosh", "arcsinh", "arccosh", "arctanh", "erf",
         "softplus"]
BINARY = ["arctan2", "logaddexp", "hypot"]
NEW_ROWS = UNARY + BINARY + ["clip"]

PRINTED = {
    "log1p": "log(x + 1)", "expm1": "exp(x) - 1", "square": "x**2", "reciprocal": "1/x",
    "cbrt": "cbrt(x)", "exp2": "2**x", "log2": "log(x)/log(2)", "log10": "log(x)/log(10)",
    "arcsin": "asin(x)", "arccos": "acos(x)", "arctan": "atan(x)", "sinh": "sinh(x)",
    "cosh": "cosh(x)", "arcsinh": "asinh(x)", "arccosh": "acosh(x)", "arctanh": "atanh(x)",
    "erf": "erf(x)", "softplus": "softplus(x)", "arctan2": "atan2(x, y)",
    "logaddexp": "logaddexp(x, y)", "hypot": "sqrt(x**2 + y**2)", "clip": "clip(x, y, z)",
}


def _graph(name):
    """``name`` applied to scalar variables x, y, z (as many as the row takes)."""
    variables = [sd.var(n) for n in "xyz"[:PRIMITIVES[name].arity]]
    return getattr(sd, name)(*variables), variables


def _points(name, k=6):
    row = PRIMITIVES[name]
    rng = rng_for("issue14", name)
    return [dict(zip("xyz", (float(v) for v in draw_inputs(row, [()] * row.arity, {}, rng))))
            for _ in range(k)]


def test_every_new_row_exists_under_numpys_name():
    for name in NEW_ROWS:
        assert PRIMITIVES[name].kind == "elementwise"
        assert callable(getattr(sd, name)) and name in sd.__all__
    # a ufunc of the same name reaches the row (np.log1p(node)); clip is numpy.clip
    for name in NEW_ROWS:
        if isinstance(getattr(np, name, None), np.ufunc):
            assert ufunc_row(name) == name
    assert not isinstance(np.clip, np.ufunc) and np.clip in NUMPY_IMPLEMENTATIONS
    assert "numpy.clip" in sd.supported_numpy() and "numpy.erf" not in sd.supported_numpy()


@pytest.mark.parametrize("name", NEW_ROWS)
def test_closed_form_prints_as_written_and_reads_back(name):
    f, variables = _graph(name)
    text = str(f.sympy())
    assert text == PRINTED[name]
    back = sd.parse(text)
    for point in _points(name):
        want = f.eval(point)
        assert back.eval({k: v for k, v in point.items() if k in free_names(back)}) == \
            pytest.approx(want, rel=1e-13, abs=1e-15), (text, point)
    # and so do its derivatives (sigmoid, Heaviside, cbrt, atan2 ... all read back)
    for w in variables:
        d = sd.diff(f, w)
        dtext = str(d.sympy())
        dback = sd.parse(dtext)
        for point in _points(name, 3):
            got = dback.eval({k: v for k, v in point.items() if k in free_names(dback)}) \
                if free_names(dback) else dback.eval()
            want = d.eval({k: v for k, v in point.items() if k in free_names(d)}) \
                if free_names(d) else d.eval()
            assert got == pytest.approx(want, rel=1e-12, abs=1e-14), (dtext, point)


def test_sympy_spellings_are_read_by_the_parser():
    x, y = sd.var("x"), sd.var("y")
    pairs = [("asin(x)", sd.arcsin(x)), ("acos(x)", sd.arccos(x)), ("atan(x)", sd.arctan(x)),
             ("atan2(x, y)", sd.arctan2(x, y)), ("asinh(x)", sd.arcsinh(x)),
             ("acosh(x + 2)", sd.arccosh(x + 2)), ("atanh(x)", sd.arctanh(x)),
             ("arctan2(x, y) + hypot(x, y) + logaddexp(x, y) + clip(x, -1, 1)",
              sd.arctan2(x, y) + sd.hypot(x, y) + sd.logaddexp(x, y) + sd.clip(x, -1, 1))]
    for text, node in pairs:
        got = sd.parse(text)
        assert got.op == node.op
        at = {k: v for k, v in {"x": 0.3, "y": -0.7}.items() if k in free_names(node)}
        assert got.eval(at) == node.eval(at), text


# ---------------------------------------------------------------------------
# SymPy functions of ours
# ---------------------------------------------------------------------------

X, Y, Z = (sympy.Symbol(n, real=True) for n in "xyz")


@pytest.mark.parametrize("expr, target", [
    (cbrt(X), sympy.Abs), (softplus(X), sympy.log), (logaddexp(X, Y), sympy.log),
    (clip(X, Y, Z), sympy.Max)], ids=["cbrt", "softplus", "logaddexp", "clip"])
def test_fdiff_agrees_with_the_derivative_of_the_rewrite(expr, target):
    rng = np.random.default_rng(3)
    args = expr.args
    rewritten = expr.rewrite(target)
    assert not rewritten.has(type(expr))
    for k, a in enumerate(args):
        mine = sympy.diff(expr, a)
        theirs = sympy.diff(rewritten, a).replace(sympy.DiracDelta, lambda *_: 0)
        for _ in range(5):
            vals = dict(zip(args, rng.uniform(-2, 2, len(args)).round(3)))
            m = complex(mine.subs(vals).rewrite(sympy.exp).evalf())
            t = complex(theirs.subs(vals).evalf())
            assert abs(m - t) < 1e-12, (expr, a, vals, m, t)
        # and the function at numbers is the row's forward
    vals = dict(zip(args, (0.7, -0.4, 0.2)[:len(args)]))
    row = PRIMITIVES[type(expr).__name__]
    assert float(expr.subs(vals)) == pytest.approx(
        float(row.forward(*[np.float64(vals[a]) for a in args])), rel=1e-14)


def test_cbrt_is_the_real_cube_root():
    x = sd.var("x")
    assert sd.cbrt(x).eval(x=-8.0) == -2.0
    assert sd.value_and_grad(sd.cbrt(x), [x])(x=-8.0)[1][0] == pytest.approx(1 / 12, rel=1e-15)
    assert sd.diff(sd.cbrt(x), x).eval(x=-8.0) == pytest.approx(1 / 12, rel=1e-15)
    assert cbrt(sympy.Integer(-8)) == -2 and cbrt(sympy.Float(-0.125)) == -0.5
    # a power with a fractional exponent stays numpy's: nan below 0 (cbrt is the way)
    with np.errstate(invalid="ignore"):
        assert math.isnan((x ** (1 / 3)).eval(x=-8.0))
    assert sd.check(sd.cbrt(x), at={"x": -0.7}).ok


def test_relu_like_functions_of_nan_are_nan():
    for f in (cbrt(sympy.nan), softplus(sympy.nan), logaddexp(sympy.nan, 1),
              clip(sympy.nan, 0, 1)):
        assert f is sympy.nan
    assert softplus(sympy.oo) == sympy.oo and softplus(-sympy.oo) == 0
    assert clip(sympy.Integer(3), 0, 1) == 1 and clip(sympy.Integer(3), 2, 1) == 1


# ---------------------------------------------------------------------------
# numerically stable forms
# ---------------------------------------------------------------------------

def test_softplus_and_logaddexp_stay_finite_where_the_textbook_forms_overflow():
    x, y = sd.var("x"), sd.var("y")
    for f, point, value, grads in [
            (sd.softplus(x), {"x": 1000.0}, 1000.0, [1.0]),
            (sd.softplus(x), {"x": -1000.0}, 0.0, [0.0]),
            (sd.logaddexp(x, y), {"x": 1000.0, "y": 1000.0}, 1000.0 + math.log(2), [0.5, 0.5]),
            (sd.logaddexp(x, y), {"x": -1000.0, "y": 0.0}, 0.0, [0.0, 1.0])]:
        wrt = [v for v in (x, y) if v.name in point]
        got, g = sd.value_and_grad(f, wrt)(point)
        assert got == pytest.approx(value, abs=1e-300) and list(g) == grads, f
        # the derivative graphs are sigmoids: no exp(1000) inside them either
        assert [d.eval(point) for d in sd.grad(f, wrt)] == grads, f
    assert sd.diff(sd.softplus(x), x).sympy() == sigmoid(sympy.Symbol("x"))
    assert str(sd.diff(sd.logaddexp(x, y), y).sympy()) == "sigmoid(-x + y)"


def test_hypot_and_its_gradient_without_overflow():
    x, y = sd.var("x"), sd.var("y")
    value, g = sd.value_and_grad(sd.hypot(x, y), [x, y])(x=3e200, y=4e200)
    assert value == pytest.approx(5e200, rel=1e-15)
    assert g == pytest.approx([0.6, 0.8], rel=1e-15)
    # (0, 0) is its kink: nan, as PyTorch's, and sd.check says where
    _, g0 = sd.value_and_grad(sd.hypot(x, y), [x, y])(x=0.0, y=0.0)
    assert all(math.isnan(v) for v in g0)
    r = sd.check(sd.hypot(x, y), at={"x": 0.0, "y": 0.0})
    assert not r.ok and any("hypot" in p for p in r.problems)


def test_erf_on_complex_numbers():
    """The complex-safe erf behind the complex step, against mpmath off the real axis."""
    mpmath = pytest.importorskip("mpmath")
    rng = np.random.default_rng(7)
    z = rng.uniform(-5, 5, 300) + 1j * rng.uniform(-1.5, 1.5, 300)
    z[:3] = [0.0, 1.999 + 0.001j, -2.001]
    want = np.array([complex(mpmath.erf(complex(v))) for v in z])
    got = _erf_complex(z)
    assert np.max(np.abs(got - want) / np.maximum(np.abs(want), 1e-300)) < 1e-12
    x = sd.var("x")
    r = sd.check(sd.erf(x) * x, at={"x": 2.5})
    assert r.ok and r.complex_step["x"] == pytest.approx(r.reverse_mode["x"], rel=1e-12)


# ---------------------------------------------------------------------------
# clip: numpy's semantics, torch.clamp's gradients
# ---------------------------------------------------------------------------

def test_clip_is_numpys_clip():
    rng = np.random.default_rng(5)
    a = rng.uniform(-3, 3, (4, 3))
    lo, hi = rng.uniform(-2, 1, (3,)), rng.uniform(-1, 2, (4, 1))   # some lo > hi
    assert np.array_equal(sd.clip(sd.tensor(a), lo, hi).data, np.clip(a, lo, hi))
    assert np.array_equal(sd.clip(sd.tensor(a), None, 0.5).data, np.clip(a, None, 0.5))
    assert np.array_equal(sd.clip(sd.tensor(a), -0.5, None).data, np.clip(a, -0.5, None))
    impl = NUMPY_IMPLEMENTATIONS[np.clip]
    assert np.array_equal(impl(sd.tensor(a), lo, hi).data, np.clip(a, lo, hi))
    assert np.array_equal(impl(sd.tensor(a), max=0.5).data, np.clip(a, max=0.5))
    with pytest.raises(sd.UnsupportedError, match="out"):
        impl(sd.tensor(a), 0.0, 1.0, out=np.empty((4, 3)))
    with pytest.raises(sd.SymdiffError, match="both None"):
        sd.clip(sd.var("x"))


def test_clip_gradients_at_and_between_the_bounds():
    v = sd.var("v", (7,))
    lo, hi = sd.var("lo"), sd.var("hi")
    f = sd.sum(sd.clip(v, lo, hi) * np.arange(1.0, 8.0))
    point = {"v": np.array([-1.0, 0.0, 0.5, 1.0, 2.0, 0.0, 1.0]), "lo": 0.0, "hi": 1.0}
    _, (gv, glo, ghi) = sd.value_and_grad(f, [v, lo, hi])(point)
    assert gv.tolist() == [0.0, 2.0, 3.0, 4.0, 0.0, 6.0, 7.0]      # the ends belong to v
    assert (glo, ghi) == (1.0, 5.0)
    # the symbolic derivative graphs use the same convention
    assert [np.asarray(d.eval(point)).tolist() for d in sd.grad(f, [v, lo, hi])] == \
        [gv.tolist(), glo, ghi]
    # lo > hi: the result is hi everywhere, and so is the gradient
    _, (gv, glo, ghi) = sd.value_and_grad(f, [v, lo, hi])({**point, "lo": 2.0, "hi": -1.0})
    assert not gv.any() and glo == 0.0 and ghi == 28.0
    r = sd.check(sd.clip(sd.var("x"), 0.0, 1.0), at={"x": 1.0})
    assert not r.ok and any("clip" in p for p in r.problems)
    assert "torch.clamp" in PRIMITIVES["clip"].domain.note


# ---------------------------------------------------------------------------
# matrix notation (claims) and sd.check
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", UNARY)
def test_matrix_notation_reads_each_function_and_its_derivative(name):
    X = sd.var("X", (2, 2))
    row = PRIMITIVES[name]
    rng = rng_for("claims", name)
    at = {"X": draw_inputs(row, [(2, 2)], {}, rng)[0]}
    direct = getattr(sd, name)(X)
    read = sd.parse(f"{name}.(X)", {"X": (2, 2)}, matrix=True)
    np.testing.assert_allclose(read.eval(at), direct.eval(at), rtol=1e-14)
    # the derivative mark: name'.(X) is the elementwise derivative
    prime = sd.parse(f"{name}'.(X)", {"X": (2, 2)}, matrix=True)
    want = sd.grad(sd.sum(direct), [X])[0].eval(at)
    np.testing.assert_allclose(prime.eval(at), want, rtol=1e-12)
    # SymPy's spellings, as matrix closed forms print them (asin.(X))
    sympy_name = {"arcsin": "asin", "arccos": "acos", "arctan": "atan", "arcsinh": "asinh",
                  "arccosh": "acosh", "arctanh": "atanh"}.get(name)
    if sympy_name:
        assert str(direct.sympy()) == f"{sympy_name}.(X)"
        np.testing.assert_allclose(
            sd.parse(f"{sympy_name}.(X)", {"X": (2, 2)}, matrix=True).eval(at),
            direct.eval(at), rtol=1e-14)


def test_matrix_notation_reads_the_functions_of_several_inputs():
    x, y = sd.var("x"), sd.var("y")
    for text, node in [("atan2(x, y)", sd.arctan2(x, y)), ("hypot(x, y)", sd.hypot(x, y)),
                       ("logaddexp(x, y)", sd.logaddexp(x, y)),
                       ("clip(x, y, 1)", sd.clip(x, y, 1.0))]:
        got = sd.parse(text, matrix=True)
        assert got.op == node.op and got.eval(x=0.4, y=-0.3) == node.eval(x=0.4, y=-0.3)
    with pytest.raises(sd.ParseError, match="clip.*takes 3"):
        sd.parse("clip(x, y)", matrix=True)


@pytest.mark.parametrize("name", NEW_ROWS)
def test_check_is_ok_on_each_row(name):
    f, _ = _graph(name)
    g = f * f + f      # a composite, so the chain rule runs through the row's partials
    point = _points(name, 1)[0]
    r = sd.check(g, at=point)
    assert r.ok, str(r)
    if PRIMITIVES[name].analytic:
        assert r.complex_note is None or "not analytic" not in r.complex_note


def test_kinks_of_the_new_rows_are_reported():
    x, y = sd.var("x"), sd.var("y")
    for f, at in [(sd.arcsin(x), {"x": 1.0}), (sd.arccos(x), {"x": -1.0}),
                  (sd.arccosh(x), {"x": 1.0}), (sd.cbrt(x), {"x": 0.0}),
                  (sd.arctan2(x, y), {"x": 0.0, "y": -1.0})]:
        r = sd.check(f, at=at)
        assert not r.ok and r.problems and f.op in r.problems[0], (f.op, r.problems)
    assert sd.check(sd.arctan2(x, y), at={"x": 0.0, "y": 1.0}).ok    # only the cut jumps


# ---------------------------------------------------------------------------
# generated code
# ---------------------------------------------------------------------------

def _composite(name):
    f, variables = _graph(name)
    return f * variables[0], variables


@pytest.mark.parametrize("name", NEW_ROWS)
def test_generated_python_computes_the_gradient(name):
    f, variables = _composite(name)
    code = sd.formula(f, variables, lang="python", name="f")
    ns: dict = {}
    exec(compile(code, f"<{name}>", "exec"), ns)
    for point in _points(name, 3):
        _, want = sd.value_and_grad(f, variables)(point)
        got = ns["grad_f"](**point)
        # atol: reciprocal(x) * x is 1, whose gradient is exactly 0 in the closed form and
        # a rounding error (1e-16) in reverse mode
        np.testing.assert_allclose(np.asarray(got, dtype=float), want, rtol=1e-12,
                                   atol=1e-14, err_msg=code)


def test_generated_c_computes_the_gradients(tmp_path):
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler on this machine")
    sources, cases = [], []
    for name in NEW_ROWS:
        f, variables = _composite(name)
        sources.append(sd.formula(f, variables, lang="c", name=name))
        cases.append((name, f, variables))
    src = tmp_path / "rows.c"
    src.write_text("\n".join(sources))
    lib = tmp_path / "librows.so"
    proc = subprocess.run([cc, "-std=c99", "-Wall", "-Werror", "-shared", "-fPIC", "-O1",
                           "-o", str(lib), str(src), "-lm"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    dll = ctypes.CDLL(str(lib))
    for name, f, variables in cases:
        fn = getattr(dll, f"grad_{name}")
        fn.restype = None
        for point in _points(name, 2):
            outs = [ctypes.c_double() for _ in variables]
            fn(*[ctypes.c_double(point[v.name]) for v in variables],
               *[ctypes.byref(o) for o in outs])
            _, want = sd.value_and_grad(f, variables)(point)
            np.testing.assert_allclose([o.value for o in outs], want, rtol=1e-12,
                                       atol=1e-14, err_msg=name)
