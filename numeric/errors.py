"""Exceptions raised by the numeric layer.

symdiff re-raises these as members of its own ``SymdiffError`` hierarchy, adding the
variable names it knows; used on their own they already name the op and the shapes.
"""
from __future__ import annotations


class NumericError(Exception):
    """Base class of every error the numeric layer raises on purpose."""


class NumericShapeError(NumericError, ValueError):
    """Shapes that an op's shape rule rejects, or an input of the wrong shape.

    >>> from numeric.primitives import PRIMITIVES
    >>> try:
    ...     PRIMITIVES["add"].shape((2,), (3,))
    ... except NumericShapeError as e:
    ...     print(e.op)
    add
    """

    def __init__(self, message: str, op: str | None = None, shapes: tuple = ()):
        super().__init__(message)
        self.op = op
        self.shapes = shapes


class GradientCheckError(NumericError, AssertionError):
    """Reverse mode and finite differences disagree (raised by ``check_grads``)."""
