"""The contraction, linear-algebra and indexing functions as users call them: ``sd.einsum``,
``tensordot``, ``outer``, ``inner``, ``solve``, ``slogdet``, ``cholesky``, ``norm`` (numpy's
``ord``/``axis``/``keepdims``), integer-array indexing (``p[np.arange(n), y]``), and the numpy
functions mapped to them (``symdiff.graph.numpy_api``): values against numpy, gradients
against PyTorch, closed forms as a textbook prints them, and a softmax cross-entropy with
integer labels against ``torch.nn.functional.cross_entropy``. The rows themselves are
swept by the table tests (tests/table)."""
from __future__ import annotations

import numpy as np
import pytest
import sympy

import symdiff as sd
from symdiff.graph.numpy_api import FUNCTIONS

RNG = np.random.default_rng(14)


def _torch():
    return pytest.importorskip("torch", reason="optional oracle: pip install -e '.[torch]'")


def _grads_match_torch(f_sd, f_torch, shapes: dict, draw=None) -> None:
    """Value and reverse-mode gradient of ``f_sd`` (on variables) and ``f_torch`` (on
    float64 tensors) agree at a random point; ``sd.grad``'s symbolic graphs too."""
    t = _torch()
    point = {k: (draw(k, s) if draw else RNG.uniform(-2, 2, size=s)) for k, s in shapes.items()}
    xs = {k: sd.var(k, s) for k, s in shapes.items()}
    f = f_sd(**xs)
    names = sorted(shapes)
    value, grads = sd.value_and_grad(f, [xs[k] for k in names])(point)
    ts = {k: t.tensor(point[k], dtype=t.float64, requires_grad=True) for k in names}
    out = f_torch(t, **ts)
    tg = t.autograd.grad(out, [ts[k] for k in names], allow_unused=True)
    np.testing.assert_allclose(value, out.detach().numpy(), rtol=1e-10, atol=1e-12)
    symbolic = sd.grad(f, [xs[k] for k in names])
    for k, g, tgk, s in zip(names, grads, tg, symbolic):
        want = np.zeros(shapes[k]) if tgk is None else tgk.numpy()
        np.testing.assert_allclose(g, want, rtol=1e-9, atol=1e-11, err_msg=k)
        np.testing.assert_allclose(s.eval({n: point[n] for n in names}), want, rtol=1e-9,
                                   atol=1e-11, err_msg=f"sd.grad {k}")


# ---------------------------------------------------------------------------
# einsum and friends
# ---------------------------------------------------------------------------

EINSUM_CASES = [("ij,jk->ik", [(3, 2), (2, 4)]), ("bij,bjk->bik", [(4, 3, 2), (4, 2, 3)]),
                ("ii->", [(3, 3)]), ("i,j->ij", [(3,), (4,)]), ("ij,ij->i", [(3, 4), (3, 4)]),
                ("ij->ji", [(2, 3)]), ("ij->i", [(2, 3)]), ("ij,jk", [(3, 2), (2, 4)]),
                ("...ij,...jk->...ik", [(5, 3, 2), (5, 2, 2)]), ("ii->i", [(3, 3)]),
                ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]), ("i,i", [(3,), (3,)]),
                ("bi,bi->b", [(4, 3), (4, 3)]), ("ij,k->ijk", [(2, 2), (3,)])]


@pytest.mark.parametrize("sub,shapes", EINSUM_CASES, ids=[c[0] for c in EINSUM_CASES])
def test_einsum_matches_numpy_and_torch(sub, shapes):
    names = [f"x{k}" for k in range(len(shapes))]
    xs = [RNG.standard_normal(s) for s in shapes]
    got = sd.einsum(sub, *[sd.tensor(x) for x in xs]).data
    np.testing.assert_allclose(got, np.einsum(sub, *xs), rtol=1e-12, atol=1e-12)
    _grads_match_torch(lambda **v: sd.sum(sd.sin(sd.einsum(sub, *[v[n] for n in names]))),
                       lambda t, **v: t.einsum(sub, *[v[n] for n in names]).sin().sum(),
                       dict(zip(names, shapes)))


def test_einsum_closed_forms_are_textbook_matrix_notation():
    A, B, C = sd.var("A", (2, 3)), sd.var("B", (3, 4)), sd.var("C", (3, 4))
    a, b, M = sd.var("a", (3,)), sd.var("b", (3,)), sd.var("M", (3, 3))
    assert str(sd.einsum("ij,jk->ik", A, B).sympy()) == "A*B"
    assert str(sd.einsum("ij,jk->ki", A, B).sympy()) == "B.T*A.T"
    assert str(sd.einsum("i,j->ij", a, b).sympy()) == "a*b.T"
    assert str(sd.einsum("ii->", M).sympy()) == "Trace(M)"
    assert str(sd.einsum("ij,ij->", B, C).sympy()) == "Trace(B.T*C)"
    assert str(sd.einsum("ij,ij->i", B, C).sympy()) == "HadamardProduct(B, C)*1"
    assert str(sd.tensordot(A, B, axes=1).sympy()) == "A*B"
    assert str(sd.outer(a, b).sympy()) == "a*b.T"
    assert str(sd.inner(a, b).sympy()) == "(a.T*b)[0, 0]"
    # the gradient of a bilinear form is an einsum, printed as matrices
    g = sd.grad(sd.einsum("i,ij,j->", a, M, b), [M])[0]
    assert str(g.sympy()) == "a*b.T"
    # a batched product has no matrix notation: refused, pointing to explicit=True
    with pytest.raises(sd.ClosedFormError, match="explicit=True"):
        sd.einsum("bij,bjk->bik", sd.var("P", (2, 2, 2)), sd.var("Q", (2, 2, 2))).sympy()


def test_tensordot_outer_inner_dot_vdot_match_numpy():
    a, b = RNG.standard_normal((2, 3, 4)), RNG.standard_normal((4, 3, 5))
    u, w = RNG.standard_normal((2, 3)), RNG.standard_normal((4, 3))
    cases = [(np.tensordot, (a, b), {"axes": ([1, 2], [1, 0])}), (np.tensordot, (u, u), {}),
             (np.tensordot, (u, w.T), {"axes": 1}), (np.outer, (u, w), {}),
             (np.inner, (u, w), {}), (np.inner, (u, 2.0), {}), (np.dot, (u, w.T), {}),
             (np.dot, (u[0], u[1]), {}), (np.dot, (a, b[:, 0, :]), {}), (np.dot, (3.0, u), {}),
             (np.vdot, (u, u), {}), (np.einsum, ("ij,kj->ik", u, w), {})]
    for fn, args, kw in cases:
        nodes = [sd.tensor(x) if isinstance(x, np.ndarray) else x for x in args]
        got = FUNCTIONS[fn](*nodes, **kw)
        np.testing.assert_allclose(got.data, fn(*args, **kw), rtol=1e-12, atol=1e-12,
                                   err_msg=fn.__name__)


# ---------------------------------------------------------------------------
# solve, slogdet, cholesky
# ---------------------------------------------------------------------------

def _well_conditioned(name, shape):
    if len(shape) == 2 and shape[0] == shape[1]:
        return np.eye(shape[0]) * 1.5 + RNG.uniform(-0.4, 0.4, size=shape)
    return RNG.uniform(-2, 2, size=shape)


@pytest.mark.parametrize("bshape", [(3,), (3, 2)])
def test_solve_value_gradient_and_closed_form(bshape):
    A0, b0 = _well_conditioned("A", (3, 3)), RNG.standard_normal(bshape)
    np.testing.assert_allclose(sd.solve(sd.tensor(A0), sd.tensor(b0)).data,
                               np.linalg.solve(A0, b0), rtol=1e-12)
    _grads_match_torch(lambda A, b: sd.sum(sd.solve(A, b) ** 2),
                       lambda t, A, b: (t.linalg.solve(A, b) ** 2).sum(),
                       {"A": (3, 3), "b": bshape}, draw=_well_conditioned)
    A, b = sd.var("A", (3, 3)), sd.var("b", bshape)
    x = sd.solve(A, b)
    assert str(x.sympy()) == "A**(-1)*b"
    # the Jacobian (batched cotangents through the adjoint's solves with Aᵀ)
    J = sd.jacobian(x, A).eval(A=A0, b=b0)
    eps, want = 1e-6, np.zeros(x.shape + (3, 3))
    for i in range(3):
        for j in range(3):
            d = np.zeros((3, 3))
            d[i, j] = eps
            want[..., i, j] = (np.linalg.solve(A0 + d, b0) - np.linalg.solve(A0 - d, b0)) / (2 * eps)
    np.testing.assert_allclose(J, want, rtol=1e-6, atol=1e-8)
    # singular: nan, reported by check as outside the domain
    assert np.isnan(sd.solve(sd.tensor(np.ones((3, 3))), sd.tensor(b0)).data).all()


def test_slogdet_sign_has_no_gradient_and_logabsdet_matches_torch():
    A0 = np.array([[-2.0, 0.3], [0.1, 1.0]])
    sign, logabs = sd.slogdet(sd.tensor(A0))
    ns, nl = np.linalg.slogdet(A0)
    assert sign.item() == ns == -1.0 and abs(logabs.item() - nl) < 1e-14
    assert FUNCTIONS[np.linalg.slogdet](sd.tensor(A0)).logabsdet.item() == logabs.item()
    A = sd.var("A", (2, 2))
    s, l_ = sd.slogdet(A)
    assert not np.any(sd.grad(s * 1.0, [A])[0].eval(A=A0))       # sign: no gradient
    assert str(l_.sympy()) == "log(Abs(Determinant(A)))"
    flip = lambda name, shape: np.diag([1.0, -1.0]) @ _well_conditioned(name, shape)  # noqa: E731
    _grads_match_torch(lambda A: sd.slogdet(A).logabsdet,
                       lambda t, A: t.linalg.slogdet(A)[1], {"A": (2, 2)}, draw=flip)


def _spd(name, shape):
    c = np.eye(shape[0]) + RNG.uniform(-0.3, 0.3, size=shape)
    return c @ c.T + 0.5 * np.eye(shape[0])


def test_cholesky_value_gradient_and_closed_forms():
    S0 = _spd("S", (3, 3))
    L = sd.cholesky(sd.tensor(S0))
    np.testing.assert_allclose(L.data, np.linalg.cholesky(S0), rtol=1e-12)
    np.testing.assert_allclose(sd.cholesky(sd.tensor(S0), upper=True).data,
                               np.linalg.cholesky(S0).T, rtol=1e-12)
    np.testing.assert_allclose(FUNCTIONS[np.linalg.cholesky](sd.tensor(S0), upper=True).data,
                               np.linalg.cholesky(S0, upper=True), rtol=1e-12)
    W = RNG.standard_normal((3, 3))
    _grads_match_torch(lambda S: sd.sum(sd.cholesky(S) * sd.const(W)),
                       lambda t, S: (t.linalg.cholesky(S) * t.tensor(W)).sum(),
                       {"S": (3, 3)}, draw=_spd)
    S = sd.var("S", (2, 2))
    with pytest.raises(sd.ClosedFormError, match="explicit=True"):
        sd.cholesky(S).sympy()
    e = sd.cholesky(S).sympy(explicit=True)
    assert e[0, 0] == sympy.sqrt(sympy.IndexedBase("S")[0, 0]) and e[0, 1] == 0
    # the log-determinant through its factor: 2 sum(log(diag(L))), gradient S^-1
    logdet = 2 * sd.sum(sd.log(sd.einsum("ii->i", sd.cholesky(S))))
    S1 = _spd("S", (2, 2))
    np.testing.assert_allclose(sd.grad(logdet, [S])[0].eval(S=S1), np.linalg.inv(S1),
                               rtol=1e-10)


# ---------------------------------------------------------------------------
# norms
# ---------------------------------------------------------------------------

NORMS = [({}, (4,)), ({"ord": 1}, (4,)), ({"ord": np.inf}, (4,)), ({"ord": -np.inf}, (4,)),
         ({"ord": 3}, (4,)), ({"ord": 0.5}, (4,)), ({}, (3, 4)), ({"ord": "fro"}, (3, 4)),
         ({"ord": 1}, (3, 4)), ({"ord": -1}, (3, 4)), ({"ord": np.inf}, (3, 4)),
         ({"ord": -np.inf}, (3, 4)), ({"axis": 1}, (3, 4)), ({"ord": 1, "axis": 0}, (3, 4)),
         ({"ord": np.inf, "axis": -1, "keepdims": True}, (3, 4)),
         ({"axis": (0, 2)}, (2, 3, 4)), ({"ord": 1, "axis": (2, 0), "keepdims": True}, (2, 3, 4)),
         ({}, (2, 3, 4)), ({"keepdims": True}, (3, 4))]


@pytest.mark.parametrize("kw,shape", NORMS, ids=[f"{k}-{s}" for k, s in NORMS])
def test_norm_matches_numpy_and_torch(kw, shape):
    x0 = RNG.standard_normal(shape)
    np.testing.assert_allclose(sd.norm(sd.tensor(x0), **kw).data, np.linalg.norm(x0, **kw),
                               rtol=1e-12)
    np.testing.assert_allclose(FUNCTIONS[np.linalg.norm](sd.tensor(x0), **kw).data,
                               np.linalg.norm(x0, **kw), rtol=1e-12)

    def torch_norm(t, x):
        o = kw.get("ord")
        if o == "fro" or (o is None and (len(shape) <= 2 or "axis" in kw)):
            o = None
        axis = kw.get("axis")
        if x.dim() == 2 and axis is None and o is not None:
            return t.linalg.matrix_norm(x, ord=o, keepdim=kw.get("keepdims", False)).sum()
        if isinstance(axis, tuple) and o not in (None, 2):
            return t.linalg.matrix_norm(x, ord=o, dim=axis, keepdim=kw.get("keepdims", False)).sum()
        return t.linalg.vector_norm(x, ord=2 if o is None else o, dim=axis,
                                    keepdim=kw.get("keepdims", False)).sum()

    _grads_match_torch(lambda x: sd.sum(sd.norm(x, **kw)), torch_norm, {"x": shape})


def test_norm_conventions_at_kinks():
    v = sd.var("v", (4,))
    at = {"v": np.array([3.0, -3.0, 1.0, 0.0])}
    for order, want in [(np.inf, [0.5, -0.5, 0.0, 0.0]), (1, [1.0, -1.0, 1.0, 0.0]),
                        (-np.inf, [0.0, 0.0, 0.0, 0.0])]:
        f = sd.norm(v, ord=order)
        _, (g,) = sd.value_and_grad(f, [v])(at)
        np.testing.assert_array_equal(g, want)
        np.testing.assert_array_equal(sd.grad(f, [v])[0].eval(at), want)
    # today's behaviour kept: sd.norm(x) and sd.norm(x, ord=1)
    assert sd.norm(sd.tensor([3.0, 4.0])).item() == 5.0
    assert sd.norm(sd.tensor([3.0, -4.0]), ord=1).item() == 7.0
    with pytest.raises(sd.UnsupportedError, match="nuc"):
        sd.norm(sd.var("A", (2, 2)), "nuc")


# ---------------------------------------------------------------------------
# integer-array indexing (gather) and its adjoint (scatter-add)
# ---------------------------------------------------------------------------

def test_integer_array_indexing_matches_numpy():
    p0 = RNG.standard_normal((4, 3))
    p = sd.tensor(p0)
    y = np.array([2, 0, 1, 2])
    keys = [(np.arange(4), y), ([1, 1, 3],), (slice(None), [2, 0]), (np.array([[0, 1], [3, 3]]),),
            ([-1, 0], 1), (p0 > 0,), (Ellipsis, [0]), (np.array(2), [0, 2])]
    for key in keys:
        np.testing.assert_array_equal(p[key].data, p0[key])
    np.testing.assert_array_equal(FUNCTIONS[np.take](p, [5, 0, 5]).data, np.take(p0, [5, 0, 5]))
    np.testing.assert_array_equal(FUNCTIONS[np.take](p, [2, 0], axis=1).data,
                                  np.take(p0, [2, 0], axis=1))
    idx = y[:, None]
    np.testing.assert_array_equal(FUNCTIONS[np.take_along_axis](p, idx, 1).data,
                                  np.take_along_axis(p0, idx, 1))
    m = sd.tensor(RNG.standard_normal((3, 4)))
    for kw in [{}, {"offset": 1}, {"offset": -1}]:
        np.testing.assert_allclose(FUNCTIONS[np.trace](m, **kw).data, np.trace(m.data, **kw))


def test_gather_gradient_adds_up_repeated_indices():
    x = sd.var("x", (4,))
    f = sd.sum(x[[0, 2, 2, 2]] * sd.const([1.0, 2.0, 3.0, 4.0]))
    _, (g,) = sd.value_and_grad(f, [x])({"x": np.zeros(4)})
    np.testing.assert_array_equal(g, [1.0, 0.0, 9.0, 0.0])
    np.testing.assert_array_equal(sd.grad(f, [x])[0].eval(x=np.zeros(4)), [1.0, 0.0, 9.0, 0.0])
    # second derivatives through the scatter (sparse Hessian path included)
    h = sd.sum(x[[1, 1, 3]] ** 3)
    x0 = np.array([0.5, -1.0, 2.0, 0.25])
    H = sd.hessian(h, x, sparse=True).eval(x=x0)
    np.testing.assert_allclose(H, np.diag([0.0, 2 * 6 * -1.0, 0.0, 6 * 0.25]))
    assert sd.check(h, at={"x": x0}).ok
    e = x[[2, 0]].sympy(explicit=True)
    assert list(e) == [sympy.IndexedBase("x")[2], sympy.IndexedBase("x")[0]]


def test_boolean_masks_and_unsupported_indices():
    p = sd.var("p", (2, 3))
    mask = np.array([[True, False, True], [False, False, True]])
    assert p[mask].shape == (3,) and p[mask].op == "gather"
    with pytest.raises(sd.ShapeError, match="sd.where"):
        p[p > 0]
    with pytest.raises(sd.UnsupportedError, match="out="):
        FUNCTIONS[np.einsum]("ij->", p, out=np.zeros(()))
    with pytest.raises(sd.UnsupportedError, match="mode='clip'"):
        FUNCTIONS[np.take](p, [0], mode="clip")
    names = sd.supported_numpy()
    for n in ["numpy.einsum", "numpy.tensordot", "numpy.outer", "numpy.inner", "numpy.dot",
              "numpy.vdot", "numpy.linalg.solve", "numpy.linalg.slogdet", "numpy.linalg.cholesky",
              "numpy.linalg.norm", "numpy.linalg.det", "numpy.linalg.inv", "numpy.trace",
              "numpy.take", "numpy.take_along_axis"]:
        assert n in names, n


def _log_softmax(z):
    return z - sd.logsumexp(z, axis=1, keepdims=True)


def test_softmax_cross_entropy_with_integer_labels_matches_torch():
    """-mean(log_softmax(z)[arange(n), y]): value, reverse mode and sd.grad's graph
    against torch's cross_entropy; the gradient is (softmax(z) - onehot(y)) / n."""
    t = _torch()
    n, k = 5, 4
    y = np.array([3, 0, 0, 2, 1])
    z = sd.var("z", (n, k))
    f = -sd.mean(_log_softmax(z)[np.arange(n), y])
    z0 = RNG.standard_normal((n, k)) * 2
    zt = t.tensor(z0, requires_grad=True)
    loss = t.nn.functional.cross_entropy(zt, t.tensor(y))
    (gt,) = t.autograd.grad(loss, [zt])
    value, (g,) = sd.value_and_grad(f, [z])({"z": z0})
    assert abs(value - loss.item()) < 1e-12
    np.testing.assert_allclose(g, gt.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(sd.grad(f, [z])[0].eval(z=z0), gt.numpy(), rtol=1e-10,
                               atol=1e-14)
    soft = np.exp(z0) / np.exp(z0).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(g, (soft - np.eye(k)[y]) / n, rtol=1e-10, atol=1e-14)
    assert sd.check(f, at={"z": z0}).ok
    # the same loss through take_along_axis
    picked = FUNCTIONS[np.take_along_axis](_log_softmax(z), y[:, None], 1)
    f2 = -sd.mean(picked)
    np.testing.assert_allclose(sd.value_and_grad(f2, [z])({"z": z0})[1][0], gt.numpy(),
                               rtol=1e-10, atol=1e-14)
