"""symdiff.testing.assert_gradient: passes right claims, fails wrong ones with the report."""
import pytest

import symdiff as sd
from symdiff.testing import assert_gradient
from symdiff.checking.verify import VerifyReport


def test_a_right_claim_passes_and_returns_the_report():
    A, x, b = sd.var("A", (3, 2)), sd.var("x", (2,)), sd.var("b", (3,))
    loss = sd.sum((A @ x - b) ** 2)
    report = assert_gradient(loss, {"x": "2*A.T*(A*x - b)", A: "2*(A*x - b)*x.T"})
    assert isinstance(report, VerifyReport) and report.ok
    assert report.difference == {"x": 0, "A": 0}


def test_a_wrong_claim_fails_with_the_verify_report_as_message():
    A, x, b = sd.var("A", (3, 2)), sd.var("x", (2,)), sd.var("b", (3,))
    loss = sd.sum((A @ x - b) ** 2)
    with pytest.raises(AssertionError) as e:
        assert_gradient(loss, {"x": "A.T*(A*x - b)"})
    message = str(e.value)
    assert message.splitlines()[0].endswith(": WRONG")
    for word in ("claim            A.T*(A*x - b)", "symdiff          2*A.T*(A*x - b)",
                 "counterexample: A = [[1, 1], [1, 1], [1, 1]], x = [1, 1], b = [1, 1, 1]",
                 "x[0]", "x[1]"):
        assert word in message, message


def test_keyword_arguments_reach_verify():
    x = sd.var("x")
    assert_gradient(x**3, {x: "3*x**2"}, seed=1, points=5, rtol=1e-9)
    with pytest.raises(AssertionError, match="not differentiable here"):
        assert_gradient(sd.relu(x), {x: "step(x, 0)"}, at={"x": 0.0})
    assert assert_gradient(sd.relu(x), {x: "step(x, 0)"}, at={"x": 0.5}).ok
    with pytest.raises(AssertionError, match="NO VALID POINT"):
        assert_gradient(x**2, {x: "2*x"}, points=0)


def test_mistakes_in_the_claims_raise_symdiff_errors_not_assertion_errors():
    x = sd.var("x")
    with pytest.raises(sd.ParseError):
        assert_gradient(x**2, {x: "2*x +"})
    with pytest.raises(sd.ShapeError):
        assert_gradient(sd.var("v", (3,)) * x, {x: "1"})


# ---- gradient code and backward passes (issue 14) ------------------------------------------

def test_assert_gradient_takes_functions():
    import numpy as np
    import handwritten as hw
    rng = np.random.default_rng(0)
    at = {"w": rng.standard_normal(3), "X": rng.standard_normal((5, 3)),
          "t": np.array([1.0, -1.0, 1.0, 1.0, -1.0])}
    report = assert_gradient(hw.logistic_loss, hw.logistic_grad, at=at, wrt=["w"])
    assert report.ok and report.code == ["w"]
    with pytest.raises(AssertionError) as e:
        assert_gradient(hw.logistic_loss, {"w": hw.logistic_grad_missing_1_over_n}, at=at)
    message = str(e.value)
    assert message.splitlines()[0] == ("verify logistic_grad_missing_1_over_n, the gradient of "
                                       "logistic_loss: WRONG")
    assert "counterexample: w = [" in message and "w[0]" in message
    with pytest.raises(sd.GradientCodeError):          # bad code is not a failed assertion
        assert_gradient(hw.logistic_loss, lambda w, X, t: None, at=at, wrt=["w"])


def test_assert_vjp_passes_right_backward_passes_and_fails_wrong_ones():
    import numpy as np
    import handwritten as hw
    from symdiff.testing import assert_vjp
    rng = np.random.default_rng(1)
    at = {"x": rng.standard_normal((4, 3)), "gamma": rng.standard_normal(3),
          "beta": rng.standard_normal(3), "bn_param": {"mode": "train"}}
    assert assert_vjp(hw.batchnorm_forward, hw.batchnorm_backward, at=at).ok
    with pytest.raises(AssertionError) as e:
        assert_vjp(hw.batchnorm_forward, hw.batchnorm_backward_without_dvar, at=at, points=5)
    message = str(e.value)
    assert message.splitlines()[0] == ("verify batchnorm_backward_without_dvar, the backward "
                                       "pass of batchnorm_forward: WRONG")
    assert "x: WRONG (" in message and "gamma: verified" in message and "dout = " in message
    with pytest.raises(sd.ShapeError):
        assert_vjp(hw.affine_forward, hw.affine_backward_keepdims,
                   at={"x": at["x"], "w": rng.standard_normal((3, 2)), "b": np.zeros(2)})
