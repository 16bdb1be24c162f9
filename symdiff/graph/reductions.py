"""Reductions of the public API beyond sum and mean: ``sd.max``, ``sd.min``, ``sd.prod``,
``sd.cumsum``, ``sd.variance``, ``sd.std``, ``sd.log_softmax``.

max, min, prod and cumsum are rows of the table; variance, std and log_softmax are graphs
of rows (their closed forms read as the textbook definitions, and their gradients are
those of the rows). ``sd.var`` is the variable constructor, so the variance is
``sd.variance`` (``np.var(node)`` reaches it through ``symdiff.graph.numpy_api``).

May import numpy, ``numeric``, ``symdiff.errors`` and ``symdiff.graph`` (node, params,
values); ``symdiff.graph.ops`` imports it, not the other way round.

>>> import symdiff as sd
>>> sd.max(sd.tensor([[1.0, 5.0], [3.0, 2.0]]), axis=0).data.tolist()
[3.0, 5.0]
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from numeric import NumericShapeError
from numeric.primitives import normalize_axis

from symdiff.errors import ShapeError
from symdiff.graph.node import Node, apply, as_node
from symdiff.graph.params import normalize_axis_param
from symdiff.graph.values import as_flag, as_real, shown


def _reduction(op: str, who: str, x: Any, axis: Any, keepdims: Any) -> Node:
    return apply(op, as_node(x, f"{who}: x"), axis=normalize_axis_param(axis, who),
                 keepdims=as_flag(keepdims, who, "keepdims"))


def max(x: Any, axis: Optional[Any] = None, keepdims: bool = False) -> Node:  # noqa: A001
    """The largest entry over ``axis`` (all axes by default), as ``np.max``. Where several
    entries tie for the maximum, the gradient is split evenly among them (as
    ``torch.amax``); a tie is a kink, which ``sd.check`` reports.

    >>> import symdiff as sd
    >>> x = sd.tensor([1.0, 4.0, 4.0], requires_grad=True)
    >>> m = sd.max(x)
    >>> m.backward(); m.item(), x.grad.tolist()
    (4.0, [0.0, 0.5, 0.5])
    """
    return _reduction("amax", "sd.max", x, axis, keepdims)


def min(x: Any, axis: Optional[Any] = None, keepdims: bool = False) -> Node:  # noqa: A001
    """The smallest entry over ``axis`` (all axes by default), as ``np.min``; ties split
    the gradient evenly (as ``torch.amin``) and are kinks.

    >>> import symdiff as sd
    >>> sd.min(sd.tensor([[1.0, 5.0], [3.0, 2.0]]), axis=1).data.tolist()
    [1.0, 2.0]
    """
    return _reduction("amin", "sd.min", x, axis, keepdims)


def prod(x: Any, axis: Optional[Any] = None, keepdims: bool = False) -> Node:
    """The product over ``axis`` (all axes by default), as ``np.prod``. Its gradient is the
    product of the other entries, computed without dividing, so it is exact where entries
    are 0.

    >>> import symdiff as sd
    >>> x = sd.tensor([2.0, 0.0, 3.0], requires_grad=True)
    >>> p = sd.prod(x)
    >>> p.backward(); p.item(), x.grad.tolist()
    (0.0, [0.0, 6.0, 0.0])
    """
    return _reduction("prod", "sd.prod", x, axis, keepdims)


def _single_axis(axis: Any, ndim: int, who: str, arg: str = "axis") -> int:
    """An int axis, in range for ``ndim`` axes, as a non-negative int (a ShapeError
    naming ``who`` otherwise)."""
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
        raise ShapeError(f"{who}: {arg} must be an int, not {type(axis).__name__} "
                         f"{shown(axis)}")
    try:
        return normalize_axis(int(axis), ndim, who)[0]
    except NumericShapeError as e:
        raise ShapeError(str(e)) from None


def cumsum(x: Any, axis: Optional[int] = None) -> Node:
    """Running sums along ``axis``, as ``np.cumsum``; ``axis=None`` runs over the
    flattened array.

    >>> import symdiff as sd
    >>> sd.cumsum(sd.tensor([[1.0, 2.0], [3.0, 4.0]]), axis=1).data.tolist()
    [[1.0, 3.0], [3.0, 7.0]]
    >>> sd.cumsum(sd.tensor([[1.0, 2.0], [3.0, 4.0]])).data.tolist()
    [1.0, 3.0, 6.0, 10.0]
    """
    x = as_node(x, "sd.cumsum: x")
    if axis is None:
        flat = x if x.ndim == 1 else apply("reshape", x, shape=(x.size,))
        return apply("cumsum", flat, axis=0)
    return apply("cumsum", x, axis=_single_axis(axis, x.ndim, "sd.cumsum"))


def _count(x: Node, axis: Any, who: str) -> tuple[Any, int]:
    """The axis param in the table's form and the number of entries in each group."""
    axis = normalize_axis_param(axis, who)
    try:
        axes = normalize_axis(axis, x.ndim, who)
    except NumericShapeError as e:
        raise ShapeError(str(e)) from None
    return axis, int(np.prod([x.shape[k] for k in axes], dtype=np.int64))


def variance(x: Any, axis: Optional[Any] = None, ddof: float = 0,
             keepdims: bool = False) -> Node:
    """The variance over ``axis`` (all axes by default), as ``np.var``: the mean squared
    deviation from the mean, divided by ``N - ddof`` instead of ``N`` when ``ddof`` is
    given (``ddof=1``: the sample variance). A graph of mean, sub, pow and sum, so its
    closed form is the definition. (``sd.var`` makes variables.)

    >>> import symdiff as sd
    >>> sd.variance(sd.tensor([1.0, 2.0, 3.0, 4.0])).item()
    1.25
    >>> round(sd.variance(sd.tensor([1.0, 2.0, 3.0, 4.0]), ddof=1).item(), 12)
    1.666666666667
    """
    x = as_node(x, "sd.variance: x")
    return _variance(x, axis, ddof, keepdims, "sd.variance")


def _variance(x: Node, axis: Any, ddof: Any, keepdims: Any, who: str) -> Node:
    keepdims = as_flag(keepdims, who, "keepdims")
    ddof = as_real(ddof, who, "ddof")
    axis, n = _count(x, axis, who)
    if n - ddof <= 0:
        raise ShapeError(f"{who}: ddof={ddof:g} leaves no degrees of freedom for groups of "
                         f"{n} entries (N - ddof must be positive)")
    deviation = apply("sub", x, apply("mean", x, axis=axis, keepdims=True))
    squares = apply("pow", deviation, p=2)
    if ddof == 0:
        return apply("mean", squares, axis=axis, keepdims=keepdims)
    return apply("div", apply("sum", squares, axis=axis, keepdims=keepdims), float(n - ddof))


def std(x: Any, axis: Optional[Any] = None, ddof: float = 0, keepdims: bool = False) -> Node:
    """The standard deviation over ``axis``, as ``np.std``: ``sqrt(variance)``. Where the
    variance is 0 (all entries equal) it is not differentiable: sqrt's kink, which
    ``sd.check`` reports.

    >>> import symdiff as sd
    >>> sd.std(sd.tensor([1.0, 3.0])).item()
    1.0
    """
    x = as_node(x, "sd.std: x")
    return apply("sqrt", _variance(x, axis, ddof, keepdims, "sd.std"))


def log_softmax(x: Any, axis: Any = -1) -> Node:
    """``log(softmax(x))`` along ``axis`` (the last by default), computed as
    ``x - logsumexp(x)``, which neither overflows nor takes the log of 0.

    >>> import symdiff as sd
    >>> [round(v, 6) for v in sd.log_softmax(sd.tensor([0.0, 0.0])).data.tolist()]
    [-0.693147, -0.693147]
    """
    x = as_node(x, "sd.log_softmax: x")
    axis = normalize_axis_param(axis, "sd.log_softmax")
    return apply("sub", x, apply("logsumexp", x, axis=axis, keepdims=True))
