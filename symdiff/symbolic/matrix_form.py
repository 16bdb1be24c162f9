"""The matrix closed form of an array graph: ``MatrixSymbol``, ``MatMul``, Hadamard ops.

``matrix_expression`` builds the SymPy matrix expression of a graph whose arrays are
scalars, vectors (as ``(n, 1)`` columns) and matrices: each elementwise op through its
row's formula (``_elementwise_matrix``), each structural op through its builder in
``_STRUCTURAL`` (sums as products with ``Ones``, matmul, transposes, reshapes, basic
indexing as blocks, norms, logsumexp, trace, det, inverse). ``leaf_symbol`` and
``const_form`` are the SymPy forms of leaves, shared with the scalar form in
``symdiff.symbolic.closed_form``, which chooses the form and validates it.

May import: numpy, sympy, ``numeric``, ``symdiff.errors``, ``symdiff.graph`` and
``symdiff.symbolic`` (constants, functions, notation).

>>> import symdiff as sd
>>> W = sd.var("W", (2, 3))
>>> leaf_symbol(W).shape
(2, 3)
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import sympy
from sympy import (HadamardPower, HadamardProduct, Identity, ImmutableMatrix, Lambda,
                   MatrixSymbol, ZeroMatrix)

from numeric import PRIMITIVES

from symdiff.errors import ClosedFormError
from symdiff.graph.node import Node
from symdiff.symbolic.constants import check_numbers
from symdiff.symbolic.functions import template, to_sympy_number
from symdiff.symbolic.notation import Elementwise, Entry, Ones, scalar_times_ones
from symdiff.symbolic.notation import Diagonal, DiagonalMatrix


def leaf_symbol(n: Node) -> Any:
    """The SymPy symbol of a variable or tensor leaf (a MatrixSymbol for arrays)."""
    if n.shape == ():
        return sympy.Symbol(n.name)
    rows, cols = _as_matrix_shape(n.shape, n)
    if n.op == "var" and n._cache.get("assume") == "symmetric":   # -- issue 15
        from symdiff.symbolic.notation import SymmetricMatrixSymbol
        return SymmetricMatrixSymbol(n.name, rows, cols)
    return MatrixSymbol(n.name, rows, cols)


def const_form(n: Node) -> Any:
    """The SymPy form of a constant: a number, True/False, or a matrix (``Identity``,
    ``ZeroMatrix`` and ``Ones`` by their names).

    >>> import numpy as np, symdiff as sd
    >>> const_form(sd.const(np.eye(2))), const_form(sd.const(2.0))
    (I, 2)
    """
    v = np.asarray(n._value)
    if n.dtype == "bool":
        if v.ndim:
            raise ClosedFormError("a boolean constant array has no matrix form; use explicit=True")
        return sympy.true if bool(v) else sympy.false
    if v.ndim == 0:
        exact = n._cache.get("exact")   # folded from integers (derivatives.build.EXACT)
        return sympy.Rational(exact.numerator, exact.denominator) if exact is not None \
            else to_sympy_number(v)
    rows, cols = _as_matrix_shape(v.shape, n)
    # the constants derivatives produce (I from a trace, broadcast ones) by their names
    flat = v.reshape(-1)
    if v.size and np.all(flat == flat[0]):
        exact = n._cache.get("exact")   # folded from integers (derivatives.build.EXACT)
        number = sympy.Rational(exact.numerator, exact.denominator) if exact is not None \
            else to_sympy_number(flat[0])
        return ZeroMatrix(rows, cols) if flat[0] == 0 else Ones(rows, cols) if flat[0] == 1 \
            else number * Ones(rows, cols)
    if rows == cols and rows > 1 and np.array_equal(v.reshape(rows, cols), np.eye(rows)):
        return Identity(rows)
    return ImmutableMatrix(rows, cols, [to_sympy_number(e) for e in flat])


def _as_matrix_shape(shape: tuple, n: Node) -> tuple[int, int]:
    if len(shape) == 1:
        return shape[0], 1
    if len(shape) == 2:
        return shape
    raise ClosedFormError(
        f"{n._describe()} has {len(shape)} dimensions; matrix expressions cover scalars, "
        "vectors and matrices: use .sympy(explicit=True) for small arrays")


def _unsupported(n: Node, why: str = "") -> ClosedFormError:
    shapes = ", ".join(str(a.shape) for a in n.args)
    return ClosedFormError(
        f"{n.op} on shapes {shapes} has no matrix expression{': ' + why if why else ''}; "
        "use .sympy(explicit=True) for small concrete shapes")


def _mat(expr: Any) -> Any:
    """SymPy folds 1x1 products to scalars; put them back in a 1x1 matrix."""
    return expr if getattr(expr, "is_Matrix", False) else ImmutableMatrix([[expr]])


def _mul(*factors: Any) -> Any:
    """A matrix product (scalars allowed) that keeps ``2*X.T*(X*W - y)`` factored:
    SymPy's ``*`` calls ``doit``, which distributes the scalar into the sum."""
    mats = [f for f in factors if getattr(f, "is_Matrix", False)]
    if not mats:
        return sympy.Mul(*factors)
    if len(mats) == 1:
        c = sympy.Mul(*[f for f in factors if not getattr(f, "is_Matrix", False)])
        m = mats[0]
        if isinstance(m, sympy.MatMul):
            # a scalar times det's gradient det(A)*A.T**(-1) (the cofactor row's form):
            # one scalar factor, which SymPy reduces (1/det(A) * det(A) -> 1), as it did
            # when the gradient was built as a scalar node times A.T**(-1)
            coeff, rest = m.as_coeff_mmul()
            if coeff != 1 and coeff.has(sympy.Determinant):
                c, m = c * coeff, rest.args[0] if len(rest.args) == 1 else rest
        return m if c == 1 else sympy.MatMul(c, m)
    return sympy.MatMul(*factors, evaluate=True)


def _add(a: Any, b: Any) -> Any:
    if getattr(a, "is_Matrix", False) and getattr(b, "is_Matrix", False):
        return sympy.MatAdd(a, b, evaluate=True)
    return a + b


def _entry(expr: Any) -> Any:
    """The scalar in a 1x1 matrix expression, without expanding a product into elements."""
    if isinstance(expr, sympy.MatrixBase):
        return expr[0, 0]
    return Entry(expr)


def _bcast(expr: Any, shape: tuple, target: tuple, n: Node) -> Any:
    """A matrix expression for ``expr`` of numpy shape ``shape`` broadcast to ``target``."""
    if shape == target:
        return expr
    tr, tc = _as_matrix_shape(target, n)
    if isinstance(expr, sympy.MatrixBase) and expr.shape == (1, 1):
        expr, shape = expr[0, 0], ()
    if shape == ():
        return _mul(expr, Ones(tr, tc))
    if len(target) == 1:                    # (1,) -> (n,)
        return _mul(Ones(tr, 1), _mat(expr))
    # align with numpy: a 1-D (m,) is a row of the target; ours is a column, so transpose
    e, (rs, cs) = (_mat(expr).T, (1, shape[0])) if len(shape) == 1 else (_mat(expr), shape)
    if rs == 1 and tr > 1:
        e = _mul(Ones(tr, 1), e)
    if cs == 1 and tc > 1:
        e = _mul(e, Ones(1, tc))
    return e


def _elementwise_matrix(n: Node, xs: list[Any]) -> Any:
    shapes = [a.shape for a in n.args]
    if n.shape == ():
        return template(n.op).instantiate(xs, n.params)
    if len(xs) == 1 and isinstance(xs[0], sympy.MatrixBase):
        # an explicit matrix (a constant, a 1x1 holding a scalar) element by element through
        # the row's formula, which estimates its powers before SymPy computes them
        t = template(n.op)
        return xs[0].applyfunc(lambda e: t.instantiate([e], n.params))
    if n.op in ("add", "sub"):
        a, b = (_bcast(x, s, n.shape, n) for x, s in zip(xs, shapes))
        return _add(a, b) if n.op == "add" else _add(a, _mul(-1, b))
    if n.op in ("mul", "div"):
        a, b = xs
        if shapes[1] == ():
            return _mul(a, b) if n.op == "mul" else _mul(1 / b, a)
        if shapes[0] == () and n.op == "mul":
            return _mul(a, b)
        a, b = (_bcast(x, s, n.shape, n) for x, s in zip(xs, shapes))
        ca, cb = scalar_times_ones(a), scalar_times_ones(b)
        if cb is not None:          # a broadcast scalar: an ordinary scalar factor
            return _mul(cb, a) if n.op == "mul" else _mul(1 / cb, a)
        if ca is not None and n.op == "mul":
            return _mul(ca, b)
        if n.op == "div":
            b = HadamardPower(b, -1)
        return HadamardProduct(a, b)
    if n.op == "neg":
        return _mul(-1, xs[0])
    if n.op == "pow":
        return HadamardPower(xs[0], to_sympy_number(n.params["p"], exact=True))
    if n.op == "pow_tensor":
        # x**y = exp(y log x) on pow_tensor's domain x > 0
        a, b = (_bcast(x, s, n.shape, n) for x, s in zip(xs, shapes))
        return _apply(sympy.exp, HadamardProduct(_apply(sympy.log, a), b))
    if len(xs) == 1:
        # any other one-input row maps each element through the row's formula
        t = sympy.Dummy("t", real=True)
        body = template(n.op).instantiate([t], n.params)
        return _elementwise(Lambda(t, body), xs[0])
    raise _unsupported(n)


def _sum_matrix(n: Node, x: Any) -> Any:
    shape = n.args[0].shape
    axis = n.params.get("axis")
    axes = tuple(range(len(shape))) if axis is None else \
        tuple(sorted(a % len(shape) for a in ((axis,) if isinstance(axis, int) else axis)))
    if n.params.get("keepdims") and len(shape) == 2 and axes == (0,):
        # numpy keeps a (1, m) row here, where the plain sum is an (m,) column
        total = _mul(Ones(1, shape[0]), x)
        return total / (shape[0] if n.op == "mean" else 1)
    if len(shape) == 1:
        total = _entry(_mul(Ones(1, shape[0]), x))
    elif axes == (0, 1):
        total = _entry(_mul(Ones(1, shape[0]), x, Ones(shape[1], 1)))
    elif axes == (0,):
        total = _mul(x.T, Ones(shape[0], 1))
    else:
        total = _mul(x, Ones(shape[1], 1))
    if n.op == "mean":
        count = int(np.prod([shape[a] for a in axes], dtype=np.int64)) or 1
        total = total / count
    if n.shape == (1,) or n.shape == (1, 1):
        return ImmutableMatrix([[total]])
    return total


def _matmul_matrix(n: Node, a: Any, b: Any) -> Any:
    sa, sb = (x.shape for x in n.args)
    if len(sa) > 2 or len(sb) > 2:
        raise _unsupported(n, "batched matmul")
    if len(sa) == 1 and len(sb) == 1:
        return _entry(_mul(a.T, b))
    if len(sa) == 1:
        return _mul(b.T, a)      # x @ W  ->  (x^T W)^T = W^T x as a column
    return _mul(a, b)


def _index_matrix(n: Node, x: Any) -> Any:
    from numeric.primitives import index_key
    key = index_key(n.params["key"])
    shape = n.args[0].shape
    if any(k is None or k is Ellipsis for k in key) or len(key) > len(shape):
        raise _unsupported(n, "None/Ellipsis indexing")
    key = key + (slice(None),) * (len(shape) - len(key))
    if len(shape) == 1:
        k = key[0]
        return x[k % shape[0], 0] if isinstance(k, int) else _slice_col(x, k, shape[0])
    i, j = key
    if isinstance(i, int) and isinstance(j, int):
        return x[i % shape[0], j % shape[1]]
    rows = range(shape[0])[i] if isinstance(i, slice) else [i % shape[0]]
    cols = range(shape[1])[j] if isinstance(j, slice) else [j % shape[1]]
    if (isinstance(i, slice) and i.step not in (None, 1)) or \
            (isinstance(j, slice) and j.step not in (None, 1)):
        raise _unsupported(n, "strided slices")
    block = x[rows.start if isinstance(rows, range) else rows[0]:
              (rows.stop if isinstance(rows, range) else rows[0] + 1),
              cols.start if isinstance(cols, range) else cols[0]:
              (cols.stop if isinstance(cols, range) else cols[0] + 1)]
    if isinstance(i, int):
        return block.T        # a row comes out as a numpy 1-D array: our column
    return block


def _unindex_matrix(n: Node, x: Any) -> Any:
    """Zeros with ``x`` written at a basic-index key, as a block matrix."""
    from numeric.primitives import index_key
    shape = n.shape
    if len(shape) not in (1, 2):
        raise _unsupported(n, f"{len(shape)}-D result")
    key = index_key(n.params["key"])
    if any(k is None or k is Ellipsis for k in key):
        raise _unsupported(n, "None/Ellipsis indexing")
    key = key + (slice(None),) * (len(shape) - len(key))
    spans = []
    for k, d in zip(key, shape):
        if isinstance(k, slice):
            r = range(d)[k]
            if k.step not in (None, 1) or not len(r):
                raise _unsupported(n, "strided or empty slices")
            spans.append((r.start, r.stop))
        else:
            spans.append((k % d, k % d + 1))
    if len(shape) == 1:
        spans.append((0, 1))
        shape = shape + (1,)
    (r0, r1), (c0, c1) = spans
    block = _mat(x)
    if tuple(block.shape) != (r1 - r0, c1 - c0):
        block = block.T       # a row of a matrix is a 1-D array: our column
    rows = [(0, r0), (r0, r1), (r1, shape[0])]
    cols = [(0, c0), (c0, c1), (c1, shape[1])]
    grid = []
    for i, (a, b) in enumerate(rows):
        if b == a:
            continue
        line = [block if (i, j) == (1, 1) else ZeroMatrix(b - a, d - c)
                for j, (c, d) in enumerate(cols) if d != c]
        grid.append(line)
    if len(grid) == 1 and len(grid[0]) == 1:
        return grid[0][0]
    return sympy.BlockMatrix(grid)


def _slice_col(x: Any, k: slice, n: int) -> Any:
    r = range(n)[k]
    if k.step not in (None, 1):
        raise ClosedFormError("strided slices have no matrix expression; use explicit=True")
    return x[r.start:r.stop, 0]


def _reshape_matrix(n: Node, x: Any) -> Any:
    src, dst = n.args[0].shape, n.shape
    if len(src) <= 2 and len(dst) <= 2:
        rs, cs = _as_matrix_shape(src, n) if src else (1, 1)
        rd, cd = _as_matrix_shape(dst, n) if dst else (1, 1)
        if (rs, cs) == (rd, cd):
            return x
        if (rs, cs) == (cd, rd) and 1 in (rs, cs):
            return x.T
        if dst == ():
            return _entry(x)
    raise _unsupported(n, f"reshape {src} -> {dst}")


def _norm_matrix(n: Node, x: Any) -> Any:
    if n.args[0].ndim > 2:
        raise _unsupported(n, "norm of a 3-D array")
    if n.args[0].ndim == 1:
        return sympy.sqrt(_entry(_mul(x.T, x)))
    return sympy.sqrt(sympy.Trace(_mul(x.T, x)))


def _elementwise(fn: Any, x: Any) -> Any:
    # an explicit matrix (a constant, a 1x1 holding a scalar) is mapped element by element
    return x.applyfunc(fn) if isinstance(x, sympy.MatrixBase) else Elementwise(fn, x)


def _apply(fn: Any, x: Any) -> Any:
    t = sympy.Dummy("t", real=True)
    return _elementwise(Lambda(t, fn(t)), x)


def _logsumexp_matrix(n: Node, x: Any) -> Any:
    s = _sum_matrix(n, _apply(sympy.exp, x))
    return _apply(sympy.log, s) if getattr(s, "is_Matrix", False) else sympy.log(s)


# -- p14 linear algebra, contraction, indexing: matrix forms of einsum (the contractions
# that are matrix products, transposes, traces, outer and Hadamard products, sums), solve
# (A**(-1)*b), log|det|, norms; Cholesky has none (explicit=True gives its elements)

class _Labelled:
    """A matrix expression with an einsum letter per axis: a scalar (no letter), a column
    (one letter: symdiff's 1-D arrays are columns) or a matrix (two)."""

    def __init__(self, expr: Any, letters: str, sizes: dict):
        self.expr, self.letters, self.sizes = expr, letters, sizes

    def size(self, c: str) -> int:
        return self.sizes[c]

    def sum_out(self, c: str) -> "_Labelled":
        e, ls, n = self.expr, self.letters, self.sizes[c]
        if ls == c:
            return _Labelled(_entry(_mul(Ones(1, n), e)), "", self.sizes)
        if ls[0] == c:                       # sum over rows: a column of column sums
            return _Labelled(_mul(e.T, Ones(n, 1)), ls[1], self.sizes)
        return _Labelled(_mul(e, Ones(n, 1)), ls[0], self.sizes)

    def arranged(self, order: str) -> Any:
        """The expression with its letters in ``order`` (a transpose, or as it is)."""
        if self.letters == order:
            return self.expr
        if len(order) == 2 and self.letters == order[::-1]:
            return self.expr.T
        raise ClosedFormError("einsum: no matrix arrangement")

    def spread(self, order: str) -> Any:
        """Broadcast to the letters ``order`` (one or two letters), as numpy would."""
        ls = self.letters
        if ls == "":
            return self.expr
        if set(ls) == set(order):
            return self.arranged(order)
        if len(order) == 2 and ls == order[0]:      # a column repeated along the columns
            return _mul(self.expr, Ones(1, self.size(order[1])))
        if len(order) == 2 and ls == order[1]:      # a row repeated down the rows
            return _mul(Ones(self.size(order[0]), 1), self.expr.T)
        raise ClosedFormError("einsum: no matrix broadcast")


def _trace_repeated(x: _Labelled, keep: str) -> _Labelled:
    if len(x.letters) == 2 and x.letters[0] == x.letters[1]:
        if x.letters[0] in keep:
            raise ClosedFormError("einsum: a diagonal has no matrix expression")
        return _Labelled(sympy.Trace(x.expr), "", x.sizes)
    return x


def _einsum_labelled(n: Node, xs: list) -> Any:
    from numeric.linalg import parse_subscripts
    ins, out = parse_subscripts(n.params["subscripts"], len(n.args), n.op)
    if any(len(s) > 2 for s in ins) or len(out) > 2:
        raise _unsupported(n, "more than two axes")
    sizes: dict = {}
    for s, a in zip(ins, n.args):
        sizes.update(zip(s, a.shape))
    ops = [_Labelled(x, s, sizes) for x, s in zip(xs, ins)]
    for k, x in enumerate(ops):
        others = "".join(o.letters for j, o in enumerate(ops) if j != k)
        x = _trace_repeated(x, out + others)
        for c in dict.fromkeys(x.letters):
            if c not in out and c not in others:
                x = x.sum_out(c)
        ops[k] = x
    if len(ops) == 1:
        return ops[0].arranged(out)
    x, y = ops
    shared = [c for c in x.letters if c in y.letters]
    contracted = [c for c in shared if c not in out]
    if len(shared) > len(contracted):          # a letter of both kept: a Hadamard product
        union = "".join(dict.fromkeys([c for c in out] + list(x.letters + y.letters)))
        if len(union) > 2:
            raise _unsupported(n, "a Hadamard product of more than two axes")
        a, b = x.spread(union), y.spread(union)
        scalar = [e for e, l in ((a, x), (b, y)) if l.letters == ""]
        prod = _mul(a, b) if scalar else HadamardProduct(a, b)
        r = _Labelled(prod, union, sizes)
        for c in contracted:
            r = r.sum_out(c)
        return r.arranged(out)
    if not contracted:                          # an outer product (or times a scalar)
        if len(x.letters) + len(y.letters) > 2:
            raise _unsupported(n, "an outer product of more than two axes")
        if x.letters and y.letters:
            return _Labelled(_mul(x.expr, y.expr.T), x.letters + y.letters,
                             sizes).arranged(out)
        return _Labelled(_mul(x.expr, y.expr), x.letters + y.letters, sizes).arranged(out)
    if len(contracted) == 2:                    # sum of x[i, j] y[i, j] (or y[j, i])
        if x.letters == y.letters:
            return sympy.Trace(_mul(x.expr.T, y.expr))
        return sympy.Trace(_mul(x.expr, y.expr))
    c = contracted[0]
    fx, fy = x.letters.replace(c, ""), y.letters.replace(c, "")
    if not fx and not fy:
        return _entry(_mul(x.expr.T, y.expr))
    if not fx:                                  # x[c] y[c, b]: yᵀ x as a column
        return _Labelled(_mul(_Labelled(y.expr, y.letters, sizes).arranged(c + fy).T, x.expr),
                         fy, sizes).arranged(out)
    xm = x.arranged(fx + c)
    if not fy:
        return _Labelled(_mul(xm, y.expr), fx, sizes).arranged(out)
    return _Labelled(_mul(xm, y.arranged(c + fy)), fx + fy, sizes).arranged(out)


def _einsum_matrix(n: Node, *xs: Any) -> Any:
    try:
        return _einsum_labelled(n, list(xs))
    except ClosedFormError as e:
        if str(e).startswith("einsum:"):
            raise _unsupported(n, f"{n.params['subscripts']!r}") from None
        raise


def _norm_p14_matrix(n: Node, x: Any) -> Any:
    order = n.params.get("ord", 2.0)
    shape = n.args[0].shape
    axis = n.params.get("axis")
    full = axis is None or len(shape) == 1 or sorted(
        a % len(shape) for a in ((axis,) if isinstance(axis, int) else axis)) == [0, 1]
    if len(shape) > 2 or not full or n.params.get("keepdims") and len(shape) == 2:
        if order == 2 and len(shape) == 2 and not n.params.get("keepdims"):
            # one norm per row (axis 1) or column (axis 0): sqrt of sums of squares
            rows = axis in (1, -1)
            sq = HadamardPower(x, 2)
            s = _mul(sq, Ones(shape[1], 1)) if rows else _mul(sq.T, Ones(shape[0], 1))
            return _apply(sympy.sqrt, s)
        raise _unsupported(n, "a norm along one axis")
    if order == 2:
        return _norm_matrix(n, x)
    if order == 1:
        ones = _mul(Ones(1, shape[0]), _apply(sympy.Abs, x))
        return _entry(ones if len(shape) == 1 else _mul(ones, Ones(shape[1], 1)))
    raise _unsupported(n, "the max or min of |x|: use .sympy(explicit=True)")


_P14_STRUCTURAL: dict[str, Callable[..., Any]] = {
    "einsum": _einsum_matrix,
    "einsum_unary": _einsum_matrix,
    "solve": lambda n, a, b: _mul(sympy.Inverse(a), b),
    "logabsdet": lambda n, x: sympy.log(sympy.Abs(sympy.Determinant(x))),
    "norm": _norm_p14_matrix,
}


_STRUCTURAL: dict[str, Callable[..., Any]] = {
    "logsumexp": _logsumexp_matrix,
    "norm": _norm_matrix,
    "trace": lambda n, x: sympy.Trace(x),
    "det": lambda n, x: sympy.Determinant(x),
    "logdet": lambda n, x: sympy.log(sympy.Determinant(x)),
    "inv": lambda n, x: sympy.Inverse(x),
    # the textbook form: equal to the cofactor matrix wherever x is invertible (and
    # validated there); the graph computes the cofactors, defined everywhere
    "cofactor": lambda n, x: _mul(sympy.Determinant(x), sympy.Inverse(x).T),
    "sum": _sum_matrix,
    "mean": _sum_matrix,
    "matmul": _matmul_matrix,
    "transpose": lambda n, x: x.T if len(n.shape) == 2 and n.params.get("axes") in
    (None, (1, 0), (-1, 0), (1, -2), (-1, -2)) else x,
    "reshape": _reshape_matrix,
    "index": _index_matrix,
    "unindex": _unindex_matrix,
    "broadcast_to": lambda n, x: _bcast(x, n.args[0].shape, n.shape, n),
    **_P14_STRUCTURAL,
}


# -- reductions and shapes: cumsum, concatenate, diagonal/diag ------------------------
# (amax, amin and prod have no matrix notation: ``_unsupported`` points to explicit=True)

MAX_RUNNING_SUM = 8
"""Longest axis whose running sum (``cumsum``) is written as ``L*x`` with the lower
triangle of ones L spelt out; past it, only the element form (explicit=True)."""


def _cumsum_matrix(n: Node, x: Any) -> Any:
    if n.ndim > 2:
        raise _unsupported(n, f"{n.ndim}-D arrays")
    axis = n.params["axis"] % n.ndim
    k = n.shape[axis]
    if k > MAX_RUNNING_SUM:
        raise _unsupported(n, f"the running sum over {k} entries would spell out a {k}x{k} "
                              "triangle of ones")
    lower = ImmutableMatrix(k, k, lambda i, j: 1 if j <= i else 0)
    return _mul(lower, x) if axis == 0 else _mul(x, lower.T)


def _blocks(e: Any, vertical: bool) -> list:
    """A block matrix's blocks along one direction (its one column or row of blocks),
    so that joining three arrays reads as one block matrix, not nested ones."""
    if isinstance(e, sympy.BlockMatrix):
        grid = e.blocks
        if vertical and grid.shape[1] == 1:
            return [grid[i, 0] for i in range(grid.shape[0])]
        if not vertical and grid.shape[0] == 1:
            return [grid[0, j] for j in range(grid.shape[1])]
    return [e]


def _concatenate_matrix(n: Node, a: Any, b: Any) -> Any:
    if n.ndim > 2:
        raise _unsupported(n, f"{n.ndim}-D arrays")
    vertical = n.params["axis"] % n.ndim == 0      # 1-D arrays are columns: stacked
    parts = _blocks(_mat(a), vertical) + _blocks(_mat(b), vertical)
    return sympy.BlockMatrix([[p] for p in parts] if vertical else [parts])


def _plane(n: Node, x: Any, shape: tuple) -> tuple:
    """``x`` (a matrix expression of an array of ``shape``) with axis1 first, and the
    diagonal's first entry ``(r0, c0)``."""
    if len(shape) != 2:
        raise _unsupported(n, f"the diagonal of a {len(shape)}-D array")
    offset = n.params["offset"]
    if n.params["axis1"] % 2 == 1:
        x, shape = x.T, shape[::-1]
    return x, shape, max(-offset, 0), max(offset, 0)


def _diagonal_matrix(n: Node, x: Any) -> Any:
    x, shape, r0, c0 = _plane(n, _mat(x), n.args[0].shape)
    k = n.shape[-1]
    if k == 0:
        raise _unsupported(n, "an empty diagonal")
    if isinstance(x, sympy.MatrixBase):
        return ImmutableMatrix(k, 1, [x[r0 + i, c0 + i] for i in range(k)])
    block = x if (r0, c0, k, k) == (0, 0) + tuple(shape) else x[r0:r0 + k, c0:c0 + k]
    return Diagonal(block)


def _diag_matrix(n: Node, x: Any) -> Any:
    if n.args[0].ndim != 1:
        raise _unsupported(n, "a diagonal of more than one vector")
    swapped = n.params["axis1"] % 2 == 1
    shape = n.shape[::-1] if swapped else n.shape
    offset = n.params["offset"]
    r0, c0 = max(-offset, 0), max(offset, 0)
    x = _mat(x)
    k = n.args[0].shape[0]
    d = sympy.diag(*[x[i, 0] for i in range(k)]) if isinstance(x, sympy.MatrixBase) else \
        DiagonalMatrix(x)
    out = _embedded(d, shape, r0, c0)
    return out.T if swapped else out


def _embedded(block: Any, shape: tuple, r0: int, c0: int) -> Any:
    """``block`` at rows r0.., columns c0.. of a zero matrix of ``shape``, as a block
    matrix (just ``block`` when it fills the shape)."""
    r1, c1 = r0 + block.shape[0], c0 + block.shape[1]
    rows = [(a, b) for a, b in ((0, r0), (r0, r1), (r1, shape[0])) if b > a]
    cols = [(a, b) for a, b in ((0, c0), (c0, c1), (c1, shape[1])) if b > a]
    if len(rows) == 1 and len(cols) == 1:
        return block
    return sympy.BlockMatrix([[block if (a, c) == (r0, c0) else ZeroMatrix(b - a, d - c)
                               for c, d in cols] for a, b in rows])


_STRUCTURAL.update({
    "cumsum": _cumsum_matrix,
    "concatenate": _concatenate_matrix,
    "diagonal": _diagonal_matrix,
    "diag": _diag_matrix,
})


def matrix_expression(order: list[Node], root: Node) -> Any:
    """The matrix expression of ``root`` (``order``: its nodes from ``topological``), not
    yet checked against the graph's value (``closed_form.validate`` does that); raises
    ``ClosedFormError`` where an op has none.

    >>> import symdiff as sd
    >>> W, x = sd.var("W", (2, 3)), sd.var("x", (3,))
    >>> y = W @ x
    >>> matrix_expression(y.nodes(), y)
    W*x
    """
    val: dict[int, Any] = {}
    for n in order:
        if n.op in ("var", "tensor"):
            val[id(n)] = leaf_symbol(n)
            continue
        if n.op == "const":
            val[id(n)] = const_form(n)
            continue
        xs = [_mat(val[id(a)]) if a.shape in ((1,), (1, 1)) else val[id(a)] for a in n.args]
        row = PRIMITIVES[n.op]
        if row.kind != "elementwise" and n.op not in _STRUCTURAL:
            raise _unsupported(n)
        try:
            val[id(n)] = _elementwise_matrix(n, xs) if row.kind == "elementwise" \
                else _STRUCTURAL[n.op](n, *xs)
            check_numbers(val[id(n)], n._describe())
        except ClosedFormError:
            raise
        except Exception as e:  # SymPy's matrix algebra refusing a combination
            raise _unsupported(n, f"SymPy: {type(e).__name__}: {e}") from None
    return val[id(root)]
