"""``sd.from_function`` on numpy code as people write it: the traced graph's value equals
the function on arrays, its gradient equals central differences of the function on
arrays, its closed form evaluates to the value, and ``sd.check`` agrees. Then every way
a traced function can fail: one ``SymdiffError`` naming the function and the line.
"""
from __future__ import annotations

import math
import re

import numpy as np
import pytest

import symdiff as sd
from numeric import central_difference
from symdiff.graph.numpy_api import ufunc_supported
from symdiff.graph.walks import free_names

RNG = np.random.default_rng(3)
X0, Y0, T0 = RNG.normal(size=(5, 3)), RNG.normal(size=5), np.sign(RNG.normal(size=5))


def tanh_squares(X, w):
    return np.sum(np.tanh(X @ w) ** 2)


def mean_squared_error(w, X, y):
    return np.mean((X @ w - y) ** 2)


def mlp(W1, b1, w2, X, y):
    h = np.maximum(0, X @ W1 + b1)
    return np.mean((h @ w2 - y) ** 2)


def leaky(x):
    return np.sum(np.where(x > 0, x, 0.1 * x) ** 2)


def quadratic_form(x, A):
    return np.dot(np.dot(x, A), x) + np.dot(x, x)


def softmax_first(x):
    e = np.exp(x)
    p = e / np.sum(e)
    return -np.log(p[0])


def with_methods(w, X, y):
    r = np.dot(X, w) - y
    return (r ** 2).sum() / len(y) + 0.5 * w.T.dot(w) / X.shape[0] + w.mean(axis=0) ** 2


def logistic(w, X, t):
    return np.mean(np.logaddexp(0, -t * (X @ w)))


def hidden_layers(W, b, X):
    z = np.tanh(np.dot(X, W) + b)
    return np.mean(np.square(z).sum(axis=1, keepdims=True) - np.abs(z).mean(axis=0))


def svm_data_dot(W, X, Y):
    """cs231n's vectorized SVM loss: data X.dot(W) (numpy's own ndarray.dot), a one-hot Y."""
    s = X.dot(W)
    correct = np.sum(s * Y, axis=1, keepdims=True)
    margins = np.maximum(0, s - correct + 1.0) * (1 - Y)
    return margins.sum() / len(X) + 0.5 * np.sum(W * W)


def batchnorm_squares(x, gamma, beta):
    mu, var = x.mean(axis=0), x.var(axis=0)
    xh = (x - mu) / np.sqrt(var + 1e-5)
    return np.sum((gamma * xh + beta) ** 2)


def rnn_step(x, h, Wx, Wh, b):
    return np.sum(np.tanh(x @ Wx + h @ Wh + b) ** 2)


ONEHOT = np.eye(3)[[0, 2, 1, 1, 0]]

# (function, what becomes a variable (shapes), what stays an array, a point for the variables)
CASES = [
    (tanh_squares, {"w": (3,)}, {"X": X0}, {"w": RNG.normal(size=3)}),
    (tanh_squares, {"w": (3,), "X": (5, 3)}, {}, {"w": RNG.normal(size=3), "X": X0}),
    (mean_squared_error, {"w": (3,)}, {"X": X0, "y": Y0}, {"w": RNG.normal(size=3)}),
    (mlp, {"W1": (3, 4), "b1": (4,), "w2": (4,)}, {"X": X0, "y": Y0},
     {"W1": RNG.normal(size=(3, 4)), "b1": RNG.normal(size=4), "w2": RNG.normal(size=4)}),
    (leaky, {"x": (4,)}, {}, {"x": np.array([-1.5, 0.3, 2.0, -0.2])}),
    (quadratic_form, {"x": (3,), "A": (3, 3)}, {},
     {"x": RNG.normal(size=3), "A": RNG.normal(size=(3, 3))}),
    (softmax_first, {"x": (4,)}, {}, {"x": RNG.normal(size=4)}),
    (with_methods, {"w": (3,)}, {"X": X0, "y": Y0}, {"w": RNG.normal(size=3)}),
    (hidden_layers, {"W": (3, 2), "b": (2,)}, {"X": X0},
     {"W": RNG.normal(size=(3, 2)), "b": RNG.normal(size=2)}),
    (svm_data_dot, {"W": (3, 3)}, {"X": X0, "Y": ONEHOT}, {"W": RNG.normal(size=(3, 3))}),
    (batchnorm_squares, {"x": (5, 3), "gamma": (3,), "beta": (3,)}, {},
     {"x": X0, "gamma": RNG.normal(size=3), "beta": RNG.normal(size=3)}),
    (rnn_step, {"x": (5, 3), "h": (5, 2), "Wx": (3, 2), "Wh": (2, 2), "b": (2,)}, {},
     {"x": X0, "h": RNG.normal(size=(5, 2)), "Wx": RNG.normal(size=(3, 2)),
      "Wh": RNG.normal(size=(2, 2)), "b": RNG.normal(size=2)}),
]


def test_array_arguments_are_the_callers_numbers_and_their_dot_takes_nodes():
    seen = {}

    def f(w, X, labels):
        seen.update(X=X, labels=labels)
        return np.sum(X.dot(w)) + np.sum(np.eye(3)[labels] @ w)

    labels = np.array([0, 2])
    g = sd.from_function(f, w=(3,), X=X0, labels=labels)
    assert isinstance(seen["X"], np.ndarray) and np.shares_memory(seen["X"], X0)
    assert seen["labels"].tolist() == [0, 2]
    w0 = RNG.normal(size=3)
    assert g.eval(w=w0) == pytest.approx(np.sum(X0 @ w0) + w0[0] + w0[2], rel=1e-12)
    # where the array meets no Node, its dot is numpy's
    assert isinstance(seen["X"].dot(np.ones(3)), np.ndarray)


def _check_traced(fn, shapes, arrays, point):
    f = sd.from_function(fn, **shapes, **arrays)
    assert isinstance(f, sd.Node) and f.shape == ()
    assert sorted(free_names(f)) == sorted(shapes)
    plain = {**arrays, **point}
    # the value
    expected = fn(**plain)
    assert f.eval(**point) == pytest.approx(expected, rel=1e-12)
    # the gradient: reverse mode vs central differences of the function on arrays
    names = sorted(shapes)
    wrt = [sd.var(n, shapes[n]) for n in names]
    value, grads = sd.value_and_grad(f, wrt)(**point)
    fd = central_difference(lambda *xs: fn(**arrays, **dict(zip(names, xs))),
                            [point[n] for n in names])
    for n, g, d in zip(names, grads, fd):
        np.testing.assert_allclose(g, d, rtol=1e-5, atol=1e-6, err_msg=n)
    # the closed form (matrix notation, or explicit entries where none exists) has the value
    import sympy
    closed = f.sympy(explicit=True)
    subs = {}
    for n in names:
        for idx in np.ndindex(*shapes[n]):
            symbol = sympy.Symbol(n) if not shapes[n] else sympy.Indexed(sympy.IndexedBase(n), *idx)
            subs[symbol] = point[n][idx] if shapes[n] else point[n]
    assert float(closed.xreplace(subs)) == pytest.approx(expected, rel=1e-9)
    # and sd.check: closed form vs reverse mode vs finite differences
    report = sd.check(f, at=point, sympy_seconds=5)
    assert report.ok, str(report)
    return f


@pytest.mark.parametrize("fn, shapes, arrays, point", CASES,
                         ids=[f"{c[0].__name__}-{'-'.join(c[1])}" for c in CASES])
def test_typical_numpy_code_traces_right(fn, shapes, arrays, point):
    _check_traced(fn, shapes, arrays, point)


def test_logistic_loss_with_logaddexp():
    """The issue's own example; np.logaddexp is a row of the elementwise part of issue 14.
    Until that row exists, tracing it is the UnsupportedError naming the function and the
    line (which is then what this test asserts)."""
    shapes, arrays = {"w": (3,)}, {"X": X0, "t": T0}
    if ufunc_supported(np.logaddexp):
        _check_traced(logistic, shapes, arrays, {"w": RNG.normal(size=3)})
    else:
        with pytest.raises(sd.UnsupportedError, match=r"in logistic \(at test_from_function"
                                                      r"\.py:\d+, in logistic: return np\.mean"
                                                      r".*numpy\.logaddexp is not supported"):
            sd.from_function(logistic, **shapes, **arrays)


def test_closed_forms_print_as_matrix_calculus():
    f = sd.from_function(tanh_squares, w=(3,), X=(5, 3))
    assert str(f.sympy()) == "norm(tanh.(X*w))**2"
    assert str(sd.formula(f, [sd.var("w", (3,))])) == \
        "t0 = tanh.(X*w)\ndf/dw = 2*X.T*HadamardProduct(t0, 1 - HadamardPower(t0, 2))"
    q = sd.from_function(lambda x, A: np.dot(np.dot(x, A), x), x=(3,), A=(3, 3))
    assert str(q.sympy()) == "(x.T*A*x)[0, 0]"
    assert str(sd.grad(q, [sd.var("x", (3,))])[0].sympy()) == "(A + A.T)*x"


def test_numbers_and_arrays_pass_through_and_numbers_come_back_as_constants():
    seen = {}

    def f(x, labels, options, scale=2.0, shape=(2,)):
        seen.update(labels=labels, options=options, shape=shape)
        return scale * np.sum(x) * options["weight"]

    g = sd.from_function(f, x=(2,), labels=["a", "b"], options={"weight": 3.0})
    assert seen == {"labels": ["a", "b"], "options": {"weight": 3.0}, "shape": (2,)}
    assert free_names(g) == ["x"]            # the default tuple stayed a tuple
    assert g.eval(x=np.array([1.0, 2.0])) == 18.0
    assert sd.from_function(lambda w: 3.5, w=()).item() == 3.5
    assert sd.from_function(lambda w: np.ones(2), w=()).data.tolist() == [1.0, 1.0]
    x = sd.var("x", (2,))
    assert sd.from_function(lambda x, k: k * x, x, k=3).eval(x=np.ones(2)).tolist() == [3, 3]


def test_vector_results_stay_vectors():
    f = sd.from_function(lambda X, w: np.tanh(X @ w), X=X0, w=(3,))
    assert f.shape == (5,)


# ---- failures: one SymdiffError naming the function and the line -----------------------------

def _line_of(fn, text):
    import inspect
    lines, start = inspect.getsourcelines(fn)
    return start + next(i for i, line in enumerate(lines) if text in line)


def branching(x):
    if x > 0:
        return x
    return -x


def sorting(w):
    s = np.sort(w)
    return s[0]


def wrong_shapes(w, X):
    return np.sum(X @ w)


def dividing_by_zero(w):
    scale = 1 / (len(w) - 3)
    return scale * np.sum(w)


def python_math(w):
    return math.exp(w)


def assigning(w):
    w[0] = 1.0
    return np.sum(w)


def method_missing(w):
    return np.sum(w.sort())


def array_method(w, X):
    Xb = np.hstack([X, np.ones((len(X), 1))])    # a new array: numpy's own ndarray.dot
    return np.sum(Xb.dot(w))


def qr(A):
    Q, R = np.linalg.qr(A)
    return np.sum(R)


@pytest.mark.parametrize("fn, args, error, line, pattern", [
    (branching, {"x": ()}, sd.UnsupportedError, "if x > 0", r"truth value.*np\.where"),
    (sorting, {"w": (3,)}, sd.UnsupportedError, "np.sort(w)", r"numpy\.sort is not supported"),
    (wrong_shapes, {"w": (3,), "X": (2, 4)}, sd.ShapeError, "X @ w", r"matmul"),
    (dividing_by_zero, {"w": (3,)}, sd.TracingError, "1 / (len(w) - 3)", r"raised ZeroDivisionError"),
    (python_math, {"w": ()}, sd.UnsupportedError, "math.exp", r"float\(\).*np\.exp"),
    (assigning, {"w": (3,)}, sd.UnsupportedError, "w[0] = 1.0", r"item assignment"),
    (method_missing, {"w": (3,)}, sd.TracingError, "w.sort()",
     r"no attribute 'sort'.*ndarray\.sort is not supported"),
    (array_method, {"w": (4,), "X": X0}, sd.UnsupportedError, "Xb.dot(w)",
     r"var 'w' has no value: numpy asked for its numbers.*X\.dot\(w\).*write X @ w"),
    (qr, {"A": (3, 3)}, sd.UnsupportedError, "np.linalg.qr", r"numpy\.linalg\.qr is not"),
])
def test_every_failure_inside_the_function_names_it_and_the_line(fn, args, error, line, pattern):
    with pytest.raises(error) as e:
        sd.from_function(fn, **args)
    message = str(e.value)
    where = rf"sd\.from_function: (in )?{fn.__name__}.*\(at test_from_function\.py:" \
            rf"{_line_of(fn, line)}, in {fn.__name__}: "
    assert re.search(where, message), message
    assert re.search(pattern, message), message
    assert isinstance(e.value, sd.SymdiffError)
    assert message.count("sd.from_function") == 1


def test_the_place_is_added_once_when_traced_code_is_traced_again():
    def inner(w):
        return np.sort(w)

    def outer(w):
        return sd.from_function(inner, w)

    with pytest.raises(sd.UnsupportedError) as e:
        sd.from_function(outer, w=(2,))
    assert str(e.value).count("sd.from_function") == 1 and "in inner" in str(e.value)


@pytest.mark.parametrize("fn, pattern", [
    (lambda w: (np.sum(w), w), r"returned a tuple of 2 values; .*return the loss alone"),
    (lambda w: [np.sum(w)], r"returned a list of 1 values"),
    (lambda w: {"loss": np.sum(w)}, r"returned a dict \(keys 'loss'\)"),
    (lambda w: None, r"returned None: does it end with a return statement"),
    (lambda w: np.sum(w) > 0, r"returned a comparison"),
    (lambda w: True, r"returned a boolean"),
    (lambda w: "w", r"returned str, not an array or a number"),
    (lambda w: 1j, r"returned complex"),
])
def test_what_the_function_returns_must_be_one_array_or_number(fn, pattern):
    with pytest.raises(sd.ArgumentError, match=r"sd\.from_function: .*" + pattern):
        sd.from_function(fn, w=(2,))


def test_a_parameter_symdiff_cannot_name_is_an_argument_error():
    def f(_w):
        return _w

    with pytest.raises(sd.ArgumentError, match=r"parameter '_w' of .*f cannot be a symdiff "
                                               r"variable"):
        sd.from_function(f, (2,))
