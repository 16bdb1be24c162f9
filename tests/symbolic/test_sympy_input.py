"""A SymPy expression works as ``f`` wherever a Node does (sd.diff, sd.grad, sd.jacobian,
sd.hessian, sd.check, sd.verify, sd.formula, sd.evaluate, sd.value_and_grad), through the
one reader ``as_function`` calls; ``sd.from_sympy`` makes the graph with shapes given."""
from __future__ import annotations

import numpy as np
import pytest
import sympy

import symdiff as sd

t, y = sympy.symbols("t y")
E = sympy.sin(t) * y + t ** 2
A = sympy.MatrixSymbol("A", 3, 2)
X = sympy.MatrixSymbol("x", 2, 1)
B = sympy.MatrixSymbol("b", 3, 1)
LSQ = (A * X - B).T * (A * X - B)


def test_from_sympy_scalar_round_trip():
    f = sd.from_sympy(E)
    assert str(f.sympy()) == str(E) == "t**2 + y*sin(t)"
    assert f.eval(t=0.5, y=2.0) == pytest.approx(np.sin(0.5) * 2 + 0.25)


def test_sympy_f_in_diff_grad_evaluate_value_and_grad():
    T, Y = sd.var("t"), sd.var("y")
    assert sd.diff(E, T).eval(t=0.5, y=2.0) == pytest.approx(2 * np.cos(0.5) + 1.0)
    gt, gy = sd.grad(E, [T, Y])
    assert gy.eval(t=0.5, y=2.0) == pytest.approx(np.sin(0.5))
    assert sd.evaluate(E, t=0.5, y=2.0) == pytest.approx(np.sin(0.5) * 2 + 0.25)
    value, grads = sd.value_and_grad(E, [T])(t=0.5, y=2.0)
    assert grads[0] == pytest.approx(2 * np.cos(0.5) + 1.0)


def test_sympy_f_in_check_and_verify():
    assert sd.check(E, at={"t": 0.5, "y": 2.0}).ok
    assert sd.verify(E, {"t": "y*cos(t) + 2*t"}).ok
    r = sd.verify(E, {"t": "y*cos(t)"})
    assert not r.ok and r.wrong == ["t"]


def test_sympy_f_in_formula_prints_the_same_as_the_node():
    f = sd.var("t") ** 2 * sd.var("y")
    assert sd.formula(t ** 2 * y, lang="python") == sd.formula(f, lang="python")


def test_matrix_symbols_bring_their_shapes():
    f = sd.from_sympy(LSQ)
    assert f.shape == ()
    shapes = {n.name: n.shape for n in f.nodes() if n.op == "var"}
    assert shapes == {"A": (3, 2), "x": (2,), "b": (3,)}
    assert sd.verify(LSQ, {"x": "2*A.T*(A*x - b)"}).ok
    at = {"A": np.arange(6.0).reshape(3, 2), "x": np.ones(2), "b": np.zeros(3)}
    assert sd.check(LSQ, at=at).ok
    assert "2*A.T*(A*x - b)" in sd.formula(LSQ, sd.var("x", (2,)))


def test_shapes_from_the_call_and_from_shapes():
    T3 = sd.var("t", (3,))
    g = sd.diff(sd.from_sympy(t ** 2, shapes={"t": (3,)}).sum(), T3)
    assert g.eval(t=[1.0, 2.0, 3.0]).tolist() == [2.0, 4.0, 6.0]
    # the call's wrt says t is a vector: the expression applies elementwise
    assert sd.jacobian(sympy.exp(t), T3).shape == (3, 3)
    x = sympy.IndexedBase("x")
    f = sd.from_sympy(x[0] ** 2 * x[1], shapes={"x": (2,)})
    assert sd.grad(f, [sd.var("x", (2,))])[0].eval(x=[3.0, 2.0]).tolist() == [12.0, 9.0]
    # a variable Node may stand for its symbol
    W = sd.var("W", (2,))
    assert W in sd.from_sympy(sympy.Symbol("W") * 2, shapes={"W": W}).args


@pytest.mark.parametrize("make, error, words", [
    (lambda: sd.from_sympy(sympy.IndexedBase("x")[0] ** 2), sd.VariableError,
     "shape is not given"),
    (lambda: sd.from_sympy(t, shapes={"z": ()}), sd.ArgumentError, "does not use"),
    (lambda: sd.from_sympy(sympy.IndexedBase("x")[5], shapes={"x": (2,)}), sd.ShapeError,
     "outside 'x'"),
    (lambda: sd.from_sympy(sympy.Matrix([t, y])), sd.ArgumentError, "MatrixSymbol"),
    (lambda: sd.from_sympy("t**2"), sd.ArgumentError, "not str"),
    (lambda: sd.from_sympy(sympy.Symbol("_a")), sd.ArgumentError, "'_a'"),
    (lambda: sd.diff(sympy.Function("g")(t), sd.var("t")), sd.UnsupportedError,
     "sd.diff: no symdiff primitive"),
    (lambda: sd.from_sympy(sympy.IndexedBase("x")[t], shapes={"x": (2,)}),
     sd.VariableError, "symbolic index"),
])
def test_clear_errors(make, error, words):
    with pytest.raises(error, match=words):
        make()
