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
AssertionError: verify f = (1.T*HadamardPower(A*x - b, 2))[0, 0]: WRONG
...

In a pytest file::

    def test_my_layer_gradient():
        W, v = sd.var("W", (2, 3)), sd.var("v", (3,))
        assert_gradient(sd.sum(sd.tanh(W @ v)), {"v": "W.T*(1 - HadamardPower(tanh.(W*v), 2))"})

A top-layer module: may import ``symdiff.checking`` (and anything below it).
"""
from __future__ import annotations

from typing import Any, Mapping

from symdiff.checking.verify import VerifyReport, verify

__all__ = ["assert_gradient"]


def assert_gradient(f: Any, claims: Mapping[Any, Any], **kwargs: Any) -> VerifyReport:
    """Assert that the claimed derivatives of scalar ``f`` are right (``sd.verify``).

    ``claims`` maps variables (names or nodes) to claimed derivatives (text in symdiff's
    matrix notation, SymPy expressions or Nodes); ``kwargs`` go to ``sd.verify`` (``at``,
    ``seed``, ``points``, ``atol``, ``rtol``). Returns the report when every claim is
    verified; raises ``AssertionError`` whose message is the report otherwise (a wrong
    claim, a point ``at`` where f is not differentiable, or no point in f's domain).
    Errors in the claims themselves (unreadable text, wrong shapes) raise symdiff's own
    exceptions (``sd.ParseError``, ``sd.ShapeError``), as a bug in the test would.

    >>> import symdiff as sd
    >>> x = sd.var("x")
    >>> assert_gradient(x**3, {x: "3*x**2"}).status
    'verified'
    """
    __tracebackhide__ = True  # pytest: show the report, not this frame
    report = verify(f, claims, **kwargs)
    if not report.ok:
        raise AssertionError(str(report))
    return report
