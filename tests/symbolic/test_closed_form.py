"""node.sympy(): scalar expressions, matrix expressions and explicit element arrays."""
import numpy as np
import pytest
import sympy

import symdiff as sd

X, Y = sympy.symbols("x y")


def test_scalar_closed_forms():
    x, y = sd.var("x"), sd.var("y")
    cases = [
        (x**2 + 3, X**2 + 3),
        (x * y + y**2, X * Y + Y**2),
        (sd.sin(x) / y - x, sympy.sin(X) / Y - X),
        (sd.exp(-x) ** 0.5, sympy.sqrt(sympy.exp(-X))),
        (sd.maximum(x, y), sympy.Max(X, Y)),
        (abs(x), sympy.Abs(X)),
        (sd.sqrt(x) + sd.log(y), sympy.sqrt(X) + sympy.log(Y)),
        (2 ** x, 2**X),
        (sd.where(x > y, x, 0.0), sympy.Piecewise((X, X > Y), (0, True))),
        (sd.const(2.5) * x, 2.5 * X),
    ]
    for node, expected in cases:
        assert node.sympy() == expected, (node.sympy(), expected)
    assert str(sd.relu(x).sympy()) == "relu(x)"
    assert str(sd.sigmoid(x).sympy()) == "sigmoid(x)"


def _numeric_matrix(expr, values):
    """Evaluate a SymPy matrix expression by substituting concrete matrices."""
    subs = {}
    for sym in expr.free_symbols:
        v = np.asarray(values[sym.name], dtype=float)
        if isinstance(sym, sympy.MatrixSymbol):
            subs[sym] = sympy.ImmutableMatrix(v.reshape(sym.shape))
        else:
            subs[sym] = sympy.Float(float(v))
    out = expr.xreplace(subs).doit()
    if hasattr(out, "as_explicit"):
        out = out.as_explicit()
    return np.array(sympy.Matrix(out).tolist() if isinstance(out, sympy.MatrixBase) else out,
                    dtype=float)


def test_matrix_expressions_print_and_evaluate_right():
    rng = np.random.default_rng(0)
    W, x, b = sd.var("W", (2, 3)), sd.var("x", (3,)), sd.var("b", (2,))
    A, s = sd.var("A", (2, 3)), sd.var("s")
    vals = {"W": rng.standard_normal((2, 3)), "x": rng.standard_normal(3),
            "b": rng.standard_normal(2), "A": rng.standard_normal((2, 3)), "s": 0.7}
    MW, Mx, Mb = (sympy.MatrixSymbol(n, *sh) for n, sh in [("W", (2, 3)), ("x", (3, 1)), ("b", (2, 1))])
    assert (W @ x).sympy() == MW * Mx
    assert (W @ x + b).sympy() == MW * Mx + Mb
    assert W.T.sympy() == MW.T
    cases = [W @ x + b, W * A, W / (A * A + 1), s * W - A, sd.exp(W), sd.tanh(W @ x),
             sd.sum(W * A), sd.sum(W, axis=0), sd.mean(W, axis=1), W.T @ b, x @ x,
             W[1], W[:, 1:3], W[0, 2] * s, W + x, sd.relu(W) ** 2, b @ W]
    for node in cases:
        expr = node.sympy()
        got = _numeric_matrix(expr, vals)
        used = {n.name for n in node.nodes() if n.op == "var"}
        want = node.eval({k: vals[k] for k in used})
        if np.ndim(want) == 1:
            got = got.reshape(-1)
        np.testing.assert_allclose(got.reshape(np.shape(want)), want, rtol=1e-12, err_msg=str(expr))


def test_explicit_arrays():
    W, x = sd.var("W", (2, 2)), sd.var("x", (2,))
    e = (W @ x).sympy(explicit=True)
    Wb, xb = sympy.IndexedBase("W"), sympy.IndexedBase("x")
    assert isinstance(e, sympy.NDimArray) and e.shape == (2,)
    assert sympy.expand(e[0] - (Wb[0, 0] * xb[0] + Wb[0, 1] * xb[1])) == 0
    s = sd.sum(sd.sin(x) * x).sympy(explicit=True)
    assert s == sympy.sin(xb[0]) * xb[0] + sympy.sin(xb[1]) * xb[1]
    m = sd.mean(W, axis=0).sympy(explicit=True)
    assert m[1] == (Wb[0, 1] + Wb[1, 1]) / 2
    u = sd.var("u", (2, 2, 2))
    t = sd.sum(u, axis=(0, 2)).sympy(explicit=True)
    assert t.shape == (2,)


def test_closed_form_refusals_are_clear():
    u = sd.var("u", (2, 2, 2))
    with pytest.raises(sd.ClosedFormError, match="3 dimensions.*explicit=True"):
        (u * 2).sympy()
    big = sd.var("B", (200, 200))
    with pytest.raises(sd.ClosedFormError, match="40000 elements"):
        (big * 2).sympy(explicit=True)
    A, B = sd.var("A", (2, 2)), sd.var("B", (2, 2))
    with pytest.raises(sd.ClosedFormError, match="maximum.*explicit=True"):
        sd.maximum(A, B).sympy()
    assert sd.maximum(A, B).sympy(explicit=True).shape == (2, 2)
