"""The SymPy partial derivative of an elementwise row: d(row formula)/d(input j).

One function, ``row_partial``, and one cache, for every caller that differentiates a row's
formula: ``sd.diff``'s replayed recipes (``symdiff.derivatives.recipes``) and the teaching
pictures' edge labels. The partial is over the row's template dummies (real symbols
``x, y, z``); a caller substitutes its own symbols or nodes for them.

May import: sympy, ``numeric``, ``symdiff.symbolic.functions``.

>>> expr, (x,) = row_partial("sin", {}, 0)
>>> expr
cos(x)
>>> import sympy
>>> expr.xreplace({x: sympy.Symbol("a")})
cos(a)
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Mapping

import sympy

from symdiff.symbolic.functions import template


def row_partial(op: str, params: Mapping[str, Any], j: int) -> tuple[Any, tuple]:
    """``(d(row formula)/d(input j), the row's dummy symbols)`` for the elementwise row
    ``op`` with static ``params`` (``{"p": 3.0}`` for ``pow``), cached per row, params and j.

    >>> expr, (x,) = row_partial("pow", {"p": 3.0}, 0)
    >>> expr
    3*x**2
    """
    return _row_partial(op, tuple(sorted(params.items())) if params else (), j)


@lru_cache(maxsize=4096)
def _row_partial(op: str, params_key: tuple, j: int) -> tuple[Any, tuple]:
    t = template(op)
    return sympy.diff(row_formula(op, dict(params_key)), t.args[j]), t.args


def row_formula(op: str, params: Mapping[str, Any]) -> Any:
    """The elementwise row's formula over its dummy symbols, with ``params`` filled in.

    >>> row_formula("pow", {"p": 0.5})
    sqrt(x)
    """
    t = template(op)
    return t.instantiate(t.args, params)
