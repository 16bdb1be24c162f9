"""sd.check: three-way agreement, kinks and domain problems flagged, wrong rules caught."""
import dataclasses

import numpy as np
import pytest

import numeric
import symdiff as sd


def test_square_plus_three_agrees_three_ways():
    x = sd.var("x")
    r = sd.check(x**2 + 3, at={"x": 7})
    assert r.ok and bool(r)
    assert r.value == 52.0
    assert r.closed_form == {"x": 14.0}
    assert r.reverse_mode == {"x": 14.0}
    assert r.finite_difference["x"] == pytest.approx(14.0, abs=1e-6)
    text = str(r)
    for word in ("closed form", "reverse mode", "finite diff", "verdict", "14", "ok", "x = 7"):
        assert word in text
    assert r.problems == [] and r.notes == []
    assert "<pre>" in r._repr_html_()


def test_array_variables_and_bound_tensors():
    W = sd.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True, name="W")
    x = sd.var("x", (2,))
    f = sd.sum(sd.tanh(W @ x)) + sd.sum(W * W)
    r = sd.check(f, at={"x": [0.5, -0.25]})
    assert r.ok, str(r)
    assert set(r.reverse_mode) == {"W", "x"}
    assert r.reverse_mode["W"].shape == (2, 2)
    np.testing.assert_allclose(r.closed_form["W"], r.reverse_mode["W"], rtol=1e-10)
    assert "W[1, 0]" in str(r)
    assert len(r.entries) == 6


@pytest.mark.parametrize("make,at,word", [
    (lambda x: sd.relu(x), 0.0, "relu is not differentiable"),
    (lambda x: abs(x) * 3, 0.0, "abs is not differentiable"),
    (lambda x: sd.maximum(x, 1.0), 1.0, "maximum is not differentiable"),
    (lambda x: sd.sqrt(x), 0.0, "sqrt is not differentiable"),
    (lambda x: sd.log(x), 0.0, "log outside its domain"),
    (lambda x: sd.log(x - 1), 0.5, "log outside its domain"),
    (lambda x: 1 / x, 0.0, "div outside its domain"),
])
def test_kinks_and_domain_violations_are_flagged_not_passed(make, at, word):
    x = sd.var("x")
    r = sd.check(make(x), at={"x": at})
    assert not r.ok
    assert any(word in p for p in r.problems), r.problems
    assert word in str(r)
    # a little away from the kink or inside the domain, the same function checks fine
    r2 = sd.check(make(x), at={"x": at + 1.7})
    assert r2.ok, str(r2)


def test_kink_reports_pytorch_convention_values():
    x = sd.var("x")
    r = sd.check(sd.relu(x) + sd.maximum(x, 0.0), at={"x": 0.0})
    assert r.reverse_mode["x"] == 0.5     # relu'(0) = 0, tie of maximum splits 0.5
    assert not r.ok


def test_non_scalar_f_is_checked_through_a_random_vjp():
    v = sd.var("v", (3,))
    r = sd.check(sd.sin(v) * v, at={"v": [0.1, 0.2, 0.3]})
    assert r.ok, str(r)
    assert "sum(f * r)" in r.notes[0]


def test_large_graphs_use_the_symbolic_derivative_graph():
    W = sd.var("W", (30, 20))
    r = sd.check(sd.sum(sd.sin(W) * W), at={"W": np.random.default_rng(0).standard_normal((30, 20))})
    assert r.ok, str(r)
    assert any("symbolic derivative graph" in n for n in r.notes)
    big = sd.var("B", (40, 30))
    r = sd.check(sd.sum(big * big), at={"B": np.ones((40, 30))})
    assert r.ok
    assert any("random sample of 1000" in n for n in r.notes)
    assert len(r.entries) == 1000


def test_a_wrong_vjp_is_caught(monkeypatch):
    wrong = dataclasses.replace(numeric.PRIMITIVES["sin"],
                                vjp=(lambda g, out, x: g * np.sin(x),))
    monkeypatch.setitem(numeric.PRIMITIVES, "sin", wrong)
    x = sd.var("x")
    r = sd.check(sd.sin(x) * 2, at={"x": 0.4})
    assert not r.ok
    assert r.entries[0].verdict == "closed form != reverse mode"
    assert r.closed_form["x"] == pytest.approx(2 * np.cos(0.4), rel=1e-12)
    assert r.finite_difference["x"] == pytest.approx(2 * np.cos(0.4), rel=1e-6)


def test_check_errors():
    x, y = sd.var("x"), sd.var("y")
    with pytest.raises(sd.MissingVariableError, match="'y'"):
        sd.check(x * y, at={"x": 1.0})
    with pytest.raises(sd.ExtraVariableError, match="'z'"):
        sd.check(x * y, at={"x": 1.0, "y": 1.0, "z": 2.0})
    with pytest.raises(sd.SymdiffError, match="needs a symdiff Node"):
        sd.check("x**2", at={"x": 1.0})
    r = sd.check(x * y, at={"x": 2.0, "y": 3.0}, wrt=[x])
    assert list(r.reverse_mode) == ["x"] and r.reverse_mode["x"] == 3.0


# ---------------------------------------------------------------------------
# diagnostics: step sizes, complex step, one-sided slopes
# ---------------------------------------------------------------------------

def test_step_sweep_shows_truncation_and_rounding_error():
    x = sd.var("x")
    r = sd.check(sd.sin(x) * sd.exp(x), at={"x": 0.7})
    assert r.steps == tuple(10.0 ** -k for k in range(2, 11))
    errs = r.step_errors["x"]
    assert errs.shape == (9,) and np.all(errs >= 0)
    # truncation error (h**2) dominates at 1e-2, rounding (1e-16 / h) at 1e-10
    assert errs[0] > 1e-6 and errs[-1] > 1e-8
    best = r.best_step["x"]
    assert 1e-7 <= best <= 1e-4 and errs[r.steps.index(best)] == errs.min() < 1e-9
    text = str(r)
    assert "finite differences by step h" in text
    assert "1e-02" in text and "1e-10" in text and "best" in text


def test_step_sweep_of_array_variables():
    W = sd.var("W", (3, 2))
    r = sd.check(sd.sum(sd.tanh(W) ** 3), at={"W": np.linspace(-1, 1, 6).reshape(3, 2)})
    assert r.step_errors["W"].shape == (9,) and r.best_step["W"] in r.steps
    big = sd.var("B", (10, 10))
    r = sd.check(sd.sum(sd.sin(big)), at={"B": np.ones((10, 10))})
    assert any("step sweep over a sample of 20 entries of B" in n for n in r.notes)


@pytest.mark.parametrize("make,shape", [
    (lambda v: sd.sum(sd.sin(v) * sd.exp(v)), (3,)),
    (lambda v: sd.sum(sd.sigmoid(v)) * sd.logsumexp(v), (4,)),   # complex-safe variants
    (lambda v: sd.logdet(sd.reshape(v, (2, 2)) + 3 * np.eye(2)), (4,)),
    (lambda v: sd.sum(sd.inv(sd.reshape(v, (2, 2)) + 3 * np.eye(2))) + sd.norm(v), (4,)),
    (lambda v: sd.sum(v[1:] ** 2) / sd.sqrt(v[0] + 5.0), (3,)),
    (lambda v: sd.tan(v[0]) * sd.tanh(v[1]) ** 1.5, (2,)),
])
def test_complex_step_is_exact_to_rounding_for_analytic_graphs(make, shape):
    v = sd.var("v", shape)
    point = np.linspace(0.3, 0.9, int(np.prod(shape)))
    r = sd.check(make(v), at={"v": point})
    assert r.ok, str(r)
    cs = r.complex_step["v"]
    assert cs.shape == shape and r.complex_note == ""
    np.testing.assert_allclose(cs, r.reverse_mode["v"], rtol=1e-13, atol=1e-14)
    assert "complex step (h = 1e-20), max |cs - rev|: v " in str(r)


def test_complex_step_not_available_for_non_analytic_ops():
    x, y = sd.var("x"), sd.var("y")
    r = sd.check(sd.relu(x) * y + x, at={"x": 0.5, "y": 2.0})
    assert r.ok and r.complex_step == {"x": None, "y": None}
    assert r.complex_note == "not available (relu is not analytic)"
    assert "complex step: not available (relu is not analytic)" in str(r)
    r = sd.check(sd.maximum(x, y) + abs(x), at={"x": 0.5, "y": 2.0})
    assert r.complex_note == "not available (abs, maximum are not analytic)"
    r = sd.check(x**2, at={"x": 3.0})
    assert r.complex_step["x"] == pytest.approx(6.0, abs=1e-14)


@pytest.mark.parametrize("make,at,slopes", [
    (lambda x, y: sd.relu(x), {"x": 0.0}, {"x": (0.0, 1.0)}),
    (lambda x, y: abs(x) * 3 + x, {"x": 0.0}, {"x": (-2.0, 4.0)}),
    (lambda x, y: sd.maximum(x, y), {"x": 1.0, "y": 1.0}, {"x": (0.0, 1.0), "y": (0.0, 1.0)}),
])
def test_kinks_report_one_sided_slopes(make, at, slopes):
    x, y = sd.var("x"), sd.var("y")
    r = sd.check(make(x, y), at=at)
    assert not r.ok
    for name, (left, right) in slopes.items():
        assert r.one_sided[name] == pytest.approx((left, right), abs=1e-6)
    assert "one-sided slopes (h = 1e-08): x: left" in str(r)
    # no kink, no slopes
    assert sd.check(make(x, y), at={k: v + 0.25 * (i + 1) for i, (k, v) in
                                    enumerate(at.items())}).one_sided == {}


def test_one_sided_slopes_of_array_entries():
    v = sd.var("v", (3,))
    r = sd.check(sd.sum(sd.relu(v)), at={"v": [-1.0, 0.0, 2.0]})
    left, right = r.one_sided["v"]
    np.testing.assert_allclose(left, [0, 0, 1], atol=1e-6)
    np.testing.assert_allclose(right, [0, 1, 1], atol=1e-6)
    assert "v[1]: left 0, right 1" in str(r) and "v[0]:" not in str(r)
