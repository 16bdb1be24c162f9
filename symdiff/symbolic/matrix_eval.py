"""Numbers from a SymPy matrix expression, to validate a closed form before it is shown.

``sympy.lambdify`` cannot evaluate most matrix-calculus results (it has no numpy form
for ``Trace``, ``Determinant``, elementwise functions of matrix products, or ``OneMatrix``
broadcasts), so this walks the expression and maps each SymPy class to numpy. It is a
checker, not a printer: scalar pieces with no matrix inside are still lambdified by SymPy.

>>> import numpy as np, sympy
>>> A = sympy.MatrixSymbol("A", 2, 2)
>>> float(evaluate(sympy.Trace(A.T * A), {A: np.eye(2)}))
2.0
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Mapping

import numpy as np
import sympy
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.matexpr import MatrixElement

from symdiff.symbolic.functions import NUMPY_FUNCTIONS
from symdiff.symbolic.named import numeric_value

_MODULES = [NUMPY_FUNCTIONS, "numpy"]


@lru_cache(maxsize=4096)
def _is_matrixish(e: Any) -> bool:
    return bool(getattr(e, "is_Matrix", False)) or isinstance(e, MatrixElement) or \
        bool(e.atoms(sympy.MatrixSymbol, sympy.MatrixExpr, MatrixElement))


@lru_cache(maxsize=512)
def _scalar_function(e: Any) -> tuple:
    free = tuple(sorted(e.free_symbols, key=str))
    return free, sympy.lambdify(free, e, modules=_MODULES)


@lru_cache(maxsize=512)
def _head(func: Any, n: int) -> Any:
    ds = sympy.symbols(f"_a0:{n}", real=True)
    return sympy.lambdify(ds, func(*ds), modules=_MODULES)


def _children(e: Any) -> list:
    if isinstance(e, ElementwiseApplyFunction):
        return [e.expr]
    if isinstance(e, MatrixElement):
        return [e.parent]
    if isinstance(e, sympy.matrices.expressions.MatrixSlice):
        return [e.parent]
    if isinstance(e, sympy.BlockMatrix):
        return list(e.blocks)
    if isinstance(e, (sympy.MatrixSymbol, sympy.MatrixBase)) or e.is_Atom:
        return []
    if not _is_matrixish(e):
        return []
    return list(e.args)


def _combine(e: Any, xs: list, env: Mapping[Any, Any]) -> Any:
    M = sympy.matrices.expressions
    if isinstance(e, sympy.MatrixSymbol) or (e.is_Symbol and e in env):
        return np.asarray(env[e], dtype=np.float64)
    if not _is_matrixish(e):
        free, fn = _scalar_function(e)
        return np.asarray(fn(*(env[s] for s in free)), dtype=float)
    if isinstance(e, sympy.MatrixBase):
        return np.array([[evaluate(v, env) for v in row] for row in e.tolist()], dtype=float)
    if isinstance(e, sympy.OneMatrix):
        return np.ones(e.shape)
    if isinstance(e, sympy.ZeroMatrix):
        return np.zeros(e.shape)
    if isinstance(e, sympy.Identity):
        return np.eye(e.shape[0])
    if isinstance(e, ElementwiseApplyFunction):
        fn = sympy.lambdify(e.function.variables, e.function.expr, modules=_MODULES)
        return np.broadcast_to(fn(xs[0]), np.shape(xs[0])).astype(float)
    if isinstance(e, MatrixElement):
        return xs[0][int(e.i), int(e.j)]
    if isinstance(e, M.MatMul):
        out: Any = 1.0
        for x in xs:
            out = out @ x if np.ndim(out) == 2 and np.ndim(x) == 2 else out * x
        return out
    if isinstance(e, (M.MatAdd, sympy.Add)):
        return sum(xs[1:], xs[0])
    if isinstance(e, (M.HadamardProduct, sympy.Mul)):
        out = xs[0]
        for x in xs[1:]:
            out = out * x
        return out
    if isinstance(e, (M.HadamardPower, sympy.Pow, M.MatPow)):
        if isinstance(e, M.MatPow):
            return np.linalg.matrix_power(xs[0], int(e.exp)) if e.exp != -1 else \
                np.linalg.inv(xs[0])
        return np.power(xs[0], xs[1])
    if isinstance(e, sympy.BlockMatrix):
        rows, cols = e.blocks.shape
        return np.block([[xs[i * cols + j] for j in range(cols)] for i in range(rows)])
    if isinstance(e, M.MatrixSlice):
        r, c = (slice(*(None if v is None else int(v) for v in sl)) for sl in (e.rowslice, e.colslice))
        return xs[0][r, c]
    if isinstance(e, M.Transpose):
        return xs[0].T
    if isinstance(e, M.Inverse):
        return np.linalg.inv(xs[0])
    if isinstance(e, M.Determinant):
        return np.linalg.det(xs[0])
    if isinstance(e, M.Trace):
        return np.trace(xs[0])
    named = numeric_value(e, xs[0]) if xs else None
    if named is not None:
        return named
    if isinstance(e, sympy.Function):
        return _head(e.func, len(xs))(*xs)
    # -- reductions and shapes: the diagonal of a matrix, a diagonal matrix
    if isinstance(e, M.diagonal.DiagonalOf):
        return np.diagonal(xs[0]).reshape(-1, 1)
    if isinstance(e, M.diagonal.DiagMatrix):
        return np.diag(np.ravel(xs[0]))
    raise TypeError(f"cannot evaluate {type(e).__name__} numerically")


def evaluate(expr: Any, env: Mapping[Any, Any]) -> Any:
    """The value of a SymPy (matrix) expression with ``env`` mapping its symbols and
    matrix symbols to numbers / 2-D arrays. The walk is iterative.

    >>> import numpy as np, sympy
    >>> x = sympy.MatrixSymbol("x", 2, 1)
    >>> evaluate(sympy.HadamardProduct(x, x), {x: np.array([[1.0], [3.0]])}).ravel().tolist()
    [1.0, 9.0]
    """
    done: dict[Any, Any] = {}
    stack = [(expr, False)]
    while stack:
        e, ready = stack.pop()
        if e in done:
            continue
        kids = _children(e)
        if not ready and any(k not in done for k in kids):
            stack.append((e, True))
            stack.extend((k, False) for k in kids if k not in done)
            continue
        with np.errstate(all="ignore"):
            done[e] = _combine(e, [done[k] for k in kids], env)
    return done[expr]
