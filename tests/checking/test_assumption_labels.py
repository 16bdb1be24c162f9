"""Labels (issue 15): sd.var(..., labels=(-1, 1)), assume= on sd.verify, and the hint that
names a label set when a claim holds only for labels."""
import numpy as np
import pytest

import symdiff as sd
from cli_util import run
from symdiff.graph.assumptions import assumption, labels_of, project, spelled

# the logistic loss with labels t = ±1 has the gradient -t*sigmoid(-t*z); the form with
# 0/1 targets y = (1 + t)/2, sigmoid(z) - y, equals it only when every t is -1 or 1
LOSS = "sum(log(1 + exp(-t * z)))"
CLAIM = "sigmoid(z) - (1 + t)/2"


def logistic(t):
    z = sd.var("z", (4,))
    return sd.sum(sd.log(1 + sd.exp(-t * z))), z


def test_a_claim_that_needs_pm1_labels_is_proven_with_them():
    f, z = logistic(sd.var("t", (4,), labels=(-1, 1)))
    r = sd.verify(f, {z: CLAIM}, notation="numpy")
    assert r.ok and r.how["z"].startswith("proven by SymPy"), str(r)
    assert "assuming every entry of t is one of {-1, 1}" in str(r)


def test_without_labels_it_is_wrong_and_the_hint_names_the_label_set():
    f, z = logistic(sd.var("t", (4,)))
    r = sd.verify(f, {z: CLAIM}, notation="numpy")
    assert not r.ok
    assert "this claim holds if every entry of t is one of {-1, 1}" in str(r)
    assert "labels=(-1, 1)" in str(r)


def test_labels_do_not_make_a_wrong_claim_right():
    f, z = logistic(sd.var("t", (4,), labels=(-1, 1)))
    r = sd.verify(f, {z: "sigmoid(z) - t"}, notation="numpy")
    assert not r.ok and r.counterexample is not None
    assert set(np.unique(r.counterexample["t"])) <= {-1.0, 1.0}


def test_zero_one_labels():
    # with y in {0, 1}: y**2 = y, so d/dz sum(y*z**2) = 2*y*z is also 2*y**2*z
    y, z = sd.var("y", (3,), labels=(0, 1)), sd.var("z", (3,))
    r = sd.verify(sd.sum(y * z ** 2), {z: "2*y**2*z"}, notation="numpy")
    assert r.ok, str(r)
    r = sd.verify(sd.sum(sd.var("y", (3,)) * z ** 2), {z: "2*y**2*z"}, notation="numpy")
    assert not r.ok and "one of {0, 1}" in str(r)


def test_assume_on_verify_gives_text_and_code_variables_assumptions():
    def loss(z, t):
        return np.sum(np.log1p(np.exp(-t * z)))

    def grad(z, t):
        return 1 / (1 + np.exp(-z)) - (1 + t) / 2

    at = {"z": np.array([0.3, -1.2, 2.0]), "t": np.array([1.0, -1.0, 1.0])}
    r = sd.verify(loss, grad, at=at, wrt=["z"])
    assert r.ok   # the labels held at the point, and t is held at its value there
    f = sd.parse(LOSS, {"t": (4,), "z": (4,)})
    assert not sd.verify(f, {"z": CLAIM}, notation="numpy").ok
    r = sd.verify(f, {"z": CLAIM}, notation="numpy", assume={"t": "labels(-1, 1)"})
    assert r.ok, str(r)
    # the graph handed in is left as it was
    assert all(assumption(n) is None for n in f.nodes())
    S = sd.var("S", (3, 3))
    r = sd.verify(sd.trace(S @ S), {S: "2*S"}, assume={"S": "symmetric"})
    assert r.ok and "assuming S is symmetric" in str(r)
    assert not sd.verify(sd.trace(S @ S), {S: "2*S"}).ok


def test_bad_labels_and_assume_are_refused():
    with pytest.raises(sd.ArgumentError, match="labels="):
        sd.var("t", (3,), labels=(1,))
    with pytest.raises(sd.ArgumentError, match="labels="):
        sd.var("t", (3,), labels="ab")
    with pytest.raises(sd.ArgumentError, match="one assumption"):
        sd.var("t", (3,), labels=(0, 1), probability=True)
    f, z = logistic(sd.var("t", (4,)))
    with pytest.raises(sd.ArgumentError, match="'u', which is not a variable"):
        sd.verify(f, {z: CLAIM}, assume={"u": "symmetric"})
    with pytest.raises(sd.ArgumentError, match="unknown assumption"):
        sd.verify(f, {z: CLAIM}, assume={"t": "integer"})
    with pytest.raises(sd.ArgumentError, match="assume= maps"):
        sd.verify(f, {z: CLAIM}, assume=["t"])


def test_spellings_and_projection():
    assert spelled("labels(-1, 1)", (3,), "t") == ("labels", (-1.0, 1.0))
    assert spelled("labels(0 1 2)", (3,), "t") == ("labels", (0.0, 1.0, 2.0))
    assert spelled(range(3), (3,), "t") == ("labels", (0.0, 1.0, 2.0))
    assert spelled("simplex", (3,), "t") == ("probability", None)
    t = sd.var("t", (5,), labels=range(3))
    assert labels_of(t) == (0.0, 1.0, 2.0)
    rng = np.random.default_rng(1)
    drawn = np.concatenate([project("labels", rng.normal(size=50), (0.0, 1.0, 2.0))
                            for _ in range(4)])
    assert set(np.unique(drawn)) == {0.0, 1.0, 2.0}


def test_the_command_line_spelling(capsys):
    args = ["verify", LOSS, "--shape", "z=4", "--shape", "t=4", "--notation", "numpy",
            "--claim", f"z={CLAIM}"]
    code, out, err = run(capsys, *args, "--assume", "t=labels(-1, 1)")
    assert code == 0, out + err
    code, out, err = run(capsys, *args)
    assert code == 1 and "--assume 't=labels(-1, 1)'" in out
    code, out, err = run(capsys, *args, "--assume", "t=labels(a, b)")
    assert code != 0 and "labels(...) lists numbers" in err


def test_a_batch_softmax_cross_entropy_needs_probability_rows():
    # one-hot targets of a batch: each row of T sums to 1, and the textbook gradient
    # X.T (softmax(XW) - T)/n holds only then
    X, W = sd.var("X", (4, 3)), sd.var("W", (3, 2))
    claim = "X.T @ (softmax(X @ W, axis=1) - T) / 4"
    for rows in (True, False):
        T = sd.var("T", (4, 2), probability=rows)
        L = -sd.sum(T * sd.log(sd.softmax(X @ W, axis=1))) / 4
        r = sd.verify(L, {W: claim}, notation="numpy")
        assert r.ok == rows, str(r)
        if rows:
            assert "assuming each row of T sums to 1" in str(r)
        else:
            assert "this claim holds if each row of T sums to 1" in str(r)
    p = project("probability", np.array([[1.0, -3.0], [0.0, 0.0]]))
    assert np.allclose(p, [[0.25, 0.75], [0.5, 0.5]])
    with pytest.raises(sd.ArgumentError, match="probability rows"):
        sd.var("T", (2, 2, 2), probability=True)


def test_softmax_and_logsumexp_take_axis_in_text():
    Z = sd.var("Z", (2, 3))
    z0 = np.arange(6.0).reshape(2, 3)
    got = sd.parse("softmax(Z, axis=0)", {"Z": (2, 3)}).eval(Z=z0)
    assert np.allclose(got, sd.softmax(Z, axis=0).eval(Z=z0))
    got = sd.parse("logsumexp(Z, axis=1, keepdims=True)", {"Z": (2, 3)}).eval(Z=z0)
    assert got.shape == (2, 1)
    assert np.allclose(got[:, 0], np.log(np.exp(z0).sum(axis=1)))
