"""Olah's graph e = (a + b) * (b + 1) at a = 3, b = 1, with the gradients of every node.

PyTorch ("Introduction to Computational Graphs with PyTorch", after Olah's
"Calculus on Computational Graphs: Backpropagation")::

    a = torch.tensor([3.], requires_grad=True)
    b = torch.tensor([1.], requires_grad=True)
    c = a + b
    d = b + 1
    e = c * d
    c.retain_grad(); d.retain_grad(); e.retain_grad()
    print(e)                                       # tensor([8.], grad_fn=<MulBackward0>)
    e.backward()
    print(a.grad, b.grad, c.grad, d.grad, e.grad)  # [2.] [6.] [2.] [4.] [1.]

Run: ``python examples/05_olah_graph.py``
"""
import sys

import symdiff as sd


def main() -> dict:
    a = sd.tensor([3.0], requires_grad=True, name="a")
    b = sd.tensor([1.0], requires_grad=True, name="b")
    c = a + b
    d = b + 1
    e = c * d

    # grads populated for non-leaf nodes
    c.retain_grad()
    d.retain_grad()
    e.retain_grad()
    print(e)                                          # tensor([8.], grad_fn=<MulBackward>)

    e.backward()
    print(a.grad)                                     # de/da = [2.]
    print(b.grad)                                     # de/db = [6.]
    print(a.grad, b.grad, c.grad, d.grad, e.grad)

    # the closed forms, on scalar variables
    av, bv = sd.var("a"), sd.var("b")
    ev = (av + bv) * (bv + 1)
    print("e =", ev.sympy(), "  de/da =", sd.diff(ev, av).sympy(),
          "  de/db =", sd.diff(ev, bv).sympy())

    report = sd.check(e)
    print(report)
    grads = {k: n.grad.data.copy() for k, n in zip("abcde", (a, b, c, d, e))}
    return {"e": repr(e), "grad": grads, "check": report}


if __name__ == "__main__":
    sys.exit(0 if main()["check"].ok else 1)
