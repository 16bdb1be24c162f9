"""The functions of symdiff's public API that build nodes (``sd.exp``, ``sd.sum``, ...).

The one-argument elementwise functions are made from the table of primitives, so a new
row there is a new ``sd.<name>`` here with no further code.

>>> import symdiff as sd
>>> sd.sum(sd.exp(sd.var("x", shape=(3,))), axis=0).shape
()
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

from numeric import PRIMITIVES

from symdiff.errors import SymdiffError
from symdiff.graph.node import Node, apply, as_node
from symdiff.graph.params import as_axes, as_shape, normalize_axis_param
from symdiff.graph.values import as_flag, as_real

# elementwise one-input rows that are public functions; sign/step come out of derivatives
_UNARY = ["exp", "log", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "sqrt", "abs", "sign"]
# -- issue 14: the one-input rows named as numpy's ufuncs (softplus: numpy has none)
_UNARY += ["log1p", "expm1", "square", "reciprocal", "cbrt", "exp2", "log2", "log10", "arcsin",
           "arccos", "arctan", "sinh", "cosh", "arcsinh", "arccosh", "arctanh", "erf",
           "softplus"]


def _unary(name: str) -> Callable[[Any], Node]:
    row = PRIMITIVES[name]

    def fn(x: Any) -> Node:
        return apply(name, x)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"Elementwise ``{row.sympy}`` (domain: {row.domain.note}).\n\n"
                  f">>> import symdiff as sd\n"
                  f">>> sd.{name}(sd.var('x')).op\n'{name}'\n")
    fn.__annotations__ = {"x": "Any", "return": "Node"}
    return fn


for _name in _UNARY:
    globals()[_name] = _unary(_name)


def maximum(x: Any, y: Any) -> Node:
    """Elementwise maximum; at a tie the gradient splits 0.5/0.5 (PyTorch's convention).

    >>> import symdiff as sd
    >>> sd.maximum(sd.tensor([1.0, 5.0]), 3.0).data.tolist()
    [3.0, 5.0]
    """
    return apply("maximum", x, y)


def minimum(x: Any, y: Any) -> Node:
    """Elementwise minimum; at a tie the gradient splits 0.5/0.5.

    >>> import symdiff as sd
    >>> sd.minimum(sd.tensor([1.0, 5.0]), 3.0).data.tolist()
    [1.0, 3.0]
    """
    return apply("minimum", x, y)


def where(cond: Any, x: Any, y: Any) -> Node:
    """``x`` where ``cond`` holds, else ``y``; ``cond`` is a comparison such as ``x > 0``.

    >>> import symdiff as sd
    >>> t = sd.tensor([-1.0, 2.0])
    >>> sd.where(t > 0, t, 0.0).data.tolist()
    [0.0, 2.0]
    """
    return apply("where", cond, x, y)


def step(x: Any, h0: float = 0.5) -> Node:
    """Heaviside step, ``h0`` at 0 (the derivative of relu is ``step(x, 0)``).

    >>> import symdiff as sd
    >>> sd.step(sd.tensor([-1.0, 0.0, 2.0]), 0.0).data.tolist()
    [0.0, 0.0, 1.0]
    """
    return apply("step", x, h0=as_real(h0, "sd.step", "h0"))


def sum(x: Any, axis: Optional[Any] = None, keepdims: bool = False) -> Node:  # noqa: A001
    """Sum over ``axis`` (all axes by default).

    >>> import symdiff as sd
    >>> sd.sum(sd.tensor([[1.0, 2.0], [3.0, 4.0]]), axis=0).data.tolist()
    [4.0, 6.0]
    """
    return apply("sum", x, axis=normalize_axis_param(axis, "sd.sum"),
                 keepdims=as_flag(keepdims, "sd.sum", "keepdims"))


def mean(x: Any, axis: Optional[Any] = None, keepdims: bool = False) -> Node:
    """Mean over ``axis`` (all axes by default).

    >>> import symdiff as sd
    >>> sd.mean(sd.tensor([1.0, 2.0, 6.0])).item()
    3.0
    """
    return apply("mean", x, axis=normalize_axis_param(axis, "sd.mean"),
                 keepdims=as_flag(keepdims, "sd.mean", "keepdims"))


def matmul(a: Any, b: Any) -> Node:
    """Matrix product with numpy's rules (1-D operands, batches), same as ``a @ b``.

    >>> import symdiff as sd
    >>> sd.matmul(sd.var("A", (2, 3)), sd.var("x", (3,))).shape
    (2,)
    """
    return apply("matmul", a, b)


def transpose(x: Any, axes: Optional[Sequence[int]] = None) -> Node:
    """Permute axes (reverse them by default), as ``numpy.transpose``.

    >>> import symdiff as sd
    >>> sd.transpose(sd.var("A", (2, 3))).shape
    (3, 2)
    """
    return apply("transpose", x, axes=as_axes(axes, "sd.transpose"))


def reshape(x: Any, shape: Sequence[int]) -> Node:
    """Same elements, new shape (one entry may be -1).

    >>> import symdiff as sd
    >>> sd.reshape(sd.var("A", (2, 3)), (3, -1)).shape
    (3, 2)
    """
    return apply("reshape", x, shape=as_shape(shape, "sd.reshape", reshape=True))


def broadcast_to(x: Any, shape: Sequence[int]) -> Node:
    """Repeat ``x`` along new or length-1 axes to ``shape`` (numpy broadcasting).

    >>> import symdiff as sd
    >>> sd.broadcast_to(sd.var("b", (3,)), (2, 3)).shape
    (2, 3)
    """
    return apply("broadcast_to", x, shape=as_shape(shape, "sd.broadcast_to"))


def trace(x: Any) -> Node:
    """Sum of the diagonal of a square matrix; d tr(X)/dX = I.

    >>> import symdiff as sd
    >>> sd.trace(sd.tensor([[1.0, 2.0], [3.0, 4.0]])).item()
    5.0
    """
    return apply("trace", x)


def det(x: Any) -> Node:
    """Determinant of a square matrix; d det(X)/dX = det(X) X^-T.

    >>> import symdiff as sd
    >>> round(sd.det(sd.tensor([[2.0, 1.0], [1.0, 3.0]])).item(), 12)
    5.0
    """
    return apply("det", x)


def logdet(x: Any) -> Node:
    """log det(X) of a matrix with a positive determinant (nan otherwise, as
    ``torch.logdet``); d logdet(X)/dX = X^-T.

    >>> import symdiff as sd
    >>> round(sd.logdet(sd.tensor([[2.0, 0.0], [0.0, 3.0]])).item(), 12) == round(__import__("math").log(6), 12)
    True
    """
    return apply("logdet", x)


def inv(x: Any) -> Node:
    """Inverse of a square matrix (nan where it is singular).

    >>> import symdiff as sd
    >>> sd.inv(sd.tensor([[2.0, 0.0], [0.0, 4.0]])).data.tolist()
    [[0.5, 0.0], [0.0, 0.25]]
    """
    return apply("inv", x)


def logsumexp(x: Any, axis: Optional[Any] = None, keepdims: bool = False) -> Node:
    """log(sum(exp(x))) over ``axis``, without overflow; its gradient is ``softmax``.

    >>> import symdiff as sd
    >>> round(sd.logsumexp(sd.tensor([1000.0, 1000.0])).item(), 6)
    1000.693147
    """
    return apply("logsumexp", x, axis=normalize_axis_param(axis, "sd.logsumexp"),
                 keepdims=as_flag(keepdims, "sd.logsumexp", "keepdims"))


def softmax(x: Any, axis: Any = -1) -> Node:
    """exp(x) / sum(exp(x)) along ``axis`` (the last by default), computed as
    ``exp(x - logsumexp(x))`` so large inputs do not overflow.

    >>> import symdiff as sd
    >>> sd.softmax(sd.tensor([0.0, 0.0])).data.tolist()
    [0.5, 0.5]
    """
    axis = normalize_axis_param(axis, "sd.softmax")
    return exp(x - logsumexp(x, axis=axis, keepdims=True))  # noqa: F821 (made from the table)


def scatter(x: Any, src: Any, pos: Any, shape: Sequence[int]) -> Node:
    """Zeros of ``shape`` with ``x.flat[src[k]]`` added at flat position ``pos[k]``
    (repeated positions add up). ``sd.hessian`` decompresses sparse Hessians with it; it
    is linear, and its adjoint is itself with ``src`` and ``pos`` swapped. Not part of the
    public ``sd`` namespace.

    >>> import symdiff as sd
    >>> scatter(sd.tensor([1.0, 2.0]), src=[0, 1, 1], pos=[0, 3, 3], shape=(2, 2)).data.tolist()
    [[1.0, 0.0], [0.0, 4.0]]
    """
    from numeric.primitives import Positions
    src = src if isinstance(src, Positions) else Positions(src)
    pos = pos if isinstance(pos, Positions) else Positions(pos)
    return apply("scatter", x, src=src, pos=pos, shape=tuple(int(d) for d in shape))


# -- p14 linear algebra, contraction, indexing (in symdiff/graph/linalg.py, re-exported)
from symdiff.graph.linalg import (cholesky, einsum, inner, norm, outer, slogdet,  # noqa: E402,F401
                                  solve, tensordot)
_SHARED = (SymdiffError, as_node)  # served sd.norm (now in graph/linalg.py); kept for others


# -- issue 14: elementwise functions of two and three inputs ----------------------------

def arctan2(x1: Any, x2: Any) -> Node:
    """The angle of the point ``(x2, x1)`` in (-pi, pi], as ``numpy.arctan2(x1, x2)``; it
    jumps by 2 pi across ``x1 = 0`` where ``x2 < 0`` and has no derivative at (0, 0).

    >>> import symdiff as sd
    >>> round(sd.arctan2(sd.tensor(1.0), -1.0).item(), 6)
    2.356194
    """
    return apply("arctan2", x1, x2)


def logaddexp(x1: Any, x2: Any) -> Node:
    """``log(exp(x1) + exp(x2))`` without overflow, as ``numpy.logaddexp``; its partials
    are ``sigmoid(x1 - x2)`` and ``sigmoid(x2 - x1)``.

    >>> import symdiff as sd
    >>> round(sd.logaddexp(sd.tensor(1000.0), 1000.0).item(), 6)
    1000.693147
    """
    return apply("logaddexp", x1, x2)


def hypot(x1: Any, x2: Any) -> Node:
    """``sqrt(x1**2 + x2**2)`` without overflow, as ``numpy.hypot``.

    >>> import symdiff as sd
    >>> big = sd.hypot(sd.tensor(3e200), 4e200).item()      # (3e200)**2 overflows
    >>> sd.hypot(sd.tensor(3.0), 4.0).item(), round(big / 1e200, 12)
    (5.0, 5.0)
    """
    return apply("hypot", x1, x2)


def clip(a: Any, a_min: Any = None, a_max: Any = None) -> Node:
    """``a`` clipped to ``[a_min, a_max]`` as ``numpy.clip``: ``minimum(maximum(a, a_min),
    a_max)``, so ``a_max`` wins where ``a_min > a_max``. The bounds are numbers, arrays or
    nodes. At a bound the gradient goes to ``a``, as with ``torch.clamp`` (and to
    ``a_max`` where ``a_min > a_max``). One bound may be None, as in numpy: the result is
    then ``maximum(a, a_min)`` or ``minimum(a, a_max)``, whose ties split the gradient
    0.5/0.5.

    >>> import symdiff as sd
    >>> sd.clip(sd.tensor([-2.0, 0.5, 3.0]), 0.0, 1.0).data.tolist()
    [0.0, 0.5, 1.0]
    >>> sd.clip(sd.var("x"), 0, 1).sympy()
    clip(x, 0, 1)
    """
    if a_min is None and a_max is None:
        raise SymdiffError("sd.clip: a_min and a_max are both None; give at least one bound")
    if a_min is None:
        return minimum(a, a_max)
    if a_max is None:
        return maximum(a, a_min)
    return apply("clip", a, a_min, a_max)


FUNCTIONS: dict[str, Callable[..., Node]] = {
    **{name: globals()[name] for name in _UNARY},
    "maximum": maximum, "minimum": minimum, "where": where, "step": step,
    "sum": sum, "mean": mean, "matmul": matmul, "transpose": transpose, "reshape": reshape,
    "trace": trace, "det": det, "logdet": logdet, "inv": inv, "norm": norm,
    "logsumexp": logsumexp, "softmax": softmax,
    "Trace": trace, "Determinant": det, "Inverse": inv,
    # SymPy's spellings, so printed formulas paste back as input
    "Abs": globals()["abs"], "Max": maximum, "Min": minimum, "Heaviside": step,
    # -- issue 14, and SymPy's spellings of the inverse functions (printed formulas paste back)
    "arctan2": arctan2, "logaddexp": logaddexp, "hypot": hypot, "clip": clip,
    "asin": globals()["arcsin"], "acos": globals()["arccos"], "atan": globals()["arctan"],
    "atan2": arctan2, "asinh": globals()["arcsinh"], "acosh": globals()["arccosh"],
    "atanh": globals()["arctanh"],
}
"""Function names the parser accepts, mapped to the functions that build the nodes."""
FUNCTIONS.update({"solve": solve, "outer": outer, "inner": inner, "cholesky": cholesky,
                  "tensordot": tensordot})   # -- p14 linear algebra

# -- reductions and shapes (symdiff.graph.reductions, symdiff.graph.shaping) -----------
from symdiff.graph.reductions import (cumsum, log_softmax, max, min, prod, std,  # noqa: E402,A004
                                      variance)
from symdiff.graph.shaping import (concatenate, diag, diagonal, expand_dims, flip,  # noqa: E402
                                   moveaxis, pad, repeat, split, squeeze, stack, swapaxes,
                                   tile)


def _extremum_of(fn: Callable[[Any, Any], Node], name: str) -> Callable[..., Node]:
    """SymPy's ``Max(a, b, c)`` (how an explicit closed form prints a maximum over
    entries) as a fold of the elementwise one, so printed forms read back."""
    def fold(first: Any, *rest: Any) -> Node:
        out = first
        for r in rest:
            out = fn(out, r)
        return out if rest else as_node(first, f"{name}: input 1")
    fold.__name__ = name
    return fold


FUNCTIONS.update({
    "amax": max, "amin": min, "prod": prod, "cumsum": cumsum, "variance": variance,
    "std": std, "log_softmax": log_softmax, "flip": flip, "expand_dims": expand_dims,
    "squeeze": squeeze, "swapaxes": swapaxes, "moveaxis": moveaxis, "tile": tile,
    "repeat": repeat, "diagonal": diagonal, "diag": diag,
    "Max": _extremum_of(maximum, "Max"), "Min": _extremum_of(minimum, "Min"),
})
SHAPE_FUNCTIONS = (max, min, prod, cumsum, variance, std, log_softmax, concatenate, stack,
                   split, expand_dims, squeeze, swapaxes, moveaxis, flip, pad, tile, repeat,
                   diagonal, diag)
"""The public functions of this block (``sd.max`` ... ``sd.diag``)."""


del _name
