"""numpy's everyday functions on Nodes: sum, mean, where, dot, matmul, transpose, reshape,
ravel, broadcast_to, det, inv, ndim/shape/size, the ``*_like`` constants, copy, and var/std
(graphs of rows). numpy's signatures, registered in ``symdiff.graph.numpy_api`` with the
shared argument checks there. Imported (for its registrations) by
``symdiff.graph.dispatch``.

May import numpy, ``numeric``, ``symdiff.errors`` and ``symdiff.graph``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from symdiff.errors import ArgumentError, UnsupportedError
from symdiff.graph import ops
from symdiff.graph.node import Node, as_node, const
from symdiff.graph.params import as_axes, as_shape
from symdiff.graph.values import as_real, shown
from symdiff.graph.numpy_api import UNSET, available, float_dtype, implements, no_out, no_where, refuse

@implements(np.sum, note="axis (None, int, tuple), keepdims, initial; dtype None/float64")
def _sum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: Any = False,
         initial: Any = UNSET, where: Any = UNSET) -> Node:
    no_out("numpy.sum", out)
    float_dtype("numpy.sum", dtype)
    no_where("numpy.sum", where)
    total = ops.sum(a, axis=axis, keepdims=False if keepdims is UNSET else keepdims)
    if initial is not UNSET:
        total = total + as_real(initial, "numpy.sum", "initial")
    return total


@implements(np.mean, note="axis (None, int, tuple), keepdims; dtype None/float64")
def _mean(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: Any = False,
          *, where: Any = UNSET) -> Node:
    no_out("numpy.mean", out)
    float_dtype("numpy.mean", dtype)
    no_where("numpy.mean", where)
    return ops.mean(a, axis=axis, keepdims=False if keepdims is UNSET else keepdims)


@implements(np.where, note="the three-argument form; np.where(cond) (indices) is refused")
def _where(condition: Any, x: Any = UNSET, y: Any = UNSET) -> Node:
    if x is UNSET and y is UNSET:
        raise UnsupportedError(
            "numpy.where(condition) with one argument gives the indices where condition "
            "holds (integers, not differentiable): use np.where(condition, x, y)")
    if x is UNSET or y is UNSET:
        raise ArgumentError("numpy.where: give both x and y, or neither")
    if not isinstance(condition, Node):
        # numpy reads a number array as "nonzero": a constant condition of that meaning
        cond = np.asarray(condition)
        condition = cond if cond.dtype == np.bool_ else cond != 0
    return ops.where(condition, x, y)


def _dot_nd(a: Node, b: Node) -> Node:
    """numpy.dot for a 3-D or higher ``b``: sum over the last axis of ``a`` and the
    second-to-last of ``b``, result ``a.shape[:-1] + b.shape[:-2] + b.shape[-1:]``."""
    nb = b.ndim
    lead = a.shape[:-1]
    k = b.shape[-2]
    rest = b.shape[:-2] + b.shape[-1:]
    # move b's contracted axis to the front, flatten the others: one matrix product
    bt = ops.transpose(b, (nb - 2, *range(nb - 2), nb - 1)).reshape(k, -1)
    prod = ops.matmul(a.reshape(-1, k) if a.ndim != 1 else a, bt)
    return prod.reshape(lead + rest)


@implements(np.dot, note="numpy's rules: scalars multiply, 1-D and 2-D as matmul, N-D "
                         "contracts the last axis of a with the second-to-last of b")
def _dot(a: Any, b: Any, out: Any = None) -> Node:
    no_out("numpy.dot", out)
    a, b = as_node(a, "numpy.dot: a"), as_node(b, "numpy.dot: b")
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if b.ndim <= 2:
        return ops.matmul(a, b)
    return _dot_nd(a, b)


@implements(*available("linalg.matmul"))
def _linalg_matmul(x1: Any, x2: Any) -> Node:
    """Matrix product, as the ``@`` operator."""
    return ops.matmul(x1, x2)


@implements(*available("transpose", "permute_dims"), note="axes=None reverses the axes")
def _transpose(a: Any, axes: Any = None) -> Node:
    return ops.transpose(a, as_axes(axes, "numpy.transpose"))


@implements(*available("matrix_transpose", "linalg.matrix_transpose"))
def _matrix_transpose(x: Any) -> Node:
    """Swap the last two axes."""
    x = as_node(x, "numpy.matrix_transpose: x")
    if x.ndim < 2:
        raise ArgumentError(f"numpy.matrix_transpose: needs at least 2 axes, got shape {x.shape}")
    return ops.transpose(x, (*range(x.ndim - 2), x.ndim - 1, x.ndim - 2))


@implements(np.reshape, note="C order only; one dimension may be -1")
def _reshape(a: Any, shape: Any = None, order: str = "C", *, newshape: Any = None,
             copy: Any = None) -> Node:
    if order != "C":
        raise refuse("numpy.reshape", "order", order, "symdiff reshapes in C order only")
    shape = newshape if shape is None else shape
    if shape is None:
        raise ArgumentError("numpy.reshape: give the new shape")
    return ops.reshape(a, as_shape(shape, "numpy.reshape", reshape=True))


@implements(np.ravel, note="C order only (reshape(-1))")
def _ravel(a: Any, order: str = "C") -> Node:
    if order not in ("C", "K", "A"):
        raise refuse("numpy.ravel", "order", order, "symdiff flattens in C order only")
    return ops.reshape(a, (-1,))


@implements(np.broadcast_to)
def _broadcast_to(array: Any, shape: Any, subok: bool = False) -> Node:
    """Repeat along new or length-1 axes (numpy broadcasting)."""
    return ops.broadcast_to(array, shape)


@implements(np.linalg.det, note="of a square matrix (not a stack of them)")
def _det(a: Any) -> Node:
    return ops.det(a)


@implements(np.linalg.inv, note="of a square matrix (not a stack of them)")
def _inv(a: Any) -> Node:
    return ops.inv(a)


@implements(np.ndim)
def _ndim(a: Any) -> int:
    """The number of axes, a Python int."""
    return as_node(a, "numpy.ndim: a").ndim


@implements(np.shape)
def _shape(a: Any) -> tuple:
    """The shape, a tuple of Python ints."""
    return as_node(a, "numpy.shape: a").shape


@implements(np.size)
def _size(a: Any, axis: Any = None) -> int:
    """The number of elements (along ``axis``), a Python int."""
    a = as_node(a, "numpy.size: a")
    return a.size if axis is None else a.shape[axis]


def _like(name: str, a: Any, fill: float, dtype: Any, order: Any, shape: Any) -> Node:
    float_dtype(name, dtype)
    shape = as_node(a, f"{name}: a").shape if shape is None else as_shape(shape, name)
    return const(np.full(shape, fill, dtype=float))


@implements(np.zeros_like, note="a constant of zeros (float64), shape= allowed")
def _zeros_like(a: Any, dtype: Any = None, order: Any = "K", subok: Any = True,
                shape: Any = None, *, device: Any = None) -> Node:
    return _like("numpy.zeros_like", a, 0.0, dtype, order, shape)


@implements(np.ones_like, note="a constant of ones (float64), shape= allowed")
def _ones_like(a: Any, dtype: Any = None, order: Any = "K", subok: Any = True,
               shape: Any = None, *, device: Any = None) -> Node:
    return _like("numpy.ones_like", a, 1.0, dtype, order, shape)


@implements(np.full_like, note="a constant (float64); fill_value a number")
def _full_like(a: Any, fill_value: Any, dtype: Any = None, order: Any = "K", subok: Any = True,
               shape: Any = None, *, device: Any = None) -> Node:
    if isinstance(fill_value, Node):
        raise UnsupportedError("numpy.full_like: fill_value must be a number, not a Node "
                               "(use np.broadcast_to(value, shape))")
    return _like("numpy.full_like", a, as_real(fill_value, "numpy.full_like", "fill_value"),
                 dtype, order, shape)


@implements(np.copy)
def _copy(a: Any, order: Any = "K", subok: Any = False) -> Node:
    """The same Node (Nodes are immutable: a copy could not differ)."""
    return as_node(a, "numpy.copy: a")


# -- numpy functions: variance and standard deviation, graphs of rows (mean, pow, sqrt) ----

def _variance(name: str, a: Any, axis: Any, dtype: Any, out: Any, ddof: Any, keepdims: Any,
              where: Any, mean: Any, correction: Any) -> Node:
    """mean((a - mean(a))**2) * n / (n - ddof): the closed form reads as the definition,
    and its gradient is exact (a row of its own would add nothing but a name)."""
    no_out(name, out)
    float_dtype(name, dtype)
    no_where(name, where)
    if correction is not UNSET:
        if ddof not in (0, None):
            raise ArgumentError(f"{name}: give ddof or correction, not both")
        ddof = correction
    given, ddof = ddof, as_real(ddof, name, "ddof")
    keep = False if keepdims is UNSET else keepdims
    a = as_node(a, f"{name}: a")
    centre = ops.mean(a, axis=axis, keepdims=True) if mean is UNSET else mean
    squares = ops.mean((a - centre) ** 2, axis=axis, keepdims=keep)
    n = a.size // max(squares.size, 1)
    if n - ddof <= 0:
        raise ArgumentError(f"{name}: ddof={shown(given)} leaves no degrees of freedom: "
                            f"{n} entries per result (numpy would return nan or inf)")
    return squares if ddof == 0 else squares * (n / (n - ddof))


@implements(np.var, note="axis, keepdims, ddof (or correction), mean=; mean((a - mean(a))**2) "
                         "scaled by n/(n - ddof)")
def _var(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: Any = 0,
         keepdims: Any = False, *, where: Any = UNSET, mean: Any = UNSET,
         correction: Any = UNSET) -> Node:
    return _variance("numpy.var", a, axis, dtype, out, ddof, keepdims, where, mean, correction)


@implements(np.std, note="as numpy.var, then sqrt (its derivative is infinite where all "
                         "entries are equal)")
def _std(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: Any = 0,
         keepdims: Any = False, *, where: Any = UNSET, mean: Any = UNSET,
         correction: Any = UNSET) -> Node:
    return ops.sqrt(_variance("numpy.std", a, axis, dtype, out, ddof, keepdims, where, mean,
                              correction))


# -- numpy functions: elementwise rows that are numpy functions but not ufuncs -------------

@implements(np.clip, note="a_min/a_max (or numpy 2's min=/max=), one of them may be None")
def _clip(a: Any, a_min: Any = None, a_max: Any = None, out: Any = None, *,
          min: Any = None, max: Any = None, **kwargs: Any) -> Node:  # noqa: A002 (numpy's)
    """``numpy.clip`` on Nodes: ``sd.clip``."""
    if out is not None or kwargs:
        given = ["out"] * (out is not None) + sorted(kwargs)
        raise UnsupportedError(f"numpy.clip on a symdiff Node: {', '.join(given)} is not "
                               "supported (a Node is never written into); use its result")
    lo = a_min if a_min is not None else min
    hi = a_max if a_max is not None else max
    return ops.clip(a, lo, hi)
