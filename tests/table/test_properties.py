"""Properties of random expression graphs (hypothesis), see ``strategies.py``.

For a random graph f (scalar variables x, y; or s, v (2,), A (3, 2) with broadcasting,
reduced to a scalar with sd.sum) at a random point:

1. ``sd.check`` (SymPy closed form vs reverse mode vs finite differences) is ok, unless it
   reports a problem (a kink or a domain violation), and then ok is False: never a silent
   pass, never a false alarm.
2. ``sd.value_and_grad`` (numpy VJPs) equals ``sd.grad``'s derivative graphs (SymPy
   partials, hand-written structural adjoints) evaluated at the point, kinks included
   (both follow PyTorch's conventions).
3. Scalar graphs: ``sd.diff(f, x).sympy()`` equals ``sympy.diff(f.sympy(), x)``: proved by
   ``sympy.simplify`` for graphs of smooth ops; for graphs with piecewise ops (abs, relu,
   max, where, ...), where simplify often cannot decide, checked numerically at 3 random
   points away from kinks when simplify does not give 0.

Default runs are bounded and derandomized (reproducible); ``-m slow`` runs many more
random examples. ``STATS`` counts the graphs tried and how each was judged.
"""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symdiff as sd
from numeric import PRIMITIVES
from symdiff.graph.walks import free_names
from symdiff.symbolic.functions import NUMPY_FUNCTIONS

from strategies import (INTERNAL_ROWS, TABLE_BUILDERS, USER_ROWS, array_graphs,
                        domain_violations, graph_depth, mixed_points, near_kink, norm_of_zero,
                        points, scalar_graphs, table_graphs)

SYMPY_SECONDS = 2.0
"""Budget of sd.check's SymPy step per random graph: past it the closed-form column comes
from sd.grad's graph (counted in STATS), so one exponential simplification cannot stall
the run."""

ROUNDING_MARGIN = 1e-9
"""An op input this close to a kink may land on either side, depending on how a program
rounds it (fusion and constant folding reorder float operations)."""

STATS: Counter = Counter()
"""How many graphs each property tried, and how sd.check judged them."""

FAST = dict(max_examples=100, deadline=None, database=None, derandomize=True,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SLOW = dict(max_examples=1000, deadline=None, database=None, print_blob=True,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

PIECEWISE_OPS = {"abs", "relu", "sign", "step", "maximum", "minimum", "where", "greater",
                 "greater_equal", "less", "less_equal"}
SYMBOLIC_MAX_NODES = 40
"""Scalar graphs up to this many nodes get the symbolic (simplify) comparison."""


def _point_for(graph, data) -> dict:
    used = {k: v for k, v in graph.variables.items() if k in free_names(graph.f)}
    return data.draw(points(used), label="point")


def _eval_at(node: sd.Node, point: dict):
    return node.eval({k: v for k, v in point.items() if k in free_names(node)})


# ---------------------------------------------------------------------------
# the properties
# ---------------------------------------------------------------------------

def check_agrees(graph, point: dict, kind: str) -> None:
    """Property 1: sd.check is ok, or reports the problem that made it fail.

    Counted per oracle: the closed form (SymPy, or sd.grad's graph for large graphs, as
    the report's notes say) against reverse mode, and finite differences against reverse
    mode away from kinks."""
    STATS[f"{kind}: tried"] += 1
    r = sd.check(graph.f, at=point, sympy_seconds=SYMPY_SECONDS)
    graph_column = any("symbolic derivative graph" in n for n in r.notes)
    out_of_time = any("did not finish" in n for n in r.notes)
    STATS[f"{kind}: closed form from " + ("sd.grad's graph" if graph_column else "SymPy")
          + (f" (SymPy over {SYMPY_SECONDS:g} s)" if out_of_time else "")] += 1
    if r.problems:
        STATS[f"{kind}: problem reported"] += 1
        assert not r.ok, f"check reported {r.problems} yet says ok\n{r}"
        return
    if r.ok:
        STATS[f"{kind}: ok"] += 1
        return
    bad = [e for e in r.entries if e.verdict not in ("ok", "finite diff != reverse mode")]
    if bad:
        STATS[f"{kind}: closed form != reverse mode: DISAGREED"] += 1
    # not ok and no problem named: only acceptable when finite differences straddle a
    # kink closer than check's own test (equality) sees; closed form and reverse mode
    # must still agree there
    close = near_kink(graph.f, point)
    if not close:
        STATS[f"{kind}: finite diff != reverse mode away from kinks: DISAGREED"] += 1
    assert close, f"sd.check failed with no problem reported, away from any kink:\n{r}"
    STATS[f"{kind}: near a kink"] += 1
    assert not bad, f"closed form and reverse mode disagree near a kink ({close}):\n{r}"


def reverse_mode_equals_grad_graphs(graph, point: dict) -> None:
    """Property 2: numpy VJPs (value_and_grad) == SymPy-derived graphs (sd.grad)."""
    f = graph.f
    wrt = [graph.variables[n] for n in sorted(free_names(f))]
    value, grads = sd.value_and_grad(f, wrt)(point)
    assert value == pytest.approx(_eval_at(f, point), rel=1e-12, abs=1e-12)
    gnodes = sd.grad(f, wrt)
    assert [g.shape for g in gnodes] == [w.shape for w in wrt]
    expected = [np.asarray(_eval_at(gnode, point)) for gnode in gnodes]
    if not all(np.allclose(e, g, rtol=1e-9, atol=1e-11) for e, g in zip(expected, grads)):
        if norm_of_zero(f, point) and all(
                np.all(np.isnan(e) | np.isclose(e, g, rtol=1e-9, atol=1e-11))
                for e, g in zip(expected, grads)):
            STATS["reverse mode vs sd.grad's graphs: norm of 0 (x/|x| nan vs subgradient 0, "
                  "documented)"] += 1
            return
        at = near_kink(f, point, ROUNDING_MARGIN)
        if at:
            # an op's input within rounding of its kink: the derivative graph's program
            # (fused, constants folded) may round it to the other side than f's program
            STATS[f"reverse mode vs sd.grad's graphs: excused ({at[0]} within rounding of "
                  "its kink)"] += 1
            return
        STATS["reverse mode != sd.grad's graphs: DISAGREED"] += 1
    for w, g, e in zip(wrt, grads, expected):
        np.testing.assert_allclose(e, g, rtol=1e-9, atol=1e-11, equal_nan=False,
                                   err_msg=f"d f/d {w.name} at {point}")


def _real(expr):
    return expr.xreplace({s: sympy.Symbol(s.name, real=True) for s in expr.free_symbols})


def _no_deltas(expr):
    # the derivative away from jumps: symdiff's convention, and the only one numpy can check
    return expr.replace(sympy.DiracDelta, lambda *a: sympy.S.Zero)


def closed_form_derivative_matches_sympy(graph, rng: np.random.Generator) -> None:
    """Property 3 (scalar graphs): sd.diff's closed form == sympy.diff of f's closed form.

    f.sympy() uses plain symbols (so ``(x**2).sympy() == 2*x`` reads naturally); they are
    made real here, as the derivatives of Abs, Max, sign are only defined for reals."""
    f = graph.f
    small = len(f.nodes()) <= SYMBOLIC_MAX_NODES
    smooth = not ({n.op for n in f.nodes()} & PIECEWISE_OPS)
    for name in sorted(free_names(f)):
        X = sympy.Symbol(name, real=True)
        mine = _real(sd.diff(f, graph.variables[name]).sympy())
        truth = _no_deltas(sympy.diff(_real(f.sympy()), X))
        if mine - truth == 0:
            STATS["symbolic: identical"] += 1
            continue
        if sympy.expand(mine - truth) == 0:
            STATS["symbolic: proved equal by expand"] += 1
            continue
        if smooth and small and sympy.simplify(mine - truth) == 0:
            STATS["symbolic: proved equal by simplify"] += 1
            continue
        # simplify cannot decide (piecewise ops, float exponents such as tanh(0.5)):
        # compare numerically, where a real difference cannot hide
        STATS["symbolic: compared numerically"] += 1
        syms = [sympy.Symbol(n, real=True) for n in sorted(free_names(f))]
        fn_mine = sympy.lambdify(syms, mine, modules=[NUMPY_FUNCTIONS, "numpy"])
        fn_truth = sympy.lambdify(syms, truth, modules=[NUMPY_FUNCTIONS, "numpy"])
        compared = 0
        for attempt in range(20):
            vals = rng.uniform(-2.0, 2.0, len(syms))
            point = {str(s): float(v) for s, v in zip(syms, vals)}
            # away from kinks; if the graph sits on one everywhere (maximum(x, x)), both
            # sides use the same tie conventions (Heaviside(0) = 1/2, relu'(0) = 0)
            if attempt < 10 and near_kink(f, point, margin=1e-3):
                continue
            with np.errstate(all="ignore"):
                a, b = float(fn_mine(*vals)), float(fn_truth(*vals))
            assert a == pytest.approx(b, rel=1e-9, abs=1e-12), (
                f"d/d{name} of {f.sympy()} at {point}: sd.diff gives {mine} = {a}, "
                f"sympy.diff gives {truth} = {b}")
            compared += 1
            if compared == 3:
                break
        assert compared, f"no point away from the kinks of {f.sympy()}"


# ---------------------------------------------------------------------------
# hypothesis drivers (made by a factory, so the slow variant gets its own settings)
# ---------------------------------------------------------------------------

def make_scalar_property(config: dict):
    @settings(**config)
    @given(graph=scalar_graphs(), data=st.data())
    def prop(graph, data):
        point = _point_for(graph, data)
        check_agrees(graph, point, "scalar")
        reverse_mode_equals_grad_graphs(graph, point)
        seed = data.draw(st.integers(0, 2 ** 32 - 1), label="seed")
        closed_form_derivative_matches_sympy(graph, np.random.default_rng(seed))
    return prop


def make_array_property(config: dict):
    @settings(**config)
    @given(graph=array_graphs(), data=st.data())
    def prop(graph, data):
        point = _point_for(graph, data)
        check_agrees(graph, point, "array")
        reverse_mode_equals_grad_graphs(graph, point)
    return prop


FAST_TABLE = dict(FAST, max_examples=30)
SLOW_TABLE = dict(SLOW, max_examples=2000)


def make_table_property(config: dict, max_ops: int):
    """Graphs over every user-facing row, up to ``max_ops`` ops, at points in [-2, 2]."""
    @settings(**config)
    @given(graph=table_graphs(max_ops=max_ops), data=st.data())
    def prop(graph, data):
        used = {k: v for k, v in graph.variables.items() if k in free_names(graph.f)}
        point = data.draw(mixed_points(used), label="point")
        STATS[f"table: depth {graph.depth:2d} (generated ops)"] += 1
        STATS["table: nodes (total)"] += len(graph.f.nodes())
        STATS["table: longest path in nodes (max)"] = max(
            STATS["table: longest path in nodes (max)"], graph_depth(graph.f))
        check_agrees(graph, point, "table")
        reverse_mode_equals_grad_graphs(graph, point)
    return prop


def _run(prop, kind: str, at_least: int) -> None:
    before = STATS[f"{kind}: tried"]
    prop()
    tried = STATS[f"{kind}: tried"] - before
    assert tried >= at_least, f"only {tried} {kind} graphs were tried"


def test_scalar_graphs():
    _run(make_scalar_property(FAST), "scalar", at_least=FAST["max_examples"] // 2)


def test_array_graphs():
    _run(make_array_property(FAST), "array", at_least=FAST["max_examples"] // 2)


def test_table_graphs():
    _run(make_table_property(FAST_TABLE, max_ops=12), "table", at_least=FAST_TABLE["max_examples"] // 2)


@pytest.mark.slow
def test_table_graphs_many():
    _run(make_table_property(SLOW_TABLE, max_ops=24), "table", at_least=SLOW_TABLE["max_examples"] // 2)


@pytest.mark.slow
def test_scalar_graphs_many():
    _run(make_scalar_property(SLOW), "scalar", at_least=SLOW["max_examples"] // 2)


@pytest.mark.slow
def test_array_graphs_many():
    _run(make_array_property(SLOW), "array", at_least=SLOW["max_examples"] // 2)


# ---------------------------------------------------------------------------
# the strategies themselves
# ---------------------------------------------------------------------------

@settings(max_examples=100, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(graph=st.one_of(scalar_graphs(), array_graphs(), table_graphs()), data=st.data())
def test_generated_graphs_are_scalar_finite_and_in_domain(graph, data):
    """The strategies keep their promises: a scalar f, finite values, every op inside its
    domain (what sd.check's "outside its domain" problem tests)."""
    assert graph.f.shape == ()
    point = _point_for(graph, data)
    assert np.isfinite(_eval_at(graph.f, point))
    assert domain_violations(graph.f, point) == []


def test_strategies_cover_the_table():
    """Over a fixed set of draws, the strategies use most rows of the table."""
    from symdiff.graph.walks import topological

    seen: set = set()

    @settings(max_examples=150, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(graph=st.one_of(scalar_graphs(), array_graphs()))
    def collect(graph):
        seen.update(n.op for n in topological([graph.f]))

    collect()
    wanted = {"add", "sub", "mul", "div", "neg", "pow", "pow_tensor", "exp", "log", "sin", "cos",
              "tan", "tanh", "sigmoid", "relu", "sqrt", "abs", "sign", "step", "maximum",
              "minimum", "greater", "greater_equal", "less", "less_equal", "where", "sum",
              "mean", "matmul", "transpose", "reshape", "index"}
    assert wanted - seen == set(), f"never generated: {sorted(wanted - seen)}"


def test_table_graphs_cover_every_user_row():
    """Every row of the table has a builder in ``table_graphs`` (or is listed as internal,
    with no public builder), and a fixed set of draws generates every one of them: a new
    row fails here until the strategy generates it."""
    from symdiff.graph.walks import topological

    missing = sorted(set(PRIMITIVES) - set(TABLE_BUILDERS) - set(INTERNAL_ROWS))
    assert missing == [], f"rows with no builder in strategies.TABLE_BUILDERS: {missing}"
    seen: set = set()
    depths: list = []

    @settings(max_examples=150, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(graph=table_graphs())
    def collect(graph):
        seen.update(n.op for n in topological([graph.f]))
        depths.append(graph.depth)

    collect()
    assert set(USER_ROWS) - seen == set(), f"never generated: {sorted(set(USER_ROWS) - seen)}"
    assert max(depths) == 12 and sum(d >= 10 for d in depths) >= len(depths) // 4, depths


# ---------------------------------------------------------------------------
# examples found by the properties, kept as plain regression tests
# ---------------------------------------------------------------------------

# Regression (symdiff/checking/check.py, _sympy_gradients; found by test_scalar_graphs_many, fixed in
# 4311040): with lambdify(..., cse=True), SymPy's cse pulled the relational x > 0.5 out of
# Heaviside(Piecewise((0.5, x > 0.5), (x, True)), 0) into a plain symbol, and the numpy
# printer (which has no Heaviside and prints it through rewrite(Piecewise)) folded it to 1:
# the closed-form column said 1 where the derivative is 0, with no problem reported.
def test_check_of_relu_of_where_is_ok():
    x = sd.var("x")
    f = sd.relu(sd.where(x > 0.5, 0.5, x))
    r = sd.check(f, at={"x": -0.125})
    assert r.closed_form["x"] == 0.0, str(r)
    assert r.ok, str(r)
    g = 5 * sd.sin(x) + f           # the example as hypothesis found it
    r = sd.check(g, at={"x": -0.125})
    assert r.ok, str(r)


# ---------------------------------------------------------------------------
# the figures, at the end of the run
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module", autouse=True)
def _summary(request):
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if not STATS or reporter is None:
        return
    reporter.write_line("")
    reporter.write_line("random graphs: sd.check (closed form, reverse mode, finite differences) "
                        "and value_and_grad vs sd.grad's graphs:")
    for k, v in sorted(STATS.items()):
        reporter.write_line(f"  {k}: {v}")
