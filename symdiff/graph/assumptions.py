"""What a variable is assumed to be: a symmetric matrix, or a probability vector.

``sd.var("S", (n, n), symmetric=True)``: S equals its transpose, so its closed forms print
``S`` for ``S.T`` (``S**(-1)`` for ``S.T**(-1)``), its entries ``S[i, j]`` and ``S[j, i]``
are one symbol, and ``sd.verify`` draws only symmetric S. ``sd.var("t", (n,),
simplex=True)``: t is a probability vector (entries >= 0 summing to 1), so ``sum(t)`` is
1 in proofs and ``sd.verify`` draws only such t (a claim such as ``softmax(z) - t`` for
the gradient of the cross-entropy needs it). The claim text and the command line spell
them ``symmetric`` and ``simplex`` (``--assume S=symmetric``).

The assumption is held by the variable's node (``ASSUME`` in its cache). May import numpy
and ``symdiff.errors``.

>>> import numpy as np
>>> project("symmetric", np.array([[1.0, 2.0], [0.0, 1.0]]))
array([[1., 1.],
       [1., 1.]])
>>> project("simplex", np.array([-1.0, 3.0]))
array([0.25, 0.75])
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from symdiff.errors import ArgumentError

ASSUME = "assume"
"""The cache key of a variable's assumption."""
KINDS = ("symmetric", "simplex")
"""The assumptions a variable can carry."""
CONDITION = {"symmetric": "{name} is symmetric ({name} = {name}.T)",
             "simplex": "sum({name}) = 1 ({name} a probability vector)"}
"""How a report states each assumption of variable ``name``."""


def check(kind: str, shape: tuple, name: str) -> str:
    """``kind`` for a variable of ``shape``, or an ``ArgumentError`` saying why not."""
    if kind not in KINDS:
        raise ArgumentError(f"variable '{name}': unknown assumption {kind!r} (known: "
                            f"{', '.join(KINDS)})")
    if kind == "symmetric" and (len(shape) != 2 or shape[0] != shape[1]):
        raise ArgumentError(f"sd.var '{name}': symmetric=True needs a square matrix, not "
                            f"shape {shape}")
    if kind == "simplex" and len(shape) != 1:
        raise ArgumentError(f"sd.var '{name}': simplex=True needs a vector (shape (n,)), "
                            f"not shape {shape}")
    return kind


def assumption(node: Any) -> Optional[str]:
    """The assumption a variable node carries, or None."""
    return node._cache.get(ASSUME) if getattr(node, "op", None) == "var" else None


def project(kind: Optional[str], value: Any) -> Any:
    """``value`` made to satisfy ``kind``: the symmetric part of a matrix; a vector's
    absolute values normalized to sum 1 (equal entries when they are all 0)."""
    if kind is None:
        return value
    v = np.asarray(value, dtype=float)
    if kind == "symmetric":
        return (v + v.T) / 2.0
    a = np.abs(v)
    total = float(np.sum(a))
    if not np.isfinite(total) or total <= 0.0:
        return np.full(v.shape, 1.0 / max(v.size, 1))
    return a / total
