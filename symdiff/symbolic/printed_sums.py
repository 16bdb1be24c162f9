"""Sums printed as a person writes them: ``MatSum`` and ``ScalarSum`` print a sum with
its positive terms first (``x - a``, ``softmax(x) - t``, ``1 - HadamardPower(tanh.(z),
2)``) where SymPy's printer sorts them (``-a + x``), and are equal to (and hash as) the
``MatAdd``/``Add`` of the same terms; and the printed length the rewrite rules compare.

May import: sympy, ``symdiff.symbolic.rewriting``.

>>> import sympy
>>> a, x = sympy.MatrixSymbol("a", 3, 1), sympy.MatrixSymbol("x", 3, 1)
>>> print(x - a, MatSum(*(x - a).args))
-a + x x - a
"""
from __future__ import annotations

import functools
from typing import Any

import sympy
from sympy import MatAdd
from sympy.core.sorting import default_sort_key
from sympy.printing.precedence import PRECEDENCE

from symdiff.symbolic.rewriting import split


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
        return [t for t in terms if not negative(t)] + [t for t in terms if negative(t)]

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
        return [t for t in terms if not negative(t)] + [t for t in terms if negative(t)]

    def _sympystr(self, printer: Any) -> str:
        return _join(self._ordered(printer), printer._print, "(", ")")

    def _latex(self, printer: Any) -> str:
        return _join(self._ordered(printer), printer._print, r"\left(", r"\right)")


def negative(t: Any) -> bool:
    """Whether the term t prints with a leading minus (a negative coefficient)."""
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


@functools.lru_cache(maxsize=1024)
def _printed_length(kind: type, e: Any) -> int:
    return len(str(e).replace(" ", ""))


def length(e: Any) -> int:
    """The length of ``e`` as printed, spaces not counted."""
    return _printed_length(type(e), e)


MAX_COMPARED = 200
"""Largest subexpression (in tree nodes) the rules that compare printed lengths
(``factor``, ``expand``) rewrite: printing is SymPy's slowest step, and a rule that
printed every sum of a deep gradient whole would take time quadratic in its depth."""


def small(e: Any) -> bool:
    """Whether ``e`` has at most ``MAX_COMPARED`` nodes (walked no further than that)."""
    stack, seen = [e], 0
    while stack:
        x = stack.pop()
        seen += 1
        if seen > MAX_COMPARED:
            return False
        stack.extend(x.args)
    return True
