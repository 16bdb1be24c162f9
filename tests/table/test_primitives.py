"""The table sweep: every row of ``numeric.PRIMITIVES`` gets every test below.

Parametrized directly over the table (ids are row names, plus the case for rows whose
tests run on several shapes/params), so a new row is tested as soon as it exists; rows
that are not elementwise, and rows with params, must have an entry in ``CASES`` (a test
says so), because their shapes and params cannot be guessed.

Per row: schema and arity; the shape rule against numpy's result; VJP against
random-direction central differences in float64; elementwise VJPs against ``sympy.diff``
of the row's formula; ``None`` VJPs only where the derivative is 0 almost everywhere or
the input is a condition; symdiff's own derivative rules (``sd.grad``) against the table's
VJPs; kink conventions; domains.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import sympy

import symdiff as sd
from numeric import PRIMITIVES, NumericShapeError, sum_to
from numeric.primitives import index_key
from symdiff.graph.node import apply
from symdiff.graph.walks import free_names
from symdiff.symbolic.functions import NUMPY_FUNCTIONS, relu, sigmoid, template

from row_cases import (BAD_CASES, CASES, ELEMENTWISE, INCOMPATIBLE, ROW_CASES, ROWS,
                       S, cases_for, params_for, rng_for)
from strategies import boolean_inputs, compare_vjp, draw_inputs, near_row_kink

# ---------------------------------------------------------------------------
# schema
# ---------------------------------------------------------------------------

def test_every_row_with_params_or_not_elementwise_has_cases():
    missing = [name for name, row in PRIMITIVES.items()
               if (row.kind != "elementwise" or row.params) and name not in CASES]
    assert not missing, f"add CASES entries (shapes, params) for: {missing}"
    missing_bad = [name for name, row in PRIMITIVES.items()
                   if row.kind != "elementwise" and name not in BAD_CASES]
    assert not missing_bad, f"add BAD_CASES entries for: {missing_bad}"
    stale = sorted(set(CASES) - set(PRIMITIVES))
    assert not stale, f"CASES names rows that do not exist: {stale}"


@pytest.mark.parametrize("row", ROWS)
def test_schema(row):
    assert PRIMITIVES[row.name] is row
    assert isinstance(row.arity, int) and row.arity >= 1
    assert len(row.vjp) == row.arity
    assert all(v is None or callable(v) for v in row.vjp)
    assert callable(row.forward) and callable(row.shape)
    assert row.kind in {"elementwise", "reduction", "structural"}
    assert row.dtype in {"float64", "bool"}
    assert isinstance(row.sympy, str) and row.sympy
    assert isinstance(row.display, str) and row.display
    assert isinstance(row.params, tuple) and all(
        isinstance(p, str) and p.isidentifier() for p in row.params)
    assert len(set(row.params)) == len(row.params)
    assert len(row.domain.sample) == row.arity
    for lo, hi in row.domain.sample:
        assert lo < hi
    assert row.grad_fn_name.endswith("Backward") and row.grad_fn_name[0].isupper()
    if row.dtype == "bool":
        # a boolean output carries no derivative
        assert all(v is None for v in row.vjp)
    # a complex-safe forward only makes sense where the complex step is used
    assert row.complex_forward is None or (callable(row.complex_forward) and row.analytic)


@pytest.mark.parametrize("row", ROWS)
def test_params_of_cases_are_the_rows_params(row):
    for shapes, params in cases_for(row.name):
        assert set(params) <= set(row.params), (shapes, params)
        assert len(shapes) == row.arity


# ---------------------------------------------------------------------------
# shape rule vs numpy
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("row,shapes,params", ROW_CASES)
def test_shape_rule_matches_numpy(row, shapes, params):
    rng = rng_for("shape", row.name, shapes, params)
    xs = draw_inputs(row, shapes, params, rng)
    out = row.forward(*xs, **params)
    assert tuple(row.shape(*shapes, **params)) == np.shape(out)
    expected = np.bool_ if row.dtype == "bool" else np.float64
    assert np.asarray(out).dtype == expected


@pytest.mark.parametrize("row", [p for p in ELEMENTWISE if p.values[0].arity >= 2])
def test_elementwise_incompatible_shapes_name_the_row(row):
    shapes = INCOMPATIBLE[row.arity]
    for params in params_for(row.name):
        with pytest.raises(NumericShapeError) as info:
            row.shape(*shapes, **params)
        assert row.name in str(info.value)
        assert info.value.op == row.name


@pytest.mark.parametrize("row", [pytest.param(PRIMITIVES[n], id=n) for n in BAD_CASES])
def test_bad_shapes_name_the_row(row):
    for shapes, params in BAD_CASES[row.name]:
        with pytest.raises(NumericShapeError) as info:
            row.shape(*shapes, **params)
        assert row.name in str(info.value), (shapes, params, str(info.value))


# ---------------------------------------------------------------------------
# VJP vs central differences
# ---------------------------------------------------------------------------

FD_EPS = 1e-6
FD_RTOL = 1e-6
FD_ATOL = 1e-8


@pytest.mark.parametrize("row,shapes,params", ROW_CASES)
def test_vjp_matches_central_differences(row, shapes, params):
    rng = rng_for("fd", row.name, shapes, params)
    checked = 0
    for trial in range(3):
        xs = draw_inputs(row, shapes, params, rng)
        for i, rule in enumerate(row.vjp):
            if rule is None:
                continue
            cmp = compare_vjp(row, xs, params, i, rng, eps=FD_EPS)
            assert cmp.cotangent_shape == np.shape(xs[i])
            assert cmp.close(FD_RTOL, FD_ATOL), (
                f"{row.name} VJP of input {i} at {xs}: analytic {cmp.analytic!r}, "
                f"numeric {cmp.numeric!r}")
            checked += 1
    assert checked or all(v is None for v in row.vjp)


def test_fd_comparison_catches_a_wrong_vjp():
    """Meta-test: sin with +sin instead of cos must be caught, sin with cos must pass."""
    row = PRIMITIVES["sin"]
    wrong = lambda g, out, x: g * np.sin(x)  # noqa: E731
    rng = rng_for("meta")
    for shapes in [((),), ((3, 2),)]:
        xs = draw_inputs(row, shapes, {}, rng)
        assert not compare_vjp(row, xs, {}, 0, rng, rule=wrong).close(FD_RTOL, FD_ATOL)
        assert compare_vjp(row, xs, {}, 0, rng).close(FD_RTOL, FD_ATOL)
    # a subtler mistake: a factor 1 + 1e-4 off (e.g. a rounded constant)
    off = lambda g, out, x: g * np.cos(x) * (1 + 1e-4)  # noqa: E731
    xs = draw_inputs(row, ((3, 2),), {}, rng)
    assert not compare_vjp(row, xs, {}, 0, rng, rule=off).close(FD_RTOL, FD_ATOL)
    # and a wrong unbroadcast: matmul's x-cotangent with the operands swapped
    mm = PRIMITIVES["matmul"]
    xs = draw_inputs(mm, ((3, 3), (3, 3)), {}, rng)
    swapped = lambda g, out, x, y: g @ y  # noqa: E731  (should be g @ y.T)
    assert not compare_vjp(mm, xs, {}, 0, rng, rule=swapped).close(FD_RTOL, FD_ATOL)


# ---------------------------------------------------------------------------
# VJP vs SymPy (elementwise rows)
# ---------------------------------------------------------------------------

def _lambdify(args, expr):
    expr = expr.replace(sympy.DiracDelta, lambda *a: sympy.S.Zero)
    return sympy.lambdify(args, expr, modules=[NUMPY_FUNCTIONS, "numpy"])


def _formula(name, params):
    t = template(name)
    return t, t.instantiate(t.args, params)


@pytest.mark.parametrize("row", ELEMENTWISE)
def test_sympy_formula_matches_forward(row):
    """The formula SymPy differentiates is the function numpy computes."""
    for params in params_for(row.name):
        t, f = _formula(row.name, params)
        fn = _lambdify(t.args, f)
        xs = draw_inputs(row, [(25,)] * row.arity, params, rng_for("formula", row.name, params))
        want = row.forward(*xs, **params)
        got = np.broadcast_to(fn(*xs), np.shape(want))
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12,
                                   err_msg=f"{row.name} {params}: formula {f}")


@pytest.mark.parametrize("row", ELEMENTWISE)
def test_vjp_matches_sympy_derivative(row):
    bools = boolean_inputs(row.name)
    compared = 0
    for params in params_for(row.name):
        t, f = _formula(row.name, params)
        rng = rng_for("sympy", row.name, params)
        xs = draw_inputs(row, [(40,)] * row.arity, params, rng)
        out = row.forward(*xs, **params)
        g = np.ones(np.shape(out))
        for i, rule in enumerate(row.vjp):
            if rule is None or i in bools:
                continue
            d = sympy.diff(f, t.args[i])
            assert not d.has(sympy.Derivative), d
            want = np.broadcast_to(_lambdify(t.args, d)(*xs), np.shape(out))
            got = np.broadcast_to(rule(g, out, *xs, **params), np.shape(out))
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12,
                                       err_msg=f"{row.name} {params} input {i}: d/d{t.args[i]} = {d}")
            compared += 1
    assert compared or all(v is None for v in row.vjp)


@pytest.mark.parametrize("row", ELEMENTWISE)
def test_none_vjp_only_where_no_derivative_flows(row):
    """A ``None`` VJP is allowed for a boolean-valued row, for a condition input, or where
    the true derivative is 0 away from the row's kinks (sign, step)."""
    bools = boolean_inputs(row.name)
    for params in params_for(row.name):
        t, f = _formula(row.name, params)
        for i, rule in enumerate(row.vjp):
            if i in bools:
                assert rule is None, f"{row.name}: input {i} is a condition, yet has a VJP"
                continue
            if rule is not None:
                continue
            if row.dtype == "bool":
                assert isinstance(f, sympy.core.relational.Relational), f
                continue
            d = sympy.diff(f, t.args[i])
            xs = draw_inputs(row, [(40,)] * row.arity, params, rng_for("none", row.name, i))
            val = np.broadcast_to(_lambdify(t.args, d)(*xs), (40,))
            assert np.all(val == 0), (
                f"{row.name} has no VJP for input {i}, but d/d{t.args[i]} = {d} is not 0 "
                f"away from its kinks")


def test_where_condition_is_detected_as_boolean():
    assert boolean_inputs("where") == {0}
    assert all(not boolean_inputs(n) for n in ("add", "maximum", "greater", "sum"))


# ---------------------------------------------------------------------------
# symdiff's derivative rules vs the table's VJPs
# ---------------------------------------------------------------------------

def _symdiff_inputs(row, xs, bools):
    """Variables for the float inputs; a comparison node for a boolean input."""
    nodes, point = [], {}
    for i, x in enumerate(xs):
        name = f"x{i}"
        if i in bools:
            c = sd.var(name, np.shape(x))
            nodes.append(c > 0.0)
            point[name] = np.where(x, 1.0, -1.0)
        else:
            nodes.append(sd.var(name, np.shape(x)))
            point[name] = np.asarray(x, dtype=np.float64)
    return nodes, point


@pytest.mark.parametrize("row,shapes,params", ROW_CASES)
def test_symdiff_derivative_matches_table_vjp(row, shapes, params):
    """``sd.grad`` (elementwise partials from SymPy, hand-written structural adjoints)
    and the table's numpy VJPs are independent; they must agree on every row and case."""
    rng = rng_for("symdiff", row.name, shapes, params)
    bools = boolean_inputs(row.name)
    xs = draw_inputs(row, shapes, params, rng)
    nodes, point = _symdiff_inputs(row, xs, bools)
    y = apply(row.name, *nodes, **params)
    out = row.forward(*xs, **params)
    G = rng.standard_normal(np.shape(out))
    f = sd.sum(y * sd.const(G))
    wrt = [n for i, n in enumerate(nodes) if i not in bools]
    grads = sd.grad(f, wrt)
    k = 0
    for i, rule in enumerate(row.vjp):
        if i in bools:
            continue
        g_node = grads[k]
        k += 1
        assert g_node.shape == np.shape(xs[i])
        free = {n: point[n] for n in free_names(g_node)}
        got = np.asarray(g_node.eval(free))
        want = np.zeros(np.shape(xs[i])) if rule is None or row.dtype == "bool" else \
            sum_to(rule(G, out, *xs, **params), np.shape(xs[i]))
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12,
                                   err_msg=f"{row.name} {params}: sd.grad input {i}")


# ---------------------------------------------------------------------------
# SymPy functions of ours, kinks, domains
# ---------------------------------------------------------------------------

X = sympy.Symbol("x", real=True)
POINTS = [-2.3, -0.7, -0.01, 0.01, 0.4, 1.9]


@pytest.mark.parametrize("fn,target", [(relu, sympy.Max), (sigmoid, sympy.exp)],
                         ids=["relu", "sigmoid"])
def test_custom_fdiff_matches_diff_of_rewrite(fn, target):
    by_hand = fn(X).fdiff(1)
    assert sympy.diff(fn(X), X) == by_hand
    rewritten = sympy.diff(fn(X).rewrite(target), X)
    assert not rewritten.has(fn)
    for p in POINTS:
        a = complex(by_hand.subs(X, p).rewrite(target).evalf())
        b = complex(rewritten.subs(X, p).evalf())
        assert abs(a - b) < 1e-12, (fn, p, a, b)
    # and the rewrite is the function itself, which is the row's forward
    row = PRIMITIVES[fn.__name__]
    for p in POINTS:
        assert abs(float(fn(X).rewrite(target).subs(X, p)) - float(row.forward(np.float64(p)))) \
            < 1e-12


def test_sigmoid_fdiff_is_symbolically_right():
    diff = sigmoid(X).fdiff(1).rewrite(sympy.exp) - sympy.diff(sigmoid(X).rewrite(sympy.exp), X)
    assert sympy.simplify(diff) == 0


def test_relu_fdiff_uses_pytorch_convention_at_zero():
    assert relu(X).fdiff(1) == sympy.Heaviside(X, 0)
    assert relu(X).fdiff(1).subs(X, 0) == 0


def _vjps(name, *xs):
    row = PRIMITIVES[name]
    xs = [np.float64(v) for v in xs]
    out = row.forward(*xs)
    return [float(rule(np.float64(1.0), out, *xs)) for rule in row.vjp]


def test_kink_conventions_of_the_table():
    assert _vjps("relu", 0.0) == [0.0]
    assert _vjps("abs", 0.0) == [0.0]
    assert _vjps("maximum", 1.5, 1.5) == [0.5, 0.5]
    assert _vjps("minimum", -2.0, -2.0) == [0.5, 0.5]
    # and away from the kinks, the ordinary one-sided values
    assert _vjps("relu", -1.0) == [0.0] and _vjps("relu", 2.0) == [1.0]
    assert _vjps("abs", -1.0) == [-1.0] and _vjps("abs", 2.0) == [1.0]
    assert _vjps("maximum", 2.0, 1.0) == [1.0, 0.0]
    assert _vjps("minimum", 2.0, 1.0) == [0.0, 1.0]


def test_kink_conventions_agree_in_symdiff():
    """Reverse mode (table VJPs) and sd.diff (SymPy partials) use the same conventions."""
    x, y = sd.var("x"), sd.var("y")
    for f, wrt, at, want in [(sd.relu(x), x, {"x": 0.0}, 0.0), (sd.abs(x), x, {"x": 0.0}, 0.0),
                             (sd.maximum(x, y), x, {"x": 1.0, "y": 1.0}, 0.5),
                             (sd.maximum(x, y), y, {"x": 1.0, "y": 1.0}, 0.5),
                             (sd.minimum(x, y), x, {"x": 1.0, "y": 1.0}, 0.5)]:
        at = {k: v for k, v in at.items() if k in free_names(f)}
        _, (g,) = sd.value_and_grad(f, [wrt])(at)
        assert g == want, (f, wrt)
        d = sd.diff(f, wrt)
        dat = {k: v for k, v in at.items() if k in free_names(d)}
        assert d.eval(dat) == want, (f, wrt, d.sympy())


@pytest.mark.parametrize("row", [pytest.param(r, id=n) for n, r in PRIMITIVES.items()
                                 if r.domain.kink is not None])
def test_kink_predicate_flags_its_kink(row):
    """Each kink predicate is True somewhere it should be (at 0, at a tie, or at the
    point ``KINK_AT`` names), and near it."""
    if row.kind != "elementwise":
        # reductions (norm, amax, amin): zeros tie every group of two or more entries
        checked = 0
        for shapes, params in cases_for(row.name):
            xs = [np.zeros(s) for s in shapes]
            out = np.asarray(row.forward(*xs, **params))
            if out.size and xs[0].size // out.size >= 2:
                assert np.all(row.domain.kink(*xs, **params)), (row.name, shapes, params)
                assert near_row_kink(row, [np.full(s, 1e-4) for s in shapes], params)
                checked += 1
        assert checked
        return
    for params in params_for(row.name):
        at = KINK_AT.get(row.name, 0.0)
        xs = [np.float64(at)] * row.arity
        if row.name == "pow" and not (params["p"] < 1 and params["p"] != 0):
            assert not np.any(row.domain.kink(*xs, **params))
            continue
        assert np.all(row.domain.kink(*xs, **params)), (row.name, params)
        assert near_row_kink(row, [np.float64(at - 1e-4)] * row.arity, params)
        if row.name in KINK_AT:
            # and these rows are smooth at 0 (a predicate true everywhere would pass above)
            assert not np.any(row.domain.kink(*[np.float64(0.0)] * row.arity, **params))


KINK_AT = {"arcsin": 1.0, "arccos": 1.0, "arccosh": 1.0}
"""Rows whose kink is not at 0: where their derivative becomes infinite."""


GRID = np.array([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0])


def _grid(arity):
    return [np.array(c) for c in zip(*itertools.product(GRID, repeat=arity))]


@pytest.mark.parametrize("name", ["log", "sqrt", "div"])
def test_valid_is_exactly_where_forward_is_finite(name):
    row = PRIMITIVES[name]
    xs = _grid(row.arity)
    with np.errstate(all="ignore"):
        finite = np.isfinite(row.forward(*xs))
    valid = np.asarray(row.domain.valid(*xs))
    assert np.array_equal(valid, finite), [tuple(p) for p in np.array(xs).T[valid != finite]]
    assert not valid.all() and valid.any()


@pytest.mark.parametrize("row", [pytest.param(r, id=n) for n, r in PRIMITIVES.items()
                                 if r.domain.valid is not None])
def test_valid_implies_finite(row):
    """Where ``valid`` says the value is defined, it is finite (valid may be conservative)."""
    if row.kind == "elementwise":
        for params in params_for(row.name):
            xs = _grid(row.arity)
            with np.errstate(all="ignore"):
                finite = np.isfinite(row.forward(*xs, **params))
            valid = np.asarray(row.domain.valid(*xs, **params))
            assert not np.any(valid & ~finite), (row.name, params)
        return
    # whole-array rows (det, inv): arrays of grid values, singular ones included
    rng = rng_for("valid", row.name)
    seen = set()
    for shapes, params in cases_for(row.name):
        for trial in range(40):
            xs = [rng.choice(GRID, size=s) for s in shapes]
            if trial == 0:
                xs = [np.zeros(s) for s in shapes]
            with np.errstate(all="ignore"):
                finite = bool(np.all(np.isfinite(row.forward(*xs, **params))))
            valid = bool(np.all(row.domain.valid(*xs, **params)))
            seen.add(valid)
            assert finite or not valid, (row.name, xs)
    assert seen == {True, False}, f"{row.name}: the grid never left (or entered) the domain"


@pytest.mark.parametrize("row,shapes,params", ROW_CASES)
def test_sample_intervals_are_inside_the_domain(row, shapes, params):
    rng = rng_for("domain", row.name, shapes, params)
    xs = draw_inputs(row, shapes, params, rng)
    out = row.forward(*xs, **params)
    if row.dtype == "float64":
        assert np.all(np.isfinite(out))
    if row.domain.valid is not None:
        assert np.all(row.domain.valid(*xs, **params))


def test_index_key_round_trip():
    # the hashable key form and numpy's form agree
    assert index_key((0, S(None, None, 2))) == (0, slice(None, None, 2))
    assert index_key((None, Ellipsis)) == (None, Ellipsis)


# ---------------------------------------------------------------------------
# closed forms of the rows that are not elementwise vs numpy
# ---------------------------------------------------------------------------

STRUCTURAL_CASES = [p for p in ROW_CASES if p.values[0].kind != "elementwise"]


def _structural_graph(row, shapes, params):
    rng = rng_for("closed", row.name, shapes, params)
    xs = draw_inputs(row, shapes, params, rng)
    nodes = [sd.var(f"x{i}", s) for i, s in enumerate(shapes)]
    return xs, nodes, apply(row.name, *nodes, **params), row.forward(*xs, **params)


@pytest.mark.parametrize("row,shapes,params", STRUCTURAL_CASES)
def test_explicit_closed_form_matches_forward(row, shapes, params):
    from symdiff.symbolic.closed_form import element_symbols

    xs, nodes, y, want = _structural_graph(row, shapes, params)
    subs = {}
    for n, x in zip(nodes, xs):
        syms = element_symbols(n)
        for idx in np.ndindex(*n.shape):
            subs[syms[idx]] = float(np.asarray(x)[idx])
    e = y.sympy(explicit=True)
    if isinstance(e, sympy.NDimArray):
        flat = np.array(e.tolist(), dtype=object).reshape(-1)
        # regression (closed_form._explicit_op, unindex of a 0-d value, fixed in 71fe05d):
        # the element was stored as a rank-0 array inside the array
        nested = [v for v in flat if isinstance(v, (sympy.NDimArray, np.ndarray))]
        assert not nested, f"explicit closed form {e} nests arrays inside elements: {nested}"
        got = np.array([float(sympy.sympify(v).xreplace(subs)) for v in flat], dtype=float)
        got = got.reshape(e.shape)
    else:
        got = np.array(float(sympy.sympify(e).xreplace(subs)))
    assert got.shape == np.shape(want)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("row,shapes,params", STRUCTURAL_CASES)
def test_matrix_closed_form_is_right_or_refused(row, shapes, params):
    """``node.sympy()`` of a structural op is a matrix expression equal to numpy's result
    (1-D arrays are columns), or a ClosedFormError: never a wrong formula."""
    from symdiff.symbolic.matrix_form import leaf_symbol

    xs, nodes, y, want = _structural_graph(row, shapes, params)
    try:
        m = y.sympy()
    except sd.ClosedFormError:
        return
    subs = {}
    for n, x in zip(nodes, xs):
        sym = leaf_symbol(n)
        subs[sym] = sympy.ImmutableMatrix(np.reshape(x, sym.shape).tolist()) if n.shape \
            else sympy.Float(float(x))
    value = m.xreplace(subs).doit()
    if y.shape == () or (y.size == 1 and not isinstance(m, (sympy.MatrixBase, sympy.MatrixExpr))):
        # a one-element result may come out as a scalar expression
        got = float(value[0, 0] if isinstance(value, sympy.MatrixBase) else value)
        assert abs(got - float(np.reshape(want, ()))) < 1e-12, (m, got, want)
        return
    rows, cols = (y.shape[0], 1) if y.ndim == 1 else y.shape if y.ndim == 2 else (None, None)
    assert rows is not None, f"{m}: a matrix expression for a {y.ndim}-D result"
    assert tuple(m.shape) == (rows, cols), (m, m.shape, y.shape)
    got = np.array(sympy.Matrix(value).tolist(), dtype=float)
    np.testing.assert_allclose(got, np.reshape(want, (rows, cols)), rtol=1e-12, atol=1e-12,
                               err_msg=str(m))


def test_sum_to_sums_broadcast_axes_and_refuses_a_wrong_shape():
    g = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(sum_to(g, (3, 4)), g.sum(axis=0))
    np.testing.assert_array_equal(sum_to(g, (3, 1)), g.sum(axis=(0, 2)).reshape(3, 1))
    np.testing.assert_array_equal(sum_to(g, ()), g.sum())
    np.testing.assert_array_equal(sum_to(np.ones((1, 3)), (3,)), np.ones(3))
    # same size, different layout: a VJP bug must not be reshaped into wrong numbers
    with pytest.raises(NumericShapeError):
        sum_to(np.ones((2, 5, 4)), (5, 2, 4))
    with pytest.raises((NumericShapeError, ValueError)):
        sum_to(np.ones((3, 4)), (4, 1))


# Regression (symdiff/symbolic/functions.py, relu.eval; fixed in 4311040): relu(nan) raised
# "ValueError: The argument 'nan' is not comparable" (it called Max(nan, 0)), while SymPy's
# own functions return nan; sympy.simplify substitutes such values internally, so
# simplify(sd.diff(sd.sin(sd.relu(x*sd.sign(x))), x).sympy()) raised.
def test_relu_of_nan_is_nan():
    assert relu(sympy.nan) is sympy.nan
    assert sigmoid(sympy.nan) is sympy.nan
    assert relu(sympy.oo) == sympy.oo and relu(-sympy.oo) == 0
    assert sigmoid(sympy.oo) == 1 and sigmoid(-sympy.oo) == 0


# same bug, as a user meets it: simplify of a derivative that contains relu
def test_simplify_of_a_relu_derivative_does_not_raise():
    x = sd.var("x")
    d = sd.diff(sd.sin(sd.relu(x * sd.sign(x))), x).sympy()
    simplified = sympy.simplify(d)
    X = sympy.Symbol("x")
    for p in (-1.5, 0.7):
        assert abs(float(simplified.subs(X, p)) - float(d.subs(X, p))) < 1e-12


# ---------------------------------------------------------------------------
# Jacobians (batched cotangents through every rule) and matrix closed forms of derivatives
# ---------------------------------------------------------------------------

def _numeric_jacobian(fn, x, eps=1e-6):
    x = np.asarray(x, dtype=float)
    out = np.asarray(fn(x))
    J = np.zeros(out.shape + x.shape)
    for idx in np.ndindex(*x.shape):
        e = np.zeros(x.shape)
        e[idx] = eps
        J[(Ellipsis,) + idx] = (np.asarray(fn(x + e)) - np.asarray(fn(x - e))) / (2 * eps)
    return J


@pytest.mark.parametrize("row,shapes,params", ROW_CASES)
def test_jacobian_matches_central_differences(row, shapes, params):
    """``sd.jacobian`` sends a cotangent with batch axes through every rule of the row."""
    rng = rng_for("jacobian", row.name, shapes, params)
    bools = boolean_inputs(row.name)
    xs = draw_inputs(row, shapes, params, rng)
    nodes, point = _symdiff_inputs(row, xs, bools)
    y = apply(row.name, *nodes, **params)
    for i, rule in enumerate(row.vjp):
        if i in bools or row.dtype == "bool":
            continue
        J = sd.jacobian(y, nodes[i])
        assert J.shape == y.shape + np.shape(xs[i])
        got = np.asarray(J.eval({n: point[n] for n in free_names(J)}))

        def fn(v, i=i):
            args = list(xs)
            args[i] = v
            return row.forward(*args, **params)

        want = np.zeros(got.shape) if rule is None else _numeric_jacobian(fn, xs[i])
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7,
                                   err_msg=f"{row.name} {params}: jacobian of input {i}")


@pytest.mark.parametrize("row,shapes,params", [p for p in ROW_CASES
                                                if all(len(s) <= 2 for s in p.values[1])])
def test_matrix_closed_form_of_the_derivative_is_right_or_refused(row, shapes, params):
    """The matrix formula of d sum(G * op(x)) / dx: symdiff validates it numerically before
    returning it; here it is checked once more, against the explicit element form."""
    from symdiff.symbolic.matrix_form import leaf_symbol
    from symdiff.symbolic.matrix_eval import evaluate

    rng = rng_for("matrix-derivative", row.name, shapes, params)
    bools = boolean_inputs(row.name)
    if bools or row.dtype == "bool":
        return
    xs = draw_inputs(row, shapes, params, rng)
    nodes = [sd.var(f"x{i}", s) for i, s in enumerate(shapes)]
    y = apply(row.name, *nodes, **params)
    G = sd.var("G", y.shape)
    for i, x in enumerate(nodes):
        d = sd.diff(sd.sum(y * G), x)
        try:
            m = d.sympy()
        except sd.ClosedFormError as e:
            assert "explicit=True" in str(e)
            continue
        point = {f"x{k}": v for k, v in enumerate(xs)}
        point["G"] = rng.standard_normal(y.shape)
        env = {}
        for n in nodes + [G]:
            sym = leaf_symbol(n)
            env[sym] = np.reshape(point[n.name], sym.shape) if n.shape else float(point[n.name])
        got = np.asarray(evaluate(m, env), dtype=float).reshape(-1)
        want = np.asarray(d.eval({k: v for k, v in point.items() if k in free_names(d)}))
        np.testing.assert_allclose(got, want.reshape(-1), rtol=1e-8, atol=1e-10, err_msg=str(m))


# ---------------------------------------------------------------------------
# the analytic flag: the complex step on every analytic row
# ---------------------------------------------------------------------------

NOT_ANALYTIC = {"relu", "abs", "sign", "step", "maximum", "minimum", "where",
                "greater", "greater_equal", "less", "less_equal",
                "clip"}   # issue 14
NOT_ANALYTIC |= {"amax", "amin"}   # -- reductions and shapes: piecewise (ties)
"""Piecewise rows and comparisons; every other row (norm included: sqrt(sum(x*x)) is
analytic away from 0, as sqrt is) must give its derivative by the complex step."""
ANALYTIC_CASES = [p for p in ROW_CASES if p.values[0].analytic]
H = 1e-20


def test_analytic_flags_of_the_table():
    assert all(isinstance(row.analytic, bool) for row in PRIMITIVES.values())
    assert {n for n, row in PRIMITIVES.items() if not row.analytic} == NOT_ANALYTIC
    # a comparison or a piecewise op can never be analytic
    for name in NOT_ANALYTIC:
        row = PRIMITIVES[name]
        assert row.dtype == "bool" or row.domain.kink is not None or name == "where"


def _complex_step_vjp(row, forward, xs, params, i, g, d):
    moved = [np.asarray(x, dtype=np.complex128) for x in xs]
    moved[i] = moved[i] + 1j * H * d
    return float(np.imag(np.sum(g * forward(*moved, **params)))) / H


@pytest.mark.parametrize("row,shapes,params", ANALYTIC_CASES)
def test_complex_step_of_analytic_rows_matches_vjp(row, shapes, params):
    """Im sum(g * f(x + ih d)) / h equals sum(vjp(g) * d) to rounding (no step-size
    trade-off), using the row's forward or its complex-safe variant."""
    from numeric.finite_diff import complex_forward

    rng = rng_for("complex-step", row.name, shapes, params)
    forward = complex_forward(row)
    checked = 0
    for trial in range(2):
        xs = draw_inputs(row, shapes, params, rng)
        out = row.forward(*xs, **params)
        # the complex-safe variant computes the same function on real inputs
        np.testing.assert_allclose(np.real(forward(*xs, **params)), out, rtol=1e-12,
                                   atol=1e-12)
        g = rng.standard_normal(np.shape(out))
        for i, rule in enumerate(row.vjp):
            if rule is None:
                continue
            d = rng.standard_normal(np.shape(xs[i]))
            cs = _complex_step_vjp(row, forward, xs, params, i, g, d)
            want = float(np.sum(sum_to(rule(g, out, *xs, **params), np.shape(xs[i])) * d))
            assert abs(cs - want) <= 1e-10 * max(1.0, abs(want)), (
                f"{row.name} input {i} at {xs}: complex step {cs!r}, VJP {want!r}")
            checked += 1
    assert checked


def test_complex_step_needs_an_analytic_forward():
    """Meta-test: abs (not analytic) and sigmoid's real-only forward give a wrong complex
    step, which is why the flag and the complex-safe variants exist."""
    from numeric.finite_diff import complex_forward

    x, g, d = [np.array([0.7, -1.3])], np.ones(2), np.ones(2)
    ab = PRIMITIVES["abs"]
    assert _complex_step_vjp(ab, ab.forward, x, {}, 0, g, d) == 0.0   # np.abs: the modulus
    sig = PRIMITIVES["sigmoid"]
    want = float(np.sum(sig.vjp[0](g, sig.forward(x[0]), x[0]) * d))
    assert abs(_complex_step_vjp(sig, sig.forward, x, {}, 0, g, d) - want) > 0.1
    assert abs(_complex_step_vjp(sig, complex_forward(sig), x, {}, 0, g, d) - want) < 1e-12


POINT_KINKS = {"norm", "hypot"}
"""Rows whose only kink is a point (norm at 0, hypot at (0, 0)), not a surface a claim could
be wrong past."""


@pytest.mark.parametrize("row", ROWS)
def test_a_kink_on_a_surface_has_a_boundary(row):
    """sd.verify finds thresholds through Domain.boundary: a row that has kinks on a
    surface must say where its branches switch, as zero crossings: wherever its kink
    predicate holds (drawn on an integer grid, so kinks and ties are hit), the boundary
    is 0."""
    dom = row.domain
    if dom.kink is None or row.name in POINT_KINKS:
        return
    assert dom.boundary is not None, f"{row.name} has kinks but no Domain.boundary"
    hit = 0
    for shapes, params in cases_for(row.name):
        rng = rng_for(row.name, shapes, "boundary")
        for _ in range(20):
            xs = [rng.integers(-2, 3, size=s).astype(float) for s in shapes]
            # the output's shape: the inputs' broadcast one, or a reduction's result
            kink = np.broadcast_to(np.asarray(dom.kink(*xs, **params)),
                                   row.shape(*shapes, **params))
            b = np.broadcast_to(np.asarray(dom.boundary(*xs, **params), dtype=float),
                                kink.shape)
            assert np.all(b[kink] == 0), (row.name, xs, params)
            hit += int(np.any(kink))
    assert hit, f"{row.name}: no kink was hit on the grid, so nothing was checked"
