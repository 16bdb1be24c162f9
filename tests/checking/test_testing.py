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
