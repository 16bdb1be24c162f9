"""Workloads of the fusion issue: W6 (a loss of transcendentals) and W2 at n = 1e7, each
with symdiff at one thread and at every core, and symdiff as it was before each
optimisation, measured in the same run: unfused (generated numpy code, one pass per op),
fused on numpy chunks (no compiler), and fused and compiled (the default here).

Every ratio to a peer is taken from alternating samples of both (``measure_pair``); the
machine is shared, so single medians drift. Imported by ``benchmarks.workloads``.
"""
from __future__ import annotations

import contextlib
import os
from typing import Any, Callable, Iterator

import numpy as np

import symdiff as sd
from numeric.fusion import groups, paths

from benchmarks import workloads as W


@contextlib.contextmanager
def _env(**values: str) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _variants(f: Any, x: Any) -> dict[str, Any]:
    """symdiff's value_and_grad of ``f`` as built today, and as before each optimisation."""
    out = {}
    old = groups.MIN_ELEMENTS
    groups.MIN_ELEMENTS = 1 << 62
    try:
        out["unfused (numpy per op)"] = sd.value_and_grad(f, [x])
    finally:
        groups.MIN_ELEMENTS = old
    with _env(SYMDIFF_COMPILE="0"):
        out["fused, numpy chunks"] = sd.value_and_grad(f, [x])
    out["fused, compiled"] = sd.value_and_grad(f, [x])
    return out


def _threads(vg: Any, t: int) -> Any:
    for k in vg.lowered.program.kernels:
        k.threads = t
    return vg


def _symdiff_rows(wl: str, f: Any, x: Any, xs: np.ndarray, cfg: W.Config,
                  ref_fn: Callable[[], Any]) -> tuple[list, Any]:
    """One row per variant and thread count (1, all cores), each paired with the
    hand-written numpy ``ref_fn``; returns the rows and the default call."""
    cores = os.cpu_count() or 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        pass
    rows = []
    best = None
    for name, vg in _variants(f, x).items():
        info = paths(vg.lowered.program)
        path = info[0]["path"] if info else "no fused step"
        for t in sorted({1, cores}):
            if not info and t != 1:
                continue
            fn = _threads(vg, t)
            call = (lambda fn=fn: fn(x=xs))
            mine, theirs, r, n = W.measure_pair(call, ref_fn, cfg)
            rows.append(W.Row(wl, f"symdiff {name}, {t} thread{'s' * (t > 1)}", mine,
                              ratio=r, note=f"path {path}; hand numpy / symdiff paired over "
                              f"{n} samples (numpy {W.fmt_time(theirs)} in them)"))
        if name == "fused, compiled":
            best = _threads(vg, cores)
    return rows, best


def _peer(wl: str, system: str, fn: Callable, grad: Callable, ref: Any, ours: Callable,
          cfg: W.Config, target: str = "", need: float = None) -> W.Row:
    return W._peer_row(wl, system, fn, grad, ref, 0.0, cfg, target, need, ours=ours)


# ---------------------------------------------------------------------------- W6
def _w6_np(x: np.ndarray) -> tuple[float, np.ndarray]:
    """Hand-written numpy value and gradient of W6."""
    s, q = np.sin(x), 1.0 + x * x
    e = np.exp(-x * x)
    u = s * e
    t = np.tanh(u)
    lg = np.log(q)
    sg = 1.0 / (1.0 + np.exp(-x))
    value = float(np.sum(t + lg * sg))
    g = (1.0 - t * t) * (np.cos(x) * e - 2.0 * x * u) + 2.0 * x / q * sg + lg * sg * (1.0 - sg)
    return value, g


def w6(cfg: W.Config, peers: dict) -> list[W.Row]:
    n = cfg.size(10**6, 10**5)
    wl = f"W6 sum(tanh(sin·e^-x²) + log(1+x²)σ), n={n:.0e}"
    xs = np.random.default_rng(0).standard_normal(n)
    x = sd.var("x", (n,))
    f = sd.sum(sd.tanh(sd.sin(x) * sd.exp(-x**2)) + sd.log(1 + x**2) * sd.sigmoid(x))
    rows, vg = _symdiff_rows(wl, f, x, xs, cfg, lambda: _w6_np(xs))
    ref = vg(x=xs)[1][0]
    ours = (lambda: vg(x=xs))
    rows.append(_peer(wl, "numpy hand-written", lambda: _w6_np(xs), lambda: _w6_np(xs)[1],
                      ref, ours, cfg))
    if "jax" in peers:
        jax = peers["jax"]
        jnp = jax.numpy
        g = jax.jit(jax.value_and_grad(lambda v: jnp.sum(
            jnp.tanh(jnp.sin(v) * jnp.exp(-v**2)) + jnp.log(1 + v**2) * jax.nn.sigmoid(v))))
        xj = jnp.asarray(xs)
        g(xj)[1].block_until_ready()
        rows.append(_peer(wl, "JAX jit(value_and_grad)", lambda: g(xj)[1].block_until_ready(),
                          lambda: np.asarray(g(xj)[1]), ref, ours, cfg,
                          "symdiff ≤ 0.6x JAX time", 1 / 0.6))
    else:
        rows.append(W._absent_target(wl, "JAX jit(value_and_grad)", "symdiff ≤ 0.6x JAX time"))
    if "torch" in peers:
        torch = peers["torch"]
        xt = torch.tensor(xs, requires_grad=True)

        def tfn() -> None:
            xt.grad = None
            z = (torch.tanh(torch.sin(xt) * torch.exp(-xt**2)) +
                 torch.log(1 + xt**2) * torch.sigmoid(xt)).sum()
            z.backward()
        rows.append(_peer(wl, "PyTorch eager", tfn, lambda: (tfn(), xt.grad.numpy())[1], ref,
                          ours, cfg))
    return rows


# ---------------------------------------------------------------------------- W2, n = 1e7
def w2_large(cfg: W.Config, peers: dict) -> list[W.Row]:
    n = cfg.size(10**7, 10**5)
    wl = f"W2 sum(poly), n={n:.0e}"
    xs = np.random.default_rng(0).uniform(-2, 2, n)
    x = sd.var("x", (n,))
    f = sd.sum(x**3 + 7 * x**2 + 5 * x + 10)
    rows, vg = _symdiff_rows(wl, f, x, xs, cfg, lambda: W._poly_np(xs))
    ref = vg(x=xs)[1][0]
    ours = (lambda: vg(x=xs))
    rows.append(_peer(wl, "numpy Horner (in place)", lambda: W._poly_np(xs),
                      lambda: W._poly_np(xs)[1], ref, ours, cfg, "symdiff ≤ 0.3x numpy time",
                      1 / 0.3))
    if "jax" in peers:
        jax = peers["jax"]
        jnp = jax.numpy
        g = jax.jit(jax.value_and_grad(lambda v: jnp.sum(v**3 + 7 * v**2 + 5 * v + 10)))
        xj = jnp.asarray(xs)
        g(xj)[1].block_until_ready()
        rows.append(_peer(wl, "JAX jit(value_and_grad)", lambda: g(xj)[1].block_until_ready(),
                          lambda: np.asarray(g(xj)[1]), ref, ours, cfg,
                          "symdiff ≤ 0.5x JAX time", 2.0))
    else:
        rows.append(W._absent_target(wl, "JAX jit(value_and_grad)", "symdiff ≤ 0.5x JAX time"))
    return rows
