"""The optimised evaluator against the reference interpreter.

``numeric.codegen`` writes each program out as straight-line code (numpy arrays, or Python
floats for scalar programs) and ``numeric.fuse`` turns polynomial chains into Horner
evaluations. Every optimisation is checked here against ``Program(optimize=False)``, the
plain interpreter: the scalar templates of every table row at ordinary and edge values,
random graphs, the fast call paths of ``value_and_grad`` and ``eval``, buffer reuse,
no mutation of inputs, no aliasing of results, and calls from several threads.
"""
from __future__ import annotations

import hashlib
import math
import threading
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import numeric
import symdiff as sd
from numeric import PRIMITIVES, Program, codegen
from numeric.codegen.rules import CODEGEN, rule_for
from numeric.fuse import POLYVAL, derivative, polyval
from symdiff.lowering.lower import lower
from strategies import array_graphs, points, scalar_graphs
from symdiff.graph.walks import free_names

EDGE = [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, 1e-300, -1e-300, 1e300, -1e300, 700.0,
        -745.5, math.inf, -math.inf, math.nan, 1e-8, 2.0, -3.0]
POW_PARAMS = [2, 3, 1, 0, 0.5, -1, -2, 2.5, 4, 1.5]


def _param_sets(row: numeric.Primitive) -> list[dict]:
    if row.name == "pow":
        return [{"p": p} for p in POW_PARAMS]
    if row.name == "step":
        return [{"h0": h} for h in (0.0, 0.5, 1.0)]
    # on a 0-d input the structural rows and the reductions are the identity
    return [{p: () for p in row.params if p in ("shape", "key")}]


SCALAR_ROWS = [r for r in PRIMITIVES.values() if rule_for(r).scalar is not None]


def _same(a, b, floor: float = 0.0) -> bool:
    """Equal as numpy would print them: nan == nan, and to a few ulps (libm's and numpy's
    transcendental functions may round the last bit differently). ``floor``: a VJP such as
    tanh's 1 - out**2 turns that last bit of out into an absolute error of about one ulp
    of 1, so VJPs are compared to ulps of max(|value|, floor)."""
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= 8 * np.finfo(float).eps * max(abs(a), abs(b), floor) or \
        abs(a - b) < 1e-300


def _row_program(row, params, optimize):
    if row.name == "where":  # its condition is a comparison's boolean, as in a graph
        return Program([()] * 3, [np.float64(0.0)],
                       [("greater", (0, 3), {}), ("where", (4, 1, 2), {})],
                       output=5, wrt=[1, 2], optimize=optimize)
    shapes = [()] * row.arity
    instructions = [(row.name, tuple(range(row.arity)), params)]
    wrt = [i for i in range(row.arity) if row.vjp[i] is not None]
    return Program(shapes, [], instructions, output=row.arity, wrt=wrt, optimize=optimize)


def test_every_elementwise_row_has_a_scalar_form():
    missing = [r.name for r in PRIMITIVES.values() if r.kind == "elementwise" and (
        rule_for(r).scalar is None or len(rule_for(r).scalar_vjp) != r.arity)]
    assert not missing


def test_the_codegen_table_follows_the_table_of_primitives():
    """Every entry of ``numeric/codegen/rules.py`` names a row (of the table, the fused
    polynomial or a fused group); a row with a scalar template has one VJP template per
    input, ``None`` exactly where the row's own VJP is ``None``."""
    rows = {**PRIMITIVES, POLYVAL.name: POLYVAL}
    assert set(CODEGEN) <= set(rows) | {"fused", "fused_sum"}, set(CODEGEN) - set(rows)
    for name, rule in CODEGEN.items():
        if name not in rows:
            assert rule.scalar is None, name  # a fused group has no scalar form
            continue
        row = rows[name]
        if rule.scalar is None:
            assert rule.scalar_vjp == (), name
            continue
        assert len(rule.scalar_vjp) == row.arity, name
        assert [t is None for t in rule.scalar_vjp] == [v is None for v in row.vjp], name


@pytest.mark.parametrize("row", SCALAR_ROWS, ids=lambda r: r.name)
def test_scalar_template_matches_numpy_at_edge_values(row):
    """Where the float code returns, it returns numpy's numbers (nan and inf included);
    where it raises, the caller falls back to numpy."""
    rng = np.random.default_rng(1)
    for params in _param_sets(row):
        if row.dtype == "bool" and row.name != "where":
            continue  # a comparison cannot be a program's float output
        fast = _row_program(row, params, True).compiled("scalar")
        ref = _row_program(row, params, False)
        assert fast is not None, f"{row.name}{params}: no scalar code"
        pts = [tuple(rng.choice(EDGE, row.arity)) for _ in range(150)]
        pts += [tuple(rng.uniform(-4, 4, row.arity)) for _ in range(50)]
        fell_back = 0
        for pt in pts:
            args = [float(v) for v in pt]
            want_v, want_g = ref(*args)
            try:
                got_v, got_g = fast(*args)
            except (ArithmeticError, ValueError):
                fell_back += 1
                continue
            assert _same(got_v, want_v), f"{row.name}{params} at {args}: {got_v} != {want_v}"
            for gg, wg in zip(got_g, want_g):
                assert _same(gg, wg, 1.0), f"{row.name}{params} VJP at {args}: {gg} != {wg}"
        assert fell_back < len(pts), f"{row.name}{params}: the float code never ran"


def test_scalar_fast_path_falls_back_to_numpy_semantics():
    x = sd.var("x")
    vg = sd.value_and_grad(sd.log(x) + sd.sqrt(x), x)
    v, g = vg(x=0.0)  # math.log(0) raises: numpy's -inf and inf, not an exception
    assert v == -math.inf and g == math.inf
    v, g = vg(x=-1.0)
    assert math.isnan(v) and math.isnan(g)
    v, g = vg(x=math.nan)
    assert math.isnan(v)
    assert sd.exp(x).eval(x=1000.0) == math.inf  # math.exp overflows: numpy gives inf


def test_fast_call_accepts_what_the_general_path_accepts():
    x, y = sd.var("x"), sd.var("y")
    f = x * y + sd.sin(x)
    vg = sd.value_and_grad(f, [x, y])
    want = (2 * 3 + math.sin(2), [3 + math.cos(2), 2.0])
    for call in (lambda: vg(x=2.0, y=3.0), lambda: vg({"x": 2.0, "y": 3.0}),
                 lambda: vg({x: 2.0, y: 3.0}), lambda: vg(x=2, y=3),
                 lambda: vg(x=np.float64(2.0), y=np.array(3.0)), lambda: vg({x: 2.0}, y=3.0)):
        v, g = call()
        assert type(v) is float and all(type(t) is float for t in g)
        assert v == pytest.approx(want[0], rel=1e-15) and g == pytest.approx(want[1], rel=1e-15)
    with pytest.raises(sd.ExtraVariableError):
        vg(x=1.0, y=2.0, z=3.0)
    with pytest.raises(sd.MissingVariableError):
        vg(x=1.0)
    with pytest.raises(sd.ShapeError):
        vg(x=[1.0, 2.0], y=1.0)
    with pytest.raises(sd.SymdiffError):
        vg(x="one", y=1.0)


def test_fast_path_with_bound_tensors_and_unused_variables():
    a = sd.tensor(2.0, requires_grad=True, name="a")
    x, z = sd.var("x"), sd.var("z")
    vg = sd.value_and_grad(a * x, [x, z])
    assert vg(x=3.0) == (6.0, [2.0, 0.0])  # a's bound value; z unused: gradient 0
    assert vg(x=3.0, a=5.0) == (15.0, [5.0, 0.0])


# ---------------------------------------------------------------------------
# generated array code and fusion vs the interpreter, on random graphs
# ---------------------------------------------------------------------------

def _both(f, wrt):
    return lower(f, wrt, optimize=True).program, lower(f, wrt, optimize=False).program


def _compare(f, variables, point, rtol):
    wrt = [variables[n] for n in sorted(free_names(f))]
    if not wrt:
        return
    lowered = lower(f, wrt)
    fast, ref = lowered.program, lower(f, wrt, optimize=False).program
    args = [np.asarray(point[leaf.name], dtype=np.float64) for leaf in lowered.leaves]
    before = [hashlib.sha256(a.tobytes()).hexdigest() for a in args]
    (v1, g1), (v2, g2) = fast(*args), ref(*args)
    assert [hashlib.sha256(a.tobytes()).hexdigest() for a in args] == before
    np.testing.assert_allclose(v1, v2, rtol=rtol, atol=rtol, equal_nan=True)
    for a, b in zip(g1, g2):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol, equal_nan=True)
    np.testing.assert_allclose(fast.forward(*args), v2, rtol=rtol, atol=rtol, equal_nan=True)
    for a, b in zip(fast.grad(*args), g2):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol, equal_nan=True)
    if fast.compiled("scalar") is not None:
        sv, sg = fast.compiled("scalar")(*[float(a) for a in args])
        assert _same(sv, v2)
        assert all(_same(a, b, 1.0) for a, b in zip(sg, g2))


@settings(max_examples=150, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(graph=st.one_of(scalar_graphs(), array_graphs()), data=st.data())
def test_generated_code_equals_interpreter_on_random_graphs(graph, data):
    used = {k: v for k, v in graph.variables.items() if k in free_names(graph.f)}
    point = data.draw(points(used), label="point")
    _compare(graph.f, graph.variables, point, rtol=1e-12)


# ---------------------------------------------------------------------------
# polynomial fusion
# ---------------------------------------------------------------------------

def _poly_program(build, n=7, optimize=True):
    x = sd.var("x", (n,))
    f = sd.sum(build(x))
    return lower(f, [x], optimize=optimize).program


@pytest.mark.parametrize("build,fused", [
    (lambda x: x**3 + 7 * x**2 + 5 * x + 10, 1),
    (lambda x: 2 * x**4 - x**3 + 0.5 * x - 3, 1),
    (lambda x: -(x**2) + x * x**2 - 4, 1),
    (lambda x: (x - 1)**8, 0),           # a power of a sum: not expanded
    (lambda x: (x + 1) * (x - 1), 0),    # a product of sums: not expanded
    (lambda x: x * x, 0),                # already one pass
    (lambda x: x**20 + x, 0),            # beyond the degree cap
    (lambda x: 3 * x + 1, 0),            # Horner would be no faster
])
def test_which_polynomials_are_fused(build, fused):
    prog = _poly_program(build)
    assert prog.fused == fused
    ref = _poly_program(build, optimize=False)
    rng = np.random.default_rng(3)
    for _ in range(5):
        xs = rng.uniform(-2, 2, 7)
        (v1, (g1,)), (v2, (g2,)) = prog(xs), ref(xs)
        scale = np.sum(np.abs(xs) ** 8) + 10  # the terms' own size bounds the rounding
        assert abs(v1 - v2) <= 1e-13 * scale
        np.testing.assert_allclose(g1, g2, rtol=1e-12, atol=1e-12 * scale)


def test_fused_polynomial_whose_inner_node_is_used_elsewhere():
    x = sd.var("x", (5,))
    inner = x**2 + 3 * x
    f = sd.sum(inner * 2 + x**3 + 1) + sd.sum(sd.sin(inner))
    fast, ref = _both(f, [x])
    xs = np.linspace(-1, 1, 5)
    (v1, (g1,)), (v2, (g2,)) = fast(xs), ref(xs)
    assert v1 == pytest.approx(v2, rel=1e-13)
    np.testing.assert_allclose(g1, g2, rtol=1e-12)


def test_polyval_and_its_derivative():
    xs = np.linspace(-2, 2, 9)
    c = (2.0, -1.0, 0.0, 0.5, -3.0)
    np.testing.assert_allclose(polyval(xs, c), np.polyval(c, xs), rtol=1e-14)
    np.testing.assert_allclose(polyval(xs, derivative(c)), np.polyval(np.polyder(c), xs),
                               rtol=1e-14)
    g = np.linspace(0.5, 1.5, 9)
    np.testing.assert_allclose(POLYVAL.vjp[0](g, None, xs, c=c),
                               g * np.polyval(np.polyder(c), xs), rtol=1e-14)
    # a uniform cotangent (a broadcast scalar) scales without a pass over memory
    u = np.broadcast_to(np.float64(2.0), xs.shape)
    np.testing.assert_allclose(POLYVAL.vjp[0](u, None, xs, c=c),
                               2.0 * np.polyval(np.polyder(c), xs), rtol=1e-14)


# ---------------------------------------------------------------------------
# buffers: reuse, freeing, no mutation of inputs, no aliasing of results
# ---------------------------------------------------------------------------

def test_chain_of_ufuncs_reuses_one_buffer():
    x = sd.var("x", (1000,))
    f = sd.sum(sd.exp(sd.sin(sd.cos(x) + 1.0) * 2.0))
    prog = lower(f).program
    src = prog.source("forward")
    assert src.count("out=") >= 3, src


def test_peak_memory_of_the_polynomial_gradient_is_one_buffer():
    n = 200_000
    x = sd.var("x", (n,))
    vg = sd.value_and_grad(sd.sum(x**3 + 7 * x**2 + 5 * x + 10), [x])
    xs = np.random.default_rng(0).uniform(-2, 2, n)
    vg(x=xs)
    tracemalloc.start()
    vg(x=xs)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # one fused step computes the value and writes the gradient once, chunk by chunk:
    # one x-sized buffer, as in hand-written in-place numpy
    assert peak < 1.2 * xs.nbytes, f"peak {peak / xs.nbytes:.2f} buffers"
    assert len(vg.lowered.program.kernels) == 1
    assert "_arena" not in vg.lowered.program.source("call")  # nothing kept between calls


def test_gradient_only_program_skips_the_final_reduction():
    x = sd.var("x", (50,))
    prog = lower(sd.sum(sd.sin(x) * 2.0), [x]).program
    assert "F" in prog.source("call") and prog.source("grad").count(" = F") < \
        prog.source("call").count(" = F")
    xs = np.linspace(0, 1, 50)
    np.testing.assert_allclose(prog.grad(xs)[0], 2 * np.cos(xs))


def _mlp():
    rng = np.random.default_rng(0)
    X = sd.var("X", (16, 8))
    W1, b1 = sd.var("W1", (8, 6)), sd.var("b1", (6,))
    W2, b2 = sd.var("W2", (6, 3)), sd.var("b2", (3,))
    Y = sd.var("Y", (16, 3))
    h = sd.relu(X @ W1 + b1)
    loss = sd.mean((h @ W2 + b2 - Y) ** 2)
    vals = {n.name: rng.standard_normal(n.shape) for n in (X, W1, b1, W2, b2, Y)}
    return loss, [W1, b1, W2, b2, X], vals


def test_inputs_are_never_mutated_and_results_never_alias():
    loss, wrt, vals = _mlp()
    x = sd.var("x", (6,))
    cases = [(loss, wrt, vals),
             (sd.sum(x + x + x * x + x), [x], {"x": np.arange(6.0)}),
             (sd.sum(x ** 3 + 2 * x), [x], {"x": np.arange(6.0)}),
             (x[1:] * 1.0, [x], {"x": np.arange(6.0)})]
    for f, ws, point in cases:
        lowered = lower(f, ws)
        args = [np.array(point[leaf.name]) for leaf in lowered.leaves]
        digest = [hashlib.sha256(a.tobytes()).hexdigest() for a in args]
        seed = np.ones(f.shape)
        value, grads = lowered.program(*args, cotangent=seed)
        assert [hashlib.sha256(a.tobytes()).hexdigest() for a in args] == digest
        assert np.all(seed == 1.0)
        outs = [value, *grads]
        for i, a in enumerate(outs):
            for b in args + outs[:i]:
                assert not np.shares_memory(a, b), "a result aliases an input or a result"
        # writing into a result does not change the next call's results
        for g in grads:
            g[...] = 123.0
        v2, g2 = lowered.program(*args, cotangent=seed)
        ref = lower(f, ws, optimize=False).program(*args, cotangent=seed)
        np.testing.assert_allclose(v2, ref[0])
        for a, b in zip(g2, ref[1]):
            np.testing.assert_allclose(a, b, rtol=1e-13)


def test_long_programs_run_on_the_interpreter(monkeypatch):
    monkeypatch.setattr(codegen, "MAX_LINES", 3)
    x = sd.var("x", (4,))
    prog = lower(sd.sum(sd.sin(x) * sd.cos(x) + x), [x]).program
    assert prog.compiled("call") is None
    xs = np.linspace(0, 1, 4)
    v, (g,) = prog(xs)
    np.testing.assert_allclose(g, np.cos(2 * xs) + 1, rtol=1e-14)


def test_source_of_a_program_without_a_scalar_form_says_why():
    x = sd.var("x", (3,))
    with pytest.raises(ValueError, match="no scalar form"):
        lower(sd.sum(x), [x]).program.source("scalar")


# ---------------------------------------------------------------------------
# threads
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["scalar", "array"])
def test_calls_from_eight_threads_equal_serial_calls(kind):
    if kind == "scalar":
        x = sd.var("x")
        vg = sd.value_and_grad(sd.sin(x) * x**3 + sd.exp(-x * x), [x])
        inputs = [{"x": float(v)} for v in np.linspace(-2, 2, 400)]
    else:
        loss, wrt, vals = _mlp()
        vg = sd.value_and_grad(loss, wrt)
        rng = np.random.default_rng(5)
        inputs = [{**vals, "X": rng.standard_normal((16, 8))} for _ in range(60)]
    serial = [vg(p) for p in inputs]
    errors: list = []

    def work(offset: int) -> None:
        try:
            for k in range(len(inputs)):
                i = (k + offset * 7) % len(inputs)
                v, g = vg(inputs[i])
                if v != serial[i][0] or any(not np.array_equal(a, b)
                                            for a, b in zip(g, serial[i][1])):
                    errors.append((offset, i))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:5]


# ---------------------------------------------------------------------------
# the table's claims the generated code relies on
# ---------------------------------------------------------------------------

def test_vjp_reads_flags_are_true_of_every_row():
    """A row that says its VJPs do not read ``out`` (or only the inputs' shapes) gives the
    same cotangents when handed None (or zero-strided stand-ins) instead."""
    from strategies import draw_inputs
    from row_cases import ROW_CASES

    checked = 0
    for case in ROW_CASES:
        row, shapes, params = case.values
        emit = rule_for(row)
        if emit.vjp_reads_out and emit.vjp_reads_inputs:
            continue
        rng = np.random.default_rng(11)
        xs = draw_inputs(row, shapes, params, rng)
        with np.errstate(all="ignore"):
            out = row.forward(*xs, **params)
            g = rng.standard_normal(np.shape(out))
            for j, rule in enumerate(row.vjp):
                if rule is None:
                    continue
                want = rule(g, out, *xs, **params)
                out_given = out if emit.vjp_reads_out else None
                ins_given = xs if emit.vjp_reads_inputs else [
                    np.broadcast_to(np.zeros(()), np.shape(x)) for x in xs]
                got = rule(g, out_given, *ins_given, **params)
                np.testing.assert_array_equal(got, want, err_msg=f"{case.id} input {j}")
                checked += 1
    assert checked > 30


def test_constant_subexpressions_are_folded_once():
    x = sd.var("x", (3,))
    c = sd.const(np.array([1.0, 2.0, 3.0]))
    f = sd.sum(x * sd.exp(c) * 2.0 + sd.sin(c))
    prog = lower(f, [x]).program
    assert len(prog.folded) == 2  # exp(c) and sin(c): computed at lowering, not per call
    xs = np.array([0.5, -1.0, 2.0])
    v, (g,) = prog(xs)
    want = lower(f, [x], optimize=False).program(xs)
    assert v == want[0]
    np.testing.assert_array_equal(g, want[1][0])
    # values() still shows every node, folded or not
    assert sum(v is not None for v in prog.values(xs)) == len(prog.shapes)


def test_fused_polynomial_never_overwrites_its_own_input():
    """Horner's rule reads its input at every step: a dying input buffer may not be its
    output buffer (a regression: tanh's buffer was reused and the result was wrong)."""
    x = sd.var("x", (2, 3))
    t = sd.tanh(x * 1.5)  # a buffer the call owns, read only by the polynomial
    f = -2 * t**3 + 2 * t + 0.5 * t**2
    xs = np.random.default_rng(2).uniform(-1, 1, (2, 3))
    fast, ref = lower(f).program, lower(f, optimize=False).program
    assert fast.fused == 1
    np.testing.assert_allclose(fast.forward(xs), ref.forward(xs), rtol=1e-13)


def test_vjp_out_rows_write_into_the_buffer_they_are_given():
    """Rows with ``vjp_out`` (in the codegen table) give the same cotangent with ``into=`` a buffer, and write it
    there (the generated code relies on both)."""
    from strategies import draw_inputs
    from row_cases import ROW_CASES

    checked = 0
    for case in ROW_CASES:
        row, shapes, params = case.values
        if not rule_for(row).vjp_out:
            continue
        rng = np.random.default_rng(12)
        xs = draw_inputs(row, shapes, params, rng)
        out = row.forward(*xs, **params)
        g = rng.standard_normal(np.shape(out))
        for j, rule in enumerate(row.vjp):
            want = rule(g, out, *xs, **params)
            if np.shape(want) != np.shape(xs[j]) or not np.shape(want):
                continue  # unbroadcast after, or a scalar: no buffer is handed over
            buf = np.full(np.shape(want), np.nan)
            got = rule(g, out, *xs, into=buf, **params)
            np.testing.assert_array_equal(got, want, err_msg=f"{case.id} input {j}")
            if row.kind == "elementwise" or (np.ndim(xs[0]) == np.ndim(xs[1]) == 2):
                assert got is buf, f"{case.id} input {j}: did not write into the buffer"
            checked += 1
    assert checked >= 10


def test_backward_writes_into_dying_cotangents_and_thread_buffers():
    loss, wrt, vals = _mlp()
    prog = lower(loss, wrt).program
    src = prog.source("call")
    assert "into=_A[" in src and "into=g" in src, src
    # results handed back are never the per-thread buffers: a second call leaves the
    # first call's gradients as they were
    lowered = lower(loss, wrt)
    args = [vals[leaf.name] for leaf in lowered.leaves]
    v1, g1 = lowered.program(*args)
    keep = [g.copy() for g in g1]
    args2 = [a * 1.5 for a in args]
    lowered.program(*args2)
    for a, b in zip(g1, keep):
        np.testing.assert_array_equal(a, b)


def test_a_buffer_seen_through_a_view_is_not_reused():
    """transpose returns a view: exp(x)'s buffer must outlive it (a regression: sin's
    result was written into it while the transposed view was still to be read)."""
    x = sd.var("x", (3, 3))
    f = sd.exp(x).T * sd.sin(x * 2.0)
    xs = np.arange(9.0).reshape(3, 3) / 10
    fast, ref = lower(f, [x]).program, lower(f, [x], optimize=False).program
    np.testing.assert_array_equal(fast.forward(xs), ref.forward(xs))
    g = sd.sum(f)
    fast, ref = lower(g, [x]).program, lower(g, [x], optimize=False).program
    (v1, (g1,)), (v2, (g2,)) = fast(xs), ref(xs)
    assert v1 == v2
    np.testing.assert_array_equal(g1, g2)


def test_fused_polynomial_vjp_written_over_its_own_cotangent():
    """exp(v**3) : exp's cotangent dies at the fused polynomial's VJP, which is handed it as
    ``into``; Horner must not overwrite it before multiplying (a regression found by the
    property tests: the gradient came out as p'(x) * p'(x))."""
    v = sd.var("v", (2,))
    at = np.array([0.7, -1.3])
    for f, df in [(sd.exp(v ** 3 * 1.0), lambda x: 3 * x**2 * np.exp(x**3)),
                  (sd.tanh(v ** 3 * 1.0), lambda x: 3 * x**2 * (1 - np.tanh(x**3) ** 2))]:
        prog = lower(sd.sum(f), [v]).program
        assert prog.fused == 1 and "into=g" in prog.source("call")
        _, (g,) = prog(at)
        np.testing.assert_allclose(g, df(at), rtol=1e-12)
