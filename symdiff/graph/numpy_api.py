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


# -- issue 14: elementwise rows that are numpy functions but not ufuncs ---------------------

@implements(np.clip)
def _clip(a: Any, a_min: Any = None, a_max: Any = None, out: Any = None, *,
          min: Any = None, max: Any = None, **kwargs: Any) -> Any:  # noqa: A002 (numpy's)
    """``numpy.clip`` on Nodes: ``sd.clip`` (``min=``/``max=`` are numpy 2's names)."""
    from symdiff.errors import UnsupportedError
    from symdiff.graph.ops import clip

    if out is not None or kwargs:
        given = ["out"] * (out is not None) + sorted(kwargs)
        raise UnsupportedError(f"numpy.clip on a symdiff Node: {', '.join(given)} is not "
                               "supported (a Node is never written into); use its result")
    lo = a_min if a_min is not None else min
    hi = a_max if a_max is not None else max
    return clip(a, lo, hi)
