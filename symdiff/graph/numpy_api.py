"""numpy on Nodes: the one mapping from numpy's callables to symdiff's ops.

A numpy function applied to a Node (``np.sum(w)``, ``np.where(x > 0, x, 0)``) reaches
``Node.__array_function__``, and a ufunc (``np.exp(x)``, ``x * array``) reaches
``Node.__array_ufunc__``; both look the callable up here, and whatever is not here raises
``sd.UnsupportedError`` naming it (never numpy's own TypeError, never "has no value").

* **ufuncs** come from the table: an elementwise row named like a numpy ufunc (``exp``,
  ``log1p``, ``arctan2``) is that ufunc, with no entry to write; ``UFUNC_ALIASES`` maps the
  ufuncs whose numpy name differs from the row's (``multiply`` is ``mul``).
* **functions** are registered with ``@implements(np.sum, ...)``: an implementation takes
  numpy's signature and builds Nodes. ``supported_numpy()`` lists both, so the list in the
  docs is generated from this module and cannot go stale.

May import numpy, ``numeric``, ``symdiff.errors`` and ``symdiff.graph``.

>>> import numpy as np
>>> "numpy.exp" in supported_numpy() and "numpy.multiply" in supported_numpy()
True
"""
from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from numeric import PRIMITIVES

UFUNC_ALIASES: dict[str, str] = {
    "add": "add", "subtract": "sub", "multiply": "mul", "true_divide": "div",
    "divide": "div", "negative": "neg", "power": "pow", "matmul": "matmul",
    "absolute": "abs", "greater": "greater", "greater_equal": "greater_equal",
    "less": "less", "less_equal": "less_equal", "maximum": "maximum", "minimum": "minimum",
}
"""numpy ufunc name -> table row, where the names differ (or the row is not elementwise)."""

FUNCTIONS: dict[Callable, Callable] = {}
"""numpy function -> its implementation on Nodes (numpy's signature), by ``implements``."""


def implements(*numpy_functions: Callable) -> Callable[[Callable], Callable]:
    """Register the decorated function as what each of ``numpy_functions`` does on Nodes.

    >>> @implements(np.trace)
    ... def _trace_example(a):
    ...     return a
    >>> FUNCTIONS[np.trace] is _trace_example
    True
    >>> del FUNCTIONS[np.trace]
    """
    def register(impl: Callable) -> Callable:
        for fn in numpy_functions:
            FUNCTIONS[fn] = impl
        return impl
    return register


def ufunc_row(name: str) -> Optional[str]:
    """The table row a numpy ufunc of this name is, or None.

    >>> ufunc_row("multiply"), ufunc_row("exp"), ufunc_row("bitwise_and")
    ('mul', 'exp', None)
    """
    row = UFUNC_ALIASES.get(name, name)
    if row in PRIMITIVES and (PRIMITIVES[row].kind == "elementwise" or name in UFUNC_ALIASES):
        return row
    return None


def _numpy_name(fn: Callable) -> str:
    module = getattr(fn, "__module__", None) or "numpy"
    module = "numpy" if module.startswith("numpy") and module.count(".") <= 1 and \
        not module.startswith("numpy.linalg") else module
    if module.startswith("numpy.linalg"):
        module = "numpy.linalg"
    return f"{module}.{getattr(fn, '__name__', repr(fn))}"


def supported_numpy() -> list[str]:
    """The numpy ufuncs and functions that work on Nodes, as ``numpy.name``, sorted.

    >>> import symdiff as sd
    >>> "numpy.sin" in sd.supported_numpy()
    True
    """
    names = {f"numpy.{u}" for u in dir(np)
             if isinstance(getattr(np, u, None), np.ufunc) and ufunc_row(u) is not None}
    names |= {_numpy_name(fn) for fn in FUNCTIONS}
    return sorted(names)


# -- reductions and shapes: numpy's signatures on sd.max ... sd.diag ------------------------
# (symdiff.graph.reductions and symdiff.graph.shaping do the work; here numpy's arguments
# are checked: out= must be None, initial=/where=/dtype= and the like are refused by name)

from symdiff.errors import ShapeError, UnsupportedError  # noqa: E402
from symdiff.graph import reductions as _r, shaping as _s  # noqa: E402


class _Unset:
    """An argument the caller did not pass (numpy's own ``_NoValue``, ours)."""

    def __repr__(self) -> str:
        return "<not given>"


_UNSET: Any = _Unset()


def _float64(dtype: Any) -> bool:
    try:
        return np.dtype(dtype) == np.float64
    except TypeError:
        return False


def _refuse(fn: str, **given: Any) -> None:
    """UnsupportedError naming the first argument of ``given`` passed with a value symdiff
    cannot honour: out= other than None, dtype= other than float64, casting= other than
    numpy's default, any other argument at all."""
    for name, value in given.items():
        if value is _UNSET or (name in ("out", "dtype") and value is None) or \
                (name == "casting" and value == "same_kind") or \
                (name == "dtype" and _float64(value)):
            continue
        why = "a Node is immutable: use the returned Node" if name == "out" else \
            "symdiff computes in float64" if name == "dtype" else "symdiff does not support it"
        raise UnsupportedError(f"numpy.{fn}: {name}= is not supported on symdiff Nodes "
                               f"({why}); see sd.supported_numpy()")


@implements(np.max, np.amax)
def _np_max(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False,
            initial: Any = _UNSET, where: Any = _UNSET) -> Any:
    _refuse("max", out=out, initial=initial, where=where)
    return _r.max(a, axis=axis, keepdims=keepdims)


@implements(np.min, np.amin)
def _np_min(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False,
            initial: Any = _UNSET, where: Any = _UNSET) -> Any:
    _refuse("min", out=out, initial=initial, where=where)
    return _r.min(a, axis=axis, keepdims=keepdims)


@implements(np.prod)
def _np_prod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
             keepdims: bool = False, initial: Any = _UNSET, where: Any = _UNSET) -> Any:
    _refuse("prod", out=out, dtype=dtype, initial=initial, where=where)
    return _r.prod(a, axis=axis, keepdims=keepdims)


@implements(np.cumsum)
def _np_cumsum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    _refuse("cumsum", out=out, dtype=dtype)
    return _r.cumsum(a, axis=axis)


def _ddof(fn: str, ddof: Any, correction: Any) -> Any:
    if correction is _UNSET:
        return ddof
    if ddof != 0:
        raise UnsupportedError(f"numpy.{fn}: ddof= and correction= are the same argument; "
                               "give one")
    return correction


@implements(np.var)
def _np_var(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: Any = 0,
            keepdims: bool = False, *, where: Any = _UNSET, mean: Any = _UNSET,
            correction: Any = _UNSET) -> Any:
    _refuse("var", out=out, dtype=dtype, where=where, mean=mean)
    return _r.variance(a, axis=axis, ddof=_ddof("var", ddof, correction), keepdims=keepdims)


@implements(np.std)
def _np_std(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: Any = 0,
            keepdims: bool = False, *, where: Any = _UNSET, mean: Any = _UNSET,
            correction: Any = _UNSET) -> Any:
    _refuse("std", out=out, dtype=dtype, where=where, mean=mean)
    return _r.std(a, axis=axis, ddof=_ddof("std", ddof, correction), keepdims=keepdims)


@implements(np.concatenate)
def _np_concatenate(arrays: Any, axis: Any = 0, out: Any = None, *, dtype: Any = None,
                    casting: Any = _UNSET) -> Any:
    _refuse("concatenate", out=out, dtype=dtype, casting=casting)
    return _s.concatenate(arrays, axis=axis)


@implements(np.stack)
def _np_stack(arrays: Any, axis: int = 0, out: Any = None, *, dtype: Any = None,
              casting: Any = _UNSET) -> Any:
    _refuse("stack", out=out, dtype=dtype, casting=casting)
    return _s.stack(arrays, axis=axis)


def _at_least(arrays: Any, fn: str, ndim: int) -> list:
    nodes = _s.as_nodes(arrays, f"numpy.{fn}")
    if ndim == 2:    # vstack: a 1-D (n,) is a row (1, n), a scalar (1, 1)
        return [n if n.ndim >= 2 else _s.expand_dims(n, tuple(range(2 - n.ndim)))
                for n in nodes]
    return [n if n.ndim else _s.expand_dims(n, 0) for n in nodes]


@implements(np.vstack)
def _np_vstack(tup: Any, *, dtype: Any = None, casting: Any = _UNSET) -> Any:
    _refuse("vstack", dtype=dtype, casting=casting)
    return _s.concatenate(_at_least(tup, "vstack", 2), axis=0)


@implements(np.hstack)
def _np_hstack(tup: Any, *, dtype: Any = None, casting: Any = _UNSET) -> Any:
    _refuse("hstack", dtype=dtype, casting=casting)
    nodes = _at_least(tup, "hstack", 1)
    return _s.concatenate(nodes, axis=0 if nodes[0].ndim == 1 else 1)


@implements(np.split)
def _np_split(ary: Any, indices_or_sections: Any, axis: int = 0) -> Any:
    return _s.split(ary, indices_or_sections, axis=axis)


@implements(np.array_split)
def _np_array_split(ary: Any, indices_or_sections: Any, axis: int = 0) -> Any:
    return _s.split_pieces(ary, indices_or_sections, axis, "numpy.array_split", equal=False)


@implements(np.expand_dims)
def _np_expand_dims(a: Any, axis: Any) -> Any:
    return _s.expand_dims(a, axis)


@implements(np.squeeze)
def _np_squeeze(a: Any, axis: Any = None) -> Any:
    return _s.squeeze(a, axis)


@implements(np.swapaxes)
def _np_swapaxes(a: Any, axis1: int, axis2: int) -> Any:
    return _s.swapaxes(a, axis1, axis2)


@implements(np.moveaxis)
def _np_moveaxis(a: Any, source: Any, destination: Any) -> Any:
    return _s.moveaxis(a, source, destination)


@implements(np.flip)
def _np_flip(m: Any, axis: Any = None) -> Any:
    return _s.flip(m, axis)


@implements(np.fliplr)
def _np_fliplr(m: Any) -> Any:
    if getattr(m, "ndim", 2) < 2:
        raise ShapeError("numpy.fliplr: needs an array of at least two dimensions")
    return _s.flip(m, 1)


@implements(np.flipud)
def _np_flipud(m: Any) -> Any:
    return _s.flip(m, 0)


@implements(np.pad)
def _np_pad(array: Any, pad_width: Any, mode: str = "constant", **kwargs: Any) -> Any:
    values = kwargs.pop("constant_values", 0)
    for name in kwargs:
        _refuse("pad", **{name: kwargs[name]})
    return _s.pad(array, pad_width, mode=mode, constant_values=values)


@implements(np.tile)
def _np_tile(A: Any, reps: Any) -> Any:
    return _s.tile(A, reps)


@implements(np.repeat)
def _np_repeat(a: Any, repeats: Any, axis: Any = None) -> Any:
    return _s.repeat(a, repeats, axis)


@implements(np.diagonal)
def _np_diagonal(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    return _s.diagonal(a, offset, axis1, axis2)


@implements(np.diag)
def _np_diag(v: Any, k: int = 0) -> Any:
    return _s.diag(v, k)
# -- p14 linear algebra, contraction, indexing ------------------------------------------
# numpy's signatures; out= (a buffer a graph cannot write) is refused by name. The ops
# come from symdiff.graph.linalg and ops, imported when called (node.py may import this
# module).

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


@implements(np.dot)
def _dot(a: Any, b: Any, out: Any = None) -> Any:
    # 1-D and 2-D: the matrix product (two vectors: their inner product); a scalar
    # multiplies; N-D: the last axis of a with the second-to-last of b
    from symdiff.graph.linalg import tensordot
    from symdiff.graph.node import apply
    _no_out("numpy.dot", out)
    a, b = _node(a, "numpy.dot: a"), _node(b, "numpy.dot: b")
    if a.ndim == 0 or b.ndim == 0:
        return apply("mul", a, b)
    if a.ndim <= 2 and b.ndim <= 2:
        return apply("matmul", a, b)
    return tensordot(a, b, axes=([-1], [max(b.ndim - 2, 0)]))


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


@implements(np.linalg.det)
def _det(a: Any) -> Any:
    from symdiff.graph.node import apply
    return apply("det", _node(a, "numpy.linalg.det: a"))


@implements(np.linalg.inv)
def _inv(a: Any) -> Any:
    from symdiff.graph.node import apply
    return apply("inv", _node(a, "numpy.linalg.inv: a"))


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
