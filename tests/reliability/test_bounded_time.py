"""Reliability: every SymPy step a user can trigger, and Graphviz's layout, stop in bounded time.

The hostile review's finding 4: ``.sympy()`` of ``exp(exp(exp(10.5)))*x`` ran 345 s and
then raised a raw ValueError, ``sd.formula`` of it and C code for a 4x4 inverse did not
finish, ``symdiff graph`` of a 122-node nest waited on Graphviz for minutes, and
``sd.check`` grew without bound with its input. Bounds on hangs are correctness
properties: each test gives a budget of about 1 s (or a case refused at once) and asserts
the call ends within ``LIMIT`` seconds, generous for a loaded 2-core machine.
"""
from __future__ import annotations

import contextlib
import ctypes
import shutil
import subprocess
import time

import numpy as np
import pytest
import sympy

import symdiff as sd
from symdiff.symbolic import closed_form
from symdiff.teaching import analysis, steps as steps_module

LIMIT = 8.0
HAS_DOT = shutil.which("dot") is not None


@contextlib.contextmanager
def bounded(limit: float = LIMIT):
    start = time.perf_counter()
    yield
    elapsed = time.perf_counter() - start
    assert elapsed < limit, f"took {elapsed:.1f} s (bound {limit} s)"


def _spin(*args, **kwargs):
    """SymPy that never finishes (pure Python, as SymPy is)."""
    while True:
        pass


def _raises(exc):
    def raiser(*args, **kwargs):
        raise exc
    return raiser


# ---------------------------------------------------------------------------
# numbers SymPy is never asked to compute: refused at once, with the culprit named
# ---------------------------------------------------------------------------

BIG_NUMBERS = [
    # (text or builder, the error names)
    ("exp(exp(exp(10.5)))*x", r"the constant exp\(exp\(10\.5\)\) is inf in float64"),
    ("exp(exp(exp(exp(10.5))))*x", r"the constant exp\(exp\(10\.5\)\) is inf"),
    ("x*exp(1000)", r"the constant exp\(1000\) is inf"),
    # (the gradient's power is one less: 999999999)
    ("(3*x)**1e9", r"the power \(3\*…\)\*\*(1000000000|999999999) would make SymPy compute a "
                   r"number of about 1\.58e\+09 binary digits"),
    ("(3*x)**1e6", r"about 1\.58e\+06 binary digits, past 10,000"),
    ("(sqrt(3)*x)**1e9", r"the power \(sqrt\(3\)\*…\)\*\*"),   # 3**(5*10**8): one C call
    ("(1.5*x)**1e308", r"past float64's exponent range"),
    # through the Python API, where the parser's constant folding does not apply
    (("sqrt(const(3))**1e8*x", lambda x: sd.sqrt(sd.const(3.0)) ** 1e8 * x),
     r"the constant sqrt\(3\)\*\*1e\+08 is inf"),
    (("const(3)**1e6*x", lambda x: sd.const(3.0) ** 1e6 * x), r"the constant 3\*\*1e\+06 is inf"),
    (("log(const(0))*x", lambda x: sd.log(sd.const(0.0)) * x), r"the constant log\(0\) is -inf"),
]


def _graph(case):
    make, _ = case
    if isinstance(make, str):
        return sd.parse(make)
    return make[1](sd.var("x"))


def _case_id(case):
    return case[0] if isinstance(case[0], str) else case[0][0]


@pytest.mark.parametrize("case", BIG_NUMBERS, ids=[_case_id(c) for c in BIG_NUMBERS])
def test_numbers_too_large_for_sympy_are_refused_at_once_everywhere(case):
    f, named = _graph(case), case[1]
    for explicit in (False, True):
        with bounded(2.0), pytest.raises(sd.ClosedFormError, match=named):
            f.sympy(explicit=explicit)
    for lang in ("sympy", "latex", "python", "c"):
        with bounded(), pytest.raises(sd.ClosedFormError, match=named):
            sd.formula(f, lang=lang)
    with bounded():
        assert repr(f).startswith("Node(<") and f._repr_latex_() is None
    with bounded():
        r = sd.check(f, at={"x": 0.5})
    assert any("symbolic derivative graph (sd.grad)" in n for n in r.notes), r.notes
    with bounded():
        s = sd.show(f, at={"x": 0.5})
    assert s.latex is None and any("no closed form" in n for n in s.notes)


def test_big_constants_in_matrix_forms_are_refused_too():
    v = sd.var("v", (2,))
    f = sd.const(np.array([3.0, 4.0])) ** 1e8 * v
    for explicit in (False, True):
        with bounded(2.0), pytest.raises(sd.ClosedFormError, match="is not finite in float64"):
            f.sympy(explicit=explicit)
    g = (sd.const(np.array([3.0, 4.0])) * v) ** 1e6       # exact: 3**(10**6) per element
    with bounded(2.0), pytest.raises(sd.ClosedFormError, match="binary digits"):
        g.sympy(explicit=True)


def test_numbers_within_the_limits_keep_their_closed_forms():
    x = sd.var("x")
    assert str(sd.parse("(x+1)**1e6").sympy()) == "(x + 1)**1000000"
    assert "1000000*(x + 1)**999999" in sd.formula(sd.parse("(x+1)**1e6"))
    assert sd.parse("(3*x)**1000").sympy() == 3**1000 * sympy.Symbol("x") ** 1000
    assert str((sd.exp(sd.const(2.0)) * x ** 1e6).sympy()) == "x**1000000*exp(2)"
    assert str(sd.parse("(1.5*x)**100").sympy()) == "4.06561177535215e+17*x**100"


# ---------------------------------------------------------------------------
# .sympy(), sd.formula, repr and LaTeX under the budget
# ---------------------------------------------------------------------------

def test_sympy_past_its_budget_is_a_closed_form_error_saying_how_to_change_it(monkeypatch):
    W = sd.var("W", (7, 7))   # the explicit inverse: 49 adjugate entries of 720 terms
    with bounded(), pytest.raises(sd.ClosedFormError,
                                  match=r"did not finish the closed form of node inv .* within "
                                        r"1 s .*sympy_seconds="):
        sd.inv(W).sympy(explicit=True, sympy_seconds=1)
    monkeypatch.setattr("symdiff.budget.SYMPY_SECONDS", 0.5)   # the default, read at the call
    with bounded(), pytest.raises(sd.ClosedFormError, match=r"within 0\.5 s"):
        sd.inv(W).sympy(explicit=True)


@pytest.mark.parametrize("exc,named", [
    (OverflowError("too many digits in integer"), r"SymPy failed on .*OverflowError: too many"),
    (ValueError("Exceeds the limit (4300 digits)"), r"SymPy failed on .*ValueError: Exceeds"),
    (MemoryError(), r"SymPy failed on .*MemoryError"),
    (RecursionError("maximum recursion depth exceeded"), r"recursion depth"),
])
def test_sympys_own_failures_become_closed_form_errors(monkeypatch, exc, named):
    monkeypatch.setattr(closed_form, "_closed_form", _raises(exc))
    x = sd.var("x")
    with pytest.raises(sd.ClosedFormError, match=named):
        (sd.sin(x) * x).sympy()
    with pytest.raises(sd.ClosedFormError, match=named):
        sd.formula(sd.sin(x) * x, lang="c")


def test_repr_and_latex_never_hang_and_never_raise(monkeypatch):
    f = sd.sin(sd.var("x")) * 2
    monkeypatch.setattr("symdiff.symbolic.display.DISPLAY_SECONDS", 0.5)   # default 2 s
    monkeypatch.setattr(closed_form, "_closed_form", _spin)
    with bounded():
        assert repr(f) == "Node(<4 nodes>, op='mul', shape=())"
    with bounded():
        assert f._repr_latex_() is None
    monkeypatch.setattr(closed_form, "_closed_form", _raises(OverflowError("huge")))
    assert repr(f) == "Node(<4 nodes>, op='mul', shape=())" and f._repr_latex_() is None
    monkeypatch.undo()
    assert repr(f) == "Node(2*sin(x), op='mul', shape=())"


@pytest.mark.parametrize("lang", ["sympy", "latex", "python", "c"])
def test_formula_in_every_language_stops_within_its_budget(monkeypatch, lang):
    x, y = sd.var("x"), sd.var("y")
    monkeypatch.setattr(closed_form, "_closed_form", _spin)
    with bounded(), pytest.raises(sd.ClosedFormError,
                                  match=rf"sd.formula\(lang='{lang}'\) of df/d\(x, y\) within "
                                        r"0\.3 s"):
        sd.formula(sd.sin(x) * y, lang=lang, sympy_seconds=0.3)


def _gaussian_nll():
    S, m, y = sd.var("S", (4, 4)), sd.var("m", (4,)), sd.var("y", (4,))
    d = y - m
    return 0.5 * sd.logdet(S) + 0.5 * (d @ sd.inv(S) @ d), S, m


def test_c_code_of_a_4x4_inverse_gradient_now_finishes(tmp_path):
    # SymPy's m.inv() proved the determinant nonzero by simplifying it (minutes); then the
    # explicit inverse was adjugate / determinant (seconds, past a 0.2 s budget); now C is
    # written from the matrix form, an LU solve (symdiff.derivatives.matrix_c)
    f, S, m = _gaussian_nll()
    with bounded():
        code = sd.formula(f, wrt=[S, m], lang="c", sympy_seconds=5)
    assert "from its matrix form" in code and "sd_lu(" in code
    assert "void grad_f(const double *S, const double *m, const double *y" in code
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler on this machine")
    src, lib = tmp_path / "grad.c", tmp_path / "libgrad.so"
    src.write_text(code)
    subprocess.run([cc, "-std=c99", "-shared", "-fPIC", "-O1", "-o", str(lib), str(src), "-lm"],
                   check=True, capture_output=True)
    rng = np.random.default_rng(1)
    A = rng.standard_normal((4, 4))
    point = {"S": A @ A.T + 4 * np.eye(4), "m": rng.standard_normal(4),
             "y": rng.standard_normal(4)}
    dptr = ctypes.POINTER(ctypes.c_double)
    outs = [np.zeros((4, 4)), np.zeros(4)]
    ins = [np.ascontiguousarray(point[k]) for k in ("S", "m", "y")]
    fn = ctypes.CDLL(str(lib)).grad_f
    fn.restype = None
    fn(*[a.ctypes.data_as(dptr) for a in ins + outs])
    want = sd.value_and_grad(f, [S, m])(**point)[1]
    np.testing.assert_allclose(outs[0], want[0], atol=1e-12)
    np.testing.assert_allclose(outs[1], want[1], atol=1e-12)


# ---------------------------------------------------------------------------
# sd.check: the numeric opinions share fd_seconds, and the notes say what was sampled
# ---------------------------------------------------------------------------

def test_check_of_many_scalar_variables_is_bounded_and_says_what_it_sampled():
    n = 600                   # was quadratic: 1,000 variables took 10 s, 3,000 took 94 s
    xs = [sd.var(f"x{i}") for i in range(n)]
    f = xs[0]
    for x in xs[1:]:
        f = f + sd.sin(x)
    at = {f"x{i}": 0.001 * i for i in range(n)}
    with bounded():
        r = sd.check(f, at=at, fd_seconds=0.5)
    assert r.ok, str(r)[:2000]
    assert 10 <= len(r.entries) < n
    assert any(f"finite differences: checked a random sample of {len(r.entries):,} of the "
               f"{n:,} entries" in note for note in r.notes), r.notes
    checked = {e.variable for e in r.entries}
    for i, x in enumerate(xs):
        assert r.reverse_mode[x.name] == pytest.approx(1.0 if i == 0 else np.cos(0.001 * i))
        assert r.closed_form[x.name] == pytest.approx(r.reverse_mode[x.name], rel=1e-12)
        assert np.isfinite(r.finite_difference[x.name]) == (x.name in checked)


def test_check_of_a_million_entries_is_bounded():
    v = sd.var("v", (10**6,))             # was 39 s
    with bounded():
        r = sd.check(sd.sum(sd.sin(v)), at={"v": np.linspace(0.0, 1.0, 10**6)}, fd_seconds=0.5)
    assert r.ok, str(r)[:2000]
    assert "v has 1000000 entries: checked a random sample of 1000" in r.notes
    fd = r.finite_difference["v"]
    rows = [e.index for e in r.entries]
    assert 10 <= len(rows) <= 1000 and np.isfinite(fd).sum() == len(rows)
    assert all(np.isfinite(fd[i]) for i in rows)


def test_check_of_a_large_matmul_is_bounded():
    W = sd.var("W", (400, 400))           # 1000 x 1000 was 117 s
    at = {"W": np.random.default_rng(0).standard_normal((400, 400))}
    with bounded():
        r = sd.check(sd.sum(W @ W), at=at, fd_seconds=0.5)
    assert r.ok, str(r)[:2000]
    assert any("symbolic derivative graph" in n for n in r.notes)
    assert len(r.entries) >= 10


def test_check_says_which_diagnostics_the_budget_left_out():
    W = sd.var("W", (3, 3))
    r = sd.check(sd.sum(sd.sin(W) * W), at={"W": np.ones((3, 3))}, fd_seconds=0.0)
    assert r.ok and len(r.entries) == 9          # MIN_ENTRIES: checked whatever the time
    assert r.step_errors == {} and np.all(np.isnan(r.complex_step["W"]))
    assert any(n.startswith("step sweep: left out (or partly) for 1 variable(s) (W)")
               for n in r.notes), r.notes
    assert any(n.startswith("complex step: left out") for n in r.notes), r.notes
    full = sd.check(sd.sum(sd.sin(W) * W), at={"W": np.ones((3, 3))})
    assert not any("left out" in n for n in full.notes) and "W" in full.step_errors


def test_check_closed_form_column_of_many_variables_is_one_program():
    xs = [sd.var(f"x{i}") for i in range(300)]
    f = xs[0]
    for x in xs[1:]:
        f = f * (1 + 0.001 * x)          # every gradient shares the whole product
    r = sd.check(f, at={x.name: 1.0 for x in xs}, fd_seconds=0.5)
    assert any("symbolic derivative graph" in n for n in r.notes)
    for x in xs:
        assert r.closed_form[x.name] == pytest.approx(r.reverse_mode[x.name], rel=1e-10)


# ---------------------------------------------------------------------------
# pictures: Graphviz's layout has a timeout, and SymPy never holds a picture up
# ---------------------------------------------------------------------------

def _product_chain(n: int = 60) -> sd.Node:
    g = "x"
    for _ in range(n):
        g = f"({g})*x"
    return sd.parse(g)


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot is not installed")
def test_graphviz_layout_past_its_time_is_a_render_error(tmp_path, monkeypatch):
    f = _product_chain()                  # dot ran for minutes on it
    with bounded(), pytest.raises(sd.RenderError, match=r"did not finish laying out p\.svg "
                                                        r"within 1 s"):
        sd.render(f, tmp_path / "p.svg", at={"x": 0.5}, seconds=1)
    assert not (tmp_path / "p.svg").exists()
    monkeypatch.setattr("symdiff.teaching.dot.DOT_SECONDS", 1.0)
    with bounded():
        s = sd.show(f, at={"x": 0.5})
    assert s.svg is None and s.dot is not None
    assert any("no graph: render: Graphviz's dot did not finish" in n for n in s.notes)


def test_pictures_and_explanations_do_not_wait_on_sympy(monkeypatch):
    monkeypatch.setattr("symdiff.budget.SYMPY_SECONDS", 0.5)
    monkeypatch.setattr(analysis, "row_partial", _spin)
    x = sd.var("x")
    with bounded():
        text = sd.to_dot(sd.sin(x) * x, at={"x": 1.0})
    assert "the VJP rule of sin" in text and "the VJP rule of *" in text
    with bounded():
        sd.explain(sd.sin(x) * x, at={"x": 1.0})


def test_explains_simplified_path_sum_is_left_out_past_the_budget(monkeypatch):
    a, b = sd.var("a"), sd.var("b")
    f = (a + b) * (b + 1)
    assert "symbolically: d·1 + c·1 = c + d" in sd.explain(f, at={"a": 3, "b": 1})

    class Spinning:
        def doprint(self, expr):
            _spin()
    monkeypatch.setattr("symdiff.budget.SYMPY_SECONDS", 0.5)
    monkeypatch.setattr(steps_module, "printer", Spinning)
    with bounded():
        text = sd.explain(f, at={"a": 3, "b": 1})
    assert "symbolically: d·1 + c·1\n" in text


def test_show_does_not_wait_on_sympy(monkeypatch):
    monkeypatch.setattr("symdiff.budget.SYMPY_SECONDS", 0.5)
    monkeypatch.setattr("symdiff.symbolic.display.DISPLAY_SECONDS", 0.5)
    monkeypatch.setattr(closed_form, "_closed_form", _spin)
    x = sd.var("x")
    with bounded():
        s = sd.show(sd.sin(x) * x, at={"x": 1.0})
        text = str(s)
    assert s.latex is None and s.report.ok
    assert any("no closed form: SymPy did not finish the formula within 0.5 s" in n
               for n in s.notes), s.notes
    assert text.startswith("f = <3 nodes>")
