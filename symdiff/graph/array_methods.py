"""The numpy array methods a Node has (``x.sum()``, ``x.max(axis=0)``, ``x.dot(w)``,
``x.astype(float)``), as numpy code written for arrays calls them.

Each method is the numpy function of the same name applied to the Node (``x.max(...)`` is
``np.max(x, ...)``), so it works exactly when that function is registered in
``symdiff.graph.numpy_api`` and refuses with the same ``sd.UnsupportedError`` otherwise:
one mapping, no second list to keep in step. ``Node`` inherits these methods; the ones
that need the graph's own machinery (``reshape``, ``transpose``, ``T``) live on ``Node``.

May import numpy and ``symdiff.errors`` (never a Node: ``symdiff.graph.node`` imports this).

>>> import numpy as np
>>> import symdiff as sd
>>> x = sd.var("x", (2, 3))
>>> x.sum(axis=0).shape, x.mean(keepdims=True).shape, x.ravel().shape, x.astype(float) is x
((3,), (1, 1), (6,), True)
"""
from __future__ import annotations

from typing import Any

import numpy as np

from symdiff.errors import UnsupportedError


class ArrayMethods:
    """numpy's ndarray methods for ``Node`` (a mixin: ``Node`` has the data)."""

    __slots__ = ()

    # reductions: numpy's signatures, numpy's defaults
    def sum(self, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False,
            **kwargs: Any) -> Any:
        """Sum over ``axis`` (all axes by default), as ``np.sum``."""
        return np.sum(self, axis=axis, dtype=dtype, out=out, keepdims=keepdims, **kwargs)

    def mean(self, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False,
             **kwargs: Any) -> Any:
        """Mean over ``axis`` (all axes by default), as ``np.mean``."""
        return np.mean(self, axis=axis, dtype=dtype, out=out, keepdims=keepdims, **kwargs)

    def max(self, axis: Any = None, out: Any = None, keepdims: bool = False,
            **kwargs: Any) -> Any:
        """Largest entry over ``axis``, as ``np.max``."""
        return np.max(self, axis=axis, out=out, keepdims=keepdims, **kwargs)

    def min(self, axis: Any = None, out: Any = None, keepdims: bool = False,
            **kwargs: Any) -> Any:
        """Smallest entry over ``axis``, as ``np.min``."""
        return np.min(self, axis=axis, out=out, keepdims=keepdims, **kwargs)

    def prod(self, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False,
             **kwargs: Any) -> Any:
        """Product over ``axis``, as ``np.prod``."""
        return np.prod(self, axis=axis, dtype=dtype, out=out, keepdims=keepdims, **kwargs)

    def var(self, axis: Any = None, dtype: Any = None, out: Any = None, ddof: Any = 0,
            keepdims: bool = False, **kwargs: Any) -> Any:
        """Variance over ``axis`` (``ddof`` as numpy), as ``np.var``."""
        return np.var(self, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims,
                      **kwargs)

    def std(self, axis: Any = None, dtype: Any = None, out: Any = None, ddof: Any = 0,
            keepdims: bool = False, **kwargs: Any) -> Any:
        """Standard deviation over ``axis``, as ``np.std``."""
        return np.std(self, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims,
                      **kwargs)

    def cumsum(self, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
        """Running sum along ``axis`` (flattened when None), as ``np.cumsum``."""
        return np.cumsum(self, axis=axis, dtype=dtype, out=out)

    def argmax(self, axis: Any = None, out: Any = None, **kwargs: Any) -> Any:
        """As ``np.argmax`` (an integer: refused on a graph, which has no values)."""
        return np.argmax(self, axis=axis, out=out, **kwargs)

    def argmin(self, axis: Any = None, out: Any = None, **kwargs: Any) -> Any:
        """As ``np.argmin`` (an integer: refused on a graph, which has no values)."""
        return np.argmin(self, axis=axis, out=out, **kwargs)

    def all(self, axis: Any = None, out: Any = None, keepdims: bool = False) -> Any:
        """As ``np.all`` (a boolean: refused on a graph, which has no values)."""
        return np.all(self, axis=axis, out=out, keepdims=keepdims)

    def any(self, axis: Any = None, out: Any = None, keepdims: bool = False) -> Any:
        """As ``np.any`` (a boolean: refused on a graph, which has no values)."""
        return np.any(self, axis=axis, out=out, keepdims=keepdims)

    # shapes and products
    def dot(self, b: Any, out: Any = None) -> Any:
        """``np.dot(self, b)``."""
        return np.dot(self, b, out=out)

    def trace(self, offset: Any = 0, axis1: Any = 0, axis2: Any = 1, dtype: Any = None,
              out: Any = None) -> Any:
        """Sum of the diagonal, as ``np.trace``."""
        return np.trace(self, offset=offset, axis1=axis1, axis2=axis2, dtype=dtype, out=out)

    def clip(self, min: Any = None, max: Any = None, out: Any = None,  # noqa: A002
             **kwargs: Any) -> Any:
        """Entries limited to ``[min, max]``, as ``np.clip``."""
        return np.clip(self, min, max, out=out, **kwargs)

    def squeeze(self, axis: Any = None) -> Any:
        """Drop length-1 axes, as ``np.squeeze``."""
        return np.squeeze(self, axis=axis)

    def swapaxes(self, axis1: Any, axis2: Any) -> Any:
        """Exchange two axes, as ``np.swapaxes``."""
        return np.swapaxes(self, axis1, axis2)

    def flatten(self, order: str = "C") -> Any:
        """The entries as a vector (``reshape(-1)``)."""
        return np.ravel(self, order=order)

    def ravel(self, order: str = "C") -> Any:
        """The entries as a vector (``reshape(-1)``)."""
        return np.ravel(self, order=order)

    def astype(self, dtype: Any, order: str = "K", casting: str = "unsafe", subok: bool = True,
               copy: bool = True) -> Any:
        """``self`` for float64 (``float``, ``np.float64``, ``"float64"``), and 1.0 / 0.0
        for a comparison (``(x > 0).astype(float)``, the mask numpy code multiplies by);
        symdiff computes in float64 only, so any other dtype is refused."""
        try:
            ok = np.dtype(dtype) == np.float64
        except TypeError:
            ok = False
        if not ok:
            raise UnsupportedError(f"Node.astype({dtype!r}): symdiff computes in float64 "
                                   "only (astype(float) is the Node itself)")
        if getattr(self, "dtype", None) == "bool":
            return np.where(self, 1.0, 0.0)
        return self

    def copy(self, order: str = "C") -> Any:
        """``self``: Nodes are immutable, so a copy could never differ."""
        return self

    def conj(self) -> Any:
        """``self``: symdiff is real."""
        return self

    # int() and round() of a value, as a numpy scalar; a free Node has no number to give
    def __int__(self) -> int:
        if self._value is None:
            raise self._no_numbers("int() needs a number", "shapes are Python ints already "
                                   "(x.shape[0], len(x)); a choice is np.where(cond, a, b)")
        return int(self.item())

    def __round__(self, ndigits: Any = None) -> Any:
        if self._value is None:
            raise self._no_numbers("round() needs a number",
                                   "rounding has no derivative worth the name (zero almost "
                                   "everywhere); leave it out of the traced function")
        return round(self.item(), ndigits)

    # what numpy arrays allow and a graph cannot do
    def __setitem__(self, key: Any, value: Any) -> None:
        raise UnsupportedError(
            "item assignment (x[i] = ...) cannot be traced: symdiff Nodes are immutable; "
            "build the array from pieces instead (np.where(mask, new, x), np.concatenate, "
            "np.stack), or assign into a numpy array that holds no Node")

    def _operator(self, symbol: str, ufunc: str) -> Any:
        raise UnsupportedError(f"the {symbol} operator (numpy.{ufunc}) is not supported on "
                               "symdiff Nodes: choose entries with np.where(cond, a, b) "
                               "instead (nest np.where for several conditions)")

    def __floordiv__(self, other: Any) -> Any: return self._operator("//", "floor_divide")
    def __rfloordiv__(self, other: Any) -> Any: return self._operator("//", "floor_divide")
    def __mod__(self, other: Any) -> Any: return self._operator("%", "remainder")
    def __rmod__(self, other: Any) -> Any: return self._operator("%", "remainder")
    def __and__(self, other: Any) -> Any: return self._operator("&", "logical_and")
    def __rand__(self, other: Any) -> Any: return self._operator("&", "logical_and")
    def __or__(self, other: Any) -> Any: return self._operator("|", "logical_or")
    def __ror__(self, other: Any) -> Any: return self._operator("|", "logical_or")
    def __xor__(self, other: Any) -> Any: return self._operator("^", "logical_xor")
    def __invert__(self) -> Any: return self._operator("~", "logical_not")
