"""The "no expression swell" benchmark: k-th derivatives of deeply nested functions.

``sd.diff`` differentiates f's graph in reverse mode and shares subexpressions, so the
derivative graph is a small constant times f's node count whatever the depth; ``sympy.diff``
works on expression trees, whose size grows exponentially (or hits the recursion limit).

    python -m benchmarks.swell                 # depths 5,10,20,40, orders 1,2,3
    python -m benchmarks.swell --quick         # depths 5,10, orders 1,2

Every SymPy/SymEngine measurement (and the SymPy closed form of symdiff's graph) runs in a
forked child with a time budget and a memory cap, so a swelling expression costs at most
the budget: the cell then says "timeout (stage)", "RecursionError (stage)", ... instead.
"""
from __future__ import annotations

import argparse
import datetime
import gc
import math
import multiprocessing
import os
import platform
import resource
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence, TypeVar

import numpy as np
import sympy

import symdiff as sd

try:
    import symengine
except ImportError:  # optional peer
    symengine = None

RTOL = 1e-9
"""Largest relative difference between symdiff's value and a peer's that counts as agreement."""
MEMORY_CAP = 4 << 30
"""Address-space cap of each measuring child: a swelling tree fails there, not the machine."""

Send = Callable[[str, Any], None]
T = TypeVar("T")


def _sin_exp(x: Any, ns: Any, d: int) -> Any:
    f = x
    for _ in range(d):
        f = ns.sin(f) * ns.exp(f)
    return f


def _x_sin(x: Any, ns: Any, d: int) -> Any:
    f = x
    for _ in range(d):
        f = x * ns.sin(f)
    return f


def _f_sin(x: Any, ns: Any, d: int) -> Any:
    f = x
    for _ in range(d):
        f = f * ns.sin(f + x)
    return f


# One builder per family, called with symdiff, sympy or symengine as the namespace, so the
# engines differentiate the same function; and the point where values are compared, chosen
# so f and its derivatives stay O(1) at depth 40 (sin(f)*exp(f) overflows by depth 7 for
# x > 0; x*sin(f) decays like x**d for |x| < 1, which would blur a relative comparison).
FAMILIES: dict[str, tuple[Callable[[Any, Any, int], Any], float]] = {
    "sin(f)*exp(f)": (_sin_exp, -0.3),   # f' appears twice per level: the tree doubles
    "x*sin(f) (W4)": (_x_sin, 1.5),      # issue W4: deep, so sympy.diff recurses deeply
    "f*sin(f+x)": (_f_sin, 1.5),         # the product rule copies f and f' at every level
}


@dataclass
class Peer:
    """One guarded measurement: seconds to differentiate, op counts, value at the point."""
    diff_s: Optional[float] = None
    ops: Optional[int] = None
    cse_ops: Optional[int] = None
    value: Optional[float] = None
    note: str = ""        # why fields are missing: "timeout (diff)", "skipped: ..."


@dataclass
class Row:
    """Measurements for one family, depth d and derivative order k."""
    family: str
    depth: int
    order: int
    f_nodes: int
    sd_nodes: int
    sd_diff_s: float
    sd_eval_s: float
    at: float
    sd_value: float
    sd_cse: Peer          # cse_ops of sympy.cse(g.sympy()): symdiff's closed form
    peers: dict[str, Peer] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        """Derivative graph nodes per node of f."""
        return self.sd_nodes / self.f_nodes

    def disagreements(self) -> list[str]:
        """Engines whose value at x=at differs from symdiff's by more than RTOL relative."""
        return [name for name, p in self.peers.items() if p.value is not None
                and abs(p.value - self.sd_value) > RTOL * max(abs(p.value), abs(self.sd_value))]


# float arithmetic for the heads these derivatives are made of (SymEngine's class names are
# capitalised); anything else is evaluated by the engine on its own number type
_FLOAT_OPS: dict[str, Callable[..., float]] = {
    "add": lambda *v: math.fsum(v), "mul": lambda *v: math.prod(v), "pow": pow,
    "sin": math.sin, "cos": math.cos, "exp": math.exp, "log": math.log}


def fold(expr: Any, leaf: Callable[[Any], T], node: Callable[[Any, list[T]], T]) -> T:
    """``node(e, [results of e.args])`` over a SymPy/SymEngine expression, once per distinct
    subexpression: the derivative trees share subtrees, so a tree walk (``subs``,
    ``lambdify``, ``count_ops``) takes exponential time; an explicit stack, not recursion,
    keeps deep expressions clear of the recursion limit.
    """
    memo: dict[Any, T] = {}
    stack = [expr]
    while stack:
        e = stack[-1]
        if e in memo:
            stack.pop()
            continue
        pending = [a for a in e.args if a not in memo]
        if pending:
            stack.extend(pending)
            continue
        stack.pop()
        memo[e] = node(e, [memo[a] for a in e.args]) if e.args else leaf(e)
    return memo[expr]


def value_at(expr: Any, x: Any, at: float, number: Callable[[float], Any]) -> float:
    """Value of an expression at x=at; ``number`` makes the engine's number from a float,
    for heads not in _FLOAT_OPS."""
    def node(e: Any, vals: list[float]) -> float:
        op = _FLOAT_OPS.get(type(e).__name__.lower())
        return op(*vals) if op else float(e.func(*map(number, vals)))
    return fold(expr, lambda e: at if e == x else float(e), node)


def tree_size(expr: Any) -> int:
    """Nodes of the expression as a tree (shared subexpressions counted each time they occur)."""
    return fold(expr, lambda e: 1, lambda e, sizes: 1 + sum(sizes))


def run_limited(job: Callable[[Send], None], budget: float) -> Peer:
    """Run ``job(send)`` in a forked child for at most ``budget`` seconds.

    The child reports each result with ``send(field, value)`` as soon as it has it, and
    ``send("stage", text)`` before each step, so a job stopped by the budget still returns
    what it finished and the note names the step that did not. A child rather than SIGALRM
    because SymEngine's C++ never looks at Python signals, and a killed child frees its memory.
    """
    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)

    def child() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))
        try:
            job(lambda key, value: send.send((key, value)))
            status = ""
        except Exception as e:  # RecursionError, MemoryError, ...: the cell shows its name
            status = type(e).__name__
        send.send(("status", status))

    proc = ctx.Process(target=child, daemon=True)
    proc.start()
    send.close()
    got: dict = {"stage": "start"}
    status = "timeout"
    deadline = time.monotonic() + budget
    while (left := deadline - time.monotonic()) > 0 and recv.poll(left):
        try:
            key, value = recv.recv()
        except EOFError:
            proc.join(1)
            status = f"crashed, exit {proc.exitcode}"
            break
        if key == "status":
            status = value
            break
        got[key] = value
    proc.kill()
    proc.join()
    recv.close()
    return Peer(got.get("diff_s"), got.get("ops"), got.get("cse_ops"), got.get("value"),
                "; ".join(filter(None, [got.get("note"), status and f"{status} ({got['stage']})"])))


def _cse_ops(ns: Any, expr: Any) -> int:
    # SymPy's default order="canonical" sorts the subexpressions with a key that walks each
    # as a tree: exponential on these shared trees, even for symdiff's 300-node graphs
    replacements, reduced = ns.cse([expr], **({"order": "none"} if ns is sympy else {}))
    return int(sum(ns.count_ops(e) for _, e in replacements)
               + sum(ns.count_ops(e) for e in reduced))


def _peer_job(ns: Any, build: Callable, d: int, k: int, at: float, number: Callable) -> Callable:
    def job(send: Send) -> None:
        # SymPy's exp() runs logcombine over its argument as a tree, so even building f is
        # exponential for the sin(f)*exp(f) family: it belongs inside the budget too
        send("stage", "building f")
        x = ns.Symbol("x")
        expr = build(x, ns, d)
        send("stage", "diff")
        t = time.perf_counter()
        dk = ns.diff(expr, *[x] * k)
        send("diff_s", time.perf_counter() - t)
        send("stage", "value")
        send("value", value_at(dk, x, at, number))   # before the op counts, which may time out
        send("stage", "count_ops")
        ops = int(ns.count_ops(dk))
        # SymEngine's count wraps around (it gave 0 for a tree of about 2**40 ops); the
        # tree's size, computed on the shared DAG, bounds the true count
        if ns is sympy or tree_size(dk) < 2**32:
            send("ops", ops)
        else:
            send("note", "count_ops overflows")
        send("stage", "cse")
        send("cse_ops", _cse_ops(ns, dk))
    return job


def _closed_form_job(g: sd.Node) -> Callable:
    def job(send: Send) -> None:
        send("stage", "g.sympy()")
        e = g.sympy()
        send("stage", "cse")
        send("cse_ops", _cse_ops(sympy, e))
    return job


def _median_s(fn: Callable[[], Any], repeats: int) -> float:
    # with the collector off, as timeit does: otherwise a run pays for the garbage of
    # earlier rows, and times at depth 40 varied by 2x between runs
    times = []
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeats):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
    finally:
        if enabled:
            gc.enable()
    return statistics.median(times)


def _nth_diff(f: sd.Node, x: sd.Node, k: int) -> sd.Node:
    for _ in range(k):
        f = sd.diff(f, x)
    return f


def measure(families: Sequence[str] = tuple(FAMILIES), depths: Sequence[int] = (5, 10, 20, 40),
            orders: Sequence[int] = (1, 2, 3), budget: float = 20.0, repeats: int = 5,
            peers: bool = True, closed_form: bool = True,
            progress: Optional[Callable[[Row], None]] = None) -> list[Row]:
    """Measure every (family, depth, order); see the module docstring.

    ``peers=False`` skips SymPy/SymEngine, ``closed_form=False`` the CSE of ``g.sympy()``.
    Once a guarded measurement yields nothing (timeout, RecursionError, ...) at some depth
    and order, the deeper and higher-order cells of that family are marked skipped: their
    trees are only larger, and each would cost a full budget again.
    """
    engines: dict[str, tuple[Any, Callable]] = {"sympy": (sympy, sympy.Float)}
    if symengine is not None:
        engines["symengine"] = (symengine, symengine.RealDouble)
    rows = []
    for fam in families:
        build, at = FAMILIES[fam]
        failed: dict[str, list[tuple[int, int, str]]] = {}   # job -> [(depth, order, why)]
        for d in sorted(depths):
            x = sd.var("x")
            f = build(x, sd, d)
            for k in sorted(orders):
                g = _nth_diff(f, x, k)
                jobs: dict[str, Callable[[], Callable]] = {}
                if closed_form:
                    jobs["closed form"] = lambda: _closed_form_job(g)
                for name, (ns, number) in engines.items() if peers else ():
                    jobs[name] = lambda ns=ns, number=number: _peer_job(ns, build, d, k, at, number)
                got: dict[str, Peer] = {}
                for name, make in jobs.items():
                    stop = [(why, fd, fk) for fd, fk, why in failed.get(name, [])
                            if fd <= d and fk <= k]
                    if stop:
                        got[name] = Peer(note="skipped: {} at d={}, k={}".format(*stop[0]))
                        continue
                    got[name] = p = run_limited(make(), budget)
                    if p.diff_s is None and p.cse_ops is None:
                        failed.setdefault(name, []).append((d, k, p.note))
                rows.append(Row(fam, d, k, len(f.nodes()), len(g.nodes()),
                                _median_s(lambda: _nth_diff(f, x, k), repeats),
                                _median_s(lambda: g.eval(x=at), repeats), at, float(g.eval(x=at)),
                                got.pop("closed form", Peer()), got))
                if progress:
                    progress(rows[-1])
    return rows


def _num(v: Any) -> str:
    """A table cell: "—" for None, seconds as ms, counts with thousands separators."""
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v * 1e3:.3g}" if v < 1 else f"{v * 1e3:,.0f}"
    return f"{v:,}"


def table(rows: Sequence[Row], markdown: bool = True) -> str:
    """The rows as a markdown table (or aligned plain text); times in ms."""
    names = sorted({n for r in rows for n in r.peers}, key=["sympy", "symengine"].index)
    head = ["family", "x", "d", "k", "f nodes", "sd nodes", "sd/f", "sd diff ms", "sd eval ms",
            "sd cse ops"]
    for n in names:
        head += [f"{n} ops", f"{n} cse ops", f"{n} diff ms"]
    head += ["sympy ops / sd nodes", "agree"]
    body = []
    for r in rows:
        cells = [r.family, f"{r.at:g}", str(r.depth), str(r.order), str(r.f_nodes),
                 str(r.sd_nodes), f"{r.ratio:.2f}", _num(r.sd_diff_s), _num(r.sd_eval_s),
                 r.sd_cse.note or _num(r.sd_cse.cse_ops)]
        for n in names:
            p = r.peers.get(n, Peer())
            # the note goes in the first cell its failure left empty; later ones show "—"
            ops = _num(p.ops) if p.ops is not None or not p.note else p.note
            cse = p.note if p.ops is not None and p.cse_ops is None else _num(p.cse_ops)
            cells += [ops, cse, _num(p.diff_s)]
        sp = r.peers.get("sympy")
        cells.append(f"{sp.ops / r.sd_nodes:.1f}" if sp and sp.ops else "—")
        bad = r.disagreements()
        checked = any(p.value is not None for p in r.peers.values())
        cells.append(f"**DISAGREE: {', '.join(bad)}**" if bad else "ok" if checked else "—")
        body.append(cells)
    if markdown:
        return "\n".join("| " + " | ".join(c) + " |" for c in [head, ["---"] * len(head), *body])
    widths = [max(len(c[i]) for c in [head, *body]) for i in range(len(head))]
    return "\n".join("  ".join(c[i].ljust(widths[i]) for i in range(len(c))) for c in [head, *body])


def machine() -> str:
    """Date, platform, CPU and library versions, for the top of the report."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    se = f"symengine {symengine.__version__}" if symengine else "symengine: not installed"
    return (f"date {datetime.date.today()}; {platform.platform()}; {cpu}; {os.cpu_count()} CPUs\n"
            f"python {platform.python_version()}, numpy {np.__version__}, "
            f"sympy {sympy.__version__}, {se}")


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command line entry; exits 1 when an engine's value disagrees with symdiff's."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks.swell",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--depths", default="5,10,20,40", help="comma-separated nesting depths")
    ap.add_argument("--orders", default="1,2,3", help="comma-separated derivative orders")
    ap.add_argument("--quick", action="store_true", help="depths 5,10 and orders 1,2")
    ap.add_argument("--budget", type=float, help="seconds per guarded measurement (20; --quick 3)")
    ap.add_argument("--markdown", action=argparse.BooleanOptionalAction, default=True)
    args = ap.parse_args(argv)
    depths = [5, 10] if args.quick else [int(s) for s in args.depths.split(",")]
    orders = [1, 2] if args.quick else [int(s) for s in args.orders.split(",")]
    # --quick has to stay under ~30 s, and three of its cells swell past any useful budget
    budget = args.budget or (3.0 if args.quick else 20.0)
    print(machine(), flush=True)
    print(f"budget {budget:g} s per guarded measurement; times in ms (symdiff's: median of 5); "
          f"agree: values at x equal to {RTOL:g} relative\n")
    t = time.perf_counter()

    def progress(r: Row) -> None:
        print(f"  {time.perf_counter() - t:5.0f} s  measured {r.family} d={r.depth} k={r.order}",
              file=sys.stderr, flush=True)

    rows = measure(depths=depths, orders=orders, budget=budget, progress=progress)
    print(table(rows, markdown=args.markdown))
    print(f"\ntotal {time.perf_counter() - t:.1f} s")
    bad = [r for r in rows if r.disagreements()]
    for r in bad:
        print(f"DISAGREEMENT: {r.family} d={r.depth} k={r.order}: {r.disagreements()}",
              file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
