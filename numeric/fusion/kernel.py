"""A fused step: a group of elementwise ops (and their VJPs) run chunk by chunk.

``Kernel`` holds the group as a small program of its own: its externals (the values it
reads from outside: arrays of the group's shape, or 0-d values broadcast over it), its ops
in order, and how it ends: in a full ``sum``/``mean`` (a 0-d value) or in an array.

One chunk (``CHUNK`` elements, about 64 KiB per value, in a compiled loop; ``NUMPY_BLOCK``
times that on the numpy path) at a time, it evaluates every op into small per-thread
buffers that stay in cache, so each external is read from memory once and each result
written once:

* ``forward``: the value; a reduction is summed per chunk, the chunk sums then added in
  a fixed pairwise order (``pool.pairwise``);
* ``both``: for a group ending in a reduction, the value and, in the same pass, the
  gradient of each external that needs one for a unit cotangent (``Unit``). The reverse
  sweep then only scales it by the cotangent that reaches the reduction (a number);
* ``vjp``: for a group ending in an array, the cotangents of all its externals from the
  output's cotangent, the interior's forward values recomputed in the chunk (see
  ``groups.recompute_cheaper``), in one pass; each external's VJP call takes its own.

Chunks run on the thread pool (``pool.run``), or, when a C compiler is there, as one
compiled loop per thread (``numeric.fusion.compiled``): ``path()`` says which.
Imports numpy, ``numeric.primitives``, ``numeric.masking`` and its own package.
"""
from __future__ import annotations

import math
import os
import threading
from typing import Any, Optional, Sequence

import numpy as np

from ..codegen.rules import rule_for
from ..masking import keep_zeros
from ..primitives import Domain, Primitive
from . import pool
from .costs import op_ns

CHUNK = 8192
"""Elements per chunk of a compiled loop (tests lower it to run many chunks on small
arrays)."""
NUMPY_BLOCK = 4
"""Chunks of ``CHUNK`` per chunk on the numpy path: each op there is a numpy call holding
the GIL for a microsecond or two, so a chunk four times larger (32,768 elements, 256 KiB
per value, still in L2/L3) pays that per 4x the elements, and a second thread waits for the
GIL less often (benchmarks/README.md, "numpy chunk size")."""

NUMPY_THREAD_NS = 0.5
"""On the numpy path, a kernel whose ops cost less than this per element on average (numpy's
cost, ``costs.OP_NS``: arithmetic 0.3 ns, sin 7.5) runs on one thread unless threads are
asked for: each op is a numpy call holding the GIL for about as long as it computes, so a
second thread waits rather than works (W2 at n = 1e7: 34 ms on one thread, 46 ms on two;
W6, mean 1.3 ns: 42 ms on one, 33 ms on two)."""
PER_THREAD = 1 << 17
"""Fewest elements worth a thread of their own: waking a pool thread costs tens of
microseconds (more on a loaded machine), a compiled pass over 1e5 elements about 150."""


class Unit:
    """The gradients a reduction-ended group computed with its value, for a unit
    cotangent: ``grads[j]`` per external (None where none is needed). Handed by the
    generated code to the group's VJPs in place of the forward value."""

    __slots__ = ("grads",)

    def __init__(self, grads: list) -> None:
        self.grads = grads


def _writes_out(row: Any, params: dict) -> bool:
    f = row.forward
    return row.dtype == "float64" and ((isinstance(f, np.ufunc) and f.nout == 1 and not params)
                                       or getattr(f, "supports_out", False))


class Kernel:
    """One fusion group (see the module docstring); built by ``groups.fuse_groups``."""

    def __init__(self) -> None:
        self.externals: list[int] = []
        self.full: list[bool] = []          # per external: an array of the group's shape
        self.ops: list[tuple] = []          # (row, local ins, params, vjps or None per j)
        self.need: list[bool] = []          # per external: its cotangent is computed
        self.varies: list[bool] = []        # per local value
        self.reduce: Optional[str] = None
        self.seed = 1.0
        self.shape: tuple = ()
        self.size = 0
        self.threads: Optional[int] = None
        self.chunk = CHUNK
        self.want_compiled = False
        self.c_ok = True                    # every op has a C form (compiled.py may say no)
        self._compiled: Any = None
        self._compile_note = ""
        self._cost: Optional[float] = None
        self._local = threading.local()
        self._lock = threading.Lock()

    @classmethod
    def build(cls, slots: Sequence[int], ops: Sequence[tuple], shapes: Sequence[tuple],
              dtype: dict, varies: Sequence[bool], masked: Optional[list], reduce: Optional[str],
              reduce_params: dict, threads: Optional[int], compiled: bool) -> "Kernel":
        """The kernel of the ops writing ``slots`` (program order, the root last)."""
        k = cls()
        local = {}
        for s, (row, ins, params) in zip(slots, ops):
            for i in ins:
                if i not in local and i not in slots:
                    local[i] = len(k.externals)
                    k.externals.append(i)
        m = len(k.externals)
        k.shape = tuple(shapes[slots[-1]])
        k.size = math.prod(k.shape)
        k.full = [tuple(shapes[i]) == k.shape for i in k.externals]
        k.varies = [bool(varies[i]) for i in k.externals]
        local_dtype = [dtype.get(i, "other") for i in k.externals]
        for n_op, (s, (row, ins, params)) in enumerate(zip(slots, ops)):
            local[s] = m + n_op
            lins = tuple(local[i] for i in ins)
            v = any(k.varies[i] and row.vjp[j] is not None for j, i in enumerate(lins))
            k.varies.append(v)
            local_dtype.append(row.dtype)
            vjps = None
            if v:
                is_masked = masked is not None and masked[s]
                vjps = tuple((keep_zeros(row, j) if is_masked else row.vjp[j])
                             if k.varies[i] else None for j, i in enumerate(lins))
            k.ops.append((row, lins, dict(params), vjps, masked is not None and masked[s]))
            for j, i in enumerate(lins):
                if local_dtype[i] != "float64" and not (row.name == "where" and j == 0):
                    k.c_ok = False  # bool arithmetic keeps numpy's semantics: numpy only
        k.need = [False] * m
        for row, lins, params, vjps, _ in k.ops:
            for j, i in enumerate(lins):
                if vjps is not None and vjps[j] is not None and i < m:
                    k.need[i] = True
        k.reduce = reduce
        if reduce == "mean":
            k.seed = 1.0 / k.size
        k.threads = threads
        k.want_compiled = compiled
        # contributions per local value: a single one may be written straight into the
        # gradient's buffer (``into=``)
        k.contributions = [0] * (m + len(k.ops))
        for row, lins, params, vjps, _ in k.ops:
            for j, i in enumerate(lins):
                if vjps is not None and vjps[j] is not None:
                    k.contributions[i] += 1
        return k

    # ------------------------------------------------------------------ paths
    def path(self) -> str:
        """``"c"`` when this kernel runs compiled, else ``"numpy"`` (compiling on first
        use, so the answer is final)."""
        return "c" if self._c() is not None else "numpy"

    def note(self) -> str:
        """Why the numpy path runs, when it does ("" otherwise)."""
        self._c()
        return self._compile_note

    def _c(self) -> Any:
        if self._compiled is None:
            with self._lock:
                if self._compiled is None:
                    from . import compiled  # noqa: PLC0415  (ctypes and the compiler: on use)
                    made, note = compiled.kernel_for(self) if self.want_compiled and \
                        self.c_ok else (False, "not compiled: " + (
                            "an op works on booleans" if not self.c_ok else
                            "no C compiler, or turned off (SYMDIFF_COMPILE=0)"))
                    self._compile_note = note
                    if not made:   # numpy chunks: larger ones (NUMPY_BLOCK)
                        self.chunk *= NUMPY_BLOCK
                    self._compiled = made
        return self._compiled or None

    def _threads(self) -> int:
        """Threads this kernel runs on: the program's (or the default) count, but no more
        than one per ``PER_THREAD`` elements, and by default one on the numpy path when
        its ops are cheap (``NUMPY_THREAD_NS``). The result does not depend on it: the
        chunk partials are summed in one order whatever the threads."""
        n = min(pool.resolve_threads(self.threads), max(1, self.size // PER_THREAD))
        if n > 1 and self.threads is None and not os.environ.get(pool.ENV, "").strip() \
                and self._c() is None and self._cost_ns() < NUMPY_THREAD_NS:
            return 1
        return n

    def _cost_ns(self) -> float:
        """numpy's mean cost per element of this kernel's ops (``costs.OP_NS``), worked out
        once: the ops are fixed when the kernel is built, and this is read on every call."""
        if self._cost is None:
            self._cost = sum(op_ns(row, params, False) for row, _, params, *_ in self.ops) / \
                max(1, len(self.ops))
        return self._cost

    def _n_chunks(self) -> int:
        return max(1, -(-self.size // self.chunk))

    # ------------------------------------------------------------------ numpy chunks
    def _scratch(self) -> list:
        bufs = getattr(self._local, "bufs", None)
        if bufs is None:
            bufs = self._local.bufs = [np.empty(self.chunk) for _ in self.ops]
        return bufs

    def _chunk_forward(self, xs: Sequence[Any], a: int, b: int) -> list:
        vals = [x.reshape(-1)[a:b] if full else x for x, full in zip(xs, self.full)]
        bufs = self._scratch()
        for k, (row, lins, params, vjps, _) in enumerate(self.ops):
            args = [vals[i] for i in lins]
            if _writes_out(row, params):
                vals.append(row.forward(*args, out=bufs[k][:b - a], **params))
            else:
                vals.append(row.forward(*args, **params))
        return vals

    def _chunk_backward(self, vals: list, seed: Any, a: int, b: int, grads: list,
                        partials: Optional[np.ndarray], c: int) -> None:
        m = len(self.externals)
        cot: list = [None] * len(vals)
        cot[-1] = seed
        written: set = set()  # externals whose VJP wrote straight into the gradient
        for k in range(len(self.ops) - 1, -1, -1):
            g = cot[m + k]
            row, lins, params, vjps, _ = self.ops[k]
            if g is None or vjps is None:
                continue
            xs = [vals[i] for i in lins]
            for j, i in enumerate(lins):
                rule = vjps[j]
                if rule is None:
                    continue
                into = None
                if i < m and self.full[i] and self.contributions[i] == 1 and \
                        getattr(rule, "keeps_zeros", False) is False and _takes_into(row):
                    into = grads[i].reshape(-1)[a:b]
                cj = rule(g, vals[m + k], *xs, into=into, **params) if into is not None \
                    else rule(g, vals[m + k], *xs, **params)
                if into is not None and cj is into:
                    written.add(i)
                cot[i] = cj if cot[i] is None else cot[i] + cj
        for j in range(m):
            if not self.need[j]:
                continue
            cj = cot[j]
            if self.full[j]:
                dst = grads[j].reshape(-1)[a:b]
                if cj is None:
                    dst[...] = 0.0
                elif j not in written:
                    dst[...] = cj
            elif partials is not None:
                partials[c, j] = 0.0 if cj is None else np.sum(np.broadcast_to(cj, (b - a,)))

    def _run(self, xs: Sequence[Any], mode: str, g: Any = None) -> tuple:
        """mode "forward", "both" (reduction: value and unit gradients) or "vjp"."""
        m = len(self.externals)
        fn = self._c()   # first: the path decides the chunk size
        n_chunks = self._n_chunks()
        value = None
        if self.reduce is None and mode == "forward":
            value = np.empty(self.shape)
        grads: list = [None] * m
        if mode != "forward":
            for j in range(m):
                if self.need[j] and self.full[j]:
                    grads[j] = np.empty(self.shape)
        sums = np.zeros(n_chunks) if self.reduce is not None and mode != "vjp" else None
        partials = np.zeros((n_chunks, m)) if mode != "forward" and not all(self.full) else None
        if fn is not None:
            fn(self, xs, mode, g, value, grads, sums, partials, n_chunks, self._threads())
        else:
            gflat = None if g is None else np.broadcast_to(g, self.shape).reshape(-1)

            def work(c0: int, c1: int) -> None:
                with np.errstate(all="ignore"):
                    for c in range(c0, c1):
                        a, b = c * self.chunk, min(self.size, (c + 1) * self.chunk)
                        vals = self._chunk_forward(xs, a, b)
                        if sums is not None:
                            sums[c] = np.sum(vals[-1])
                        elif value is not None:
                            value.reshape(-1)[a:b] = vals[-1]
                        if mode == "both":
                            self._chunk_backward(vals, np.float64(self.seed), a, b, grads,
                                                 partials, c)
                        elif mode == "vjp":
                            self._chunk_backward(vals, gflat[a:b], a, b, grads, partials, c)
            pool.run(work, n_chunks, self._threads())
        if sums is not None:
            total = pool.pairwise(sums)
            value = np.float64(total / self.size if self.reduce == "mean" else total)
        if partials is not None:
            for j in range(m):
                if self.need[j] and not self.full[j]:
                    grads[j] = np.float64(pool.pairwise(partials[:, j]))
        return value, grads

    # ------------------------------------------------------------------ the row's functions
    def _args(self, xs: Sequence[Any]) -> list:
        # contiguous once per call: a chunk is then a view, never a copy
        return [np.ascontiguousarray(x) if full else np.asarray(x)
                for x, full in zip(xs, self.full)]

    def forward(self, *xs: Any) -> Any:
        """The group's value (a 0-d float for a reduction, else an array)."""
        return self._run(self._args(xs), "forward")[0]

    def both(self, *xs: Any) -> tuple:
        """``(value, Unit)``: a reduction-ended group's value and unit gradients, one pass."""
        value, grads = self._run(self._args(xs), "both")
        return value, Unit(grads)

    def vjp_for(self, j: int) -> Any:
        """The VJP for external ``j``: scales the ``Unit`` handed in as ``out`` (a
        reduction), or runs the one backward pass for all externals and takes its own."""
        def vjp(g: Any, out: Any, *xs: Any) -> Any:
            if self.reduce is not None:
                if not isinstance(out, Unit):   # the interpreter: no unit pass ran
                    out = self.both(*xs)[1]
                c = out.grads[j]
                out.grads[j] = None             # each gradient is handed out once
                u = float(g)
                if u != 1.0:
                    c = np.multiply(c, u, out=c) if isinstance(c, np.ndarray) else c * u
                return c
            cache = getattr(self._local, "vjp", None)
            key = (id(g), tuple(id(x) for x in xs))
            if cache is None or cache[0] != key or cache[1][j] is None:
                grads = self._run(self._args(xs), "vjp", np.asarray(g, dtype=np.float64))[1]
                cache = self._local.vjp = (key, grads)
            c = cache[1][j]
            cache[1][j] = None
            return c
        vjp.__name__ = f"fused_vjp{j}"
        return vjp


def _takes_into(row: Any) -> bool:
    return rule_for(row).vjp_out


def fused_row(kernel: Kernel, in_shapes: list, out_shape: tuple) -> Primitive:
    """The instruction a group becomes: a row of its own (never in the table), named
    ``fused_sum`` when it ends in a reduction (its VJPs read the ``Unit``) else ``fused``."""
    name = "fused_sum" if kernel.reduce else "fused"
    row = Primitive(
        name, len(in_shapes), "fused", kernel.forward,
        tuple(kernel.vjp_for(j) if kernel.need[j] else None for j in range(len(in_shapes))),
        lambda *s, **_: out_shape, "", "fused", Domain(((-3.0, 3.0),) * len(in_shapes)),
        doc="internal: a fused group (numeric.fusion); never in the table or a user's graph",
        sparsity="reduction" if kernel.reduce else "elementwise")
    object.__setattr__(row, "kernel", kernel)  # frozen dataclass: the kernel rides along
    return row
