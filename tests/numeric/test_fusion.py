"""General fusion (numeric.fusion): fused programs against the unfused interpreter and
central differences, for every elementwise row, on both paths (numpy chunks and, when a C
compiler works, the compiled loop); thread counts give bit-identical results; inputs are
never written; calls from several threads agree."""
from __future__ import annotations

import os
import threading

import numpy as np
import pytest

import numeric
from numeric import PRIMITIVES, Program, check_grads
from numeric.fusion import compiled, groups, kernel, paths

N = 203          # not a multiple of the chunk: a short last chunk
CHUNK = 16
ELEMENTWISE = [r for r in PRIMITIVES.values() if r.kind == "elementwise"]
POW_PARAMS = [2, 3, 1, 0.5, -1, -2, 2.5]


@pytest.fixture(autouse=True)
def small_groups(monkeypatch):
    """Fuse arrays of a few hundred entries, in chunks of 16, always (array groups too)."""
    monkeypatch.setattr(groups, "MIN_ELEMENTS", 32)
    monkeypatch.setattr(kernel, "CHUNK", CHUNK)
    monkeypatch.setattr(groups, "STORE_NS", 1e9)
    monkeypatch.setattr(kernel, "PER_THREAD", 1)


@pytest.fixture(params=["numpy", "c"])
def path(request, monkeypatch):
    if request.param == "numpy":
        monkeypatch.setenv("SYMDIFF_COMPILE", "0")
    return request.param


def _params(row):
    if row.name == "pow":
        return [{"p": p} for p in POW_PARAMS]
    if row.name == "step":
        return [{"h0": 0.5}]
    return [{}]


class _Builder:
    """A program summing ``w_r * row_r(inputs_r)`` over rows, each on inputs of its own."""

    def __init__(self, shape=(N,), seed=0):
        self.rng = np.random.default_rng(seed)
        self.shape = shape
        self.inputs, self.values, self.wrt = [], [], []
        self.terms = []   # (row, params, input indices)
        self.weights = self.rng.uniform(0.5, 1.5, shape)

    def add(self, row, params):
        lo_hi = row.domain.sample if row.name != "where" else ((-1, 1), (-3, 3), (-3, 3))
        idx = []
        for j in range(row.arity):
            lo, hi = lo_hi[j]
            v = self.rng.uniform(lo, hi, self.shape)
            if row.name in ("maximum", "minimum") and j == 1:
                v[::7] = self.values[idx[0]][::7]   # ties
            idx.append(len(self.values))
            self.values.append(v)
            if row.vjp[j] is not None:
                self.wrt.append(idx[-1])
        self.terms.append((row, params, idx))

    def program(self, reduce="sum", **kw):
        n_in = len(self.values)
        consts = [self.weights, np.float64(0.0)]
        base = n_in + len(consts)
        ins, acc = [], None

        def emit(name, args, params=None):
            ins.append((name, tuple(args), params or {}))
            return base + len(ins) - 1
        for row, params, idx in self.terms:
            if row.name == "where":
                cond = emit("greater", (idx[0], n_in + 1))
                out = emit("where", (cond, idx[1], idx[2]))
            else:
                out = emit(row.name, idx, params)
            term = emit("mul", (out, n_in))
            acc = term if acc is None else emit("add", (acc, term))
        if reduce == "array":   # an array-valued group, then a partial sum, then the rest
            acc = emit("sum", (acc,), {"axis": 0})
            acc = emit("sum", (acc,))
        else:
            acc = emit(reduce, (acc,))
        shapes = [self.shape] * n_in
        return Program(shapes, consts, ins, output=acc, wrt=self.wrt, **kw)


def _close(a, b, tol=1e-14):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert a.shape == b.shape
    assert np.array_equal(np.isnan(a), np.isnan(b))
    ok = ~np.isnan(b)
    scale = max(float(np.max(np.abs(b[ok]), initial=0.0)), 1e-300)
    err = float(np.max(np.abs(a[ok] - b[ok]), initial=0.0))
    assert err <= tol * scale, f"relative error {err / scale:.3g}"


def _agree(builder, reduce="sum", tol=1e-14):
    fused = builder.program(reduce)
    plain = builder.program(reduce, optimize=False)
    assert fused.kernels, "nothing was fused"
    v, g = fused(*builder.values)
    v0, g0 = plain(*builder.values)
    _close(v, v0, tol)
    for a, b in zip(g, g0):
        _close(a, b, tol)
    _close(fused.forward(*builder.values), v0, tol)
    for a, b in zip(fused.grad(*builder.values), g0):
        _close(a, b, tol)
    return fused


@pytest.mark.parametrize("row", ELEMENTWISE, ids=lambda r: r.name)
def test_every_elementwise_row_fused_on_numpy_equals_the_unfused_program(row, monkeypatch):
    monkeypatch.setenv("SYMDIFF_COMPILE", "0")
    for params in _params(row):
        for reduce in ("sum", "mean", "array"):
            b = _Builder()
            b.add(row, params)
            b.add(PRIMITIVES["sin"], {})   # a second op: a group of more than one
            prog = _agree(b, reduce)
            assert paths(prog)[0]["path"] == "numpy"


def _all_rows(comparisons=True):
    b = _Builder(seed=3)
    for row in ELEMENTWISE:
        if row.dtype == "bool" and not comparisons:
            continue    # a boolean feeding arithmetic keeps numpy's semantics: numpy only
        for params in _params(row):
            b.add(row, params)
    return b


@pytest.mark.parametrize("reduce", ["sum", "mean", "array"])
def test_every_elementwise_row_in_one_fused_step_on_each_path(reduce, path):
    prog = _agree(_all_rows(comparisons=path == "numpy"), reduce)
    (info,) = paths(prog)
    expected = "c" if path == "c" and compiled.toolchain() else "numpy"
    assert info["path"] == expected, info["note"]
    assert info["ops"] > len(ELEMENTWISE)


def test_fused_gradients_match_central_differences(path):
    b = _Builder(shape=(40,), seed=5)
    for row in ELEMENTWISE:
        if row.dtype != "bool" and row.name not in ("abs", "relu", "sign", "step", "maximum",
                                                    "minimum"):
            for params in _params(row):
                b.add(row, params)
    prog = b.program()
    assert prog.kernels
    n_wrt = len(b.wrt)

    def fun(*ws):
        vals = list(b.values)
        for i, w in zip(b.wrt, ws):
            vals[i] = w
        return float(prog.forward(*vals))

    def grad_fun(*ws):
        vals = list(b.values)
        for i, w in zip(b.wrt, ws):
            vals[i] = w
        return prog.grad(*vals)
    check_grads(fun, grad_fun, [b.values[i] for i in b.wrt], directions=3)
    assert n_wrt > 10


def test_results_are_bit_identical_for_any_thread_count(path):
    b = _all_rows(comparisons=path == "numpy")
    runs = []
    for threads in (1, 2, 3):
        prog = b.program(threads=threads)
        assert paths(prog)[0]["threads"] == threads
        v, g = prog(*b.values)
        runs.append((v, g))
    for v, g in runs[1:]:
        assert v == runs[0][0]
        assert all(np.array_equal(x, y) for x, y in zip(g, runs[0][1]))


def test_thread_count_from_the_environment(monkeypatch):
    b = _Builder()
    b.add(PRIMITIVES["exp"], {})
    monkeypatch.setenv("SYMDIFF_THREADS", "3")
    assert paths(b.program())[0]["threads"] == 3
    assert paths(b.program(threads=1))[0]["threads"] == 1   # the argument wins
    monkeypatch.delenv("SYMDIFF_THREADS")
    assert paths(b.program())[0]["threads"] == numeric.fusion.pool.cpu_count()


def test_inputs_are_not_written_and_calls_from_threads_agree(path):
    b = _all_rows(comparisons=False)
    prog = b.program()
    before = [v.copy() for v in b.values]
    ref = prog(*b.values)
    out = [None] * 4

    def call(t):
        out[t] = prog(*b.values)
    ts = [threading.Thread(target=call, args=(t,)) for t in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert all(np.array_equal(x, y) for x, y in zip(b.values, before))
    for v, g in out:
        assert v == ref[0] and all(np.array_equal(x, y) for x, y in zip(g, ref[1]))


def test_a_where_inside_a_group_keeps_zero_cotangents_zero(path):
    # sum(where(x > 0, sqrt(x) * exp(x), 0)): sqrt is nan below 0, its gradient must be 0
    x = np.linspace(-2, 2, N)
    ins = [("greater", (0, 1), {}), ("sqrt", (0,), {}), ("exp", (0,), {}), ("mul", (3, 4), {}),
           ("where", (2, 5, 1), {}), ("sum", (6,), {})]
    prog = Program([(N,)], [np.float64(0.0)], ins, output=7, wrt=[0])
    plain = Program([(N,)], [np.float64(0.0)], ins, output=7, wrt=[0], optimize=False)
    assert prog.kernels
    (g,), (g0,) = prog.grad(x), plain.grad(x)
    assert not np.isnan(g).any() and np.all(g[x < 0] == 0.0)
    _close(g, g0)


def test_a_scalar_input_broadcast_over_the_group_gets_its_summed_gradient(path):
    # sum(sin(x * s) + s): s is 0-d
    x, s = np.linspace(-1, 1, N), np.float64(0.7)
    ins = [("mul", (0, 1), {}), ("sin", (2,), {}), ("add", (3, 1), {}), ("sum", (4,), {})]
    prog = Program([(N,), ()], [], ins, output=5, wrt=[0, 1])
    assert prog.kernels and not prog.kernels[0].full[1]
    v, (gx, gs) = prog(x, s)
    _close(gx, np.cos(x * s) * s)
    _close(gs, np.sum(np.cos(x * s) * x) + N, 1e-13)
    _close(v, np.sum(np.sin(x * s) + s), 1e-13)


def test_small_arrays_and_single_ops_are_not_fused(monkeypatch):
    monkeypatch.setattr(groups, "MIN_ELEMENTS", 1000)
    prog = Program([(N,)], [], [("sin", (0,), {}), ("exp", (1,), {}), ("sum", (2,), {})],
                   output=3, wrt=[0])
    assert paths(prog) == []
    monkeypatch.setattr(groups, "MIN_ELEMENTS", 32)
    assert paths(Program([(N,)], [], [("sin", (0,), {})], output=1, wrt=[0])) == []


def test_a_kernel_cache_others_can_write_is_never_used(tmp_path, monkeypatch):
    from numeric.fusion import compiled
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)           # as a folder planted in a shared /tmp would be
    monkeypatch.setenv("SYMDIFF_KERNEL_CACHE", str(shared))
    d = compiled.cache_dir.__wrapped__()
    assert d != str(shared) and (os.stat(d).st_mode & 0o077) == 0
    private = tmp_path / "private"
    monkeypatch.setenv("SYMDIFF_KERNEL_CACHE", str(private))
    assert compiled.cache_dir.__wrapped__() == str(private)


def test_the_numpy_path_keeps_cheap_kernels_on_one_thread(monkeypatch):
    # numpy calls on cheap ops hold the GIL about as long as they compute: a second
    # thread waits rather than works, so by default they run on one (kernel.NUMPY_THREAD_NS)
    monkeypatch.setenv("SYMDIFF_COMPILE", "0")
    monkeypatch.delenv("SYMDIFF_THREADS", raising=False)
    monkeypatch.setattr(numeric.fusion.pool, "cpu_count", lambda: 4)
    cheap, costly = _Builder(), _Builder()
    for name in ("mul", "add", "sub"):
        cheap.add(PRIMITIVES[name], {})
    for name in ("sin", "tanh", "log"):
        costly.add(PRIMITIVES[name], {})
    (c,), (e,) = paths(cheap.program()), paths(costly.program())
    assert c["path"] == e["path"] == "numpy"
    assert c["threads"] == 1 and e["threads"] == 4
    assert paths(cheap.program(threads=3))[0]["threads"] == 3   # asked for: given
    monkeypatch.setenv("SYMDIFF_THREADS", "2")
    assert paths(cheap.program())[0]["threads"] == 2
