"""``sd.diff`` and ``sd.grad``: reverse mode on the graph, producing graphs.

The result is a Node graph, so a derivative can be evaluated, lowered, printed as a closed
form, or differentiated again. Each op of ``f`` adds a bounded number of nodes, so the
derivative grows linearly with ``f`` (no expression swell).

Local partial derivatives of elementwise ops come from ``sympy.diff`` of the row's formula
(computed once per row and parameters, then replayed as a small recipe); structural ops
(sums, matmul, transposes, reshapes, indexing, broadcasts) have the adjoint rules below.
Neither path shares code with the numpy VJPs in ``numeric``, so the cross-check compares
two independent derivations.

>>> import symdiff as sd
>>> x = sd.var("x")
>>> sd.diff(sd.sin(x) * x, x).sympy()
x*cos(x) + sin(x)
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable, Optional, Sequence

import numpy as np
import sympy

from numeric import PRIMITIVES
from numeric.primitives import normalize_axis

from .errors import ShapeError, SymdiffError
from .from_sympy import from_sympy
from .node import Node, apply, const, topological
from .sympy_functions import template


# ---------------------------------------------------------------------------
# elementwise partials, from SymPy
# ---------------------------------------------------------------------------

class _Recipe:
    """A partial derivative as replayable steps over the op's inputs and output."""

    def __init__(self, expr: Any, symbols: Sequence[Any]):
        self.expr = expr
        # placeholders of dtype "any" stand for inputs of either dtype while recording
        holes = [Node("var", name=f"arg{i}", dtype="any") for i in range(len(symbols))]
        out = Node("var", name="out", dtype="any")
        env = {**dict(zip(symbols, holes)), _OUT: out}
        self.one = expr == 1
        self.minus_one = expr == -1
        root = from_sympy(expr, env) if not (self.one or self.minus_one) else None
        self.steps: list = []
        if root is None:
            return
        index = {id(h): ("arg", i) for i, h in enumerate(holes)}
        index[id(out)] = ("out", 0)
        for k, n in enumerate(topological([root])):
            if id(n) in index:
                continue
            if n.op == "const":
                index[id(n)] = ("const", n)
                continue
            self.steps.append((n.op, tuple(index[id(a)] for a in n.args), n.params))
            index[id(n)] = ("step", len(self.steps) - 1)
        self.result = index[id(root)]

    def replay(self, args: Sequence[Node], out: Node) -> Node:
        made: list[Node] = []

        def get(ref: tuple) -> Node:
            kind, v = ref
            return args[v] if kind == "arg" else out if kind == "out" else \
                v if kind == "const" else made[v]

        for op, refs, params in self.steps:
            made.append(apply(op, *(get(r) for r in refs), **params))
        return get(self.result)


_OUT = sympy.Dummy("out", real=True)


@lru_cache(maxsize=4096)
def _recipe(op: str, params_key: tuple, argindex: int) -> _Recipe:
    t = template(op)
    params = dict(params_key)
    f = t.instantiate(t.args, params)
    partial = sympy.diff(f, t.args[argindex])
    if not isinstance(f, sympy.Add):
        partial = partial.subs(f, _OUT)  # reuse the forward value: exp' = out
    return _Recipe(partial, t.args)


def elementwise_partial(node: Node, i: int) -> Optional[_Recipe]:
    """The recipe of d(node)/d(arg i); None where no derivative flows."""
    if PRIMITIVES[node.op].vjp[i] is None:
        return None
    return _recipe(node.op, tuple(sorted(node.params.items())), i)


# ---------------------------------------------------------------------------
# structural adjoints (hand-written, on nodes)
# ---------------------------------------------------------------------------

def _swap_last(x: Node) -> Node:
    axes = tuple(range(x.ndim - 2)) + (x.ndim - 1, x.ndim - 2)
    return apply("transpose", x, axes=axes)


def _reduce_adjoint(node: Node, i: int, g: Node) -> Node:
    x = node.args[0]
    axes = normalize_axis(node.params.get("axis"), x.ndim, node.op)
    kept = tuple(1 if k in axes else d for k, d in enumerate(x.shape))
    if g.shape != kept:
        g = apply("reshape", g, shape=kept)
    g = apply("broadcast_to", g, shape=x.shape) if kept != x.shape else g
    if node.op == "mean":
        count = int(np.prod([x.shape[k] for k in axes], dtype=np.int64)) or 1
        g = apply("div", g, float(count))
    return g


def _matmul_adjoint(node: Node, i: int, g: Node) -> Node:
    x, y = node.args
    if i == 0:
        if y.ndim == 1:
            return apply("mul", g, y) if x.ndim == 1 else \
                apply("mul", apply("reshape", g, shape=g.shape + (1,)), y)
        if x.ndim == 1:
            if y.ndim == 2:
                return apply("matmul", y, g)
            col = apply("matmul", y, apply("reshape", g, shape=g.shape + (1,)))
            return apply("reshape", col, shape=col.shape[:-1])   # batch axes summed later
        return apply("matmul", g, _swap_last(y))
    if x.ndim == 1:
        if y.ndim == 1:
            return apply("mul", g, x)
        # (k,) @ (..., k, m) -> (..., m): the cotangent is x[:, None] * g[..., None, :]
        row = apply("reshape", g, shape=g.shape[:-1] + (1,) + g.shape[-1:])
        return apply("mul", apply("reshape", x, shape=x.shape + (1,)), row)
    if y.ndim == 1:
        gcol = apply("reshape", g, shape=g.shape + (1,))
        out = apply("matmul", _swap_last(x), gcol)
        return apply("reshape", out, shape=out.shape[:-1])
    return apply("matmul", _swap_last(x), g)


def _transpose_adjoint(node: Node, i: int, g: Node) -> Node:
    axes = node.params.get("axes")
    if axes is None:
        return apply("transpose", g, axes=None)
    return apply("transpose", g, axes=tuple(int(a) for a in np.argsort([a % g.ndim for a in axes])))


ADJOINTS: dict[str, Callable[[Node, int, Node], Node]] = {
    "sum": _reduce_adjoint,
    "mean": _reduce_adjoint,
    "matmul": _matmul_adjoint,
    "transpose": _transpose_adjoint,
    "reshape": lambda node, i, g: apply("reshape", g, shape=node.args[0].shape),
    "index": lambda node, i, g: apply("unindex", g, key=node.params["key"],
                                      shape=node.args[0].shape),
    "unindex": lambda node, i, g: apply("index", g, key=node.params["key"]),
    "broadcast_to": lambda node, i, g: g,  # summed back by unbroadcast below
}
"""Adjoint rules of the rows that are not elementwise: ``(node, input index, g) -> cotangent``."""


def unbroadcast(c: Node, shape: tuple) -> Node:
    """Sum a cotangent back to an input's shape (the one place broadcasting is undone).

    >>> import symdiff as sd
    >>> unbroadcast(sd.var("g", (4, 3)), (3,)).shape
    (3,)
    """
    if c.shape == shape:
        return c
    lead = c.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + k for k, d in enumerate(shape) if d == 1 and c.shape[lead + k] != 1)
    out = apply("sum", c, axis=axes, keepdims=False) if axes else c
    return out if out.shape == shape else apply("reshape", out, shape=shape)


def contribution(node: Node, i: int, g: Node) -> Optional[Node]:
    """g times d(node)/d(arg i), summed back to the argument's shape."""
    row = PRIMITIVES[node.op]
    if row.vjp[i] is None:
        return None
    if row.kind == "elementwise":
        recipe = elementwise_partial(node, i)
        if recipe.one:
            c = g
        elif recipe.minus_one:
            c = apply("neg", g)
        else:
            c = apply("mul", g, recipe.replay(node.args, node))
    else:
        c = ADJOINTS[node.op](node, i, g)
    return unbroadcast(c, node.args[i].shape)


# ---------------------------------------------------------------------------
# the sweep
# ---------------------------------------------------------------------------

def grad(f: Node, wrt: Sequence[Node]) -> list[Node]:
    """Gradient graphs of a scalar ``f``, one per variable, each of the variable's shape.

    >>> import symdiff as sd
    >>> x, y = sd.var("x"), sd.var("y")
    >>> [g.sympy() for g in sd.grad(x * y + y**2, [x, y])]
    [y, x + 2*y]
    """
    if isinstance(wrt, Node):
        raise SymdiffError("sd.grad takes a list of variables; use sd.diff(f, x) for one")
    if f.size != 1:
        raise ShapeError(f"sd.grad/sd.diff: f has shape {f.shape}; derivatives here need a scalar "
                         "f (reduce it with sd.sum or sd.mean)")
    for w in wrt:
        if not isinstance(w, Node) or w.op not in ("var", "tensor"):
            raise SymdiffError(f"can only differentiate with respect to variables or tensors, "
                               f"not {w!r}")
    names = {w.name for w in wrt}
    order = topological([f])
    depends: set[int] = set()
    for n in order:
        if n.op in ("var", "tensor"):
            if n.name in names:
                depends.add(id(n))
        elif any(id(a) in depends for a in n.args):
            depends.add(id(n))
    cot: dict[int, Node] = {id(f): const(np.ones(f.shape)) if f.shape else const(1.0)}
    found: dict[str, Node] = {}
    for n in reversed(order):
        g = cot.pop(id(n), None)
        if g is None or id(n) not in depends:
            continue
        if n.op in ("var", "tensor"):
            found[n.name] = g if n.name not in found else apply("add", found[n.name], g)
            continue
        for i, a in enumerate(n.args):
            if id(a) not in depends:
                continue
            c = contribution(n, i, g)
            if c is None:
                continue
            prev = cot.get(id(a))
            cot[id(a)] = c if prev is None else apply("add", prev, c)
    out = [found.get(w.name, const(np.zeros(w.shape)) if w.shape else const(0.0)) for w in wrt]
    context = frozenset(n.name for n in order if n.op in ("var", "tensor")) | names | \
        f._cache.get("context", frozenset())
    for g in out:
        if g.is_leaf and g.op != "const":
            continue  # d(x)/dx-like results are the leaf itself: leave its cache alone
        g._cache["context"] = context
    return out


def diff(f: Node, x: Node) -> Node:
    """The derivative graph df/dx of a scalar ``f`` (shape of ``x``).

    >>> import symdiff as sd
    >>> x = sd.var("x")
    >>> sd.diff(x**2 + 3, x).sympy()
    2*x
    """
    return grad(f, [x])[0]
