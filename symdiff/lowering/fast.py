"""The keyword fast path of a lowered scalar program: ``vg(x=7.0)`` on Python floats.

A binder generated for the variables' names checks each value is a finite float and
calls the program's Python-float code (``numeric.codegen.scalar``); anything else raises,
and the caller takes the general path, which gives the same numbers and the proper
errors. Imports numpy only.

>>> fast = fast_binder(["x"], lambda x: (x * x, [2 * x]))
>>> fast(x=3.0)
(9.0, [6.0])
"""
from __future__ import annotations

import keyword
from typing import Any

import numpy as np

__all__ = ["FALLBACK", "MISSING", "Slow", "fast_binder", "fast_call", "to_float"]


class Slow(Exception):
    """The scalar fast path does not apply to this call; the general path will run."""


MISSING = object()
FALLBACK = (Slow, TypeError, ArithmeticError, ValueError, AttributeError)


def to_float(v: Any) -> float:
    t = type(v)
    if t is int or t is bool:
        return float(v)
    if isinstance(v, (float, np.floating, np.integer, np.bool_)) or (
            t is np.ndarray and v.shape == () and v.dtype.kind in "fiub"):
        return float(v)
    raise Slow


def fast_binder(names: list[str], scalar: Any) -> Any:
    """``fn(**values)`` calling the program's Python-float code on keyword values: the
    W1 hot path (``vg(x=7.0)``) without dicts of arrays, shape checks or numpy calls.
    Non-float, nan or inf values, missing or unknown names raise, and the caller then
    takes the general path, which gives the same numbers and the proper errors."""
    if scalar is None or not all(n.isidentifier() and not keyword.iskeyword(n)
                                 and not n.startswith("_sd_") for n in names):
        return None
    checks = [f"    if type({n}) is not float: {n} = _sd_to_float({n})" for n in names]
    finite = " and ".join(f"{n} - {n} == 0.0" for n in names) or "True"
    source = "\n".join([
        f"def fast(*, {', '.join(f'{n}=_sd_M' for n in names)}):" if names else "def fast():",
        *checks,
        f"    if not ({finite}):",
        "        raise _sd_Slow",  # nan and inf: numpy's semantics, on the numpy path
        f"    return _sd_scalar({', '.join(names)})",
    ])
    ns = {"_sd_M": MISSING, "_sd_to_float": to_float, "_sd_Slow": Slow,
          "_sd_scalar": scalar}
    exec(compile(source, "<symdiff binder>", "exec"), ns)  # noqa: S102 - names checked above
    return ns["fast"]


def fast_call(fast: Any, values: Any, kwargs: dict, leaf_ids: frozenset) -> Any:
    if values is None:
        return fast(**kwargs)
    if kwargs or type(values) is not dict:
        raise Slow
    named = {}
    for k, v in values.items():
        if type(k) is not str:
            if id(k) not in leaf_ids:
                raise Slow  # a node key other than the graph's own leaf: bind checks it
            k = k.name
        named[k] = v
    return fast(**named)
