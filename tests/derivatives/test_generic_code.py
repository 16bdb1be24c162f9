"""sd.formula(lang="python") of matrix gradients: size-generic numpy from the matrix form
(numpy.linalg.solve for inverses, sizes read from the arguments), in bounded time."""
import time

import numpy as np
import pytest

import symdiff as sd


def run_python(code):
    namespace = {}
    exec(compile(code, "<generated>", "exec"), namespace)
    return namespace["grad_f"]


def nll(n):
    S, x, m = sd.var("S", (n, n)), sd.var("x", (n,)), sd.var("m", (n,))
    d = x - m
    return 0.5 * sd.logdet(S) + 0.5 * (d @ sd.inv(S) @ d), S


def point(n, seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, n))
    return {"S": a @ a.T + n * np.eye(n), "m": rng.normal(size=n), "x": rng.normal(size=n)}


@pytest.mark.parametrize("n", [4, 50])
def test_the_gaussian_nll_gradient_is_size_generic_code_in_bounded_time(n):
    f, S = nll(n)
    start = time.monotonic()
    code = sd.formula(f, S, lang="python")
    took = time.monotonic() - start
    assert took < 3.0, took            # under a second alone; slack for a loaded machine
    assert "numpy.linalg.solve" in code and f"({n}, " not in code and "S[0, 0]" not in code
    grad_f = run_python(code)
    for size in (n, 3, 6):             # the same code, arrays of other sizes
        at = point(size, size)
        want = 0.5 * np.linalg.inv(at["S"]).T - 0.5 * np.linalg.solve(
            at["S"].T, np.outer(at["x"] - at["m"], at["x"] - at["m"])) @ np.linalg.inv(at["S"]).T
        got = grad_f(at["S"], at["m"], at["x"])
        assert got.shape == (size, size)
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


def test_it_matches_symdiffs_own_gradient():
    f, S = nll(4)
    grad_f = run_python(sd.formula(f, S, lang="python"))
    at = point(4, 0)
    want = sd.grad(f, [S])[0].eval(at)
    np.testing.assert_allclose(grad_f(at["S"], at["m"], at["x"]), want, rtol=1e-9)


def test_outer_products_print_as_outer_products():
    a, X, b = sd.var("a", (3,)), sd.var("X", (3, 4)), sd.var("b", (4,))
    code = sd.formula(a @ X @ b, X, lang="python")
    assert "numpy.multiply" not in code and "numpy.ones" not in code and "@" in code
    grad_f = run_python(code)
    rng = np.random.default_rng(1)
    for n, k in ((3, 4), (5, 2)):
        av, Xv, bv = rng.normal(size=n), rng.normal(size=(n, k)), rng.normal(size=k)
        np.testing.assert_allclose(grad_f(Xv, av, bv), np.outer(av, bv))
