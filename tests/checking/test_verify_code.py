"""sd.verify with code: a loss written in numpy, traced at the shapes of ``at``, and its
gradient written by hand as a function (or functions in the dict form). Right code
verifies; each typical mistake is caught with a counterexample naming the input; bad
code gets one clear SymdiffError naming the function."""
import dataclasses

import numpy as np
import pytest

import numeric
import symdiff as sd
import handwritten as hw

RNG = np.random.default_rng(14)
N, D, C = 6, 3, 4
X0 = RNG.standard_normal((N, D))
T0 = np.where(RNG.standard_normal(N) > 0, 1.0, -1.0)
W0 = RNG.standard_normal(D)
Y0 = RNG.integers(0, C, N)
WC = 0.3 * RNG.standard_normal((D, C))
LOGISTIC = {"w": W0, "X": X0, "t": T0}


def assert_caught(r, name):
    """Wrong, for ``name`` only, with a confirmed counterexample naming it, worst first."""
    assert not r.ok and r.status == "wrong" and r.wrong == [name], str(r)
    assert name in r.counterexample
    assert r.entries and all(e.variable == name for e in r.entries)
    errors = [e.error for e in r.entries]
    assert errors == sorted(errors, reverse=True)
    text = str(r)
    assert f"{name}: WRONG (" in text and "entries differ at the counterexample" in text
    assert "symdiff's gradient agrees with finite differences there" in text
    assert "tolerance: |claim - symdiff| <= 1e-09 + 1e-06*max(|claim|, |symdiff|)" in text


# ---- the examples: right code verifies, each mistake is caught ------------------------------

def test_logistic_regression_gradient_code():
    r = sd.verify(hw.logistic_loss, hw.logistic_grad, at=LOGISTIC, wrt=["w"])
    assert r.ok and r.status == "verified", str(r)
    assert r.difference == {"w": None} and r.how == {"w": "code: compared numerically"}
    assert r.points > 20
    text = str(r)
    assert text.splitlines()[0] == "verify logistic_grad, the gradient of logistic_loss: OK"
    assert f"w: verified (checked numerically at {r.points} points)" in text
    assert "claim            logistic_grad(w, X, t)" in text
    assert "held at their values in at: X, t" in text
    assert "agrees with finite differences at a point compared" in text
    assert "<table>" in r._repr_html_() and "logistic_grad" in r._repr_html_()


@pytest.mark.parametrize("mistake", [hw.logistic_grad_missing_1_over_n,
                                     hw.logistic_grad_wrong_sign])
def test_logistic_regression_mistakes(mistake):
    r = sd.verify(hw.logistic_loss, mistake, at=LOGISTIC, wrt=["w"], points=10)
    assert_caught(r, "w")
    # the point given is compared first, and the labels are held, not varied
    assert list(r.counterexample) == ["w"]
    np.testing.assert_array_equal(r.counterexample["w"], W0)
    e = r.entries[0]
    truth = hw.logistic_grad(W0, X0, T0)[e.index]
    assert e.truth == pytest.approx(truth) and e.claim == pytest.approx(
        mistake(W0, X0, T0)[e.index])


def test_softmax_cross_entropy_with_integer_labels():
    at = {"W": WC, "X": X0, "y": Y0}
    assert sd.verify(hw.softmax_loss, hw.softmax_grad, at=at, wrt=["W"]).ok
    with pytest.raises(sd.GradientCodeError, match=r"wrt defaults to every float array"):
        sd.verify(hw.softmax_loss, hw.softmax_grad, at=at)   # X is a float array too
    for mistake in (hw.softmax_grad_missing_1_over_n, hw.softmax_grad_forgot_the_labels):
        assert_caught(sd.verify(hw.softmax_loss, mistake, at=at, wrt=["W"], points=10), "W")


def test_svm_hinge_loss():
    at = {"W": WC, "X": X0, "y": Y0, "reg": 0.1}
    r = sd.verify(hw.svm_loss, hw.svm_grad, at=at, wrt=["W"], points=20)
    assert r.ok, str(r)
    assert "held at their values in at: X, y, reg" in str(r)
    for mistake in (hw.svm_grad_missing_1_over_n, hw.svm_grad_regularizer_without_2):
        assert_caught(sd.verify(hw.svm_loss, mistake, at=at, wrt=["W"], points=10), "W")


# ---- the forms: a function f, a Node f, the dict form, several wrt ------------------------

def test_callable_claims_in_the_dict_form():
    # f a traced function, the claim in the dict
    assert sd.verify(hw.logistic_loss, {"w": hw.logistic_grad}, at=LOGISTIC).ok
    # f a Node with the data as constants: the claim gets X and t from at
    f = sd.from_function(hw.logistic_loss, w=(D,), X=X0, t=T0)
    assert sd.verify(f, {"w": hw.logistic_grad}, at=LOGISTIC).ok
    assert_caught(sd.verify(f, {"w": hw.logistic_grad_wrong_sign}, at=LOGISTIC), "w")
    with pytest.raises(sd.GradientCodeError, match=r"logistic_grad is called with f's "
                       r"variables by name, but X, t are neither a variable of f nor given"):
        sd.verify(f, {"w": hw.logistic_grad})
    # f a Node of every input: the data are drawn too, and the claim must hold for them all
    g = sd.from_function(hw.logistic_loss, w=(D,), X=(N, D), t=(N,))
    assert sd.verify(g, {"w": hw.logistic_grad}).ok
    assert sd.verify(g, hw.logistic_grad, wrt=["w"]).ok
    assert sd.verify(g, {"w": hw.logistic_grad_missing_1_over_n}).wrong == ["w"]


def test_code_and_formula_claims_together():
    x, y = sd.var("x", (2,)), sd.var("y")
    f = sd.sum(sd.sin(x) * y)
    r = sd.verify(f, {"x": "cos.(x)*y", "y": lambda x, y: np.sin(x).sum()})
    assert r.ok, str(r)
    assert r.how["x"].startswith("proven by SymPy") and r.how["y"] == "code: compared numerically"
    r = sd.verify(f, {"x": "cos.(x)*y", "y": lambda x, y: np.cos(x).sum()})
    assert r.wrong == ["y"]


def test_several_inputs_tuple_dict_and_the_default_wrt():
    def loss(w, b, X):
        return ((X @ w + b) ** 2).mean()

    def grad(w, b, X):
        r = X @ w + b
        return 2 * X.T @ r / len(r), 2 * r.mean()

    at = {"w": W0, "b": 0.5, "X": X0}
    assert sd.verify(loss, grad, at=at, wrt=["w", "b"]).ok
    assert sd.verify(loss, lambda w, b, X: dict(zip("wb", grad(w, b, X))), at=at,
                     wrt=["w", "b"]).ok
    # wrt in another order: the tuple follows it, so (dw, db) is read as (db, dw)
    with pytest.raises(sd.ShapeError, match=r"grad returned an array of shape \(3,\) for b, "
                                            r"which has shape \(\)"):
        sd.verify(loss, grad, at=at, wrt=["b", "w"])
    # the default wrt is every float in at (X too): two arrays are one short
    with pytest.raises(sd.GradientCodeError, match=r"grad returned 2 values; expected a tuple "
                                                   r"of 3 arrays, the gradients of w, b, X"):
        sd.verify(loss, grad, at=at)


def test_a_parameter_outside_wrt_passes_through_untouched():
    def loss(w, X, options):
        options["calls"] = options.get("calls", 0) + 1   # code that writes into a dict
        return (options["scale"] * (X @ w) ** 2).sum()

    def grad(w, X, options):
        X *= 1.0                                         # code that writes into its inputs
        return 2 * options["scale"] * X.T @ (X @ w)

    options = {"scale": 3.0}
    X = X0.copy()
    assert sd.verify(loss, grad, at={"w": W0, "X": X, "options": options}, wrt=["w"]).ok
    assert options == {"scale": 3.0} and np.array_equal(X, X0)


# ---- points: the point given, signs, nan, kinks ----------------------------------------------

def test_a_variable_keeps_the_sign_of_the_point_given():
    def loss(v):
        return (v * v * v).sum() / 3

    def grad(v):              # right only where v > 0
        return v * np.abs(v)

    r = sd.verify(loss, grad, at={"v": np.array([0.5, 2.0])})
    assert r.ok, str(r)
    assert any(n.startswith("v stayed positive, as all its entries are") for n in r.notes)
    r = sd.verify(loss, grad, at={"v": np.array([0.5, -2.0])})
    assert r.wrong == ["v"] and r.counterexample["v"][1] == -2.0


def test_nan_from_the_code_is_a_mismatch():
    def grad(w, X, t):
        g = hw.logistic_grad(w, X, t)
        return np.where(np.abs(w) < 1, g, np.nan)    # nan far from the point given

    r = sd.verify(hw.logistic_loss, grad, at=LOGISTIC, wrt=["w"], points=5)
    assert r.wrong == ["w"] and np.isnan(r.entries[0].claim)
    assert "nan" in str(r)


def test_a_kink_at_the_point_given_is_reported_not_blamed():
    def loss(x):
        return np.maximum(x, 0).sum()

    r = sd.verify(loss, lambda x: (x > 0) * 1.0, at={"x": np.array([0.0, 1.0])})
    assert r.status == "not differentiable here" and not r.ok, str(r)
    assert "one-sided slopes" in str(r)
    assert sd.verify(loss, lambda x: (x > 0) * 1.0, at={"x": np.array([-0.5, 1.0])}).ok


def test_float32_code_is_compared_within_its_precision():
    r = sd.verify(hw.logistic_loss,
                  lambda w, X, t: hw.logistic_grad(w, X, t).astype(np.float32),
                  at=LOGISTIC, wrt=["w"])
    assert r.ok, str(r)
    assert any("returned float32" in n for n in r.notes)


def test_a_symdiff_bug_is_reported_not_blamed_on_the_code(monkeypatch):
    wrong = dataclasses.replace(numeric.PRIMITIVES["tanh"], forward=lambda x: 1.5 * np.tanh(x))
    monkeypatch.setitem(numeric.PRIMITIVES, "tanh", wrong)

    def loss(w):
        return np.tanh(w).sum()

    r = sd.verify(loss, lambda w: 1.5 / np.cosh(w) ** 2, at={"w": W0}, points=5)
    assert r.status == "symdiff disagrees with finite differences" and r.wrong == []
    assert r.counterexample is None and "bug in symdiff" in r.problems[0]


# ---- bad input: one clear SymdiffError -----------------------------------------------------

def test_code_that_raises_is_named_with_its_line():
    def grad(w, X, t):
        return X @ (t * w)            # shapes that do not fit: numpy raises

    with pytest.raises(sd.GradientCodeError) as e:
        sd.verify(hw.logistic_loss, grad, at=LOGISTIC, wrt=["w"])
    message = str(e.value)
    assert message.startswith("grad raised ValueError (at test_verify_code.py:")
    assert ", in grad) at w = [" in message and "could not be broadcast" in message


@pytest.mark.parametrize("claim, error, pattern", [
    (lambda w, X, t: None, sd.GradientCodeError, "returned None for w; expected an array of "
                                                 r"shape \(3,\)"),
    (lambda w, X, t: "w", sd.GradientCodeError, "returned str for w"),
    (lambda w, X, t: w.astype(complex), sd.GradientCodeError, "of dtype complex128 for w"),
    (lambda w, X, t: (w, w), sd.GradientCodeError, "returned 2 values; expected one array"),
    (lambda w, X, t: w[:2], sd.ShapeError, r"returned an array of shape \(2,\) for w, which "
                                           r"has shape \(3,\)"),
    (lambda w, X: w, sd.GradientCodeError, "raised TypeError"),
    (lambda w, X, t: {"v": w}, sd.GradientCodeError, "returned a dict without 'w'"),
])
def test_claims_returning_the_wrong_thing(claim, error, pattern):
    with pytest.raises(error, match=pattern):
        sd.verify(hw.logistic_loss, claim, at=LOGISTIC, wrt=["w"])


def test_bad_functions_and_arguments():
    with pytest.raises(sd.ArgumentError, match=r"takes \*args"):
        sd.verify(lambda *args: args[0].sum(), lambda *args: 1.0, at={"x": 1.0})
    with pytest.raises(sd.ArgumentError, match="missing a required argument: 't'"):
        sd.verify(hw.logistic_loss, hw.logistic_grad, at={"w": W0, "X": X0})
    with pytest.raises(sd.ArgumentError, match="unexpected keyword argument 'z'"):
        sd.verify(hw.logistic_loss, hw.logistic_grad, at={**LOGISTIC, "z": 1.0})
    with pytest.raises(sd.ShapeError, match=r"returns shape \(6,\).*sd\.verify_vjp"):
        sd.verify(lambda w, X: X @ w, lambda w, X: X, at={"w": W0, "X": X0})
    with pytest.raises(sd.ArgumentError, match="wrt names 'X', whose value"):
        sd.verify(lambda w, X: (X @ w).sum(), lambda w, X: X, at={"w": W0, "X": "data"},
                  wrt=["X"])
    with pytest.raises(sd.ArgumentError, match="wrt= goes with claims given as a function"):
        sd.verify(sd.var("x") ** 2, {"x": "2*x"}, wrt=["x"])
    with pytest.raises(sd.TracingError, match="raised ZeroDivisionError while being traced"):
        sd.verify(lambda w: 1 / 0, lambda w: w, at={"w": 1.0})


# ---- after the merges of issue 14 (numpy dispatch, elementwise, shapes, gather) --------------
# These use np.mean, np.sum, np.logaddexp, .max and integer-array indexing on Nodes, which
# the other branches of issue 14 add; they fail on this branch alone.

def test_logistic_regression_with_logaddexp():
    assert sd.verify(hw.logistic_loss_numpy, hw.logistic_grad, at=LOGISTIC, wrt=["w"]).ok
    assert_caught(sd.verify(hw.logistic_loss_numpy, hw.logistic_grad_missing_1_over_n,
                            at=LOGISTIC, wrt=["w"], points=10), "w")


def test_softmax_cross_entropy_with_gathered_labels():
    at = {"W": WC, "X": X0, "y": Y0}
    assert sd.verify(hw.softmax_loss_numpy, hw.softmax_grad, at=at, wrt=["W"]).ok
    assert_caught(sd.verify(hw.softmax_loss_numpy, hw.softmax_grad_forgot_the_labels, at=at,
                            wrt=["W"], points=10), "W")
