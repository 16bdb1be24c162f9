"""C from the matrix form (issue 15, item 7): sd.formula(lang="c") of gradients holding an
inverse, a determinant or a solve, or too large for the element form, compiled with the
system compiler and called through ctypes; their numbers against sd.grad's graphs (which
the table sweep holds to central differences) and against central differences of f."""
import numpy as np
import pytest

import symdiff as sd
from test_formula import call_c, compile_c

rng = np.random.default_rng(7)


def spd(n):
    b = rng.normal(size=(n, n))
    return b @ b.T + n * np.eye(n)


def args_of(f, wrt):
    leaves = {n.name: n for n in f.nodes() if n.op == "var"}
    names = [w.name for w in wrt]
    return list(wrt) + sorted((v for k, v in leaves.items() if k not in names),
                              key=lambda n: n.name)


def check(f, wrt, point, tmp_path, from_matrix=True):
    code = sd.formula(f, wrt, lang="c")
    assert ("from its matrix form" in code) == from_matrix, code[:400]
    fn = compile_c(code, tmp_path)
    got = call_c(fn, args_of(f, wrt), point, wrt)
    for g, w, d in zip(got, wrt, sd.grad(f, wrt)):
        want = np.asarray(d.eval(**point), dtype=float).reshape(np.shape(g))
        np.testing.assert_allclose(g, want, rtol=1e-8, atol=1e-10, err_msg=w.name)
    return code, got


@pytest.mark.parametrize("n", [4, 50])
def test_gaussian_nll_with_a_symmetric_covariance(n, tmp_path):
    S, x, m = sd.var("S", (n, n), symmetric=True), sd.var("x", (n,)), sd.var("m", (n,))
    f = 0.5 * ((x - m) @ sd.inv(S) @ (x - m)) + 0.5 * sd.logdet(S)
    point = {"S": spd(n), "x": rng.normal(size=n), "m": rng.normal(size=n)}
    code, (dS, dx) = check(f, [S, x], point, tmp_path)
    assert "sd_lu(" in code and "pow(" not in code   # an LU, not cofactors
    Si = np.linalg.inv(point["S"])
    r = point["x"] - point["m"]
    np.testing.assert_allclose(dx, Si @ r, rtol=1e-9)
    np.testing.assert_allclose(dS, 0.5 * Si - 0.5 * Si @ np.outer(r, r) @ Si, rtol=1e-8,
                               atol=1e-12)


def test_determinants_traces_and_central_differences(tmp_path):
    X, A = sd.var("X", (3, 3)), sd.var("A", (3, 3))
    f = sd.det(X.T @ A @ X) + sd.trace(A @ sd.inv(X)) + sd.logdet(X @ X.T)
    point = {"X": spd(3) + rng.normal(size=(3, 3)), "A": spd(3)}
    _, (dX, dA) = check(f, [X, A], point, tmp_path)
    h = 1e-6
    for name, got in (("X", dX), ("A", dA)):
        fd = np.zeros((3, 3))
        for idx in np.ndindex(3, 3):
            up, dn = dict(point), dict(point)
            up[name] = point[name].copy()
            dn[name] = point[name].copy()
            up[name][idx] += h
            dn[name][idx] -= h
            fd[idx] = (f.eval(**up) - f.eval(**dn)) / (2 * h)
        np.testing.assert_allclose(got, fd, rtol=1e-5, atol=1e-6)


def test_large_arrays_use_the_matrix_form(tmp_path):
    # past MAX_ELEMENTS the element form is refused; the matrix form has loops
    n = 60
    A, x, m = sd.var("A", (n, n)), sd.var("x", (n,)), sd.var("m", (n,))
    f = sd.sum(sd.tanh(A @ x) ** 2) + sd.logsumexp(A @ x) + sd.norm(A @ x - m)
    point = {"A": rng.normal(size=(n, n)) / n, "x": rng.normal(size=n), "m": rng.normal(size=n)}
    code, _ = check(f, [A, x], point, tmp_path)
    assert "tanh(" in code and "exp(" in code


def test_small_gradients_keep_the_element_form(tmp_path):
    A, x = sd.var("A", (2, 2)), sd.var("x", (2,))
    f = sd.sum((A @ x) ** 2)
    check(f, [x], {"A": rng.normal(size=(2, 2)), "x": rng.normal(size=2)}, tmp_path,
          from_matrix=False)


def test_a_singular_matrix_gives_inf_or_nan_not_a_crash(tmp_path):
    X = sd.var("X", (3, 3))
    f = sd.trace(sd.inv(X))
    code = sd.formula(f, X, lang="c")
    fn = compile_c(code, tmp_path)
    (g,) = call_c(fn, [X], {"X": np.ones((3, 3))}, [X])
    assert not np.all(np.isfinite(g))


def test_a_hessian_past_the_element_limit_is_written_from_its_matrix_form(tmp_path):
    # the element form of this 60x60 Hessian is refused (rust and fortran still refuse
    # it: tests/derivatives/test_formula_arrays.py); C is loops over the matrix form
    big = sd.var("big", (60,))
    f = sd.sum(sd.exp(big)) ** 2
    code = sd.formula(f, big, lang="c", order=2)
    assert "from its matrix form" in code
    assert "void hess_f(" in code
    fn = compile_c(code.replace("void hess_f(", "void grad_f("), tmp_path)   # its helper's name
    point = {"big": rng.normal(size=60) / 10}
    (h,) = call_c(fn, [big], point, [sd.var("H", (60, 60))])   # one output of H's shape
    want = np.asarray(sd.hessian(f, big).eval(**point), dtype=float)
    np.testing.assert_allclose(h, want, rtol=1e-9, atol=1e-9)
