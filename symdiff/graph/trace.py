"""``sd.from_function``: a user's own function, written for arrays, traced into a graph.

The function is called once with a variable for every parameter given a shape, and with
the other arguments as they are. The numpy calls inside it then meet Nodes, which build
the graph (``symdiff.graph.numpy_api``): the result is an ordinary Node, with closed
forms, gradients, pictures and ``sd.check``.

May import ``symdiff.errors`` and ``symdiff.graph``.

>>> import numpy as np
>>> import symdiff as sd
>>> def loss(w, X, t):
...     return ((X @ w - t) ** 2).sum()
>>> f = sd.from_function(loss, w=(2,), X=(3, 2), t=(3,))
>>> f.sympy()
(1.T*HadamardPower(X*w - t, 2))[0, 0]
"""
from __future__ import annotations

import inspect
from typing import Any, Callable

import numpy as np

from symdiff.errors import ArgumentError, SymdiffError
from symdiff.graph.leaves import var
from symdiff.graph.node import Node, const


def is_shape(value: Any) -> bool:
    """A tuple of non-negative Python ints (``()`` included): a variable's shape.

    >>> is_shape((3, 2)), is_shape(()), is_shape((1.5,)), is_shape([3])
    (True, True, False, False)
    """
    return isinstance(value, tuple) and all(
        isinstance(d, (int, np.integer)) and not isinstance(d, (bool, np.bool_)) and d >= 0
        for d in value)


def bind_arguments(fn: Callable, args: tuple, kwargs: dict, who: str) -> inspect.BoundArguments:
    """``fn``'s parameters bound to ``args`` and ``kwargs`` as Python would bind them,
    defaults applied; a missing, extra or repeated parameter, or a function taking ``*args``
    or ``**kwargs``, is an ``ArgumentError`` that names it."""
    if not callable(fn):
        raise ArgumentError(f"{who}: expected a function, got {type(fn).__name__}")
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError) as e:
        raise ArgumentError(f"{who}: cannot read the parameters of {_name(fn)} ({e})") from None
    for p in sig.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            star = "*" if p.kind is p.VAR_POSITIONAL else "**"
            raise ArgumentError(
                f"{who}: {_name(fn)} takes {star}{p.name}; symdiff makes one variable per "
                "named parameter, so give the function named parameters only")
    try:
        bound = sig.bind(*args, **kwargs)
    except TypeError as e:
        raise ArgumentError(f"{who}: {_name(fn)}{sig}: {e}") from None
    bound.apply_defaults()
    return bound


def from_function(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Node:
    """Trace ``fn`` into a graph: a parameter given a shape (a tuple of ints, ``()`` for a
    scalar) becomes the variable of that name and shape; a Node is used as it is; anything
    else (arrays, numbers, labels, dicts) is passed to ``fn`` unchanged, and numbers and
    arrays become constants where they meet the graph. Arguments bind as Python binds them
    (positional or by keyword; defaults apply).

    >>> import numpy as np
    >>> import symdiff as sd
    >>> def f(x, y, scale=2.0):
    ...     return scale * np.sin(x) * y
    >>> g = sd.from_function(f, (), y=())
    >>> g.sympy(), sd.diff(g, sd.var("x")).sympy()
    (2*y*sin(x), 2*y*cos(x))
    """
    bound = bind_arguments(fn, args, kwargs, "sd.from_function")
    for name, value in bound.arguments.items():
        if is_shape(value):
            bound.arguments[name] = var(name, value)
    result = call_traced(fn, bound.args, bound.kwargs, "sd.from_function")
    if isinstance(result, Node):
        return result
    if isinstance(result, (int, float, np.integer, np.floating, np.ndarray)) and \
            not isinstance(result, (bool, np.bool_)):
        return const(result)
    raise ArgumentError(f"sd.from_function: {_name(fn)} returned {type(result).__name__}, "
                        "not an array or a number (a function of its variables)")


def call_traced(fn: Callable, args: Any, kwargs: Any, who: str) -> Any:
    """``fn(*args, **kwargs)`` on Nodes: symdiff's own errors pass through; any other
    exception from inside the user's code becomes a ``SymdiffError`` that names the
    function and the line, so a numpy TypeError deep in the code reads as what it is."""
    try:
        return fn(*args, **kwargs)
    except SymdiffError:
        raise
    except Exception as e:  # noqa: BLE001 - the user's code, reported with its place
        raise TracingError(f"{who}: {_name(fn)} raised {type(e).__name__} while being traced "
                           f"with symdiff variables{_where(e)}: {e}") from e


class TracingError(SymdiffError):
    """The user's function raised while it was called with symdiff variables."""


def _where(e: BaseException) -> str:
    """The innermost line of the user's own code in ``e``'s traceback (not numpy's, not
    symdiff's), as `` (at file.py:12, in loss)``."""
    tb, last = e.__traceback__, None
    while tb is not None:
        path = tb.tb_frame.f_code.co_filename.replace("\\", "/")
        if not any(part in path for part in ("/numpy/", "/symdiff/", "/numeric/")) \
                and tb.tb_frame.f_code.co_name != "call_traced":
            last = tb
        tb = tb.tb_next
    if last is None:
        return ""
    code = last.tb_frame.f_code
    return f" (at {code.co_filename.rsplit('/', 1)[-1]}:{last.tb_lineno}, in {code.co_name})"


def _name(fn: Callable) -> str:
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)
