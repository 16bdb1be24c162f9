"""The command line's text entry: ``--at`` values, ``--shape``, ``--wrt`` and
``--sympy-seconds``, read safely.

Values are numbers or nested lists read with ``ast.literal_eval`` (never ``eval``), ASCII
only, within the float range and size limits. Imports only symdiff's errors and the text
layer's number rules.

>>> parse_at(["x=7,W=[[1,2],[3,4]]"])["W"].shape
(2, 2)
"""
from __future__ import annotations

import ast
import math
import re
from typing import Sequence

import numpy as np

from symdiff.errors import SymdiffError
from symdiff.text.numbers import fits_float


class UsageError(SymdiffError):
    """A command-line argument symdiff cannot use (reported with exit status 2)."""



MAX_DIMENSIONS = 32
"""Most dimensions a ``--shape`` or an ``--at`` array may have (numpy's limit is 64)."""
MAX_SIZE = 10**6
"""Most elements a ``--shape`` or an ``--at`` array may have: the commands compute values,
gradients, constants and numeric checks of that size (``sum(W@W)`` with W 3000×3000 took
over 30 s)."""
_INF_OR_NAN = re.compile(r"[+-]?(inf|infinity|nan)", re.IGNORECASE)


def parse_at(items: Sequence[str]) -> dict[str, object]:
    """``["x=7,y=2", "W=[[1,2],[3,4]]"]`` -> ``{"x": 7.0, "y": 2.0, "W": array}``.

    A value is a number (``inf`` and ``nan`` too, as ``float()`` reads them) or a nested
    list of numbers (read with ``ast.literal_eval``, never ``eval``), ASCII only; True,
    False, None, strings, and numbers beyond the float range are refused.
    """
    point: dict[str, object] = {}
    for item in items:
        for pair in _split_top_level(item):
            name, sep, text = (s.strip() for s in pair.partition("="))
            if not sep or not name.isidentifier() or not text:
                raise UsageError(f"--at: expected name=value, got {quoted(pair.strip())}")
            value = _value(name, text)
            if name in point:
                raise UsageError(f"--at: '{name}' is given twice")
            point[name] = float(value) if value.ndim == 0 else value
    return point


def _value(name: str, text: str) -> np.ndarray:
    """The value of ``--at name=text`` as a float64 array."""
    bad = UsageError(f"--at {name}: {quoted(text)} is not a number or a nested list of "
                     "numbers")
    if not text.isascii():   # float() would read fullwidth and other digits
        raise bad
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        if math.isinf(number) and not _INF_OR_NAN.fullmatch(text.strip()):
            raise _too_large(name, text)
        return np.asarray(number)
    try:
        literal = ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise bad from None
    size = 0   # the numbers in it, checked without recursion (nesting is bounded below)
    stack = [literal]
    while stack:
        v = stack.pop()
        if isinstance(v, (list, tuple)):
            stack.extend(v)
        elif type(v) is int or type(v) is float:
            if type(v) is int and v.bit_length() > 1023 and not fits_float(v) \
                    or type(v) is float and math.isinf(v):
                raise _too_large(name, text)
            size += 1
        else:   # True, None, strings, complex numbers, dicts, sets, Ellipsis
            raise bad
    if size > MAX_SIZE:
        raise UsageError(f"--at {name}: {size} numbers; at most {MAX_SIZE} are accepted")
    if size == 0:   # an empty array has no derivative to show or check
        raise UsageError(f"--at {name}: {quoted(text)} holds no numbers; give at least one")
    try:
        value = np.asarray(literal, dtype=np.float64)
    except (ValueError, TypeError, MemoryError):   # ragged, or too deep for numpy
        raise bad from None
    if value.ndim > MAX_DIMENSIONS:
        raise UsageError(f"--at {name}: {value.ndim} dimensions; at most {MAX_DIMENSIONS} "
                         "are accepted")
    return value


def _too_large(name: str, text: str) -> UsageError:
    return UsageError(f"--at {name}: {quoted(text)} is beyond the float range (at most about "
                      "1.8e308; write inf for infinity)")


def quoted(text: str, limit: int = 60) -> str:
    """``repr`` of a piece of the command line, shortened if long."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text)} characters)"


_DIMENSION = re.compile(r"\s*[+-]?[0-9]+\s*")


def parse_shapes(items: Sequence[str]) -> dict[str, tuple]:
    """``["W=2,3", "v=(3,)"]`` -> ``{"W": (2, 3), "v": (3,)}``; ASCII digits, at most
    ``MAX_DIMENSIONS`` dimensions and ``MAX_SIZE`` elements."""
    shapes: dict[str, tuple] = {}
    for item in items:
        name, sep, dims = (s.strip() for s in item.partition("="))
        dims = dims.strip("()[] ")
        parts = [d for d in dims.split(",") if d.strip()] if dims else []
        if not sep or not name.isidentifier() or \
                not all(_DIMENSION.fullmatch(d) and len(d.strip()) <= 20 for d in parts):
            raise UsageError(f"--shape: expected name=d1,d2,... (e.g. W=2,3), "
                             f"got {quoted(item)}")
        shapes[name] = tuple(int(d) for d in parts)
        if any(d <= 0 for d in shapes[name]):   # 0: an empty array, nothing to differentiate
            raise UsageError(f"--shape {name}: dimensions must be positive")
        if len(shapes[name]) > MAX_DIMENSIONS:
            raise UsageError(f"--shape {name}: {len(shapes[name])} dimensions; at most "
                             f"{MAX_DIMENSIONS} are accepted")
        if math.prod(shapes[name]) > MAX_SIZE:
            raise UsageError(f"--shape {name}: {math.prod(shapes[name])} elements; at most "
                             f"{MAX_SIZE} are accepted")
    return shapes


MAX_SECONDS = 10**6
"""Largest ``--sympy-seconds`` accepted (over eleven days: "no limit" for any real use)."""


def parse_seconds(text: str) -> float:
    """``--sympy-seconds``: a number of seconds from 0 (no SymPy at all) to ``MAX_SECONDS``.

    >>> parse_seconds("2.5")
    2.5
    """
    try:
        seconds = float(text) if str(text).isascii() else float("nan")
    except ValueError:
        seconds = float("nan")
    if not 0 <= seconds <= MAX_SECONDS:
        raise UsageError(f"--sympy-seconds: expected a number of seconds from 0 to "
                         f"{MAX_SECONDS}, got {quoted(str(text))}")
    return seconds


def parse_wrt(items: Sequence[str], variables: dict) -> list[str]:
    """Names from repeated / comma-separated ``--wrt``; default: every variable, sorted."""
    names = [n.strip() for item in items for n in item.split(",") if n.strip()]
    for name in names:
        if name not in variables:
            raise UsageError(f"--wrt: unknown variable '{name}'; the expression's variables "
                             f"are: {', '.join(sorted(variables)) or 'none'}")
    return list(dict.fromkeys(names)) if names else sorted(variables)


def _split_top_level(text: str) -> list[str]:
    """Split at commas outside brackets: ``"x=1,W=[[1,2],[3,4]]"`` -> two pairs."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += ch in "[("
        depth -= ch in "])"
        if ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p for p in parts if p.strip()]
