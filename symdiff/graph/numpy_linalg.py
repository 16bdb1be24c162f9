"""numpy's contractions, linear algebra and integer indexing on Nodes (``np.einsum``,
``np.tensordot``, ``np.outer``, ``np.inner``, ``np.vdot``, ``np.linalg.solve/slogdet/
cholesky/norm``, ``np.trace`` with offsets, ``np.take``, ``np.take_along_axis``): numpy's
signatures, registered in ``symdiff.graph.numpy_api``; ``symdiff.graph.linalg`` does the
work. ``out=`` (a buffer a graph cannot write) is refused by name. Imported (for its
registrations) by ``symdiff.graph.dispatch``.

May import numpy, ``symdiff.errors`` and ``symdiff.graph``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from symdiff.graph.numpy_api import implements

def _no_out(name: str, out: Any) -> None:
    from symdiff.errors import UnsupportedError
    if out is not None:
        raise UnsupportedError(f"{name}: out= is not supported on symdiff Nodes (a graph "
                               "writes no buffers); use the returned Node")


def _node(x: Any, what: str) -> Any:
    from symdiff.graph.node import as_node
    return as_node(x, what)


@implements(np.einsum)
def _einsum(*operands: Any, out: Any = None, dtype: Any = None, order: Any = "K",
            casting: Any = "safe", optimize: Any = False) -> Any:
    from symdiff.graph.linalg import einsum
    _no_out("numpy.einsum", out)
    if not operands:
        from symdiff.errors import ArgumentError
        raise ArgumentError("numpy.einsum: no subscripts")
    return einsum(*operands)


@implements(np.tensordot)
def _tensordot(a: Any, b: Any, axes: Any = 2) -> Any:
    from symdiff.graph.linalg import tensordot
    return tensordot(a, b, axes)


@implements(np.outer)
def _outer(a: Any, b: Any, out: Any = None) -> Any:
    from symdiff.graph.linalg import outer
    _no_out("numpy.outer", out)
    return outer(a, b)


@implements(np.inner)
def _inner(a: Any, b: Any) -> Any:
    from symdiff.graph.linalg import inner
    return inner(a, b)


@implements(np.vdot)
def _vdot(a: Any, b: Any) -> Any:
    # real arrays: the sum of the products of the flattened arrays
    from symdiff.graph.node import apply
    a, b = _node(a, "numpy.vdot: a"), _node(b, "numpy.vdot: b")
    flat = [x if x.ndim == 1 else apply("reshape", x, shape=(x.size,)) for x in (a, b)]
    return apply("einsum", *flat, subscripts="i,i->")


@implements(np.linalg.solve)
def _solve(a: Any, b: Any) -> Any:
    from symdiff.graph.linalg import solve
    return solve(a, b)


@implements(np.linalg.slogdet)
def _slogdet(a: Any) -> Any:
    from symdiff.graph.linalg import slogdet
    return slogdet(a)


@implements(np.linalg.cholesky)
def _cholesky(a: Any, /, *, upper: bool = False) -> Any:
    from symdiff.graph.linalg import cholesky
    return cholesky(a, upper=upper)


@implements(np.linalg.norm)
def _norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A002
    from symdiff.graph.linalg import norm
    return norm(x, ord=ord, axis=axis, keepdims=keepdims)


@implements(np.trace)
def _trace(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype: Any = None,
           out: Any = None) -> Any:
    # a matrix: the trace row (Trace(A)); offsets and other axes: the diagonal gathered
    # (as numpy.diagonal selects it) and summed over its last axis
    from symdiff.errors import ShapeError
    from symdiff.graph.linalg import gather
    from symdiff.graph.node import apply
    _no_out("numpy.trace", out)
    a = _node(a, "numpy.trace: a")
    if a.ndim == 2 and a.shape[0] == a.shape[1] and offset == 0 and \
            {axis1 % 2, axis2 % 2} == {0, 1}:
        return apply("trace", a)
    ids = np.arange(a.size, dtype=np.int64).reshape(a.shape)
    try:
        pos = np.diagonal(ids, offset, axis1, axis2)
    except (ValueError, TypeError, np.exceptions.AxisError) as e:
        raise ShapeError(f"numpy.trace: {e} (array shape {a.shape})") from None
    return apply("sum", gather(a, pos), axis=-1, keepdims=False)


@implements(np.take)
def _take(a: Any, indices: Any, axis: Any = None, out: Any = None, mode: str = "raise") -> Any:
    from symdiff.errors import UnsupportedError
    from symdiff.graph.linalg import take
    _no_out("numpy.take", out)
    if mode != "raise":
        raise UnsupportedError(f"numpy.take: mode={mode!r} is not supported (only 'raise')")
    return take(a, indices, axis)


@implements(np.take_along_axis)
def _take_along_axis(arr: Any, indices: Any, axis: Any = -1) -> Any:
    from symdiff.graph.linalg import take_along_axis
    return take_along_axis(arr, indices, axis)
