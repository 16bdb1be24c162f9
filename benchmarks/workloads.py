"""The performance workloads W1-W5 and the W2 memory probe, for ``benchmarks/run.py``.

Each ``wN(cfg, peers)`` returns a list of :class:`Row`. A peer that is not installed is
not measured here; ``run.py`` reports it once as absent. Every peer's gradient is compared
with symdiff's (``np.allclose``, rtol 1e-7) and the row says ``ok`` or ``MISMATCH``.
"""
from __future__ import annotations

import contextlib
import gc
import importlib
import math
import resource
import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

import symdiff as sd

RTOL = 1e-7

# peer -> (import name, how to install it)
PEERS = {
    "torch": ("torch", "pip install torch==2.13.0"),
    "jax": ("jax", "pip install jax jaxlib"),
    "autograd": ("autograd", "pip install autograd"),
    "numexpr": ("numexpr", "pip install numexpr"),
    "symengine": ("symengine", "pip install symengine"),
}


def load_peers() -> tuple[dict[str, Any], dict[str, str]]:
    """Installed peers by name, and the absent ones with their install command."""
    present: dict[str, Any] = {}
    absent: dict[str, str] = {}
    for name, (module, how) in PEERS.items():
        try:
            present[name] = importlib.import_module(module)
        except Exception:  # noqa: BLE001 - a broken install is as good as absent
            absent[name] = how
    if "torch" in present:
        present["torch"].set_default_dtype(present["torch"].float64)
    if "jax" in present:
        present["jax"].config.update("jax_enable_x64", True)
        present["jax"].config.update("jax_platform_name", "cpu")
    return present, absent


@dataclass
class Config:
    quick: bool = False
    repeat: int = 7
    budget: float = 1.5  # seconds of timing per measurement at most (after warm-up)

    def size(self, full: Any, quick: Any) -> Any:
        return quick if self.quick else full


@dataclass
class Row:
    workload: str
    system: str
    seconds: Optional[float] = None  # median per call
    value: str = ""  # a non-time figure (node counts, ratios, memory)
    ratio: Optional[float] = None  # peer time / symdiff time (>1: symdiff faster)
    match: Optional[bool] = None  # gradient equal to symdiff's; None: not compared
    target: str = ""
    met: Optional[bool] = None
    note: str = ""


@dataclass
class Timing:
    median: float
    samples: int
    number: int
    all: list = field(default_factory=list)


def _calibrate(fn: Callable[[], Any]) -> tuple[float, int]:
    """Seconds per call (the faster of two calls; the first also warms up) and the number
    of calls that makes a sample last ~5 ms."""
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    fn()
    est = max(min(first, time.perf_counter() - t0), 1e-9)
    return est, max(1, int(5e-3 / est))


def _per_call(fn: Callable[[], Any], number: int) -> float:
    t0 = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - t0) / number


@contextlib.contextmanager
def _no_gc() -> Any:
    """The garbage collector off while timing, as ``timeit`` does."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def measure(fn: Callable[[], Any], cfg: Config) -> Timing:
    """Median seconds per call of ``fn``: after calibration, ``cfg.repeat`` samples of
    ``number`` calls each (``number`` chosen so a sample lasts ~5 ms), garbage collector off,
    at most ``cfg.budget`` seconds of samples (at least 2 samples)."""
    est, number = _calibrate(fn)
    samples = max(2, min(cfg.repeat, int(cfg.budget / (est * number))))
    with _no_gc():
        out = [_per_call(fn, number) for _ in range(samples)]
    return Timing(statistics.median(out), samples, number, out)


def measure_pair(ours: Callable[[], Any], peer: Callable[[], Any],
                 cfg: Config) -> tuple[float, float, float, int]:
    """symdiff and a peer in alternating samples (the order swapped every sample), for the
    targets that are ratios: on a shared machine whose speed drifts by 2x over a minute,
    two medians taken a minute apart compare the drift, not the systems. Returns the two
    medians per call, the median of the per-sample ratios peer / ours, and the samples."""
    ea, na = _calibrate(ours)
    eb, nb = _calibrate(peer)
    samples = max(5, min(3 * cfg.repeat, int(3 * cfg.budget / (ea * na + eb * nb))))
    a, b = [], []
    with _no_gc():
        for k in range(samples):
            if k % 2:
                b.append(_per_call(peer, nb))
                a.append(_per_call(ours, na))
            else:
                a.append(_per_call(ours, na))
                b.append(_per_call(peer, nb))
    ratio = statistics.median(y / x for x, y in zip(a, b))
    return statistics.median(a), statistics.median(b), ratio, samples


def same(a: Any, b: Any) -> bool:
    """Gradients (arrays or lists of arrays) equal within rtol 1e-7."""
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=RTOL))


def _peer_row(wl: str, system: str, fn: Callable, grad_of: Callable[[], Any], ref: Any,
              base: float, cfg: Config, target: str = "", need: Optional[float] = None,
              note: str = "", ours: Optional[Callable[[], Any]] = None) -> Row:
    """Time a peer, compare its gradient with ``ref``; ``need``: the ratio the target asks.
    With ``ours`` (symdiff's call), the ratio comes from alternating samples of both."""
    if ours is not None:
        mine, theirs, r, n = measure_pair(ours, fn, cfg)
        note = "; ".join(x for x in (note, f"ratio paired over {n} alternating samples "
                                     f"(symdiff {fmt_time(mine)} in them)") if x)
        return Row(wl, system, theirs, ratio=r, match=same(grad_of(), ref), target=target,
                   met=None if need is None else r >= need, note=note)
    t = measure(fn, cfg)
    r = t.median / base
    return Row(wl, system, t.median, ratio=r, match=same(grad_of(), ref), target=target,
               met=None if need is None else r >= need, note=note)


def _absent_target(wl: str, system: str, target: str) -> Row:
    return Row(wl, system, target=target, note="absent: target not measurable")


# ---------------------------------------------------------------------------- W1
def w1(cfg: Config, peers: dict) -> list[Row]:
    wl = "W1 x**2+3 at 7"
    x = sd.var("x")
    vg = sd.value_and_grad(x**2 + 3, [x])
    ref = vg(x=7.0)[1][0]
    t = measure(lambda: vg(x=7.0), cfg)
    base = t.median
    rows = [Row(wl, "symdiff vg(x=7.0)", base, ratio=1.0, target="≤ 2 µs", met=base <= 2e-6)]
    tn = measure(lambda: vg({"x": 7.0}), cfg)
    rows.append(Row(wl, 'symdiff vg({"x": 7.0})', tn.median, ratio=tn.median / base))
    tn = measure(lambda: vg({x: 7.0}), cfg)
    rows.append(Row(wl, "symdiff vg({x: 7.0})", tn.median, ratio=tn.median / base))
    prog = vg.lowered.program
    seven = np.float64(7.0)
    tn = measure(lambda: prog(seven), cfg)
    rows.append(Row(wl, "symdiff vg.lowered.program(7.0) (internal)", tn.median,
                    ratio=tn.median / base, note="no binding/checks; not public API"))

    def plain() -> float:
        return 2 * 7.0
    rows.append(_peer_row(wl, "plain Python 2*x", plain, plain, ref, base, cfg))
    if "torch" in peers:
        torch = peers["torch"]
        xt = torch.tensor(7.0, dtype=torch.float64, requires_grad=True)

        def tfn() -> None:
            xt.grad = None
            y = xt**2 + 3
            y.backward()
        rows.append(_peer_row(wl, "PyTorch eager (backward)", tfn, lambda: (tfn(), xt.grad)[1]
                              .item(), ref, base, cfg, "symdiff ≥ 30x faster", 30,
                              ours=lambda: vg(x=7.0)))
    if "jax" in peers:
        jax = peers["jax"]
        g = jax.jit(jax.grad(lambda v: v**2 + 3))
        g(7.0).block_until_ready()
        rows.append(_peer_row(wl, "JAX jit(grad)", lambda: g(7.0).block_until_ready(),
                              lambda: float(g(7.0)), ref, base, cfg, "symdiff ≥ 8x faster", 8,
                              ours=lambda: vg(x=7.0)))
    else:
        rows.append(_absent_target(wl, "JAX jit(grad)", "symdiff ≥ 8x faster"))
    if "autograd" in peers:
        ag = peers["autograd"]
        g = ag.grad(lambda v: v**2 + 3)
        rows.append(_peer_row(wl, "autograd grad", lambda: g(7.0), lambda: g(7.0), ref, base,
                              cfg))
    return rows


# ---------------------------------------------------------------------------- W2
def _poly_np(x: np.ndarray) -> tuple[float, np.ndarray]:
    """Hand-written numpy: value and derivative by Horner's rule, in place."""
    v = x + 7.0
    v *= x
    v += 5.0
    v *= x
    v += 10.0
    value = float(v.sum())
    g = np.multiply(x, 3.0, out=v)
    g += 14.0
    g *= x
    g += 5.0
    return value, g


def w2(cfg: Config, peers: dict) -> list[Row]:
    n = cfg.size(10**6, 10**4)
    wl = f"W2 sum(poly), n={n:.0e}"
    rng = np.random.default_rng(0)
    xs = rng.uniform(-2, 2, n)
    x = sd.var("x", (n,))
    vg = sd.value_and_grad(sd.sum(x**3 + 7 * x**2 + 5 * x + 10), [x])
    ref = vg(x=xs)[1][0]
    base = measure(lambda: vg(x=xs), cfg).median
    rows = [Row(wl, "symdiff", base, ratio=1.0)]
    r = _peer_row(wl, "numpy Horner (in place)", lambda: _poly_np(xs),
                  lambda: _poly_np(xs)[1], ref, base, cfg, "symdiff ≤ 1.1x numpy time",
                  1 / 1.1, ours=lambda: vg(x=xs))
    rows.append(r)
    if "numexpr" in peers:
        ne = peers["numexpr"]

        def nefn() -> tuple:
            v = ne.evaluate("sum(((x + 7) * x + 5) * x + 10)", local_dict={"x": xs})
            return float(v), ne.evaluate("(3 * x + 14) * x + 5", local_dict={"x": xs})
        rows.append(_peer_row(wl, "numexpr", nefn, lambda: nefn()[1], ref, base, cfg))
    if "torch" in peers:
        torch = peers["torch"]
        xt = torch.tensor(xs, requires_grad=True)

        def tfn() -> None:
            xt.grad = None
            z = (xt**3 + 7 * xt**2 + 5 * xt + 10).sum()
            z.backward()
        rows.append(_peer_row(wl, "PyTorch eager", tfn, lambda: (tfn(), xt.grad.numpy())[1],
                              ref, base, cfg, "symdiff ≥ 5x faster", 5, ours=lambda: vg(x=xs)))
    else:
        rows.append(_absent_target(wl, "PyTorch eager", "symdiff ≥ 5x faster"))
    if "jax" in peers:
        jax = peers["jax"]
        jnp = jax.numpy
        g = jax.jit(jax.value_and_grad(lambda v: jnp.sum(v**3 + 7 * v**2 + 5 * v + 10)))
        xj = jnp.asarray(xs)
        g(xj)[1].block_until_ready()
        rows.append(_peer_row(wl, "JAX jit(value_and_grad)", lambda: g(xj)[1]
                              .block_until_ready(), lambda: np.asarray(g(xj)[1]), ref, base,
                              cfg, "stretch: symdiff ≤ 1.0x JAX time", 1.0,
                              ours=lambda: vg(x=xs)))
    if "autograd" in peers:
        ag = peers["autograd"]
        anp = importlib.import_module("autograd.numpy")
        g = ag.value_and_grad(lambda v: anp.sum(v**3 + 7 * v**2 + 5 * v + 10))
        rows.append(_peer_row(wl, "autograd value_and_grad", lambda: g(xs), lambda: g(xs)[1],
                              ref, base, cfg))
    return rows


# ---------------------------------------------------------------------------- W3
def _mlp_np(X, Y, W1, b1, W2, b2) -> tuple[float, list]:
    """Hand-written numpy backprop of mean((relu(X W1 + b1) W2 + b2 - Y)**2)."""
    pre = X @ W1
    pre += b1
    h = np.maximum(pre, 0.0)
    d = h @ W2
    d += b2
    d -= Y
    loss = float(np.mean(d * d))
    d *= 2.0 / d.size
    gW2 = h.T @ d
    gb2 = d.sum(0)
    gh = d @ W2.T
    gh *= pre > 0
    gW1 = X.T @ gh
    gb1 = gh.sum(0)
    return loss, [gW1, gb1, gW2, gb2]


def w3(cfg: Config, peers: dict) -> list[Row]:
    batch = cfg.size(256, 32)
    wl = f"W3 MLP 784-512-10, batch {batch}"
    rng = np.random.default_rng(0)
    X = rng.standard_normal((batch, 784))
    Y = rng.standard_normal((batch, 10))
    P = [rng.standard_normal((784, 512)) / 28, rng.standard_normal(512) * 0.1,
         rng.standard_normal((512, 10)) / 22, rng.standard_normal(10) * 0.1]
    Xv, Yv = sd.var("X", (batch, 784)), sd.var("Y", (batch, 10))
    W1, b1 = sd.var("W1", (784, 512)), sd.var("b1", (512,))
    W2, b2 = sd.var("W2", (512, 10)), sd.var("b2", (10,))
    loss = sd.mean((sd.relu(Xv @ W1 + b1) @ W2 + b2 - Yv) ** 2)
    vg = sd.value_and_grad(loss, [W1, b1, W2, b2])
    vals = dict(X=X, Y=Y, W1=P[0], b1=P[1], W2=P[2], b2=P[3])
    ref = vg(**vals)[1]
    base = measure(lambda: vg(**vals), cfg).median
    fwd = measure(lambda: loss.eval(**vals), cfg).median
    rows = [Row(wl, "symdiff value_and_grad", base, ratio=1.0),
            Row(wl, "symdiff forward (f.eval)", fwd, ratio=fwd / base),
            Row(wl, "symdiff grad/forward", value=f"{base / fwd:.2f}", target="≤ 3.5",
                met=base / fwd <= 3.5)]
    rows.append(_peer_row(wl, "numpy hand-written backprop", lambda: _mlp_np(X, Y, *P),
                          lambda: _mlp_np(X, Y, *P)[1], ref, base, cfg,
                          "symdiff ≤ 1.05x numpy time", 1 / 1.05, ours=lambda: vg(**vals)))
    if "torch" in peers:
        torch = peers["torch"]
        Xt, Yt = torch.tensor(X), torch.tensor(Y)
        Pt = [torch.tensor(p, requires_grad=True) for p in P]

        def tfn() -> None:
            for p in Pt:
                p.grad = None
            out = torch.relu(Xt @ Pt[0] + Pt[1]) @ Pt[2] + Pt[3]
            ((out - Yt) ** 2).mean().backward()
        rows.append(_peer_row(wl, "PyTorch eager", tfn,
                              lambda: (tfn(), [p.grad.numpy() for p in Pt])[1], ref, base, cfg))
    if "jax" in peers:
        jax = peers["jax"]
        jnp = jax.numpy

        def jloss(p, X, Y):
            return jnp.mean((jnp.maximum(X @ p[0] + p[1], 0) @ p[2] + p[3] - Y) ** 2)
        g = jax.jit(jax.value_and_grad(jloss))
        Pj, Xj, Yj = [jnp.asarray(p) for p in P], jnp.asarray(X), jnp.asarray(Y)
        jax.block_until_ready(g(Pj, Xj, Yj))
        rows.append(_peer_row(wl, "JAX jit(value_and_grad)",
                              lambda: jax.block_until_ready(g(Pj, Xj, Yj)),
                              lambda: [np.asarray(a) for a in g(Pj, Xj, Yj)[1]], ref, base,
                              cfg))
    if "autograd" in peers:
        ag = peers["autograd"]
        anp = importlib.import_module("autograd.numpy")

        def aloss(p, X, Y):
            return anp.mean((anp.maximum(anp.dot(X, p[0]) + p[1], 0.0) @ p[2] + p[3] - Y) ** 2)
        g = ag.value_and_grad(aloss)
        rows.append(_peer_row(wl, "autograd value_and_grad", lambda: g(P, X, Y),
                              lambda: list(g(P, X, Y)[1]), ref, base, cfg))
    return rows


# ---------------------------------------------------------------------------- W4
def w4_graph(d: int) -> tuple[Any, Any]:
    x = sd.var("x")
    f = x
    for _ in range(d):
        f = x * sd.sin(f)
    return x, f


def w4(cfg: Config, peers: dict) -> list[Row]:
    d = cfg.size(40, 10)
    wl = f"W4 x*sin(x*sin(...)) d={d}"
    at = 1.5
    x, f = w4_graph(d)
    df = sd.diff(f, x)
    ref = df.eval(x=at)
    # every timed call differentiates a graph it has never seen: no cached derivative
    fresh = iter([w4_graph(d) for _ in range(cfg.size(600, 200))])

    def diff_fresh() -> Any:
        xx, ff = next(fresh)
        return sd.diff(ff, xx)
    base = measure(diff_fresh, Config(cfg.quick, cfg.repeat, min(cfg.budget, 0.3))).median
    nf, ndf = len(f.nodes()), len(df.nodes())
    rows = [Row(wl, "symdiff sd.diff (fresh graph each call)", base, ratio=1.0,
                target="≤ 1 ms", met=base <= 1e-3),
            Row(wl, "symdiff nodes df / f", value=f"{ndf} / {nf} = {ndf / nf:.2f}",
                target="≤ 4", met=ndf / nf <= 4)]
    import sympy
    from sympy.core.cache import clear_cache
    xs = sympy.Symbol("x")
    fs = xs
    for _ in range(d):
        fs = xs * sympy.sin(fs)
    rows.append(_cse_row(wl, df, fs, xs))
    deep = cfg.size(1000, 200)
    t0 = time.perf_counter()
    xd, fd = w4_graph(deep)
    dd = sd.diff(fd, xd)
    value = dd.eval(x=at)
    took = time.perf_counter() - t0
    ratio = len(dd.nodes()) / len(fd.nodes())
    rows.append(Row(f"W4 depth {deep}", "symdiff build f, sd.diff, eval", took,
                    value=f"nodes df / f = {ratio:.2f}; df = {value:.6g}",
                    target="works; ≤ 4", met=bool(np.isfinite(value)) and ratio <= 4))

    def sdiff() -> Any:
        clear_cache()  # sympy.diff is memoised: time a cold differentiation each call
        return sympy.diff(fs, xs)
    scfg = Config(cfg.quick, min(cfg.repeat, 3), cfg.budget)
    dfs = sdiff()
    rows.append(_peer_row(wl, "SymPy sympy.diff (cache cleared)", sdiff,
                          # evalf(subs=...) walks the tree for minutes at d=40; lambdify+cse
                          lambda: float(sympy.lambdify(xs, dfs, modules="math", cse=True)(at)),
                          ref, base, scfg,
                          note=f"{sympy.count_ops(dfs)} ops"))
    if "symengine" in peers:
        se = peers["symengine"]
        xe = se.Symbol("x")
        fe = xe
        for _ in range(d):
            fe = xe * se.sin(fe)
        rows.append(_peer_row(wl, "SymEngine diff", lambda: se.diff(fe, xe),
                              lambda: float(se.diff(fe, xe).subs({xe: at})), ref, base, cfg))
    return rows


def _cse_ops(expr: Any) -> int:
    import sympy
    reps, reduced = sympy.cse(expr)
    return int(sum(sympy.count_ops(e) for _, e in reps) + sum(sympy.count_ops(e)
                                                                  for e in reduced))


def _cse_row(wl: str, df: Any, fs: Any, xs: Any) -> Row:
    """Size of symdiff's closed form after CSE against SymPy's own diff after CSE."""
    import sympy
    ours = _cse_ops(df.sympy())
    theirs = _cse_ops(sympy.diff(fs, xs))
    return Row(wl, "symdiff cse(df.sympy()) ops vs SymPy cse(diff) ops",
               value=f"{ours} vs {theirs}", target="≤ SymPy's", met=ours <= theirs)


# ---------------------------------------------------------------------------- W5
def _rosen_hess_np(x: np.ndarray) -> np.ndarray:
    """Hand-written dense Hessian of the Rosenbrock sum (tridiagonal)."""
    n = x.size
    H = np.zeros((n, n))
    diag = np.zeros(n)
    diag[:-1] = 1200.0 * x[:-1] ** 2 - 400.0 * x[1:] + 2.0
    diag[1:] += 200.0
    off = -400.0 * x[:-1]
    i = np.arange(n - 1)
    H[i, i + 1] = off
    H[i + 1, i] = off
    H[np.arange(n), np.arange(n)] = diag
    return H


def w5(cfg: Config, peers: dict) -> list[Row]:
    n = cfg.size(1000, 50)
    wl = f"W5 Rosenbrock Hessian n={n}"
    p = np.random.default_rng(0).uniform(-1.5, 1.5, n)
    x = sd.var("x", (n,))
    f = sd.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
    t0 = time.perf_counter()
    H = sd.hessian(f, x)
    build = time.perf_counter() - t0
    from symdiff.lowering.lower import lower
    prog = lower(H).program
    ref = H.eval(x=p)
    base = measure(lambda: H.eval(x=p), cfg).median
    tp = measure(lambda: prog.forward(p), cfg).median
    rows = [Row(wl, "symdiff H.eval(x=p)", base, ratio=1.0,
                note=f"sd.hessian built once in {build * 1e3:.1f} ms"),
            Row(wl, "symdiff lower(H).program.forward(p)", tp, ratio=tp / base,
                match=same(prog.forward(p), ref), note="symdiff.lowering.lower.lower, no binding")]
    rows.append(_peer_row(wl, "numpy hand-written tridiagonal (dense)",
                          lambda: _rosen_hess_np(p), lambda: _rosen_hess_np(p), ref, base, cfg,
                          "symdiff faster (JAX absent: vs numpy)" if "jax" not in peers else "",
                          1.0 if "jax" not in peers else None,
                          ours=(lambda: H.eval(x=p)) if "jax" not in peers else None))
    if "torch" in peers:
        torch = peers["torch"]
        pt = torch.tensor(p)

        def tf(v):
            return (100 * (v[1:] - v[:-1] ** 2) ** 2 + (1 - v[:-1]) ** 2).sum()
        hess = torch.autograd.functional.hessian
        slow = Config(cfg.quick, min(cfg.repeat, 3), cfg.budget)
        rows.append(_peer_row(wl, "PyTorch functional.hessian", lambda: hess(tf, pt),
                              lambda: hess(tf, pt).numpy(), ref, base, slow))
        rows.append(_peer_row(wl, "PyTorch functional.hessian(vectorize=True)",
                              lambda: hess(tf, pt, vectorize=True),
                              lambda: hess(tf, pt, vectorize=True).numpy(), ref, base, cfg))
    if "jax" in peers:
        jax = peers["jax"]
        h = jax.jit(jax.hessian(lambda v: (100 * (v[1:] - v[:-1] ** 2) ** 2
                                           + (1 - v[:-1]) ** 2).sum()))
        pj = jax.numpy.asarray(p)
        h(pj).block_until_ready()
        rows.append(_peer_row(wl, "JAX jit(hessian)", lambda: h(pj).block_until_ready(),
                              lambda: np.asarray(h(pj)), ref, base, cfg, "symdiff faster", 1.0,
                              ours=lambda: H.eval(x=p)))
    else:
        rows.append(_absent_target(wl, "JAX jit(hessian)", "symdiff faster"))
    if "autograd" in peers:
        ag = peers["autograd"]
        h = ag.hessian(lambda v: ((100 * (v[1:] - v[:-1] ** 2) ** 2
                                   + (1 - v[:-1]) ** 2)).sum())
        slow = Config(cfg.quick, min(cfg.repeat, 3), cfg.budget)
        rows.append(_peer_row(wl, "autograd hessian", lambda: h(p), lambda: h(p), ref, base,
                              slow))
    return rows


# ---------------------------------------------------------------------------- memory
MEMORY_SYSTEMS = ("symdiff", "numpy", "numexpr", "torch", "jax", "autograd")


def memory_child(system: str, n: int) -> dict:
    """Peak extra memory of one W2 gradient at size n, in this (fresh) process.

    Warm up at n = 1000 (imports, lowering, compilation), allocate the input, reset the
    peak resident size to the current one (``_reset_peak``; where that is not possible,
    ``ru_maxrss``), run one call and read the peak: the delta is the peak resident memory
    the call added. For the numpy-only systems tracemalloc's peak is reported as well (it sees numpy's
    buffers but not torch's or XLA's)."""
    import tracemalloc

    def make(m: int) -> Callable[[np.ndarray], Any]:
        if system == "symdiff":
            x = sd.var("x", (m,))
            vg = sd.value_and_grad(sd.sum(x**3 + 7 * x**2 + 5 * x + 10), [x])
            return lambda a: vg(x=a)
        if system == "numpy":
            return _poly_np
        if system == "numexpr":
            ne = importlib.import_module("numexpr")
            return lambda a: (ne.evaluate("sum(((x + 7) * x + 5) * x + 10)", local_dict={"x": a}),
                              ne.evaluate("(3 * x + 14) * x + 5", local_dict={"x": a}))
        if system == "torch":
            torch = importlib.import_module("torch")

            def tfn(a):
                xt = torch.from_numpy(a).requires_grad_(True)
                (xt**3 + 7 * xt**2 + 5 * xt + 10).sum().backward()
                return xt.grad
            return tfn
        if system == "jax":
            jax = importlib.import_module("jax")
            jax.config.update("jax_enable_x64", True)
            g = jax.jit(jax.grad(lambda v: jax.numpy.sum(v**3 + 7 * v**2 + 5 * v + 10)))
            return lambda a: g(a).block_until_ready()
        if system == "autograd":
            ag = importlib.import_module("autograd")
            anp = importlib.import_module("autograd.numpy")
            return ag.value_and_grad(lambda v: anp.sum(v**3 + 7 * v**2 + 5 * v + 10))
        raise ValueError(system)

    make(1000)(np.linspace(-1, 1, 1000))
    fn = make(n)
    if system == "jax":
        fn(np.linspace(-1, 1, n))  # compile at this size first; compilation is not the call
    x = np.empty(n)  # filled in place: no temporaries that would raise the peak now
    np.random.default_rng(0).random(out=x)
    x *= 4.0
    x -= 2.0
    gc.collect()
    reset = _reset_peak()
    before = _status_kib("VmHWM") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = fn(x)
    after = _status_kib("VmHWM") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    del out
    res = {"system": system, "n": n, "rss_kib": after - before, "input_kib": x.nbytes / 1024}
    if system in ("symdiff", "numpy", "autograd"):
        gc.collect()
        tracemalloc.start()
        out = fn(x)  # noqa: F841  (held: the result counts in the peak)
        res["tracemalloc_kib"] = tracemalloc.get_traced_memory()[1] / 1024
        tracemalloc.stop()
    return res


def _reset_peak() -> bool:
    """Reset this process's peak resident size to its current size (Linux: writing 5 to
    /proc/self/clear_refs), so the peak after a call is the call's own. ``ru_maxrss`` is
    no use here: Linux carries it over ``exec`` from the parent, which has PyTorch and JAX
    loaded, so every child would start at the parent's peak."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return _status_kib("VmHWM") > 0
    except OSError:
        return False


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def mem_rows(results: list[dict], n: int) -> list[Row]:
    wl = f"W2 memory, n={n:.0e}"
    by = {r["system"]: r for r in results if "rss_kib" in r}
    rows = []
    base = by.get("symdiff")
    for r in results:
        s = r["system"]
        if "error" in r:
            rows.append(Row(wl, s, note=f"error: {r['error']}"))
            continue
        mib = r["rss_kib"] / 1024
        val = f"{mib:.1f} MiB rss"
        if "tracemalloc_kib" in r:
            val += f", {r['tracemalloc_kib'] / 1024:.1f} MiB tracemalloc"
        ratio = (r["rss_kib"] / base["rss_kib"]) if base and base["rss_kib"] > 0 else None
        row = Row(wl, s, value=val, ratio=ratio,
                  note=f"input {r['input_kib'] / 1024:.0f} MiB")
        if s == "numpy" and base:
            row.target = "symdiff ≤ 1.5x numpy's"
            if min(r["rss_kib"], base["rss_kib"]) >= 1024:  # rss resolves MiB, not less
                row.met = base["rss_kib"] <= 1.5 * r["rss_kib"]
                row.note += "; met? by rss"
            elif "tracemalloc_kib" in base and "tracemalloc_kib" in r:
                row.met = base["tracemalloc_kib"] <= 1.5 * r["tracemalloc_kib"]
                row.note += "; met? by tracemalloc (rss delta too small)"
        rows.append(row)
    return rows


WORKLOADS = {"W1": w1, "W2": w2, "W3": w3, "W4": w4, "W5": w5}
# the fusion issue's workloads (benchmarks/fused.py), added after this module is complete
WORKLOADS.update({"W6": lambda cfg, peers: _fused().w6(cfg, peers),
                  "W2L": lambda cfg, peers: _fused().w2_large(cfg, peers)})


def _fused() -> Any:
    return importlib.import_module("benchmarks.fused")


def fmt_time(s: Optional[float]) -> str:
    if s is None:
        return ""
    if s < 1e-3:
        return f"{s * 1e6:.2f} µs"
    if s < 1:
        return f"{s * 1e3:.3g} ms"
    return f"{s:.3g} s"


def fmt_ratio(r: Optional[float]) -> str:
    if r is None or (isinstance(r, float) and math.isnan(r)):
        return ""
    return f"{r:.2f}x" if r < 100 else f"{r:.0f}x"
