"""Named functions of vectors and matrices, so formulas read as a person writes them.

``Norm(x)`` (the 2-norm of a vector, the Frobenius norm of a matrix), ``LogSumExp(x)``
and ``Softmax(x)`` are what ``symdiff.symbolic.readable`` folds the spelled-out forms
into: ``sqrt((x.T*x)[0, 0])`` is ``norm(x)``, ``exp.(x - logsumexp(x)*1)`` is
``softmax(x)``. Each prints under the name the claim notation reads back (``norm(x)``),
has a LaTeX form a paper uses (``\\left\\lVert x \\right\\rVert``), and ``doit()``
spells it out again in SymPy's own classes, so SymPy's algebra (``as_explicit``,
``lambdify``) sees nothing new. ``numeric_value`` gives the numbers for the matrix
evaluator.

May import: numpy, sympy, ``symdiff.symbolic.notation``.

>>> import sympy
>>> x = sympy.MatrixSymbol("x", 3, 1)
>>> print(Norm(x), sympy.sqrt(Norm(x) ** 2), MatTimes(1 / Norm(x), x))
norm(x) norm(x) x/norm(x)
>>> print(Softmax(x), Softmax(x).shape, LogSumExp(x))
softmax(x) (3, 1) logsumexp(x)
"""
from __future__ import annotations

from typing import Any

import numpy as np
import sympy
from sympy import MatMul
from sympy.matrices.expressions.matexpr import MatrixExpr

from symdiff.symbolic.notation import Elementwise, Entry, Ones


def _exp_of(x: Any) -> Any:
    t = sympy.Dummy("t", real=True)
    return Elementwise(sympy.Lambda(t, sympy.exp(t)), x)


def _sum_of(x: Any) -> Any:
    rows, cols = x.shape
    inner = sympy.MatMul(Ones(1, rows), x) if cols == 1 else \
        sympy.MatMul(Ones(1, rows), x, Ones(cols, 1))
    return Entry(inner)


class Norm(sympy.Function):
    """The 2-norm of a column (``sqrt(x.T*x)``), the Frobenius norm of a matrix."""

    is_real = True
    is_nonnegative = True

    @classmethod
    def eval(cls, x: Any) -> Any:
        return None

    def doit(self, **hints: Any) -> Any:
        x = self.args[0].doit(**hints) if hints.get("deep", True) else self.args[0]
        if x.shape[1] == 1:
            return sympy.sqrt(Entry(sympy.MatMul(x.T, x)).doit(**hints))
        return sympy.sqrt(sympy.Trace(sympy.MatMul(x.T, x)).doit(**hints))

    def _sympystr(self, printer: Any) -> str:
        return f"norm({printer._print(self.args[0])})"

    def _latex(self, printer: Any, exp: Any = None) -> str:
        body = rf"\left\lVert {printer._print(self.args[0])} \right\rVert"
        return f"{body}^{{{exp}}}" if exp is not None else body


class Total(sympy.Function):
    """The sum of every entry of a column or matrix, ``sum(x)`` (``(1.T*x)[0, 0]``)."""

    is_real = True

    @classmethod
    def eval(cls, x: Any) -> Any:
        return None

    def doit(self, **hints: Any) -> Any:
        x = self.args[0].doit(**hints) if hints.get("deep", True) else self.args[0]
        return _sum_of(x).doit(**hints)

    def _sympystr(self, printer: Any) -> str:
        return f"sum({printer._print(self.args[0])})"

    def _latex(self, printer: Any, exp: Any = None) -> str:
        body = rf"\mathbf{{1}}^{{\top}} {printer.parenthesize(self.args[0], 60)}"
        if self.args[0].shape[1] != 1:
            body = rf"\mathbf{{1}}^{{\top}} {printer.parenthesize(self.args[0], 60)} \mathbf{{1}}"
        return rf"\left({body}\right)^{{{exp}}}" if exp is not None else body


class LogSumExp(sympy.Function):
    """``log(sum(exp.(x)))`` of a column or matrix, as one named function."""

    is_real = True

    @classmethod
    def eval(cls, x: Any) -> Any:
        return None

    def doit(self, **hints: Any) -> Any:
        x = self.args[0].doit(**hints) if hints.get("deep", True) else self.args[0]
        return sympy.log(_sum_of(_exp_of(x)).doit(**hints))

    def _sympystr(self, printer: Any) -> str:
        return f"logsumexp({printer._print(self.args[0])})"

    def _latex(self, printer: Any, exp: Any = None) -> str:
        body = rf"\operatorname{{logsumexp}}\left({printer._print(self.args[0])}\right)"
        return f"{body}^{{{exp}}}" if exp is not None else body


class Softmax(MatrixExpr):
    """``exp.(x)/sum(exp.(x))``: a column (or matrix) of the same shape as ``x``."""

    is_commutative = False

    def __new__(cls, x: Any) -> Any:
        return super().__new__(cls, sympy.sympify(x))

    @property
    def arg(self) -> Any:
        return self.args[0]

    @property
    def shape(self) -> tuple:
        return self.arg.shape

    def doit(self, **hints: Any) -> Any:
        x = self.arg.doit(**hints) if hints.get("deep", True) else self.arg
        rows, cols = x.shape
        shift = sympy.MatMul(-LogSumExp(x).doit(**hints), Ones(rows, cols))
        return _exp_of(sympy.MatAdd(x, shift)).doit(**hints)

    def _entry(self, i: Any, j: Any, **kwargs: Any) -> Any:
        return self.doit()._entry(i, j, **kwargs)

    def _eval_transpose(self) -> Any:
        return None

    def _sympystr(self, printer: Any) -> str:
        return f"softmax({printer._print(self.arg)})"

    def _latex(self, printer: Any) -> str:
        return rf"\operatorname{{softmax}}\left({printer._print(self.arg)}\right)"


class MatTimes(MatMul):
    """SymPy's matrix product, printed as a person writes it: ``-A.T*HadamardProduct(t,
    u)/3`` and ``x/norm(x)`` rather than ``-(1/3)*A.T*(HadamardProduct(t, u))`` and
    ``1/norm(x)*x``; parentheses only around sums. Its algebra is ``MatMul``'s.

    >>> import sympy
    >>> A, x = sympy.MatrixSymbol("A", 3, 3), sympy.MatrixSymbol("x", 3, 1)
    >>> print(MatTimes(sympy.Rational(-1, 3), A.T, x), MatTimes(1 / Norm(x), x))
    -A.T*x/3 x/norm(x)
    """

    def _sympystr(self, printer: Any) -> str:
        scalars = [a for a in self.args if not getattr(a, "is_Matrix", False)]
        mats = [a for a in self.args if getattr(a, "is_Matrix", False)]
        num, den = sympy.fraction(sympy.Mul(*scalars))
        sign = ""
        if num.could_extract_minus_sign():
            sign, num = "-", -num
        parts = [] if num == 1 else [_factor(printer, num)]
        parts += [_factor(printer, m) for m in mats]
        text = sign + "*".join(parts)
        if den != 1:
            text += "/" + _factor(printer, den, strict=True)
        return text


def _factor(printer: Any, e: Any, strict: bool = False) -> str:
    """``e`` printed as a factor of a product: sums in parentheses (and, after a ``/``,
    products and powers of a negative exponent too)."""
    text = printer._print(e)
    if isinstance(e, (sympy.Add, sympy.MatAdd)) or (isinstance(e, MatMul) and
                                                     text.startswith("-")):
        return f"({text})"
    if strict and (isinstance(e, (sympy.Mul, MatMul)) or (isinstance(e, sympy.Pow) and
                                                          not e.exp.is_positive)):
        # a power binds tighter than /: x/norm(x)**3; x/(y**(-1)) keeps its parentheses
        return f"({text})"
    if isinstance(e, (sympy.Mul, sympy.Rational)) and e.could_extract_minus_sign():
        return f"({text})"
    return text


def numeric_value(e: Any, x: np.ndarray) -> Any:
    """The value of the named function ``e`` at ``x`` (its argument's value), or None
    when ``e`` is not one of this module's.

    >>> import sympy
    >>> float(numeric_value(Norm(sympy.MatrixSymbol("x", 2, 1)), np.array([[3.0], [4.0]])))
    5.0
    """
    x = np.asarray(x, dtype=np.float64)
    if isinstance(e, Norm):
        return np.sqrt(np.sum(x * x))
    if isinstance(e, Total):
        return np.sum(x)
    if isinstance(e, (LogSumExp, Softmax)):
        top = np.max(x)
        lse = top + np.log(np.sum(np.exp(x - top)))
        return lse if isinstance(e, LogSumExp) else np.exp(x - lse)
    return None


NAMED = (Norm, Total, LogSumExp, Softmax, MatTimes)
"""The classes of this module, for the evaluator and printers that check for them."""
