"""The pieces of a matrix claim before its sizes are all known, and how they combine.

A claim is read into ``Term``s first, not Nodes: ``1`` may turn out to be the number 1 or
a matrix of ones, and ``I``'s size is known only once it meets another matrix. ``Terms``
makes them, checking shapes as far as they are known: elementwise operations need equal
shapes, a matrix product equal inner sizes. ``symdiff.graph.claims.nodes`` turns them
into Nodes once every size is known. Imports symdiff.errors and the claims' ``sizes``.

>>> terms = Terms()
>>> a = terms.term("m", "leaf", rows=Dim(3), cols=Dim(2))
>>> terms.matmul(terms.term("m", "T", (a,), None, a.cols, a.rows), a).shape_text()
'a 2×2 matrix'
"""
from __future__ import annotations

import math
from typing import Any, Optional

from symdiff.errors import ParseError
from symdiff.graph.claims.sizes import Dim, unify

_OP_TEXT = {"add": "'+'", "sub": "'-'", "mul": "HadamardProduct", "div": "'/'",
            "less": "'<'", "less_equal": "'<='", "greater": "'>'", "greater_equal": "'>='"}


class Term:
    """A piece of a claim before its sizes are all known: kind "s" (a number), "m" (a
    matrix with ``rows`` x ``cols``) or "1" (a literal 1, times ``args[0]`` if present:
    the number 1 or a matrix of ones, decided by what it meets)."""

    __slots__ = ("kind", "op", "args", "params", "rows", "cols", "index", "boolean")

    def shape_text(self) -> str:
        if self.kind != "m":
            return "a number"
        r, c = self.rows.get(), self.cols.get()
        return f"a {'?' if r is None else r}×{'?' if c is None else c} matrix"


class Terms:
    """Makes the terms of one claim, numbered in the order made (a term is made after its
    arguments)."""

    def __init__(self) -> None:
        self._count = 0

    def term(self, kind: str, op: str, args: tuple = (), params: Any = None,
             rows: Optional[Dim] = None, cols: Optional[Dim] = None,
             boolean: bool = False) -> Term:
        t = Term()
        t.kind, t.op, t.args, t.params, t.rows, t.cols = kind, op, args, params, rows, cols
        t.index, t.boolean = self._count, boolean
        self._count += 1
        return t

    def number_term(self, value: float) -> Term:
        return self.term("s", "num", (), float(value))

    def one_term(self, coef: Optional[Term]) -> Term:
        return self.term("1", "one", () if coef is None else (coef,))

    def as_scalar(self, t: Term) -> Term:
        """A literal 1 (times a coefficient) as the number it then is."""
        if t.kind == "1":
            return t.args[0] if t.args else self.number_term(1.0)
        return t

    def as_matrix(self, t: Term) -> Term:
        """A literal 1 (times a coefficient) as a matrix of ones, its size to be inferred."""
        if t.kind != "1":
            return t
        ones = self.term("m", "ones", (), None, Dim(), Dim())
        return self.elementwise("mul", t.args[0], ones) if t.args else ones

    def constant_value(self, t: Term) -> Optional[float]:
        """The value of a term that is a literal number, else None."""
        if t.op == "num":
            return t.params
        if t.kind == "1":
            return self.constant_value(t.args[0]) if t.args else 1.0
        return None

    def elementwise(self, op: str, *terms: Term, boolean: bool = False, **params: Any) -> Term:
        """The elementwise ``op`` of ``terms`` (the matrices among them of one shape)."""
        ts = [self.as_scalar(t) for t in terms]
        mats = [t for t in ts if t.kind == "m"]
        for m in mats[1:]:
            first = mats[0]
            if not (unify(first.rows, m.rows) and unify(first.cols, m.cols)):
                what = _OP_TEXT.get(op, op)
                raise ParseError(f"{what}: {first.shape_text()} and {m.shape_text()} do not "
                                 "have the same shape (elementwise ops need equal shapes)")
        if not mats and all(t.op == "num" for t in ts) and not boolean:
            folded = _fold(op, [t.params for t in ts], params)
            if folded is not None:
                return self.number_term(folded)
        first = mats[0] if mats else None
        return self.term("m" if mats else "s", "ew", tuple(ts), (op, params),
                         first.rows if first else None, first.cols if first else None,
                         boolean)

    def matmul(self, a: Term, b: Term, how: str = "*") -> Term:
        """The matrix product of ``a`` and ``b``, written with ``how``."""
        if not unify(a.cols, b.rows):
            hint = ""
            if (a.rows.get(), a.cols.get()) == (1, 1) or (b.rows.get(), b.cols.get()) == (1, 1):
                hint = "; a 1×1 product such as x.T*x is a matrix: (x.T*x)[0, 0] is its number"
            elif a.cols.get() == b.cols.get() == 1:
                hint = ("; for the elementwise product of two columns write "
                        "HadamardProduct(x, y), for their dot product x.T*y")
            raise ParseError(f"'{how}' multiplies {a.shape_text()} by {b.shape_text()}: the "
                             f"inner sizes differ (1-D variables are columns){hint}")
        return self.term("m", "matmul", (a, b), None, a.rows, b.cols)


def _fold(op: str, values: list, params: dict) -> Optional[float]:
    """Arithmetic on two literal numbers, in floats (so 9**9**9 cannot run for long)."""
    try:
        if op == "add":
            return values[0] + values[1]
        if op == "sub":
            return values[0] - values[1]
        if op == "mul":
            return values[0] * values[1]
        if op == "div":
            return values[0] / values[1]
        if op == "neg":
            return -values[0]
        if op == "pow":
            return math.pow(values[0], float(params["p"]))
    except (ZeroDivisionError, OverflowError, ValueError):
        return None
    return None
