"""SymPy matrix-expression classes that print the way matrix calculus is written.

SymPy's own classes are right but hard to read in derivative formulas:
``Lambda(_d, Heaviside(_d, 0)).(X)`` for relu' applied to a matrix, ``1*x`` for the
sum of a vector, and a 1x1 product such as ``x.T*x`` expanded into its elements as soon
as it meets another matrix. These subclasses change only printing and evaluation timing;
the mathematics (and SymPy's ``doit``, ``lambdify``, ``as_explicit``) stays SymPy's.

>>> import sympy
>>> x = sympy.MatrixSymbol("x", 3, 1)
>>> t = sympy.Dummy("t")
>>> print(Elementwise(sympy.Lambda(t, sympy.Heaviside(t, 0)), x))
relu'.(x)
>>> print(sympy.exp(Entry(x.T * x)) * x)
exp((x.T*x)[0, 0])*x
>>> print(Entry(Ones(1, 3) * x), sympy.latex(Entry(Ones(1, 3) * x)))
(1.T*x)[0, 0] \\mathbf{1}^{\\top} x
"""
from __future__ import annotations

from typing import Any

import sympy
import sympy.matrices.expressions.diagonal
from sympy import OneMatrix
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.matexpr import MatrixElement

_LATEX_FUNCTIONS = {"exp", "log", "sin", "cos", "tan", "tanh"}


class Entry(MatrixElement):
    """The single element of a 1x1 matrix expression, kept whole (``(x.T*x)[0, 0]``)
    until its parent is an explicit matrix; LaTeX shows it as the product ``x^T x``."""

    def __new__(cls, parent: Any, i: Any = 0, j: Any = 0) -> Any:
        return super().__new__(cls, parent, i, j)

    def doit(self, **hints: Any) -> Any:
        parent = self.parent.doit(**hints) if hints.get("deep", True) else self.parent
        if isinstance(parent, sympy.MatrixBase):
            return parent[0, 0]
        if not parent.atoms(sympy.MatrixSymbol):
            # only constants left (ones, explicit matrices): evaluate as SymPy would
            return parent.as_explicit()[0, 0]
        return self.func(parent, 0, 0)

    def _sympystr(self, printer: Any) -> str:
        return f"({printer._print(self.parent)})[0, 0]"

    def _latex(self, printer: Any) -> str:
        return printer._print(self.parent)


class Ones(OneMatrix):
    """A matrix of ones; a row of ones prints as ``1.T`` (LaTeX ``\\mathbf{1}^{\\top}``), so
    a sum reads ``1.T*x``."""

    def _sympystr(self, printer: Any) -> str:
        rows, cols = self.shape
        return "1.T" if rows == 1 and cols != 1 else "1"

    def _latex(self, printer: Any) -> str:
        rows, cols = self.shape
        return r"\mathbf{1}^{\top}" if rows == 1 and cols != 1 else r"\mathbf{1}"


def _function_name(fn: Any) -> tuple[str, str]:
    """(text, LaTeX) names of an elementwise function ``Lambda(d, body)``."""
    d, body = fn.variables[0], fn.expr
    if body == sympy.Heaviside(d, 0):
        return "relu'", r"\operatorname{relu}'"
    if type(body).__name__ == "sigmoid" and body.args == (d,):
        return "sigmoid", r"\sigma"
    if body.args == (d,) and isinstance(body, sympy.Function):
        name = type(body).__name__
        return name, ("\\" + name if name in _LATEX_FUNCTIONS else rf"\operatorname{{{name}}}")
    return str(fn), sympy.latex(fn)


class Elementwise(ElementwiseApplyFunction):
    """A scalar function applied to every element: prints ``tanh.(X)``, ``relu'.(X)``
    (Julia's broadcast dot, as SymPy does) instead of a ``Lambda``."""

    def doit(self, **hints: Any) -> Any:
        # SymPy's doit composes nested applications into one Lambda by substitution,
        # which is exponential in the depth (and printing calls doit via -expr)
        expr = self.expr.doit(**hints) if hints.get("deep", True) else self.expr
        if isinstance(expr, sympy.MatrixBase):
            return expr.applyfunc(self.function)
        return self.func(self.function, expr)

    def _sympystr(self, printer: Any) -> str:
        return f"{_function_name(self.function)[0]}.({printer._print(self.expr)})"

    def _latex(self, printer: Any) -> str:
        # applied entry by entry, as a paper writes sigma(z) or exp(x) of a vector
        return rf"{_function_name(self.function)[1]}\left({printer._print(self.expr)}\right)"


def scalar_times_ones(expr: Any) -> Any:
    """``c`` when ``expr`` is ``c`` times a matrix of ones (a broadcast scalar), else None."""
    if isinstance(expr, OneMatrix):
        return sympy.Integer(1)
    if isinstance(expr, sympy.MatMul):
        mats = [a for a in expr.args if getattr(a, "is_Matrix", False)]
        if len(mats) == 1 and isinstance(mats[0], OneMatrix):
            return sympy.Mul(*[a for a in expr.args if not getattr(a, "is_Matrix", False)])
    return None


# -- reductions and shapes: the diagonal of a matrix, a diagonal matrix -----------------
# Both print as numpy's and the textbooks' diag(...), which reads back with numpy's meaning:
# diag of a matrix is its diagonal, diag of a vector the diagonal matrix.

class Diagonal(sympy.matrices.expressions.diagonal.DiagonalOf):
    """The diagonal of a matrix as a column: SymPy's ``DiagonalOf``, printed ``diag(A)``,
    whose shape also works on an explicit matrix (SymPy 1.14 reads ``.is_Integer`` of its
    Python ints) and whose ``doit`` evaluates on one."""

    @property
    def shape(self) -> tuple:
        r, c = (sympy.sympify(d) for d in self.arg.shape)
        return (min(r, c) if r.is_Integer and c.is_Integer else sympy.Min(r, c)), sympy.S.One

    def doit(self, **hints: Any) -> Any:
        arg = self.arg.doit(**hints) if hints.get("deep", True) else self.arg
        if isinstance(arg, sympy.MatrixBase):
            return sympy.ImmutableMatrix([[arg[i, i]] for i in range(min(arg.shape))])
        return self.func(arg)

    def _sympystr(self, printer: Any) -> str:
        return f"diag({printer._print(self.arg)})"

    def _latex(self, printer: Any) -> str:
        return rf"\operatorname{{diag}}\left({printer._print(self.arg)}\right)"


class DiagonalMatrix(sympy.matrices.expressions.diagonal.DiagMatrix):
    """The diagonal matrix of a vector: SymPy's ``DiagMatrix``, printed ``diag(v)``."""

    def doit(self, **hints: Any) -> Any:
        arg = self.args[0].doit(**hints) if hints.get("deep", True) else self.args[0]
        if isinstance(arg, sympy.MatrixBase):
            return sympy.ImmutableMatrix(sympy.diag(*list(arg)))
        return self.func(arg)

    def _sympystr(self, printer: Any) -> str:
        return f"diag({printer._print(self.args[0])})"

    def _latex(self, printer: Any) -> str:
        return rf"\operatorname{{diag}}\left({printer._print(self.args[0])}\right)"


# -- issue 15: a variable assumed symmetric (sd.var(..., symmetric=True)) -----------------
class SymmetricMatrixSymbol(sympy.MatrixSymbol):
    """A matrix symbol equal to its transpose: ``S.T`` is ``S`` (so ``S.T**(-1)`` is
    ``S**(-1)``), in printing and in proofs alike."""

    def _eval_transpose(self) -> Any:
        return self
