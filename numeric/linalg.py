"""numpy forwards, VJPs, shape rules and domains of the contraction, linear-algebra and
gather rows of the table (``einsum``, ``einsum_unary``, ``solve``, ``logabsdet``,
``cholesky``, ``norm`` with ``ord``/``axis``, ``gather``); ``numeric.primitives`` lists
the rows themselves. Imports numpy and ``numeric.errors`` only.

Einsum subscripts are stored in numpy's explicit form without ellipsis (``"ij,jk->ik"``):
the public functions spell them out. The VJP of an einsum is an einsum (of the cotangent
and the other operand, into the input's subscripts), followed by a broadcast for a letter
that only that input had and a write onto the diagonal for a repeated letter (``ii``).

>>> import numpy as np
>>> a, b = np.arange(6.0).reshape(2, 3), np.ones((3, 2))
>>> einsum_shape((2, 3), (3, 2), subscripts="ij,jk->ik")
(2, 2)
>>> einsum_to(["ik", "jk"], [np.ones((2, 2)), b], "ij", (2, 3)).tolist()
[[2.0, 2.0, 2.0], [2.0, 2.0, 2.0]]
"""
from __future__ import annotations

import math
import string
from typing import Any, Optional

import numpy as np

from .axes import normalize_axis
from .errors import NumericShapeError

Shape = tuple[int, ...]
LETTERS = string.ascii_letters


# ---------------------------------------------------------------------------
# hashable integer index arrays (gather's params)
# ---------------------------------------------------------------------------

class Indices:
    """An integer array for a row's params: read-only, hashable, compared by value (the
    lowering folds equal instructions by their params), with a short ``repr``. Unlike
    ``numeric.primitives.Positions`` it keeps its shape: ``gather``'s output has it.

    >>> i = Indices([[0, 2], [1, 1]])
    >>> i.shape, i == Indices(np.array([[0, 2], [1, 1]])), i
    ((2, 2), True, Indices([[0, 2], [1, 1]]))
    """

    __slots__ = ("array", "lo", "hi", "_hash")

    def __init__(self, values: Any):
        a = np.array(values, dtype=np.int64)            # a copy nobody else can write
        a.flags.writeable = False
        self.array = a
        self.lo = int(a.min()) if a.size else 0
        self.hi = int(a.max()) if a.size else -1
        self._hash: Optional[int] = None

    @property
    def shape(self) -> Shape:
        return tuple(self.array.shape)

    def __len__(self) -> int:
        return int(self.array.size)

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash((self.array.shape, self.array.tobytes()))
        return self._hash

    def __eq__(self, other: Any) -> bool:
        if self is other:
            return True
        if not isinstance(other, Indices):
            return NotImplemented
        return hash(self) == hash(other) and self.array.shape == other.array.shape and \
            np.array_equal(self.array, other.array)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self.array if dtype is None else self.array.astype(dtype)

    def __repr__(self) -> str:
        if self.array.size <= 8:
            return f"Indices({self.array.tolist()})"
        return f"Indices(<{self.shape} in [{self.lo}, {self.hi}]>)"


# ---------------------------------------------------------------------------
# einsum
# ---------------------------------------------------------------------------

def parse_subscripts(subscripts: str, count: int, op: str = "einsum") -> tuple[list, str]:
    """``"ij,jk->ik"`` -> (["ij", "jk"], "ik"), for ``count`` operands; letters only (the
    stored form has no ellipsis), each output letter once and found in an input.

    >>> parse_subscripts("ii->", 1)
    (['ii'], '')
    """
    def bad(why: str) -> NumericShapeError:
        return NumericShapeError(f"{op}: subscripts {subscripts!r}: {why}", op, ())

    if not isinstance(subscripts, str) or "->" not in subscripts:
        raise bad("expected the explicit form 'ij,jk->ik'")
    lhs, out = subscripts.split("->", 1)
    ins = lhs.split(",")
    if len(ins) != count:
        raise bad(f"{len(ins)} input(s) for {count} operand(s)")
    for s in ins + [out]:
        if any(c not in LETTERS for c in s):
            raise bad(f"{s!r} has a character that is not a letter")
    if len(set(out)) != len(out):
        raise bad(f"output {out!r} repeats a letter")
    missing = [c for c in out if c not in lhs]
    if missing:
        raise bad(f"output letter {missing[0]!r} is in no input")
    return ins, out


def _letter_sizes(ins: list, shapes: tuple, subscripts: str, op: str) -> dict:
    sizes: dict = {}
    for k, (s, shape) in enumerate(zip(ins, shapes)):
        if len(s) != len(shape):
            raise NumericShapeError(
                f"{op}: operand {k} has {len(shape)} dimension(s) (shape {tuple(shape)}) but "
                f"subscripts {s!r} name {len(s)}", op, shapes)
        for c, d in zip(s, shape):
            if sizes.setdefault(c, d) != d:
                raise NumericShapeError(
                    f"{op}: letter {c!r} of {subscripts!r} has size {sizes[c]} in one place "
                    f"and {d} in another (shapes {', '.join(str(tuple(x)) for x in shapes)})",
                    op, shapes)
    return sizes


def einsum_shape(*shapes: Shape, subscripts: str) -> Shape:
    """The shape rule of both einsum rows."""
    op = "einsum" if len(shapes) == 2 else "einsum_unary"
    ins, out = parse_subscripts(subscripts, len(shapes), op)
    sizes = _letter_sizes(ins, shapes, subscripts, op)
    return tuple(sizes[c] for c in out)


def einsum_forward(*xs: Any, subscripts: str) -> Any:
    out = np.einsum(subscripts, *xs)
    return out if isinstance(out, np.ndarray) else np.asarray(out)


def einsum_to(ins: list, operands: list, target: str, shape: Shape) -> Any:
    """``einsum`` of ``operands`` (subscripts ``ins``) into ``target``, which may name a
    letter no operand has (broadcast, sizes from ``shape``) or repeat one (written on the
    diagonal, zeros elsewhere): the cotangent of an einsum operand.

    >>> einsum_to(["", ""], [np.float64(2.0), np.float64(1.0)], "ii", (2, 2)).tolist()
    [[2.0, 0.0], [0.0, 2.0]]
    """
    uniq = "".join(dict.fromkeys(target))
    have = set("".join(ins))
    present = "".join(c for c in uniq if c in have)
    r = np.asarray(np.einsum(",".join(ins) + "->" + present, *operands))
    sizes = dict(zip(target, shape))
    if present != uniq:
        r = r.reshape([sizes[c] if c in have else 1 for c in uniq])
        r = np.broadcast_to(r, [sizes[c] for c in uniq])
    if uniq == target:
        return r
    out = np.zeros(shape, dtype=np.result_type(r, np.float64))
    np.einsum(target + "->" + uniq, out)[...] = r     # a writeable view of the diagonal
    return out


def einsum_vjp(k: int) -> Any:
    """The VJP of operand ``k`` of an einsum row: the cotangent ``g`` and the other
    operands contracted into operand k's subscripts."""
    def vjp(g: Any, out: Any, *xs: Any, subscripts: str) -> Any:
        ins, o = parse_subscripts(subscripts, len(xs))
        others = [i for i in range(len(xs)) if i != k]
        return einsum_to([o] + [ins[i] for i in others], [g] + [xs[i] for i in others],
                         ins[k], np.shape(xs[k]))
    return vjp


# ---------------------------------------------------------------------------
# solve, log|det|, cholesky
# ---------------------------------------------------------------------------

def square_matrix(s: Shape, op: str, what: str = "") -> int:
    if len(s) != 2 or s[0] != s[1]:
        raise NumericShapeError(f"{op}: needs a square matrix{what}, got shape {tuple(s)}"
                                + (" (batches of matrices are not supported)"
                                   if len(s) > 2 and s[-1] == s[-2] else ""), op, (s,))
    return s[0]


def solve_shape(a: Shape, b: Shape) -> Shape:
    n = square_matrix(a, "solve", " A")
    if len(b) not in (1, 2) or b[0] != n:
        raise NumericShapeError(
            f"solve: b must be a vector of length {n} or a matrix with {n} rows to match A "
            f"of shape {tuple(a)}, got shape {tuple(b)}", "solve", (a, b))
    return tuple(b)


def solve(a: Any, b: Any) -> Any:
    try:
        return np.linalg.solve(a, b)
    except np.linalg.LinAlgError:
        # singular: nan, like every other op outside its domain, for check to report
        return np.full(np.shape(b), np.nan)


def solve_vjp_a(g: Any, out: Any, a: Any, b: Any) -> Any:
    # x = A^-1 b, dx = -A^-1 dA x: the cotangent of A is -(A^-T g) x^T
    gb = solve(np.transpose(a), g)
    return -(np.multiply.outer(gb, out) if np.ndim(b) == 1 else gb @ np.transpose(out))


def solve_vjp_b(g: Any, out: Any, a: Any, b: Any) -> Any:
    return solve(np.transpose(a), g)


def nonsingular(a: Any, *_: Any) -> Any:
    return np.linalg.det(a) != 0


def logabsdet(x: Any) -> Any:
    return np.asarray(np.linalg.slogdet(x)[1])


def logabsdet_complex(x: Any) -> Any:
    # log(det) times the (constant) sign of the real determinant: holomorphic near a real
    # point, and log|det| on real inputs
    x = np.asarray(x)
    return np.log(np.linalg.det(x) * np.sign(np.linalg.det(x.real)))


def inv_t(x: Any) -> Any:
    try:
        return np.linalg.inv(x).T
    except np.linalg.LinAlgError:
        return np.full(np.shape(x), np.nan)


def _symmetric(x: Any) -> Any:
    return (x + np.swapaxes(x, -1, -2)) / 2


def cholesky(x: Any) -> Any:
    """The lower factor L of (x + xᵀ)/2 = L Lᵀ: numpy's Cholesky reads one triangle of a
    matrix assumed symmetric; this reads both halves equally, so its derivative is
    torch's symmetric convention and central differences in any direction agree."""
    try:
        return np.linalg.cholesky(_symmetric(np.asarray(x)))
    except np.linalg.LinAlgError:
        return np.full(np.shape(x), np.nan)


def cholesky_complex(x: Any) -> Any:
    """The same factor by the Cholesky–Banachiewicz recurrence without conjugates
    (numpy's complex Cholesky is the Hermitian one): holomorphic, for the complex step."""
    a = _symmetric(np.asarray(x, dtype=np.complex128))
    n = a.shape[-1]
    L = np.zeros_like(a)
    for j in range(n):
        L[j, j] = np.sqrt(a[j, j] - np.sum(L[j, :j] * L[j, :j]))
        for i in range(j + 1, n):
            L[i, j] = (a[i, j] - np.sum(L[i, :j] * L[j, :j])) / L[j, j]
    return L


def phi_mask(n: int) -> np.ndarray:
    """Lower triangle of ones with 1/2 on the diagonal (Murray's Φ as a Hadamard mask)."""
    return np.tril(np.ones((n, n))) - 0.5 * np.eye(n)


def cholesky_vjp(g: Any, out: Any, x: Any) -> Any:
    """Murray (2016), eq. 10: Ā = sym(L⁻ᵀ Φ(Lᵀ L̄) L⁻¹), L̄ = tril(g): only L's lower
    triangle depends on A."""
    L = out
    n = L.shape[-1]
    P = (L.T @ np.tril(g)) * phi_mask(n)
    try:
        S = np.linalg.solve(L.T, np.linalg.solve(L.T, P.T).T)   # L⁻ᵀ P L⁻¹
    except np.linalg.LinAlgError:
        return np.full(np.shape(x), np.nan)
    return _symmetric(S)


def positive_definite(x: Any) -> Any:
    x = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        return False
    return bool(np.all(np.linalg.eigvalsh(_symmetric(x)) > 0))


def conditioned(rng: Any, shape: Shape) -> Any:
    """A square matrix near 1.5 I (invertible, positive determinant, condition number
    small); other shapes (solve's right-hand side) uniform in (-3, 3)."""
    if len(shape) == 2 and shape[0] == shape[1]:
        return np.eye(shape[0]) * 1.5 + rng.uniform(-0.4, 0.4, size=shape)
    return rng.uniform(-3.0, 3.0, size=shape)


def spd(rng: Any, shape: Shape) -> Any:
    """Symmetric positive definite C Cᵀ + I/2 (C near 1.5 I), plus a skew part the row's
    symmetrization removes: the skew part tests that convention."""
    n = shape[-1]
    c = np.eye(n) * 1.5 + rng.uniform(-0.4, 0.4, size=shape)
    skew = rng.uniform(-0.3, 0.3, size=shape)
    return c @ c.T + 0.5 * np.eye(n) + (skew - skew.T)


# ---------------------------------------------------------------------------
# vector norms: ord 2, 1, inf, -inf along axes
# ---------------------------------------------------------------------------

NORM_ORDS = (2.0, 1.0, math.inf, -math.inf)


def norm_shape(s: Shape, ord: float = 2.0, axis: Any = None, keepdims: bool = False) -> Shape:

    if len(s) == 0:
        raise NumericShapeError("norm: needs a vector or an array, got a scalar (use abs)",
                                "norm", (s,))
    if ord not in NORM_ORDS:
        raise NumericShapeError(f"norm: ord {ord!r} is not one of 2, 1, inf, -inf", "norm",
                                (s,))
    axes = normalize_axis(axis, len(s), "norm")
    if ord != 2 and any(s[a] == 0 for a in axes):
        raise NumericShapeError(f"norm: ord {ord} of an empty axis (shape {s}) has no value",
                                "norm", (s,))
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(s))
    return tuple(d for i, d in enumerate(s) if i not in axes)


def _keep(x: Any, axis: Any, fn: Any) -> Any:
    return fn(x, axis=axis, keepdims=True)


def _drop(r: Any, x: Any, axis: Any, keepdims: bool) -> Any:
    if keepdims:
        return r
    if axis is None:
        return r.reshape(())
    return np.squeeze(r, axis=axis)


def norm(x: Any, ord: float = 2.0, axis: Any = None, keepdims: bool = False) -> Any:
    x = np.asarray(x)
    if ord == 2:
        r = np.sqrt(_keep(x * x, axis, np.sum))
    elif ord == 1:
        r = _keep(np.abs(x), axis, np.sum)
    elif ord == math.inf:
        r = _keep(np.abs(x), axis, np.max)
    else:
        r = _keep(np.abs(x), axis, np.min)
    return _drop(r, x, axis, keepdims)


def norm_complex(x: Any, ord: float = 2.0, axis: Any = None, keepdims: bool = False) -> Any:
    """The same function, holomorphic near a real point away from its kinks: |x| is
    x·sign(Re x), and max/min pick the entry the real parts pick."""
    x = np.asarray(x)
    if ord == 2:
        return _drop(np.sqrt(_keep(x * x, axis, np.sum)), x, axis, keepdims)
    a = x * np.sign(x.real)
    if ord == 1:
        return _drop(_keep(a, axis, np.sum), x, axis, keepdims)
    pick = np.max if ord == math.inf else np.min
    hit = np.abs(x.real) == _keep(np.abs(x.real), axis, pick)
    count = _keep(hit, axis, np.sum)
    return _drop(_keep(np.where(hit, a, 0), axis, np.sum) / count, x, axis, keepdims)


def _expand(r: Any, x: Any, axis: Any, keepdims: bool) -> Any:

    if not keepdims and np.ndim(x):
        r = np.expand_dims(r, normalize_axis(axis, np.ndim(x), "norm"))
    return np.broadcast_to(r, np.shape(x))


def _extreme(x: Any, out: Any, ord: float, axis: Any, keepdims: bool) -> tuple:
    """Where |x| attains the norm (inf: the max, -inf: the min) and how many entries of
    each slice do."""
    hit = np.abs(x) == _expand(out, x, axis, keepdims)
    return hit, _expand(_keep(hit, axis, np.sum), x, axis, True)


def norm_vjp(g: Any, out: Any, x: Any, ord: float = 2.0, axis: Any = None,
             keepdims: bool = False) -> Any:
    ge = _expand(g, x, axis, keepdims)
    if ord == 2:
        # the subgradient 0 at x = 0, as PyTorch
        o = _expand(out, x, axis, keepdims)
        return ge * x / np.where(o == 0, 1.0, o)
    if ord == 1:
        return ge * np.sign(x)
    # max/min of |x|: a tie splits the cotangent evenly (torch's amax/amin convention)
    hit, count = _extreme(x, out, ord, axis, keepdims)
    return ge * np.sign(x) * hit / count


def norm_kink(x: Any, ord: float = 2.0, axis: Any = None, keepdims: bool = False) -> Any:
    """Per entry: the norm is not differentiable there (2: a slice of zeros; 1: an entry
    at 0; inf/-inf: a tie for the max/min of |x|, or the min at 0)."""
    x = np.asarray(x, dtype=float)
    if x.ndim == 0:          # a lone entry (the kink tests probe with one): its own slice
        return x == 0
    out = norm(x, ord, axis, keepdims)
    if ord == 2:
        return _expand(out == 0, x, axis, keepdims)
    if ord == 1:
        return x == 0
    hit, count = _extreme(x, out, ord, axis, keepdims)
    return hit & ((count > 1) | (x == 0))


def norm_boundary(x: Any, ord: float = 2.0, axis: Any = None, keepdims: bool = False) -> Any:
    """Zero crossings where the norm switches branch: 1: an entry crossing 0; inf: |x_i|
    minus the largest other |x_j| of its slice (0 at a tie for the max); -inf: the
    smallest entry itself times its gap to the next (0 at a tie or at 0). ord 2 has only
    a point kink (a slice of zeros), no surface: ones."""
    x = np.asarray(x, dtype=float)
    if ord == 2:
        return np.ones_like(x)
    if x.ndim == 0:
        return x
    if ord == 1:
        return x
    a = np.abs(x)
    pick = np.max if ord == math.inf else np.min
    best = _expand(_keep(a, axis, pick), x, axis, True)
    hit = a == best
    count = _expand(_keep(hit, axis, np.sum), x, axis, True)
    fill = -np.inf if ord == math.inf else np.inf
    second = _expand(_keep(np.where(hit, fill, a), axis, pick), x, axis, True)
    second = np.where(count > 1, best, second)             # a tie: the best is also second
    second = np.where(np.isfinite(second), second, best)   # a slice of one entry
    others = np.where(hit, second, best)
    if ord == math.inf:
        return a - others
    return np.where(hit, x * (others - a), a - others)


# ---------------------------------------------------------------------------
# gather: entries at flat positions
# ---------------------------------------------------------------------------

def gather(x: Any, pos: Any) -> Any:
    x = np.asarray(x)
    return x.reshape(-1)[np.asarray(pos, dtype=np.int64)]


def gather_shape(s: Shape, pos: Any) -> Shape:
    n = math.prod(s)
    p = pos if isinstance(pos, Indices) else Indices(pos)
    if len(p) and not (0 <= p.lo and p.hi < n):
        bad = p.lo if p.lo < 0 else p.hi
        raise NumericShapeError(f"gather: position {bad} is outside the {n} entries of an "
                                f"array of shape {tuple(s)}", "gather", (s,))
    return p.shape


def gather_vjp(g: Any, out: Any, x: Any, pos: Any) -> Any:
    # scatter-add: a position taken several times gets the sum of its cotangents
    z = np.zeros(np.size(x), dtype=np.result_type(g, np.float64))
    np.add.at(z, np.asarray(pos, dtype=np.int64).reshape(-1), np.reshape(g, -1))
    return z.reshape(np.shape(x))
