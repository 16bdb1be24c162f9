"""sd.verify's cheap exact steps (checking.proofs): small matrix claims proven in well
under a second, the step named in the report, nothing wrong ever proven."""
import time

import pytest

import symdiff as sd
from symdiff.checking.proofs import fast_proof
from symdiff.graph.claims import parse_claim

X, A, B = sd.var("X", (3, 3)), sd.var("A", (3, 3)), sd.var("B", (3, 3))
Y, M = sd.var("Y", (3, 2)), sd.var("M", (2, 3))
x, a, b, c = sd.var("x", (3,)), sd.var("a", (3,)), sd.var("b", (3,)), sd.var("c", (2,))

CASES = [
    (a @ X @ b, X, "a*b.T"),
    (x @ A @ x, x, "(A + A.T)*x"),
    (sd.trace(A @ X), X, "A.T"),
    (sd.trace(X.T @ A @ X), X, "A*X + A.T*X"),
    (sd.det(X), X, "Determinant(X)*X.T**(-1)"),
    (sd.log(sd.abs(sd.det(X))), X, "X.T**(-1)"),
    (sd.det(Y.T @ B @ Y), Y,
     "Determinant(Y.T*B*Y)*(B*Y*(Y.T*B*Y)**(-1) + B.T*Y*(Y.T*B.T*Y)**(-1))"),
    (sd.trace(sd.inv(X)), X, "-(X**(-2)).T"),
    (sd.sum((M @ x - c) ** 2), x, "2*M.T*(M*x - c)"),
    (a @ sd.inv(X) @ b, X, "-X.T**(-1)*a*b.T*X.T**(-1)"),
]


@pytest.mark.parametrize("f, w, claim", CASES)
def test_small_matrix_claims_are_proven_fast(f, w, claim):
    start = time.monotonic()
    r = sd.verify(f, {w: claim})
    took = time.monotonic() - start
    assert r.ok, str(r)
    assert r.how[w.name].startswith("proven by SymPy: "), r.how
    assert f"verified ({r.how[w.name]}, " in str(r)
    assert took < 2.0, took       # well under a second alone; slack for a loaded machine


def test_the_textbook_det_gradient_is_matrix_algebra():
    claim = parse_claim("Determinant(Y.T*B*Y)*(B*Y*(Y.T*B*Y)**(-1) + B.T*Y*(Y.T*B.T*Y)**(-1))",
                        {"Y": Y, "B": B}, wrt=Y)
    assert fast_proof(claim, sd.diff(sd.det(Y.T @ B @ Y), Y)) == "matrix algebra"


@pytest.mark.parametrize("f, w, claim", [
    (a @ X @ b, X, "b*a.T"),                          # the transpose of the right one
    (sd.log(sd.abs(sd.det(X))), X, "X**(-1)"),
    (sd.trace(X.T @ A @ X), X, "2*A*X"),              # right only for symmetric A
    (sd.det(X), X, "Determinant(X)*X**(-1)"),
])
def test_wrong_claims_are_never_proven(f, w, claim):
    node = parse_claim(claim, {n.name: n for n in (X, A, a, b)}, wrt=w)
    assert fast_proof(node, sd.diff(f, w)) is None
    assert not sd.verify(f, {w: claim}).ok


def test_rounding_is_left_to_the_full_path():
    s = sd.var("s")
    assert fast_proof(2 * s + 1e-15, sd.diff(s ** 2, s)) is None
    assert fast_proof(0.5 * s ** 2, sd.diff(s ** 3 / 6, s)) == "same form"
    assert sd.verify(s ** 2, {"s": "2*s + 1e-15"}).how["s"] == "equal to rounding"


def test_a_scalar_identity_needs_simplify():
    s = sd.var("s")
    r = sd.verify(sd.sin(s) ** 2, {"s": "sin(2*s)"})
    assert r.ok and r.how["s"] == "proven by SymPy: simplify"
