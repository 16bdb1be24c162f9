"""``sd.from_function``: a user's own function, written for arrays, traced into a graph.

The function is called once with a variable for every parameter given a shape, and with
the other arguments as they are. The numpy calls inside it then meet Nodes, which build
the graph (``symdiff.graph.numpy_api``, ``symdiff.graph.dispatch``): the result is an
ordinary Node, with closed forms, gradients, pictures and ``sd.check``.

Whatever goes wrong while the function runs is one ``SymdiffError`` that names the
function and the line of the user's code where it happened (symdiff's own errors keep
their class, with that place added; any other exception becomes a ``TracingError``).
``bind_arguments``, ``call_traced`` and ``as_result`` are shared with the other callers of
user code (``sd.verify`` with callables).

May import numpy, ``numeric``, ``symdiff.errors`` and ``symdiff.graph``.

>>> import numpy as np
>>> import symdiff as sd
>>> def loss(w, X, t):
...     return ((X @ w - t) ** 2).sum()
>>> f = sd.from_function(loss, w=(2,), X=(3, 2), t=(3,))
>>> f.sympy()
norm(X*w - t)**2
"""
from __future__ import annotations

import inspect
import linecache
import os
import sysconfig
from typing import Any, Callable

import numpy as np

import numeric
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
    """Trace ``fn``, a function written for numpy arrays, into a graph.

    What becomes what:

    * a parameter given a **shape** (a tuple of ints; ``()`` for a scalar) becomes the
      variable of that name and shape: ``w=(5,)`` is ``sd.var("w", (5,))``. Only arguments
      you pass count: a parameter's default value is used as it is, even if it is a tuple;
    * a **Node** is used as it is (a variable or tensor made elsewhere);
    * **anything else passes through unchanged**: arrays, numbers, lists, labels, dicts
      of hyper-parameters. Arrays and numbers become constants where they meet a Node.
      (An array argument is passed as a view whose ``.dot`` also takes Nodes, so data
      ``X.dot(W)`` works as ``X @ W`` does.)

    Arguments bind as Python binds them (positional or by keyword, defaults apply); a
    missing or extra one, or a function taking ``*args``/``**kwargs``, is an
    ``ArgumentError`` naming it. ``fn`` must return one array or number: a Node, or a
    number or array that does not depend on the variables (a constant). A tuple, list,
    dict, None or a comparison is refused with a message saying so. Whatever goes wrong
    inside ``fn`` (a numpy function symdiff does not support, a Python ``if`` on a Node,
    shapes that do not fit, any exception) is one ``SymdiffError`` naming ``fn`` and the
    line of your code.

    >>> import numpy as np
    >>> import symdiff as sd
    >>> def f(x, y, scale=2.0):
    ...     return scale * np.sin(x) * y
    >>> g = sd.from_function(f, (), y=())
    >>> g.sympy(), sd.diff(g, sd.var("x")).sympy()
    (2*y*sin(x), 2*y*cos(x))
    """
    bound = bind_arguments(fn, args, kwargs, WHO)
    given = inspect.signature(fn).bind(*args, **kwargs).arguments   # not the defaults
    for name, value in bound.arguments.items():
        if name in given and is_shape(value):
            bound.arguments[name] = _variable(fn, name, value)
        elif type(value) is np.ndarray:
            bound.arguments[name] = value.view(ArgumentArray)
    return as_result(call_traced(fn, bound.args, bound.kwargs, WHO), fn, WHO)


WHO = "sd.from_function"


class ArgumentArray(np.ndarray):
    """A numpy array argument while its function is traced: a view of the caller's array
    (same numbers, same memory), whose ``.dot`` is ``np.dot``.

    ``X.dot(W)`` with a Node ``W`` then builds the graph as ``X @ W`` does: numpy's own
    ``ndarray.dot`` asks ``W`` for its numbers and offers no protocol to intercept, and
    ``scores = X.dot(W)`` is how much of the numpy code people check is written.

    >>> import symdiff as sd
    >>> X = np.ones((2, 3)).view(ArgumentArray)
    >>> X.dot(sd.var("W", (3, 4))).shape, X.dot(np.ones(3)).tolist()
    ((2, 4), [3.0, 3.0])
    """

    def dot(self, b: Any, out: Any = None) -> Any:
        return np.dot(self, b) if out is None else np.dot(self, b, out=out)


def _variable(fn: Callable, name: str, shape: tuple) -> Node:
    try:
        return var(name, shape)
    except SymdiffError as e:
        raise ArgumentError(f"{WHO}: parameter {name!r} of {_name(fn)} cannot be a symdiff "
                            f"variable: {e}") from None


def as_result(result: Any, fn: Callable, who: str) -> Node:
    """What ``fn`` returned as a Node: a Node as it is, a number or an array as a constant;
    a tuple, list, dict, None, text or a comparison is an ``ArgumentError`` saying so."""
    what = f"{who}: {_name(fn)} returned"
    if isinstance(result, Node):
        if result.dtype == "bool":
            raise ArgumentError(f"{what} a comparison (true/false entries), which has no "
                                "derivative: return a number, e.g. np.where(cond, a, b)")
        return result
    if isinstance(result, (tuple, list)):
        raise ArgumentError(
            f"{what} a {type(result).__name__} of {len(result)} values; symdiff "
            "differentiates one array or number: return the loss alone (for a function "
            "returning (loss, grad) or (out, cache), trace a wrapper returning its first "
            "value)")
    if isinstance(result, dict):
        raise ArgumentError(f"{what} a dict (keys {', '.join(map(repr, list(result)[:5]))}); "
                            "symdiff differentiates one array or number: return one of them")
    if result is None:
        raise ArgumentError(f"{what} None: does it end with a return statement?")
    if isinstance(result, (bool, np.bool_)) or (
            isinstance(result, np.ndarray) and result.dtype == np.bool_):
        raise ArgumentError(f"{what} a boolean, which has no derivative: return a number")
    if isinstance(result, (int, float, np.integer, np.floating, np.ndarray)):
        try:
            return const(result)
        except SymdiffError as e:
            raise ArgumentError(f"{what} an array symdiff cannot use: {e}") from None
    raise ArgumentError(f"{what} {type(result).__name__}, not an array or a number (a "
                        "function of its variables)")


def call_traced(fn: Callable, args: Any, kwargs: Any, who: str) -> Any:
    """``fn(*args, **kwargs)`` on Nodes. Any exception from inside the user's code becomes
    a ``SymdiffError`` that names the function and the line: symdiff's own errors keep
    their class (``UnsupportedError``, ``ShapeError``) with the place added to the
    message; any other becomes a ``TracingError``, so a numpy TypeError deep in the code
    reads as what it is."""
    try:
        return fn(*args, **kwargs)
    except SymdiffError as e:
        if not getattr(e, "_symdiff_place", False):
            place = f"{who}: in {_name(fn)}{_where(e)}: "
            e.args = (place + str(e),)
            e._symdiff_place = True  # type: ignore[attr-defined]  # once, if nested
        raise
    except Exception as e:  # noqa: BLE001 - the user's code, reported with its place
        raise TracingError(f"{who}: {_name(fn)} raised {type(e).__name__} while being traced "
                           f"with symdiff variables{_where(e)}: {e}{_hint(e)}") from e


class TracingError(SymdiffError):
    """The user's function raised while it was called with symdiff variables."""


def _hint(e: BaseException) -> str:
    """What a Node lacking an attribute means (``x.sort()``, ``x.flat``)."""
    if isinstance(e, AttributeError) and isinstance(getattr(e, "obj", None), Node):
        name = getattr(e, "name", None) or ""
        if hasattr(np.ndarray, name):
            return (f" (numpy's ndarray.{name} is not supported on symdiff Nodes; "
                    "sd.supported_numpy() lists the numpy functions that work)")
    return ""


def _library_dirs() -> tuple[str, ...]:
    """Folders whose frames are never "the user's line": numpy, symdiff, numeric, the
    standard library and installed packages."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))   # symdiff/
    dirs = [os.path.dirname(os.path.abspath(np.__file__)), here,
            os.path.dirname(os.path.abspath(numeric.__file__))]
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            dirs.append(os.path.abspath(path))
    return tuple(d.rstrip(os.sep) + os.sep for d in dirs)


def _where(e: BaseException, after: Any = None, text: bool = True) -> str:
    """The innermost line of the user's own code in ``e``'s traceback, with its text, as
    `` (at loss.py:12, in loss: return np.sort(w))``; the outermost line below the traced
    call when every frame is library code. ``after``: the code object of the frame that
    called the user's code (default: ``call_traced``'s); ``text``: quote the line."""
    after = after or call_traced.__code__
    libraries = _library_dirs()
    tb, inside, first, last = e.__traceback__, False, None, None
    while tb is not None:
        code = tb.tb_frame.f_code
        if inside:
            first = first or tb
            path = os.path.abspath(code.co_filename)
            if not path.startswith(libraries) and not code.co_filename.startswith("<frozen"):
                last = tb
        elif code is after:
            inside = True
        tb = tb.tb_next
    at = last or first
    if at is None:
        return ""
    code = at.tb_frame.f_code
    line = linecache.getline(code.co_filename, at.tb_lineno).strip()
    quoted = f": {line}" if text and line and len(line) <= 120 else ""
    return f" (at {os.path.basename(code.co_filename)}:{at.tb_lineno}, in {code.co_name}{quoted})"


def _name(fn: Callable) -> str:
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)
