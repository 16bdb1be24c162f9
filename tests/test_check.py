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
