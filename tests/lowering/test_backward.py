"""PyTorch habits on bound graphs: backward, grad accumulation, retain_grad, grad_fn."""
import importlib.util
import warnings

import numpy as np
import pytest

import symdiff as sd

HAS_TORCH = importlib.util.find_spec("torch") is not None


def olah():
    a = sd.tensor([3.0], requires_grad=True, name="a")
    b = sd.tensor([1.0], requires_grad=True, name="b")
    c = a + b
    d = b + 1
    e = c * d
    return a, b, c, d, e


def test_olah_example_with_retain_grad():
    a, b, c, d, e = olah()
    c.retain_grad()
    d.retain_grad()
    e.retain_grad()
    assert repr(e) == "tensor([8.], grad_fn=<MulBackward>)"
    e.backward()
    assert [g.tolist() for g in (a.grad, b.grad, c.grad, d.grad, e.grad)] == \
        [[2.0], [6.0], [2.0], [4.0], [1.0]]
    assert e.grad_fn == "MulBackward" and c.grad_fn == "AddBackward"
    assert a.grad_fn is None and a.is_leaf and not e.is_leaf
    assert [f for f, _ in e.grad_fn.next_functions] == ["AddBackward", "AddBackward"]
    assert c.grad_fn.next_functions[0] == ("AccumulateGrad", a)


def test_grad_of_interior_without_retain_is_none_with_warning():
    a, b, c, d, e = olah()
    e.backward()
    with pytest.warns(UserWarning, match="retain_grad"):
        assert c.grad is None


def test_grad_accumulates_like_pytorch_and_can_be_reset():
    x = sd.tensor(7.0, requires_grad=True, name="x")
    (x**2 + 3).backward()
    (x**2 + 3).backward()
    assert x.grad.item() == 28.0          # two backward calls add up
    f = x * 3
    f.backward()
    f.backward()                           # the same graph twice also accumulates
    assert x.grad.item() == 34.0
    x.grad = None
    f.backward()
    assert x.grad.item() == 3.0
    x.zero_grad(set_to_none=False)
    assert x.grad.item() == 0.0
    x.zero_grad()
    assert x.grad is None


def test_sgd_step_with_data_idiom_updates_later_forwards():
    w = sd.tensor([2.0], requires_grad=True, name="w")
    x = sd.tensor([5.0], name="x")
    y = w * x
    y.backward()
    assert w.grad.tolist() == [5.0]
    w.data -= 0.01 * w.grad.data
    assert w.data.tolist() == [1.95]
    assert (w * x).item() == pytest.approx(9.75)
    w.grad.zero_()
    assert w.grad.tolist() == [0.0]


def test_backward_needs_gradient_for_non_scalar():
    x = sd.tensor([1.0, 2.0, 3.0], requires_grad=True, name="x")
    y = x * 2
    with pytest.raises(sd.BackwardError, match=r"shape \(3,\).*gradient="):
        y.backward()
    y.backward(gradient=[1.0, 2.0, 3.0])
    assert x.grad.tolist() == [2.0, 4.0, 6.0]
    with pytest.raises(sd.ShapeError, match=r"expected shape \(3,\)"):
        y.backward(gradient=[1.0, 2.0])
    # one-element outputs of any shape imply a gradient of ones, as in PyTorch
    z = sd.reshape(sd.sum(x), (1, 1))
    z.backward()
    assert x.grad.tolist() == [3.0, 5.0, 7.0]


def test_backward_errors_are_clear():
    t = sd.tensor([1.0], name="t")
    with pytest.raises(sd.BackwardError, match="requires_grad=True"):
        (t * 2).backward()
    x = sd.var("x")
    with pytest.raises(sd.MissingVariableError, match="'x' has no value"):
        (x * sd.tensor(2.0, requires_grad=True, name="k")).backward()
    with pytest.raises(sd.SymdiffError, match="does not require grad"):
        (t * 2).retain_grad()
    with pytest.raises(sd.ShapeError, match="2 elements"):
        sd.tensor([1.0, 2.0]).item()


def test_only_tensors_that_require_grad_get_grads():
    w = sd.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True, name="w")
    x = sd.tensor([1.0, -1.0], name="x")
    y = sd.sum(sd.tanh(w @ x))
    y.backward()
    assert x.grad is None
    expected = np.outer(1 - np.tanh(np.array([[1.0, 2.0], [3.0, 4.0]]) @ [1.0, -1.0]) ** 2, [1.0, -1.0])
    np.testing.assert_allclose(w.grad, expected, rtol=1e-14)


def _mlp(lib, arrays):
    """The seed's one-hidden-layer network in either library."""
    x, w1, b1, w2, b2 = arrays
    h = lib.relu(x @ w1 + b1)
    return h @ w2 + b2


def _arrays(seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in [(1, 10), (10, 5), (5,), (5, 1), (1,)]]


def _numpy_backprop(x, w1, b1, w2, b2):
    pre = x @ w1 + b1
    h = np.maximum(pre, 0)
    gy = np.ones((1, 1))
    gw2 = h.T @ gy
    gb2 = gy.sum(axis=0)
    gh = gy @ w2.T
    gpre = gh * (pre > 0)
    return [gpre @ w1.T, x.T @ gpre, gpre.sum(axis=0), gw2, gb2]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_one_hidden_layer_against_handwritten_backprop(seed):
    arrays = _arrays(seed)
    leaves = [sd.tensor(a, requires_grad=True, name=n) for a, n in zip(arrays, ["x", "w1", "b1", "w2", "b2"])]
    y = _mlp(sd, leaves)
    y.backward()
    for leaf, expected in zip(leaves, _numpy_backprop(*arrays)):
        np.testing.assert_allclose(leaf.grad, expected, rtol=1e-13, atol=1e-15)


@pytest.mark.skipif(not HAS_TORCH, reason="PyTorch is not installed (pip install torch==2.13.0)")
@pytest.mark.parametrize("seed", [0, 1])
def test_against_pytorch(seed):
    import torch

    arrays = _arrays(seed)
    leaves = [sd.tensor(a, requires_grad=True, name=n) for a, n in zip(arrays, ["x", "w1", "b1", "w2", "b2"])]
    tleaves = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    _mlp(sd, leaves).backward()
    _mlp(torch, tleaves).backward()
    for leaf, t in zip(leaves, tleaves):
        np.testing.assert_allclose(leaf.grad, t.grad.numpy(), rtol=1e-12, atol=1e-15)
    # the kink conventions match PyTorch's
    for f_sd, f_t in [(sd.relu, torch.relu), (sd.abs, torch.abs)]:
        x = sd.tensor([0.0, -1.0, 2.0], requires_grad=True, name="x")
        tx = torch.tensor([0.0, -1.0, 2.0], dtype=torch.float64, requires_grad=True)
        sd.sum(f_sd(x)).backward()
        f_t(tx).sum().backward()
        np.testing.assert_array_equal(x.grad, tx.grad.numpy())
    x = sd.tensor([1.0, 2.0], requires_grad=True, name="x")
    tx = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    sd.sum(sd.maximum(x, 1.0)).backward()
    torch.maximum(tx, torch.tensor(1.0, dtype=torch.float64)).sum().backward()
    np.testing.assert_array_equal(x.grad, tx.grad.numpy())


def test_no_warning_for_leaf_grad_access():
    x = sd.tensor(1.0, requires_grad=True, name="x")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert x.grad is None


def test_retain_grad_after_a_first_backward_is_honoured():
    a, b, c, d, e = olah()
    e.backward()
    c.retain_grad()          # asked for only now: the next backward must keep it
    e.backward()
    assert c.grad.tolist() == [2.0]
    assert a.grad.tolist() == [4.0]   # and the leaves kept accumulating
