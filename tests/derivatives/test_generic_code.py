"""sd.formula(lang="python") of matrix gradients: size-generic numpy from the matrix form
(numpy.linalg.solve for inverses, sizes read from the arguments), in bounded time."""
import re
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


# ---- the same generic code in JAX and PyTorch (symdiff.derivatives.array_code) ----------

def _problems(n):
    """(f, wrt, order) at size n: each has a matrix form the generic code prints."""
    A, x, y = sd.var("A", (n + 1, n)), sd.var("x", (n,)), sd.var("y", (n + 1,))
    t = sd.var("t", (n + 1,))
    f_nll, S = nll(n)
    return {
        "nll": (f_nll, S, 1),
        "ridge": (sd.sum((A @ x - y) ** 2) + 0.5 * sd.sum(x ** 2), x, 1),
        "logistic": (sd.mean(sd.log(1 + sd.exp(-t * (A @ x)))), x, 1),
        "logsumexp": (sd.logsumexp(x), x, 1),
        "relu": (sd.sum(sd.relu(A @ x) * y), [x, A], 1),
        "hessian": (sd.sum(sd.exp(A @ x)), x, 2),
        "jacobian": (sd.tanh(A @ x), x, 1),
    }


def _values(f, n, seed):
    rng = np.random.default_rng(seed)
    out = {}
    for leaf in f.nodes():
        if leaf.op == "var":
            out[leaf.name] = rng.normal(size=leaf.shape)
    if "S" in out:
        out.update(point(n, seed))
    return out


def _reference(f, wrt, order, at):
    ws = [wrt] if isinstance(wrt, sd.Node) else wrt
    if order == 2:
        nodes = [sd.hessian(f, wrt)]
    else:
        nodes = sd.jacobian(f, ws) if f.shape else sd.grad(f, ws)
    return [np.asarray(n.eval(at)) for n in nodes]


@pytest.mark.parametrize("lang", ["jax", "pytorch"])
def test_jax_and_pytorch_print_the_matrix_form_for_any_size(lang):
    if lang == "jax":
        jax = pytest.importorskip("jax")
        was = jax.config.jax_enable_x64
        jax.config.update("jax_enable_x64", True)
    else:
        torch = pytest.importorskip("torch")
    # JAX compiles each op at each new shape (about a second a problem): a few problems
    # at a second size only; PyTorch: all of them at both sizes
    chosen = {"ridge", "hessian", "logistic", "relu"} if lang == "jax" else set(_problems(3))
    sizes = (5,) if lang == "jax" else (3, 5)
    problems = {n: _problems(n) for n in {3, *sizes}}
    try:
        for name, (f, wrt, order) in problems[3].items():
            if name not in chosen:
                continue
            code = sd.formula(f, wrt, lang=lang, order=order)
            # no element indexing (x[0], A[1, 2]); sizes (numpy.shape(A)[0], A.shape[0]) aside
            body = re.sub(r"shape(\([^)]*\))?\[\d+\]", "", code.split("\n", 1)[1])
            assert "for arrays of any size" in code and not re.search(r"\w\[\d", body), code
            ns: dict = {}
            exec(compile(code, f"<{name}>", "exec"), ns)
            fn = next(v for k, v in ns.items() if k.split("_")[0] in ("grad", "jac", "hess"))
            for n in sizes:      # the size the code was written at, and another
                g, w, o = problems[n][name]
                at = _values(g, n, n)
                ws = [w] if isinstance(w, sd.Node) else list(w)
                names = [v.name for v in ws] + sorted(set(at) - {v.name for v in ws})
                args = [at[k] if lang == "jax" else torch.tensor(at[k]) for k in names]
                if name == "logistic" and n != 3:   # the mean's 1/4 is a number in the code
                    with pytest.raises(ValueError, match="generated for a mean over 4"):
                        fn(*args)
                    continue
                got = fn(*args)
                got = [got] if isinstance(w, sd.Node) else list(got)
                for a, b in zip(got, _reference(g, w, o, at)):
                    np.testing.assert_allclose(np.asarray(a), b, rtol=1e-9, atol=1e-12,
                                               err_msg=f"{lang} {name} at n={n}")
    finally:
        if lang == "jax":
            jax.config.update("jax_enable_x64", was)
