"""Functions of the public API that move entries, with numpy's semantics: ``sd.concatenate``,
``sd.stack``, ``sd.split``, ``sd.expand_dims``, ``sd.squeeze``, ``sd.swapaxes``,
``sd.moveaxis``, ``sd.flip``, ``sd.pad``, ``sd.tile``, ``sd.repeat``, ``sd.diagonal``,
``sd.diag``.

Rows of the table do the work: ``concatenate`` (two arrays; a list is joined pairwise),
``diagonal`` and ``diag``, and the older reshape, transpose, index (split, flip),
unindex (pad) and broadcast_to (tile, repeat). Every one of them is a "selection" row, so
sparse Hessians see through these functions entry by entry.

May import numpy, ``numeric``, ``symdiff.errors`` and ``symdiff.graph`` (node, params,
values, reductions); ``symdiff.graph.ops`` imports it, not the other way round.

>>> import symdiff as sd
>>> a, b = sd.var("a", (2, 3)), sd.var("b", (1, 3))
>>> sd.concatenate([a, b]).shape, sd.stack([a, a], axis=-1).shape
((3, 3), (2, 3, 2))
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from numeric import NumericShapeError

from symdiff.errors import ArgumentError, ShapeError, UnsupportedError
from symdiff.graph.node import Node, apply, as_node, const
from symdiff.graph.params import as_shape
from symdiff.graph.reductions import _single_axis
from symdiff.graph.values import real_array, shown

_ALL = ("slice", None, None, None)


def _axes(axis: Any, ndim: int, who: str) -> tuple[int, ...]:
    """An int or a sequence of ints, each in range for ``ndim`` axes, none repeated:
    as non-negative ints in the order given."""
    items = axis if isinstance(axis, (tuple, list)) else (axis,)
    out = tuple(_single_axis(a, ndim, who) for a in items)
    if len(set(out)) != len(out):
        raise ShapeError(f"{who}: repeated axis in {shown(axis)}")
    return out


def _ints(values: Any, who: str, arg: str, minimum: Optional[int] = None) -> list[int]:
    """An int or a sequence of ints (not bools, not floats), each at least ``minimum``."""
    items = list(values) if isinstance(values, (tuple, list, np.ndarray)) else [values]
    for v in items:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            raise ArgumentError(f"{who}: {arg} must be an int or a sequence of ints, not "
                                f"{shown(values)}")
        if minimum is not None and v < minimum:
            raise ArgumentError(f"{who}: {arg} must be at least {minimum}, got {shown(values)}")
    return [int(v) for v in items]


def _int(value: Any, who: str, arg: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ArgumentError(f"{who}: {arg} must be an int, not {type(value).__name__} "
                            f"{shown(value)}")
    return int(value)


def as_nodes(arrays: Any, who: str) -> list[Node]:
    """The arrays of concatenate/stack as nodes: a list or tuple (or a node or array,
    whose first axis is iterated, as numpy does), at least one."""
    if isinstance(arrays, Node):
        arrays = list(arrays) if arrays.ndim else [arrays]
    elif isinstance(arrays, np.ndarray):
        arrays = list(arrays) if arrays.ndim else [arrays]
    if not isinstance(arrays, (list, tuple)):
        raise ArgumentError(f"{who}: arrays must be a list or tuple of arrays, not "
                            f"{type(arrays).__name__} {shown(arrays)}")
    if not arrays:
        raise ArgumentError(f"{who}: needs at least one array")
    return [as_node(a, f"{who}: arrays[{i}]") for i, a in enumerate(arrays)]


def _shape_error(fn: Any, *args: Any, **params: Any) -> Node:
    try:
        return fn(*args, **params)
    except NumericShapeError as e:
        raise ShapeError(str(e)) from None


def concatenate(arrays: Sequence[Any], axis: Optional[int] = 0) -> Node:
    """The arrays joined along an existing ``axis``, as ``np.concatenate`` (``axis=None``
    flattens them first). Its matrix closed form is a block matrix.

    >>> import symdiff as sd
    >>> sd.concatenate([sd.tensor([1.0, 2.0]), sd.tensor([3.0])]).data.tolist()
    [1.0, 2.0, 3.0]
    >>> A, B = sd.var("A", (2, 2)), sd.var("B", (1, 2))
    >>> sd.concatenate([A, B]).sympy()
    Matrix([
    [A],
    [B]])
    """
    nodes = as_nodes(arrays, "sd.concatenate")
    if axis is None:
        nodes = [n if n.ndim == 1 else apply("reshape", n, shape=(n.size,)) for n in nodes]
        axis = 0
    for i, n in enumerate(nodes):
        if n.ndim == 0:
            raise ShapeError(f"sd.concatenate: arrays[{i}] is a scalar; scalars cannot be "
                             "concatenated (make them 1-D, or use sd.stack)")
    k = _single_axis(axis, nodes[0].ndim, "sd.concatenate")
    for i, n in enumerate(nodes[1:], 1):
        if n.ndim != nodes[0].ndim or any(p != q for j, (p, q) in
                                          enumerate(zip(n.shape, nodes[0].shape)) if j != k):
            raise ShapeError(f"sd.concatenate: arrays[{i}] has shape {n.shape}, which does not "
                             f"fit arrays[0] of shape {nodes[0].shape} along axis {k}")
    # pairwise, as a balanced tree: log(n) copies of each entry instead of n
    while len(nodes) > 1:
        nodes = [apply("concatenate", nodes[i], nodes[i + 1], axis=k) if i + 1 < len(nodes)
                 else nodes[i] for i in range(0, len(nodes), 2)]
    return nodes[0]


def stack(arrays: Sequence[Any], axis: int = 0) -> Node:
    """The arrays (all of one shape) joined along a new ``axis``, as ``np.stack``.

    >>> import symdiff as sd
    >>> sd.stack([sd.tensor([1.0, 2.0]), sd.tensor([3.0, 4.0])], axis=1).data.tolist()
    [[1.0, 3.0], [2.0, 4.0]]
    """
    nodes = as_nodes(arrays, "sd.stack")
    for i, n in enumerate(nodes[1:], 1):
        if n.shape != nodes[0].shape:
            raise ShapeError(f"sd.stack: all arrays must have one shape; arrays[{i}] has "
                             f"shape {n.shape}, arrays[0] {nodes[0].shape}")
    k = _single_axis(axis, nodes[0].ndim + 1, "sd.stack")
    return concatenate([expand_dims(n, k) for n in nodes], axis=k)


def split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list[Node]:
    """A list of pieces of ``ary`` along ``axis``, as ``np.split``: ``indices_or_sections``
    is a number of equal pieces, or the sorted indices where pieces start. Each piece is
    a slice of ``ary`` (basic indexing).

    >>> import symdiff as sd
    >>> [p.data.tolist() for p in sd.split(sd.tensor([1.0, 2.0, 3.0, 4.0]), [1, 3])]
    [[1.0], [2.0, 3.0], [4.0]]
    """
    return split_pieces(ary, indices_or_sections, axis, "sd.split", equal=True)


def split_pieces(ary: Any, sections: Any, axis: Any, who: str, equal: bool) -> list[Node]:
    x = as_node(ary, f"{who}: ary")
    if x.ndim == 0:
        raise ShapeError(f"{who}: a scalar cannot be split")
    k = _single_axis(axis, x.ndim, who)
    n = x.shape[k]
    if isinstance(sections, (int, np.integer)) and not isinstance(sections, (bool, np.bool_)):
        (count,) = _ints(sections, who, "indices_or_sections", minimum=1)
        if equal and n % count:
            raise ShapeError(f"{who}: an axis of length {n} does not split into {count} "
                             "equal pieces (np.array_split allows unequal ones)")
        size, extra = divmod(n, count)
        bounds = [0]
        for i in range(count):
            bounds.append(bounds[-1] + size + (1 if i < extra else 0))
    else:
        if isinstance(sections, Node) or not isinstance(sections, (tuple, list, np.ndarray)):
            raise ArgumentError(f"{who}: indices_or_sections must be an int or a sequence of "
                                f"ints, not {type(sections).__name__} {shown(sections)}")
        bounds = [0] + _ints(sections, who, "indices_or_sections") + [n]
    lead = (_ALL,) * k
    # numpy slices: negative indices count from the end, and past the end is clipped
    return [apply("index", x, key=lead + (("slice", a, b, None),))
            for a, b in zip(bounds[:-1], bounds[1:])]


def expand_dims(a: Any, axis: Any) -> Node:
    """``a`` with new axes of length 1 at ``axis`` (an int or a tuple, positions in the
    result), as ``np.expand_dims``.

    >>> import symdiff as sd
    >>> sd.expand_dims(sd.var("v", (3,)), (0, 2)).shape
    (1, 3, 1)
    """
    x = as_node(a, "sd.expand_dims: a")
    new = _axes(axis, x.ndim + (len(axis) if isinstance(axis, (tuple, list)) else 1),
                "sd.expand_dims")
    dims = iter(x.shape)
    shape = tuple(1 if k in new else next(dims) for k in range(x.ndim + len(new)))
    return apply("reshape", x, shape=shape)


def squeeze(a: Any, axis: Any = None) -> Node:
    """``a`` without its axes of length 1 (those of ``axis`` only, when given), as
    ``np.squeeze``.

    >>> import symdiff as sd
    >>> sd.squeeze(sd.var("A", (1, 3, 1))).shape, sd.squeeze(sd.var("A", (1, 3, 1)), 0).shape
    ((3,), (3, 1))
    """
    x = as_node(a, "sd.squeeze: a")
    gone = tuple(k for k, d in enumerate(x.shape) if d == 1) if axis is None else \
        _axes(axis, x.ndim, "sd.squeeze")
    for k in gone:
        if x.shape[k] != 1:
            raise ShapeError(f"sd.squeeze: axis {k} of shape {x.shape} has length "
                             f"{x.shape[k]}, not 1")
    shape = tuple(d for k, d in enumerate(x.shape) if k not in gone)
    return x if shape == x.shape else apply("reshape", x, shape=shape)


def _permuted(x: Node, order: list[int]) -> Node:
    return x if order == list(range(x.ndim)) else apply("transpose", x, axes=tuple(order))


def swapaxes(a: Any, axis1: int, axis2: int) -> Node:
    """``a`` with two axes exchanged, as ``np.swapaxes``.

    >>> import symdiff as sd
    >>> sd.swapaxes(sd.var("T", (2, 3, 4)), 0, 2).shape
    (4, 3, 2)
    """
    x = as_node(a, "sd.swapaxes: a")
    i, j = (_single_axis(v, x.ndim, "sd.swapaxes", n) for v, n in ((axis1, "axis1"),
                                                                  (axis2, "axis2")))
    order = list(range(x.ndim))
    order[i], order[j] = j, i
    return _permuted(x, order)


def moveaxis(a: Any, source: Any, destination: Any) -> Node:
    """``a`` with the axes ``source`` moved to positions ``destination`` (the others keep
    their order), as ``np.moveaxis``.

    >>> import symdiff as sd
    >>> sd.moveaxis(sd.var("T", (2, 3, 4)), 0, -1).shape
    (3, 4, 2)
    """
    x = as_node(a, "sd.moveaxis: a")
    src = _axes(source, x.ndim, "sd.moveaxis")
    dst = _axes(destination, x.ndim, "sd.moveaxis")
    if len(src) != len(dst):
        raise ShapeError(f"sd.moveaxis: source {shown(source)} and destination "
                         f"{shown(destination)} have different numbers of axes")
    order = [k for k in range(x.ndim) if k not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return _permuted(x, order)


def flip(m: Any, axis: Any = None) -> Node:
    """``m`` with the order of its entries reversed along ``axis`` (all axes by default),
    as ``np.flip``.

    >>> import symdiff as sd
    >>> sd.flip(sd.tensor([[1.0, 2.0], [3.0, 4.0]]), axis=1).data.tolist()
    [[2.0, 1.0], [4.0, 3.0]]
    """
    x = as_node(m, "sd.flip: m")
    axes = tuple(range(x.ndim)) if axis is None else _axes(axis, x.ndim, "sd.flip")
    if not axes:
        return x
    key = tuple(("slice", None, None, -1) if k in axes else _ALL for k in range(x.ndim))
    return apply("index", x, key=key)


def pad(array: Any, pad_width: Any, mode: str = "constant", constant_values: Any = 0) -> Node:
    """``array`` with entries added before and after each axis, as ``np.pad`` in its
    ``"constant"`` mode: ``pad_width`` is an int, a ``(before, after)`` pair or one pair
    per axis; ``constant_values`` a number, pairs of numbers like ``pad_width``, or a
    scalar Node.

    >>> import symdiff as sd
    >>> sd.pad(sd.tensor([1.0, 2.0]), (1, 2), constant_values=9.0).data.tolist()
    [9.0, 1.0, 2.0, 9.0, 9.0]
    """
    x = as_node(array, "sd.pad: array")
    if mode != "constant":
        raise UnsupportedError(f"sd.pad: mode={shown(mode)} is not supported; only "
                               "mode='constant' (see sd.supported_numpy())")
    widths = _pairs(pad_width, x.ndim, "pad_width")
    if not widths.any():
        return x
    shape = tuple(int(d + b + a) for d, (b, a) in zip(x.shape, widths))
    key = tuple(("slice", int(b), int(b + d), None) for d, (b, _) in zip(x.shape, widths))
    inner = apply("unindex", x, key=key, shape=shape)
    if isinstance(constant_values, Node):
        if constant_values.shape != ():
            raise ShapeError("sd.pad: a Node as constant_values must be a scalar, not of "
                             f"shape {constant_values.shape}")
        border = np.pad(np.zeros(x.shape), widths, constant_values=1.0)
        return apply("add", inner, apply("mul", const(border), constant_values))
    values = real_array(constant_values, "sd.pad: constant_values")
    try:
        border = np.pad(np.zeros(x.shape), widths, constant_values=values)
    except ValueError:
        raise ShapeError(f"sd.pad: constant_values {shown(constant_values)} does not fit the "
                         f"{x.ndim} axes of shape {x.shape} (a number, a pair, or a pair "
                         "per axis)") from None
    return apply("add", inner, const(border)) if border.any() else inner


def _pairs(widths: Any, ndim: int, arg: str) -> np.ndarray:
    """``pad_width`` as an ``(ndim, 2)`` array of non-negative ints, numpy's broadcasting
    of an int, a pair, or a pair per axis."""
    who = "sd.pad"
    if isinstance(widths, Node):
        raise ArgumentError(f"{who}: {arg} must be ints, not a Node")
    try:
        raw = np.asarray(widths, dtype=object)
        flat = raw.reshape(-1).tolist()
    except Exception:  # noqa: BLE001 - ragged or exotic input: said below
        flat = None
    if flat is None or not flat:
        raise ArgumentError(f"{who}: {arg} must be an int, a pair or a pair per axis, not "
                            f"{shown(widths)}")
    _ints(flat, who, arg, minimum=0)
    try:
        return np.broadcast_to(np.asarray(widths, dtype=np.int64), (ndim, 2))
    except ValueError:
        raise ShapeError(f"{who}: {arg} {shown(widths)} does not fit the {ndim} axes (an "
                         "int, a (before, after) pair, or one pair per axis)") from None


def tile(A: Any, reps: Any) -> Node:
    """``A`` repeated ``reps`` times along each axis, as ``np.tile`` (``reps`` an int or one
    per axis; ``A`` gets leading axes of length 1 when ``reps`` is longer).

    >>> import symdiff as sd
    >>> sd.tile(sd.tensor([1.0, 2.0]), (2, 2)).data.tolist()
    [[1.0, 2.0, 1.0, 2.0], [1.0, 2.0, 1.0, 2.0]]
    """
    x = as_node(A, "sd.tile: A")
    reps = _ints(reps, "sd.tile", "reps", minimum=0)
    nd = max(x.ndim, len(reps))
    shape = (1,) * (nd - x.ndim) + x.shape
    reps = [1] * (nd - len(reps)) + reps
    if shape != x.shape:
        x = apply("reshape", x, shape=shape)
    if all(r == 1 for r in reps):
        return x
    # a new axis before each repeated one, broadcast to the count, merged back
    spread = tuple(d for r, n in zip(reps, shape) for d in ((1, n) if r != 1 else (n,)))
    full = tuple(d for r, n in zip(reps, shape) for d in ((r, n) if r != 1 else (n,)))
    out = apply("broadcast_to", apply("reshape", x, shape=spread), shape=full)
    return apply("reshape", out, shape=tuple(r * n for r, n in zip(reps, shape)))


def repeat(a: Any, repeats: Any, axis: Optional[int] = None) -> Node:
    """Each entry of ``a`` repeated ``repeats`` times along ``axis``, as ``np.repeat``
    (``axis=None``: of the flattened array; ``repeats`` an int, or one count per entry).

    >>> import symdiff as sd
    >>> sd.repeat(sd.tensor([1.0, 2.0]), 2).data.tolist()
    [1.0, 1.0, 2.0, 2.0]
    >>> sd.repeat(sd.tensor([1.0, 2.0]), [1, 3]).data.tolist()
    [1.0, 2.0, 2.0, 2.0]
    """
    x = as_node(a, "sd.repeat: a")
    counts = _ints(repeats, "sd.repeat", "repeats", minimum=0)
    if axis is None:
        x = x if x.ndim == 1 else apply("reshape", x, shape=(x.size,))
        axis = 0
    k = _single_axis(axis, x.ndim, "sd.repeat")
    n = x.shape[k]
    if len(counts) == 1:
        counts = counts * n
    if len(counts) != n:
        raise ShapeError(f"sd.repeat: {len(counts)} counts for an axis of length {n}")
    if len(set(counts)) <= 1:
        r = counts[0] if counts else 1
        if r == 1:
            return x
        before, after = x.shape[:k + 1], x.shape[k + 1:]
        spread = apply("broadcast_to", apply("reshape", x, shape=before + (1,) + after),
                       shape=before + (r,) + after)
        return apply("reshape", spread, shape=x.shape[:k] + (n * r,) + x.shape[k + 1:])
    lead = (_ALL,) * k
    pieces = []
    for i, r in enumerate(counts):
        if r:
            one = apply("index", x, key=lead + (("slice", i, i + 1, None),))
            pieces.append(one if r == 1 else apply(
                "broadcast_to", one, shape=x.shape[:k] + (r,) + x.shape[k + 1:]))
    if not pieces:      # every count 0: an empty slice, still a function of a
        return apply("index", x, key=lead + (("slice", 0, 0, None),))
    return concatenate(pieces, axis=k)


def diagonal(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Node:
    """The diagonal of ``a`` (``offset`` above the main one; below it when negative) in
    the planes of ``axis1`` and ``axis2``, as the last axis, as ``np.diagonal``. Of a
    matrix, it prints as ``diag(A)``.

    >>> import symdiff as sd
    >>> sd.diagonal(sd.tensor([[1.0, 2.0], [3.0, 4.0]])).data.tolist()
    [1.0, 4.0]
    """
    x = as_node(a, "sd.diagonal: a")
    if x.ndim < 2:
        raise ShapeError(f"sd.diagonal: needs an array of at least two dimensions, got "
                         f"shape {x.shape}")
    offset = _int(offset, "sd.diagonal", "offset")
    i, j = (_single_axis(v, x.ndim, "sd.diagonal", n) for v, n in ((axis1, "axis1"),
                                                                  (axis2, "axis2")))
    if i == j:
        raise ShapeError(f"sd.diagonal: axis1 and axis2 are the same axis ({i})")
    return _shape_error(apply, "diagonal", x, offset=offset, axis1=i, axis2=j)


def diag(v: Any, k: int = 0) -> Node:
    """numpy's ``diag``: of a vector, the square matrix with ``v`` on its ``k``-th
    diagonal (zeros elsewhere); of a matrix, its ``k``-th diagonal. Both print as
    ``diag(...)``.

    >>> import symdiff as sd
    >>> sd.diag(sd.tensor([1.0, 2.0])).data.tolist()
    [[1.0, 0.0], [0.0, 2.0]]
    >>> sd.diag(sd.var("v", (3,))).sympy()
    diag(v)
    """
    x = as_node(v, "sd.diag: v")
    k = _int(k, "sd.diag", "k")
    if x.ndim == 2:
        return diagonal(x, k)
    if x.ndim != 1:
        raise ShapeError(f"sd.diag: v must be 1-D (to build a matrix) or 2-D (to take its "
                         f"diagonal), got shape {x.shape}")
    n = x.shape[0] + abs(k)
    return apply("diag", x, offset=k, axis1=0, axis2=1, shape=as_shape((n, n), "sd.diag"))

