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

from symdiff.errors import ArgumentError, UnsupportedError
from symdiff.graph import ops
from symdiff.graph.node import Node, apply, as_node, const, constant_exponent
from symdiff.graph.params import as_axes, as_shape
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

    >>> @implements(np.trace)
    ... def _trace_example(a):
    ...     return a
    >>> FUNCTIONS[np.trace] is _trace_example
    True
    >>> FUNCTIONS[np.trace] = _trace  # (the real one, registered below)
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


# -- numpy functions: the ops symdiff had before (sum, mean, where, dot, shapes, linalg) ---

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


@implements(np.trace, note="matrices only: offset=0, axis1/axis2 the two axes")
def _trace(a: Any, offset: Any = 0, axis1: Any = 0, axis2: Any = 1, dtype: Any = None,
           out: Any = None) -> Node:
    no_out("numpy.trace", out)
    float_dtype("numpy.trace", dtype)
    a = as_node(a, "numpy.trace: a")
    if offset != 0:
        raise refuse("numpy.trace", "offset", offset, "only the main diagonal (offset=0)")
    if a.ndim != 2 or {axis1 % 2, axis2 % 2} != {0, 1}:
        raise UnsupportedError(f"numpy.trace: only the trace of a matrix is supported, not "
                               f"axes ({axis1}, {axis2}) of shape {a.shape}")
    return ops.trace(a)


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
