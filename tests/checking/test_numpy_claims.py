"""Claims in the notation of the loss (issue 15): numpy notation (@ the matrix product, *
elementwise) chosen by notation= or --notation, or detected where it is the only reading."""
import pytest

import symdiff as sd
from cli_util import run
from symdiff.checking.claims import read_text
from symdiff.checking.proofs import fast_proof

X, y, w = sd.var("X", (4, 2)), sd.var("y", (4,)), sd.var("w", (2,))
LOGISTIC = sd.mean(sd.log(1 + sd.exp(-y * (X @ w))))
LOGISTIC_CLAIM = "-X.T @ (y * sigmoid(-y * (X @ w))) / 4"


@pytest.mark.parametrize("notation", ["auto", "numpy"])
def test_a_logistic_regression_gradient_in_numpy_notation(notation):
    r = sd.verify(LOGISTIC, {w: LOGISTIC_CLAIM}, notation=notation)
    assert r.ok, str(r)
    assert ("read in numpy notation" in str(r)) == (notation == "auto")


def test_the_logistic_gradient_is_proven_by_a_cheap_step():
    claim = read_text(LOGISTIC_CLAIM, w, {"X": X, "y": y, "w": w}, "numpy")
    # the matrix algebra (with the readable forms' sigmoid) or, failing that, sigmoid(u)
    # and exp(u)/(1 + exp(u)) written with exp on explicit entries (a generous budget: the
    # machine may be loaded; alone it takes well under a second)
    assert fast_proof(claim, sd.grad(LOGISTIC, [w])[0], 60.0) in ("matrix algebra",
                                                                   "explicit entries")


def test_matrix_notation_refuses_it_with_the_old_message():
    with pytest.raises(sd.ParseError, match="HadamardProduct"):
        sd.verify(LOGISTIC, {w: LOGISTIC_CLAIM.replace("@", "*")}, notation="matrix")


def test_a_wrong_numpy_claim_is_wrong():
    r = sd.verify(LOGISTIC, {w: "X.T @ (y * sigmoid(-y * (X @ w))) / 4"})
    assert not r.ok and r.counterexample is not None


def test_softmax_cross_entropy_in_numpy_notation():
    W, x, t = sd.var("W", (3, 2)), sd.var("x", (2,)), sd.var("t", (3,))
    f = -sd.sum(t * sd.log(sd.softmax(W @ x)))
    assert sd.verify(f, {W: "outer(softmax(W @ x) * sum(t) - t, x)"}).ok
    assert not sd.verify(f, {W: "outer(softmax(W @ x) - t, x)"}).ok   # needs sum(t) = 1


def test_text_meaning_the_same_both_ways_is_read_as_matrix_notation():
    A, b = sd.var("A", (4, 2)), sd.var("b", (4,))
    r = sd.verify(sd.sum((A @ w - b) ** 2), {w: "2*A.T @ (A @ w - b)"})
    assert r.ok and "numpy notation" not in str(r)


def test_text_meaning_two_things_asks_which():
    A, S = sd.var("A", (3, 3)), sd.var("S", (3, 3))
    f = sd.trace(A @ S)
    with pytest.raises(sd.ParseError, match="notation='matrix' or notation='numpy'"):
        sd.verify(f, {S: "A.T * (S @ inv(S))"})
    assert sd.verify(f, {S: "A.T * (S @ inv(S))"}, notation="matrix").ok
    assert not sd.verify(f, {S: "A.T * (S @ inv(S))"}, notation="numpy").ok


def test_every_parser_function_and_a_few_composites_are_known():
    x = sd.var("x", (3,))
    assert sd.verify(sd.sum(sd.log(1 + x)), {x: "1/(1 + x)"}).ok
    assert sd.verify(sd.sum(x * sd.log(1 + x)), {x: "log1p(x) + x/(1 + x)"}).ok
    assert sd.verify(sd.logsumexp(x), {x: "softmax(x)"}).ok
    assert sd.verify(sd.sum(sd.exp(x) - 1) , {x: "expm1(x) + 1"}).ok
    with pytest.raises(sd.ParseError, match="did you mean 'softmax'"):
        sd.verify(sd.logsumexp(x), {x: "softmaxx(x)"}, notation="numpy")


def test_a_bad_notation_is_refused():
    with pytest.raises(sd.ArgumentError, match="notation must be one of"):
        sd.verify(LOGISTIC, {w: LOGISTIC_CLAIM}, notation="latex")


def test_the_command_line_flag(capsys):
    args = ["verify", "sum(log(1 + exp(-y * (X @ w))))", "--shape", "X=3,2", "--shape",
            "y=3", "--shape", "w=2", "--claim", "w=-X.T @ (y * sigmoid(-y * (X @ w)))"]
    code, out, err = run(capsys, *args, "--notation", "numpy")
    assert code == 0, out + err
    code, out, err = run(capsys, *args, "--notation", "matrix")
    assert code != 0 and "HadamardProduct" in err
