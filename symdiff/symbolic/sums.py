"""The rewrite rules on matrix sums (see ``symdiff.symbolic.readable`` for the table):
sums as ``MatSum``/``ScalarSum`` (``printed_sums``), printed positive terms first; like
terms collected (``X.T**(-1) + X.T**(-1)`` = ``2*X.T**(-1)``); a negated sum distributed
(``-(a - x)`` = ``x - a``); a row that is a sum of transposes transposed once (``-a.T +
x.T`` = ``(x - a).T``); a common left or right matrix factor taken out (``A*x + A.T*x``
= ``(A + A.T)*x``), or a common number (``0.5*A - 0.5*B`` = ``0.5*(A - B)``).
Elementwise polynomials are expanded by ``polynomials.expand``. Each keeps the value:
the tests prove each by numbers at random points, and the closed form is checked against
the graph again.

May import: sympy, ``symdiff.symbolic`` (named, rewriting, printed_sums, polynomials).

>>> import sympy
>>> A, x = sympy.MatrixSymbol("A", 3, 3), sympy.MatrixSymbol("x", 3, 1)
>>> print(factor(sympy.MatAdd(A * x, A.T * x)))
(A + A.T)*x
"""
from __future__ import annotations

from typing import Any, Optional

import sympy
from sympy import MatAdd, MatMul

from symdiff.symbolic.polynomials import expand
from symdiff.symbolic.printed_sums import MatSum, ScalarSum, length as _length, \
    negative as _negative, small as _small
from symdiff.symbolic.rewriting import factors, key, negated, product, \
    scaled, split, transposed


def order(e: Any) -> Optional[Any]:
    """A sum as ``MatSum`` (of matrices) or ``ScalarSum`` (of numbers), printed positive
    terms first."""
    if type(e) is MatAdd:
        return MatSum(*e.args)
    if type(e) is sympy.Add and any(_negative(t) for t in e.args):
        return ScalarSum(*e.args)
    return None


def _terms(e: Any) -> list:
    return list(e.args)


def _rebuild(terms: list, like: Any) -> Any:
    terms = [t for t in terms if not isinstance(t, sympy.ZeroMatrix)]
    if not terms:
        return sympy.ZeroMatrix(*like.shape)
    return terms[0] if len(terms) == 1 else MatSum(*terms)


def collect(e: Any) -> Optional[Any]:
    """Like terms of a matrix sum gathered: ``c1*M + c2*M`` = ``(c1 + c2)*M``."""
    if not isinstance(e, MatAdd):
        return None
    seen: dict = {}
    coeffs: dict = {}
    for t in _terms(e):
        c, m = split(t)
        k = key(m)
        seen.setdefault(k, m)
        coeffs[k] = coeffs.get(k, 0) + c
    if len(seen) == len(e.args):
        return None
    return _rebuild([scaled(coeffs[k], m) if coeffs[k] != 0 else sympy.ZeroMatrix(*m.shape)
                     for k, m in seen.items()], e)


def distribute_minus(e: Any) -> Optional[Any]:
    """``-(a - x)`` = ``x - a``: a sum times -1 is the sum of the negated terms."""
    if not isinstance(e, MatMul):
        return None
    c, m = split(e)
    if c != -1 or not isinstance(m, MatAdd):
        return None
    return _rebuild([negated(t) for t in m.args], e)


def transposed_sum(e: Any) -> Optional[Any]:
    """``-a.T + x.T`` = ``(x - a).T`` and ``b.T*X.T + c.T`` = ``(X*b + c).T``: a row that
    is a sum of transposes is the transpose of a sum."""
    if not isinstance(e, MatAdd) or e.shape[0] != 1:
        return None
    inner = []
    for t in e.args:
        c, m = split(t)
        u = transposed(m)
        if u is None:
            return None
        inner.append(scaled(c, u))
    return sympy.Transpose(MatSum(*inner))


def factor(e: Any) -> Optional[Any]:
    """A common left or right matrix factor of two or more terms taken out:
    ``A*x + A.T*x`` = ``(A + A.T)*x``, ``A.T*s - A.T*t`` = ``A.T*(s - t)``, and a common
    coefficient with it (``-A*u - A.T*u`` = ``-(A + A.T)*u``), when that is no longer; or
    else a common number (``0.5*A - 0.5*B`` = ``0.5*(A - B)``), when that is shorter."""
    if not isinstance(e, MatAdd) or not _small(e):
        return None
    parts = [factors(t) for t in e.args]
    best, best_len = None, _length(e)
    for side in (-1, 0):
        groups: dict = {}
        for i, (_, ms) in enumerate(parts):
            groups.setdefault(key(ms[side]), []).append(i)
        for idx in groups.values():
            if len(idx) < 2:
                continue
            new = _factor_group(parts, idx, side, e)
            if new is not None and _length(new) <= best_len:
                best, best_len = new, _length(new)
    if best is None:
        best = _common_number(parts, e)
    return best


def _common_number(parts: list, e: Any) -> Optional[Any]:
    """``0.5*A - 0.5*B`` = ``0.5*(A - B)``: a number every term is a multiple of (up to
    sign), taken out when that is shorter."""
    cs = [c for c, _ in parts]
    if not all(c.is_Number for c in cs):
        return None
    n = abs(cs[0])
    if n == 1 or any(abs(c) != n for c in cs):
        return None
    if all(c.could_extract_minus_sign() for c in cs):
        n = -n
    new = product(n, [MatSum(*[product(sympy.S.One if c == n else sympy.S.NegativeOne, ms)
                               for c, ms in parts])])
    return new if _length(new) < _length(e) else None


def _factor_group(parts: list, idx: list, side: int, e: Any) -> Optional[Any]:
    """The terms ``idx`` with their longest common factor on ``side`` (-1 right, 0 left)
    taken out, the other terms as they were."""
    lists = [parts[i][1] for i in idx]
    n = 0
    while all(len(ms) > n + 1 for ms in lists):
        ks = {key(ms[-1 - n] if side == -1 else ms[n]) for ms in lists}
        if len(ks) != 1:
            break
        n += 1
    if n == 0:
        return None
    cs = [parts[i][0] for i in idx]
    shared = lists[0][-n:] if side == -1 else lists[0][:n]
    others = [e.args[i] for i in range(len(parts)) if i not in idx]
    best = None
    # the common coefficient outside (-(A + A.T)*u), or each inside (A.T*(s - t))
    for common in ([cs[0]] if all(c == cs[0] for c in cs) and cs[0] != 1 else []) + [1]:
        rests = [product(sympy.S.One if c == common else c / common,
                         ms[:-n] if side == -1 else ms[n:]) for c, ms in zip(cs, lists)]
        inner = MatSum(*rests)
        inner = expand(inner) or inner
        body = product(common, [inner] + shared if side == -1 else shared + [inner])
        new = _rebuild([body] + others, e) if others else body
        if best is None or _length(new) < _length(best):
            best = new
    return best


