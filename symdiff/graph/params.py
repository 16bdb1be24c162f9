"""Static params of ops in the hashable forms the table stores: axes, and basic-index keys
(slices as ``("slice", start, stop, step)``), and an index key as it is written.

Imports only symdiff's errors.

>>> key = normalize_key((0, slice(1, None)), (3, 4))
>>> key, key_text(key)
((0, ('slice', 1, None, None)), '0, 1:')
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from symdiff.errors import ShapeError


def normalize_axis_param(axis: Any) -> Any:
    """Axis params must be hashable and plain: None, int or tuple of ints."""
    if axis is None:
        return None
    if isinstance(axis, (int, np.integer)):
        return int(axis)
    return tuple(int(a) for a in axis)


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
