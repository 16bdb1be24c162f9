"""Shared helpers for the table sweep and the property tests.

* sampling points for a row of ``numeric.PRIMITIVES`` (inside ``row.domain.sample``, away
  from ``row.domain.kink``), and a VJP-vs-central-difference comparison on one input;
* hypothesis strategies that build random expression graphs with ``symdiff`` over scalar
  variables ``x, y`` (``scalar_graphs``) or small arrays with broadcasting (``array_graphs``),
  keeping every value inside its op's domain and bounded;
* ``near_kink``: whether a graph, at a point, is within a margin of a kink or a branch
  switch of one of its ops (where finite differences are not a valid oracle).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import numpy as np
from hypothesis import strategies as st

import numeric
import symdiff as sd
from numeric import PRIMITIVES

# ---------------------------------------------------------------------------
# table rows: points and VJP checks
# ---------------------------------------------------------------------------

KINK_GRID = 0.01
"""Inputs whose values, rounded to this grid (two grids offset by half a step), hit a kink
are resampled: every sampled point is at least ``KINK_GRID / 2`` from any kink."""


def boolean_inputs(name: str) -> set:
    """Inputs of an elementwise row that are conditions (a symbol used as a Piecewise
    condition in the row's SymPy formula), e.g. input 0 of ``where``."""
    row = PRIMITIVES[name]
    if row.kind != "elementwise":
        return set()
    import sympy
    from symdiff.sympy_functions import template

    t = template(name)
    conds = {c for p in t.expr.atoms(sympy.Piecewise) for _, c in p.args}
    return {i for i, a in enumerate(t.args) if a in conds}


def _rounded(x: Any, offset: float) -> Any:
    if np.asarray(x).dtype == np.bool_:
        return x
    return np.round((np.asarray(x) + offset) / KINK_GRID) * KINK_GRID


def near_row_kink(row: numeric.Primitive, xs: Sequence[Any], params: dict) -> bool:
    """True if the row's kink predicate holds at the inputs rounded to the kink grid."""
    if row.domain.kink is None:
        return False
    for offset in (0.0, KINK_GRID / 2):
        with np.errstate(all="ignore"):
            if np.any(row.domain.kink(*[_rounded(x, offset) for x in xs], **params)):
                return True
    return False


def draw_inputs(row: numeric.Primitive, shapes: Sequence[tuple], params: dict,
                rng: np.random.Generator, tries: int = 200) -> list:
    """Inputs of the given shapes drawn from ``row.domain.sample``, away from kinks;
    boolean inputs (``where``'s condition) are drawn as ``uniform(lo, hi) > 0``."""
    bools = boolean_inputs(row.name)
    for _ in range(tries):
        xs = []
        for i, (shape, (lo, hi)) in enumerate(zip(shapes, row.domain.sample)):
            v = np.asarray(row.domain.draw(rng, shape) if row.domain.draw else
                           rng.uniform(lo, hi, size=shape), dtype=np.float64)
            xs.append(v > 0 if i in bools else v)
        if not near_row_kink(row, xs, params):
            return xs
    raise AssertionError(f"{row.name}: no point away from its kinks in {tries} tries")


@dataclass
class VjpComparison:
    """sum(vjp_i(g) * d) against the central difference of sum(g * forward) along d."""

    analytic: float
    numeric: float
    cotangent_shape: tuple

    def close(self, rtol: float, atol: float) -> bool:
        return abs(self.analytic - self.numeric) <= atol + rtol * max(abs(self.analytic),
                                                                       abs(self.numeric))


def compare_vjp(row: numeric.Primitive, xs: Sequence[Any], params: dict, i: int,
                rng: np.random.Generator, rule: Optional[Callable] = None,
                eps: float = 1e-6) -> VjpComparison:
    """Random g (output's shape) and d (input i's shape); the engine's unbroadcast
    (``numeric.sum_to``) is applied to the cotangent, as the engine does."""
    rule = rule if rule is not None else row.vjp[i]
    out = row.forward(*xs, **params)
    g = rng.standard_normal(np.shape(out))
    x = np.asarray(xs[i], dtype=np.float64)
    d = rng.standard_normal(x.shape)
    raw = rule(g, out, *xs, **params)
    c = numeric.sum_to(raw, x.shape)

    def f(t: float) -> float:
        moved = list(xs)
        moved[i] = x + t * d
        return float(np.sum(g * row.forward(*moved, **params)))

    return VjpComparison(float(np.sum(c * d)), (f(eps) - f(-eps)) / (2 * eps), np.shape(c))


# ---------------------------------------------------------------------------
# graphs: kinks at a point
# ---------------------------------------------------------------------------

def domain_violations(f: sd.Node, point: dict) -> list:
    """Ops of ``f`` evaluated outside their ``domain.valid`` at ``point``."""
    from symdiff.lower import bind, lower

    lowered = lower(f)
    vals = lowered.program.values(*bind(lowered, point, {}))
    bad = []
    for n in f.nodes():
        valid = None if n.is_leaf else PRIMITIVES[n.op].domain.valid
        if valid is not None:
            xs = [vals[lowered.slots[id(a)]] for a in n.args]
            with np.errstate(all="ignore"):
                if not np.all(valid(*xs, **n.params)):
                    bad.append(n.op)
    return bad


def near_kink(f: sd.Node, point: dict, margin: float = 1e-4) -> list:
    """Ops of ``f`` whose inputs, at ``point``, lie within about ``margin`` of a kink of
    the op (a tie of maximum or of a comparison, relu/abs at 0, ...): there, central
    differences straddle the kink and disagree with any derivative."""
    from symdiff.lower import bind, lower

    lowered = lower(f)
    vals = lowered.program.values(*bind(lowered, point, {}))
    hits = []
    for n in f.nodes():
        if n.is_leaf:
            continue
        dom = PRIMITIVES[n.op].domain
        if dom.kink is None:
            continue
        xs = [vals[lowered.slots[id(a)]] for a in n.args]
        for offset in (0.0, margin / 2):
            def rnd(v: Any) -> Any:
                v = np.asarray(v)
                return v if v.dtype == np.bool_ else np.round((v + offset) / margin) * margin
            with np.errstate(all="ignore"):
                if np.any(dom.kink(*[rnd(v) for v in xs], **n.params)):
                    hits.append(n.op)
                    break
    return hits


# ---------------------------------------------------------------------------
# random graphs
# ---------------------------------------------------------------------------

LIMIT = 20.0
"""Values are kept below about this magnitude: a subexpression whose bound exceeds it is
squashed (``tanh``/scaled) before it feeds another op, so nothing overflows."""

POINT = st.integers(-16, 16).map(lambda k: k / 8)
"""Point coordinates: multiples of 1/8 in [-2, 2]. Exact ties (maximum(x, y) at x == y)
happen often and are reported by check; near-ties that no one reports are rare."""

UNARY = ["sin", "cos", "tanh", "sigmoid", "neg", "exp", "log", "sqrt", "tan", "abs", "relu",
         "sign", "step", "pow", "square"]
BINARY = ["add", "sub", "mul", "div", "pow_tensor", "maximum", "minimum", "where", "compare"]
ARRAY_ONLY = ["sum", "mean", "matmul", "transpose", "reshape", "index"]
POWERS = [2, 3, -1, -2, 0.5, 1.5, -0.5, -2.5]


@dataclass
class Entry:
    node: sd.Node
    bound: float
    used: bool = False


@dataclass
class Graph:
    """A random graph, the scalar f to check, its variables and the ops it used."""

    f: sd.Node
    variables: dict
    ops: list = field(default_factory=list)

    def __repr__(self) -> str:  # hypothesis prints this for a failing example
        try:
            text = str(self.f.sympy())
        except Exception:  # noqa: BLE001 - only for display
            text = f"<{len(self.f.nodes())} nodes>"
        return f"Graph({text}, ops={self.ops})"


def _squash(e: Entry) -> Entry:
    if e.bound <= LIMIT:
        return e
    return Entry(sd.tanh(e.node * (1.0 / e.bound)) * 3.0, 3.0)


def _positive(e: Entry) -> Entry:
    """A strictly positive expression (>= 0.5) of a bounded entry."""
    return Entry(e.node * e.node + 0.5, e.bound * e.bound + 0.5)


def _unary(op: str, e: Entry, draw: Any) -> Entry:
    a, b = e.node, e.bound
    if op in ("sin", "cos"):
        return Entry(getattr(sd, op)(a), 1.0)
    if op in ("tanh", "sigmoid"):
        return Entry(getattr(sd, op)(a), 1.0)
    if op == "neg":
        return Entry(-a, b)
    if op == "exp":
        return Entry(sd.exp(sd.tanh(a) * 2.0), float(np.exp(2.0)))
    if op == "log":
        p = _positive(e)
        return Entry(sd.log(p.node), float(np.log(p.bound)) + 1.0)
    if op == "sqrt":
        p = _positive(e)
        return Entry(sd.sqrt(p.node), float(np.sqrt(p.bound)))
    if op == "tan":
        return Entry(sd.tan(sd.tanh(a) * 1.2), float(np.tan(1.2)))
    if op == "abs":
        return Entry(sd.abs(a), b)
    if op == "relu":
        return Entry(sd.relu(a), b)
    if op == "sign":
        return Entry(sd.sign(a) * a, b)
    if op == "step":
        return Entry(sd.step(a, draw(st.sampled_from([0.0, 0.5, 1.0]))) + a, b + 1.0)
    if op == "square":
        return Entry(a * a, b * b)
    if op == "pow":
        p = draw(st.sampled_from(POWERS))
        if isinstance(p, int) and p > 0:
            return Entry(a ** p, b ** p)
        base = _positive(e)
        return Entry(base.node ** p, max(base.bound ** p, 0.5 ** p))
    raise AssertionError(op)


def _compare(cmp: str, a: sd.Node, b: sd.Node) -> sd.Node:
    return a > b if cmp == ">" else a >= b if cmp == ">=" else a < b if cmp == "<" else a <= b


def _binary(op: str, e1: Entry, e2: Entry, draw: Any) -> Entry:
    a, b = e1.node, e2.node
    if op == "add":
        return Entry(a + b, e1.bound + e2.bound)
    if op == "sub":
        return Entry(a - b, e1.bound + e2.bound)
    if op == "mul":
        return Entry(a * b, e1.bound * e2.bound)
    if op == "div":
        den = _positive(e2)
        return Entry(a / den.node, e1.bound / 0.5)
    if op == "pow_tensor":
        base = _positive(e1)
        return Entry(base.node ** sd.tanh(b), max(base.bound, 2.0))
    if op == "maximum":
        return Entry(sd.maximum(a, b), max(e1.bound, e2.bound))
    if op == "minimum":
        return Entry(sd.minimum(a, b), max(e1.bound, e2.bound))
    if op == "where":
        cond = _compare(draw(st.sampled_from([">", ">=", "<", "<="])), a, b)
        # the branches: the two operands swapped, or a smooth function of them
        if draw(st.booleans()):
            return Entry(sd.where(cond, b, a), max(e1.bound, e2.bound))
        return Entry(sd.where(cond, a * b, sd.sin(a)), max(e1.bound * e2.bound, 1.0))
    if op == "compare":
        # a comparison taking part in arithmetic as 0.0 / 1.0 (numpy's and PyTorch's habit)
        cond = _compare(draw(st.sampled_from(["<", "<=", ">", ">="])), a, b)
        return Entry(cond * a + b, e1.bound + e2.bound)
    raise AssertionError(op)


def _pick(draw: Any, pool: list) -> Entry:
    # favour recent entries, so graphs get deep rather than only wide
    k = draw(st.integers(0, len(pool) - 1))
    if draw(st.booleans()):
        k = len(pool) - 1 - min(k, 2)
    pool[k].used = True
    return _squash(pool[k])


def _sinks(pool: list, leaves: int) -> list:
    """The entries no later op used (the last one always): f adds them all up, so every
    op drawn is part of f."""
    return [e for k, e in enumerate(pool) if k >= leaves and (not e.used or k == len(pool) - 1)]


@st.composite
def scalar_graphs(draw: Any, max_ops: int = 8) -> Graph:
    """A random scalar graph over ``x`` and ``y`` (shared subexpressions allowed)."""
    x, y = sd.var("x"), sd.var("y")
    pool = [Entry(x, 2.0), Entry(y, 2.0),
            Entry(sd.const(draw(st.sampled_from([0.5, 1.5, -2.0, 3.0]))), 3.0)]
    ops: list = []
    for _ in range(draw(st.integers(2, max_ops))):
        op = draw(st.sampled_from(UNARY + BINARY))
        if op in UNARY:
            pool.append(_unary(op, _pick(draw, pool), draw))
        else:
            pool.append(_binary(op, _pick(draw, pool), _pick(draw, pool), draw))
        ops.append(op)
    f = None
    for e in _sinks(pool, 3):
        f = _squash(e).node if f is None else f + _squash(e).node
    if draw(st.booleans()):          # reuse an earlier subexpression as well
        f = f + _pick(draw, pool[:-1]).node * 0.5
    return Graph(f, {"x": x, "y": y}, ops)


# -- arrays -------------------------------------------------------------------

SHAPES = [(), (2,), (3, 2)]


def _reshapes(shape: tuple) -> list:
    size = int(np.prod(shape, dtype=np.int64))
    return {1: [(), (1,), (1, 1)], 2: [(2,), (1, 2), (2, 1)],
            3: [(3,), (3, 1), (1, 3)], 4: [(4,), (2, 2)],
            6: [(6,), (2, 3), (3, 2), (6, 1), (2, -1)], 9: [(9,), (3, 3)]}.get(size, [(-1,)])


def _index_keys(shape: tuple) -> list:
    keys: list = [(None,), (Ellipsis, None)]
    if len(shape) >= 1:
        keys += [(0,), (-1,), (("slice", None, None, 2),), (("slice", 1, None, None),)]
    if len(shape) >= 2:
        keys += [(("slice", None, None, None), 0), (Ellipsis, -1), (0, ("slice", None, None, 2)),
                 (("slice", None, None, -1),)]
    out = []
    for k in keys:
        try:
            PRIMITIVES["index"].shape(shape, key=k)
        except numeric.NumericShapeError:
            continue
        if PRIMITIVES["index"].shape(shape, key=k) != (0,) and 0 not in \
                PRIMITIVES["index"].shape(shape, key=k):
            out.append(k)
    return out


def _array_op(op: str, draw: Any, pool: list) -> Optional[Entry]:
    from symdiff.node import apply

    e = _pick(draw, pool)
    a = e.node
    if op in ("sum", "mean"):
        axes = [None] + list(range(-a.ndim, a.ndim)) + ([(0, 1)] if a.ndim == 2 else [])
        axis = draw(st.sampled_from(axes))
        keep = draw(st.booleans())
        fn = sd.sum if op == "sum" else sd.mean
        node = fn(a, axis=axis, keepdims=keep)
        bound = e.bound * (max(a.size, 1) / max(node.size, 1) if op == "sum" else 1.0)
        return Entry(node, bound)
    if op == "transpose":
        if a.ndim == 2 and draw(st.booleans()):
            return Entry(sd.transpose(a, draw(st.sampled_from([(1, 0), (0, 1), (-1, 0)]))),
                         e.bound)
        return Entry(a.T, e.bound)
    if op == "reshape":
        return Entry(sd.reshape(a, draw(st.sampled_from(_reshapes(a.shape)))), e.bound)
    if op == "index":
        keys = _index_keys(a.shape)
        return Entry(apply("index", a, key=draw(st.sampled_from(keys))), e.bound)
    if op == "matmul":
        e2 = _pick(draw, pool)
        b = e2.node
        options = []
        for lhs, rhs in [(a, b), (a.T, b), (a, b.T), (b, a), (a.T, a), (a, a.T)]:
            if lhs.ndim == 0 or rhs.ndim == 0:
                continue
            try:
                PRIMITIVES["matmul"].shape(lhs.shape, rhs.shape)
            except numeric.NumericShapeError:
                continue
            options.append((lhs, rhs))
        if not options:
            return None
        lhs, rhs = draw(st.sampled_from(options))
        inner = lhs.shape[-1]
        bound = max(e.bound, e2.bound) ** 2 * inner
        return Entry(lhs @ rhs, bound)
    raise AssertionError(op)


def _broadcastable(s1: tuple, s2: tuple) -> bool:
    try:
        numeric.broadcast_shape(s1, s2)
        return True
    except numeric.NumericShapeError:
        return False


@st.composite
def array_graphs(draw: Any, max_ops: int = 7) -> Graph:
    """A random graph over ``s`` (scalar), ``v`` of shape (2,) and ``A`` of shape (3, 2),
    mixing elementwise ops (with broadcasting) and sums, means, matmul, transposes,
    reshapes and indexing; reduced to a scalar with ``sd.sum`` at the end."""
    s, v, A = sd.var("s"), sd.var("v", (2,)), sd.var("A", (3, 2))
    pool = [Entry(s, 2.0), Entry(v, 2.0), Entry(A, 2.0),
            Entry(sd.const(np.array([0.5, -1.5])), 1.5)]
    ops: list = []
    for _ in range(draw(st.integers(2, max_ops))):
        op = draw(st.sampled_from(UNARY + BINARY + ARRAY_ONLY * 2))
        if op in UNARY:
            made = _unary(op, _pick(draw, pool), draw)
        elif op in BINARY:
            e1 = _pick(draw, pool)
            partners = [p for p in pool if _broadcastable(e1.node.shape, p.node.shape)]
            made = _binary(op, e1, _squash(draw(st.sampled_from(partners))), draw)
        else:
            made = _array_op(op, draw, pool)
        if made is None:
            continue
        pool.append(made)
        ops.append(op)
    f = None
    for e in _sinks(pool, 4):
        term = _squash(e).node
        term = term if term.shape == () else sd.sum(term)
        f = term if f is None else f + term
    if f is None:                    # every op was skipped: use a variable
        f = sd.sum(v * v)
    if draw(st.booleans()):
        f = f + sd.sum(_pick(draw, pool[:-1]).node) * 0.5
    return Graph(f, {"s": s, "v": v, "A": A}, ops)


@st.composite
def points(draw: Any, variables: dict) -> dict:
    """A point for the variables: every coordinate a multiple of 1/8 in [-2, 2]."""
    out = {}
    for name, node in variables.items():
        n = int(np.prod(node.shape, dtype=np.int64))
        vals = draw(st.lists(POINT, min_size=n, max_size=n))
        out[name] = np.array(vals, dtype=np.float64).reshape(node.shape) if node.shape \
            else float(vals[0])
    return out
