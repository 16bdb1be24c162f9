"""Sums as a person writes them: the rewrite rules on matrix sums, and ``MatSum``, which
prints a sum with its positive terms first (``x - a``, ``softmax(x) - t``, ``1 -
HadamardPower(tanh.(z), 2)``) where SymPy's printer sorts them (``-a + x``).

The rules (see ``symdiff.symbolic.readable`` for the table): like terms collected
(``X.T**(-1) + X.T**(-1)`` = ``2*X.T**(-1)``); a negated sum distributed (``-(a - x)`` =
``x - a``); a sum of transposes transposed once (``-a.T + x.T`` = ``(x - a).T``); a
common left or right matrix factor taken out (``A*x + A.T*x`` = ``(A + A.T)*x``); and
elementwise polynomials expanded and collected when that is shorter (``-HadamardProduct(t,
1 - s) + HadamardProduct(1 - t, s)`` = ``s - t``). Each keeps the value: the tests prove
each by numbers at random points, and the closed form is checked against the graph again.

May import: sympy, ``symdiff.symbolic`` (named, rewriting).

>>> import sympy
>>> a, x = sympy.MatrixSymbol("a", 3, 1), sympy.MatrixSymbol("x", 3, 1)
>>> print(x - a, MatSum(*(x - a).args))
-a + x x - a
"""
from __future__ import annotations

import functools
from typing import Any, Optional

import sympy
from sympy import HadamardPower, HadamardProduct, MatAdd, MatMul
from sympy.core.sorting import default_sort_key
from sympy.printing.precedence import PRECEDENCE

from symdiff.symbolic.notation import Ones
from symdiff.symbolic.rewriting import factors, key, negated, ones, product, \
    scaled, split, transposed

MAX_MONOMIALS = 32
"""Largest expansion of an elementwise polynomial the ``expand`` rule tries."""

SHRINK = 0.75
"""A Hadamard product is expanded only when that makes it this much shorter (or more)."""


class MatSum(MatAdd):
    """SymPy's matrix sum, printed with its positive terms first, each group in SymPy's
    order (``x - a``, not ``-a + x``). Only printing differs: its algebra is
    ``MatAdd``'s and it equals the ``MatAdd`` of the same terms in value.

    >>> import sympy
    >>> t, s = sympy.MatrixSymbol("t", 2, 1), sympy.MatrixSymbol("s", 2, 1)
    >>> print(MatSum(-t, s), MatSum(-t, sympy.OneMatrix(2, 1)))
    s - t 1 - t
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        args = sorted(map(sympy.sympify, args), key=default_sort_key)
        return super().__new__(cls, *args, **kwargs)

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, MatAdd):
            return self._hashable_content() == other._hashable_content()
        return super().__eq__(other)

    def __hash__(self) -> int:
        # MatAdd's hash of the same terms (Basic hashes its class name and args)
        if self._mhash is None:
            self._mhash = hash(("MatAdd",) + self._hashable_content())
        return self._mhash

    def _ordered(self, printer: Any) -> list:
        terms = printer._as_ordered_terms(MatAdd(*self.args))
        return [t for t in terms if not _negative(t)] + [t for t in terms if _negative(t)]

    def _sympystr(self, printer: Any) -> str:
        return _join(self._ordered(printer), printer._print, "(", ")")

    def _latex(self, printer: Any) -> str:
        return _join(self._ordered(printer), printer._print, r"\left(", r"\right)")


class ScalarSum(sympy.Add):
    """SymPy's sum of numbers, printed as ``MatSum`` prints (positive terms first:
    ``0.5*(x.T*A*x)[0, 0] - (b.T*x)[0, 0]``); equal to, and hashed as, the ``Add`` of
    the same terms. Used inside matrix closed forms only (scalar graphs keep SymPy's
    printing).

    >>> import sympy
    >>> a, x = sympy.symbols("a x")
    >>> s = ScalarSum(*(x - a).args)
    >>> print(s, s == x - a)
    x - a True
    """

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, sympy.Add):
            return self._hashable_content() == other._hashable_content()
        return super().__eq__(other)

    def __hash__(self) -> int:
        if self._mhash is None:
            self._mhash = hash(("Add",) + self._hashable_content())
        return self._mhash

    def _ordered(self, printer: Any) -> list:
        terms = printer._as_ordered_terms(sympy.Add(*self.args, evaluate=False))
        return [t for t in terms if not _negative(t)] + [t for t in terms if _negative(t)]

    def _sympystr(self, printer: Any) -> str:
        return _join(self._ordered(printer), printer._print, "(", ")")

    def _latex(self, printer: Any) -> str:
        return _join(self._ordered(printer), printer._print, r"\left(", r"\right)")


def _negative(t: Any) -> bool:
    if not getattr(t, "is_Matrix", False):
        return bool(t.could_extract_minus_sign())
    c, _ = split(t)
    return bool(c.could_extract_minus_sign())


def _join(terms: list, show: Any, left: str, right: str) -> str:
    out = ""
    for i, t in enumerate(terms):
        text = show(t)
        nested = isinstance(t, (sympy.Add, MatAdd))
        minus = text.startswith("-") and not nested
        if minus:
            text = text[1:].lstrip()
        if nested:
            text = f"{left}{text}{right}"
        out += (" - " if minus else " + ") + text if i else ("-" if minus else "") + text
    return out


MatSum.precedence = ScalarSum.precedence = PRECEDENCE["Add"]


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


@functools.lru_cache(maxsize=1024)
def _printed_length(kind: type, e: Any) -> int:
    return len(str(e).replace(" ", ""))


def _length(e: Any) -> int:
    """The length of ``e`` as printed, spaces not counted."""
    return _printed_length(type(e), e)


MAX_COMPARED = 200
"""Largest subexpression (in tree nodes) the rules that compare printed lengths
(``factor``, ``expand``) rewrite: printing is SymPy's slowest step, and a rule that
printed every sum of a deep gradient whole would take time quadratic in its depth."""


def _small(e: Any) -> bool:
    """Whether ``e`` has at most ``MAX_COMPARED`` nodes (walked no further than that)."""
    stack, seen = [e], 0
    while stack:
        x = stack.pop()
        seen += 1
        if seen > MAX_COMPARED:
            return False
        stack.extend(x.args)
    return True


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


# -- elementwise polynomials ------------------------------------------------------------

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
