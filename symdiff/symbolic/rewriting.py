"""What the rewrite rules of ``symdiff.symbolic.readable`` share: the ``Rule`` record and
small helpers on matrix expressions (a product's scalar coefficient and matrix part, the
name of an elementwise function, a matrix of ones).

May import: sympy, ``symdiff.symbolic`` (notation, named).

>>> import sympy
>>> A, x = sympy.MatrixSymbol("A", 3, 3), sympy.MatrixSymbol("x", 3, 1)
>>> split(sympy.MatMul(2, A, x))
(2, A*x)
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable, Optional

import sympy
from sympy import MatMul

from symdiff.symbolic.named import MatTimes
from symdiff.symbolic.notation import Elementwise


@dataclass(frozen=True)
class Rule:
    """One rewrite: ``pattern`` (as printed before) -> ``form`` (as printed after);
    ``apply(expr)`` is the rewritten expression, or None where it does not match."""

    name: str
    pattern: str
    form: str
    apply: Callable[[Any], Optional[Any]]


def is_matrix(e: Any) -> bool:
    """Whether ``e`` is a matrix expression (not a number)."""
    return bool(getattr(e, "is_Matrix", False))


def fn_name(e: Any) -> Optional[str]:
    """``"exp"`` for ``exp.(x)`` (an elementwise function of one argument), else None."""
    if not isinstance(e, Elementwise):
        return None
    lam = e.function
    d, body = lam.variables[0], lam.expr
    if isinstance(body, sympy.Function) and body.args == (d,):
        return type(body).__name__
    return None


def apply_fn(fn: Any, x: Any) -> Any:
    """``fn.(x)``: the SymPy function ``fn`` applied to every entry of ``x``."""
    t = sympy.Dummy("t", real=True)
    return Elementwise(sympy.Lambda(t, fn(t)), x)


def split(e: Any) -> tuple[Any, Any]:
    """(scalar coefficient, matrix part) of a matrix expression."""
    if isinstance(e, MatMul):
        scalars = [a for a in e.args if not is_matrix(a)]
        mats = [a for a in e.args if is_matrix(a)]
        if scalars:
            return sympy.Mul(*scalars), (mats[0] if len(mats) == 1 else MatMul(*mats))
    return sympy.S.One, e


def factors(e: Any) -> tuple[Any, list]:
    """(scalar coefficient, the matrix factors of the product ``e``, in order)."""
    c, m = split(e)
    return c, (list(m.args) if isinstance(m, MatMul) else [m])


def product(c: Any, mats: list) -> Any:
    """``c`` times the product of ``mats`` (one factor: itself), printed as a person
    writes it."""
    if c == 0:
        return sympy.ZeroMatrix(*MatMul(*mats).shape)
    if c == 1:
        return mats[0] if len(mats) == 1 else MatMul(*mats)
    return MatTimes(c, *mats)


def scaled(c: Any, m: Any) -> Any:
    """``c*m``, the scalar gathered with any coefficient ``m`` already has."""
    if c == 1:
        return m
    if isinstance(m, MatMul):
        c0, rest = split(m)
        return MatTimes(c * c0, *(rest.args if isinstance(rest, MatMul) else (rest,)))
    return MatTimes(c, m)


def negated(e: Any) -> Any:
    """``-e``."""
    c, m = split(e)
    return scaled(-c, m)


def ones(e: Any) -> bool:
    """Whether ``e`` is a matrix of ones."""
    return isinstance(e, sympy.OneMatrix)


_BOUND = sympy.Symbol("_bound_")
_SAME = {"MatSum": "MatAdd", "ScalarSum": "Add", "MatTimes": "MatMul", "Ones": "OneMatrix"}


@functools.lru_cache(maxsize=4096)
def key(e: Any) -> Any:
    """A key equal for equal subexpressions, whatever dummy an elementwise function's
    Lambda was written with (SymPy compares those by the dummy), and whichever of our
    printing classes (``MatSum``, ``MatTimes``) holds them. Built without printing, so
    it costs a walk of ``e``."""
    out: dict = {}
    stack = [(e, False)]
    while stack:
        x, ready = stack.pop()
        if x in out and type(out.get(x)) is not _Pending:
            continue
        if isinstance(x, Elementwise):
            kids = (x.expr,)
        elif not x.args or isinstance(x, (sympy.MatrixSymbol, sympy.Lambda)):
            kids = ()
        else:
            kids = x.args
        if not ready and kids:
            out[x] = _Pending()
            stack.append((x, True))
            stack.extend((k, False) for k in kids)
            continue
        if isinstance(x, Elementwise):
            lam = x.function
            body = lam.expr.xreplace({lam.variables[0]: _BOUND})
            out[x] = ("Elementwise", body, out[x.expr])
        elif isinstance(x, sympy.Lambda):
            out[x] = ("Lambda", x.expr.xreplace(dict.fromkeys(x.variables, _BOUND)))
        elif not kids:
            out[x] = x if type(x).__name__ not in _SAME else (_SAME[type(x).__name__],
                                                               x.args)
        else:
            name = type(x).__name__
            out[x] = (_SAME.get(name, name), tuple(out[k] for k in kids))
    return out[e]


class _Pending:
    """A subexpression whose key is being built."""


def transposed(m: Any) -> Optional[Any]:
    """``u`` when ``m`` is ``u.T`` or a product of transposes (``b.T*X.T`` = ``(X*b).T``),
    else None."""
    if isinstance(m, sympy.Transpose):
        return m.arg
    if isinstance(m, MatMul) and all(isinstance(f, sympy.Transpose) for f in m.args):
        return MatMul(*[f.arg for f in reversed(m.args)])
    return None
