"""The rewrite rule ``expand``: an elementwise polynomial (sums and Hadamard products of
one shape) expanded and collected, when that is shorter: ``-HadamardProduct(t, 1 - s) +
HadamardProduct(1 - t, s)`` = ``s - t``, ``HadamardProduct(x, HadamardPower(x, -1))`` =
``1``. A sum the expression also divides by stays whole until it has cancelled.

May import: sympy, ``symdiff.symbolic`` (notation, rewriting, printed_sums).

>>> import sympy
>>> from symdiff.symbolic.notation import Ones
>>> s, t = sympy.MatrixSymbol("s", 3, 1), sympy.MatrixSymbol("t", 3, 1)
>>> one = Ones(3, 1)
>>> print(expand(sympy.MatAdd(-sympy.HadamardProduct(t, one - s),
...                           sympy.HadamardProduct(one - t, s))))
s - t
"""
from __future__ import annotations

from typing import Any, Optional

import sympy
from sympy import HadamardPower, HadamardProduct, MatAdd

from symdiff.symbolic.notation import Ones
from symdiff.symbolic.printed_sums import MatSum, length as _length, small as _small
from symdiff.symbolic.rewriting import key, ones, scaled, split

MAX_MONOMIALS = 32
"""Largest expansion of an elementwise polynomial the ``expand`` rule tries."""

SHRINK = 0.75
"""A Hadamard product is expanded only when that makes it this much shorter (or more)."""


def _poly(e: Any, atoms: dict, keep: frozenset) -> Optional[dict]:
    """``e`` as a polynomial in its elementwise atoms: {monomial: coefficient}, a
    monomial a sorted tuple of (atom key, power); None past ``MAX_MONOMIALS``. The sums
    in ``keep`` (those ``e`` also divides by) are atoms, so they cancel."""
    if isinstance(e, MatAdd) and key(e) not in keep:
        out: dict = {}
        for t in e.args:
            p = _poly(t, atoms, keep)
            if p is None:
                return None
            for m, c in p.items():
                if m in out:
                    atoms[_MERGED] = True
                out[m] = out.get(m, 0) + c
        return {m: c for m, c in out.items() if c != 0}
    if isinstance(e, sympy.ZeroMatrix):
        return {}
    if ones(e):
        return {(): sympy.S.One}
    c, m = split(e)
    if c != 1:
        p = _poly(m, atoms, keep)
        return None if p is None else {k: c * v for k, v in p.items()}
    if isinstance(e, HadamardProduct):
        out = {(): sympy.S.One}
        for f in e.args:
            p = _poly(f, atoms, keep)
            if p is None:
                return None
            out = _times(out, p, atoms)
            if out is None:
                return None
        return out
    if isinstance(e, HadamardPower) and e.exp.is_Integer and e.exp > 0 and \
            isinstance(e.base, MatAdd) and key(e.base) not in keep:
        return _poly(HadamardProduct(*([e.base] * int(e.exp))), atoms, keep)
    b, k = (e.base, int(e.exp)) if isinstance(e, HadamardPower) and e.exp.is_Integer \
        else (e, 1)
    atoms.setdefault(key(b), b)
    return {((key(b), k),): sympy.S.One}


def _times(p: dict, q: dict, atoms: dict) -> Optional[dict]:
    rank = {a: i for i, a in enumerate(atoms)}     # factors in order of appearance
    out: dict = {}
    for m1, c1 in p.items():
        first = dict(m1)
        for m2, c2 in q.items():
            powers = dict(first)
            for a, k in m2:
                powers[a] = powers.get(a, 0) + k
                if a in first and powers[a] == 0:
                    atoms[_MERGED] = True      # u times HadamardPower(u, -1)
            m = tuple(sorted(((a, k) for a, k in powers.items() if k != 0),
                             key=lambda pair: rank[pair[0]]))
            if m in out:
                atoms[_MERGED] = True
            out[m] = out.get(m, 0) + c1 * c2
    out = {m: c for m, c in out.items() if c != 0}
    return out if len(out) <= MAX_MONOMIALS else None


_MERGED = "merged"
"""Set in the atoms of an expansion where terms were collected or factors cancelled:
without that, expanding only distributes, and the result is not shorter."""


def _from_poly(p: dict, atoms: dict, shape: tuple) -> Any:
    terms = []
    for m, c in p.items():
        fs = [atoms[a] if k == 1 else HadamardPower(atoms[a], k) for a, k in m]
        body = Ones(*shape) if not fs else \
            (fs[0] if len(fs) == 1 else HadamardProduct(*fs))
        terms.append(scaled(c, body))
    if not terms:
        return sympy.ZeroMatrix(*shape)
    return terms[0] if len(terms) == 1 else MatSum(*terms)


def _divisors(e: Any) -> frozenset:
    """The keys of the sums ``e`` divides by entry by entry (``HadamardPower(1 - s,
    -1)``)."""
    return frozenset(key(p.base) for p in sympy.preorder_traversal(e)
                     if isinstance(p, HadamardPower) and p.exp.is_Integer and p.exp < 0
                     and isinstance(p.base, MatAdd))


def expand(e: Any) -> Optional[Any]:
    """An elementwise polynomial (sums and Hadamard products of the same shape)
    expanded and collected, when that is shorter: ``-HadamardProduct(t, 1 - s) +
    HadamardProduct(1 - t, s)`` = ``s - t``. A sum it also divides by stays whole until
    it has cancelled (``HadamardProduct(u, 1 - s, HadamardPower(1 - s, -1))`` = ``u``)."""
    if isinstance(e, MatAdd):
        if not any(isinstance(split(t)[1], (HadamardProduct, HadamardPower))
                   for t in e.args):
            return None
    elif not (isinstance(e, HadamardProduct) and
              any(isinstance(split(f)[1], MatAdd) for f in e.args)):
        return None
    if not _small(e):
        return None
    new = e
    for _ in range(3):
        atoms: dict = {}
        keep = _divisors(new)
        p = _poly(new, atoms, keep)
        if p is None:
            return None
        if not atoms.pop(_MERGED, False) and new is e:
            return None                # nothing collects or cancels: only distributing
        new = _from_poly(p, atoms, e.shape)
        if not keep:
            break
    if isinstance(e, HadamardProduct):
        # a product is expanded only where much of it cancels: HadamardProduct(s, 1 - s)
        # is how a textbook writes sigmoid's derivative, s - HadamardPower(s, 2) is not
        return new if _length(new) <= SHRINK * _length(e) else None
    return new if _length(new) < _length(e) else None
