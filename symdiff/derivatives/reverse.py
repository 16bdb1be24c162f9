"""``sd.diff`` and ``sd.grad``: reverse mode on the graph, producing graphs.

The result is a Node graph, so a derivative can be evaluated, lowered, printed as a closed
form, or differentiated again. Each op of ``f`` adds a bounded number of nodes, so the
derivative grows linearly with ``f`` (no expression swell). The derivative with respect to
one scalar variable of a graph of scalar elementwise ops is built by forward mode instead
(``symdiff.derivatives.forward``): fewer nodes, and the chain-rule form SymPy would print.
Each node's contribution to its inputs' cotangents is ``symdiff.derivatives.adjoints``'s.

Below a ``where``, the sweep keeps the zero cotangent of the untaken branch zero through
partials that are nan there (``_Selected``; ``numeric.masking`` is the numeric side).

May import: numpy, ``numeric``, ``symdiff.errors``, ``symdiff.budget``, ``symdiff.graph``
and the other modules of ``symdiff.derivatives`` below it (build, recipes, adjoints,
forward).

>>> import symdiff as sd
>>> x = sd.var("x")
>>> sd.diff(sd.sin(x) * x, x).sympy()
x*cos(x) + sin(x)
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from numeric import PRIMITIVES, NumericShapeError, broadcast_shape
from symdiff.budget import gc_paused
from symdiff.derivatives.adjoints import contribution, local_contribution, unbroadcast
from symdiff.derivatives.build import PAUSE_GC_NODES, build
from symdiff.derivatives.forward import forward_scalar
from symdiff.derivatives.recipes import partial_recipe
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
    if any(n.op == "where" for n in order):
        return _Selected(depends).sweep(f, seed, order)
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


# Rows whose adjoint multiplies the cotangent by no forward value: a zero stays zero.
_VALUE_FREE = frozenset({"add", "sub", "neg", "where", "sum", "mean", "transpose", "reshape",
                         "index", "unindex", "broadcast_to", "scatter", "trace"})

Cond = tuple  # (a boolean node of f, the value of it whose branch was taken)


class _Selected:
    """The reverse sweep of a graph with ``where``: the untaken branch's partials, nan
    where its values are (sqrt(-1)), must not turn the zero cotangent it gets into nan.

    A ``where``'s branch is given the cotangent unmasked, with the condition it was taken
    under pending; each elementwise op carries it along (its contribution is
    ``where(c, g * partial, 0)`` once applied, never a product of a 0 with a nan), and it
    is applied where it cannot be carried further: at a variable (d/dx of
    ``where(x > 0, sqrt(x), 0)`` is ``where(x > 0, 0.5/sqrt(x), 0)``), before a sum over
    axes it varies along, at an op that is not elementwise (a condition on a scalar is
    carried through any op), and where two contributions with different conditions add
    up. Past such a point the cotangent has zeros no condition describes: the
    value-reading adjoints above it replace a non-finite contribution by 0 where the
    cotangent is 0 (entry by entry; for whole-array rows where it is 0 everywhere; for a
    matmul, the other operand's rows or columns that meet only zeros), as
    ``numeric.masking`` does numerically."""

    def __init__(self, depends: set) -> None:
        self.depends = depends
        self.cot: dict[int, Node] = {}
        self.pend: dict[int, tuple] = {}     # node id -> the conditions pending on it
        self.guard: set[int] = set()         # node ids with zeros no condition describes

    def sweep(self, f: Node, seed: Node, order: list[Node]) -> dict[str, Node]:
        self.cot[id(f)] = seed
        found: dict[str, Node] = {}
        for n in reversed(order):
            g = self.cot.pop(id(n), None)
            if g is None or id(n) not in self.depends:
                continue
            conds = self.pend.pop(id(n), ())
            guarded = id(n) in self.guard
            self.guard.discard(id(n))
            if n.op in ("var", "tensor"):
                g = _apply(g, conds)
                found[n.name] = g if n.name not in found else build("add", found[n.name], g)
                continue
            for i, a in enumerate(n.args):
                if id(a) in self.depends:
                    made = _contribution(n, i, g, conds, guarded)
                    if made is not None:
                        self.add(a, *made)
        return found

    def add(self, a: Node, c: Node, conds: tuple, guarded: bool) -> None:
        prev = self.cot.get(id(a))
        if prev is None:
            self.cot[id(a)] = c
            if conds:
                self.pend[id(a)] = conds
        else:
            before = self.pend.pop(id(a), ())
            common = tuple(x for x in before if any(_same(x, y) for y in conds))
            if len(common) < len(before) or len(common) < len(conds):
                prev = _apply(prev, [x for x in before if not any(_same(x, y) for y in common)])
                c = _apply(c, [y for y in conds if not any(_same(x, y) for x in common)])
                guarded = True
            self.cot[id(a)] = build("add", prev, c)
            if common:
                self.pend[id(a)] = common
        if guarded:
            self.guard.add(id(a))


def _contribution(n: Node, i: int, g: Node, conds: tuple,
                  guarded: bool) -> Optional[tuple[Node, tuple, bool]]:
    """``n``'s contribution to its input ``i`` as (node, pending conditions, guarded)."""
    row = PRIMITIVES[n.op]
    if row.vjp[i] is None:
        return None
    nb = g.ndim - n.ndim
    full = g.shape[:nb] + n.args[i].shape
    if n.op == "where":
        pre, conds = g, conds + ((n.args[0], i == 1),)
    elif row.kind == "elementwise":
        pre = local_contribution(n, i, g)
        if guarded and _reads_value(n, i):
            pre = _zero_where(pre, _is_zero(g))
    else:
        lost = [c for c in conds if c[0].shape != ()]
        if lost:
            g, conds, guarded = _apply(g, lost), tuple(c for c in conds if c[0].shape == ()), True
        if guarded and n.op == "matmul" and not nb and max(a.ndim for a in n.args) <= 2:
            pre = local_contribution(_meeting_nonzero(n, i, g), i, g)
        else:
            pre = local_contribution(n, i, g)
            if guarded and n.op not in _VALUE_FREE:
                pre = _zero_where(pre, _all_zero(g, nb, pre.ndim - nb))
    if pre.shape != full:
        shape = n.args[i].shape
        lost = [c for c in conds if not _fits(c[0], shape)]
        if lost:
            pre, guarded = _apply(pre, lost), True
            conds = tuple(c for c in conds if _fits(c[0], shape))
        pre = unbroadcast(pre, n.args[i].shape, nb)
    return pre, conds, guarded


def _meeting_nonzero(n: Node, i: int, g: Node) -> Node:
    """A matmul like ``n`` whose other operand is 0 where it meets only zeros of ``g``
    (its adjoint reads nothing else of the node): ``x.T @ g`` pairs row r of x with row r
    of g, ``g @ y.T`` column c of y with column c of g, so a nan in a row (column) that
    only an untaken branch needed is not multiplied by 0."""
    x, y = n.args
    mag = build("abs", g)
    if i == 1:
        if x.ndim == 1:      # outer(x, g): every entry of x meets all of g
            zero = build("sum", mag, axis=None, keepdims=False)
        elif y.ndim == 1:    # g has x's rows
            zero = build("reshape", mag, shape=mag.shape + (1,))
        else:
            zero = build("sum", mag, axis=-1, keepdims=True)
        return Node("matmul", (_zero_where(x, build("less_equal", zero, 0.0)), y), {}, n.shape)
    if y.ndim == 1:
        zero = build("sum", mag, axis=None, keepdims=False)
    elif x.ndim == 1:        # g has y's columns
        zero = build("reshape", mag, shape=(1,) + mag.shape)
    else:
        zero = build("sum", mag, axis=-2, keepdims=True)
    return Node("matmul", (x, _zero_where(y, build("less_equal", zero, 0.0))), {}, n.shape)


def _same(x: Cond, y: Cond) -> bool:
    return x[0] is y[0] and x[1] == y[1]   # by identity: == on nodes builds a node


def _apply(c: Node, conds: Sequence[Cond]) -> Node:
    """``c`` with each pending condition applied: 0 where the branch was not taken."""
    for cond, taken in conds:
        c = build("where", cond, c, 0.0) if taken else build("where", cond, 0.0, c)
    return c


def _fits(cond: Node, shape: tuple) -> bool:
    """Whether ``cond`` indexes only axes of ``shape`` (a node's, not the batch axes in
    front of it: a condition of shape (4,) must not line up with 4 batch rows)."""
    if cond.ndim > len(shape):
        return False
    try:
        return broadcast_shape(cond.shape, shape) == tuple(shape)
    except NumericShapeError:
        return False


def _reads_value(n: Node, i: int) -> bool:
    """Whether the partial of elementwise ``n`` for input ``i`` reads a value (a constant
    partial, as 2 in 2*x, cannot turn a zero into nan)."""
    if n.op in _VALUE_FREE:
        return False
    recipe = partial_recipe(n, i)
    return not (recipe.one or recipe.minus_one or recipe.result[0] == "const")


def _zero_where(c: Node, zero: Node) -> Node:
    """``c`` with its non-finite entries made 0 where ``zero`` holds. A finite entry is
    kept as it is even there: a cotangent that is 0 only at this point (an off-diagonal
    entry at a diagonal matrix) still has a derivative, which a plain
    ``where(zero, 0, c)`` would cut from the second derivative."""
    finite = build("less", build("abs", c), np.inf)
    return build("where", finite, c, build("where", zero, 0.0, c))


def _is_zero(g: Node) -> Node:
    return build("less_equal", build("abs", g), 0.0)     # nan is not a zero to keep


def _all_zero(g: Node, nb: int, trailing: int) -> Node:
    """Per batch entry: is the cotangent zero everywhere (shaped to mask a contribution
    with ``trailing`` non-batch axes)."""
    total = build("abs", g)
    if g.ndim > nb:
        total = build("sum", total, axis=tuple(range(nb, g.ndim)), keepdims=False)
    if nb and trailing:   # (a reshaped comparison would be a float, not a condition)
        total = build("reshape", total, shape=total.shape + (1,) * trailing)
    return build("less_equal", total, 0.0)


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
