"""sd.diff / sd.grad: derivative graphs equal sympy.diff, differentiate again, stay small."""
import numpy as np
import pytest
import sympy

import symdiff as sd

X, Y = sympy.symbols("x y")
XR, YR = sympy.symbols("x y", real=True)


def _real(e):
    return e.xreplace({X: XR, Y: YR})


def _scalar_cases():
    x, y = sd.var("x"), sd.var("y")
    return [
        x**2 + 3, x * y + y**2, sd.sin(x) * sd.cos(y) / (x * x + 1), sd.exp(sd.tanh(x) * y),
        sd.log(x * x + 1) - sd.sqrt(y * y + 2), sd.sigmoid(x * y), sd.tan(x / 3),
        x ** 3.5 + x ** -2, x ** y, 2 ** (x * y), -x / (y * y + 1), sd.relu(x) * y,
        abs(x - y), sd.maximum(x, y) * x, sd.minimum(x * x, y), sd.where(x > y, x * y, y**2),
        sd.sin(sd.sin(sd.sin(x * y))),
    ]


@pytest.mark.parametrize("k", range(len(_scalar_cases())))
def test_diff_equals_sympy_diff(k):
    f = _scalar_cases()[k]
    fs = _real(f.sympy())
    for v, s in [(sd.var("x"), XR), (sd.var("y"), YR)]:
        mine = _real(sd.diff(f, v).sympy())
        theirs = sympy.diff(fs, s)
        # away from kinks, SymPy's Heaviside(0) = 1/2 conventions do not matter
        diff = (mine - theirs).rewrite(sympy.Piecewise)
        if sympy.simplify(diff) != 0:
            # piecewise/kink-heavy expressions: compare at points away from kinks
            fn = sympy.lambdify([XR, YR], mine - theirs, "numpy")
            for px, py in [(0.3, 1.7), (1.9, -0.4), (-1.1, 0.6), (2.5, 2.2)]:
                assert abs(float(fn(px, py))) < 1e-12, (f.sympy(), s, mine, theirs)


@pytest.mark.parametrize("k", range(len(_scalar_cases())))
def test_diff_graph_evaluates_like_reverse_mode(k):
    f = _scalar_cases()[k]
    x, y = sd.var("x"), sd.var("y")
    vg = sd.value_and_grad(f, [x, y])
    gx, gy = sd.grad(f, [x, y])
    for px, py in [(0.3, 1.7), (1.9, 0.4), (1.1, 0.6)]:   # inside every case's domain
        value, (rx, ry) = vg(x=px, y=py)
        at = {n: v for n, v in [("x", px), ("y", py)]
              if n in {m.name for m in gx.nodes() + gy.nodes() if m.op == "var"}}
        ex = gx.eval({k: v for k, v in at.items() if k in {m.name for m in gx.nodes() if m.op == 'var'}})
        ey = gy.eval({k: v for k, v in at.items() if k in {m.name for m in gy.nodes() if m.op == 'var'}})
        assert ex == pytest.approx(rx, rel=1e-12, abs=1e-14)
        assert ey == pytest.approx(ry, rel=1e-12, abs=1e-14)


def test_higher_derivatives():
    x = sd.var("x")
    f = sd.sin(x) * sd.exp(x) / (x * x + 1)
    d = f
    fs = _real(f.sympy())
    for order in range(1, 4):
        d = sd.diff(d, x)
        assert sympy.simplify(_real(d.sympy()) - sympy.diff(fs, XR, order)) == 0
    y = sd.var("y")
    g = x**2 * y**3
    assert sd.diff(sd.diff(g, x), y).sympy() == 6 * X * Y**2


def test_derivative_grows_linearly():
    x = sd.var("x")
    sizes = []
    for depth in (10, 20, 40, 80):
        f = x
        for _ in range(depth):
            f = x * sd.sin(f * sd.exp(f))
        n_f, n_d = len(f.nodes()), len(sd.diff(f, x).nodes())
        sizes.append((n_f, n_d))
        assert n_d <= 4 * n_f
    # doubling f doubles (not squares) the derivative
    assert sizes[-1][1] / sizes[-2][1] < 2.2


def test_array_gradients_match_explicit_sympy():
    W, x, b = sd.var("W", (2, 3)), sd.var("x", (3,)), sd.var("b", (2,))
    f = sd.sum(sd.tanh(W @ x + b) ** 2) + sd.mean(W * W)
    rng = np.random.default_rng(0)
    point = {"W": rng.standard_normal((2, 3)), "x": rng.standard_normal(3), "b": rng.standard_normal(2)}
    fe = f.sympy(explicit=True)
    vg = sd.value_and_grad(f, [W, x, b])
    value, grads = vg(point)
    graphs = sd.grad(f, [W, x, b])
    subs = {sympy.IndexedBase(n)[idx]: float(v[idx])
            for n, v in point.items() for idx in np.ndindex(*v.shape)}
    for node, g, graph in zip([W, x, b], grads, graphs):
        assert graph.shape == node.shape == g.shape
        np.testing.assert_allclose(graph.eval(point), g, rtol=1e-12)
        base = sympy.IndexedBase(node.name)
        for idx in np.ndindex(*node.shape):
            exact = float(sympy.diff(fe, base[idx]).xreplace(subs))
            assert exact == pytest.approx(g[idx], rel=1e-12)
        # the derivative graph's own explicit closed form agrees too
        ge = graph.sympy(explicit=True)
        for idx in np.ndindex(*node.shape):
            assert float(ge[idx].xreplace(subs)) == pytest.approx(g[idx], rel=1e-12)


def test_grad_of_indexing_reshape_transpose_broadcast():
    A = sd.var("A", (3, 4))
    f = sd.sum(A[1:, ::2] * A.T[0, 1:3]) + sd.sum(sd.reshape(A, (2, 6))[1] ** 2) + \
        sd.sum(sd.broadcast_to(A[0], (2, 4)) * A[None, 2])
    rng = np.random.default_rng(1)
    a = rng.standard_normal((3, 4))
    (g,) = sd.grad(f, [A])
    _, (r,) = sd.value_and_grad(f, [A])(A=a)
    np.testing.assert_allclose(g.eval(A=a), r, rtol=1e-12)
    r2 = sd.check(f, at={"A": a})
    assert r2.ok, str(r2)


def test_diff_errors():
    x, v = sd.var("x"), sd.var("v", (3,))
    with pytest.raises(sd.ShapeError, match=r"f has shape \(3,\).*sd.sum"):
        sd.diff(v * x, x)
    with pytest.raises(sd.SymdiffError, match="variables or tensors"):
        sd.diff(x * x, x * 2)
    with pytest.raises(sd.SymdiffError, match="list of variables"):
        sd.grad(x * x, x)
    # independent of the variable: a zero of its shape
    assert sd.diff(x * 2, sd.var("y")).eval() == 0.0
    assert sd.grad(x * 2, [v])[0].shape == (3,)


def test_a_derivative_that_is_a_bare_variable_takes_the_functions_point():
    """d(x*y + y)/dx is y: it was the user's own leaf, with no record of f's variables, so
    eval(x=2, y=3) (the point f is evaluated at) raised ExtraVariableError."""
    x, y = sd.var("x"), sd.var("y")
    d = sd.diff(x * y + y, x)
    assert d.sympy() == sympy.Symbol("y")
    assert d.eval(x=2, y=3) == 3.0
    assert sd.grad(x * y, [x, y])[0].eval({"x": 1.0, "y": 5.0}) == 5.0
    W = sd.var("W", (2,))
    np.testing.assert_array_equal(sd.diff(sd.sum(W * x), x).eval(W=[1.0, 2.0], x=7.0), 3.0)
    # the user's variable itself is untouched: y alone still refuses x
    with pytest.raises(sd.ExtraVariableError):
        y.eval(x=2, y=3)
    with pytest.raises(sd.ExtraVariableError, match="'z'"):
        d.eval(x=2, y=3, z=1)
