"""sd.verify: hand-derived gradients against symdiff's, with real counterexamples.

Every wrong claim must come with a point where the claim and the truth really differ
(checked here by evaluating both independently, with numpy), inside f's domain; every
right claim must verify with a symbolic difference of 0; printed formulas must read back.
"""
import numpy as np
import pytest
import sympy

import numeric
import symdiff as sd
from symdiff.checking.verify import VerifyReport, verify


def value(node, point):
    """A node's value at a point that may name more variables than the node uses."""
    names = {n.name for n in node.nodes() if n.op == "var"}
    return np.asarray(node.eval({k: v for k, v in point.items() if k in names}))


def assert_real_counterexample(r, f, name, claim_fn, truth_fn):
    """The claim and the truth differ at r.counterexample, computed independently."""
    assert not r.ok and r.status == "wrong"
    assert name in r.wrong
    point = r.counterexample
    assert point is not None
    assert np.isfinite(value(f, point))                   # inside f's domain
    claim, truth = np.asarray(claim_fn(**point)), np.asarray(truth_fn(**point))
    assert not np.allclose(claim, truth, rtol=1e-6, atol=1e-9), (claim, truth)
    # the report's numbers are the same ones
    np.testing.assert_allclose(value(r.claims[name], point), claim, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(value(r.truth[name], point), truth, rtol=1e-9, atol=1e-12)
    assert r.entries and all(e.variable in r.wrong for e in r.entries)
    assert r.fd_error is not None and r.fd_error < 1e-4


# ---------------------------------------------------------------------------
# the three acceptance examples
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("claim,fn", [
    ("cos(x**2)", lambda x: np.cos(x**2)),
    ("2*cos(x**2)", lambda x: 2 * np.cos(x**2)),
    ("2*x*sin(x**2)", lambda x: 2 * x * np.sin(x**2)),
    ("-2*x*cos(x**2)", lambda x: -2 * x * np.cos(x**2)),
    ("x*cos(x**2)", lambda x: x * np.cos(x**2)),
])
def test_wrong_derivatives_of_sin_x_squared_have_counterexamples(claim, fn):
    x = sd.var("x")
    f = sd.sin(x**2)
    r = verify(f, {"x": claim})
    assert_real_counterexample(r, f, "x", fn, lambda x: 2 * x * np.cos(x**2))
    assert r.difference["x"] != 0 and r.proven["x"] is False


def test_right_derivative_of_sin_x_squared_verifies_with_difference_zero():
    x = sd.var("x")
    for claim in ("2*x*cos(x**2)", "cos(x**2)*x*2", "2*x*cos(x*x)"):
        r = verify(sd.sin(x**2), {"x": claim})
        assert r.ok and r.status == "verified" and bool(r)
        assert r.difference == {"x": 0} and r.proven == {"x": True}
        assert r.counterexample is None and r.entries == [] and r.wrong == []
        assert r.points == 40
    r = verify(sd.sin(x**2), {"x": "cos(x**2)"})
    assert r.difference["x"] == (1 - 2 * sympy.Symbol("x")) * sympy.cos(sympy.Symbol("x")**2)


def test_three_variable_cubic():
    x, y, z = sd.var("x"), sd.var("y"), sd.var("z")
    f = x**3 + 7 * x**2 * y + 5 * y * z + 10
    right = {"x": "3*x**2 + 14*x*y", "y": "7*x**2 + 5*z", "z": "5*y"}
    r = verify(f, right)
    assert r.ok and all(r.difference[n] == 0 for n in "xyz")
    wrong = dict(right, y="7*x**2 + 5*y")
    r = verify(f, wrong)
    assert r.wrong == ["y"]
    Y, Z = sympy.symbols("y z")
    assert sympy.expand(r.difference["y"] - (5 * Y - 5 * Z)) == 0
    assert r.difference["x"] == 0 and r.difference["z"] == 0
    assert_real_counterexample(r, f, "y", lambda x, y, z: 7 * x**2 + 5 * y,
                               lambda x, y, z: 7 * x**2 + 5 * z)
    assert [e.label for e in r.entries] == ["y"]
    # a wrong term in x: 14*x instead of 14*x*y
    r = verify(f, dict(right, x="3*x**2 + 14*x"))
    assert_real_counterexample(r, f, "x", lambda x, y, z: 3 * x**2 + 14 * x,
                               lambda x, y, z: 3 * x**2 + 14 * x * y)


def _cube_grad(A):
    one = np.ones_like(A)
    return one @ (A @ A).T + A.T @ one @ A.T + (A @ A).T @ one


def test_three_by_three_matrix_polynomial():
    A = sd.var("A", (3, 3))
    f = sd.sum(A @ A @ A)
    for claim in ("A.T**2*1 + 1*A.T**2 + A.T*1*A.T", "1*(A*A).T + A.T*1*A.T + (A*A).T*1",
                  "1@(A@A).T + A.T@1@A.T + (A@A).T@1"):
        r = verify(f, {A: claim})
        assert r.ok, str(r)
        assert r.difference["A"] == 0
    r = verify(f, {A: "3*(A**2).T"})
    assert_real_counterexample(r, f, "A", lambda A: 3 * (A @ A).T, _cube_grad)
    d = r.difference["A"]                       # the matrix difference
    assert d.is_Matrix and "A.T*1*A.T" in str(d) and "3*A.T**2" in str(d), d
    assert r.counterexample["A"].shape == (3, 3)
    r = verify(f, {A: "A.T**2*1 + 1*A.T**2"})   # a term missing
    assert_real_counterexample(r, f, "A", lambda A: np.ones_like(A) @ (A @ A).T + (A @ A).T
                               @ np.ones_like(A), _cube_grad)


def test_least_squares_gradient_missing_the_two():
    A, x, b = sd.var("A", (3, 2)), sd.var("x", (2,)), sd.var("b", (3,))
    f = sd.sum((A @ x - b) ** 2)
    r = verify(f, {x: "A.T*(A*x - b)"})
    assert_real_counterexample(r, f, "x", lambda A, x, b: A.T @ (A @ x - b),
                               lambda A, x, b: 2 * A.T @ (A @ x - b))
    assert {e.label for e in r.entries} <= {"x[0]", "x[1]"}
    assert str(r.difference["x"]) == "-A.T*(A*x - b)"     # the matrix difference
    text = str(r)
    for word in ("WRONG", "A.T*(A*x - b)", "2*A.T*(A*x - b)", "counterexample: A = [[",
                 "x[0]", "finite differences"):
        assert word in text, text
    html = r._repr_html_()
    assert "<table>" in html and "counterexample" in html and "A.T*(A*x - b)" in html
    r = verify(f, {x: "2*A.T*(A*x - b)", A: "2*(A*x - b)*x.T", b: "-2*(A*x - b)"})
    assert r.ok, str(r)
    assert r.difference == {"x": 0, "A": 0, "b": 0}
    assert "OK" in str(r).splitlines()[0] and "verified" in str(r)
    # the transposed gradient is a shape error that says so
    with pytest.raises(sd.ShapeError, match="transposed"):
        verify(f, {A: "2*x*(A*x - b).T"})


# ---------------------------------------------------------------------------
# printed formulas read back as claims
# ---------------------------------------------------------------------------

def _printed_cases():
    X, w, y = sd.var("X", (5, 3)), sd.var("w", (3,)), sd.var("y", (5,))
    x, W1, b1 = sd.var("x", (1, 2)), sd.var("W1", (2, 3)), sd.var("b1", (3,))
    W2, b2 = sd.var("W2", (3, 1)), sd.var("b2", (1,))
    out = sd.relu(x @ W1 + b1) @ W2 + b2
    A, E, B = sd.var("A", (3, 3)), sd.var("E", (3, 3)), sd.var("B", (2, 3))
    v = sd.var("v", (4,))
    W, u = sd.var("W", (2, 3)), sd.var("u", (3,))
    I = sd.const(np.eye(3))
    return [
        ("least squares", sd.sum((X @ w - y) ** 2), w),
        ("HadamardProduct 1.T", sd.sum((X @ w - y) ** 2), X),
        ("relu' layer", sd.sum(out), W1),
        ("relu' bias", sd.sum(out), b1),
        ("relu.", sd.sum(out), W2),
        ("Trace I", sd.trace(E) + 1, E),
        ("Trace", sd.trace(A.T @ A) + sd.trace(B.T @ B), A),
        ("Trace squared", sd.trace(I - A) ** 2, A),
        ("A.T**(-1)", sd.log(sd.det(A)), A),
        ("Determinant", sd.det(A), A),
        ("(v.T*v)[0, 0]", sd.exp(v @ v), v),
        ("softmax", sd.log(sd.sum(sd.exp(v))), v),
        ("logsumexp", sd.logsumexp(v), v),
        ("norm", sd.norm(v), v),
        ("tanh.", sd.sum(sd.tanh(W @ u) ** 2), W),
        ("tanh. vector", sd.sum(sd.tanh(W @ u) ** 2), u),
        ("sigmoid.", sd.mean(sd.sigmoid(W)), W),
        ("exp.", sd.sum(sd.exp(W) * W), W),
        ("outer product", v[:2] @ W @ u, W),
        ("logistic loss", sd.mean(sd.log(1 + sd.exp(-u * (A @ u)))), u),
        ("log|det|", sd.log(sd.abs(sd.det(A))), A),
        ("Lambda sqrt", sd.sum(sd.sqrt(W * W + 1)), W),
        ("inverse", sd.sum(sd.inv(A)), A),
        ("Matrix block", sd.sum(W[0] ** 2), W),
        ("Matrix numbers", sd.sum(W[:, 1:] * 3), W),
        ("Matrix nested", u[0] * u[1], u),
        ("Matrix blocks", sd.sum(W[1:, :2] * W[:1, 1:]), W),
    ]


@pytest.mark.parametrize("name,f,wrt", [pytest.param(*c, id=c[0]) for c in _printed_cases()])
def test_printed_formula_reads_back_as_a_verified_claim(name, f, wrt):
    printed = str(sd.diff(f, wrt).sympy())
    r = verify(f, {wrt: printed}, points=12)
    assert r.ok, f"{printed}\n{r}"
    assert r.texts[wrt.name] == printed
    # and the same formula, doubled, is caught
    r2 = verify(f, {wrt: f"2*({printed})"}, points=12)
    assert not r2.ok and r2.wrong == [wrt.name], str(r2)


def test_printed_constructs_are_covered():
    printed = " ".join(str(sd.diff(f, w).sympy()) for _, f, w in _printed_cases())
    for construct in ("HadamardProduct(", "tanh.(", "relu'.(", "Trace(", "[0, 0]",
                      "A.T**(-1)", "1.T", "Lambda(", "I", "exp.(", "sigmoid.(", "Matrix([",
                      "norm(", "softmax(", "/3"):
        assert construct in printed, construct


def test_an_ambiguous_printed_block_matrix_is_refused_clearly():
    v = sd.var("v", (4,))
    f = v[1] * v[2] + v[0]
    printed = str(sd.diff(f, v).sympy())       # zero blocks of sizes (1, 2) and (2, 1)
    assert "Matrix([" in printed
    with pytest.raises(sd.ParseError, match="zero blocks cannot be told"):
        verify(f, {v: printed})
    assert verify(f, {v: sd.diff(f, v)}).ok    # the Node itself is fine


def test_sympy_matrix_expressions_verify_symbolically():
    A = sd.var("A", (3, 3))
    r = verify(sd.log(sd.det(A)), {A: "A.T**(-1)"})
    assert r.ok and r.difference["A"] == 0 and r.proven["A"]
    r = verify(sd.log(sd.det(A)), {A: "A**(-1)"})
    assert_real_counterexample(r, sd.log(sd.det(A)), "A", lambda A: np.linalg.inv(A),
                               lambda A: np.linalg.inv(A).T)
    assert np.linalg.det(r.counterexample["A"]) > 0      # inside logdet's domain
    r = verify(sd.logdet(A), {A: "Inverse(A).T"})
    assert r.ok, str(r)


# ---------------------------------------------------------------------------
# kinks and domains
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("make,claims,at,slopes", [
    (lambda x, y: sd.relu(x), {"x": "step(x, 0)"}, {"x": 0.0}, {"x": (0.0, 1.0)}),
    (lambda x, y: abs(x), {"x": "sign(x)"}, {"x": 0.0}, {"x": (-1.0, 1.0)}),
    (lambda x, y: sd.maximum(x, y), {"x": "step(x - y)", "y": "step(y - x)"},
     {"x": 1.0, "y": 1.0}, {"x": (0.0, 1.0), "y": (0.0, 1.0)}),
    (lambda x, y: sd.where(x > 0, x**2, -x), {"x": "where(x > 0, 2*x, -1)"}, {"x": 0.0},
     {"x": (-1.0, 0.0)}),
    (lambda x, y: sd.relu(x) * y, {"x": "step(x, 0)*y", "y": "relu(x)"},
     {"x": 0.0, "y": 2.0}, {"x": (0.0, 2.0), "y": (0.0, 0.0)}),
])
def test_at_a_kink_not_differentiable_with_one_sided_slopes(make, claims, at, slopes):
    x, y = sd.var("x"), sd.var("y")
    f = make(x, y)
    r = verify(f, claims, at=at)
    assert r.status == "not differentiable here" and not r.ok
    assert r.counterexample is None and r.wrong == []     # no false mismatch
    assert any("not differentiable here" in p for p in r.problems)
    for name, (left, right) in slopes.items():
        assert r.one_sided[name] == pytest.approx((left, right), abs=1e-6)
    assert "one-sided slopes" in str(r) and "NOT DIFFERENTIABLE HERE" in str(r)
    # away from the kink (and in the random search, which avoids kinks) the claim verifies
    assert verify(f, claims).ok


def test_the_search_avoids_kinks():
    x, y = sd.var("x"), sd.var("y")
    # claims that differ from symdiff's conventions only at the kink itself
    assert verify(sd.relu(x), {"x": "step(x, 1)"}).ok
    assert verify(sd.relu(x), {"x": "step(x, 0.5)"}).ok
    assert verify(abs(x), {"x": "step(x) - step(-x)"}).ok
    assert verify(sd.maximum(x, y), {"x": "step(x - y, 1)"}).ok
    # and real mistakes are still found, away from the kink
    r = verify(sd.relu(x), {"x": "1"})
    assert_real_counterexample(r, sd.relu(x), "x", lambda x: 1.0, lambda x: float(x > 0))
    assert r.counterexample["x"] < -0.005


@pytest.mark.parametrize("make,claim,wrong,domain", [
    (lambda x: sd.log(x), "1/x", "1/(2*x)", lambda x: x > 0),
    (lambda x: sd.sqrt(x - 1), "0.5/sqrt(x - 1)", "1/sqrt(x - 1)", lambda x: x > 1),
    (lambda x: sd.log(x - 5), "1/(x - 5)", "1/(x + 5)", lambda x: x > 5),
    (lambda x: x ** 0.5 * sd.log(x), "0.5*log(x)/sqrt(x) + 1/sqrt(x)", "log(x)/sqrt(x)",
     lambda x: x > 0),
    (lambda x: sd.tan(x), "1 + tan(x)**2", "1 - tan(x)**2", lambda x: np.cos(x) != 0),
])
def test_points_stay_inside_the_domain(make, claim, wrong, domain):
    x = sd.var("x")
    f = make(x)
    assert verify(f, {"x": claim}).ok
    r = verify(f, {"x": wrong})
    assert r.status == "wrong" and domain(r.counterexample["x"])
    claim_node, truth_node = r.claims["x"], r.truth["x"]
    assert value(claim_node, r.counterexample) != pytest.approx(
        value(truth_node, r.counterexample))


def test_at_point_is_compared_first_and_search_still_runs():
    x = sd.var("x")
    r = verify(x**2, {"x": "x + 3"}, at={"x": 1.0})
    assert r.counterexample == {"x": 1.0} and r.at == {"x": 1.0}
    # right at the point asked, wrong elsewhere: still wrong
    r = verify(x**2, {"x": "x + 3"}, at={"x": 3.0})
    assert r.status == "wrong" and r.counterexample["x"] != 3.0
    # points=0: only the point asked
    r = verify(x**2, {"x": "x + 3"}, at={"x": 3.0}, points=0)
    assert r.ok and r.points == 1
    r = verify(x**2, {"x": "2*x"}, points=0)
    assert r.status == "no valid point" and not r.ok


def test_a_point_asked_outside_the_domain_is_not_a_pass():
    x = sd.var("x")
    r = verify(sd.log(x), {"x": "1/x"}, at={"x": -1.0})
    assert r.status == "outside the domain" and not r.ok and r.counterexample is None
    assert "log is outside its domain" in r.problems[0]
    assert verify(sd.log(x), {"x": "1/x"}, at={"x": 2.0}).ok
    assert verify("log(x)", {"x": "1/x"}).ok            # f as text


def test_no_point_inside_the_domain():
    x = sd.var("x")
    r = verify(sd.log(-(x * x) - 1), {"x": "-2*x/(-x*x - 1)"})
    assert r.status == "no valid point" and not r.ok
    assert "domain" in r.problems[0]


def test_seed_reproduces_the_counterexample():
    A, x, b = sd.var("A", (3, 2)), sd.var("x", (2,)), sd.var("b", (3,))
    f = sd.sum(sd.tanh(A @ x - b))
    a = verify(f, {x: "A.T*(A*x - b)"}, seed=3)
    c = verify(f, {x: "A.T*(A*x - b)"}, seed=3)
    assert a.counterexample.keys() == c.counterexample.keys()
    for k in a.counterexample:
        np.testing.assert_array_equal(a.counterexample[k], c.counterexample[k])


# ---------------------------------------------------------------------------
# the truth is cross-checked
# ---------------------------------------------------------------------------

def test_a_symdiff_bug_is_reported_loudly_not_as_a_counterexample(monkeypatch):
    """sin's numpy forward made 1.5*sin: symdiff's derivative (cos, from SymPy) no longer
    matches the function it evaluates, as a bug would."""
    import dataclasses
    wrong = dataclasses.replace(numeric.PRIMITIVES["sin"], forward=lambda x: 1.5 * np.sin(x))
    monkeypatch.setitem(numeric.PRIMITIVES, "sin", wrong)
    x = sd.var("x")
    for claim in ("cos(x)", "1.5*cos(x)"):
        r = verify(sd.sin(x), {"x": claim})
        assert r.status == "symdiff disagrees with finite differences", str(r)
        assert not r.ok and r.counterexample is None and r.wrong == []
        assert "bug in symdiff" in r.problems[0]
        assert "finite differences" in str(r)


# ---------------------------------------------------------------------------
# claims in every form, and errors
# ---------------------------------------------------------------------------

def test_claims_as_sympy_nodes_and_numbers():
    x, y = sd.var("x"), sd.var("y")
    f = x**2 * y
    X, Y = sympy.symbols("x y", real=True)
    assert verify(f, {x: 2 * X * Y, y: X**2}).ok
    assert verify(f, {"x": 2 * x * y, "y": x * x}).ok
    assert not verify(f, {x: 2 * X}).ok
    z = sd.var("z")
    r = verify(f, {z: 0, x: "2*x*y"})      # f does not depend on z
    assert r.ok and r.difference["z"] == 0
    assert not verify(f, {z: "1"}).ok
    # SymPy matrix expressions and explicit matrices of entries
    A, v = sd.var("A", (2, 2)), sd.var("v", (2,))
    g = sd.sum((A @ v) ** 2)
    MA, Mv = sympy.MatrixSymbol("A", 2, 2), sympy.MatrixSymbol("v", 2, 1)
    assert verify(g, {v: 2 * MA.T * MA * Mv}).ok
    assert not verify(g, {v: MA.T * MA * Mv}).ok
    explicit = sd.diff(g, v).sympy(explicit=True)
    assert verify(g, {v: explicit}).ok
    V = sympy.IndexedBase("v")
    assert not verify(g, {v: sympy.Array([V[0], V[1]])}).ok
    # a one-element array f is its element
    assert verify(sd.reshape(x * x, (1,)), {"x": "2*x"}).ok


def test_errors_say_what_and_where():
    x = sd.var("x")
    v = sd.var("v", (3,))
    with pytest.raises(sd.ShapeError, match="scalar f"):
        verify(v * 2, {"v": "2"})
    with pytest.raises(sd.ParseError) as e:
        verify(x**2, {"x": "2*x + zz"})
    assert e.value.position == 6 and "claim for 'x'" in str(e.value) and "zz" in str(e.value)
    with pytest.raises(sd.ParseError) as e:
        verify(x**2, {"x": "__import__('os').system('echo hacked')"})
    assert e.value.position == 16 and "attribute access '.system'" in str(e.value)
    with pytest.raises(sd.VariableError, match="no variable 'y'"):
        verify(x**2, {"y": "0"})
    with pytest.raises(sd.ShapeError, match="3×1"):
        verify(sd.sum(v * v), {"v": "v*v.T"})
    with pytest.raises(sd.SymdiffError, match="non-empty mapping"):
        verify(x**2, {})
    with pytest.raises(sd.SymdiffError, match="Node"):
        verify(42, {"x": "0"})


def test_report_fields_and_text():
    x = sd.var("x")
    r = verify(sd.exp(x) * x, {"x": "exp(x)*x"})
    assert isinstance(r, VerifyReport) and not r.ok
    assert r.function == "x*exp(x)"
    assert r.entries[0].label == "x" and r.entries[0].error > 0
    text = str(r)
    assert text.splitlines()[0] == "verify f = x*exp(x): WRONG"
    assert "claim - symdiff  -exp(x)" in text
    ok = verify(sd.exp(x) * x, {"x": "exp(x)*(x + 1)"})
    assert str(ok).splitlines()[0] == "verify f = x*exp(x): OK"
    assert "proven by SymPy" in str(ok) and "<table>" in ok._repr_html_()
