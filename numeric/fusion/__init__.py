"""General operator fusion and parallel execution of a program's elementwise groups.

``groups`` finds them (connected elementwise ops on arrays of one shape, ending in a full
``sum``/``mean`` or in an array), ``kernel`` runs one as a single step chunk by chunk (the
value, and the gradient in the same pass when it ends in a reduction), ``pool`` runs the
chunks on every core with a fixed order of summation, ``compiled`` writes the group as a C
loop when a C compiler is present. ``paths`` reports what a program runs.

Imports numpy and the standard library only (ctypes and the compiler only once a kernel
runs).

>>> import numpy as np
>>> from numeric import Program
>>> from numeric.fusion import groups
>>> n = groups.MIN_ELEMENTS
>>> # sum(exp(sin(x)) * x): sin, exp, mul and the sum become one fused step
>>> prog = Program([(n,)], [], [("sin", (0,), {}), ("exp", (1,), {}), ("mul", (2, 0), {}),
...                             ("sum", (3,), {})], output=4, wrt=[0])
>>> [p["ops"] for p in paths(prog)], paths(prog)[0]["reduction"]
([3], 'sum')
>>> value, (g,) = prog(np.zeros(n))
>>> float(value), float(g[0])
(0.0, 1.0)
"""
from __future__ import annotations

from typing import Any

from . import pool
from .groups import fuse_groups
from .kernel import CHUNK, Kernel

__all__ = ["fuse_groups", "Kernel", "CHUNK", "paths", "pool"]


def paths(program: Any) -> list[dict]:
    """One entry per fused step of ``program``: how many ops it holds, the elements it
    runs over, whether it ends in a reduction, the path it takes (``"c"``: a compiled
    loop; ``"numpy"``: numpy on chunks; compiling on first use, so this is final), why not
    compiled (``note``), the thread count and the chunk size. Empty: nothing was fused."""
    out = []
    for k in getattr(program, "kernels", []):
        out.append({"ops": len(k.ops), "elements": k.size, "shape": k.shape,
                    "reduction": k.reduce, "path": k.path(), "note": k.note(),
                    "threads": k._threads(), "chunk": k.chunk})
    return out
