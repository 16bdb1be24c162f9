"""Workload W4 of the performance issue: f = x*sin(x*sin(...x)) of depth d, df/dx by ``sd.diff``.

f_0 = x, f_{i+1} = x*sin(f_i). Targets checked here (time is measured by
``python -m benchmarks --only W4``, not asserted):

* the derivative graph has at most 4 times f's nodes at every depth (forward mode on this
  scalar graph gives 3 per level against f's 2: the ratio tends to 3);
* depth 1,000 works: building, ``sd.diff``, second derivatives, evaluation, lowering and
  the closed form, under the interpreter's default recursion limit;
* the closed form after ``sympy.cse`` is no larger than ``sympy.cse(sympy.diff(f, x))``,
  counted as ``benchmarks/swell.py`` counts (replacements plus reduced expressions,
  ``sympy.count_ops``).
"""
from __future__ import annotations

import math
import sys

import numpy as np
import pytest
import sympy

import symdiff as sd
from symdiff.derivatives.reverse import reverse
from symdiff.graph.walks import free_names


def w4(d: int, name: str = "x") -> tuple[sd.Node, sd.Node]:
    x = sd.var(name)
    f = x
    for _ in range(d):
        f = x * sd.sin(f)
    return x, f


def w4_sympy(d: int) -> tuple[sympy.Symbol, sympy.Expr]:
    x = sympy.Symbol("x")
    f = x
    for _ in range(d):
        f = x * sympy.sin(f)
    return x, f


def recurrence(d: int, x: float) -> tuple[float, float, float]:
    """f, f' and f'' at x, by the forward recurrences in plain Python:
    f_{i+1}' = sin(f_i) + x cos(f_i) f_i', and its derivative for f''."""
    f, df, ddf = x, 1.0, 0.0
    for _ in range(d):
        s, c = math.sin(f), math.cos(f)
        f, df, ddf = (x * s,
                      s + x * c * df,
                      2.0 * c * df - x * s * df * df + x * c * ddf)
    return f, df, ddf


def cse_ops(expr: sympy.Expr) -> int:
    """Ops after common-subexpression elimination, as ``benchmarks/swell.py`` counts them."""
    replacements, reduced = sympy.cse([expr], order="none")
    return int(sum(sympy.count_ops(e) for _, e in replacements)
               + sum(sympy.count_ops(e) for e in reduced))


@pytest.fixture
def default_recursion_limit():
    """Run under the interpreter's default limit, so a recursive walk would fail here."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    yield
    sys.setrecursionlimit(old)


@pytest.mark.parametrize("d", [1, 2, 3, 5, 10, 20, 40, 100])
def test_derivative_graph_is_at_most_four_times_f(d):
    x, f = w4(d)
    df = sd.diff(f, x)
    nf, ndf = len(f.nodes()), len(df.nodes())
    assert nf == 2 * d + 1
    assert ndf <= 4 * nf, f"d={d}: {ndf} derivative nodes for {nf} in f"
    # forward mode adds cos(f_i), one product with the tangent, one with x and one sum
    # per level; the first level's tangent is 1 (no products with it)
    assert ndf == nf + 4 * d - 2
    assert df.eval(x=1.5) == pytest.approx(recurrence(d, 1.5)[1], rel=1e-12)


def test_depth_1000(default_recursion_limit):
    d, at = 1000, 1.5
    x, f = w4(d)
    value, deriv, second = recurrence(d, at)
    assert f.eval(x=at) == pytest.approx(value, rel=1e-12)

    df = sd.diff(f, x)
    ratio = len(df.nodes()) / len(f.nodes())
    assert ratio <= 4.0, f"derivative graph is {ratio:.2f}x f's"
    assert df.eval(x=at) == pytest.approx(deriv, rel=1e-9)

    # the numeric reverse sweep and the reverse-mode graph agree with the forward graph
    v, (g,) = sd.value_and_grad(f, [x])(x=at)
    assert v == pytest.approx(value, rel=1e-12)
    assert g == pytest.approx(deriv, rel=1e-9)
    (rev,) = reverse(f, [x], sd.const(1.0))
    assert rev.eval(x=at) == pytest.approx(deriv, rel=1e-9)

    d2 = sd.diff(df, x)
    assert len(d2.nodes()) <= 16 * len(f.nodes())
    assert d2.eval(x=at) == pytest.approx(second, rel=1e-8)

    # the closed form builds (SymPy's printers and lambdify recurse: not at this depth);
    # it is the nested chain-rule form, with one cos(f_i) per level
    expr = df.sympy()
    assert isinstance(expr, sympy.Add)
    seen, stack = set(), [expr]
    while stack:  # expr.atoms() recurses too
        e = stack.pop()
        if e not in seen:
            seen.add(e)
            stack.extend(e.args)
    assert sum(isinstance(e, sympy.cos) for e in seen) == d


@pytest.mark.parametrize("d", range(2, 13))
def test_closed_form_after_cse_is_no_larger_than_sympys(d):
    x, f = w4(d)
    mine = cse_ops(sd.diff(f, x).sympy())
    xs, fs = w4_sympy(d)
    theirs = cse_ops(sympy.diff(fs, xs))
    assert mine <= theirs, f"d={d}: symdiff {mine} ops after cse, SymPy {theirs}"


def test_closed_form_is_sympys_chain_rule_form():
    x, f = w4(3)
    xs, fs = w4_sympy(3)
    assert sd.diff(f, x).sympy() == sympy.diff(fs, xs)


# ---------------------------------------------------------------------------
# forward mode (one scalar variable, scalar graph) against reverse mode
# ---------------------------------------------------------------------------

def _scalar_functions():
    x, y = sd.var("x"), sd.var("y")
    return x, y, {
        "w4": w4(6)[1],
        "quotient": sd.exp(x) / (1 + x * x) - sd.log(x) * y,
        "shared": (lambda s: s * s + sd.tanh(s) * x)(sd.sin(x * y) + x),
        "piecewise": sd.where(x > 0.5, x ** 3, -x) * sd.relu(x - 0.2) + sd.maximum(x, y),
        "powers": x ** 0.5 * (x + y) ** x - sd.sigmoid(x) ** -2,
        "neg_sub": -(x - sd.cos(x)) - (2.0 - x),
        "no_x": y * y + 1,
    }


@pytest.mark.parametrize("name", list(_scalar_functions()[2]))
def test_forward_mode_matches_reverse_mode(name):
    x, y, fs = _scalar_functions()
    f = fs[name]
    fwd = sd.diff(f, x)
    rev, _ = sd.grad(f, [x, y])  # two variables: reverse mode
    names = set(free_names(f)) | {"x"}
    for at in ({"x": 0.9, "y": 0.3}, {"x": 1.7, "y": -0.4}):
        at = {k: v for k, v in at.items() if k in names}
        assert fwd.eval(at) == pytest.approx(rev.eval(at), rel=1e-12, abs=1e-14)
        assert sd.check(f, at={k: v for k, v in at.items() if k in free_names(f)}).ok


def test_forward_mode_second_derivative_and_eval_context():
    x, y = sd.var("x"), sd.var("y")
    f = sd.sin(x * y) * x
    d1 = sd.diff(f, x)
    d2 = sd.diff(d1, x)
    assert sympy.simplify(d2.sympy() - sympy.diff(f.sympy(), sympy.Symbol("x"), 2)) == 0
    # a derivative evaluates at its function's point, whichever variables it still uses
    assert sd.diff(x * y * y + y, x).eval(x=2.0, y=3.0) == 9.0
    assert sd.diff(y * y, x).eval(x=2.0, y=3.0) == 0.0


def test_array_graphs_still_use_reverse_mode():
    x = sd.var("x")
    v = sd.var("v", (3,))
    f = sd.sum(sd.sin(x * v))
    df = sd.diff(f, x)
    assert df.shape == ()
    vals = np.array([0.1, -0.2, 0.3])
    assert df.eval(x=0.7, v=vals) == pytest.approx(float(np.sum(vals * np.cos(0.7 * vals))))
