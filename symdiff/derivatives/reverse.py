"""``sd.diff`` and ``sd.grad``: reverse mode on the graph, producing graphs.

The result is a Node graph, so a derivative can be evaluated, lowered, printed as a closed
form, or differentiated again. Each op of ``f`` adds a bounded number of nodes, so the
derivative grows linearly with ``f`` (no expression swell). The derivative with respect to
one scalar variable of a graph of scalar elementwise ops is built by forward mode instead
(see ``_forward_scalar``): fewer nodes, and the chain-rule form SymPy would print.

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

from symdiff.budget import gc_paused
from symdiff.errors import ShapeError, SymdiffError
from symdiff.symbolic.from_sympy import from_sympy
from symdiff.graph.node import Node, apply, const, topological
from symdiff.symbolic.functions import template


# ---------------------------------------------------------------------------
# building derivative nodes, with the algebra that keeps them small
# ---------------------------------------------------------------------------

def _is(n: Node, v: float) -> bool:
    """n is a float constant whose every element equals v."""
    if n.op != "const" or n.dtype != "float64":
        return False
    value = n._value
    return value.item() == v if value.ndim == 0 else bool(np.all(value == v))


_SIMPLIFIED = frozenset(("mul", "add", "sub", "div", "neg"))


def _ap(op: str, *args: Any, **params: Any) -> Node:
    """``apply`` for derivative graphs: folds constants and drops multiplications by one
    and additions of zero (the seed cotangent 1, broadcast ones), so formulas read as
    written by hand and evaluate with fewer passes over memory."""
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
        return const(out._value)
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


def _simplify2(op: str, a: Node, b: Node) -> Optional[Node]:
    """``_ap``'s rules for two float nodes of one shape, not both constant (so nothing
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
        for op, refs, params in self.steps:
            made.append(_ap(op, *[args[v] if kind == "arg" else out if kind == "out" else
                                  v if kind == "const" else made[v] for kind, v in refs],
                            **params))
        kind, v = self.result
        return args[v] if kind == "arg" else out if kind == "out" else \
            v if kind == "const" else made[v]


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
    params = node.params
    return _recipe(node.op, tuple(sorted(params.items())) if params else (), i)


# ---------------------------------------------------------------------------
# structural adjoints (hand-written, on nodes)
# ---------------------------------------------------------------------------

def _swap_last(x: Node) -> Node:
    axes = tuple(range(x.ndim - 2)) + (x.ndim - 1, x.ndim - 2)
    return _ap("transpose", x, axes=axes)


# Cotangents may carry leading batch axes (one per element of the output, for Jacobians):
# a cotangent of ``node`` has shape ``batch + node.shape``, so every rule below works on
# ``g.shape[:nb]`` untouched and on the trailing axes as usual.

def _batch(node: Node, g: Node) -> tuple:
    return g.shape[:g.ndim - node.ndim]


def _lift(g: Node, k: int) -> Node:
    """g with k trailing length-1 axes, so it broadcasts against a k-D array."""
    return _ap("reshape", g, shape=g.shape + (1,) * k) if k else g


def _expand(node: Node, g: Node) -> Node:
    """A reduction's cotangent (or value) broadcast back to its input's shape."""
    x = node.args[0]
    batch = _batch(node, g)
    axes = normalize_axis(node.params.get("axis"), x.ndim, node.op)
    kept = batch + tuple(1 if k in axes else d for k, d in enumerate(x.shape))
    if g.shape != kept:
        g = _ap("reshape", g, shape=kept)
    return _ap("broadcast_to", g, shape=batch + x.shape) if kept != batch + x.shape else g


def _reduce_adjoint(node: Node, i: int, g: Node) -> Node:
    x = node.args[0]
    axes = normalize_axis(node.params.get("axis"), x.ndim, node.op)
    g = _expand(node, g)
    if node.op == "mean":
        count = int(np.prod([x.shape[k] for k in axes], dtype=np.int64)) or 1
        g = _ap("div", g, float(count))
    return g


def _logsumexp_adjoint(node: Node, i: int, g: Node) -> Node:
    # d lse / dx = softmax(x) = exp(x - lse): the shifted form never overflows
    x = node.args[0]
    return _ap("mul", _expand(node, g), _ap("exp", _ap("sub", x, _expand(node, node))))


def _inv_t(x: Node) -> Node:
    return _ap("transpose", _ap("inv", x), axes=None)


def _matmul_adjoint(node: Node, i: int, g: Node) -> Node:
    x, y = node.args
    if i == 0:
        if y.ndim == 1:          # out[..., n] = x[..., n, k] y[k]: g[..., n, None] * y
            return _ap("mul", _lift(g, 1), y)
        if x.ndim == 1 and y.ndim == 2:   # out[m] = x[k] y[k, m]: g @ y.T, batch or not
            return _ap("matmul", g, _swap_last(y))
        if x.ndim == 1:          # out[..., m] = x[k] y[..., k, m]: (y @ g[..., None])[..., 0]
            col = _ap("matmul", y, _lift(g, 1))
            return _ap("reshape", col, shape=col.shape[:-1])   # batch axes summed later
        return _ap("matmul", g, _swap_last(y))
    if x.ndim == 1:
        if y.ndim == 1:
            return _ap("mul", _lift(g, 1), x)
        # (k,) @ (..., k, m) -> (..., m): the cotangent is x[:, None] * g[..., None, :]
        row = _ap("reshape", g, shape=g.shape[:-1] + (1,) + g.shape[-1:])
        return _ap("mul", _ap("reshape", x, shape=x.shape + (1,)), row)
    if y.ndim == 1 and x.ndim == 2:      # out[n] = x[n, k] y[k]: g @ x, batch or not
        return _ap("matmul", g, x)
    if y.ndim == 1:
        out = _ap("matmul", _swap_last(x), _lift(g, 1))
        return _ap("reshape", out, shape=out.shape[:-1])
    return _ap("matmul", _swap_last(x), g)


def _transpose_adjoint(node: Node, i: int, g: Node) -> Node:
    nb, nd = g.ndim - node.ndim, node.ndim
    axes = node.params.get("axes")
    perm = range(nd)[::-1] if axes is None else np.argsort([a % nd for a in axes])
    return _ap("transpose", g, axes=tuple(range(nb)) + tuple(nb + int(a) for a in perm))


def _batched_key(node: Node, g: Node) -> tuple:
    nb = g.ndim - node.ndim
    return (("slice", None, None, None),) * nb + tuple(node.params["key"])


def _inv_adjoint(node: Node, i: int, g: Node) -> Node:
    # d(X^-1) = -X^-1 dX X^-1, so the cotangent is -X^-T g X^-T
    t = _ap("transpose", node, axes=None)
    return _ap("neg", _ap("matmul", _ap("matmul", t, g), t))


def _scatter_adjoint(node: Node, i: int, g: Node) -> Node:
    # the transposed map (scatter with src and pos swapped), once per batch entry of g
    from numeric.primitives import Positions
    src, pos = (np.asarray(node.params[k], dtype=np.int64).reshape(-1) for k in ("src", "pos"))
    batch = _batch(node, g)
    if batch:
        b = np.arange(int(np.prod(batch, dtype=np.int64)), dtype=np.int64)[:, None]
        src, pos = (b * node.args[0].size + src).ravel(), (b * node.size + pos).ravel()
    return _ap("scatter", g, src=Positions(pos), pos=Positions(src),
               shape=batch + node.args[0].shape)


ADJOINTS: dict[str, Callable[[Node, int, Node], Node]] = {
    "sum": _reduce_adjoint,
    "mean": _reduce_adjoint,
    "matmul": _matmul_adjoint,
    "transpose": _transpose_adjoint,
    "reshape": lambda node, i, g: _ap("reshape", g, shape=_batch(node, g) + node.args[0].shape),
    "index": lambda node, i, g: _ap("unindex", g, key=_batched_key(node, g),
                                    shape=_batch(node, g) + node.args[0].shape),
    "unindex": lambda node, i, g: _ap("index", g, key=_batched_key(node, g)),
    "broadcast_to": lambda node, i, g: g,  # summed back by unbroadcast below
    "logsumexp": _logsumexp_adjoint,
    "norm": lambda node, i, g: _ap("mul", _lift(g, node.args[0].ndim),
                                   _ap("div", node.args[0], node)),
    "trace": lambda node, i, g: _ap("mul", _lift(g, 2), const(np.eye(node.args[0].shape[0]))),
    "det": lambda node, i, g: _ap("mul", _lift(_ap("mul", g, node), 2), _inv_t(node.args[0])),
    "logdet": lambda node, i, g: _ap("mul", _lift(g, 2), _inv_t(node.args[0])),
    "inv": _inv_adjoint,
    "scatter": _scatter_adjoint,
}
"""Adjoint rules of the rows that are not elementwise: ``(node, input index, g) -> cotangent``
(``g`` may have leading batch axes, see above)."""


def unbroadcast(c: Node, shape: tuple, nb: int = 0) -> Node:
    """Sum a cotangent back to an input's shape (the one place broadcasting is undone);
    the first ``nb`` axes of ``c`` are batch axes and are kept.

    >>> import symdiff as sd
    >>> unbroadcast(sd.var("g", (4, 3)), (3,)).shape
    (3,)
    """
    if not nb and c.shape == shape:
        return c
    target = c.shape[:nb] + tuple(shape)
    if c.shape == target:
        return c
    lead = c.ndim - nb - len(shape)
    axes = tuple(range(nb, nb + lead)) + tuple(
        nb + lead + k for k, d in enumerate(shape) if d == 1 and c.shape[nb + lead + k] != 1)
    out = _ap("sum", c, axis=axes, keepdims=False) if axes else c
    return out if out.shape == target else _ap("reshape", out, shape=target)


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
            c = _ap("neg", g)
        else:
            c = _ap("mul", g, recipe.replay(node.args, node))
    else:
        c = ADJOINTS[node.op](node, i, g)
    return unbroadcast(c, node.args[i].shape, len(g.shape) - len(node.shape))


# ---------------------------------------------------------------------------
# the sweep
# ---------------------------------------------------------------------------

def grad(f: Node, wrt: Sequence[Node]) -> list[Node]:
    """Gradient graphs of a scalar ``f``, one per variable, each of the variable's shape.
    Reverse mode; forward mode for one scalar variable when f's graph is scalar from it up.

    >>> import symdiff as sd
    >>> x, y = sd.var("x"), sd.var("y")
    >>> [g.sympy() for g in sd.grad(x * y + y**2, [x, y])]
    [y, x + 2*y]
    """
    if isinstance(wrt, Node):
        raise SymdiffError("sd.grad takes a list of variables; use sd.diff(f, x) for one")
    if f.size != 1:
        raise ShapeError(f"sd.grad/sd.diff: f has shape {f.shape}; derivatives here need a scalar "
                         "f (reduce it with sd.sum or sd.mean; sd.jacobian takes any shape)")
    wrt = list(wrt)
    order = topological([f])
    if len(wrt) == 1:
        out = _forward_scalar(f, wrt[0], order)
        if out is not None:
            return [out]
    return reverse(f, wrt, const(np.ones(f.shape)) if f.shape else const(1.0), order)


def _forward_scalar(f: Node, w: Node, order: list[Node]) -> Optional[Node]:
    """df/dw by forward mode, for a scalar variable ``w`` when every node between ``w`` and
    ``f`` is a scalar elementwise op; None otherwise (``reverse`` then does the work).

    Both modes multiply every local partial once: forward mode by the tangent of the
    input it is taken with respect to, reverse mode by the cotangent of the node it
    belongs to. A product by 1 is free, and the tangent of ``w`` is 1 where the
    cotangent of ``f`` is: so forward mode saves a product at every use of ``w``,
    reverse mode at every input of ``f``. On ``x*sin(x*sin(...x))``, which uses x at every
    level, forward mode has one op per level fewer (the derivative graph is 3 times f
    rather than 3.5) and builds the nested chain-rule form ``sin(f) + x*cos(f)*f'`` that
    ``sympy.diff`` prints; reverse mode's sum over the levels of products of cotangents
    is one op per level larger after ``sympy.cse`` too. ``order``: f's nodes from
    ``topological``.
    """
    if not isinstance(w, Node) or w.op not in ("var", "tensor") or w.shape != ():
        return None
    with gc_paused(len(order), _PAUSE_GC_NODES):
        out = _tangent(f, w.name, order)
    if out is not None:
        out = _remember_context([out], f, order, {w.name})[0]
    return out


def _tangent(f: Node, name: str, order: list[Node]) -> Optional[Node]:
    """The forward sweep of ``_forward_scalar``."""
    tangent: dict[int, Node] = {}
    one = const(1.0)
    for n in order:
        args = n.args
        if not args:
            if n.name == name and n.op in ("var", "tensor"):
                tangent[id(n)] = one
            continue
        row = None
        t = None
        for i, a in enumerate(args):
            ta = tangent.get(id(a))
            if ta is None:
                continue
            if row is None:
                row = PRIMITIVES[n.op]
                if row.kind != "elementwise" or n.shape != ():
                    return None
            if row.vjp[i] is None:
                continue
            recipe = elementwise_partial(n, i)
            if recipe.one:
                c = ta
            elif recipe.minus_one:
                c = _ap("neg", ta)
            else:
                c = recipe.replay(args, n)
                if ta is not one or c.dtype != "float64":  # else 1 * c is c
                    c = _ap("mul", ta, c)
            t = c if t is None else _ap("add", t, c)
        if t is not None:
            tangent[id(n)] = t
    out = tangent.get(id(f))
    return const(0.0) if out is None else out


_PAUSE_GC_NODES = 20_000
"""Graphs larger than this are differentiated with the cyclic garbage collector paused
(a derivative graph is a DAG of new nodes: no cycles for the collector to find)."""


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
    for w in wrt:
        if not isinstance(w, Node) or w.op not in ("var", "tensor"):
            raise SymdiffError(f"can only differentiate with respect to variables or tensors, "
                               f"not {w!r}")
    batch = seed.shape[:seed.ndim - f.ndim]
    if seed.shape != batch + f.shape:
        raise ShapeError(f"a seed of shape {seed.shape} does not end with f's shape {f.shape}")
    names = {w.name for w in wrt}
    if order is None:
        order = topological([f])
    with gc_paused(len(order), _PAUSE_GC_NODES):
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
            found[n.name] = g if n.name not in found else _ap("add", found[n.name], g)
            continue
        for i, a in enumerate(n.args):
            if id(a) not in depends:
                continue
            c = contribution(n, i, g)
            if c is None:
                continue
            prev = cot.get(id(a))
            cot[id(a)] = c if prev is None else _ap("add", prev, c)
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
    return grad(f, [x])[0]
