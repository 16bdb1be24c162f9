"""det's gradient is the cofactor matrix adj(X)^T: defined at singular matrices too.

Regression (issue: hardening, finding 5): at a singular X the gradient of det was nan
from ``value_and_grad``, ``.backward()`` and ``sd.grad`` (it was computed as
det(X) X^-T = 0 * inf); ``sd.check`` then failed naming no problem, and ``sd.verify`` of a
right claim said "inv is outside its domain" though f has no inv. Now the ``cofactor`` row
computes it (through the SVD: products of singular values, no division), and its own
derivative (det's Hessian) is exact there too.
"""
from __future__ import annotations

import numpy as np
import pytest

import symdiff as sd
from numeric import PRIMITIVES


def cofactors(m: np.ndarray) -> np.ndarray:
    """The cofactor matrix by its definition: signed minors."""
    n = m.shape[0]
    out = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            minor = np.delete(np.delete(m, i, 0), j, 1)
            out[i, j] = (-1) ** (i + j) * (np.linalg.det(minor) if n > 1 else 1.0)
    return out


def det_hessian(m: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """d cof(X) / dX by central differences of the exact cofactors (a polynomial)."""
    n = m.shape[0]
    H = np.zeros((n, n, n, n))
    for i in range(n):
        for j in range(n):
            e = np.zeros((n, n))
            e[i, j] = eps
            H[:, :, i, j] = (cofactors(m + e) - cofactors(m - e)) / (2 * eps)
    return H


RNG = np.random.default_rng(5)
SINGULAR = {
    "2x2 rank 1": np.array([[1.0, 2.0], [2.0, 4.0]]),
    "3x3 rank 2": np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]),
    "3x3 rank 1": np.outer([1.0, -2.0, 0.5], [3.0, 1.0, -1.0]),
    "zero 3x3": np.zeros((3, 3)),
    "zero 1x1": np.zeros((1, 1)),
    "4x4 rank 2": RNG.standard_normal((4, 2)) @ RNG.standard_normal((2, 4)),
    "invertible": np.eye(3) * 1.5 + RNG.uniform(-0.4, 0.4, (3, 3)),
}


@pytest.mark.parametrize("name", sorted(SINGULAR))
def test_gradient_is_the_cofactor_matrix_every_way(name):
    A = SINGULAR[name]
    n = A.shape[0]
    X = sd.var("X", (n, n))
    want = cofactors(A)
    value, grad = sd.value_and_grad(sd.det(X), X)(X=A)
    np.testing.assert_allclose(grad, want, atol=1e-12)
    t = sd.tensor(A, requires_grad=True)
    sd.det(t).backward()
    np.testing.assert_allclose(t.grad, want, atol=1e-12)
    g = sd.grad(sd.det(X), [X])[0]
    assert "inv" not in {m.op for m in g.nodes()}
    np.testing.assert_allclose(g.eval(X=A), want, atol=1e-12)
    report = sd.check(sd.det(X), at={"X": A})
    assert report.ok and not report.problems, str(report)


@pytest.mark.parametrize("name", sorted(SINGULAR))
def test_second_derivative_is_exact_at_singular_matrices(name):
    A = SINGULAR[name]
    n = A.shape[0]
    X = sd.var("X", (n, n))
    want = det_hessian(A)
    np.testing.assert_allclose(sd.hessian(sd.det(X), X).eval(X=A), want, atol=1e-6)
    # the numeric VJP of the cofactor row, through value_and_grad of a derivative graph
    G = RNG.standard_normal((n, n))
    f = sd.sum(sd.grad(sd.det(X), [X])[0] * sd.const(G))
    _, grad = sd.value_and_grad(f, X)(X=A)
    np.testing.assert_allclose(grad, np.einsum("ij,ijkl->kl", G, want), atol=1e-6)
    assert sd.check(f, at={"X": A}).ok


def test_printed_forms_are_unchanged():
    A = sd.var("A", (3, 3))
    assert str(sd.diff(sd.det(A), A).sympy()) == "Determinant(A)*A.T**(-1)"
    assert str(sd.diff(sd.log(sd.det(A)), A).sympy()) == "A.T**(-1)"
    assert str(sd.diff(2 * sd.det(A), A).sympy()) == "2*Determinant(A)*A.T**(-1)"
    X = sd.var("X", (2, 2))
    assert str(sd.diff(sd.det(X), X).sympy(explicit=True)) == \
        "[[X[1, 1], -X[1, 0]], [-X[0, 1], X[0, 0]]]"


def test_verify_at_a_singular_matrix_names_no_inv_of_symdiffs():
    X = sd.var("X", (2, 2))
    A = SINGULAR["2x2 rank 1"]
    claim = "Matrix([[X[1, 1], -X[1, 0]], [-X[0, 1], X[0, 0]]])"
    r = sd.verify(sd.det(X), {X: claim}, at={"X": A})
    assert r.ok, str(r)
    assert "inv" not in str(r)


def test_logdet_at_a_singular_matrix_is_named():
    X = sd.var("X", (2, 2))
    report = sd.check(sd.logdet(X), at={"X": SINGULAR["2x2 rank 1"]})
    assert not report.ok
    assert report.problems and report.problems[0].startswith("logdet outside its domain")


def test_cofactor_row_at_singular_and_stacked_matrices():
    row = PRIMITIVES["cofactor"]
    stack = np.stack([SINGULAR["3x3 rank 2"], SINGULAR["3x3 rank 1"], np.zeros((3, 3)),
                      SINGULAR["invertible"]])
    np.testing.assert_allclose(row.forward(stack), [cofactors(m) for m in stack], atol=1e-12)
    np.testing.assert_allclose(row.complex_forward(stack), [cofactors(m) for m in stack],
                               atol=1e-12)
    G = RNG.standard_normal(stack.shape)
    got = row.vjp[0](G, None, stack)
    for m, g, c in zip(stack, G, got):
        np.testing.assert_allclose(c, np.einsum("ij,ijkl->kl", g, det_hessian(m)), atol=1e-6)
    # nan in, nan out (the SVD would refuse it), and empty matrices
    assert np.isnan(row.forward(np.full((2, 2), np.nan))).all()
    assert row.forward(np.zeros((0, 0))).shape == (0, 0)


def test_det_gradient_matches_torch_next_to_singular_matrices():
    """torch agrees a hair away from singular matrices. At exactly singular ones the
    torch build of this project's machines (2.13, CPU) returns 0 for det's gradient,
    which is wrong (d det / dX at [[1, 2], [2, 4]] is [[4, -2], [-2, 1]]: det([[1 + h, 2],
    [2, 4]]) = 4h); symdiff is held to the cofactors there, above."""
    t = pytest.importorskip("torch", reason="optional oracle: pip install -e '.[torch]'")
    for name, A in SINGULAR.items():
        A = A + 1e-7 * np.eye(A.shape[0])
        a = t.tensor(A, dtype=t.float64, requires_grad=True)
        (tg,) = t.autograd.grad(t.linalg.det(a), a)
        X = sd.var("X", A.shape)
        _, g = sd.value_and_grad(sd.det(X), X)(X=A)
        np.testing.assert_allclose(g, tg.numpy(), rtol=1e-6, atol=1e-9, err_msg=name)
        np.testing.assert_allclose(g, cofactors(A), rtol=1e-6, atol=1e-9, err_msg=name)
