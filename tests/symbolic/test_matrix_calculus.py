"""Matrix-calculus closed forms, Jacobians and Hessians (the formulas issue).

The oracle is SymPy on elements: ``f.sympy(explicit=True)`` is a scalar expression over
``W[i, j]``, and ``sympy.diff`` by each element gives the gradient entry by entry. Every
matrix formula symdiff prints is compared with it numerically; the simple ones are also
checked as text.
"""
from __future__ import annotations

import numpy as np
import pytest
import sympy

import symdiff as sd
from symdiff.symbolic.closed_form import element_symbols
from symdiff.symbolic.matrix_eval import evaluate
from symdiff.symbolic.matrix_form import leaf_symbol

RNG = np.random.default_rng(20261121)


def _point(variables, positive_definite=()):
    point = {}
    for v in variables:
        if v.name in positive_definite:
            point[v.name] = np.eye(v.shape[0]) * 2.0 + RNG.uniform(-0.3, 0.3, size=v.shape)
        else:
            point[v.name] = RNG.uniform(0.3, 1.2, size=v.shape)
    return point


def _env(variables, point):
    return {leaf_symbol(v): np.reshape(point[v.name], leaf_symbol(v).shape) if v.shape
            else float(point[v.name]) for v in variables}


def _oracle(f, w, variables, point):
    """d f / d w entry by entry: sympy.diff of the explicit element form."""
    expr = f.sympy(explicit=True)
    subs = {}
    for v in variables:
        syms = element_symbols(v)
        for idx in np.ndindex(*v.shape):
            subs[syms[idx]] = point[v.name][idx]
    out = np.zeros(w.shape)
    for idx in np.ndindex(*w.shape):
        d = sympy.diff(expr, element_symbols(w)[idx])
        out[idx] = float(d.xreplace(subs).evalf())
    return out


def _formula_and_check(f, w, variables, positive_definite=()):
    """The printed matrix formula of df/dw, after checking it against the oracle and the
    evaluator at a fresh random point."""
    d = sd.diff(f, w)
    m = d.sympy()
    point = _point(variables, positive_definite)
    want = _oracle(f, w, variables, point)
    got = np.asarray(evaluate(m, _env(variables, point)), dtype=float).reshape(w.shape)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-10, err_msg=str(m))
    evaluator = np.asarray(d.eval({k: v for k, v in point.items()}))
    np.testing.assert_allclose(evaluator, want, rtol=1e-9, atol=1e-10)
    return m


# ---- the examples of the issue ----------------------------------------------------------

def test_least_squares_gradient_is_2_XT_times_residual():
    X, W, y = sd.var("X", (5, 3)), sd.var("W", (3,)), sd.var("y", (5,))
    m = _formula_and_check(sd.sum((X @ W - y) ** 2), W, [X, W, y])
    assert str(m) == "2*X.T*(X*W - y)"
    assert sympy.latex(m) == r"2 X^{T} \left(X W - y\right)"


def test_least_squares_with_a_norm():
    X, W, y = sd.var("X", (5, 3)), sd.var("W", (3,)), sd.var("y", (5,))
    m = _formula_and_check(sd.norm(X @ W - y) ** 2, W, [X, W, y])
    assert "X.T" in str(m)


def test_seed_network_gradient_reads_with_relu_prime():
    x, W1, b1 = sd.var("x", (1, 2)), sd.var("W1", (2, 3)), sd.var("b1", (3,))
    W2, b2 = sd.var("W2", (3, 1)), sd.var("b2", (1,))
    y = sd.relu(x @ W1 + b1) @ W2 + b2
    m = _formula_and_check(sd.sum(y), W1, [x, W1, b1, W2, b2])
    assert str(m) == "x.T*HadamardProduct(W2.T, relu'.(x*W1 + b1.T))"
    assert r"\operatorname{relu}'" in sympy.latex(m) and r"\circ" in sympy.latex(m)


def test_tanh_layer_which_sympy_matrixexpr_diff_cannot_do():
    X, W, b, V = sd.var("X", (4, 3)), sd.var("W", (3, 2)), sd.var("b", (2,)), sd.var("V", (2, 1))
    m = _formula_and_check(sd.sum(sd.tanh(X @ W + b) @ V), W, [X, W, b, V])
    # the columns of 1 - tanh^2 scaled by V: diag(V) (product_rules._scaling)
    assert str(m) == "X.T*(1 - HadamardPower(tanh.(X*W + 1*b.T), 2))*diag(V)"


def test_trace_plus_one_gives_identity():
    E = sd.var("E", (3, 3))
    m = _formula_and_check(sd.trace(E) + 1, E, [E])
    assert m == sympy.Identity(3)


def test_sum_of_trace_of_grams_gives_2A():
    A, B = sd.var("A", (3, 3)), sd.var("B", (2, 3))
    m = _formula_and_check(sd.trace(A.T @ A) + sd.trace(B.T @ B), A, [A, B])
    assert str(m) == "2*A"


def test_squared_trace_of_identity_minus_A():
    A = sd.var("A", (3, 3))
    m = _formula_and_check(sd.trace(sd.const(np.eye(3)) - A) ** 2, A, [A])
    assert "Trace(I - A)" in str(m) and "*I" in str(m)


@pytest.mark.parametrize("build", [lambda A: sd.log(sd.det(A)), lambda A: sd.logdet(A)],
                         ids=["log-det", "logdet"])
def test_log_det_gives_inverse_transpose(build):
    A = sd.var("A", (3, 3))
    m = _formula_and_check(build(A), A, [A], positive_definite={"A"})
    assert str(m) == "A.T**(-1)"


def test_det_gradient():
    A = sd.var("A", (3, 3))
    m = _formula_and_check(sd.det(A), A, [A], positive_definite={"A"})
    assert "Determinant(A)" in str(m)


def test_exp_of_quadratic_form():
    x = sd.var("x", (3,))
    m = _formula_and_check(sd.exp(x @ x), x, [x])
    assert str(m) == "2*exp(norm(x)**2)*x"


@pytest.mark.parametrize("build", [lambda x: sd.log(sd.sum(sd.exp(x))), sd.logsumexp],
                         ids=["log-sum-exp", "logsumexp"])
def test_log_sum_exp_gives_softmax(build):
    x = sd.var("x", (4,))
    m = _formula_and_check(build(x), x, [x])
    assert str(m) == "softmax(x)"
    point = _point([x])
    s = np.exp(point["x"]) / np.exp(point["x"]).sum()
    np.testing.assert_allclose(sd.diff(build(x), x).eval(point), s, rtol=1e-12)


def test_logsumexp_does_not_overflow_and_softmax_sums_to_one():
    t = sd.tensor([1000.0, 1000.0, 999.0])
    assert np.isfinite(sd.logsumexp(t).item())
    s = sd.softmax(t).data
    assert abs(s.sum() - 1) < 1e-12 and np.all(np.isfinite(s))
    x = sd.var("x", (3,))
    g = sd.value_and_grad(sd.logsumexp(x), [x])(x=[1000.0, 1000.0, 999.0])[1][0]
    assert np.all(np.isfinite(g)) and abs(g.sum() - 1) < 1e-12


def test_softmax_cross_entropy_gradient():
    z, c = sd.var("z", (4,)), sd.var("c", (4,))
    loss = -sd.sum(c * sd.log(sd.softmax(z)))
    _formula_and_check(loss, z, [z, c])


def test_norm_gradient_and_its_kink():
    x = sd.var("x", (3,))
    m = _formula_and_check(sd.norm(x), x, [x])
    assert str(m) == "x/norm(x)"
    _, (g,) = sd.value_and_grad(sd.norm(x), [x])(x=np.zeros(3))
    assert g.tolist() == [0.0, 0.0, 0.0]   # PyTorch's subgradient at 0
    A = sd.var("A", (2, 3))
    assert str(sd.norm(A).sympy()) == "norm(A)"   # Frobenius, as numpy's default
    with pytest.raises(sd.SymdiffError, match="ord"):
        sd.norm(A, ord=2)


def test_inverse_gradient():
    A, u = sd.var("A", (2, 2)), sd.var("u", (2,))   # 2x2: the symbolic 3x3 oracle takes 5 s
    m = _formula_and_check(sd.sum(sd.inv(A) @ u), A, [A, u], positive_definite={"A"})
    assert "A**(-1)" in str(m) or "A.T**(-1)" in str(m)


def test_rosenbrock_gradient_uses_block_matrices():
    x = sd.var("x", (5,))
    f = sd.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
    m = _formula_and_check(f, x, [x])
    assert "Matrix(" in str(m)


# ---- never silently wrong -------------------------------------------------------------

def test_a_wrong_matrix_formula_is_refused(monkeypatch):
    """Break the transpose builder: validation must catch the wrong formula."""
    from symdiff.symbolic import matrix_form

    W = sd.var("W", (3, 2))
    good = matrix_form._STRUCTURAL["transpose"]
    monkeypatch.setitem(matrix_form._STRUCTURAL, "transpose", lambda n, x: 2 * good(n, x))
    with pytest.raises(sd.ClosedFormError, match="disagrees"):
        (W.T @ sd.var("v", (3,))).sympy()


def test_matrix_forms_that_do_not_exist_are_refused_with_advice():
    T = sd.var("T", (2, 3, 4))
    with pytest.raises(sd.ClosedFormError, match="explicit=True"):
        sd.sum(T * T).sympy()
    assert sd.sum(T * T).sympy(explicit=True).has(sympy.IndexedBase("T")[1, 2, 3])


# ---- Jacobians ----------------------------------------------------------------------

def test_jacobian_of_softmax_is_diag_minus_outer():
    x = sd.var("x", (4,))
    J = sd.jacobian(sd.softmax(x), x)
    assert J.shape == (4, 4)
    p = RNG.standard_normal(4)
    s = np.exp(p) / np.exp(p).sum()
    np.testing.assert_allclose(J.eval(x=p), np.diag(s) - np.outer(s, s), atol=1e-14)


def test_jacobian_of_a_matrix_function_has_shape_f_plus_x():
    A = sd.var("A", (2, 3))
    W = sd.var("W", (3, 4))
    J = sd.jacobian(A @ W, W)
    assert J.shape == (2, 4, 3, 4)
    a = RNG.standard_normal((2, 3))
    want = np.einsum("ik,jl->ijkl", a, np.eye(4))   # d(AW)_ij / dW_kl = A_ik delta_jl
    np.testing.assert_allclose(J.eval(A=a, W=np.zeros((3, 4))), want)


def test_jacobian_symbolic_matches_sympy_jacobian():
    x, y = sd.var("x"), sd.var("y")
    v = sd.var("v", (2,))
    F = sd.sin(v * v[0]) + sd.exp(v[1])
    J = sd.jacobian(F, v)
    v0, v1 = sympy.symbols("v0 v1")
    Fs = sympy.Matrix([sympy.sin(v0 * v0) + sympy.exp(v1), sympy.sin(v1 * v0) + sympy.exp(v1)])
    Js = Fs.jacobian([v0, v1])
    e = J.sympy(explicit=True)
    V = sympy.IndexedBase("v")
    mine = sympy.Matrix(e.tolist()).xreplace({V[0]: v0, V[1]: v1})
    assert sympy.simplify(mine - Js) == sympy.zeros(2, 2)
    assert sd.jacobian(x * y, [x, y])[1].sympy() == sympy.Symbol("x")


def test_jacobian_of_scalar_is_gradient_and_list_form():
    x = sd.var("x", (3,))
    f = sd.sum(sd.sin(x))
    J = sd.jacobian(f, x)
    assert J.shape == (3,)
    np.testing.assert_allclose(J.eval(x=[0.1, 0.2, 0.3]), np.cos([0.1, 0.2, 0.3]))


def test_jacobian_graph_is_linear_in_f_not_in_output_size():
    x = sd.var("x", (200,))
    f = sd.tanh(sd.sin(x) * x)
    assert len(sd.jacobian(f, x).nodes()) < 4 * len(f.nodes()) + 10


# ---- Hessians and higher order ------------------------------------------------------

def _rosenbrock(x):
    return sd.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def test_rosenbrock_hessian_n5_symbolic_equals_sympy_hessian():
    n = 5
    x = sd.var("x", (n,))
    H = sd.hessian(_rosenbrock(x), x)
    assert H.shape == (n, n)
    X = sympy.symbols(f"x0:{n}")
    f = sum(100 * (X[i + 1] - X[i] ** 2) ** 2 + (1 - X[i]) ** 2 for i in range(n - 1))
    want = sympy.hessian(f, X)
    V = sympy.IndexedBase("x")
    mine = sympy.Matrix(H.sympy(explicit=True).tolist()).xreplace({V[i]: X[i] for i in range(n)})
    assert sympy.expand(mine - want) == sympy.zeros(n, n)


def test_rosenbrock_hessian_n100_numeric_matches_finite_differences_of_the_gradient():
    n = 100
    x = sd.var("x", (n,))
    f = _rosenbrock(x)
    H = sd.hessian(f, x)
    vg = sd.value_and_grad(f, [x])
    for p in (RNG.uniform(-1.5, 1.5, n), np.ones(n), RNG.uniform(0, 2, n)):
        h = H.eval(x=p)
        eps = 1e-5
        fd = np.empty((n, n))
        for j in range(n):
            e = np.zeros(n)
            e[j] = eps
            fd[:, j] = (vg(x=p + e)[1][0] - vg(x=p - e)[1][0]) / (2 * eps)
        np.testing.assert_allclose(h, fd, rtol=1e-6, atol=1e-4)
        np.testing.assert_array_equal(h, h.T)
        assert np.count_nonzero(h) <= 3 * n   # tridiagonal, as it should be


def test_hessian_of_scalar_variables_is_a_nested_list():
    x, y = sd.var("x"), sd.var("y")
    H = sd.hessian(sd.sin(x * y) + x ** 3, [x, y])
    X, Y = sympy.symbols("x y")
    want = sympy.hessian(sympy.sin(X * Y) + X ** 3, (X, Y))
    for i in range(2):
        for j in range(2):
            assert sympy.simplify(H[i][j].sympy() - want[i, j]) == 0


def test_hessian_of_a_quadratic_form_is_A_plus_AT():
    A, x = sd.var("A", (3, 3)), sd.var("x", (3,))
    H = sd.hessian(x @ (A @ x), x)
    a = RNG.standard_normal((3, 3))
    np.testing.assert_allclose(H.eval(A=a, x=np.zeros(3)), a + a.T, atol=1e-14)


def test_third_derivative_by_repeated_diff():
    x = sd.var("x")
    f = sd.sin(x) * sd.exp(x)
    d3 = sd.diff(sd.diff(sd.diff(f, x), x), x)
    X = sympy.Symbol("x")
    assert sympy.simplify(d3.sympy() - sympy.diff(sympy.sin(X) * sympy.exp(X), X, 3)) == 0


def test_hessian_requires_scalar_f():
    x = sd.var("x", (3,))
    with pytest.raises(sd.ShapeError, match="scalar"):
        sd.hessian(x * 2, x)


def test_jacobian_and_hessian_of_a_layer_have_matrix_forms():
    """Batched cotangents through matmul stay 2-D where the Jacobian is a matrix."""
    W, x = sd.var("W", (3, 2)), sd.var("x", (2,))
    J = sd.jacobian(sd.tanh(W @ x), x).sympy()
    assert "tanh.(" in str(J) and str(J).endswith("*W")
    H = sd.hessian(sd.sum(sd.exp(W @ x)), x).sympy()
    w, p = RNG.standard_normal((3, 2)), RNG.standard_normal(2)
    env = {leaf_symbol(W): w, leaf_symbol(x): p.reshape(2, 1)}
    np.testing.assert_allclose(evaluate(H, env), w.T @ np.diag(np.exp(w @ p)) @ w, rtol=1e-12)
