"""Tutorial example 2: f(x) = x**3 + 7x**2 + 5x + 10 on a 3x3 tensor, z = f(x).sum().

PyTorch (GeeksforGeeks)::

    x = torch.tensor([[1., 2., 3.], [4., 5., 6.], [7., 8., 9.]], requires_grad=True)
    def f(x):
        return (x**3) + 7*(x**2) + 5*x + 10
    z = f(x).sum()
    z.backward()
    print(x.grad)          # [[22, 45, 74], [109, 150, 197], [250, 309, 374]]

The gradient of a sum of an elementwise f is f' elementwise: 3x**2 + 14x + 5.

Run: ``python examples/02_cubic_polynomial.py``
"""
import sys

import symdiff as sd


def f(x):
    return (x**3) + 7*(x**2) + 5*x + 10


def main() -> dict:
    x = sd.tensor([[1.0, 2.0, 3.0],
                   [4.0, 5.0, 6.0],
                   [7.0, 8.0, 9.0]], requires_grad=True, name="x")
    z = f(x).sum()
    z.backward()
    print(x.grad)

    # the closed form of f' on one element (a scalar variable)
    t = sd.var("t")
    print("f(t)  =", f(t).sympy())                    # t**3 + 7*t**2 + 5*t + 10
    print("f'(t) =", sd.diff(f(t), t).sympy())        # 3*t**2 + 14*t + 5

    report = sd.check(z)
    print(report)
    return {"z": z.item(), "x_grad": x.grad.data.copy(), "check": report}


if __name__ == "__main__":
    sys.exit(0 if main()["check"].ok else 1)
