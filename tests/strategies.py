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
from symdiff.graph.walks import free_names
from symdiff.budget import OutOfTime, run_within
from symdiff.lowering import domain
from symdiff.lowering.domain import KINK_GRID, domain_problems

# ---------------------------------------------------------------------------
# table rows: points and VJP checks
# ---------------------------------------------------------------------------

def boolean_inputs(name: str) -> set:
    """Inputs of an elementwise row that are conditions (a symbol used as a Piecewise
    condition in the row's SymPy formula), e.g. input 0 of ``where``."""
    row = PRIMITIVES[name]
    if row.kind != "elementwise":
        return set()
    import sympy
    from symdiff.symbolic.functions import template

    t = template(name)
    conds = {c for p in t.expr.atoms(sympy.Piecewise) for _, c in p.args}
    return {i for i, a in enumerate(t.args) if a in conds}


def near_row_kink(row: numeric.Primitive, xs: Sequence[Any], params: dict) -> bool:
    """True if the row's kink predicate holds at the inputs rounded to the kink grid
    (``KINK_GRID``, the grid sd.verify uses; two grids offset by half a step): inputs near
    a kink are resampled, so every sampled point is at least ``KINK_GRID / 2`` from one."""
    return domain.near_kink(row.domain, xs, params, KINK_GRID)


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

def values_at(f: sd.Node, point: dict) -> Callable[[sd.Node], np.ndarray]:
    """Every node's value in ``f``'s lowered program at ``point``, looked up by node."""
    from symdiff.lowering.lower import bind, lower

    lowered = lower(f)
    value = domain.values_at(lowered, bind(lowered, point, {}))
    return lambda n: np.asarray(value(n))


def domain_violations(f: sd.Node, point: dict) -> list:
    """Ops of ``f`` evaluated outside their ``domain.valid`` at ``point``."""
    return [p.node.op for p in domain_problems(f.nodes(), values_at(f, point), kink=None)]


def near_kink(f: sd.Node, point: dict, margin: float = 1e-4) -> list:
    """Ops of ``f`` whose inputs, at ``point``, lie within about ``margin`` of a kink of
    the op (a tie of maximum or of a comparison, relu/abs at 0, ...): there, central
    differences straddle the kink and disagree with any derivative."""
    def near(dom: Any, xs: Sequence[Any], params: dict) -> bool:
        return domain.near_kink(dom, xs, params, margin)

    return [p.node.op for p in domain_problems(f.nodes(), values_at(f, point), valid=False,
                                               kink=near)]


def norm_of_zero(f: sd.Node, point: dict) -> bool:
    """Whether a ``norm`` in ``f`` is exactly 0 at ``point`` (its input 0, or so small that
    its square underflows). There its derivative graph's x / |x| is 0/0 (nan, the closed
    form's value) while reverse mode takes PyTorch's subgradient 0; docs/reliability.md
    states the difference."""
    if not any(n.op == "norm" for n in f.nodes()):
        return False
    value = values_at(f, point)
    # the norm's value, not its input: [0, 1e-210] squares to 0 and is a norm of 0 too;
    # a norm along an axis is 0 where one slice is
    return any(n.op == "norm" and n.params.get("ord", 2.0) == 2 and not np.all(value(n))
               for n in f.nodes())


def node_near_kink(n: sd.Node, xs: Sequence[Any], margin: float = 1e-4) -> bool:
    """Whether the op of node ``n``, at inputs ``xs``, is within about ``margin`` of one
    of its kinks (its row's ``domain.kink`` on the inputs rounded to a grid of that step,
    two grids offset by half a step)."""
    return domain.near_kink(PRIMITIVES[n.op].domain, xs, n.params, margin)


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
    depth: int = 0          # table_graphs: the longest chain of generated ops

    def __repr__(self) -> str:  # hypothesis prints this for a failing example
        try:       # SymPy's printing of a nested graph can take minutes: 2 s at most
            text = run_within(2.0, lambda: str(self.f.sympy()))
        except (Exception, OutOfTime):  # noqa: BLE001 - only for display
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
    from symdiff.graph.node import apply

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
        pair = _matmul_pair(draw, a, b)
        if pair is None:
            return None
        lhs, rhs = pair
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
def points(draw: Any, variables: dict, coordinate: Any = POINT) -> dict:
    """A point for the variables: every coordinate drawn from ``coordinate`` (by default
    a multiple of 1/8 in [-2, 2])."""
    out = {}
    for name, node in variables.items():
        n = int(np.prod(node.shape, dtype=np.int64))
        vals = draw(st.lists(coordinate, min_size=n, max_size=n))
        out[name] = np.array(vals, dtype=np.float64).reshape(node.shape) if node.shape \
            else float(vals[0])
    return out


# ---------------------------------------------------------------------------
# graphs over every row a user can build, up to depth 12 (the cross-checks)
# ---------------------------------------------------------------------------

INTERNAL_ROWS = {
    "unindex": "the adjoint of index: sd.diff / sd.grad make it (and the parser's block "
               "matrices); no function or operator builds it",
    "scatter": "decompresses sparse Hessians inside sd.hessian; symdiff.graph.ops.scatter is not "
               "in the sd namespace",
    "cofactor": "det's gradient: sd.diff / sd.grad make it; no function builds it",
}
"""Rows of the table with no public builder. ``table_graphs`` generates every other row
(a test fails when a new row is neither generated nor listed here); these two reach the
oracles through derivative graphs (``sd.grad``) and sparse Hessians (``sd.hessian``)."""

USER_ROWS = tuple(sorted(set(PRIMITIVES) - set(INTERNAL_ROWS)))

MAX_DEPTH = 12
"""Longest chain of generated ops from a variable to f (guards not counted)."""

WIDE = 6.0
"""Inputs of ops whose ``domain.sample`` is the default (-3, 3) are kept in (-6, 6)."""


@dataclass
class Ranged:
    """A pool entry of ``table_graphs``: a node, an interval holding every one of its
    entries' values at any point of [-2, 2]^n, and its depth in generated ops."""

    node: sd.Node
    lo: float
    hi: float
    depth: int = 0
    used: bool = False

    @property
    def mag(self) -> float:
        return max(abs(self.lo), abs(self.hi))


def _margin(lo: float, hi: float) -> tuple:
    pad = 1e-9 + 1e-3 * (hi - lo)
    return float(lo) - pad, float(hi) + pad


def _ew_range(name: str, ins: Sequence[Ranged], params: dict) -> tuple:
    """The range of an elementwise row over the inputs' boxes, from its numpy forward on a
    grid (ends and 0 included) widened by a margin: conservative enough, as every guard
    keeps its interval a margin inside the row's ``valid`` set."""
    axes = []
    for e in ins:
        pts = np.linspace(e.lo, e.hi, 401 if len(ins) == 1 else 41)
        if e.lo < 0 < e.hi:
            pts = np.append(pts, 0.0)
        axes.append(pts)
    grids = np.meshgrid(*axes, indexing="ij")
    with np.errstate(all="ignore"):
        out = np.asarray(PRIMITIVES[name].forward(*grids, **params), dtype=np.float64)
    assert np.all(np.isfinite(out)), f"{name} on {[(e.lo, e.hi) for e in ins]}: not finite"
    return _margin(out.min(), out.max())


def _interval(name: str, i: int, params: dict) -> tuple:
    """Where input i of a row is kept: its ``domain.sample``, widened to (-WIDE, WIDE)
    when that is the default (-3, 3) (the op is defined on all reals)."""
    from numeric.primitives import R

    if name == "pow" and float(params["p"]).is_integer() and params["p"] > 0:
        return (-WIDE, WIDE)       # x**2, x**3: any real base
    lo, hi = PRIMITIVES[name].domain.sample[i]
    return (-WIDE, WIDE) if (lo, hi) == R else (lo, hi)


def _fit(e: Ranged, lo: float, hi: float, how: str) -> Ranged:
    """``e`` as is when its range lies in [lo, hi]; else mapped into it, by an affine map
    (keeps the values' spread) or a tanh squash."""
    if lo <= e.lo and e.hi <= hi:
        return e
    mid, half = (lo + hi) / 2, (hi - lo) / 2
    if how == "tanh" or e.hi - e.lo < 1e-12:
        c, w = (e.lo + e.hi) / 2, max((e.hi - e.lo) / 2, 1e-12)
        x = e.node if c == 0 else e.node - c
        t = float(np.tanh(1.0))
        return Ranged(sd.tanh(x * (1.0 / w)) * half + mid, mid - half * t, mid + half * t,
                      e.depth)
    k = (hi - lo) / (e.hi - e.lo)
    if k > MAX_GAIN:
        # a range only a margin wide (a constant such as sign of a positive input): the
        # affine map would magnify rounding 1e8-fold, and the fused evaluator (which may
        # round differently from torch or from the ops one by one) then disagrees by far
        # more than any tolerance; centred, with the gain capped, it stays inside [lo, hi]
        c, w = (e.lo + e.hi) / 2, (e.hi - e.lo) / 2
        return Ranged((e.node - c) * MAX_GAIN + mid, mid - MAX_GAIN * w, mid + MAX_GAIN * w,
                      e.depth)
    return Ranged((e.node - e.lo) * k + lo, lo, hi, e.depth)


MAX_GAIN = 1e3
"""The largest factor ``_fit``'s affine map stretches a range by."""


def _pick_ranged(draw: Any, pool: list, ok: Callable[[Ranged], bool] = lambda e: True
                 ) -> Optional[Ranged]:
    """An entry below MAX_DEPTH satisfying ``ok``; the most recent ones are favoured, so
    graphs grow deep as well as wide."""
    idx = [k for k, e in enumerate(pool) if e.depth < MAX_DEPTH and ok(pool[k])]
    if not idx:
        return None
    how = draw(st.integers(0, 3))
    if how <= 1:                         # half the time the deepest entry (ties: the latest)
        k = max(idx, key=lambda j: (pool[j].depth, j))
    elif how == 2:                       # or one of the latest three
        k = draw(st.sampled_from(idx[-3:]))
    else:
        k = draw(st.sampled_from(idx))
    pool[k].used = True
    return pool[k]


def _guarded(draw: Any, name: str, i: int, e: Ranged, params: dict) -> Ranged:
    lo, hi = _interval(name, i, params)
    return _fit(e, lo, hi, draw(st.sampled_from(["affine", "tanh"])))


_UNARY_BUILD = {"neg": lambda a, **_: -a, "abs": lambda a, **_: abs(a),
                "pow": lambda a, p: a ** p, "step": lambda a, h0: sd.step(a, h0)}
_BINARY_BUILD = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b,
                 "mul": lambda a, b: a * b, "div": lambda a, b: a / b,
                 "pow_tensor": lambda a, b: a ** b,
                 "maximum": sd.maximum, "minimum": sd.minimum,
                 "logaddexp": sd.logaddexp}   # issue 14
_COMPARE_BUILD = {"greater": lambda a, b: a > b, "greater_equal": lambda a, b: a >= b,
                  "less": lambda a, b: a < b, "less_equal": lambda a, b: a <= b}
_PARAMS = {"pow": lambda draw: {"p": draw(st.sampled_from(POWERS + [1, 0]))},
           "step": lambda draw: {"h0": draw(st.sampled_from([0.0, 0.5, 1.0]))}}


def _depth(*es: Ranged) -> int:
    return 1 + max(e.depth for e in es)


def _build_unary(name: str, draw: Any, pool: list) -> Optional[Ranged]:
    e = _pick_ranged(draw, pool)
    params = _PARAMS.get(name, lambda d: {})(draw)
    x = _guarded(draw, name, 0, e, params)
    node = _UNARY_BUILD.get(name, lambda a, **_: getattr(sd, name)(a))(x.node, **params)
    return Ranged(node, *_ew_range(name, [x], params), _depth(e))


def _partner(draw: Any, pool: list, e: Ranged) -> Optional[Ranged]:
    """A second input broadcastable with ``e``; ``e`` itself one time in eight (x > x and
    maximum(x, x) sit on their kink at every point)."""
    same = draw(st.integers(0, 7)) == 0
    return _pick_ranged(draw, pool, lambda p: _broadcastable(p.node.shape, e.node.shape)
                        and (same or p is not e))


def _build_binary(name: str, draw: Any, pool: list) -> Optional[Ranged]:
    e1 = _pick_ranged(draw, pool)
    e2 = _partner(draw, pool, e1)
    x, y = _guarded(draw, name, 0, e1, {}), _guarded(draw, name, 1, e2, {})
    return Ranged(_BINARY_BUILD[name](x.node, y.node), *_ew_range(name, [x, y], {}),
                  _depth(e1, e2))


def _build_compare(name: str, draw: Any, pool: list) -> Optional[Ranged]:
    """A comparison as ``where``'s condition, or as 0.0 / 1.0 in arithmetic."""
    e1 = _pick_ranged(draw, pool)
    e2 = _partner(draw, pool, e1)
    cond = _COMPARE_BUILD[name](e1.node, e2.node)
    shape = cond.shape
    if draw(st.booleans()):
        return _build_where(draw, pool, cond, _depth(e1, e2), shape)
    e3 = _pick_ranged(draw, pool, lambda p: _broadcastable(p.node.shape, shape))
    x = _fit(e3, -WIDE, WIDE, "affine")
    lo, hi = min(0.0, x.lo), max(0.0, x.hi)
    e4 = _pick_ranged(draw, pool, lambda p: _broadcastable(
        p.node.shape, numeric.broadcast_shape(shape, x.node.shape)))
    y = _fit(e4, -WIDE, WIDE, "affine")
    return Ranged(cond * x.node + y.node, lo + y.lo, hi + y.hi, _depth(e1, e2, e3, e4))


def _build_where(draw: Any, pool: list, cond: Optional[sd.Node] = None, depth: int = 0,
                 shape: tuple = ()) -> Optional[Ranged]:
    if cond is None:
        e1 = _pick_ranged(draw, pool)
        e2 = _partner(draw, pool, e1)
        cond = _COMPARE_BUILD[draw(st.sampled_from(sorted(_COMPARE_BUILD)))](e1.node, e2.node)
        depth, shape = _depth(e1, e2), cond.shape
    e3 = _pick_ranged(draw, pool, lambda p: _broadcastable(p.node.shape, shape))
    s3 = numeric.broadcast_shape(shape, e3.node.shape)
    e4 = _pick_ranged(draw, pool, lambda p: _broadcastable(p.node.shape, s3))
    a, b = _fit(e3, -WIDE, WIDE, "affine"), _fit(e4, -WIDE, WIDE, "affine")
    return Ranged(sd.where(cond, a.node, b.node), min(a.lo, b.lo), max(a.hi, b.hi),
                  max(depth, _depth(e3, e4)))


def _axis_choices(a: sd.Node) -> list:
    return [None] + list(range(-a.ndim, a.ndim)) + ([(0, 1)] if a.ndim == 2 else [])


def _build_reduction(name: str, draw: Any, pool: list) -> Optional[Ranged]:
    e = _pick_ranged(draw, pool)
    x = _fit(e, -WIDE, WIDE, draw(st.sampled_from(["affine", "tanh"])))
    a = x.node
    axis, keep = draw(st.sampled_from(_axis_choices(a))), draw(st.booleans())
    node = {"sum": sd.sum, "mean": sd.mean, "logsumexp": sd.logsumexp}[name](
        a, axis=axis, keepdims=keep)
    k = max(a.size, 1) // max(node.size, 1)
    if name == "sum":
        return Ranged(node, k * x.lo, k * x.hi, _depth(e))
    if name == "mean":
        return Ranged(node, x.lo, x.hi, _depth(e))
    return Ranged(node, x.lo, x.hi + float(np.log(k)) + 1e-9, _depth(e))


def _build_norm(draw: Any, pool: list) -> Optional[Ranged]:
    e = _pick_ranged(draw, pool, lambda p: p.node.ndim > 0)
    if e is None:
        return None
    x = _fit(e, -WIDE, WIDE, "affine")
    return Ranged(sd.norm(x.node), 0.0, float(np.sqrt(x.node.size)) * x.mag + 1e-9, _depth(e))


def _build_softmax(draw: Any, pool: list) -> Optional[Ranged]:
    e = _pick_ranged(draw, pool, lambda p: p.node.ndim > 0)
    if e is None:
        return None
    x = _fit(e, -WIDE, WIDE, "affine")
    axis = draw(st.sampled_from(list(range(-x.node.ndim, x.node.ndim))))
    return Ranged(sd.softmax(x.node, axis=axis), 0.0, 1.0, _depth(e))


def _square(p: Ranged) -> bool:
    return p.node.ndim == 2 and p.node.shape[0] == p.node.shape[1]


def _build_trace(draw: Any, pool: list) -> Optional[Ranged]:
    e = _pick_ranged(draw, pool, _square)
    x = _fit(e, -WIDE, WIDE, "affine")
    n = x.node.shape[0]
    return Ranged(sd.trace(x.node), n * x.lo, n * x.hi, _depth(e))


def _build_matrix(name: str, draw: Any, pool: list) -> Optional[Ranged]:
    """det, logdet, inv of 1.5 I + U with |U| <= 0.4 entrywise (as these rows'
    ``domain.draw``): det in [1.05, 3.77], inverse entries in [-1.81, 1.81]."""
    e = _pick_ranged(draw, pool, lambda p: _square(p) and p.node.shape[0] == 2)
    u = _fit(e, -0.4, 0.4, draw(st.sampled_from(["affine", "tanh"])))
    m = u.node + sd.const(1.5 * np.eye(2))
    if name == "det":
        return Ranged(sd.det(m), 1.05, 3.77, _depth(e))
    if name == "logdet":
        return Ranged(sd.logdet(m), float(np.log(1.05)), float(np.log(3.77)), _depth(e))
    return Ranged(sd.inv(m), -1.82, 1.82, _depth(e))


def _matmul_pair(draw: Any, a: sd.Node, b: sd.Node) -> Optional[tuple]:
    """Operands ``lhs @ rhs`` made of a, b and their transposes whose shapes fit, or None."""
    options = []
    for lhs, rhs in [(a, b), (a.T, b), (a, b.T), (b, a), (a.T, a), (a, a.T)]:
        if lhs.ndim == 0 or rhs.ndim == 0:
            continue
        try:
            PRIMITIVES["matmul"].shape(lhs.shape, rhs.shape)
        except numeric.NumericShapeError:
            continue
        options.append((lhs, rhs))
    return draw(st.sampled_from(options)) if options else None


def _build_matmul(draw: Any, pool: list) -> Optional[Ranged]:
    e1 = _pick_ranged(draw, pool, lambda p: p.node.ndim > 0)
    e2 = _pick_ranged(draw, pool, lambda p: p.node.ndim > 0)
    x = _fit(e1, -WIDE, WIDE, "affine")
    y = _fit(e2, -WIDE, WIDE, "affine")
    a, b = x.node, y.node
    pair = _matmul_pair(draw, a, b)
    if pair is None:
        return None
    lhs, rhs = pair
    k = lhs.shape[-1]
    corners = [p * q for p in (x.lo, x.hi) for q in (y.lo, y.hi)] if rhs is not a else \
        [p * q for p in (x.lo, x.hi) for q in (x.lo, x.hi)]
    return Ranged(lhs @ rhs, *_margin(k * min(corners), k * max(corners)), _depth(e1, e2))


_BROADCAST_TARGETS = [(2,), (3,), (2, 2), (3, 2), (2, 3), (3, 1, 2)]


def _build_structural(name: str, draw: Any, pool: list) -> Optional[Ranged]:
    e = _pick_ranged(draw, pool)
    a = e.node
    if name == "transpose":
        if a.ndim == 2 and draw(st.booleans()):
            node = sd.transpose(a, draw(st.sampled_from([(1, 0), (0, 1), (-1, 0)])))
        elif a.ndim == 3:
            node = sd.transpose(a, draw(st.sampled_from([(2, 0, 1), (0, 2, 1), None])))
        else:
            node = a.T
    elif name == "reshape":
        node = sd.reshape(a, draw(st.sampled_from(_reshapes(a.shape))))
    elif name == "index":
        keys = _index_keys(a.shape)
        node = a[numeric.primitives.index_key(draw(st.sampled_from(keys)))]
    elif name == "broadcast_to":
        targets = [t for t in _BROADCAST_TARGETS if _broadcastable(a.shape, t)
                   and numeric.broadcast_shape(a.shape, t) == t]
        if not targets:
            return None
        node = sd.broadcast_to(a, draw(st.sampled_from(targets)))
    else:
        raise AssertionError(name)
    return Ranged(node, e.lo, e.hi, _depth(e))


# -- issue 14: rows whose inputs keep away from a point where the derivative is infinite
#    or undefined (cbrt at 0, hypot at (0, 0), arctan2 at its cut x1 = 0 <= -x2: a sign
#    bit there flips the value by 2 pi), and clip with numbers or nodes as bounds

def _away_from_zero(draw: Any, e: Ranged) -> Ranged:
    """``e`` mapped into [0.2, WIDE] or [-WIDE, -0.2] (the sign drawn)."""
    how = draw(st.sampled_from(["affine", "tanh"]))
    return _fit(e, 0.2, WIDE, how) if draw(st.booleans()) else _fit(e, -WIDE, -0.2, how)


def _build_cbrt(draw: Any, pool: list) -> Optional[Ranged]:
    e = _pick_ranged(draw, pool)
    x = _away_from_zero(draw, e)
    return Ranged(sd.cbrt(x.node), *_ew_range("cbrt", [x], {}), _depth(e))


def _build_hypot(draw: Any, pool: list) -> Optional[Ranged]:
    e1 = _pick_ranged(draw, pool)
    e2 = _partner(draw, pool, e1)
    x, y = _guarded(draw, "hypot", 0, e1, {}), _away_from_zero(draw, e2)
    a, b = (x, y) if draw(st.booleans()) else (y, x)
    return Ranged(sd.hypot(a.node, b.node), *_ew_range("hypot", [a, b], {}), _depth(e1, e2))


def _build_arctan2(draw: Any, pool: list) -> Optional[Ranged]:
    e1 = _pick_ranged(draw, pool)
    e2 = _partner(draw, pool, e1)
    x2 = _away_from_zero(draw, e2)
    # on the right half-plane x1 is anything; on the left it keeps off the cut
    x1 = _guarded(draw, "arctan2", 0, e1, {}) if x2.lo > 0 else _away_from_zero(draw, e1)
    return Ranged(sd.arctan2(x1.node, x2.node), *_ew_range("arctan2", [x1, x2], {}),
                  _depth(e1, e2))


CLIP_NUMBERS = [(-1.0, 1.0), (0.0, 2.0), (-2.5, 0.5), (1.0, -1.0)]
"""Constant bounds of ``clip`` (the last pair inverted: the result is the upper one)."""


def _build_clip(draw: Any, pool: list) -> Optional[Ranged]:
    """clip(x, lo, hi) with numbers as bounds, or nodes kept apart (lo < hi or lo > hi,
    never equal: there torch.clamp gives no input any gradient, symdiff gives it to hi)."""
    e = _pick_ranged(draw, pool)
    x = _fit(e, -WIDE, WIDE, draw(st.sampled_from(["affine", "tanh"])))
    if draw(st.booleans()):
        lo, hi = draw(st.sampled_from(CLIP_NUMBERS))
        bounds = [Ranged(sd.const(lo), lo, lo), Ranged(sd.const(hi), hi, hi)]
        node, depth = sd.clip(x.node, lo, hi), _depth(e)
    else:
        e2 = _pick_ranged(draw, pool, lambda p: _broadcastable(p.node.shape, x.node.shape))
        s2 = numeric.broadcast_shape(x.node.shape, e2.node.shape)
        e3 = _pick_ranged(draw, pool, lambda p: _broadcastable(p.node.shape, s2))
        below, above = (-WIDE, -0.5), (0.5, WIDE)
        if draw(st.integers(0, 3)) == 0:
            below, above = above, below
        bounds = [_fit(e2, *below, "affine"), _fit(e3, *above, "affine")]
        node, depth = sd.clip(x.node, bounds[0].node, bounds[1].node), _depth(e, e2, e3)
    return Ranged(node, *_ew_range("clip", [x] + bounds, {}), depth)


def _builders() -> dict:
    out: dict = {}
    for name, row in PRIMITIVES.items():
        if row.kind == "elementwise" and row.arity == 1:
            out[name] = lambda d, p, n=name: _build_unary(n, d, p)
    for name in _BINARY_BUILD:
        out[name] = lambda d, p, n=name: _build_binary(n, d, p)
    for name in _COMPARE_BUILD:
        out[name] = lambda d, p, n=name: _build_compare(n, d, p)
    out["where"] = lambda d, p: _build_where(d, p)
    for name in ("sum", "mean", "logsumexp"):
        out[name] = lambda d, p, n=name: _build_reduction(n, d, p)
    for name in ("det", "logdet", "inv"):
        out[name] = lambda d, p, n=name: _build_matrix(n, d, p)
    for name in ("transpose", "reshape", "index", "broadcast_to"):
        out[name] = lambda d, p, n=name: _build_structural(n, d, p)
    out.update(norm=_build_norm, trace=_build_trace, matmul=_build_matmul,
               softmax=_build_softmax)
    return out


TABLE_BUILDERS = _builders()
"""op -> ``(draw, pool) -> Ranged or None``: one per user-facing row, plus ``softmax``
(a composite of exp and logsumexp). A row without a builder is never generated."""
TABLE_BUILDERS.update(cbrt=_build_cbrt, hypot=_build_hypot, arctan2=_build_arctan2,
                      clip=_build_clip)   # issue 14

# -- reductions and shapes: sd.max ... sd.diag, and the composites of them -------------------

def _group_size(a: sd.Node, axis: Any) -> int:
    axes = numeric.primitives.normalize_axis(axis, a.ndim, "strategies")
    return int(np.prod([a.shape[k] for k in axes], dtype=np.int64))


def _build_extremum(name: str, draw: Any, pool: list) -> Optional[Ranged]:
    e = _pick_ranged(draw, pool)
    x = _fit(e, -WIDE, WIDE, draw(st.sampled_from(["affine", "tanh"])))
    axis, keep = draw(st.sampled_from(_axis_choices(x.node))), draw(st.booleans())
    fn = sd.max if name == "amax" else sd.min
    return Ranged(fn(x.node, axis=axis, keepdims=keep), x.lo, x.hi, _depth(e))


def _build_prod(draw: Any, pool: list) -> Optional[Ranged]:
    """Inputs squeezed into [-1.2, 1.2], so a product of the (at most 6) entries stays
    within 3."""
    e = _pick_ranged(draw, pool)
    x = _fit(e, -1.2, 1.2, draw(st.sampled_from(["affine", "tanh"])))
    axis, keep = draw(st.sampled_from(_axis_choices(x.node))), draw(st.booleans())
    bound = max(abs(x.lo), abs(x.hi), 1.0) ** _group_size(x.node, axis)
    return Ranged(sd.prod(x.node, axis=axis, keepdims=keep), -bound, bound, _depth(e))


def _build_cumsum(draw: Any, pool: list) -> Optional[Ranged]:
    e = _pick_ranged(draw, pool)
    x = _fit(e, -WIDE, WIDE, "affine")
    a = x.node
    axis = draw(st.sampled_from([None] + list(range(-a.ndim, a.ndim))))
    k = a.size if axis is None else a.shape[axis]
    return Ranged(sd.cumsum(a, axis=axis), min(x.lo, k * x.lo), max(x.hi, k * x.hi),
                  _depth(e))


def _joinable(a: tuple, b: tuple) -> list:
    """Axes along which arrays of shapes a and b can be concatenated."""
    if len(a) != len(b) or not a:
        return []
    return [k for k in range(len(a))
            if all(p == q for j, (p, q) in enumerate(zip(a, b)) if j != k)]


def _build_concatenate(draw: Any, pool: list) -> Optional[Ranged]:
    """sd.concatenate of two or three entries (sd.stack of equal shapes, np.stack's
    scalars included)."""
    e1 = _pick_ranged(draw, pool)
    if e1.node.ndim == 0 or draw(st.integers(0, 3)) == 0:
        e2 = _pick_ranged(draw, pool, lambda p: p.node.shape == e1.node.shape)
        parts = [_fit(e, -WIDE, WIDE, "affine") for e in (e1, e2)]
        axis = draw(st.integers(-e1.node.ndim - 1, e1.node.ndim))
        node = sd.stack([p.node for p in parts], axis=axis)
    else:
        e2 = _pick_ranged(draw, pool, lambda p: bool(_joinable(e1.node.shape, p.node.shape)))
        e3 = _pick_ranged(draw, pool, lambda p: bool(set(_joinable(e1.node.shape, p.node.shape))
                                                      & set(_joinable(e1.node.shape, e2.node.shape))))
        picked = [e1, e2] + ([e3] if e3 is not None and draw(st.booleans()) else [])
        axes = set(_joinable(e1.node.shape, e2.node.shape))
        for e in picked[2:]:
            axes &= set(_joinable(e1.node.shape, e.node.shape))
        parts = [_fit(e, -WIDE, WIDE, "affine") for e in picked]
        node = sd.concatenate([p.node for p in parts], axis=draw(st.sampled_from(sorted(axes))))
    return Ranged(node, min(p.lo for p in parts), max(p.hi for p in parts),
                  _depth(*[p for p in parts]))


def _build_diagonal(draw: Any, pool: list) -> Optional[Ranged]:
    e = _pick_ranged(draw, pool, lambda p: p.node.ndim >= 2)
    if e is None:
        return None
    x = _fit(e, -WIDE, WIDE, "affine")
    a = x.node
    rows, cols = a.shape[0], a.shape[1]
    offset = draw(st.integers(-(rows - 1), cols - 1))
    if a.ndim == 2 and draw(st.booleans()):
        node = sd.diag(a, offset)
    else:
        i, j = draw(st.sampled_from([(0, 1), (1, 0), (-1, 0)] if a.ndim == 2 else
                                    [(0, 1), (1, 2), (2, 0)]))
        n, m = a.shape[i], a.shape[j]
        offset = draw(st.integers(-(n - 1), m - 1))
        node = sd.diagonal(a, offset, i, j)
    return Ranged(node, x.lo, x.hi, _depth(e))


def _build_diag(draw: Any, pool: list) -> Optional[Ranged]:
    e = _pick_ranged(draw, pool, lambda p: p.node.ndim == 1)
    if e is None:
        return None
    x = _fit(e, -WIDE, WIDE, "affine")
    node = sd.diag(x.node, draw(st.integers(-1, 1)))
    return Ranged(node, min(0.0, x.lo), max(0.0, x.hi), _depth(e))


def _build_spread(draw: Any, pool: list) -> Optional[Ranged]:
    """sd.variance, sd.std (of entries kept apart, so never all equal: sqrt's kink) and
    sd.log_softmax."""
    e = _pick_ranged(draw, pool, lambda p: p.node.ndim > 0)
    if e is None:
        return None
    kind = draw(st.sampled_from(["variance", "std", "log_softmax"]))
    if kind == "log_softmax":
        x = _fit(e, -WIDE, WIDE, "affine")
        axis = draw(st.integers(-x.node.ndim, x.node.ndim - 1))
        k = x.node.shape[axis]
        return Ranged(sd.log_softmax(x.node, axis=axis),
                      x.lo - x.hi - float(np.log(k)) - 1e-9, 1e-9, _depth(e))
    axis = draw(st.sampled_from([a for a in _axis_choices(e.node)
                                 if _group_size(e.node, a) >= 2] or [None]))
    if _group_size(e.node, axis) < 2:
        return None
    ddof = draw(st.sampled_from([0, 1]))
    keep = draw(st.booleans())
    n = _group_size(e.node, axis)
    if kind == "variance":
        x = _fit(e, -WIDE, WIDE, "affine")
        top = (x.hi - x.lo) ** 2 * n / (n - ddof)
        return Ranged(sd.variance(x.node, axis=axis, ddof=ddof, keepdims=keep), 0.0,
                      top + 1e-9, _depth(e))
    # entries in [-1, 1] plus 3 times their position: any two differ by at least 1
    x = _fit(e, -1.0, 1.0, "affine")
    apart = x.node + sd.const(3.0 * np.arange(x.node.size).reshape(x.node.shape))
    spread = 3.0 * x.node.size + 2.0
    return Ranged(sd.std(apart, axis=axis, ddof=ddof, keepdims=keep), 0.0,
                  spread * np.sqrt(n / (n - ddof)) + 1e-9, _depth(e))


def _build_moves(draw: Any, pool: list) -> Optional[Ranged]:
    """The functions that only move entries: flip, swapaxes, moveaxis, expand_dims,
    squeeze, pad, tile, repeat, and a piece of split."""
    e = _pick_ranged(draw, pool)
    x = _fit(e, -WIDE, WIDE, "affine")
    a = x.node
    lo, hi = x.lo, x.hi
    kinds = ["expand_dims", "tile", "pad"] + (["flip", "repeat", "split"] if a.ndim else []) \
        + (["swapaxes", "moveaxis"] if a.ndim >= 2 else []) + \
        (["squeeze"] if 1 in a.shape else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "flip":
        node = sd.flip(a, draw(st.sampled_from([None] + list(range(a.ndim)))))
    elif kind == "swapaxes":
        node = sd.swapaxes(a, draw(st.integers(0, a.ndim - 1)), draw(st.integers(-a.ndim, -1)))
    elif kind == "moveaxis":
        node = sd.moveaxis(a, draw(st.integers(0, a.ndim - 1)), draw(st.integers(0, a.ndim - 1)))
    elif kind == "expand_dims":
        node = sd.expand_dims(a, draw(st.integers(-a.ndim - 1, a.ndim)))
    elif kind == "squeeze":
        node = sd.squeeze(a)
    elif kind == "tile":
        node = sd.tile(a, draw(st.sampled_from([2, (2, 1), (1, 2), (3,)])))
    elif kind == "repeat":
        axis = draw(st.sampled_from([None] + list(range(a.ndim))))
        n = a.size if axis is None else a.shape[axis]
        reps = draw(st.sampled_from([2, [k % 3 for k in range(1, n + 1)]]))
        node = sd.repeat(a, reps, axis=axis)
    elif kind == "split":
        axis = draw(st.integers(0, a.ndim - 1))
        n = a.shape[axis]
        pieces = sd.split(a, [draw(st.integers(1, n - 1))] if n > 1 else 1, axis=axis)
        node = draw(st.sampled_from(pieces))
    else:
        value = draw(st.sampled_from([0.0, -1.5, "node"]))
        widths = draw(st.sampled_from([1, (0, 2), (1, 0)]))
        if value == "node":
            s = _pick_ranged(draw, pool, lambda p: p.node.ndim == 0)
            c = _fit(s, -WIDE, WIDE, "affine") if s is not None else None
            if c is None:
                return None
            node = sd.pad(a, widths, constant_values=c.node)
            lo, hi = min(lo, c.lo), max(hi, c.hi)
        else:
            node = sd.pad(a, widths, constant_values=value)
            lo, hi = min(lo, value), max(hi, value)
    return Ranged(node, lo, hi, _depth(e))


TABLE_BUILDERS.update({
    "amax": lambda d, p: _build_extremum("amax", d, p),
    "amin": lambda d, p: _build_extremum("amin", d, p),
    "prod": _build_prod, "cumsum": _build_cumsum, "concatenate": _build_concatenate,
    "diagonal": _build_diagonal, "diag": _build_diag,
    "spread": _build_spread, "moves": _build_moves,   # composites of the rows
})



# -- p14 linear algebra, contraction, indexing: einsum, einsum_unary, solve, logabsdet,
# cholesky, gather, and norm with ord/axis/keepdims

EINSUMS = ["ij,jk->ik", "ij,kj->ik", "ji,jk->ik", "i,j->ij", "ij,ij->i", "ij,ij->j", "i,i->",
           "ij,ij->", "ij,j->i", "ij,i->j", "ii,i->", "ij,->ji", ",i->i", "ij,ji->",
           "ii,ij->j", "ij,jk->"]
EINSUMS_UNARY = ["ii->", "ij->ji", "ij->i", "ij->j", "ii->i", "i->", "ij->", "->"]


def _contracted(sub: str, shapes: tuple) -> int:
    """How many products add up into one output entry of einsum ``sub``."""
    ins, out = sub.split("->")
    sizes: dict = {}
    for s, shape in zip(ins.split(","), shapes):
        sizes.update(zip(s, shape))
    return int(np.prod([d for c, d in sizes.items() if c not in out], dtype=np.int64))


def _fits(name: str, shapes: tuple, sub: str) -> bool:
    try:
        PRIMITIVES[name].shape(*shapes, subscripts=sub)
        return True
    except numeric.NumericShapeError:
        return False


def _build_einsum(draw: Any, pool: list) -> Optional[Ranged]:
    e1, e2 = _pick_ranged(draw, pool), _pick_ranged(draw, pool)
    x, y = _fit(e1, -WIDE, WIDE, "affine"), _fit(e2, -WIDE, WIDE, "affine")
    options = [s for s in EINSUMS if _fits("einsum", (x.node.shape, y.node.shape), s)]
    if not options:
        return None
    sub = draw(st.sampled_from(options))
    k = _contracted(sub, (x.node.shape, y.node.shape))
    bound = k * x.mag * y.mag
    return Ranged(sd.einsum(sub, x.node, y.node), *_margin(-bound, bound), _depth(e1, e2))


def _build_einsum_unary(draw: Any, pool: list) -> Optional[Ranged]:
    e = _pick_ranged(draw, pool)
    x = _fit(e, -WIDE, WIDE, "affine")
    options = [s for s in EINSUMS_UNARY if _fits("einsum_unary", (x.node.shape,), s)
               and s.split("->")[0] != s.split("->")[1]]
    if not options:
        return None
    sub = draw(st.sampled_from(options))
    k = _contracted(sub, (x.node.shape,))
    from symdiff.graph.node import apply
    node = apply("einsum_unary", x.node, subscripts=sub)
    return Ranged(node, *_margin(k * x.lo, k * x.hi), _depth(e))


def _near_identity(draw: Any, pool: list, flip: bool = False) -> Optional[tuple]:
    """1.5 I + U with |U| <= 0.4 entrywise (a row negated when ``flip``): invertible, its
    inverse's entries within 1.82, |det| in [1.05, 3.77], symmetric part positive
    definite."""
    e = _pick_ranged(draw, pool, lambda p: _square(p) and p.node.shape[0] == 2)
    u = _fit(e, -0.4, 0.4, draw(st.sampled_from(["affine", "tanh"])))
    return u.node + sd.const(1.5 * np.diag([1.0, -1.0 if flip else 1.0])), e


def _build_solve(draw: Any, pool: list) -> Optional[Ranged]:
    m, e = _near_identity(draw, pool)
    e2 = _pick_ranged(draw, pool, lambda p: p.node.ndim in (1, 2) and p.node.shape[0] == 2)
    if e2 is None:
        return None
    b = _fit(e2, -WIDE, WIDE, "affine")
    bound = 2 * 1.82 * b.mag
    return Ranged(sd.solve(m, b.node), *_margin(-bound, bound), _depth(e, e2))


def _build_logabsdet(draw: Any, pool: list) -> Optional[Ranged]:
    m, e = _near_identity(draw, pool, flip=draw(st.booleans()))
    return Ranged(sd.slogdet(m).logabsdet, float(np.log(1.05)), float(np.log(3.77)),
                  _depth(e))


def _build_cholesky(draw: Any, pool: list) -> Optional[Ranged]:
    m, e = _near_identity(draw, pool)
    # (m + mᵀ)/2 has eigenvalues in [0.7, 2.3]: |L| entries at most sqrt(2.3)
    return Ranged(sd.cholesky(m), -1.52, 1.52, _depth(e))


def _build_gather(draw: Any, pool: list) -> Optional[Ranged]:
    e = _pick_ranged(draw, pool, lambda p: p.node.size > 0)
    a = e.node
    shape = draw(st.sampled_from([(), (2,), (3,), (2, 2)]))
    n = int(np.prod(shape, dtype=np.int64))
    pos = np.array(draw(st.lists(st.integers(0, a.size - 1), min_size=n, max_size=n)),
                   dtype=np.int64).reshape(shape)
    if a.ndim == 2 and shape == (2,) and draw(st.booleans()):
        # as cross-entropy writes it: a[np.arange(k), labels]
        rows = min(a.shape[0], 2)
        labels = np.array(draw(st.lists(st.integers(0, a.shape[1] - 1), min_size=rows,
                                        max_size=rows)))
        return Ranged(a[np.arange(rows), labels], e.lo, e.hi, _depth(e))
    from symdiff.graph.linalg import gather
    return Ranged(gather(a, pos), e.lo, e.hi, _depth(e))


def _build_norm_ord(draw: Any, pool: list) -> Optional[Ranged]:
    e = _pick_ranged(draw, pool, lambda p: p.node.ndim > 0)
    if e is None:
        return None
    x = _fit(e, -WIDE, WIDE, "affine")
    a = x.node
    order = draw(st.sampled_from([2.0, 1.0, np.inf, -np.inf]))
    axis = draw(st.sampled_from([None] + list(range(-a.ndim, a.ndim))))
    keep = draw(st.booleans())
    from symdiff.graph.node import apply
    node = apply("norm", a, ord=order, axis=axis, keepdims=keep)
    k = max(a.size, 1) // max(node.size, 1)
    hi = {2.0: float(np.sqrt(k)), 1.0: float(k)}.get(order, 1.0) * x.mag
    return Ranged(node, 0.0, hi + 1e-9, _depth(e))


TABLE_BUILDERS.update(einsum=_build_einsum, einsum_unary=_build_einsum_unary,
                      solve=_build_solve, logabsdet=_build_logabsdet,
                      cholesky=_build_cholesky, gather=_build_gather, norm=_build_norm_ord)


@st.composite
def table_graphs(draw: Any, max_ops: int = 24) -> Graph:
    """A random graph over ``s`` (scalar), ``v`` (2,), ``A`` (3, 2) and ``M`` (2, 2) using
    every user-facing row of the table, with numpy broadcasting, up to MAX_DEPTH generated
    ops deep. Each op's inputs are kept inside the row's ``domain.sample`` (widened to
    (-6, 6) where that is the default (-3, 3)) at every point of [-2, 2]^n, by interval
    bounds and an affine or tanh guard where needed; det, logdet and inv take
    ``1.5 I + U``, |U| <= 0.4, as their ``domain.draw``. f is the sum of every unused
    result (reduced with ``sd.sum``), so every op drawn is part of f."""
    s, v, A, M = sd.var("s"), sd.var("v", (2,)), sd.var("A", (3, 2)), sd.var("M", (2, 2))
    pool = [Ranged(s, -2.0, 2.0), Ranged(v, -2.0, 2.0), Ranged(A, -2.0, 2.0),
            Ranged(M, -2.0, 2.0), Ranged(sd.const(np.array([0.5, -1.5])), -1.5, 0.5)]
    leaves = len(pool)
    names = sorted(TABLE_BUILDERS)
    ops: list = []
    for _ in range(draw(st.integers(min(6, max_ops), max_ops))):
        op = draw(st.sampled_from(names))
        made = TABLE_BUILDERS[op](draw, pool)
        if made is None:
            continue
        pool.append(made)
        ops.append(op)
    f, depth = None, 0
    for k, e in enumerate(pool):
        if k >= leaves and (not e.used or k == len(pool) - 1):
            term = e.node if e.node.shape == () else sd.sum(e.node)
            f, depth = (term if f is None else f + term), max(depth, e.depth)
    if f is None or not free_names(f):          # every op drew only the constant
        f = sd.sum(v * v) if f is None else f + sd.sum(v * v)
    return Graph(f, {"s": s, "v": v, "A": A, "M": M}, ops, depth)


MIXED_POINT = st.one_of(POINT, st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False))
"""Grid points (ties and kinks hit exactly) or any float in [-2, 2]."""


def mixed_points(variables: dict) -> st.SearchStrategy:
    """A point for the variables, each coordinate in [-2, 2] (on the 1/8 grid or not)."""
    return points(variables, coordinate=MIXED_POINT)


def graph_depth(f: sd.Node) -> int:
    """The longest path from a leaf to ``f``, in nodes (guards included)."""
    depth: dict = {}
    for n in f.nodes():
        depth[id(n)] = 0 if n.is_leaf else 1 + max(depth[id(a)] for a in n.args)
    return depth[id(f)]
