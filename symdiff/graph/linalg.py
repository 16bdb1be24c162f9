"""The public contraction, linear-algebra and indexing functions: ``sd.einsum``,
``sd.tensordot``, ``sd.outer``, ``sd.inner``, ``sd.solve``, ``sd.slogdet``,
``sd.cholesky``, ``sd.norm``, and the positions behind integer-array indexing
(``p[np.arange(n), y]``, ``np.take``, ``np.take_along_axis``): each becomes a row of the
table (``einsum``, ``einsum_unary``, ``solve``, ``logabsdet``, ``cholesky``, ``norm``,
``gather``) or a small graph of rows. ``symdiff.graph.ops`` re-exports them.

May import numpy, ``numeric``, ``symdiff.errors`` and ``symdiff.graph`` (node, params,
values).

>>> import symdiff as sd
>>> A, B = sd.var("A", (2, 3)), sd.var("B", (3, 4))
>>> sd.einsum("ij,jk->ik", A, B).sympy()
A*B
"""
from __future__ import annotations

import math
from typing import Any, NamedTuple, Optional

import numpy as np

from numeric.linalg import LETTERS, Indices

from symdiff.errors import ArgumentError, ShapeError, UnsupportedError
from symdiff.graph.node import Node, apply, as_node
from symdiff.graph.params import normalize_axis_param
from symdiff.graph.values import as_flag, shown


# ---------------------------------------------------------------------------
# einsum and the contractions made from it
# ---------------------------------------------------------------------------

def _spell_out(subscripts: str, nodes: list) -> tuple[list, str]:
    """numpy's subscripts (implicit output, ``...``) as explicit letters per operand."""
    text = subscripts.replace(" ", "")
    lhs, arrow, out = text.partition("->")
    ins = lhs.split(",")
    if len(ins) != len(nodes):
        raise ShapeError(f"sd.einsum: subscripts {subscripts!r} name {len(ins)} operand(s), "
                         f"but {len(nodes)} were given")
    used = set(c for c in text if c in LETTERS)
    bad = [c for c in text.replace("...", "").replace(",", "").replace("->", "")
           if c not in LETTERS]
    if bad:
        raise ShapeError(f"sd.einsum: subscripts {subscripts!r} have the character {bad[0]!r}; "
                         "use letters, commas, '->' and '...'")
    spare = [c for c in LETTERS if c not in used]
    width = 0
    for s, n in zip(ins, nodes):
        if "..." in s:
            width = max(width, n.ndim - len(s.replace("...", "")))
    dots = "".join(spare[:max(width, 0)])
    spelled = []
    for k, (s, n) in enumerate(zip(ins, nodes)):
        if "..." in s:
            extra = n.ndim - len(s.replace("...", ""))
            if extra < 0:
                raise ShapeError(f"sd.einsum: operand {k} has {n.ndim} dimension(s), fewer "
                                 f"than {s!r} names")
            s = s.replace("...", dots[len(dots) - extra:] if extra else "")
        spelled.append(s)
    if not arrow:     # numpy's implicit output: the broadcast axes, then letters used once
        counts = "".join(spelled)
        out = dots + "".join(sorted(c for c in set(counts) if counts.count(c) == 1
                                    and c not in dots))
    else:
        out = out.replace("...", dots)
    return spelled, out


def einsum(subscripts: str, *operands: Any) -> Node:
    """numpy's ``einsum`` on Nodes: ``"ij,jk->ik"`` (matrix product), ``"bij,bjk->bik"``
    (batched), ``"ii->"`` (trace), ``"i,j->ij"`` (outer), ``"ij,ij->i"`` (row-wise dots),
    implicit outputs and ``...``. More than two operands are contracted pairwise, left
    to right. Its gradient is again an einsum.

    >>> import symdiff as sd
    >>> sd.einsum("ii->", sd.tensor([[1.0, 2.0], [3.0, 4.0]])).item()
    5.0
    """
    if not isinstance(subscripts, str):
        raise ArgumentError(f"sd.einsum: subscripts must be a str such as 'ij,jk->ik', not "
                            f"{type(subscripts).__name__} {shown(subscripts)} (the "
                            "sublist form einsum(a, [0, 1], b, [1, 2]) is not supported)")
    nodes = [as_node(x, f"sd.einsum: operand {k}") for k, x in enumerate(operands)]
    if not nodes:
        raise ArgumentError("sd.einsum: no operands")
    ins, out = _spell_out(subscripts, nodes)
    if len(nodes) == 1:
        if ins[0] == out:
            return nodes[0]
        return apply("einsum_unary", nodes[0], subscripts=f"{ins[0]}->{out}")
    acc, spec = nodes[0], ins[0]
    for k in range(1, len(nodes)):
        if k == len(nodes) - 1:
            target = out
        else:       # keep the letters a later operand or the output still needs
            later = "".join(ins[k + 1:]) + out
            target = "".join(c for c in dict.fromkeys(spec + ins[k]) if c in later)
        acc = apply("einsum", acc, nodes[k], subscripts=f"{spec},{ins[k]}->{target}")
        spec = target
    return acc


def _axis_list(v: Any, ndim: int, who: str) -> list:
    items = [v] if isinstance(v, (int, np.integer)) else v
    if not isinstance(items, (list, tuple)) or any(
            not isinstance(a, (int, np.integer)) or isinstance(a, (bool, np.bool_))
            for a in items):
        raise ArgumentError(f"sd.tensordot: axes must be an int or a pair of lists of ints, "
                            f"not {shown(v)}")
    out = []
    for a in items:
        if not -ndim <= int(a) < ndim:
            raise ShapeError(f"sd.tensordot: axis {a} is out of range for {who} with {ndim} "
                             "dimension(s)")
        out.append(int(a) % ndim)
    return out


def tensordot(a: Any, b: Any, axes: Any = 2) -> Node:
    """numpy's ``tensordot``: sum the products over ``axes`` (an int N: the last N axes of
    ``a`` with the first N of ``b``; or a pair of lists of axes), as an einsum.

    >>> import symdiff as sd
    >>> sd.tensordot(sd.var("A", (2, 3)), sd.var("B", (3, 4)), axes=1).sympy()
    A*B
    """
    a, b = as_node(a, "sd.tensordot: a"), as_node(b, "sd.tensordot: b")
    if isinstance(axes, (int, np.integer)) and not isinstance(axes, (bool, np.bool_)):
        n = int(axes)
        if not 0 <= n <= min(a.ndim, b.ndim):
            raise ShapeError(f"sd.tensordot: axes={n} for shapes {a.shape} and {b.shape}")
        left, right = list(range(a.ndim - n, a.ndim)), list(range(n))
    elif isinstance(axes, (tuple, list)) and len(axes) == 2:
        left, right = _axis_list(axes[0], a.ndim, "a"), _axis_list(axes[1], b.ndim, "b")
    else:
        raise ArgumentError(f"sd.tensordot: axes must be an int or a pair of lists of ints, "
                            f"not {shown(axes)}")
    if len(left) != len(right) or len(set(left)) != len(left) or len(set(right)) != len(right):
        raise ShapeError(f"sd.tensordot: axes {shown(axes)} must pair distinct axes of a and b")
    if a.ndim + b.ndim > len(LETTERS):
        raise ShapeError("sd.tensordot: too many axes")
    sa = LETTERS[:a.ndim]
    sb = [""] * b.ndim
    fresh = iter(LETTERS[a.ndim:])
    for i, j in zip(left, right):
        sb[j] = sa[i]
    sb = [c or next(fresh) for c in sb]
    out = "".join(c for k, c in enumerate(sa) if k not in left) + \
        "".join(c for k, c in enumerate(sb) if k not in right)
    return apply("einsum", a, b, subscripts=f"{sa},{''.join(sb)}->{out}")


def outer(a: Any, b: Any) -> Node:
    """Outer product of the two arrays flattened (numpy's ``outer``); ``a*b.T`` for vectors.

    >>> import symdiff as sd
    >>> sd.outer(sd.var("a", (2,)), sd.var("b", (3,))).sympy()
    a*b.T
    """
    a, b = as_node(a, "sd.outer: a"), as_node(b, "sd.outer: b")
    a = a if a.ndim == 1 else apply("reshape", a, shape=(a.size,))
    b = b if b.ndim == 1 else apply("reshape", b, shape=(b.size,))
    return apply("einsum", a, b, subscripts="i,j->ij")


def inner(a: Any, b: Any) -> Node:
    """numpy's ``inner``: the sum over the last axes (``a.T*b`` for vectors; a scalar
    operand multiplies).

    >>> import symdiff as sd
    >>> sd.inner(sd.tensor([1.0, 2.0]), sd.tensor([3.0, 4.0])).item()
    11.0
    """
    a, b = as_node(a, "sd.inner: a"), as_node(b, "sd.inner: b")
    if a.ndim == 0 or b.ndim == 0:
        return apply("mul", a, b)
    return tensordot(a, b, axes=([-1], [-1]))


# ---------------------------------------------------------------------------
# linear algebra
# ---------------------------------------------------------------------------

def solve(a: Any, b: Any) -> Node:
    """x with ``a @ x == b`` for a square matrix ``a`` and ``b`` a vector or a matrix (nan
    where ``a`` is singular); its matrix form is ``A**(-1)*b``, its gradient solves with
    ``Aᵀ``.

    >>> import symdiff as sd
    >>> sd.solve(sd.tensor([[2.0, 0.0], [0.0, 4.0]]), sd.tensor([1.0, 1.0])).data.tolist()
    [0.5, 0.25]
    """
    return apply("solve", as_node(a, "sd.solve: a"), as_node(b, "sd.solve: b"))


class SlogdetResult(NamedTuple):
    """``(sign, logabsdet)`` as numpy's ``slogdet`` returns them."""

    sign: Node
    logabsdet: Node


def slogdet(a: Any) -> SlogdetResult:
    """``(sign, logabsdet)`` of det(a), as ``numpy.linalg.slogdet``: ``logabsdet`` =
    log|det(a)| is differentiated (its gradient is a^-T); ``sign`` is piecewise constant,
    with no gradient.

    >>> import symdiff as sd
    >>> sign, logabs = sd.slogdet(sd.tensor([[-2.0, 0.0], [0.0, 1.0]]))
    >>> sign.item(), round(logabs.item(), 6)
    (-1.0, 0.693147)
    """
    a = as_node(a, "sd.slogdet: a")
    logabs = apply("logabsdet", a)
    return SlogdetResult(apply("sign", apply("det", a)), logabs)


def cholesky(a: Any, upper: bool = False) -> Node:
    """The lower-triangular L with ``L @ L.T == a`` for a symmetric positive-definite
    ``a`` (``upper=True``: ``L.T``). It factors the symmetric part ``(a + a.T)/2``, so its
    gradient is symmetric (PyTorch's convention). No matrix notation exists for it:
    ``.sympy(explicit=True)`` gives the elements of small matrices.

    >>> import symdiff as sd
    >>> sd.cholesky(sd.tensor([[4.0, 2.0], [2.0, 2.0]])).data.tolist()
    [[2.0, 0.0], [1.0, 1.0]]
    """
    low = apply("cholesky", as_node(a, "sd.cholesky: a"))
    return apply("transpose", low, axes=None) if as_flag(upper, "sd.cholesky", "upper") else low


_ORDS = {2: 2.0, 1: 1.0, math.inf: math.inf, -math.inf: -math.inf}


def _vector_norm(x: Node, order: Any, axis: Any, keepdims: bool) -> Node:
    if order is None or order == 2 or order in (1, math.inf, -math.inf):
        return apply("norm", x, ord=_ORDS[2 if order is None else order], axis=axis,
                     keepdims=keepdims)
    if order == 0:
        raise UnsupportedError("sd.norm: ord=0 counts the nonzero entries: a step function "
                               "with no derivative")
    if order == -1 or order < 0:
        raise UnsupportedError(f"sd.norm: ord={order!r} (a negative power) is not supported "
                               "for vectors; use ord 1, 2, inf, -inf or p > 0")
    # the general p-norm sum(|x|**p)**(1/p), as a graph of rows
    p = float(order)
    s = apply("sum", apply("pow", apply("abs", x), p=p), axis=axis, keepdims=keepdims)
    return apply("pow", s, p=1.0 / p)


def _matrix_norm(x: Node, order: Any, axes: tuple, keepdims: bool) -> Node:
    r, c = axes
    if order in (None, "fro"):
        return apply("norm", x, ord=2.0, axis=axes, keepdims=keepdims)
    if order in (1, -1, math.inf, -math.inf):
        # 1: the largest column sum of |x|; inf: the largest row sum (-1, -inf: smallest)
        summed, other = (r, c) if abs(order) == 1 else (c, r)
        s = apply("sum", apply("abs", x), axis=summed, keepdims=True)
        out = apply("norm", s, ord=math.inf if order > 0 else -math.inf, axis=other,
                    keepdims=True)
        if keepdims:
            return out
        return apply("reshape", out, shape=tuple(d for k, d in enumerate(x.shape)
                                                 if k not in (r, c)))
    raise UnsupportedError(
        f"sd.norm: the matrix norm ord={order!r} (singular values) has no exact gradient "
        "symdiff can give; use None/'fro', 1, -1, inf or -inf")


def norm(x: Any, ord: Optional[Any] = None, axis: Optional[Any] = None,  # noqa: A002
         keepdims: bool = False) -> Node:
    """``numpy.linalg.norm``: vector norms (``ord`` None or 2, 1, inf, -inf, or p > 0)
    along ``axis``; matrix norms (``ord`` None or ``"fro"``, 1, -1, inf, -inf) of a 2-D
    array or along an ``axis`` pair; with ``axis=None`` and ``ord=None`` the 2-norm of all
    entries. At x = 0 the gradient is 0, as in PyTorch; a tie of the max (inf) splits it.

    >>> import symdiff as sd
    >>> sd.norm(sd.tensor([3.0, 4.0])).item(), sd.norm(sd.tensor([3.0, -4.0]), ord=1).item()
    (5.0, 7.0)
    """
    x = as_node(x, "sd.norm: x")
    if ord is not None and not (isinstance(ord, str) or (
            isinstance(ord, (int, float, np.integer, np.floating))
            and not isinstance(ord, (bool, np.bool_)))):
        raise ArgumentError(f"sd.norm: ord must be None, a number or 'fro', not "
                            f"{type(ord).__name__} {shown(ord)}")
    if isinstance(ord, str) and ord not in ("fro", "nuc"):
        raise ArgumentError(f"sd.norm: ord must be None, a number, 'fro' or 'nuc', not {ord!r}")
    if isinstance(ord, (float, np.floating)) and math.isnan(ord):
        raise ArgumentError("sd.norm: ord is nan")
    keepdims = as_flag(keepdims, "sd.norm", "keepdims")
    axis = normalize_axis_param(axis, "sd.norm")
    if x.ndim == 0:
        raise ShapeError("sd.norm: needs a vector or an array, got a scalar (use sd.abs)")
    if ord == "nuc":
        raise UnsupportedError("sd.norm: ord='nuc', the nuclear norm (a sum of singular "
                               "values), has no exact gradient symdiff can give")
    if axis is None and ord is None:
        return apply("norm", x, ord=2.0, axis=None, keepdims=keepdims)
    if isinstance(axis, int) or (axis is None and x.ndim == 1) or (
            isinstance(axis, tuple) and len(axis) == 1):
        if ord == "fro":
            raise ShapeError("sd.norm: ord='fro' is a matrix norm; a vector norm takes None, "
                             "1, 2, inf, -inf or p > 0")
        return _vector_norm(x, ord, axis if axis is not None else 0, keepdims)
    axes = (0, 1) if axis is None else axis
    if axis is None and x.ndim != 2:
        raise ShapeError(f"sd.norm: ord={ord!r} needs a vector or a matrix (or axis=), got "
                         f"shape {x.shape}")
    if len(axes) != 2:
        raise ShapeError(f"sd.norm: axis must be an int or a pair of ints, not {axes!r}")
    axes = tuple(int(a) % max(x.ndim, 1) if -x.ndim <= a < x.ndim else a for a in axes)
    if any(not 0 <= a < x.ndim for a in axes) or axes[0] == axes[1]:
        raise ShapeError(f"sd.norm: axis {axis!r} is not a pair of distinct axes of shape "
                         f"{x.shape}")
    return _matrix_norm(x, ord, axes, keepdims)


# ---------------------------------------------------------------------------
# integer-array indexing: gather
# ---------------------------------------------------------------------------

def _index_part(k: Any, shape: tuple) -> Any:
    """One entry of an advanced key as numpy reads it (arrays of ints or booleans)."""
    if isinstance(k, Node):
        if k.dtype == "bool":
            raise ShapeError("index: a boolean mask that is a symdiff Node selects a number "
                             "of entries that depends on the values; use sd.where(mask, x, 0) "
                             "to keep the shape")
        raise ShapeError("index: a symdiff Node cannot be an index: indices must be fixed "
                         "integers (a numpy array such as np.arange(n) or the labels y)")
    if isinstance(k, (list, tuple, np.ndarray)):
        a = np.asarray(k)
        if a.size == 0:
            return a.astype(np.int64)
        if a.dtype == np.bool_ or np.issubdtype(a.dtype, np.integer):
            return a
        raise ShapeError(f"index: an index array must hold integers or booleans, got "
                         f"{a.dtype} {shown(k)} (array shape {shape})")
    if k is None or k is Ellipsis or isinstance(k, slice):
        return k
    if isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_)):
        return int(k)
    raise ShapeError(f"index: {type(k).__name__} {shown(k)} is not an index (ints, slices, "
                     f"None, ..., integer or boolean arrays; array shape {shape})")


def gather_positions(key: Any, shape: tuple) -> Optional[np.ndarray]:
    """The flat positions an advanced key (one with an integer or boolean array or list)
    selects from an array of ``shape``, in the result's shape; None for a basic key.

    >>> gather_positions((np.arange(2), [2, 0]), (2, 3)).tolist()
    [2, 3]
    """
    parts = key if isinstance(key, tuple) else (key,)
    if not any(isinstance(k, (list, np.ndarray)) or (isinstance(k, Node) and k.ndim)
               for k in parts):
        return None
    converted = tuple(_index_part(k, shape) for k in parts)
    ids = np.arange(int(np.prod(shape, dtype=np.int64)), dtype=np.int64).reshape(shape)
    try:
        return np.asarray(ids[converted])
    except (IndexError, ValueError, TypeError) as e:
        raise ShapeError(f"index: {e} (array shape {shape})") from None


def gather(x: Node, positions: Any) -> Node:
    """The entries of ``x`` at flat ``positions`` (an integer array; the result has its
    shape). Integer-array indexing, ``np.take`` and ``np.take_along_axis`` build it.

    >>> import symdiff as sd
    >>> gather(sd.tensor([1.0, 2.0, 3.0]), [[2, 0], [1, 1]]).data.tolist()
    [[3.0, 1.0], [2.0, 2.0]]
    """
    return apply("gather", x, pos=Indices(positions))


def take(a: Any, indices: Any, axis: Optional[int] = None) -> Node:
    """``numpy.take``: entries of ``a`` (flattened when ``axis`` is None) at ``indices``."""
    a = as_node(a, "numpy.take: a")
    ids = np.arange(a.size, dtype=np.int64).reshape(a.shape)
    idx = _index_part(indices if isinstance(indices, (list, tuple, np.ndarray, Node))
                      else indices, a.shape)
    try:
        pos = np.take(ids, idx, axis=axis)
    except (IndexError, ValueError, TypeError) as e:
        raise ShapeError(f"numpy.take: {e} (array shape {a.shape})") from None
    return gather(a, pos)


def take_along_axis(arr: Any, indices: Any, axis: Optional[int] = -1) -> Node:
    """``numpy.take_along_axis``: ``arr`` indexed along ``axis`` by ``indices`` (an integer
    array of ``arr``'s number of dimensions), e.g. the logits of the labels."""
    arr = as_node(arr, "numpy.take_along_axis: arr")
    ids = np.arange(arr.size, dtype=np.int64).reshape(arr.shape)
    idx = _index_part(indices if isinstance(indices, (list, np.ndarray, Node))
                      else np.asarray(indices), arr.shape)
    try:
        pos = np.take_along_axis(ids if axis is not None else ids.reshape(-1), idx, axis=axis)
    except (IndexError, ValueError, TypeError) as e:
        raise ShapeError(f"numpy.take_along_axis: {e} (array shape {arr.shape})") from None
    return gather(arr, pos)


__all__ = ["einsum", "tensordot", "outer", "inner", "solve", "slogdet", "SlogdetResult",
           "cholesky", "norm", "gather_positions", "gather", "take", "take_along_axis"]
