"""Zero cotangents stay zero: the VJPs the reverse sweep runs below a ``where``.

``where(x > 0, sqrt(x), 0)`` at x = -1 is 0, and so is its derivative; but the untaken
branch was computed (numpy evaluates both), ``sqrt(-1)`` is nan, and its VJP multiplies
the branch's cotangent, exactly 0 there, by ``0.5 / nan``: 0 * nan = nan leaks into the
gradient. The convention (JAX's "double where", made automatic): in the reverse sweep,
a cotangent entry that is exactly 0 contributes exactly 0, whatever the partial (nan or
inf at a point an untaken branch was computed at).

``Program`` decides once, when it is built, which cotangents can carry such zeros: those
of the slots a ``where`` branch is computed from (``masked_slots``). Only their VJPs are
replaced by ``keep_zeros(row, j)``, so programs without ``where`` (every benchmark
workload) run the table's VJPs unchanged. How a row keeps zeros depends on how its
output entries depend on its inputs (the row's ``sparsity``):

* elementwise rows: ``np.where(g == 0, 0, vjp)`` entry by entry;
* reductions (logsumexp, norm, trace): the same, with ``g == 0`` expanded over the
  reduced axes;
* ``matmul``: non-finite entries of the other operand are zeroed where they meet only
  zero cotangent entries (a bilinear map: the pattern of nonzero products is itself a
  matmul of the patterns);
* whole-array rows (det, logdet, inv, cofactor): every output entry reads every input
  entry, so only a cotangent that is zero everywhere gives zero;
* rows whose VJPs read no values (sum, mean, add, reshape, index...) and ``where`` itself
  (which selects with ``np.where``) cannot turn a 0 into nan: unchanged.

The wrappers take no ``into=`` buffer (the generated code gives them none: they are
marked ``keeps_zeros``). Imports numpy and ``numeric.primitives`` only.

>>> import numpy as np
>>> from numeric import PRIMITIVES
>>> row = PRIMITIVES["sqrt"]
>>> x, g = np.array([-1.0, 4.0]), np.array([0.0, 1.0])   # x = -1: an untaken branch
>>> with np.errstate(invalid="ignore"):
...     out = np.sqrt(x)
>>> row.vjp[0](g, out, x).tolist()
[nan, 0.25]
>>> keep_zeros(row, 0)(g, out, x).tolist()
[0.0, 0.25]
"""
from __future__ import annotations

import functools
from typing import Any, Callable, Optional, Sequence

import numpy as np

from .primitives import Primitive, normalize_axis

UNCHANGED = frozenset({"where", "add", "sub", "neg", "sum", "mean"})
"""Rows whose VJPs never multiply a cotangent by a value read from the forward sweep
(``where`` selects with ``np.where``); the selection rows are recognised by sparsity."""


def masked_slots(n_inputs: int, rows: Sequence[tuple], base: int, n_slots: int) -> list[bool]:
    """Per slot: can its cotangent hold zeros that a ``where`` put there (is it a branch of
    a ``where``, or computed into one)? ``rows`` are ``(row, input slots, params)`` in
    program order, instruction k writing slot ``base + k``.

    >>> from numeric import PRIMITIVES
    >>> w, gt, sq = PRIMITIVES["where"], PRIMITIVES["greater"], PRIMITIVES["sqrt"]
    >>> # slots: 0 x, 1 zero, then 2 = x > 0, 3 = sqrt(x), 4 = where(2, 3, 1)
    >>> masked_slots(1, [(gt, (0, 1), {}), (sq, (0,), {}), (w, (2, 3, 1), {})], 2, 5)
    [True, True, False, True, False]
    """
    masked = [False] * n_slots
    for k in range(len(rows) - 1, -1, -1):
        row, ins, _ = rows[k]
        if row.name == "where":
            for i in ins[1:]:
                masked[i] = True
        if masked[base + k]:
            for i in ins:
                masked[i] = True
    return masked


def keep_zeros(row: Primitive, j: int) -> Optional[Callable[..., Any]]:
    """The VJP of ``row`` for input ``j`` with zero cotangent entries kept zero (see the
    module docstring); the row's own VJP where it cannot turn a 0 into nan; None where
    the row has none. One wrapper per row and input (cached), so generated code binds
    each once."""
    rule = row.vjp[j]
    if rule is None or row.name in UNCHANGED or row.sparsity == "selection":
        return rule
    return _wrapped(row, j)


@functools.lru_cache(maxsize=None)
def _wrapped(row: Primitive, j: int) -> Callable[..., Any]:
    rule = row.vjp[j]
    if row.name == "matmul":
        made = _bilinear(rule, j)
    elif row.kind == "elementwise":   # (fused polynomials too)
        made = _entrywise(rule)
    elif row.sparsity == "reduction":
        made = _reduced(rule)
    else:
        made = _whole(rule, j)
    made.keeps_zeros = True  # type: ignore[attr-defined]
    made.__name__ = f"{row.name}_vjp{j}_keeping_zeros"
    return made


def _entrywise(rule: Callable) -> Callable:
    def vjp(g: Any, out: Any, *xs: Any, **params: Any) -> Any:
        c = rule(g, out, *xs, **params)
        zero = np.equal(g, 0.0)
        return np.where(zero, 0.0, c) if np.any(zero) else c
    return vjp


def _reduced(rule: Callable) -> Callable:
    def vjp(g: Any, out: Any, x: Any, axis: Any = None, keepdims: bool = False,
            **params: Any) -> Any:
        kw = dict(params)
        if axis is not None or keepdims:
            kw.update(axis=axis, keepdims=keepdims)
        c = rule(g, out, x, **kw)
        zero = np.equal(g, 0.0)
        if not np.any(zero):
            return c
        shape = np.shape(x)
        if axis is None or np.ndim(zero) == 0:
            zero = np.broadcast_to(np.all(zero) if axis is None else zero, shape)
        else:
            if not keepdims:
                zero = np.expand_dims(zero, normalize_axis(axis, len(shape), "reduction"))
            zero = np.broadcast_to(zero, shape)
        return np.where(zero, 0.0, c)
    return vjp


def _whole(rule: Callable, j: int) -> Callable:
    def vjp(g: Any, out: Any, *xs: Any, **params: Any) -> Any:
        if not np.any(g):   # nan is "any": it is not a zero to keep
            return np.zeros(np.shape(xs[j]))
        return rule(g, out, *xs, **params)
    return vjp


def _bilinear(rule: Callable, j: int) -> Callable:
    # matmul's VJP for input j is bilinear in (g, the other operand): the pattern of the
    # products of a nonzero g entry with a non-finite operand entry is the same VJP on the
    # 0/1 patterns, so the true non-finite results are told from the 0 * inf ones
    k = 1 - j

    def vjp(g: Any, out: Any, x: Any, y: Any) -> Any:
        xs = [x, y]
        finite = np.isfinite(xs[k])
        if finite.all():
            return rule(g, out, x, y)
        clean, pattern = list(xs), list(xs)
        clean[k] = np.where(finite, xs[k], 0.0)
        pattern[k] = (~finite).astype(np.float64)
        c = rule(g, out, *clean)
        hit = rule(np.not_equal(g, 0.0).astype(np.float64), out, *pattern) > 0
        return np.where(hit, rule(g, out, x, y), c) if np.any(hit) else c
    return vjp
