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


def _int_text(a: int) -> str:
    """An integer for a message (str() refuses past 4,300 digits).

    >>> _int_text(-3), _int_text(10**5000)
    ('-3', 'an integer of about 5000 digits')
    """
    if abs(a) < 10**18:
        return str(a)
    return f"{'minus ' if a < 0 else ''}an integer of about {round(a.bit_length() * 0.30103)} digits"


def normalize_axis(axis: Any, ndim: int, op: str) -> tuple[int, ...]:
    """Axis argument -> sorted tuple of non-negative axes (None means all axes).

    >>> normalize_axis(-1, 3, "sum"), normalize_axis(None, 2, "sum")
    ((2,), (0, 1))
    """
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        a = int(a)
        if not -ndim <= a < ndim:
            raise NumericShapeError(f"{op}: axis {_int_text(a)} is out of range for an array "
                                    f"of {ndim} dimension(s)", op, ())
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise NumericShapeError(f"{op}: repeated axis in {axis!r}", op, ())
    return tuple(sorted(out))


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
        shown = "(" + ", ".join(_int_text(a) for a in axes) + ("," if len(axes) == 1 else "") + ")"
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


def _norm_shape(s: Shape) -> Shape:
    if len(s) == 0:
        raise NumericShapeError("norm: needs a vector or an array, got a scalar (use abs)",
                                "norm", (s,))
    return ()


def _norm_vjp(g: Any, out: Any, x: Any) -> Any:
    # the subgradient 0 at x = 0, as PyTorch
    return g * x / np.where(out == 0, 1.0, out)


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

# -- comparisons and selection -------------------------------------------------
for _name, _fn, _formula, _disp in [("greater", np.greater, "x > y", ">"),
                                     ("greater_equal", np.greater_equal, "x >= y", ">="),
                                     ("less", np.less, "x < y", "<"),
                                     ("less_equal", np.less_equal, "x <= y", "<=")]:
    _ew(_name, 2, _fn, (None, None), _formula, _disp,
        Domain((R, R), kink=_tie, note="jump where x == y", boundary=_difference), dtype="bool")
_ew("where", 3, _where,
    (None, lambda g, out, c, x, y: g * c, lambda g, out, c, x, y: g * ~c),
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
_row("norm", 1, "reduction", lambda x: np.sqrt(np.sum(x * x)), (_norm_vjp,), _norm_shape,
     "Norm", "norm", Domain((R,), kink=lambda x: np.all(x == 0), note="kink at x = 0"),
     doc="Frobenius norm (the 2-norm of a vector)", analytic=True)
_row("trace", 1, "reduction", np.trace, (lambda g, out, x: g * _eye_like(x),),
     _square_shape("trace", lambda s: ()), "Trace", "tr", Domain((R,)),
     doc="sum of the diagonal of a square matrix", analytic=True)

# -- linear algebra -------------------------------------------------------------
_row("det", 1, "structural", np.linalg.det, (lambda g, out, x: g * out * _inv_t(x),),
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

PRIMITIVES: dict[str, Primitive] = {row.name: row for row in _rows}
"""name -> row; the single source of truth for what an op is."""

del _name, _fn, _formula, _disp  # (_rows stays: _row appends to it)
