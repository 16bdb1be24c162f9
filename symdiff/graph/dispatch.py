"""numpy's protocols on Nodes: what ``Node.__array_ufunc__`` (NEP 13) and
``Node.__array_function__`` (NEP 18) do, read from the mapping in ``numpy_api``.

* A ufunc called on Nodes (``np.exp(x)``, ``array * x``, ``np.maximum(0, h)``) builds the
  row of its name, with the inputs in any position (numbers, arrays, Nodes). ``out=``,
  a ``where=`` mask, a dtype other than float64 and numpy's casting controls are refused
  by name. Of the ufunc methods: ``reduce`` of add, multiply, maximum and minimum is
  ``np.sum``, ``np.prod``, ``np.max``, ``np.min``; ``accumulate`` of add and multiply is
  ``np.cumsum`` and ``np.cumprod``; ``outer`` of any supported two-input ufunc broadcasts
  (``np.multiply.outer(u, v)`` is the outer product); ``at`` and ``reduceat`` are refused.
* A numpy function called on Nodes runs its registered implementation.
* Anything else raises ``sd.UnsupportedError`` naming ``numpy.<name>`` and pointing to
  ``sd.supported_numpy()``, except on Nodes that hold values and require no gradient
  (constants, plain tensors): those behave as their arrays, as PyTorch tensors do
  (``np.allclose(t, expected)``), and the result is a plain numpy value.

May import numpy, ``symdiff.errors`` and ``symdiff.graph``.

>>> import numpy as np
>>> import symdiff as sd
>>> x = sd.var("x", (3,))
>>> np.sum(np.exp(x) * np.arange(3.0)).op
'sum'
>>> try:
...     np.sort(x)
... except sd.UnsupportedError as e:
...     print(str(e)[:48])
numpy.sort is not supported on symdiff Nodes: sd
"""
from __future__ import annotations

from typing import Any, Callable, Iterator

import numpy as np

from symdiff.errors import UnsupportedError
from symdiff.graph import numpy_api
# the registrations, one module per group of numpy functions (imported for their effect)
from symdiff.graph import numpy_basics, numpy_linalg, numpy_shapes  # noqa: F401
from symdiff.graph.node import Node, apply, as_node
from symdiff.graph.numpy_api import FUNCTIONS, UNSET, float_dtype, no_out, no_where, numpy_name

# ufunc keywords that change nothing when given their default value; any other value is
# refused by name (numpy's casting and memory-layout controls mean nothing for a graph)
_HARMLESS = {"casting": "same_kind", "order": "K", "subok": True, "signature": None}
REDUCE_METHODS = {"add": np.sum, "multiply": np.prod, "maximum": np.max, "minimum": np.min}
"""ufunc.reduce -> the numpy function it is (axis 0 by default, as the ufunc method)."""
ACCUMULATE_METHODS = {"add": np.cumsum, "multiply": np.cumprod}
"""ufunc.accumulate -> the numpy function it is."""

SEE_LIST = "sd.supported_numpy() lists the numpy functions that work on Nodes"


def unsupported(name: str, why: str = "") -> UnsupportedError:
    """The error for a numpy callable symdiff does not differentiate."""
    why = f" ({why})" if why else ""
    return UnsupportedError(f"{name} is not supported on symdiff Nodes{why}: {SEE_LIST}")


def array_ufunc(ufunc: Any, method: str, inputs: tuple, kwargs: dict) -> Any:
    """``Node.__array_ufunc__``: the graph for ``ufunc.method(*inputs, **kwargs)``."""
    if any(hasattr(type(a), "__array_ufunc__") and not isinstance(a, (Node, np.ndarray))
           for a in inputs):
        return NotImplemented   # another library's array (NEP 13): numpy asks it next
    name = numpy_name(ufunc) + ("" if method == "__call__" else f".{method}")
    supported = numpy_api.ufunc_supported(ufunc)
    if not supported or method not in ("__call__", "reduce", "accumulate", "outer"):
        # "at" writes in place: never on values either (a constant's array would change)
        bound = ufunc if method == "__call__" else getattr(ufunc, method)
        fallback = _NO if method == "at" else _on_values(bound, inputs, kwargs)
        if fallback is not _NO:
            return fallback
        if method in ("at", "reduceat"):
            raise unsupported(name, f"{method} writes into its first argument in place, and "
                              "symdiff Nodes are immutable" if method == "at" else "")
        raise unsupported(name)
    if method == "__call__":
        _call_kwargs(name, kwargs)
        return _call(ufunc, inputs)
    if method == "outer":
        _call_kwargs(name, kwargs)
        a, b = (as_node(v, f"{name}: input {i + 1}") for i, v in enumerate(inputs))
        return _call(ufunc, (a.reshape(a.shape + (1,) * b.ndim), b))
    table = REDUCE_METHODS if method == "reduce" else ACCUMULATE_METHODS
    fn = table.get(ufunc.__name__)
    if fn is None:
        raise unsupported(name)
    impl = FUNCTIONS.get(fn)
    if impl is None:
        raise unsupported(name, f"it is {numpy_name(fn)}, which symdiff does not support yet")
    no_out(name, _given_out(kwargs.pop("out", None)))
    float_dtype(name, kwargs.pop("dtype", None))
    no_where(name, kwargs.pop("where", UNSET))
    axis = kwargs.pop("axis", 0)        # the ufunc methods' default axis is 0, not None
    return impl(inputs[0], axis=axis, **kwargs)


def _call_kwargs(name: str, kwargs: dict) -> None:
    """Refuse, by name, every keyword that a graph cannot honour."""
    for key, value in kwargs.items():
        if key == "out":
            no_out(name, _given_out(value))
        elif key == "where":
            no_where(name, value)
        elif key == "dtype":
            float_dtype(name, value)
        elif key in _HARMLESS and value == _HARMLESS[key]:
            continue
        else:
            raise numpy_api.refuse(name, key, value, "symdiff Nodes take numpy's "
                                   "arithmetic only, without layout or casting controls")


def _given_out(out: Any) -> Any:
    """numpy hands ``out`` to the protocol as a tuple, ``(None,)`` when not given."""
    if isinstance(out, tuple):
        return out if any(o is not None for o in out) else None
    return out


def _call(ufunc: Any, inputs: tuple) -> Node:
    name = ufunc.__name__
    if name == "power":
        return numpy_api._power(*inputs)
    row = numpy_api.ufunc_row(name)
    if row is not None:
        return apply(row, *inputs)
    return numpy_api.COMPOSITE_UFUNCS[name][0](*inputs)


def array_function(func: Callable, args: tuple, kwargs: dict) -> Any:
    """``Node.__array_function__``: the registered implementation of ``func``."""
    impl = FUNCTIONS.get(func)
    if impl is not None:
        return impl(*args, **kwargs)
    fallback = _on_values(func, args, kwargs)
    if fallback is not _NO:
        return fallback
    raise unsupported(numpy_name(func))


_NO = object()


def _nodes(obj: Any, depth: int = 0) -> Iterator[Node]:
    """The Nodes among arguments (inside lists, tuples and dicts, a few levels deep)."""
    if isinstance(obj, Node):
        yield obj
    elif depth < 4 and isinstance(obj, (list, tuple)):
        for item in obj:
            yield from _nodes(item, depth + 1)
    elif depth < 4 and isinstance(obj, dict):
        for item in obj.values():
            yield from _nodes(item, depth + 1)


def _as_values(obj: Any, depth: int = 0) -> Any:
    if isinstance(obj, Node):
        return obj._value
    if depth < 4 and isinstance(obj, (list, tuple)):
        return type(obj)(_as_values(item, depth + 1) for item in obj)
    if depth < 4 and isinstance(obj, dict):
        return {k: _as_values(v, depth + 1) for k, v in obj.items()}
    return obj


def _on_values(fn: Callable, args: tuple, kwargs: dict) -> Any:
    """``fn`` on the values of Nodes that all hold one and require no gradient (as a
    PyTorch tensor that does not require grad converts to an array); else ``_NO``."""
    found = list(_nodes(args)) + list(_nodes(kwargs))
    if not found or any(n._value is None or n.requires_grad for n in found):
        return _NO
    with np.errstate(all="ignore"):
        return fn(*_as_values(args), **_as_values(kwargs))
