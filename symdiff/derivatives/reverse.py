"""``sd.diff`` and ``sd.grad``: reverse mode on the graph, producing graphs.

The result is a Node graph, so a derivative can be evaluated, lowered, printed as a closed
form, or differentiated again. Each op of ``f`` adds a bounded number of nodes, so the
derivative grows linearly with ``f`` (no expression swell). The derivative with respect to
one scalar variable of a graph of scalar elementwise ops is built by forward mode instead
(``symdiff.derivatives.forward``): fewer nodes, and the chain-rule form SymPy would print.
Each node's contribution to its inputs' cotangents is ``symdiff.derivatives.adjoints``'s.

May import: numpy, ``symdiff.errors``, ``symdiff.budget``, ``symdiff.graph`` and the
other modules of ``symdiff.derivatives`` below it (build, recipes, adjoints, forward).

>>> import symdiff as sd
>>> x = sd.var("x")
>>> sd.diff(sd.sin(x) * x, x).sympy()
x*cos(x) + sin(x)
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from symdiff.budget import gc_paused
from symdiff.derivatives.adjoints import contribution
from symdiff.derivatives.build import PAUSE_GC_NODES, build
from symdiff.derivatives.forward import forward_scalar
from symdiff.errors import ShapeError
from symdiff.graph.arguments import as_function, check_wrt
from symdiff.graph.node import Node, const
from symdiff.graph.walks import graph_leaves, topological


def grad(f: Node, wrt: Sequence[Node]) -> list[Node]:
    """Gradient graphs of a scalar ``f``, one per variable, each of the variable's shape.
    Reverse mode; forward mode for one scalar variable when f's graph is scalar from it up.

    >>> import symdiff as sd
    >>> x, y = sd.var("x"), sd.var("y")
    >>> tuple(g.sympy() for g in sd.grad(x * y + y**2, [x, y]))
    (y, x + 2*y)
    """
    return _grad(f, wrt, "sd.grad", "wrt", "many")


def _grad(f: Node, wrt: Sequence[Node], who: str, arg: str, accepts: str) -> list[Node]:
    f = as_function(f, who, context=wrt)
    if f.size != 1:
        raise ShapeError(f"{who}: f has shape {f.shape}; derivatives here need a scalar "
                         "f (reduce it with sd.sum or sd.mean; sd.jacobian takes any shape)")
    order = topological([f])
    wrt, _ = check_wrt(f, wrt, who, arg, accepts, leaves=graph_leaves(order))
    if len(wrt) == 1:
        out = forward_scalar(f, wrt[0], order)
        if out is not None:
            return _remember_context([out], f, order, {wrt[0].name})
    return reverse(f, wrt, const(np.ones(f.shape)) if f.shape else const(1.0), order)


def reverse(f: Node, wrt: Sequence[Node], seed: Node,
            order: Optional[list[Node]] = None) -> list[Node]:
    """Reverse mode on the graph: for each variable ``w``, the graph of
    ``sum(seed * df/dw)`` over f's axes, of shape ``batch + w.shape`` where ``seed`` has
    shape ``batch + f.shape``. A seed of ones gives gradients; an identity seed with
    ``batch = f.shape`` gives the whole Jacobian in one sweep. ``order``: f's nodes from
    ``topological``, when the caller has them.

    >>> import numpy as np, symdiff as sd
    >>> x = sd.var("x", (2,))
    >>> J, = reverse(sd.sin(x), [x], sd.const(np.eye(2)))
    >>> J.shape
    (2, 2)
    """
    batch = seed.shape[:seed.ndim - f.ndim]
    if seed.shape != batch + f.shape:
        raise ShapeError(f"a seed of shape {seed.shape} does not end with f's shape {f.shape}")
    if order is None:
        order = topological([f])
    wrt, _ = check_wrt(f, wrt, "reverse", leaves=graph_leaves(order))
    names = {w.name for w in wrt}
    with gc_paused(len(order), PAUSE_GC_NODES):
        found = _cotangents(f, names, seed, order)
    out = []
    for w in wrt:
        g = found.get(w.name)
        if g is None:
            g = const(np.zeros(batch + w.shape)) if batch + w.shape else const(0.0)
        out.append(g)
    return _remember_context(out, f, order, names)


def _cotangents(f: Node, names: set, seed: Node, order: list[Node]) -> dict[str, Node]:
    """The reverse sweep of ``reverse``: variable name -> its cotangent graph."""
    depends: set[int] = set()
    for n in order:
        if not n.args:
            if n.name in names and n.op in ("var", "tensor"):
                depends.add(id(n))
            continue
        for a in n.args:
            if id(a) in depends:
                depends.add(id(n))
                break
    cot: dict[int, Node] = {id(f): seed}
    found: dict[str, Node] = {}
    for n in reversed(order):
        g = cot.pop(id(n), None)
        if g is None or id(n) not in depends:
            continue
        if n.op in ("var", "tensor"):
            found[n.name] = g if n.name not in found else build("add", found[n.name], g)
            continue
        for i, a in enumerate(n.args):
            if id(a) not in depends:
                continue
            c = contribution(n, i, g)
            if c is None:
                continue
            prev = cot.get(id(a))
            cot[id(a)] = c if prev is None else build("add", prev, c)
    return found


def _remember_context(out: list[Node], f: Node, order: list[Node], names: set) -> list[Node]:
    """Record on derivative graphs the variables of the function they came from (``eval``
    accepts values for them); returns ``out``, a bare variable replaced by its twin.

    d(x*y + y)/dx is the leaf ``y`` itself: its cache is the user's variable's, so the
    context goes on a fresh ``var`` of the same name and shape (the same variable, as
    ``sd.var`` says). A tensor leaf stays itself: it holds a value, and ``.backward()``
    through a derivative must reach its ``.grad``."""
    context = frozenset(n.name for n in order if n.op in ("var", "tensor")) | names | \
        f._cache.get("context", frozenset())
    result = []
    for g in out:
        if g.op == "var":
            g = Node("var", name=g.name, shape=g.shape, requires_grad=True)
        if not g.is_leaf or g.op in ("const", "var"):
            g._cache["context"] = context
        result.append(g)
    return result


def diff(f: Node, x: Node) -> Node:
    """The derivative graph df/dx of a scalar ``f`` (shape of ``x``).

    >>> import symdiff as sd
    >>> x = sd.var("x")
    >>> sd.diff(x**2 + 3, x).sympy()
    2*x
    """
    return _grad(f, x, "sd.diff", "x", "one")[0]
