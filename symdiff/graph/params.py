"""Static params of ops in the hashable forms the table stores: shapes, axes, and
basic-index keys (slices as ``("slice", start, stop, step)``), and an index key as it is
written. Each is checked as users give it: a dimension is an int (``2.5`` is not 2, ``True``
is not 1), a shape fits a float64 array.

Imports symdiff's errors and ``symdiff.graph.values`` (for showing a value in a message).

>>> key = normalize_key((0, slice(1, None)), (3, 4))
>>> key, key_text(key)
((0, ('slice', 1, None, None)), '0, 1:')
"""
from __future__ import annotations

import math
import sys
from typing import Any, Optional

import numpy as np

from symdiff.errors import ShapeError
from symdiff.graph.values import shown

MAX_NDIM = 32
"""Most axes a shape may have (numpy 1's limit; numpy 2 allows 64)."""
MAX_SIZE = sys.maxsize // 8
"""Most elements a shape may have: a float64 array of more bytes cannot exist."""


def _is_int(d: Any) -> bool:
    return isinstance(d, (int, np.integer)) and not isinstance(d, (bool, np.bool_))


def as_shape(shape: Any, what: str, reshape: bool = False) -> tuple:
    """A shape as a tuple of ints: an int or a tuple, list or 1-D array of ints, no
    negative dimension (``reshape``: one -1 allowed), at most ``MAX_NDIM`` axes and
    ``MAX_SIZE`` elements. ``what`` names the caller in the message (a ``ShapeError``).

    >>> as_shape(3, "sd.var"), as_shape([2, 3], "sd.var"), as_shape((2, -1), "reshape", True)
    ((3,), (2, 3), (2, -1))
    """
    if _is_int(shape):
        dims: tuple = (shape,)
    elif isinstance(shape, (tuple, list)) or (isinstance(shape, np.ndarray)
                                              and shape.ndim == 1):
        dims = tuple(shape)
    else:
        raise ShapeError(f"{what}: shape must be a tuple of ints, not {type(shape).__name__} "
                         f"{shown(shape)}")
    for d in dims:
        if not _is_int(d):
            raise ShapeError(f"{what}: shape must be a tuple of ints; {shown(shape)} has "
                             f"{type(d).__name__} {shown(d)}")
    dims = tuple(int(d) for d in dims)
    if len(dims) > MAX_NDIM:
        raise ShapeError(f"{what}: shape has {len(dims)} axes, more than {MAX_NDIM}")
    unknown = [d for d in dims if d < 0]
    if unknown and not (reshape and unknown == [-1]):
        allowed = " (one -1 is allowed)" if reshape else ""
        raise ShapeError(f"{what}: negative dimension in shape {shown(dims)}{allowed}")
    if math.prod(d for d in dims if d > 0) > MAX_SIZE:
        raise ShapeError(f"{what}: shape {shown(dims)} has more elements than a float64 "
                         f"array can hold (at most {MAX_SIZE})")
    return dims


def normalize_axis_param(axis: Any, who: str = "axis") -> Any:
    """Axis params must be hashable and plain: None, int or tuple of ints (``who`` names
    the function in the message; the op's shape rule checks the range)."""
    if axis is None:
        return None
    if _is_int(axis):
        return int(axis)
    if isinstance(axis, (tuple, list)) and all(_is_int(a) for a in axis):
        return tuple(int(a) for a in axis)
    raise ShapeError(f"{who}: axis must be None, an int or a tuple of ints, not "
                     f"{type(axis).__name__} {shown(axis)}")


def as_axes(axes: Any, who: str) -> Optional[tuple]:
    """A permutation's axes for ``transpose``: None (reverse them) or ints."""
    if axes is None:
        return None
    if isinstance(axes, (tuple, list)) and all(_is_int(a) for a in axes):
        return tuple(int(a) for a in axes)
    raise ShapeError(f"{who}: axes must be None or a tuple of ints, not "
                     f"{type(axes).__name__} {shown(axes)}")


def normalize_key(key: Any, shape: tuple) -> tuple:
    """An index key in the hashable form the table stores (slices as tuples)."""
    if not isinstance(key, tuple):
        key = (key,)
    out = []
    for k in key:
        if isinstance(k, slice):
            out.append(("slice", _int_or_none(k.start), _int_or_none(k.stop),
                        _int_or_none(k.step)))
        elif k is None or k is Ellipsis:
            out.append(k)
        elif isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_)):
            out.append(int(k))
        else:
            raise ShapeError(f"index: only basic indexing (ints, slices, None, ...) is supported, "
                             f"got {type(k).__name__} in key of an array of shape {shape}")
    return tuple(out)


def _int_or_none(v: Any) -> Optional[int]:
    if v is None:
        return None
    if isinstance(v, (int, np.integer)):
        return int(v)
    raise ShapeError(f"index: slice bounds must be ints or None, got {v!r}")


def key_text(key: Any) -> str:
    """A stored basic-index key as it would be written between brackets.

    >>> key_text((0, ("slice", 1, None, None), ("slice", None, None, 2)))
    '0, 1:, ::2'
    """
    parts = []
    for k in key:
        if isinstance(k, tuple) and k and k[0] == "slice":
            s = ":".join("" if v is None else str(v) for v in k[1:3])
            parts.append(s + (f":{k[3]}" if k[3] is not None else ""))
        else:
            parts.append("..." if k is Ellipsis else str(k))
    return ", ".join(parts)
