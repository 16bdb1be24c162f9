"""Sparse (compressed) Hessians: structural patterns, colouring, and the compressed sweep.

``sd.hessian(f, x)`` of one variable finds the Hessian's structural nonzeros from the
graph (``symdiff.derivatives.sparsity.jacobian_pattern`` of the gradient graph), colours its rows and
runs the second reverse sweep on k colour-group seeds instead of the n x n identity, then
scatters the k compressed rows back. Checked here: the compressed Hessian against
``sympy.hessian``, the dense path and finite differences of the gradient; patterns of
graph families against hand-derived ones (structural, never numeric); the fallbacks; a
100k-node chain; and the ``scatter`` row in third derivatives.
"""
from __future__ import annotations

import numpy as np
import pytest
import sympy

import symdiff as sd
from numeric.primitives import Positions
from symdiff.graph.ops import scatter
from symdiff.derivatives.sparsity import PatternLimitExceeded, colour_rows, jacobian_pattern

RNG = np.random.default_rng(20240611)


def rosenbrock(x):
    return sd.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def tridiagonal(n):
    i = np.arange(n)
    return (np.abs(i[:, None] - i[None, :]) <= 1)


def fd_hessian(f, x, p, eps=1e-5):
    """Central differences of the reverse-mode gradient, one column per entry."""
    vg = sd.value_and_grad(f, [x])
    n = p.size
    out = np.empty((n, n))
    for j in range(n):
        e = np.zeros(n)
        e[j] = eps
        out[:, j] = (vg(x=p + e)[1][0] - vg(x=p - e)[1][0]) / (2 * eps)
    return out


# ---------------------------------------------------------------------------
# the compressed path gives the Hessian
# ---------------------------------------------------------------------------

def test_rosenbrock_n5_compressed_equals_sympy_hessian_exactly():
    n = 5
    x = sd.var("x", (n,))
    H = sd.hessian(rosenbrock(x), x, sparse=True)
    info = sd.hessian_info(H)
    assert info.path == "compressed" and info.colours == 3 and info.nnz == 3 * n - 2
    assert H.op == "scatter" and H.shape == (n, n)
    X = sympy.symbols(f"x0:{n}")
    f = sum(100 * (X[i + 1] - X[i] ** 2) ** 2 + (1 - X[i]) ** 2 for i in range(n - 1))
    V = sympy.IndexedBase("x")
    mine = sympy.Matrix(H.sympy(explicit=True).tolist()).xreplace({V[i]: X[i] for i in range(n)})
    assert sympy.expand(mine - sympy.hessian(f, X)) == sympy.zeros(n, n)
    # and numerically the same as the dense sweep
    dense = sd.hessian(rosenbrock(x), x, sparse=False)
    assert sd.hessian_info(dense).path == "dense"
    for p in (RNG.uniform(-1.5, 1.5, n), np.ones(n)):
        np.testing.assert_allclose(H.eval(x=p), dense.eval(x=p), rtol=1e-14, atol=0)


@pytest.mark.parametrize("n", [100, 1000])
def test_rosenbrock_compressed_equals_dense_and_finite_differences(n):
    x = sd.var("x", (n,))
    f = rosenbrock(x)
    H = sd.hessian(f, x)                      # the default picks the compressed path
    info = sd.hessian_info(H)
    assert (info.path, info.colours, info.nnz) == ("compressed", 3, 3 * n - 2)
    dense = sd.hessian(f, x, sparse=False)
    points = [RNG.uniform(-1.5, 1.5, n), np.ones(n), RNG.uniform(0, 2, n)]
    for k, p in enumerate(points):
        h = H.eval(x=p)
        assert h.shape == (n, n)
        np.testing.assert_allclose(h, dense.eval(x=p), rtol=1e-13, atol=1e-12)
        assert not np.any(h[~tridiagonal(n)])
        if n == 100 or k == 0:                # FD of 2n gradients: once for n = 1000
            np.testing.assert_allclose(h, fd_hessian(f, x, p), rtol=1e-6, atol=1e-4)


def test_compressed_hessian_of_an_array_variable_with_several_terms():
    """A 2-D variable, sums over an axis, a relu and a where: equal to the dense path."""
    X = sd.var("X", (6, 8))
    f = sd.sum(sd.sum(sd.tanh(X[:, 1:] * X[:, :-1]), axis=1) ** 2) \
        + sd.sum(sd.relu(X - 0.5) ** 3) + sd.sum(sd.where(X > 0, X ** 2, sd.exp(X)))
    H = sd.hessian(f, X)
    assert sd.hessian_info(H).path == "compressed" and H.shape == (6, 8, 6, 8)
    dense = sd.hessian(f, X, sparse=False)
    for _ in range(3):
        p = RNG.uniform(-1.5, 1.5, (6, 8))
        np.testing.assert_allclose(H.eval(X=p), dense.eval(X=p), rtol=1e-13, atol=1e-13)
    # each row of X only couples with itself: a block-diagonal pattern with 8x8 blocks
    flat = sd.hessian(f, X).eval(X=RNG.uniform(0.6, 1.5, (6, 8))).reshape(48, 48)
    rows = np.arange(48) // 8
    assert not np.any(flat[rows[:, None] != rows[None, :]])


def test_compressed_hessian_with_bound_values_and_context():
    """Tensors evaluate at once; eval accepts the function's other variables (ignored
    where the Hessian does not use them), as the dense path does."""
    n = 40
    x, s = sd.var("x", (n,)), sd.var("s")
    f = sd.sum(sd.sin(x[1:] * x[:-1])) + s * sd.sum(x)
    H = sd.hessian(f, x)
    assert sd.hessian_info(H).path == "compressed"
    p = RNG.uniform(-1, 1, n)
    np.testing.assert_allclose(H.eval(x=p, s=3.0), sd.hessian(f, x, sparse=False).eval(x=p, s=3.0),
                               rtol=1e-14, atol=1e-14)
    t = sd.tensor(p, name="t")
    Ht = sd.hessian(sd.sum(sd.sin(t[1:] * t[:-1])), t, sparse=True)
    np.testing.assert_allclose(Ht.data, H.eval(x=p, s=0.0), rtol=1e-14, atol=1e-14)


def test_linear_function_has_a_zero_hessian_on_the_compressed_path():
    x = sd.var("x", (50,))
    H = sd.hessian(sd.sum(x * 3.0) + 1.0, x)
    info = sd.hessian_info(H)
    assert info.path == "compressed" and info.nnz == 0 and info.colours == 0
    assert np.array_equal(H.eval(x=np.ones(50)), np.zeros((50, 50)))


# ---------------------------------------------------------------------------
# patterns: structural, by graph family
# ---------------------------------------------------------------------------

def pattern(f, x):
    return jacobian_pattern(f, x).to_dense()


def test_elementwise_chain_is_diagonal():
    x = sd.var("x", (7,))
    y = sd.sin(sd.exp(x) * 2.0) + x ** 2 - sd.sigmoid(x) / (x * x + 1.0)
    assert np.array_equal(pattern(y, x), np.eye(7, dtype=bool))


def test_broadcasting_and_new_axes():
    x = sd.var("x", (3,))
    outer = x[None, :] * x[:, None] + 1.0          # (3, 3): entry (a, b) on x[a] and x[b]
    got = pattern(outer, x).reshape(3, 3, 3)
    for a in range(3):
        for b in range(3):
            assert set(np.flatnonzero(got[a, b])) == {a, b}
    s = sd.var("s")
    assert pattern(x * s, s).all() and not pattern(x * s, x)[~np.eye(3, dtype=bool)].any()


def test_slices_and_shifts():
    x = sd.var("x", (8,))
    got = pattern(x[2:] - x[:-2] * 0.5, x)
    want = np.zeros((6, 8), dtype=bool)
    for i in range(6):
        want[i, [i, i + 2]] = True
    assert np.array_equal(got, want)
    assert np.array_equal(pattern(x[::-2], x), np.eye(8, dtype=bool)[::-2])


@pytest.mark.parametrize("fn", [sd.sum, sd.mean, sd.logsumexp])
def test_reductions_over_an_axis(fn):
    X = sd.var("X", (3, 4))
    by_row = pattern(fn(X * X, axis=1), X).reshape(3, 3, 4)
    for i in range(3):
        assert by_row[i, i].all() and not np.delete(by_row[i], i, axis=0).any()
    by_col = pattern(fn(X, axis=0, keepdims=True), X).reshape(4, 3, 4)
    for j in range(4):
        assert by_col[j, :, j].all() and by_col[j].sum() == 3
    assert pattern(fn(X), X).all()


def test_transpose_and_reshape_are_permutations():
    X = sd.var("X", (3, 4))
    got = pattern(sd.reshape(X.T, (2, 6)), X)
    want = np.zeros((12, 12), dtype=bool)
    ids = np.arange(12).reshape(3, 4).T.reshape(-1)
    want[np.arange(12), ids] = True
    assert np.array_equal(got, want)


def test_gradient_of_rosenbrock_is_tridiagonal():
    """Through the unindex and broadcast_to nodes of the gradient graph."""
    x = sd.var("x", (30,))
    g = sd.grad(rosenbrock(x), [x])[0]
    assert np.array_equal(pattern(g, x), tridiagonal(30))
    assert colour_rows(jacobian_pattern(g, x)).max() == 2


def test_matmul_is_dense_and_the_hessian_falls_back():
    n = 40
    x = sd.var("x", (n,))
    A = RNG.standard_normal((n, n))
    assert pattern(sd.const(A) @ x, x).all()
    f = sd.sum(sd.tanh(sd.const(A) @ x) ** 2)
    H = sd.hessian(f, x)
    info = sd.hessian_info(H)
    assert info.path == "dense" and "colours" in info.reason and info.nnz == n * n
    p = RNG.uniform(-1, 1, n)
    np.testing.assert_allclose(H.eval(x=p), fd_hessian(f, x, p), rtol=1e-6, atol=1e-6)


def test_relu_pattern_is_structural_not_numeric():
    """At a point where every relu is off the Hessian is 0, yet the pattern keeps the
    entries (it never looks at values), and the compressed Hessian is right on both sides
    of the kinks."""
    n = 40
    x = sd.var("x", (n,))
    f = sd.sum(sd.relu(x[1:] * x[:-1]) ** 2)
    g = sd.grad(f, [x])[0]
    assert np.array_equal(pattern(g, x), tridiagonal(n))
    H = sd.hessian(f, x)
    assert sd.hessian_info(H).path == "compressed"
    off = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)   # x[i] * x[i+1] < 0: every relu off
    assert not H.eval(x=off).any()
    on = RNG.uniform(0.5, 1.5, n)
    dense = sd.hessian(f, x, sparse=False)
    np.testing.assert_allclose(H.eval(x=on), dense.eval(x=on), rtol=1e-14, atol=0)
    np.testing.assert_allclose(H.eval(x=on), fd_hessian(f, x, on), rtol=1e-6, atol=1e-5)


def test_conditions_carry_no_derivative_but_both_branches_do():
    x = sd.var("x", (6,))
    y = sd.where(x[:-1] > x[1:], x[:-1], 2.0 * x[1:])
    want = np.zeros((5, 6), dtype=bool)
    for i in range(5):
        want[i, [i, i + 1]] = True
    assert np.array_equal(pattern(y, x), want)
    assert pattern(sd.where(x[::-1] > 0, 1.0, 0.0) * x, x).sum() == 6   # only x itself
    assert jacobian_pattern(x > 0, x).nnz == 0


def test_scatter_pattern_follows_its_params_and_adds_repeats():
    x = sd.var("x", (3,))
    y = scatter(x * 2.0, src=[0, 1, 2, 2], pos=[0, 0, 3, 1], shape=(2, 2))
    assert np.array_equal(pattern(y, x), np.array([[1, 1, 0], [0, 0, 1], [0, 0, 0],
                                                   [0, 0, 1]], dtype=bool))


def test_chain_of_100k_nodes_does_not_recurse():
    x = sd.var("x", (3,))
    y = x
    for i in range(100_000):
        y = sd.sin(y) if i % 2 else y * 0.5
    p = jacobian_pattern(y[1:] + y[:-1], x)
    assert p.nnz == 4 and p.rows.tolist() == [0, 0, 1, 1] and p.cols.tolist() == [0, 1, 1, 2]


# ---------------------------------------------------------------------------
# limits and fallbacks
# ---------------------------------------------------------------------------

def test_dense_pattern_falls_back_to_the_dense_sweep():
    n = 64
    x = sd.var("x", (n,))
    f = sd.sum(x) ** 2 + sd.sum(x ** 3)
    H = sd.hessian(f, x)
    info = sd.hessian_info(H)
    assert info.path == "dense" and info.colours == n and "more than 16 colours" in info.reason
    p = RNG.uniform(-1, 1, n)
    np.testing.assert_allclose(H.eval(x=p), 2.0 + np.diag(6 * p), rtol=1e-13)
    # sparse=True compresses anyway, with one colour per row, and agrees
    Hs = sd.hessian(f, x, sparse=True)
    assert sd.hessian_info(Hs).colours == n
    np.testing.assert_allclose(Hs.eval(x=p), H.eval(x=p), rtol=1e-13)


def test_budget_exceeded_gives_up_and_falls_back():
    x = sd.var("x", (50,))
    A = sd.const(RNG.standard_normal((50, 50)))
    with pytest.raises(PatternLimitExceeded, match="budget of 100"):
        jacobian_pattern(A @ x, x, max_nnz=100)
    big = sd.var("y", (400,))
    f = sd.sum(sd.exp(sd.const(RNG.standard_normal((400, 400))) @ big))
    info = sd.hessian_info(sd.hessian(f, big))
    assert info.path == "dense" and info.reason.startswith("no sparsity pattern")
    with pytest.raises(sd.SymdiffError, match="no sparsity pattern"):
        sd.hessian(f, big, sparse=True)


def test_small_variables_and_options():
    x = sd.var("x", (8,))
    f = sd.sum(sd.exp(x))
    assert sd.hessian_info(sd.hessian(f, x)).path == "dense"          # below MIN_SPARSE_SIZE
    assert sd.hessian_info(sd.hessian(f, x, sparse=True)).colours == 1
    with pytest.raises(sd.SymdiffError, match="one variable"):
        sd.hessian(f, [x], sparse=True)
    with pytest.raises(sd.SymdiffError, match="sparse must be"):
        sd.hessian(f, x, sparse="yes")
    assert sd.hessian_info(f) is None and sd.hessian_info(3.0) is None
    assert str(sd.hessian_info(sd.hessian(f, x, sparse=False))) == "dense: sparse=False"


def test_colouring_separates_rows_that_share_a_column():
    x = sd.var("x", (60,))
    g = sd.grad(sd.sum(sd.sin(x[3:] * x[:-3])) + sd.sum(x[1:] * x[:-1]), [x])[0]
    p = jacobian_pattern(g, x)
    colours = colour_rows(p)
    dense = p.to_dense()
    for c in range(colours.max() + 1):
        rows = dense[colours == c]
        assert rows.sum(axis=0).max() <= 1, c       # no column shared within a colour
    assert colours.max() + 1 <= 7                   # bandwidth 3: at most 2*3 + 1 colours
    assert colour_rows(p, max_colours=3) is None


# ---------------------------------------------------------------------------
# the scatter row in use
# ---------------------------------------------------------------------------

def test_third_derivatives_through_scatter_match_the_dense_path():
    """sd.jacobian of a compressed Hessian sends batched cotangents through scatter's
    adjoint (itself, src and pos swapped)."""
    n = 6
    x = sd.var("x", (n,))
    f = sd.sum(sd.exp(x[1:] * x[:-1])) + sd.sum(x ** 4)
    T = sd.jacobian(sd.hessian(f, x, sparse=True), x)
    Td = sd.jacobian(sd.hessian(f, x, sparse=False), x)
    p = RNG.uniform(-1, 1, n)
    assert T.shape == (n, n, n)
    np.testing.assert_allclose(T.eval(x=p), Td.eval(x=p), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(T.eval(x=p), np.swapaxes(T.eval(x=p), 0, 2), rtol=1e-13,
                               atol=1e-13)


def test_positions_params_compare_by_value_and_lower_once():
    a, b = Positions([1, 2, 3]), Positions(np.array([1, 2, 3]))
    assert a == b and hash(a) == hash(b) and a != Positions([1, 2]) and len(a) == 3
    with pytest.raises(ValueError):
        a.array[0] = 7                                  # read-only
    x = sd.var("x", (3,))
    y = scatter(x, [0, 1, 2], [2, 1, 0], (3,)) + scatter(x, [0, 1, 2], [2, 1, 0], (3,))
    from symdiff.lowering.lower import lower
    assert len(lower(y).program._forward) <= 2          # the two equal scatters fold
    assert y.eval(x=[1.0, 2.0, 3.0]).tolist() == [6.0, 4.0, 2.0]


def test_teaching_output_and_closed_forms_of_a_compressed_hessian():
    x = sd.var("x", (5,))
    H = sd.hessian(rosenbrock(x), x, sparse=True)
    at = {"x": np.ones(5)}
    assert "= scatter(" in sd.to_dot(sd.sum(H * H), at=at)
    assert "scatter(" in sd.explain(sd.sum(H * H), at=at)
    assert "op='scatter'" in repr(H)
    with pytest.raises(sd.ClosedFormError, match="explicit=True"):
        H.sympy()       # no matrix expression for a scatter; the element form above works
