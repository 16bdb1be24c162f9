"""Tutorial example 3: a linear model y = w*x + b with random inputs, and one SGD step.

PyTorch (GeeksforGeeks)::

    x = torch.randn(1, requires_grad=True)
    w = torch.randn(1, requires_grad=True)
    b = torch.randn(1, requires_grad=True)
    y = w * x + b
    y.backward()
    print("Gradient of x:", x.grad)      # equals w
    print("Gradient of b:", b.grad)      # 1
    print("Gradient of w:", w.grad)      # equals x
    w.data -= 0.01 * w.grad.data
    b.data -= 0.01 * b.grad.data

``sd.manual_seed`` plays the part of ``torch.manual_seed``: the same seed, the same numbers.
``main(seed)`` returns the arrays, so tests can redo the computation by hand.

Run: ``python examples/03_linear_regression.py``
"""
import sys

import symdiff as sd


def main(seed: int = 0) -> dict:
    sd.manual_seed(seed)
    x = sd.randn(1, requires_grad=True, name="x")
    w = sd.randn(1, requires_grad=True, name="w")
    b = sd.randn(1, requires_grad=True, name="b")
    start = {"x": x.data.copy(), "w": w.data.copy(), "b": b.data.copy()}

    y = w * x + b
    y.backward()
    print("x =", x.data, " w =", w.data, " b =", b.data, " y =", y.data)
    print("Gradient of x:", x.grad)
    print("Gradient of b:", b.grad)
    print("Gradient of w:", w.grad)
    grads = {"x": x.grad.data.copy(), "w": w.grad.data.copy(), "b": b.grad.data.copy()}

    # the closed forms, on scalar variables of the same names
    xs, ws, bs = sd.var("x"), sd.var("w"), sd.var("b")
    ys = ws * xs + bs
    print("y =", ys.sympy(), "  dy/dx =", sd.diff(ys, xs).sympy(),
          "  dy/dw =", sd.diff(ys, ws).sympy(), "  dy/db =", sd.diff(ys, bs).sympy())

    report = sd.check(y)      # before the step: the gradients above are for these values
    print(report)

    # one step of gradient descent, as in the tutorial
    w.data -= 0.01 * w.grad.data
    b.data -= 0.01 * b.grad.data
    print("after one SGD step: w =", w.data, " b =", b.data)
    return {"start": start, "y": y.data.copy(), "grad": grads,
            "updated": {"w": w.data.copy(), "b": b.data.copy()}, "check": report}


if __name__ == "__main__":
    sys.exit(0 if main(0)["check"].ok else 1)
