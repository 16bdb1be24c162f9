"""Tutorial example 4: a network with one hidden layer, y = relu(x @ w1 + b1) @ w2 + b2.

PyTorch (GeeksforGeeks)::

    x = torch.randn(1, 10, requires_grad=True)
    w1 = torch.randn(10, 5, requires_grad=True)
    b1 = torch.randn(5, requires_grad=True)
    h = x @ w1 + b1
    h = torch.relu(h)
    w2 = torch.randn(5, 1, requires_grad=True)
    b2 = torch.randn(1, requires_grad=True)
    y = h @ w2 + b2
    y.backward()
    print("Gradient of w1:", w1.grad)  ... and b1, w2, b2
    w1.data -= 0.01 * w1.grad.data     ... and b1, w2, b2

``main(seed)`` returns the arrays, so tests can redo the backward pass by hand in numpy.

Run: ``python examples/04_one_hidden_layer.py``
"""
import sys

import numpy as np

import symdiff as sd

NAMES = ("x", "w1", "b1", "w2", "b2")


def main(seed: int = 0) -> dict:
    sd.manual_seed(seed)
    x = sd.randn(1, 10, requires_grad=True, name="x")
    w1 = sd.randn(10, 5, requires_grad=True, name="w1")
    b1 = sd.randn(5, requires_grad=True, name="b1")
    h = x @ w1 + b1
    h = sd.relu(h)
    w2 = sd.randn(5, 1, requires_grad=True, name="w2")
    b2 = sd.randn(1, requires_grad=True, name="b2")
    y = h @ w2 + b2
    params = dict(zip(NAMES, (x, w1, b1, w2, b2)))
    start = {k: p.data.copy() for k, p in params.items()}

    y.backward()
    with np.printoptions(precision=4, suppress=True):
        print("y =", y.data)
        print("Gradient of w1:", w1.grad)
        print("Gradient of b1:", b1.grad)
        print("Gradient of w2:", w2.grad)
        print("Gradient of b2:", b2.grad)
    grads = {k: p.grad.data.copy() for k, p in params.items()}

    # the closed forms: matrix calculus on variables of the same shapes
    # (relu' is the step function Heaviside(t, 0); the dot in f.(X) means "elementwise")
    v = {k: sd.var(k, p.shape) for k, p in params.items()}
    ys = sd.relu(v["x"] @ v["w1"] + v["b1"]) @ v["w2"] + v["b2"]
    for k in ("w1", "b1", "w2", "b2"):
        print(f"dy/d{k} =", sd.diff(ys, v[k]).sympy())

    report = sd.check(y)      # before the step: the gradients above are for these values
    print("gradient check:", "OK" if report.ok else report)

    w1.data -= 0.01 * w1.grad.data
    b1.data -= 0.01 * b1.grad.data
    w2.data -= 0.01 * w2.grad.data
    b2.data -= 0.01 * b2.grad.data
    return {"start": start, "y": y.data.copy(), "grad": grads,
            "updated": {k: params[k].data.copy() for k in ("w1", "b1", "w2", "b2")},
            "check": report}


if __name__ == "__main__":
    sys.exit(0 if main(0)["check"].ok else 1)
