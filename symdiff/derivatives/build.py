"""Building derivative nodes: ``build``, ``apply`` with the algebra that keeps them small.

Every node a derivative graph gets (adjoints, replayed partials, sums of contributions)
is made by ``build``, which folds constants and drops products by one and sums with zero
(the seed cotangent 1, broadcast ones), so derivative formulas read as written by hand
and evaluate with fewer passes over memory.

May import: numpy, ``symdiff.graph``.

>>> import symdiff as sd
>>> x = sd.var("x")
>>> build("mul", sd.const(1.0), x) is x
True
"""
from __future__ import annotations

import operator
from fractions import Fraction
from typing import Any, Optional

import numpy as np

from symdiff.graph.node import Node, apply, const

PAUSE_GC_NODES = 20_000
"""Graphs larger than this are differentiated with the cyclic garbage collector paused
(a derivative graph is a DAG of new nodes: no cycles for the collector to find)."""


def _is(n: Node, v: float) -> bool:
    """n is a float constant whose every element equals v."""
    if n.op != "const" or n.dtype != "float64":
        return False
    value = n._value
    return value.item() == v if value.ndim == 0 else bool(np.all(value == v))


_SIMPLIFIED = frozenset(("mul", "add", "sub", "div", "neg"))


def build(op: str, *args: Any, **params: Any) -> Node:
    """``apply`` for derivative graphs: folds constants and drops multiplications by one
    and additions of zero, so formulas read as written by hand.

    >>> import symdiff as sd
    >>> x = sd.var("x")
    >>> build("add", x, sd.const(0.0)) is x, build("mul", sd.const(2.0), sd.const(3.0)).eval()
    (True, 6.0)
    """
    if op in _SIMPLIFIED:
        # float nodes of one shape, not all constant: the rules below without building
        # the node first (most derivative nodes are built here)
        a = args[0]
        if a.__class__ is Node and a.dtype == "float64":
            if op == "neg":
                if a.op == "neg":
                    return a.args[0]
                if a.op != "const":
                    return apply(op, a, **params)
            elif len(args) == 2:
                b = args[1]
                if b.__class__ is Node and b.dtype == "float64" and a.shape == b.shape and \
                        (a.op != "const" or b.op != "const"):
                    simpler = _simplify2(op, a, b)
                    return apply(op, a, b, **params) if simpler is None else simpler
    out = apply(op, *args, **params)
    nodes = out.args
    # a value exists only when every input has one: the cheap test first
    if out._value is not None and out.dtype == "float64" and \
            all(a.op == "const" for a in nodes):
        return _folded(op, nodes, out._value)
    if op not in _SIMPLIFIED:
        return out
    keep = None
    if op == "mul":
        if _is(nodes[0], 0.0) or _is(nodes[1], 0.0):
            return const(np.zeros(out.shape)) if out.shape else const(0.0)
        keep = nodes[1] if _is(nodes[0], 1.0) else nodes[0] if _is(nodes[1], 1.0) else None
    elif op == "add":
        keep = nodes[1] if _is(nodes[0], 0.0) else nodes[0] if _is(nodes[1], 0.0) else None
    elif op in ("sub", "div"):
        keep = nodes[0] if _is(nodes[1], 0.0 if op == "sub" else 1.0) else None
    elif nodes[0].op == "neg":
        return nodes[0].args[0]
    if keep is None or keep.dtype != "float64":
        return out
    return keep if keep.shape == out.shape else apply("broadcast_to", keep, shape=out.shape)


_EXACT_OPS = {"add": operator.add, "sub": operator.sub, "mul": operator.mul,
              "div": operator.truediv, "neg": operator.neg}
_MOVES = frozenset(("broadcast_to", "reshape", "transpose", "expand_dims", "squeeze"))
EXACT = "exact"
"""The cache key of a folded scalar constant's exact value (a ``Fraction``), kept when
every number it was folded from is an integer or exact itself: d/dy (y**2/4) folds 2 and
1/4 into 1/2, which the closed form prints as ``y/2`` rather than ``0.5*y``."""


def exact_value(n: Node) -> Optional[Fraction]:
    """The exact value of a constant whose entries are all one number: its ``EXACT``
    fraction, or that number when it is an integer; None otherwise (a float the user
    wrote, an array of different numbers)."""
    if n.op != "const" or n.dtype != "float64":
        return None
    e = n._cache.get(EXACT)
    if e is not None:
        return e
    v = n._value
    if v.ndim:
        if v.size == 0 or not (v == v.flat[0]).all():
            return None
        v = v.flat[0]
    v = float(v)
    return Fraction(int(v)) if v.is_integer() and abs(v) < 2 ** 53 else None


def _folded(op: str, nodes: tuple, value: Any) -> Node:
    """The constant ``op`` of constants ``nodes`` folds to, exact when they are."""
    out = const(value)
    fn = (lambda e: e) if op in _MOVES and len(nodes) == 1 else _EXACT_OPS.get(op)
    v = out._value
    if fn is None or v.size == 0 or (v.ndim and not (v == v.flat[0]).all()):
        return out
    exact = [exact_value(a) for a in nodes]
    if any(e is None for e in exact):
        return out
    try:
        e = fn(*exact)
    except ZeroDivisionError:
        return out
    if float(e) == float(np.asarray(value).flat[0]) and e.denominator != 1:
        out._cache[EXACT] = e
    return out


def _simplify2(op: str, a: Node, b: Node) -> Optional[Node]:
    """``build``'s rules for two float nodes of one shape, not both constant (so nothing
    folds): the simpler node, or None when no rule applies."""
    if a.op != "const" and b.op != "const":
        return None
    if op == "mul":
        if _is(a, 0.0) or _is(b, 0.0):
            return const(np.zeros(a.shape)) if a.shape else const(0.0)
        return b if _is(a, 1.0) else a if _is(b, 1.0) else None
    if op == "add":
        return b if _is(a, 0.0) else a if _is(b, 0.0) else None
    return a if _is(b, 0.0 if op == "sub" else 1.0) else None
