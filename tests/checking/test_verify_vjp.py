"""sd.verify_vjp: hand-written backward passes (cs231n style) against the vector-Jacobian
products of the traced forward. Right ones verify; each typical mistake is caught with a
counterexample naming the input (and the dout that shows it); a backward returning the
wrong number or shape of gradients, or raising, gets one clear SymdiffError."""
import dataclasses

import numpy as np
import pytest

import numeric
import symdiff as sd
import handwritten as hw

RNG = np.random.default_rng(231)
N, D, H = 4, 3, 3
X = RNG.standard_normal((N, D))
AFFINE = {"x": X, "w": RNG.standard_normal((D, H)), "b": RNG.standard_normal(H)}
NORM = {"x": X, "gamma": RNG.standard_normal(D), "beta": RNG.standard_normal(D)}
RNN = {"x": X, "prev_h": RNG.standard_normal((N, H)), "Wx": RNG.standard_normal((D, H)),
       "Wh": RNG.standard_normal((H, H)), "b": RNG.standard_normal(H)}


def assert_caught(r, names):
    """Wrong for exactly ``names``, with a confirmed counterexample that names the inputs
    and the dout, the worst entries first."""
    assert not r.ok and r.status == "wrong" and r.wrong == names, str(r)
    assert "dout" in r.counterexample and set(names) <= set(r.counterexample)
    assert {e.variable for e in r.entries} == set(names)
    errors = [e.error for e in r.entries]
    assert errors == sorted(errors, reverse=True)
    text = str(r)
    for name in names:
        assert f"{name}: WRONG (" in text
    assert "symdiff's gradient agrees with finite differences there" in text


def test_affine_layer():
    r = sd.verify_vjp(hw.affine_forward, hw.affine_backward, at=AFFINE)
    assert r.ok and r.status == "verified", str(r)
    text = str(r)
    assert text.splitlines()[0] == "verify affine_backward, the backward pass of affine_forward: OK"
    for k, name in enumerate("xwb"):
        assert f"{name}: verified (checked numerically at {r.points} points)" in text
        assert f"claim            affine_backward(dout, cache)[{k}]" in text
    assert "tolerance: |claim - symdiff| <= 1e-09 + 1e-06*max(|claim|, |symdiff|)" in text
    html = r._repr_html_()
    assert "<table>" in html and "affine_backward(dout, cache)[1]" in html
    assert_caught(sd.verify_vjp(hw.affine_forward, hw.affine_backward_missing_transpose,
                                at=AFFINE, points=10), ["x"])


def test_affine_layer_counterexample_is_the_point_given_in_parameter_order():
    r = sd.verify_vjp(hw.affine_forward, hw.affine_backward_missing_transpose, at=AFFINE,
                      points=5)
    assert list(r.counterexample) == ["x", "w", "b", "dout"]
    for name in "xwb":
        np.testing.assert_array_equal(r.counterexample[name], AFFINE[name])
    dout = r.counterexample["dout"]
    assert dout.shape == (N, H)
    e = r.entries[0]
    assert e.truth == pytest.approx((dout @ AFFINE["w"].T)[e.index])
    assert e.claim == pytest.approx((dout @ AFFINE["w"])[e.index])


def test_relu_layer():
    assert sd.verify_vjp(hw.relu_forward, hw.relu_backward, at={"x": X}).ok
    r = sd.verify_vjp(hw.relu_forward, hw.relu_backward_missing_mask, at={"x": X}, points=5)
    assert_caught(r, ["x"])
    # the entries that differ are exactly those where x < 0 at the counterexample
    x = r.counterexample["x"]
    assert {e.index for e in r.entries} == {tuple(i) for i in np.argwhere(x < 0)}


def test_batchnorm_with_bn_param_and_the_classic_missing_dvar_term():
    bn_param = {"mode": "train", "eps": 1e-5, "momentum": 0.9}
    at = {**NORM, "bn_param": bn_param}
    r = sd.verify_vjp(hw.batchnorm_forward, hw.batchnorm_backward, at=at)
    assert r.ok, str(r)
    assert "held at their values in at: bn_param" in str(r)
    assert bn_param == {"mode": "train", "eps": 1e-5, "momentum": 0.9}   # untouched
    r = sd.verify_vjp(hw.batchnorm_forward, hw.batchnorm_backward_without_dvar, at=at)
    assert_caught(r, ["x"])
    assert "gamma: verified" in str(r) and "beta: verified" in str(r)


def test_layernorm():
    at = {**NORM, "ln_param": {}}
    assert sd.verify_vjp(hw.layernorm_forward, hw.layernorm_backward, at=at).ok
    assert_caught(sd.verify_vjp(hw.layernorm_forward, hw.layernorm_backward_without_xhat_term,
                                at=at, points=10), ["x"])


def test_rnn_step():
    r = sd.verify_vjp(hw.rnn_step_forward, hw.rnn_step_backward, at=RNN)
    assert r.ok and list(r.claims) == ["x", "prev_h", "Wx", "Wh", "b"], str(r)
    assert_caught(sd.verify_vjp(hw.rnn_step_forward, hw.rnn_step_backward_missing_transpose,
                                at=RNN, points=10), ["prev_h"])
    assert_caught(sd.verify_vjp(hw.rnn_step_forward, hw.rnn_step_backward_tanh_derivative,
                                at=RNN, points=5), ["x", "prev_h", "Wx", "Wh", "b"])


# ---- the forms: no cache, wrt, dict, a scalar output ------------------------------------------

def test_a_forward_without_cache_gets_backward_called_with_the_inputs():
    def forward(x, w):
        return np.tanh(x @ w)

    def backward(dout, x, w):
        da = dout * (1 - np.tanh(x @ w) ** 2)
        return da @ w.T, x.T @ da

    at = {"x": X, "w": AFFINE["w"]}
    r = sd.verify_vjp(forward, backward, at=at)
    assert r.ok and r.texts["w"] == "backward(dout, x, w)[1]", str(r)
    r = sd.verify_vjp(forward, lambda dout, x, w: (backward(dout, x, w)[0], x.T @ dout),
                      at=at, points=5)
    assert r.wrong == ["w"]


def test_wrt_picks_inputs_and_a_full_tuple_is_read_by_position():
    # backward returns (dx, dw, db); wrt=["w"] checks dw alone
    r = sd.verify_vjp(hw.affine_forward, hw.affine_backward, at=AFFINE, wrt=["w"])
    assert r.ok and list(r.claims) == ["w"]
    r = sd.verify_vjp(hw.affine_forward, hw.affine_backward_missing_transpose, at=AFFINE,
                      wrt=["w", "b"])
    assert r.ok        # the wrong dx is not asked about
    # a backward returning only the wrt gradient; and a dict by name
    assert sd.verify_vjp(hw.affine_forward, lambda d, c: c[0].T @ d, at=AFFINE, wrt="w").ok
    assert sd.verify_vjp(hw.affine_forward,
                         lambda d, c: dict(zip("xwb", hw.affine_backward(d, c))), at=AFFINE).ok


def test_a_scalar_output_and_a_parameter_named_dout():
    def forward(dout, w):          # a parameter named dout: the cotangent gets another name
        return (dout * w).sum(), (dout, w)

    r = sd.verify_vjp(forward, lambda g, c: g * c[0], at={"dout": X[0], "w": X[1]}, wrt=["w"])
    assert r.ok and "dout_" in r.at, str(r)


def test_a_symdiff_bug_is_reported_not_blamed_on_the_backward(monkeypatch):
    wrong = dataclasses.replace(numeric.PRIMITIVES["tanh"], forward=lambda x: 1.5 * np.tanh(x))
    monkeypatch.setitem(numeric.PRIMITIVES, "tanh", wrong)
    r = sd.verify_vjp(hw.rnn_step_forward, hw.rnn_step_backward, at=RNN, points=3)
    assert r.status == "symdiff disagrees with finite differences" and r.wrong == []
    assert "bug in symdiff" in r.problems[0]


# ---- bad input: one clear SymdiffError ------------------------------------------------------

def test_a_backward_returning_the_wrong_number_or_shape():
    with pytest.raises(sd.GradientCodeError, match=r"affine_backward_two_gradients returned 2 "
                       r"values; expected a tuple of 3 arrays: the gradients of x, w, b in "
                       r"affine_forward's parameter order"):
        sd.verify_vjp(hw.affine_forward, hw.affine_backward_two_gradients, at=AFFINE)
    with pytest.raises(sd.ShapeError, match=r"affine_backward_keepdims returned an array of "
                                            r"shape \(1, 3\) for b, which has shape \(3,\)"):
        sd.verify_vjp(hw.affine_forward, hw.affine_backward_keepdims, at=AFFINE)
    with pytest.raises(sd.GradientCodeError, match="returned None for w"):
        sd.verify_vjp(hw.affine_forward, lambda d, c: (d @ c[1].T, None, d.sum(0)), at=AFFINE)
    with pytest.raises(sd.GradientCodeError, match=r"returned 2 values.*\(or of all of x, w, "
                                                   r"b\)"):
        sd.verify_vjp(hw.affine_forward, hw.affine_backward_two_gradients, at=AFFINE,
                      wrt=["w"])


def test_a_backward_that_raises_or_a_bad_forward():
    def broken(dout, cache):
        raise KeyError("cache")

    with pytest.raises(sd.GradientCodeError, match=r"^broken raised KeyError \(at "
                       r"test_verify_vjp.py:\d+, in broken\) at x = "):
        sd.verify_vjp(hw.affine_forward, broken, at=AFFINE)
    with pytest.raises(sd.ArgumentError, match=r"takes \*inputs"):
        sd.verify_vjp(lambda *inputs: inputs[0], broken, at={"x": X})
    with pytest.raises(sd.GradientCodeError, match="returned a tuple of 3 values; expected "
                                                   r"out, or \(out, cache\)"):
        sd.verify_vjp(lambda x: (x, x, x), broken, at={"x": X})
    with pytest.raises(sd.ArgumentError, match="missing a required argument: 'b'"):
        sd.verify_vjp(hw.affine_forward, hw.affine_backward, at={"x": X, "w": AFFINE["w"]})
    with pytest.raises(sd.ArgumentError, match="backward must be a function"):
        sd.verify_vjp(hw.affine_forward, None, at=AFFINE)


# ---- after the merges of issue 14 (np.mean: dispatch; np.var: shapes) -------------------------

def test_batchnorm_written_with_np_mean_and_np_var():
    at = {**NORM, "bn_param": {"eps": 1e-5}}
    assert sd.verify_vjp(hw.batchnorm_forward_numpy, hw.batchnorm_backward, at=at).ok
    assert_caught(sd.verify_vjp(hw.batchnorm_forward_numpy, hw.batchnorm_backward_without_dvar,
                                at=at, points=10), ["x"])
