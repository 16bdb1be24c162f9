"""``sd.jacobian`` and ``sd.hessian``: whole derivative arrays as graphs.

A Jacobian is one reverse sweep with a batched cotangent: the seed is the identity of
f's shape, so each intermediate cotangent carries one leading axis per element of f
(``symdiff.derivatives.reverse.reverse``). The graph stays linear in f's size (no per-row copies of
the sweep) and evaluates as vectorized numpy. A Hessian is the Jacobian of the gradient
graph: reverse-over-reverse. Both are ordinary Nodes: ``.eval``, ``.sympy()``
(``explicit=True`` for element formulas), ``sd.diff`` again, lowering.

Sparse Hessians: the Hessian of a sum of local terms is mostly zeros, yet the identity
seed makes every node of the second sweep carry an (n, n) array. So ``sd.hessian`` of one
variable first finds the structural nonzeros of the Hessian (``symdiff.derivatives.sparsity``:
the Jacobian pattern of the gradient graph, from the graph alone) and colours its rows
so that rows of one colour share no column (3 colours for a tridiagonal Hessian, at any
n). One sweep seeded with the k colour indicators gives k compressed rows
``C = S @ H`` (S the (k, n) indicator matrix), and a ``scatter`` node puts each nonzero
back: ``H[i, j] = C[colour(i), j]``. Where the pattern is unknown or too dense, the dense
sweep runs as before; ``sd.hessian_info(H)`` says which path was taken.

>>> import symdiff as sd
>>> x, y = sd.var("x"), sd.var("y")
>>> [[h.sympy() for h in row] for row in sd.hessian(x**2 * y, [x, y])]
[[2*y, 2*x], [2*x, 0]]
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Optional, Sequence, Union

import numpy as np

from symdiff.derivatives.reverse import grad, reverse
from symdiff.errors import ShapeError, SymdiffError
from symdiff.graph.arguments import as_function, check_wrt
from symdiff.graph.node import Node, const
from symdiff.graph.walks import topological
from symdiff.graph.ops import scatter
from symdiff.derivatives.sparsity import Pattern, PatternLimitExceeded, colour_rows, jacobian_pattern

MIN_SPARSE_SIZE = 32
"""``sd.hessian(..., sparse=None)`` compresses only variables with at least this many
entries: below it the dense sweep is as fast, and keeps a matrix closed form."""


def jacobian(f: Node, x: Union[Node, Sequence[Node]]) -> Union[Node, list[Node]]:
    """The Jacobian of ``f`` with respect to ``x``: a Node of shape ``f.shape + x.shape``
    (a list of them when ``x`` is a list). ``J[i..., j...] = d f[i...] / d x[j...]``.

    >>> import symdiff as sd
    >>> x = sd.var("x", (2,))
    >>> J = sd.jacobian(sd.sin(x) * x[0], x)
    >>> J.shape
    (2, 2)
    >>> J.eval(x=[0.0, 1.0]).round(6).tolist()
    [[0.0, 0.0], [0.841471, 0.0]]
    """
    f = as_function(f, "sd.jacobian", context=x)
    xs, single = check_wrt(f, x, "sd.jacobian", "x")
    many = not single
    size = f.size
    if size > 1_000_000:
        raise ShapeError(f"sd.jacobian: f has {size} elements; a dense Jacobian of that many "
                         "rows is too large (differentiate a reduction of f instead)")
    seed = const(np.eye(size).reshape(f.shape + f.shape)) if f.shape else const(1.0)
    out = reverse(f, xs, seed)
    return out if many else out[0]


@dataclass(frozen=True)
class HessianInfo:
    """How ``sd.hessian`` computed a Hessian (``sd.hessian_info(H)``).

    path     ``"compressed"`` (colour groups of rows, then a scatter) or ``"dense"``.
    size     number of entries of the variable (the Hessian is size x size).
    colours  reverse sweeps' batch size: the number of colours (compressed), else size.
    nnz      structural nonzeros of the pattern, when it was computed.
    reason   why the dense path ran ("" for the compressed path).
    """

    path: str
    size: int
    colours: int
    nnz: Optional[int] = None
    reason: str = ""

    def __str__(self) -> str:
        if self.path == "compressed":
            return (f"compressed: {self.colours} colours for {self.size} rows, "
                    f"{self.nnz} structural nonzeros")
        return f"dense: {self.reason}"


_INFO: "weakref.WeakKeyDictionary[Node, HessianInfo]" = weakref.WeakKeyDictionary()


def hessian_info(H: Node) -> Optional[HessianInfo]:
    """How the Hessian node ``H`` was computed, or None if ``H`` did not come from
    ``sd.hessian`` of one variable.

    >>> import symdiff as sd
    >>> x = sd.var("x", (100,))
    >>> print(sd.hessian_info(sd.hessian(sd.sum(sd.exp(x[1:] * x[:-1])), x)))
    compressed: 3 colours for 100 rows, 298 structural nonzeros
    >>> print(sd.hessian_info(sd.hessian(sd.sum(x) ** 2, x)))
    dense: the pattern needs more than 25 colours (a quarter of the 100 rows)
    """
    return _INFO.get(H) if isinstance(H, Node) else None


def _context(g: Node, x: Node) -> frozenset:
    """Variables a derivative of ``g`` may be given values for (as ``reverse`` records)."""
    return frozenset(n.name for n in topological([g]) if n.op in ("var", "tensor")) | \
        {x.name} | g._cache.get("context", frozenset())


def compressed_jacobian(g: Node, x: Node, pattern: Pattern, colours: np.ndarray) -> Node:
    """The Jacobian of ``g`` with respect to ``x`` (shape ``g.shape + x.shape``) from one
    reverse sweep seeded with the colour groups' indicators: ``C[c] = sum over rows i of
    colour c of J[i]``, then ``J[i, j] = C[colour(i), j]`` on the pattern (a ``scatter``).
    Exact when rows of one colour share no column of ``pattern``.

    >>> import numpy as np, symdiff as sd
    >>> from symdiff.derivatives.sparsity import jacobian_pattern, colour_rows
    >>> x = sd.var("x", (4,))
    >>> y = sd.sin(x) * 2.0
    >>> p = jacobian_pattern(y, x)
    >>> J = compressed_jacobian(y, x, p, colour_rows(p))
    >>> np.allclose(J.eval(x=np.ones(4)), np.diag(2 * np.cos(np.ones(4))))
    True
    """
    shape = g.shape + x.shape
    if pattern.nnz == 0:
        out = const(np.zeros(shape))
        out._cache["context"] = _context(g, x)
        return out
    k = int(colours.max()) + 1
    m, n = g.size, x.size
    seed = np.zeros((k, m))
    seed[colours, np.arange(m)] = 1.0
    C = reverse(g, [x], const(seed.reshape((k,) + g.shape)))[0]
    rows, cols = pattern.rows, pattern.cols
    out = scatter(C, src=colours[rows] * n + cols, pos=rows * n + cols, shape=shape)
    out._cache["context"] = C._cache.get("context", frozenset()) | _context(g, x)
    return out


def hessian(f: Node, x: Union[Node, Sequence[Node]],
            sparse: Optional[bool] = None) -> Union[Node, list[list[Node]]]:
    """Second derivatives of a scalar ``f``.

    For one variable ``x`` (scalar, vector or array): a Node of shape ``x.shape + x.shape``,
    e.g. the (n, n) Hessian of a function of a vector. For a list of variables: a nested
    list ``H[i][j]`` of Nodes of shape ``x_i.shape + x_j.shape`` (plain scalars for scalar
    variables), as ``sympy.hessian`` lays it out.

    ``sparse`` (one variable only): ``None`` (default) compresses the second sweep when the
    Hessian's structural pattern is sparse (at most one colour per 4 rows, and at least
    ``MIN_SPARSE_SIZE`` entries in ``x``), else runs it dense; ``True`` compresses whenever
    the pattern can be found (and raises ``SymdiffError`` if not); ``False`` is always
    dense. Both paths give the same numbers, to rounding. ``sd.hessian_info(H)`` tells
    which ran.

    >>> import symdiff as sd
    >>> x = sd.var("x", (2,))
    >>> H = sd.hessian(sd.sum(x**3) + x[0] * x[1], x)
    >>> H.eval(x=[1.0, 2.0]).tolist()
    [[6.0, 1.0], [1.0, 12.0]]
    >>> Hs = sd.hessian(sd.sum(x**3) + x[0] * x[1], x, sparse=True)
    >>> Hs.eval(x=[1.0, 2.0]).tolist(), sd.hessian_info(Hs).colours
    ([[6.0, 1.0], [1.0, 12.0]], 2)
    """
    f = as_function(f, "sd.hessian", context=x)
    if f.size != 1:
        raise ShapeError(f"sd.hessian: f has shape {f.shape}; a Hessian needs a scalar f "
                         "(use sd.jacobian of sd.jacobian for vector functions)")
    if sparse is not None and not isinstance(sparse, (bool, np.bool_)):
        raise SymdiffError(f"sd.hessian: sparse must be None, True or False, not {sparse!r}")
    sparse = None if sparse is None else bool(sparse)
    xs, single = check_wrt(f, x, "sd.hessian", "x")
    if single:
        g = grad(f, [x])[0]
        H, info = _hessian_of_one(g, x, sparse)
        _INFO[H] = info
        return H
    if sparse:
        raise SymdiffError("sd.hessian: sparse=True needs one variable (an array variable "
                           "holds many: sd.hessian(f, x, sparse=True))")
    firsts = grad(f, xs)
    return [list(jacobian(g, xs)) for g in firsts]


def _hessian_of_one(g: Node, x: Node, sparse: Optional[bool]) -> tuple[Node, HessianInfo]:
    n = x.size

    def dense(reason: str, nnz: Optional[int] = None) -> tuple[Node, HessianInfo]:
        return jacobian(g, x), HessianInfo("dense", n, n, nnz, reason)

    if sparse is False:
        return dense("sparse=False")
    if sparse is None and n < MIN_SPARSE_SIZE:
        return dense(f"{n} entries (compression starts at {MIN_SPARSE_SIZE})")
    try:
        pattern = jacobian_pattern(g, x)
    except PatternLimitExceeded as e:
        if sparse:
            raise SymdiffError(f"sd.hessian(sparse=True): no sparsity pattern: {e}") from None
        return dense(f"no sparsity pattern: {e}")
    limit = None if sparse else max(n // 4, 1)
    colours = colour_rows(pattern, limit)
    if colours is None:
        if sparse:
            raise SymdiffError("sd.hessian(sparse=True): the pattern is too dense to colour "
                               f"({pattern.nnz} nonzeros for {n} rows)")
        return dense(f"the pattern needs more than {limit} colours (a quarter of the {n} rows)",
                     pattern.nnz)
    k = int(colours.max()) + 1 if pattern.nnz else 0
    H = compressed_jacobian(g, x, pattern, colours)
    return H, HessianInfo("compressed", n, k, pattern.nnz)
