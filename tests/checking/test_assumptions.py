"""Assumptions (issue 15): sd.var(..., symmetric=True / probability=True) in points, proofs and
printed gradients, --assume on the command line, and the hint when a claim needs one."""
import numpy as np
import pytest

import symdiff as sd
from cli_util import run


def nll(symmetric):
    S = sd.var("S", (3, 3), symmetric=symmetric)
    x, m = sd.var("x", (3,)), sd.var("m", (3,))
    d = x - m
    return 0.5 * sd.logdet(S) + 0.5 * (d @ sd.inv(S) @ d), S


SYMMETRIC_FORM = "0.5*S**(-1) - 0.5*S**(-1)*(x - m)*(x - m).T*S**(-1)"


def test_the_gaussian_nll_gradient_prints_the_symmetric_form():
    f, S = nll(True)
    text = str(sd.diff(f, S).sympy())
    assert "S.T" not in text and "S**(-1)" in text
    r = sd.verify(f, {S: SYMMETRIC_FORM})
    assert r.ok and r.how["S"].startswith("proven by SymPy"), str(r)


def test_without_the_assumption_the_claim_is_refused_with_the_hint():
    f, S = nll(False)
    r = sd.verify(f, {S: SYMMETRIC_FORM})
    assert not r.ok
    assert "this claim holds if S is symmetric" in str(r) and "symmetric=True" in str(r)


@pytest.mark.parametrize("spelling", ["probability", "simplex", None])
def test_softmax_minus_t_needs_a_probability_vector(spelling):
    z = sd.var("z", (3,))
    t = sd.var("t", (3,), **({spelling: True} if spelling else {}))
    r = sd.verify(-sd.sum(t * sd.log(sd.softmax(z))), {z: "softmax(z) - t"})
    assert r.ok == bool(spelling), str(r)
    assert ("this claim holds if sum(t) = 1" in str(r)) == (not spelling)
    if spelling:
        assert "assuming sum(t) = 1" in str(r)
    else:
        assert "sd.var('t', (3,), probability=True)" in str(r)


def test_points_respect_the_assumptions():
    S, t = sd.var("S", (3, 3), symmetric=True), sd.var("t", (4,), simplex=True)
    seen = []
    r = sd.verify(sd.sum(S * S) + sd.sum(t ** 2), {S: "2*S", t: "2*t"})
    assert r.ok
    from symdiff.graph.assumptions import project
    rng = np.random.default_rng(0)
    for _ in range(5):
        a = project("symmetric", rng.normal(size=(3, 3)))
        p = project("simplex", rng.normal(size=4))
        seen.append((np.allclose(a, a.T), np.isclose(p.sum(), 1.0) and (p >= 0).all()))
    assert all(all(s) for s in seen)


def test_bad_assumptions_are_refused():
    with pytest.raises(sd.ArgumentError, match="square matrix"):
        sd.var("S", (3, 2), symmetric=True)
    with pytest.raises(sd.ArgumentError, match="vector"):
        sd.var("t", (2, 2, 2), simplex=True)
    with pytest.raises(sd.ArgumentError, match="one assumption"):
        sd.var("t", (2, 2), simplex=True, symmetric=True)


def test_the_command_line_spelling(capsys):
    args = ["verify", "-sum(t*log(softmax(z)))", "--shape", "z=3", "--shape", "t=3",
            "--claim", "z=softmax(z) - t"]
    for kind in ("simplex", "probability"):
        code, out, err = run(capsys, *args, "--assume", f"t={kind}")
        assert code == 0, out + err
    code, out, err = run(capsys, *args)
    assert code == 1 and "--assume t=probability" in out
    code, out, err = run(capsys, *args, "--assume", "t=round")
    assert code != 0 and "unknown assumption" in err
