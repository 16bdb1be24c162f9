r"""LaTeX a paper can use: ``\odot`` for Hadamard products, ``X^{-\top}``, ``\sigma``,
``\operatorname{softmax}``, ``\lVert x \rVert`` (from ``named``), ``\mathbf{1}`` only
for a ones-vector, ``\operatorname{tr}`` and ``\det``.

``latex(expr)`` is SymPy's ``latex`` with ``PaperLatexPrinter``; ``sd.formula(...,
lang="latex")`` and a Node's ``_repr_latex_`` use it, and the output compiles in a plain
LaTeX document with amsmath (``tests/symbolic/test_latex.py`` runs pdflatex where it is
installed).

May import: sympy. (``named`` and ``notation`` classes print their own LaTeX.)

>>> import sympy
>>> X, a = sympy.MatrixSymbol("X", 3, 3), sympy.MatrixSymbol("a", 3, 1)
>>> latex(sympy.Inverse(X.T)), latex(sympy.HadamardProduct(a, a))
('X^{-\\top}', 'a \\odot a')
"""
from __future__ import annotations

from typing import Any

import sympy
from sympy.printing.latex import LatexPrinter
from sympy.matrices.expressions.matexpr import MatrixElement
from sympy.printing.precedence import PRECEDENCE



class PaperLatexPrinter(LatexPrinter):
    """SymPy's LaTeX printer with the notation of matrix-calculus papers."""

    def _print_MatMul(self, expr: Any) -> str:
        scalars = [a for a in expr.args if not getattr(a, "is_Matrix", False)]
        mats = [a for a in expr.args if getattr(a, "is_Matrix", False)]
        num, den = sympy.fraction(sympy.Mul(*scalars))
        sign = ""
        if num.could_extract_minus_sign():
            sign, num = "-", -num
        parts = [] if num == 1 else [self._coefficient(num)]
        alone = den != 1 and num == 1 and len(mats) == 1   # all of a \frac's numerator
        for m in mats:
            wrap = isinstance(m, (sympy.MatAdd, sympy.HadamardProduct, sympy.MatMul)) \
                and not alone
            parts.append(rf"\left({self._print(m)}\right)" if wrap else self._print(m))
        body = " ".join(parts)
        if den != 1:
            body = rf"\frac{{{body}}}{{{self._print(den)}}}"
        return sign + body

    def _coefficient(self, num: Any) -> str:
        r"""A product's scalar factor: ``2 e^{y}`` bare, a sum or a 1x1 product bracketed
        (``\left(a^{\top} x\right) x``, not ``a^{\top} x x``)."""
        if any(isinstance(f, MatrixElement) for f in sympy.Mul.make_args(num)):
            return rf"\left({self._print(num)}\right)"
        return self.parenthesize(num, PRECEDENCE["Mul"], strict=True)

    def _print_HadamardProduct(self, expr: Any) -> str:
        # a product inside is bracketed: t \odot (A x), never t \odot A x
        return r" \odot ".join(rf"\left({self._print(a)}\right)"
                               if isinstance(a, (sympy.MatMul, sympy.MatAdd))
                               else self._print(a) for a in expr.args)

    def _print_HadamardPower(self, expr: Any) -> str:
        base = self.parenthesize(expr.base, PRECEDENCE["Pow"], strict=True)
        return rf"{base}^{{\circ {self._print(expr.exp)}}}"

    def _print_Transpose(self, expr: Any) -> str:
        return rf"{self.parenthesize(expr.arg, PRECEDENCE['Pow'], strict=True)}^{{\top}}"

    def _print_Inverse(self, expr: Any) -> str:
        if isinstance(expr.arg, sympy.Transpose):
            inner = self.parenthesize(expr.arg.arg, PRECEDENCE["Pow"], strict=True)
            return rf"{inner}^{{-\top}}"
        return rf"{self.parenthesize(expr.arg, PRECEDENCE['Pow'], strict=True)}^{{-1}}"

    def _print_Determinant(self, expr: Any) -> str:
        return rf"\det\left({self._print(expr.arg)}\right)"

    def _print_Trace(self, expr: Any) -> str:
        return rf"\operatorname{{tr}}\left({self._print(expr.arg)}\right)"

    def _print_sigmoid(self, expr: Any, exp: Any = None) -> str:
        body = rf"\sigma\left({self._print(expr.args[0])}\right)"
        return f"{body}^{{{exp}}}" if exp is not None else body


def latex(expr: Any) -> str:
    """``expr`` in LaTeX, in a paper's matrix notation (see the module docstring)."""
    return PaperLatexPrinter().doprint(expr)

