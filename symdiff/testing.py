"""Helpers for users' own test suites (as ``numpy.testing`` and ``torch.testing``).

``assert_gradient(f, claims)`` runs ``sd.verify`` and fails the test with the verify
report as the message, so a wrong hand-derived gradient shows the claim, symdiff's
gradient, their symbolic difference and a point where they differ:

>>> import symdiff as sd
>>> from symdiff.testing import assert_gradient
>>> A, x, b = sd.var("A", (3, 2)), sd.var("x", (2,)), sd.var("b", (3,))
>>> loss = sd.sum((A @ x - b) ** 2)
>>> report = assert_gradient(loss, {"x": "2*A.T*(A*x - b)"})   # passes, returns the report
>>> report.ok
True
>>> assert_gradient(loss, {"x": "A.T*(A*x - b)"})   # the factor 2 is missing
Traceback (most recent call last):
...
AssertionError: verify f = norm(A*x - b)**2: WRONG
...

In a pytest file::

    def test_my_layer_gradient():
        W, v = sd.var("W", (2, 3)), sd.var("v", (3,))
        assert_gradient(sd.sum(sd.tanh(W @ v)), {"v": "W.T*(1 - HadamardPower(tanh.(W*v), 2))"})

Gradient code and backward passes written by hand are checked the same way
(``sd.verify`` with functions, ``sd.verify_vjp``)::

    def test_logistic_gradient():
        assert_gradient(loss, grad_loss, at={"w": w0, "X": X, "t": t}, wrt=["w"])

    def test_affine_backward():
        assert_vjp(affine_forward, affine_backward, at={"x": x, "w": w, "b": b})

A top-layer module: may import ``symdiff.checking`` (and anything below it).
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from symdiff.checking.verify import VerifyReport, verify
from symdiff.checking.vjp import verify_vjp

__all__ = ["assert_gradient", "assert_vjp"]


def assert_gradient(f: Any, claims: Any, **kwargs: Any) -> VerifyReport:
    """Assert that the claimed derivatives of scalar ``f`` are right (``sd.verify``).

    ``claims`` maps variables (names or nodes) to claimed derivatives (text in symdiff's
    matrix notation, SymPy expressions, Nodes, or functions computing them), or is one
    function computing the gradient; ``f`` may be a Python function (then give ``at`` and,
    usually, ``wrt``). ``kwargs`` go to ``sd.verify`` (``at``, ``wrt``, ``seed``,
    ``points``, ``atol``, ``rtol``). Returns the report when every claim is
    verified; raises ``AssertionError`` whose message is the report otherwise (a wrong
    claim, a point ``at`` where f is not differentiable, or no point in f's domain).
    Errors in the claims themselves (unreadable text, wrong shapes) raise symdiff's own
    exceptions (``sd.ParseError``, ``sd.ShapeError``), as a bug in the test would.

    >>> import symdiff as sd
    >>> x = sd.var("x")
    >>> assert_gradient(x**3, {x: "3*x**2"}).status
    'verified'
    >>> import numpy as np
    >>> assert_gradient(lambda w: (w ** 3).sum(), lambda w: 3 * w ** 2,
    ...                 at={"w": np.array([1.0, -2.0])}).ok
    True
    """
    __tracebackhide__ = True  # pytest: show the report, not this frame
    report = verify(f, claims, **kwargs)
    if not report.ok:
        raise AssertionError(str(report))
    return report


def assert_vjp(forward: Callable, backward: Callable, at: Mapping[str, Any],
               **kwargs: Any) -> VerifyReport:
    """Assert that a hand-written backward pass is right (``sd.verify_vjp``): returns the
    report, or raises ``AssertionError`` whose message is the report. Bad code (a backward
    returning the wrong number or shape of gradients, or raising) raises symdiff's own
    errors, as a bug in the test would. ``kwargs`` go to ``sd.verify_vjp`` (``wrt``,
    ``points``, ``seed``, ``atol``, ``rtol``).

    >>> import numpy as np
    >>> def relu_forward(x):
    ...     return np.maximum(0, x), x
    >>> def relu_backward(dout, x):
    ...     return dout * (x > 0)
    >>> assert_vjp(relu_forward, relu_backward, at={"x": np.array([1.0, -1.0])}).ok
    True
    >>> assert_vjp(relu_forward, lambda dout, x: dout, at={"x": np.array([1.0, -1.0])})
    Traceback (most recent call last):
    ...
    AssertionError: verify <lambda>, the backward pass of relu_forward: WRONG
    ...
    """
    __tracebackhide__ = True
    report = verify_vjp(forward, backward, at=at, **kwargs)
    if not report.ok:
        raise AssertionError(str(report))
    return report
