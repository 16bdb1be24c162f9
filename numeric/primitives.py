"""The one table of primitives: every op symdiff knows, one row each.

Schema of a row (``Primitive``)
--------------------------------
name     key of the row; used in error messages, test ids and ``grad_fn`` names
         (``mul`` -> ``MulBackward``).
arity    number of array inputs.
kind     ``"elementwise"`` (numpy broadcasting; derivatives come from the SymPy formula),
         ``"reduction"`` or ``"structural"`` (hand-written adjoint rules on both sides).
forward  numpy callable ``(*xs, **params) -> out``.
vjp      tuple with one entry per input: ``(g, out, *xs, **params) -> cotangent`` or
         ``None`` where no cotangent flows (a boolean condition, a piecewise-constant op).
         One callable per input (as HIPS autograd's ``defvjp``) so the engine never
         computes a cotangent nobody needs, e.g. for the constant in ``3 * x``.
         Elementwise rules ignore broadcasting: the engine sums every cotangent back to
         its input's shape, once, in one place.
shape    ``(*in_shapes, **params) -> out_shape``; raises ``NumericShapeError``.
sympy    elementwise rows: a formula in ``x, y, z`` (the inputs in order) and the
         params, read by symdiff's safe parser, e.g. ``"x*y"``, ``"Max(x, y)"``,
         ``"relu(x)"``; other rows: the name of symdiff's matrix-expression builder.
         A string, because this package never imports SymPy.
display  short label for graphs and teaching text (``"+"``, ``"sin"``).
domain   ``Domain``: where tests sample inputs, where the op is defined, where it has
         kinks (points where it is not differentiable).
params   names of the static parameters the row takes (``axis``, ``shape``, ``p``).
dtype    ``"float64"``, or ``"bool"`` for comparisons (usable as ``where`` conditions).
analytic True when the op is analytic (holomorphic) where it is differentiable, so the
         complex step ``Im f(x + ih) / h`` gives its derivative: arithmetic, exp, log,
         the trigonometric functions, sqrt, the reductions, the linear algebra and the
         structural ops. False for piecewise ops (relu, abs, sign, step, maximum,
         minimum, where) and comparisons. Default False: a new row opts in; the table
         sweep checks every analytic row's complex-step derivative against its VJP.
complex_forward  for an analytic row whose numpy forward is right for real inputs only
         (sigmoid, logsumexp, logdet, unindex), the same function on complex inputs.
sparsity how each output entry depends on the input entries, for sparse Jacobians and
         Hessians: ``"elementwise"`` (entry i on entry i of each broadcast input),
         ``"reduction"`` (on the entries reduced into it), ``"selection"`` (a linear op
         that moves or copies entries: forward of an array of entry ids gives the map) or
         ``"dense"`` (on every entry; always safe).

The table says what an op *is*. How to emit fast code for it (its Python-float templates
for the scalar fast path, and what its VJPs read and write, which the buffer planner
relies on) is the code generator's own table, ``numeric/codegen/rules.py``, keyed by row
name. A row it does not list runs on numpy, without the fast path (the tests ask every
elementwise row for one).

Conventions at kinks follow PyTorch: relu'(0) = 0, abs'(0) = sign(0) = 0, and
maximum/minimum split a tie 0.5/0.5 between their inputs.

Vocabulary: ``g`` incoming cotangent, ``out`` forward result, ``x, y, z`` inputs.

>>> import numpy as np
>>> row = PRIMITIVES["sin"]
>>> float(row.forward(np.float64(0.0)))
0.0
>>> float(row.vjp[0](np.float64(2.0), None, np.float64(0.0)))
2.0
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

from . import linalg as _la
from .axes import int_text, normalize_axis  # noqa: F401  (normalize_axis re-exported: callers import it from here)
from .errors import NumericShapeError

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Domain:
    """Where a primitive may be evaluated and differentiated.

    sample  per input, the interval ``(lo, hi)`` tests draw points from.
    valid   ``(*xs, **params) -> bool array``: the forward value is defined and finite.
    kink    ``(*xs, **params) -> bool array``: the op is not differentiable there.
    note    the same in words, for reports.
    draw    optional ``(rng, shape) -> array`` for rows whose inputs cannot be drawn
            entry by entry from ``sample`` (det, inv: a well-conditioned matrix).
    boundary  optional ``(*xs, **params) -> array``: where the op switches branch, as
            the zero crossings of this array (relu, abs: ``x``; maximum, a comparison:
            ``x - y``). Every row with a ``kink`` that lies on a hypersurface has one;
            ``sd.verify`` finds the crossings along lines through its points and
            compares on both sides of each, wherever they are.
    """

    sample: tuple[tuple[float, float], ...]
    valid: Optional[Callable[..., Any]] = None
    kink: Optional[Callable[..., Any]] = None
    note: str = "all reals"
    draw: Optional[Callable[..., Any]] = None
    boundary: Optional[Callable[..., Any]] = None


@dataclass(frozen=True)
class Primitive:
    """One row of the table; see the module docstring for the meaning of each field."""

    name: str
    arity: int
    kind: str
    forward: Callable[..., Any]
    vjp: tuple[Optional[Callable[..., Any]], ...]
    shape: Callable[..., Shape]
    sympy: str
    display: str
    domain: Domain
    params: tuple[str, ...] = ()
    dtype: str = "float64"
    doc: str = field(default="", compare=False)
    analytic: bool = False
    complex_forward: Optional[Callable[..., Any]] = field(default=None, compare=False)
    sparsity: str = "dense"

    @property
    def grad_fn_name(self) -> str:
        """PyTorch-style name of the backward node: ``mul`` -> ``MulBackward``."""
        return "".join(part.capitalize() for part in self.name.split("_")) + "Backward"


# ---------------------------------------------------------------------------
# shape rules
# ---------------------------------------------------------------------------

def broadcast_shape(*shapes: Shape, op: str = "elementwise op") -> Shape:
    """numpy's broadcasting rule, raising ``NumericShapeError`` naming the op.

    >>> broadcast_shape((3, 1), (2,))
    (3, 2)
    """
    first = shapes[0]
    if all(s == first or s == () for s in shapes[1:]):
        return tuple(first)  # the common cases, without numpy's general (slower) rule
    if first == () and len(shapes) == 2:
        return tuple(shapes[1])
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        shown = " and ".join(str(tuple(s)) for s in shapes)
        raise NumericShapeError(
            f"{op}: shapes {shown} cannot be broadcast together", op, shapes) from None


def _elementwise_shape(name: str) -> Callable[..., Shape]:
    return lambda *shapes, **_: broadcast_shape(*shapes, op=name)


def _reduce_shape(name: str) -> Callable[..., Shape]:
    def rule(s: Shape, axis: Any = None, keepdims: bool = False) -> Shape:
        axes = normalize_axis(axis, len(s), name)
        if keepdims:
            return tuple(1 if i in axes else d for i, d in enumerate(s))
        return tuple(d for i, d in enumerate(s) if i not in axes)
    return rule


def _matmul_shape(a: Shape, b: Shape) -> Shape:
    if len(a) == 0 or len(b) == 0:
        raise NumericShapeError(
            f"matmul: both operands need at least one dimension, got shapes {a} and {b}",
            "matmul", (a, b))
    a2 = (1,) + a if len(a) == 1 else a
    b2 = b + (1,) if len(b) == 1 else b
    if a2[-1] != b2[-2]:
        raise NumericShapeError(
            f"matmul: inner dimensions differ: shapes {a} and {b} "
            f"({a2[-1]} != {b2[-2]})", "matmul", (a, b))
    batch = broadcast_shape(a2[:-2], b2[:-2], op="matmul")
    out = batch + (a2[-2], b2[-1])
    if len(a) == 1:
        out = out[:-2] + out[-1:]
    if len(b) == 1:
        out = out[:-1]
    return out


def _transpose_shape(s: Shape, axes: Optional[tuple[int, ...]] = None) -> Shape:
    if axes is None:
        return tuple(reversed(s))
    n = len(s)   # each axis in range first: -327 % 1 == 0 passed, then s[-327] failed
    if any(not -n <= a < n for a in axes) or sorted(a % n for a in axes) != list(range(n)):
        shown = "(" + ", ".join(int_text(a) for a in axes) + ("," if len(axes) == 1 else "") + ")"
        raise NumericShapeError(
            f"transpose: axes {shown} are not a permutation of the {n} axes of shape {s}",
            "transpose", (s,))
    return tuple(s[a] for a in axes)


def _reshape_shape(s: Shape, shape: Shape) -> Shape:
    # pure arithmetic, so shapes of any size are checked without allocating
    size = int(np.prod(s, dtype=np.int64))
    shape = tuple(int(d) for d in shape)
    unknown = [i for i, d in enumerate(shape) if d == -1]
    known = int(np.prod([d for d in shape if d != -1], dtype=np.int64))
    ok = len(unknown) <= 1 and all(d >= -1 for d in shape)
    if ok and unknown:
        ok = known != 0 and size % known == 0
        if ok:
            i = unknown[0]
            shape = shape[:i] + (size // known,) + shape[i + 1:]
    elif ok:
        ok = known == size
    if not ok:
        raise NumericShapeError(
            f"reshape: cannot reshape an array of shape {s} ({size} elements) into shape {shape}",
            "reshape", (s,))
    return shape


def index_key(key: tuple) -> tuple:
    """Turn the hashable key form symdiff stores (``("slice", a, b, c)``) into numpy's.

    >>> index_key((0, ("slice", None, None, 2)))
    (0, slice(None, None, 2))
    """
    return tuple(slice(k[1], k[2], k[3]) if isinstance(k, tuple) else k for k in key)


def _index_shape(s: Shape, key: tuple) -> Shape:
    try:
        # a zero-strided view: the result's shape without allocating the array
        return tuple(np.broadcast_to(np.empty(()), s)[index_key(key)].shape)
    except IndexError as e:
        raise NumericShapeError(f"index: {e} (array shape {s})", "index", (s,)) from None


def _unindex_shape(s: Shape, key: tuple, shape: Shape) -> Shape:
    if _index_shape(tuple(shape), key) != tuple(s):
        raise NumericShapeError(
            f"unindex: a value of shape {s} does not fill key {key} of shape {shape}",
            "unindex", (s,))
    return tuple(shape)


def _broadcast_to_shape(s: Shape, shape: Shape) -> Shape:
    if broadcast_shape(s, tuple(shape), op="broadcast_to") != tuple(shape):
        raise NumericShapeError(
            f"broadcast_to: shape {s} cannot be broadcast to {tuple(shape)}",
            "broadcast_to", (s,))
    return tuple(shape)


# ---------------------------------------------------------------------------
# helpers for the rules that are more than one line
# ---------------------------------------------------------------------------

def sum_to(x: Any, shape: Shape) -> Any:
    """Sum a broadcast cotangent back to ``shape`` (the engine's one unbroadcast).

    >>> sum_to(np.ones((3, 2)), (2,)).tolist()
    [3.0, 3.0]
    """
    x = np.asarray(x)
    if x.shape == tuple(shape):
        return x
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, d in enumerate(shape) if d == 1 and x.shape[lead + i] != 1)
    if not axes and [d for d in x.shape if d != 1] != [d for d in shape if d != 1]:
        # nothing to sum, yet the shapes differ: a rule returned a wrong-shaped cotangent,
        # which a reshape would silently scramble
        raise NumericShapeError(f"sum_to: a cotangent of shape {x.shape} does not reduce to "
                                f"shape {tuple(shape)}", "sum_to", (x.shape, tuple(shape)))
    return x.sum(axis=axes, keepdims=False).reshape(shape) if axes else x.reshape(shape)


def _sigmoid(x: Any) -> Any:
    # split by sign so neither branch overflows exp
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _relu(x: Any, out: Any = None) -> Any:
    return np.maximum(x, 0.0, out=out)


_relu.supports_out = True  # type: ignore[attr-defined]  # generated code may pass out=


def _pow(x: Any, p: float) -> Any:
    # np.power is ~40x slower than repeated multiplication for small integer powers
    if p == 2:
        return x * x
    if p == 3:
        return x * x * x
    if p == 1:
        return x + 0.0
    if p == 0.5:
        return np.sqrt(x)
    if p == -1:
        return 1.0 / x
    return np.power(x, p)


def _pow_valid(x: Any, p: float) -> Any:
    if float(p).is_integer():
        return (x != 0) | (p >= 0)
    return (x > 0) | ((x == 0) & (p > 0))


def _pow_vjp(g: Any, out: Any, x: Any, p: float) -> Any:
    if p == 2:
        return g * 2.0 * x
    if p == 1:
        return g
    if p == 0:
        return g * 0.0
    return g * p * _pow(x, p - 1)


def _expand_reduced(g: Any, shape: Shape, axis: Any, keepdims: bool) -> Any:
    if axis is None and np.ndim(g) in (0, len(shape)):
        return np.broadcast_to(g, shape)  # a full reduction: nothing to re-insert
    if not keepdims:
        g = np.expand_dims(g, normalize_axis(axis, len(shape), "sum"))
    return np.broadcast_to(g, shape)


def _count(shape: Shape, axis: Any) -> int:
    return int(np.prod([shape[a] for a in normalize_axis(axis, len(shape), "mean")],
                       dtype=np.int64))


def _matmul_vjp_x(g: Any, out: Any, x: Any, y: Any, into: Any = None) -> Any:
    if np.ndim(y) == 1:
        return np.multiply.outer(g, y) if np.ndim(x) > 1 else g * y
    if np.ndim(x) == 1:
        return np.matmul(y, g) if np.ndim(y) == 2 else np.matmul(y, g[..., :, None])[..., 0]
    if into is not None and np.ndim(g) == np.ndim(x) == np.ndim(y) == 2:
        return np.matmul(g, y.T, out=into)
    return np.matmul(g, np.swapaxes(y, -1, -2))


def _matmul_vjp_y(g: Any, out: Any, x: Any, y: Any, into: Any = None) -> Any:
    if np.ndim(x) == 1:
        # (k,) @ (..., k, m) -> (..., m): the cotangent is x[:, None] * g[..., None, :]
        return g * x if np.ndim(y) == 1 else x[:, None] * g[..., None, :]
    if np.ndim(y) == 1:
        return np.matmul(np.swapaxes(x, -1, -2), g[..., None])[..., 0] if np.ndim(x) > 2 \
            else np.matmul(x.T, g)
    if into is not None and np.ndim(g) == np.ndim(x) == np.ndim(y) == 2:
        return np.matmul(x.T, g, out=into)
    return np.matmul(np.swapaxes(x, -1, -2), g)


def _sigmoid_vjp(g: Any, out: Any, x: Any, into: Any = None) -> Any:
    t = np.multiply(g, out, out=into)
    t *= 1.0 - out  # (g * out) * (1 - out), as the scalar template (codegen) rounds it
    return t


def _transpose_vjp(g: Any, out: Any, x: Any, axes: Optional[tuple[int, ...]] = None) -> Any:
    if axes is None:
        return np.transpose(g)
    return np.transpose(g, np.argsort([a % np.ndim(x) for a in axes]))  # axes may be negative


def _unindex(x: Any, key: tuple, shape: Shape) -> Any:
    z = np.zeros(shape)
    z[index_key(key)] = x
    return z


def _square_shape(name: str, out: Callable[[Shape], Shape]) -> Callable[..., Shape]:
    def rule(s: Shape) -> Shape:
        if len(s) != 2 or s[0] != s[1]:
            raise NumericShapeError(f"{name}: needs a square matrix, got shape {s}", name, (s,))
        return out(s)
    return rule


def _eye_like(x: Any) -> Any:
    return np.eye(np.shape(x)[-1])


def _inv(x: Any) -> Any:
    try:
        return np.linalg.inv(x)
    except np.linalg.LinAlgError:
        # singular: nan, like every other op outside its domain, for check to report
        return np.full(np.shape(x), np.nan)


def _inv_t(x: Any) -> Any:
    return _inv(x).T


def _logdet(x: Any) -> Any:
    sign, ld = np.linalg.slogdet(x)
    # as torch.logdet: the log of a negative determinant is nan, not log|det|
    return np.where(sign > 0, ld, np.nan) if np.ndim(sign) else (ld if sign > 0 else np.nan)


def _det_valid(x: Any) -> Any:
    return np.linalg.det(x) != 0


def _conditioned(rng: Any, shape: Shape) -> Any:
    # near the identity: invertible, positive determinant, small condition number
    n = shape[-1]
    return np.eye(n) * 1.5 + rng.uniform(-0.4, 0.4, size=shape)


# The cofactor matrix C(X) = adj(X)^T is det's gradient. It is a polynomial in X, defined
# at singular matrices too, where det(X) X^-T is 0 * inf. Through the SVD X = U S V^T:
# C(U S V^T) = det(U) det(V) U C(S) V^T, and C(S) = diag(prod_{m != i} s_m): products of
# singular values, no division, so rank-deficient matrices are as easy as any other.

def _pair_products(s: Any) -> Any:
    """``[..., i, j]`` = prod of ``s[..., m]`` over m not in {i, j} (over m != i on the
    diagonal), by prefix and suffix products: no division, so zeros are fine."""
    n = s.shape[-1]
    t = np.broadcast_to(s[..., None, :], s.shape[:-1] + (n, n)).copy()
    idx = np.arange(n)
    t[..., idx, idx] = 1.0
    ones = np.ones(s.shape[:-1] + (n, 1))
    before = np.concatenate([ones, np.cumprod(t[..., :-1], axis=-1)], axis=-1)
    after = np.concatenate([np.cumprod(t[..., :0:-1], axis=-1)[..., ::-1], ones], axis=-1)
    return before * after


def _svd_parts(x: Any) -> tuple:
    u, s, vh = np.linalg.svd(x)
    sign = np.linalg.det(u) * np.linalg.det(vh)   # +-1 each: orthogonal factors
    return u, _pair_products(s), vh, sign[..., None, None]


def _cofactor(x: Any) -> Any:
    x = np.asarray(x, dtype=np.float64)
    if x.shape[-1] == 0 or not np.all(np.isfinite(x)):
        # nothing to compute, or the SVD would refuse: nan, like any op given nan
        return np.full(x.shape, np.nan) if x.size else np.zeros(x.shape)
    u, p, vh, sign = _svd_parts(x)
    return sign * ((u * np.diagonal(p, axis1=-2, axis2=-1)[..., None, :]) @ vh)


def _cofactor_vjp(g: Any, out: Any, x: Any) -> Any:
    # The derivative of C is det's Hessian, symmetric, so the VJP is the directional
    # derivative along g. At a diagonal S, dC(S)[E] has diagonal sum_{k != i} p_ik E_kk and
    # off-diagonal -p_ij E_ji (p_ij the product of the s_m, m not in {i, j}); rotated by
    # the SVD as C is. Exact at singular X (torch's det double backward is not).
    x = np.asarray(x, dtype=np.float64)
    if x.shape[-1] == 0 or not np.all(np.isfinite(x)):
        return np.full(x.shape, np.nan) if x.size else np.zeros(x.shape)
    u, p, vh, sign = _svd_parts(x)
    n = x.shape[-1]
    idx = np.arange(n)
    p[..., idx, idx] = 0.0
    gs = np.swapaxes(u, -1, -2) @ g @ np.swapaxes(vh, -1, -2)
    h = -p * np.swapaxes(gs, -1, -2)
    h[..., idx, idx] = (p @ np.diagonal(gs, axis1=-2, axis2=-1)[..., None])[..., 0]
    return sign * (u @ h @ vh)


def _cofactor_complex(x: Any) -> Any:
    # analytic on complex inputs (the SVD is not: its phases): signed minors for small
    # matrices, exact at singular ones; det(x) x^-T for large ones
    x = np.asarray(x)
    n = x.shape[-1]
    if n > 8:
        return np.linalg.det(x)[..., None, None] * np.swapaxes(np.linalg.inv(x), -1, -2)
    keep = [[m for m in range(n) if m != i] for i in range(n)]
    minors = x[..., keep, :][..., :, :, keep]               # (..., i, r, j, c)
    minors = np.moveaxis(minors, -2, -3)                     # (..., i, j, r, c)
    signs = (-1.0) ** np.add.outer(np.arange(n), np.arange(n))
    return signs * np.linalg.det(minors)


def _stack_square_shape(s: Shape) -> Shape:
    if len(s) < 2 or s[-1] != s[-2]:
        raise NumericShapeError(
            f"cofactor: needs a square matrix (or a stack of them), got shape {s}",
            "cofactor", (s,))
    return tuple(s)


def _logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)  # all -inf (or inf) rows: no shift
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    if not keepdims:
        out = np.squeeze(out, axis=normalize_axis(axis, x.ndim, "logsumexp"))
    return out


def _logsumexp_vjp(g: Any, out: Any, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    shape = np.shape(x)
    return _expand_reduced(g, shape, axis, keepdims) * \
        np.exp(x - _expand_reduced(out, shape, axis, keepdims))


def _where(c: Any, x: Any, y: Any) -> Any:
    return np.where(c, x, y)


def _tie(x: Any, y: Any, **_: Any) -> Any:
    return x == y


def _at_zero(x: Any, **_: Any) -> Any:
    return x == 0


def _input(x: Any, *_: Any, **__: Any) -> Any:
    return x


def _difference(x: Any, y: Any, **_: Any) -> Any:
    return np.subtract(x, y, dtype=np.float64)


# complex-safe forwards, for the complex step (the real ones split on sign, cast to
# float64 or take log|det|)

def _sigmoid_complex(x: Any) -> Any:
    return 1.0 / (1.0 + np.exp(-x))


def _logsumexp_complex(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    x = np.asarray(x)
    m = np.max(x.real, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    if not keepdims:
        out = np.squeeze(out, axis=axis if axis is not None else tuple(range(x.ndim)))
    return out


def _logdet_complex(x: Any) -> Any:
    return np.log(np.linalg.det(x))


def _unindex_complex(x: Any, key: tuple, shape: tuple) -> Any:
    z = np.zeros(shape, dtype=np.result_type(x, np.float64))
    z[index_key(key)] = x
    return z


# ---------------------------------------------------------------------------
# the table
# ---------------------------------------------------------------------------

R = (-3.0, 3.0)          # default sampling interval
POS = (0.2, 3.0)         # strictly positive inputs
_rows: list[Primitive] = []


def _row(name: str, arity: int, kind: str, forward: Callable, vjp: tuple, shape: Callable,
         sympy: str, display: str, domain: Domain, params: tuple[str, ...] = (),
         dtype: str = "float64", doc: str = "", analytic: bool = False,
         complex_forward: Optional[Callable] = None, sparsity: str = "") -> None:
    sparsity = sparsity or {"elementwise": "elementwise", "reduction": "reduction"}.get(
        kind, "dense")
    _rows.append(Primitive(name, arity, kind, forward, vjp, shape, sympy, display, domain,
                           params, dtype, doc, analytic, complex_forward, sparsity))


def _ew(name: str, arity: int, forward: Callable, vjp: tuple, sympy: str, display: str,
        domain: Domain, params: tuple[str, ...] = (), dtype: str = "float64", doc: str = "",
        analytic: bool = False, complex_forward: Optional[Callable] = None) -> None:
    _row(name, arity, "elementwise", forward, vjp, _elementwise_shape(name), sympy, display,
         domain, params, dtype, doc, analytic, complex_forward)


# -- arithmetic --------------------------------------------------------------
_ew("add", 2, np.add,
    (lambda g, out, x, y: g, lambda g, out, x, y: g),
    "x + y", "+", Domain((R, R)), analytic=True)
_ew("sub", 2, np.subtract,
    (lambda g, out, x, y: g, lambda g, out, x, y: -g),
    "x - y", "-", Domain((R, R)), analytic=True)
_ew("mul", 2, np.multiply,
    (lambda g, out, x, y, into=None: np.multiply(g, y, out=into),
     lambda g, out, x, y, into=None: np.multiply(g, x, out=into)),
    "x*y", "*", Domain((R, R)), analytic=True)
_ew("div", 2, np.divide,
    (lambda g, out, x, y: g / y, lambda g, out, x, y: -g * out / y),
    "x/y", "/", Domain((R, POS), valid=lambda x, y: y != 0, note="y != 0"), analytic=True)
_ew("neg", 1, np.negative,
    (lambda g, out, x: -g,),
    "-x", "neg", Domain((R,)), analytic=True)
_ew("pow", 1, _pow,
    (_pow_vjp,),
    "x**p", "**p", Domain(
        (POS,),
        valid=_pow_valid,
        kink=lambda x, p: (x == 0) & (p < 1) & (p != 0),
        boundary=lambda x, p: x if p < 1 and p != 0 else np.ones_like(x),
        note="x > 0 unless p is an integer (x != 0 when p < 0)"),
    params=("p",), doc="x raised to a constant exponent p", analytic=True)
_ew("pow_tensor", 2, np.power,
    (lambda g, out, x, y: g * y * np.power(x, y - 1), lambda g, out, x, y: g * out * np.log(x)),
    "x**y", "**", Domain((POS, R), valid=lambda x, y: x > 0, note="x > 0"),
    doc="x raised to an exponent that is itself a graph node", analytic=True)

# -- elementwise functions ----------------------------------------------------
_ew("exp", 1, np.exp, (lambda g, out, x, into=None: np.multiply(g, out, out=into),), "exp(x)",
    "exp", Domain((R,)), analytic=True)
_ew("log", 1, np.log, (lambda g, out, x: g / x,), "log(x)", "log",
    Domain((POS,), valid=lambda x: x > 0, note="x > 0"), analytic=True)
_ew("sin", 1, np.sin, (lambda g, out, x: g * np.cos(x),), "sin(x)", "sin", Domain((R,)),
    analytic=True)
_ew("cos", 1, np.cos, (lambda g, out, x: -g * np.sin(x),), "cos(x)", "cos", Domain((R,)),
    analytic=True)
_ew("tan", 1, np.tan, (lambda g, out, x: g * (1.0 + out * out),), "tan(x)", "tan",
    Domain(((-1.2, 1.2),), valid=lambda x: np.cos(x) != 0, note="cos(x) != 0"), analytic=True)
_ew("tanh", 1, np.tanh, (lambda g, out, x, into=None: np.multiply(g, 1.0 - out * out, out=into),),
    "tanh(x)", "tanh", Domain((R,)), analytic=True)
_ew("sigmoid", 1, _sigmoid, (_sigmoid_vjp,), "sigmoid(x)",
    "sigmoid", Domain((R,)), analytic=True, complex_forward=_sigmoid_complex)
_ew("relu", 1, _relu, (lambda g, out, x, into=None: np.multiply(g, x > 0, out=into),), "relu(x)",
    "relu", Domain((R,), kink=_at_zero, note="kink at x = 0 (relu'(0) = 0)", boundary=_input))
_ew("sqrt", 1, np.sqrt, (lambda g, out, x: g * 0.5 / out,), "sqrt(x)", "sqrt",
    Domain((POS,), valid=lambda x: x >= 0, kink=_at_zero, note="x >= 0, not differentiable at 0",
           boundary=_input),
    analytic=True)
_ew("abs", 1, np.abs, (lambda g, out, x: g * np.sign(x),), "Abs(x)", "abs",
    Domain((R,), kink=_at_zero, note="kink at x = 0 (abs'(0) = 0)", boundary=_input))
_ew("sign", 1, np.sign, (None,), "sign(x)", "sign",
    Domain((R,), kink=_at_zero, note="jump at x = 0, derivative 0 elsewhere",
           boundary=_input))
_ew("step", 1, lambda x, h0: np.heaviside(x, h0), (None,), "Heaviside(x, h0)", "step",
    Domain((R,), kink=lambda x, h0: x == 0, note="jump at x = 0, derivative 0 elsewhere",
           boundary=_input),
    params=("h0",), doc="Heaviside step with value h0 at 0")
_ew("maximum", 2, np.maximum,
    (lambda g, out, x, y: g * ((x > y) + 0.5 * (x == y)),
     lambda g, out, x, y: g * ((y > x) + 0.5 * (x == y))),
    "Max(x, y)", "max", Domain((R, R), kink=_tie, note="kink where x == y (tie splits 0.5/0.5)",
                              boundary=_difference))
_ew("minimum", 2, np.minimum,
    (lambda g, out, x, y: g * ((x < y) + 0.5 * (x == y)),
     lambda g, out, x, y: g * ((y < x) + 0.5 * (x == y))),
    "Min(x, y)", "min", Domain((R, R), kink=_tie, note="kink where x == y (tie splits 0.5/0.5)",
                              boundary=_difference))

# -- elementwise: exp/log variants, inverse trig, hyperbolic, erf, softplus, logaddexp,
#    hypot, clip. Each row is named as numpy's ufunc, so ``np.log1p(node)`` reaches it by
#    name (symdiff.graph.numpy_api); softplus and clip are not ufuncs (sd.softplus, and
#    np.clip registered there). Kinks follow PyTorch, clip's included (torch.clamp).

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_erf_objects = np.frompyfunc(math.erf, 1, 1)


def _erf(x: Any) -> Any:
    # numpy has no erf: math.erf entry by entry (about 0.2 s per million entries), the
    # function the scalar fast path calls too, so both paths give the same bits
    out = _erf_objects(x)
    return np.float64(out) if np.ndim(out) == 0 else out.astype(np.float64)


def _erf_complex(z: Any) -> Any:
    # erf on complex numbers for the complex step: its Taylor series where |z| < 2, else
    # 1 - erfc(z) with erfc from Laplace's continued fraction (60 terms), mirrored for
    # Re z < 0; within about 1e-13 (relative) of the true value, on and off the real axis
    z = np.asarray(z, dtype=np.complex128)
    out = np.empty_like(z)
    with np.errstate(all="ignore"):
        small = np.abs(z) < 2.0
        zs = z[small]
        z2, term, total = zs * zs, zs.copy(), zs.copy()
        for n in range(1, 40):
            term = term * -z2 / n
            total = total + term / (2 * n + 1)
        out[small] = _TWO_OVER_SQRT_PI * total
        big = z[~small]
        s = np.where(big.real < 0, -1.0, 1.0)
        w = big * s
        f = w.copy()
        for k in range(60, 0, -1):
            f = w + (k / 2) / f
        out[~small] = s * (1.0 - np.exp(-w * w) / (math.sqrt(math.pi) * f))
    return out


def _cbrt_complex(x: Any) -> Any:
    # the real cube root continued into the complex plane from each side of 0
    x = np.asarray(x, dtype=np.complex128)
    with np.errstate(all="ignore"):
        return np.where(x.real < 0, -((-x) ** (1.0 / 3.0)), x ** (1.0 / 3.0))


def _arctan2_complex(x: Any, y: Any) -> Any:
    # atan(x/y) where |y| >= |x| (plus or minus pi on the left half-plane), else
    # +-pi/2 - atan(y/x); the branch is chosen by the real parts (and the sign bit of x,
    # as numpy's arctan2(-0.0, -1) = -pi), so it is numpy's on real inputs
    x, y = np.asarray(x, dtype=np.complex128), np.asarray(y, dtype=np.complex128)
    up = np.where(np.signbit(x.real), -1.0, 1.0)
    with np.errstate(all="ignore"):
        a = np.arctan(x / y) + np.where(y.real < 0, up * np.pi, 0.0)
        b = up * (np.pi / 2) - np.arctan(y / x)
        return np.where(np.abs(y.real) >= np.abs(x.real), a, b)


def _softplus(x: Any) -> Any:
    return np.logaddexp(0.0, x)


def _softplus_complex(x: Any) -> Any:
    m = np.maximum(np.real(x), 0.0)
    return m + np.log(np.exp(-m) + np.exp(x - m))


def _logaddexp_complex(x: Any, y: Any) -> Any:
    m = np.maximum(np.real(x), np.real(y))
    m = np.where(np.isfinite(m), m, 0.0)
    return m + np.log(np.exp(x - m) + np.exp(y - m))


def _clip(x: Any, lo: Any, hi: Any) -> Any:
    # numpy's clip: minimum(maximum(x, lo), hi), so hi wins when lo > hi; nan propagates
    return np.minimum(np.maximum(x, lo), hi)


def _clip_inside(x: Any, lo: Any, hi: Any) -> Any:
    return (x >= lo) & (x <= hi)        # torch.clamp: the ends belong to x


def _clip_below(x: Any, lo: Any, hi: Any) -> Any:
    return (x < lo) & (lo < hi)


def _clip_kink(x: Any, lo: Any, hi: Any) -> Any:
    # x at a bound of a non-empty interval; or lo == hi with x below (out = min(lo, hi))
    return (((x == lo) | (x == hi)) & (lo <= hi)) | ((lo == hi) & (x < lo))


def _clip_boundary(x: Any, lo: Any, hi: Any) -> Any:
    d = np.subtract(x, lo, dtype=np.float64)
    return np.sign(d) * np.sign(np.subtract(x, hi, dtype=np.float64)) * \
        np.sign(np.subtract(lo, hi, dtype=np.float64))


def _at_unit(x: Any, **_: Any) -> Any:
    return np.abs(x) == 1


def _unit_boundary(x: Any, *_: Any, **__: Any) -> Any:
    return 1.0 - np.asarray(x, dtype=np.float64) ** 2


UNIT = (-0.95, 0.95)     # arcsin, arccos, arctanh: inside (-1, 1)

_ew("log1p", 1, np.log1p, (lambda g, out, x: g / (1.0 + x),), "log(x + 1)", "log1p",
    Domain(((-0.8, 3.0),), valid=lambda x: x > -1, note="x > -1"),
    doc="log(1 + x), accurate for small x", analytic=True)
_ew("expm1", 1, np.expm1, (lambda g, out, x: g * np.exp(x),), "exp(x) - 1", "expm1",
    Domain((R,)), doc="exp(x) - 1, accurate for small x", analytic=True)
_ew("square", 1, np.square, (lambda g, out, x: g * 2.0 * x,), "x**2", "square",
    Domain((R,)), analytic=True)
_ew("reciprocal", 1, np.reciprocal, (lambda g, out, x: -g * (out * out),), "1/x",
    "reciprocal", Domain((POS,), valid=lambda x: x != 0, note="x != 0"), analytic=True)
_ew("cbrt", 1, np.cbrt, (lambda g, out, x: g / (3.0 * out * out),), "cbrt(x)", "cbrt",
    Domain((R,), kink=_at_zero, boundary=_input,
           note="all reals (the real cube root, negative for x < 0); not differentiable at 0"),
    doc="the real cube root (x**(1/3) is nan for x < 0; cbrt is not)", analytic=True,
    complex_forward=_cbrt_complex)
_ew("exp2", 1, np.exp2, (lambda g, out, x: g * out * _LN2,), "2**x", "exp2", Domain((R,)),
    analytic=True)
_ew("log2", 1, np.log2, (lambda g, out, x: g / (x * _LN2),), "log(x)/log(2)", "log2",
    Domain((POS,), valid=lambda x: x > 0, note="x > 0"), analytic=True)
_ew("log10", 1, np.log10, (lambda g, out, x: g / (x * _LN10),), "log(x)/log(10)", "log10",
    Domain((POS,), valid=lambda x: x > 0, note="x > 0"), analytic=True)
_ew("arcsin", 1, np.arcsin, (lambda g, out, x: g / np.sqrt(1.0 - x * x),), "asin(x)",
    "arcsin", Domain((UNIT,), valid=lambda x: np.abs(x) <= 1, kink=_at_unit,
                     boundary=_unit_boundary,
                     note="-1 <= x <= 1, not differentiable at -1 and 1"), analytic=True)
_ew("arccos", 1, np.arccos, (lambda g, out, x: -g / np.sqrt(1.0 - x * x),), "acos(x)",
    "arccos", Domain((UNIT,), valid=lambda x: np.abs(x) <= 1, kink=_at_unit,
                     boundary=_unit_boundary,
                     note="-1 <= x <= 1, not differentiable at -1 and 1"), analytic=True)
_ew("arctan", 1, np.arctan, (lambda g, out, x: g / (1.0 + x * x),), "atan(x)", "arctan",
    Domain((R,)), analytic=True)
_ew("arctan2", 2, np.arctan2,
    (lambda g, out, x, y: g * y / (x * x + y * y),
     lambda g, out, x, y: -g * x / (x * x + y * y)),
    "atan2(x, y)", "arctan2",
    Domain((R, R), kink=lambda x, y: (x == 0) & (y <= 0), boundary=_input,
           note="all reals; the angle of the point (y, x) jumps by 2 pi across x = 0 where "
                "y < 0 (arctan2(+-0, y) = +-pi there) and has no derivative at (0, 0)"),
    doc="the angle of the point (y, x), numpy's arctan2(x1, x2)", analytic=True,
    complex_forward=_arctan2_complex)
_ew("sinh", 1, np.sinh, (lambda g, out, x: g * np.cosh(x),), "sinh(x)", "sinh", Domain((R,)),
    analytic=True)
_ew("cosh", 1, np.cosh, (lambda g, out, x: g * np.sinh(x),), "cosh(x)", "cosh", Domain((R,)),
    analytic=True)
_ew("arcsinh", 1, np.arcsinh, (lambda g, out, x: g / np.sqrt(x * x + 1.0),), "asinh(x)",
    "arcsinh", Domain((R,)), analytic=True)
_ew("arccosh", 1, np.arccosh, (lambda g, out, x: g / np.sqrt(x * x - 1.0),), "acosh(x)",
    "arccosh", Domain(((1.2, 3.0),), valid=lambda x: x >= 1, kink=lambda x: x == 1,
                      boundary=lambda x: np.subtract(x, 1.0, dtype=np.float64),
                      note="x >= 1, not differentiable at 1"), analytic=True)
_ew("arctanh", 1, np.arctanh, (lambda g, out, x: g / (1.0 - x * x),), "atanh(x)", "arctanh",
    Domain((UNIT,), valid=lambda x: np.abs(x) < 1, note="-1 < x < 1"), analytic=True)
_ew("erf", 1, _erf, (lambda g, out, x: g * _TWO_OVER_SQRT_PI * np.exp(-x * x),), "erf(x)",
    "erf", Domain((R,)), doc="the error function", analytic=True,
    complex_forward=_erf_complex)
_ew("softplus", 1, _softplus, (lambda g, out, x: g * _sigmoid(x),), "softplus(x)",
    "softplus", Domain((R,)), doc="log(1 + exp(x)) = logaddexp(0, x), without overflow",
    analytic=True, complex_forward=_softplus_complex)
_ew("logaddexp", 2, np.logaddexp,
    (lambda g, out, x, y: g * _sigmoid(x - y), lambda g, out, x, y: g * _sigmoid(y - x)),
    "logaddexp(x, y)", "logaddexp", Domain((R, R)),
    doc="log(exp(x) + exp(y)), without overflow", analytic=True,
    complex_forward=_logaddexp_complex)
_ew("hypot", 2, np.hypot, (lambda g, out, x, y: g * x / out, lambda g, out, x, y: g * y / out),
    "sqrt(x**2 + y**2)", "hypot",
    Domain((R, R), kink=lambda x, y: (x == 0) & (y == 0),
           note="all reals; not differentiable at (0, 0) (the gradient there is nan, as "
                "PyTorch's)"),
    doc="sqrt(x**2 + y**2) without overflow", analytic=True,
    complex_forward=lambda x, y: np.sqrt(x * x + y * y))
_ew("clip", 3, _clip,
    (lambda g, out, x, lo, hi: g * _clip_inside(x, lo, hi),
     lambda g, out, x, lo, hi: g * _clip_below(x, lo, hi),
     lambda g, out, x, lo, hi: g * ~(_clip_inside(x, lo, hi) | _clip_below(x, lo, hi))),
    "clip(x, y, z)", "clip",
    Domain((R, R, R), kink=_clip_kink, boundary=_clip_boundary,
           note="kinks where x meets a bound (torch.clamp's convention: the gradient goes "
                "to x on [lo, hi], ends included, to lo where x < lo < hi, to hi elsewhere, "
                "so hi takes it when lo > hi and at lo == hi; torch gives nothing to any "
                "input when x < lo == hi)"),
    doc="x clipped to [lo, hi] as numpy's clip: minimum(maximum(x, lo), hi)")

# -- comparisons and selection -------------------------------------------------
for _name, _fn, _formula, _disp in [("greater", np.greater, "x > y", ">"),
                                     ("greater_equal", np.greater_equal, "x >= y", ">="),
                                     ("less", np.less, "x < y", "<"),
                                     ("less_equal", np.less_equal, "x <= y", "<=")]:
    _ew(_name, 2, _fn, (None, None), _formula, _disp,
        Domain((R, R), kink=_tie, note="jump where x == y", boundary=_difference), dtype="bool")
_ew("where", 3, _where,
    # np.where, not g * c: the untaken branch gets exactly 0 even where g is inf or nan
    (None, lambda g, out, c, x, y: np.where(c, g, 0.0),
     lambda g, out, c, x, y: np.where(c, 0.0, g)),
    "where(x, y, z)", "where",
    Domain(((-1.0, 1.0), R, R), note="the condition is not differentiated"),
    doc="x is a boolean condition; y where it holds, z elsewhere")

# -- reductions ---------------------------------------------------------------
_row("sum", 1, "reduction", lambda x, axis=None, keepdims=False: np.sum(x, axis, keepdims=keepdims),
     (lambda g, out, x, axis=None, keepdims=False: _expand_reduced(g, np.shape(x), axis, keepdims),),
     _reduce_shape("sum"), "Sum", "sum", Domain((R,)), params=("axis", "keepdims"), analytic=True)
_row("mean", 1, "reduction", lambda x, axis=None, keepdims=False: np.mean(x, axis, keepdims=keepdims),
     (lambda g, out, x, axis=None, keepdims=False:
      _expand_reduced(g, np.shape(x), axis, keepdims) / _count(np.shape(x), axis),),
     _reduce_shape("mean"), "Mean", "mean", Domain((R,)), params=("axis", "keepdims"),
     analytic=True)

_row("logsumexp", 1, "reduction", _logsumexp, (_logsumexp_vjp,), _reduce_shape("logsumexp"),
     "LogSumExp", "logsumexp", Domain((R,)), params=("axis", "keepdims"),
     doc="log(sum(exp(x))) over axis, computed without overflow", analytic=True,
     complex_forward=_logsumexp_complex)
# norm: ord 2 (Frobenius over the axes), 1, inf, -inf; its rules are in numeric/linalg.py
_row("norm", 1, "reduction", _la.norm, (_la.norm_vjp,), _la.norm_shape,
     "Norm", "norm", Domain((R,), kink=_la.norm_kink, boundary=_la.norm_boundary,
                            note="kink where the norm's slice is 0 (ord 2), at an entry 0 "
                                 "(ord 1), at a tie for the max/min of |x| (inf, -inf)"),
     params=("ord", "axis", "keepdims"),
     doc="vector norm over axis (all axes: ord 2 is the Frobenius norm); ord 2, 1, inf or "
         "-inf; a tie of inf/-inf splits the cotangent evenly", analytic=True,
     complex_forward=_la.norm_complex)
_row("trace", 1, "reduction", np.trace, (lambda g, out, x: g * _eye_like(x),),
     _square_shape("trace", lambda s: ()), "Trace", "tr", Domain((R,)),
     doc="sum of the diagonal of a square matrix", analytic=True)

# -- linear algebra -------------------------------------------------------------
_row("det", 1, "structural", np.linalg.det, (lambda g, out, x: g * _cofactor(x),),
     _square_shape("det", lambda s: ()), "Determinant", "det",
     Domain((R,), draw=_conditioned), doc="determinant of a square matrix", analytic=True)
_row("logdet", 1, "structural", _logdet, (lambda g, out, x: g * _inv_t(x),),
     _square_shape("logdet", lambda s: ()), "LogDet", "logdet",
     Domain((R,), valid=lambda x: np.linalg.det(x) > 0, note="det(x) > 0",
            draw=_conditioned), doc="log of a positive determinant (nan otherwise)", analytic=True,
     complex_forward=_logdet_complex)
_row("inv", 1, "structural", _inv,
     (lambda g, out, x: -(out.T @ g @ out.T),), _square_shape("inv", lambda s: s), "Inverse",
     "inv", Domain((R,), valid=_det_valid, note="det(x) != 0", draw=_conditioned),
     doc="inverse of a square matrix", analytic=True)
_row("cofactor", 1, "structural", _cofactor, (_cofactor_vjp,), _stack_square_shape, "Cofactor",
     "cof", Domain((R,), draw=_conditioned),
     doc="the cofactor matrix adj(x)^T of a square matrix (or of each in a stack): det's "
         "gradient, det(x) x^-T where x is invertible and defined everywhere; sd.grad "
         "makes it", analytic=True, complex_forward=_cofactor_complex)

# -- structural ---------------------------------------------------------------
_row("matmul", 2, "structural", np.matmul, (_matmul_vjp_x, _matmul_vjp_y), _matmul_shape,
     "MatMul", "@", Domain((R, R)), analytic=True)
_row("transpose", 1, "structural", lambda x, axes=None: np.transpose(x, axes),
     (_transpose_vjp,), _transpose_shape, "Transpose", "T", Domain((R,)), params=("axes",),
     analytic=True, sparsity="selection")
_row("reshape", 1, "structural", lambda x, shape: np.reshape(x, shape),
     (lambda g, out, x, shape: np.reshape(g, np.shape(x)),), _reshape_shape, "Reshape",
     "reshape", Domain((R,)), params=("shape",), analytic=True, sparsity="selection")
_row("index", 1, "structural", lambda x, key: x[index_key(key)],
     (lambda g, out, x, key: _unindex(g, key, np.shape(x)),), _index_shape, "Index", "[]",
     Domain((R,)), params=("key",), doc="basic indexing: ints, slices, None, Ellipsis",
     analytic=True, sparsity="selection")
_row("unindex", 1, "structural", _unindex,
     (lambda g, out, x, key, shape: g[index_key(key)],), _unindex_shape, "Unindex", "[]ᵀ",
     Domain((R,)), params=("key", "shape"),
     doc="zeros of `shape` with x written at `key`: the adjoint of index", analytic=True,
     complex_forward=_unindex_complex, sparsity="selection")
_row("broadcast_to", 1, "structural", lambda x, shape: np.broadcast_to(x, shape),
     (lambda g, out, x, shape: g,), _broadcast_to_shape, "BroadcastTo", "broadcast",
     Domain((R,)), params=("shape",), analytic=True, sparsity="selection")

# -- reductions and shapes: max/min, prod, cumsum, concatenate, diagonal/diag -------
# (stack, split, expand_dims, squeeze, swapaxes, moveaxis, flip, pad, tile, repeat, var,
# std and log_softmax are graphs of these and of the rows above: symdiff/graph/shaping.py)

def _reduced_axes(s: Shape, axis: Any, op: str) -> tuple[int, ...]:
    axes = normalize_axis(axis, len(s), op)
    empty = [a for a in axes if s[a] == 0]
    if empty and op in ("amax", "amin"):
        raise NumericShapeError(
            f"{op}: the {'maximum' if op == 'amax' else 'minimum'} over axis {empty[0]} of "
            f"length 0 (shape {s}) is not defined", op, (s,))
    return axes


def _extremum_shape(name: str) -> Callable[..., Shape]:
    plain = _reduce_shape(name)

    def rule(s: Shape, axis: Any = None, keepdims: bool = False) -> Shape:
        _reduced_axes(s, axis, name)
        return plain(s, axis, keepdims)
    return rule


def _extremum_vjp(g: Any, out: Any, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    # torch.amax/amin's convention: the cotangent is split evenly among tied extrema
    shape = np.shape(x)
    hit = np.asarray(x) == _expand_reduced(out, shape, axis, keepdims)
    count = np.sum(hit, axis=axis, keepdims=True)
    return _expand_reduced(g, shape, axis, keepdims) * hit / count


def _extremum_kink(fn: Callable) -> Callable[..., Any]:
    def kink(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        x = np.asarray(x)
        return np.sum(x == fn(x, axis=axis, keepdims=True), axis=axis, keepdims=keepdims) > 1
    return kink


def _grouped(x: Any, axis: Any, op: str) -> tuple[Any, list, tuple]:
    """x with the reduced axes moved last and flattened into one: ``(y, kept axes, the
    reduced axes)``, y of shape ``kept shape + (group size,)``."""
    x = np.asarray(x)
    axes = normalize_axis(axis, x.ndim, op)
    rest = [k for k in range(x.ndim) if k not in axes]
    n = int(np.prod([x.shape[k] for k in axes], dtype=np.int64))
    y = np.transpose(x, rest + list(axes)).reshape(tuple(x.shape[k] for k in rest) + (n,))
    return y, rest, axes


def _extremum_boundary(sign: float) -> Callable[..., Any]:
    """Largest minus second largest entry of each group (0 at a tie), its sign flipped when
    the extremum sits at an odd position: it changes sign wherever the extremum moves
    between an even and an odd position (a move between two of one parity touches 0 and
    is not seen)."""
    def boundary(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        y, rest, axes = _grouped(np.asarray(x, dtype=np.float64) * sign, axis, "amax")
        out_shape = _reduce_shape("amax")(np.shape(x), axis, keepdims)
        if y.shape[-1] < 2:
            return np.ones(out_shape)
        top = np.sort(y, axis=-1)
        parity = np.where(np.argmax(y, axis=-1) % 2 == 0, 1.0, -1.0)
        return ((top[..., -1] - top[..., -2]) * parity).reshape(out_shape)
    return boundary


def _prod_others(x: Any, axis: Any) -> Any:
    """For each entry, the product of the other entries of its reduced group: exclusive
    products from the left times exclusive products from the right, exact when entries
    are 0 (prod/x is not)."""
    x = np.asarray(x)
    y, rest, axes = _grouped(x, axis, "prod")
    n = y.shape[-1]
    if n == 0:
        return np.zeros_like(x)
    ones = np.ones(y.shape[:-1] + (1,), dtype=y.dtype)
    left = np.cumprod(np.concatenate([ones, y[..., :-1]], axis=-1), axis=-1)
    right = np.cumprod(np.concatenate([ones, y[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    grouped = (left * right).reshape(tuple(x.shape[k] for k in rest + list(axes)))
    return np.transpose(grouped, np.argsort(rest + list(axes)))


def _prod_vjp(g: Any, out: Any, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return _expand_reduced(g, np.shape(x), axis, keepdims) * _prod_others(x, axis)


def _one_axis(s: Shape, axis: Any, op: str) -> int:
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, (bool, np.bool_)):
        raise NumericShapeError(f"{op}: axis must be an int, not {axis!r}", op, (s,))
    return normalize_axis(int(axis), len(s), op)[0]


def _cumsum_shape(s: Shape, axis: int) -> Shape:
    if len(s) == 0:
        raise NumericShapeError("cumsum: needs an array of at least one dimension, got a "
                                "scalar (sd.cumsum flattens it with axis=None)", "cumsum", (s,))
    _one_axis(s, axis, "cumsum")
    return tuple(s)


def _cumsum_vjp(g: Any, out: Any, x: Any, axis: int) -> Any:
    # the transposed map: sums from the end
    return np.flip(np.cumsum(np.flip(g, axis), axis=axis), axis)


def _concatenate_shape(a: Shape, b: Shape, axis: int) -> Shape:
    if len(a) == 0 or len(b) == 0:
        raise NumericShapeError(f"concatenate: scalars cannot be concatenated (shapes {a} "
                                f"and {b}); make them 1-D first", "concatenate", (a, b))
    if len(a) != len(b):
        raise NumericShapeError(
            f"concatenate: shapes {a} and {b} have different numbers of dimensions "
            f"({len(a)} and {len(b)})", "concatenate", (a, b))
    k = _one_axis(a, axis, "concatenate")
    if any(p != q for i, (p, q) in enumerate(zip(a, b)) if i != k):
        raise NumericShapeError(
            f"concatenate: shapes {a} and {b} differ outside the joined axis {k}",
            "concatenate", (a, b))
    return a[:k] + (a[k] + b[k],) + a[k + 1:]


def _slab(g: Any, axis: int, start: int, stop: Optional[int]) -> Any:
    k = axis % np.ndim(g)
    return g[(slice(None),) * k + (slice(start, stop),)]


def _diagonal_shape(s: Shape, offset: int = 0, axis1: int = 0, axis2: int = 1,
                    op: str = "diagonal") -> Shape:
    if len(s) < 2:
        raise NumericShapeError(f"{op}: needs an array of at least two dimensions, got shape "
                                f"{s}", op, (s,))
    a1, a2 = _one_axis(s, axis1, op), _one_axis(s, axis2, op)
    if a1 == a2:
        raise NumericShapeError(f"{op}: axis1 and axis2 are the same axis ({a1})", op, (s,))
    if not isinstance(offset, (int, np.integer)):
        raise NumericShapeError(f"{op}: offset must be an int, not {offset!r}", op, (s,))
    n, m = s[a1], s[a2]
    length = max(0, min(n, m - offset) if offset >= 0 else min(n + offset, m))
    return tuple(d for k, d in enumerate(s) if k not in (a1, a2)) + (length,)


def _diagonal(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    return np.diagonal(x, offset, axis1, axis2).copy()  # numpy's is a read-only view


def _diag_shape(s: Shape, offset: int, axis1: int, axis2: int, shape: Shape) -> Shape:
    shape = tuple(int(d) for d in shape)
    want = _diagonal_shape(shape, offset, axis1, axis2, op="diag")
    if want != tuple(s):
        raise NumericShapeError(
            f"diag: a value of shape {s} is not diagonal {offset} of an array of shape "
            f"{shape} (that has shape {want})", "diag", (s,))
    return shape


def _diag(x: Any, offset: int, axis1: int, axis2: int, shape: Shape) -> Any:
    x = np.asarray(x)
    out = np.zeros(shape, dtype=np.result_type(x.dtype, np.float64))
    a1, a2 = axis1 % len(shape), axis2 % len(shape)
    view = np.moveaxis(out, (a1, a2), (-2, -1))   # writable; the other axes keep their order
    i = np.arange(x.shape[-1])
    view[..., i + max(-offset, 0), i + max(offset, 0)] = x
    return out


_row("amax", 1, "reduction", lambda x, axis=None, keepdims=False: np.amax(x, axis, keepdims=keepdims),
     (_extremum_vjp,), _extremum_shape("amax"), "Max", "max",
     Domain((R,), kink=_extremum_kink(np.amax), boundary=_extremum_boundary(1.0),
            note="kink where the maximum is tied (the gradient splits evenly among the "
                 "tied entries, as torch.amax)"),
     params=("axis", "keepdims"), doc="largest entry over axis (numpy's max/amax)")
_row("amin", 1, "reduction", lambda x, axis=None, keepdims=False: np.amin(x, axis, keepdims=keepdims),
     (_extremum_vjp,), _extremum_shape("amin"), "Min", "min",
     Domain((R,), kink=_extremum_kink(np.amin), boundary=_extremum_boundary(-1.0),
            note="kink where the minimum is tied (the gradient splits evenly among the "
                 "tied entries, as torch.amin)"),
     params=("axis", "keepdims"), doc="smallest entry over axis (numpy's min/amin)")
_row("prod", 1, "reduction", lambda x, axis=None, keepdims=False: np.prod(x, axis, keepdims=keepdims),
     (_prod_vjp,), _reduce_shape("prod"), "Product", "prod", Domain((R,)),
     params=("axis", "keepdims"),
     doc="product over axis; its gradient is the product of the other entries (exact at 0)",
     analytic=True)
_row("cumsum", 1, "structural", lambda x, axis: np.cumsum(x, axis=axis), (_cumsum_vjp,),
     _cumsum_shape, "CumSum", "cumsum", Domain((R,)), params=("axis",),
     doc="running sums along axis", analytic=True)
_row("concatenate", 2, "structural", lambda x, y, axis: np.concatenate((x, y), axis=axis),
     (lambda g, out, x, y, axis: _slab(g, axis, 0, np.shape(x)[axis]),
      lambda g, out, x, y, axis: _slab(g, axis, np.shape(x)[axis], None)),
     _concatenate_shape, "Concatenate", "concatenate", Domain((R, R)), params=("axis",),
     doc="x and y joined along axis (sd.concatenate folds a list into these)", analytic=True,
     sparsity="selection")
_row("diagonal", 1, "structural", _diagonal,
     (lambda g, out, x, offset, axis1, axis2: _diag(g, offset, axis1, axis2, np.shape(x)),),
     _diagonal_shape, "DiagonalOf", "diagonal", Domain((R,)),
     params=("offset", "axis1", "axis2"),
     doc="the diagonal (offset above the main one) of the axis1 x axis2 planes, as the "
         "last axis (numpy's diagonal)", analytic=True, sparsity="selection")
_row("diag", 1, "structural", _diag,
     (lambda g, out, x, offset, axis1, axis2, shape: _diagonal(g, offset, axis1, axis2),),
     _diag_shape, "DiagMatrix", "diag", Domain((R,)),
     params=("offset", "axis1", "axis2", "shape"),
     doc="zeros of `shape` with x's last axis on its diagonal: numpy's diag of a vector, "
         "and the adjoint of diagonal", analytic=True, sparsity="selection")

# -- sparse Hessians: decompression ---------------------------------------------

class Positions:
    """Flat positions for the ``scatter`` row's params: a read-only int64 array that is
    hashable and compares by value (lowering folds equal instructions by their params),
    with a short ``repr`` for graphs and error messages.

    >>> p = Positions([4, 0, 4])
    >>> p == Positions((4, 0, 4)), hash(p) == hash(Positions([4, 0, 4])), len(p), p
    (True, True, 3, Positions([4, 0, 4]))
    """

    __slots__ = ("array", "lo", "hi", "_hash")

    def __init__(self, values: Any):
        a = np.array(values, dtype=np.int64).reshape(-1)   # a copy nobody else can write
        a.flags.writeable = False
        self.array = a
        self.lo = int(a.min()) if a.size else 0
        self.hi = int(a.max()) if a.size else -1
        self._hash: Optional[int] = None

    def __len__(self) -> int:
        return int(self.array.size)

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash((self.array.size, self.array.tobytes()))
        return self._hash

    def __eq__(self, other: Any) -> bool:
        if self is other:
            return True
        if not isinstance(other, Positions):
            return NotImplemented
        return hash(self) == hash(other) and np.array_equal(self.array, other.array)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self.array if dtype is None else self.array.astype(dtype)

    def __repr__(self) -> str:
        if self.array.size <= 8:
            return f"Positions({self.array.tolist()})"
        return f"Positions(<{self.array.size} entries in [{self.lo}, {self.hi}]>)"


def _positions(p: Any) -> np.ndarray:
    return p.array if isinstance(p, Positions) else np.asarray(p, dtype=np.int64).reshape(-1)


def _scatter(x: Any, src: Any, pos: Any, shape: Shape) -> Any:
    x = np.asarray(x)
    out = np.zeros(shape, dtype=np.result_type(x.dtype, np.float64))  # complex stays complex
    # np.add.at adds repeated positions; the result owns its memory (no view, no copy later)
    np.add.at(out.reshape(-1), _positions(pos), x.reshape(-1)[_positions(src)])
    return out


def _scatter_shape(s: Shape, src: Any, pos: Any, shape: Shape) -> Shape:
    shape = tuple(int(d) for d in shape)
    src = src if isinstance(src, Positions) else Positions(src)
    pos = pos if isinstance(pos, Positions) else Positions(pos)
    n_in, n_out = math.prod(s), math.prod(shape)
    problem = None
    if len(src) != len(pos):
        problem = f"{len(src)} source positions but {len(pos)} target positions"
    elif len(src) and not (0 <= src.lo and src.hi < n_in):
        problem = f"a source position outside [0, {n_in}) (the {n_in} entries of shape {s})"
    elif len(pos) and not (0 <= pos.lo and pos.hi < n_out):
        problem = f"a target position outside [0, {n_out}) (the entries of shape {shape})"
    if problem:
        raise NumericShapeError(f"scatter: {problem}", "scatter", (s,))
    return shape


def _scatter_vjp(g: Any, out: Any, x: Any, src: Any, pos: Any, shape: Shape) -> Any:
    # the transposed map: the same op with source and target positions swapped
    return _scatter(g, pos, src, np.shape(x))


_row("scatter", 1, "structural", _scatter, (_scatter_vjp,), _scatter_shape, "Scatter",
     "scatter", Domain((R,)), params=("src", "pos", "shape"),
     doc="zeros of `shape` with x.flat[src[k]] added at flat position pos[k] (repeated "
         "positions add up): decompresses sparse Hessians; its adjoint is the same op with "
         "src and pos swapped", analytic=True, sparsity="selection")

# -- p14 linear algebra, contraction, indexing: einsum, solve, log|det|, cholesky, gather
# (their forwards, VJPs, shape rules and domains are in numeric/linalg.py)
_row("einsum", 2, "structural", _la.einsum_forward, (_la.einsum_vjp(0), _la.einsum_vjp(1)),
     _la.einsum_shape, "Einsum", "einsum", Domain((R, R)), params=("subscripts",),
     doc="numpy's einsum of two operands, subscripts in the explicit form 'ij,jk->ik'; "
         "the VJP of each operand is an einsum of g and the other operand", analytic=True)
_row("einsum_unary", 1, "structural", _la.einsum_forward, (_la.einsum_vjp(0),),
     _la.einsum_shape, "Einsum", "einsum", Domain((R,)), params=("subscripts",),
     doc="numpy's einsum of one operand ('ii->' a trace, 'ij->ji' a transpose, 'ij->i' "
         "row sums, 'ii->i' the diagonal)", analytic=True, sparsity="selection")
_row("solve", 2, "structural", _la.solve, (_la.solve_vjp_a, _la.solve_vjp_b), _la.solve_shape,
     "Solve", "solve", Domain((R, R), valid=_la.nonsingular, note="det(A) != 0",
                              draw=_la.conditioned),
     doc="x with A x = b (b a vector or a matrix); nan where A is singular; the cotangent "
         "of b is A^-T g and of A is -(A^-T g) x^T", analytic=True)
_row("logabsdet", 1, "structural", _la.logabsdet, (lambda g, out, x: g * _la.inv_t(x),),
     _square_shape("logabsdet", lambda s: ()), "LogAbsDet", "log|det|",
     Domain((R,), valid=_det_valid, note="det(x) != 0", draw=_conditioned),
     doc="log|det(x)|, the part of numpy's slogdet that has a derivative (x^-T)",
     analytic=True, complex_forward=_la.logabsdet_complex)
_row("cholesky", 1, "structural", _la.cholesky, (_la.cholesky_vjp,),
     _square_shape("cholesky", lambda s: s), "Cholesky", "cholesky",
     Domain((R,), valid=_la.positive_definite, note="(x + xᵀ)/2 positive definite",
            draw=_la.spd),
     doc="lower-triangular L with L Lᵀ = (x + xᵀ)/2 (numpy's cholesky on the symmetric "
         "part); VJP: Murray (2016), symmetric as torch's", analytic=True,
     complex_forward=_la.cholesky_complex)
_row("gather", 1, "structural", _la.gather, (_la.gather_vjp,), _la.gather_shape, "Gather",
     "gather", Domain((R,)), params=("pos",),
     doc="x.flat[pos], an integer array of positions in the output's shape (integer-array "
         "indexing); its VJP adds each cotangent at its position (repeats add up)",
     analytic=True, sparsity="selection")

PRIMITIVES: dict[str, Primitive] = {row.name: row for row in _rows}
"""name -> row; the single source of truth for what an op is."""

del _name, _fn, _formula, _disp  # (_rows stays: _row appends to it)
