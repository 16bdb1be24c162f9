"""One identity of symdiff's matrix notation, used by proofs and by generated code: an
outer product written as a Hadamard product of ones-broadcasts, ``(u*1.T) o (1*v.T)``,
is ``u*v.T``; a ones matrix inside a Hadamard product of its shape is dropped.

The matrix forms of ``a @ X @ b`` and of quadratic forms carry this shape; the outer
product is what a reader (and numpy) wants. May import SymPy only.

>>> import sympy
>>> from symdiff.symbolic.notation import Ones
>>> u, v = sympy.MatrixSymbol("u", 3, 1), sympy.MatrixSymbol("v", 2, 1)
>>> h = sympy.HadamardProduct(u * Ones(1, 2), 2 * Ones(3, 1) * v.T)
>>> outer_products(h)
2*u*v.T
"""
from __future__ import annotations

from typing import Any, Optional

import sympy


def outer_products(expr: Any) -> Any:
    """``expr`` with every ``(u*1.T) o (1*v.T)`` written ``u*v.T`` (see the module)."""
    if not isinstance(expr, sympy.Basic) or not expr.has(sympy.HadamardProduct):
        return expr
    return expr.replace(lambda n: isinstance(n, sympy.HadamardProduct), _outer)


def _outer(h: Any) -> Any:
    args = [a for a in h.args if not isinstance(a, sympy.OneMatrix)] or list(h.args[:1])
    if len(args) == 2:
        u, v = (_split(a) for a in args)
        if u is not None and v is not None and {u[2], v[2]} == {"right", "left"}:
            col, row = (u, v) if u[2] == "right" else (v, u)
            return sympy.MatMul(col[0] * row[0], col[1], row[1])
    return sympy.HadamardProduct(*args) if len(args) > 1 else args[0]


def _split(m: Any) -> Optional[tuple[Any, Any, str]]:
    """``c*u*1.T`` (u a column) -> (c, u, "right"); ``c*1*v.T`` (a row) -> (c, v.T, "left")."""
    if not isinstance(m, sympy.MatMul):
        return None
    coeff, mats = m.as_coeff_matrices()
    if len(mats) < 2:
        return None
    if isinstance(mats[-1], sympy.OneMatrix) and mats[-1].shape[0] == 1:
        rest = sympy.MatMul(*mats[:-1]) if len(mats) > 2 else mats[0]
        if rest.shape[1] == 1:
            return coeff, rest, "right"
    if isinstance(mats[0], sympy.OneMatrix) and mats[0].shape[1] == 1:
        rest = sympy.MatMul(*mats[1:]) if len(mats) > 2 else mats[1]
        if rest.shape[0] == 1:
            return coeff, rest, "left"
    return None
