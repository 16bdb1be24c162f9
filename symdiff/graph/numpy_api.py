"""numpy on Nodes: the one mapping from numpy's callables to symdiff's ops.

A numpy function applied to a Node (``np.sum(w)``, ``np.where(x > 0, x, 0)``) reaches
``Node.__array_function__``, and a ufunc (``np.exp(x)``, ``x * array``) reaches
``Node.__array_ufunc__``; both look the callable up here (``symdiff.graph.dispatch`` does
the looking), and whatever is not here raises ``sd.UnsupportedError`` naming it (never
numpy's own TypeError, never "has no value").

* **ufuncs** come from the table: an elementwise row named like a numpy ufunc (``exp``,
  ``log1p``, ``arctan2``) is that ufunc, with no entry to write; ``UFUNC_ALIASES`` maps the
  ufuncs whose numpy name differs from the row's (``multiply`` is ``mul``), and
  ``COMPOSITE_UFUNCS`` the few that are a small graph of rows (``square`` is ``x**2``
  until a row of that name exists: a row always wins).
* **functions** are registered with ``@implements(np.sum, ...)``: an implementation takes
  numpy's signature and builds Nodes; the argument checks below (``no_out``,
  ``float_dtype``, ``no_where``) give every registration the same messages.
  ``supported_numpy()`` lists ufuncs and functions, so the list in the docs is generated
  from this module and cannot go stale.

Each group of registrations is a block of its own (``# -- numpy functions: ...``).

May import numpy, ``numeric``, ``symdiff.errors`` and ``symdiff.graph`` (node, ops, params,
values).

>>> import numpy as np
>>> "numpy.exp" in supported_numpy() and "numpy.multiply" in supported_numpy()
True
"""
from __future__ import annotations

import math
from typing import Any, Callable, Optional

import numpy as np

from numeric import PRIMITIVES

from symdiff.errors import UnsupportedError
from symdiff.graph import ops
from symdiff.graph.node import Node, apply, as_node, constant_exponent
from symdiff.graph.values import as_real, shown

UFUNC_ALIASES: dict[str, str] = {
    "add": "add", "subtract": "sub", "multiply": "mul", "true_divide": "div",
    "divide": "div", "negative": "neg", "power": "pow", "matmul": "matmul",
    "absolute": "abs", "greater": "greater", "greater_equal": "greater_equal",
    "less": "less", "less_equal": "less_equal", "maximum": "maximum", "minimum": "minimum",
}
"""numpy ufunc name -> table row, where the names differ (or the row is not elementwise)."""

FUNCTIONS: dict[Callable, Callable] = {}
"""numpy function -> its implementation on Nodes (numpy's signature), by ``implements``."""

NOTES: dict[Callable, str] = {}
"""numpy function -> what to say about it in the docs (axis support, refused arguments)."""


def implements(*numpy_functions: Callable, note: str = "") -> Callable[[Callable], Callable]:
    """Register the decorated function as what each of ``numpy_functions`` does on Nodes;
    ``note`` (optional) is printed beside it in docs/numpy.md (else the first line of the
    implementation's docstring is).

    >>> real = FUNCTIONS[np.trace]
    >>> @implements(np.trace)
    ... def _trace_example(a):
    ...     return a
    >>> FUNCTIONS[np.trace] is _trace_example
    True
    >>> FUNCTIONS[np.trace] = real  # (the real one, in numpy_linalg)
    """
    def register(impl: Callable) -> Callable:
        for fn in numpy_functions:
            FUNCTIONS[fn] = impl
            if note:
                NOTES[fn] = note
        return impl
    return register


def ufunc_row(name: str) -> Optional[str]:
    """The table row a numpy ufunc of this name is, or None. A row with params is a ufunc
    only through an alias (``power`` is ``pow`` with a constant exponent).

    >>> ufunc_row("multiply"), ufunc_row("exp"), ufunc_row("bitwise_and")
    ('mul', 'exp', None)
    """
    row = UFUNC_ALIASES.get(name, name)
    if row not in PRIMITIVES:
        return None
    if name in UFUNC_ALIASES:
        return row
    prim = PRIMITIVES[row]
    if prim.kind == "elementwise" and not prim.params and row != "where":
        return row
    return None


def ufunc_supported(ufunc: Any) -> bool:
    """Whether ``ufunc(...)`` on Nodes builds a graph: a table row of its name and arity,
    or a composite.

    >>> ufunc_supported(np.sin), ufunc_supported(np.square), ufunc_supported(np.floor)
    (True, True, False)
    """
    name = getattr(ufunc, "__name__", "")
    row = ufunc_row(name)
    if row is not None and (name in UFUNC_ALIASES or PRIMITIVES[row].arity == ufunc.nin):
        return True
    return name in COMPOSITE_UFUNCS


_NAMESPACES = (("numpy", np), ("numpy.linalg", np.linalg), ("numpy.fft", np.fft),
               ("numpy.random", np.random), ("numpy.emath", np.emath))


def numpy_name(fn: Any) -> str:
    """How a user writes a numpy callable: ``numpy.sum``, ``numpy.linalg.det``,
    ``numpy.fft.fft`` (its public namespace, not the module it is defined in).

    >>> numpy_name(np.linalg.qr), numpy_name(np.fft.fft), numpy_name(np.absolute)
    ('numpy.linalg.qr', 'numpy.fft.fft', 'numpy.absolute')
    """
    name = getattr(fn, "__name__", None) or type(fn).__name__
    for prefix, space in _NAMESPACES:
        if getattr(space, name, None) is fn:
            return f"{prefix}.{name}"
    module = getattr(fn, "__module__", None) or "numpy"
    if module.startswith("numpy._") or module.startswith("numpy.core"):
        module = "numpy"
    return f"{module}.{name}"


def supported_numpy() -> list[str]:
    """The numpy ufuncs and functions that work on Nodes, as ``numpy.name``, sorted.

    >>> import symdiff as sd
    >>> "numpy.sin" in sd.supported_numpy()
    True
    """
    names = {f"numpy.{u}" for u in dir(np)
             if isinstance(getattr(np, u, None), np.ufunc) and ufunc_supported(getattr(np, u))}
    names |= {numpy_name(fn) for fn in FUNCTIONS}
    return sorted(names)


# -- argument checks every registration shares ---------------------------------------------

UNSET: Any = np._NoValue
"""numpy's own marker for an argument not given (``initial``, ``where``, ``keepdims``)."""


def no_out(name: str, out: Any) -> None:
    """``out=`` is refused: a Node is immutable, and a numpy array cannot hold a formula."""
    if out is not None:
        raise UnsupportedError(f"{name}: out= cannot write into a symdiff Node (Nodes are "
                               "immutable): use the value the function returns")


def float_dtype(name: str, dtype: Any, arg: str = "dtype") -> None:
    """``dtype`` may be None or float64 (symdiff computes in float64 only)."""
    if dtype is None:
        return
    try:
        ok = np.dtype(dtype) == np.float64
    except TypeError:
        ok = False
    if not ok:
        raise UnsupportedError(f"{name}: {arg}={shown(dtype)} is not supported: symdiff "
                               "computes in float64 only (dtype=None or float64)")


def no_where(name: str, where: Any) -> None:
    """A ``where=`` mask other than True is refused (numpy leaves the other entries of
    ``out`` untouched, which a graph cannot express); ``np.where`` can."""
    if where is UNSET or (isinstance(where, (bool, np.bool_)) and where):
        return
    raise UnsupportedError(f"{name}: where= is not supported on symdiff Nodes: choose "
                           "entries with np.where(cond, a, b) instead")


def available(*names: str) -> tuple:
    """The numpy callables of these names (``"linalg.matmul"``) that the installed numpy
    has: numpy 2 added some (``permute_dims``), and symdiff supports numpy 1.24 on.

    >>> available("sum", "no_such_function") == (np.sum,)
    True
    """
    found = []
    for name in names:
        obj: Any = np
        for part in name.split("."):
            obj = getattr(obj, part, None)
        if obj is not None:
            found.append(obj)
    return tuple(found)


def refuse(name: str, arg: str, value: Any, why: str) -> UnsupportedError:
    """The error for an argument symdiff cannot honour: ``name: arg=value ...: why``."""
    return UnsupportedError(f"{name}: {arg}={shown(value)} is not supported: {why}")


# -- ufuncs that are small graphs of rows (a row of the same name wins) --------------------

def _power(x: Any, y: Any) -> Node:
    p = constant_exponent(y)
    if p is not None:
        return apply("pow", x, p=p)
    return apply("pow_tensor", x, y)


def _heaviside(x: Any, h0: Any) -> Node:
    if isinstance(h0, Node) or np.ndim(h0) != 0:
        raise UnsupportedError("numpy.heaviside: the value at 0 (h0) must be a number, not "
                               "an array or a Node")
    return ops.step(x, as_real(h0, "numpy.heaviside", "h0"))


def _vecdot(x: Any, y: Any) -> Node:
    return ops.sum(as_node(x) * y, axis=-1)


def _matvec(a: Any, v: Any) -> Node:
    return (as_node(a) @ as_node(v)[..., None])[..., 0]


def _vecmat(v: Any, a: Any) -> Node:
    return (as_node(v)[..., None, :] @ as_node(a))[..., 0, :]


COMPOSITE_UFUNCS: dict[str, tuple[Callable[..., Node], str]] = {
    "positive": (as_node, "x itself"),
    "conjugate": (as_node, "x itself (symdiff is real)"),
    "fabs": (ops.abs, "abs(x)"),  # type: ignore[attr-defined]
    "float_power": (_power, "x**y, as numpy.power"),
    "square": (lambda x: apply("pow", x, p=2), "x**2"),
    "reciprocal": (lambda x: apply("pow", x, p=-1), "x**(-1)"),
    "heaviside": (_heaviside, "sd.step(x, h0), h0 a number"),
    "fmax": (ops.maximum, "maximum(x, y) (symdiff has no nan to skip)"),
    "fmin": (ops.minimum, "minimum(x, y) (symdiff has no nan to skip)"),
    "deg2rad": (lambda x: as_node(x) * (math.pi / 180), "x*pi/180"),
    "radians": (lambda x: as_node(x) * (math.pi / 180), "x*pi/180"),
    "rad2deg": (lambda x: as_node(x) * (180 / math.pi), "x*180/pi"),
    "degrees": (lambda x: as_node(x) * (180 / math.pi), "x*180/pi"),
    "vecdot": (_vecdot, "sum(x*y, axis=-1)"),
    "matvec": (_matvec, "(a @ v[..., None])[..., 0]"),
    "vecmat": (_vecmat, "(v[..., None, :] @ a)[..., 0, :]"),
}
"""ufunc name -> (implementation on its inputs, the graph it builds in words)."""
