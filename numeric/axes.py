"""Axis arguments as numpy takes them, normalized once for the table and its helpers.

Its own module because both ``numeric.primitives`` (the table's shape rules) and
``numeric.linalg`` (which the table imports) need it. Imports numpy only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import NumericShapeError


def int_text(a: int) -> str:
    """An integer for a message (str() refuses past 4,300 digits).

    >>> int_text(-3), int_text(10**5000)
    ('-3', 'an integer of about 5000 digits')
    """
    if abs(a) < 10**18:
        return str(a)
    return f"{'minus ' if a < 0 else ''}an integer of about {round(a.bit_length() * 0.30103)} digits"


def normalize_axis(axis: Any, ndim: int, op: str) -> tuple[int, ...]:
    """Axis argument -> sorted tuple of non-negative axes (None means all axes).

    >>> normalize_axis(-1, 3, "sum"), normalize_axis(None, 2, "sum")
    ((2,), (0, 1))
    """
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        a = int(a)
        if not -ndim <= a < ndim:
            raise NumericShapeError(
                f"{op}: axis {int_text(a)} is out of range for an array of {ndim} "
                f"dimension(s)", op, ())
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise NumericShapeError(f"{op}: repeated axis in {axis!r}", op, ())
    return tuple(sorted(out))
