"""Tutorial example 1: f = x**2 + 3 at x = 7, PyTorch style, then the closed-form view.

PyTorch (GeeksforGeeks, "Graphs, Automatic Differentiation and Autograd in PyTorch")::

    x = torch.tensor(7.0, requires_grad=True)
    f = (x**2) + 3
    f.backward()
    print(x.grad)          # tensor(14.)

Run: ``python examples/01_square_plus_three.py``
"""
import sys

import symdiff as sd


def main() -> dict:
    x = sd.tensor(7.0, requires_grad=True, name="x")
    f = (x**2) + 3
    f.backward()
    print(x.grad)                                     # 14.0

    # the same graph as a closed form (SymPy) and its derivative
    print("f     =", f.sympy())                       # x**2 + 3
    print("df/dx =", sd.diff(f, x).sympy())           # 2*x

    # end by checking our own gradient: closed form vs reverse mode vs finite differences
    report = sd.check(f)
    print(report)
    return {"f": f.item(), "x_grad": float(x.grad), "check": report}


if __name__ == "__main__":
    sys.exit(0 if main()["check"].ok else 1)
