"""Generated code: a Program's plan written out as straight-line Python, compiled once.

The interpreter in ``program.py`` walks lists of instructions on every call; the code
generated here has one line per operation, with the table's functions bound as globals,
so a call pays no per-op dispatch. Planned at generation time, not per call:

* buffer reuse: a numpy ufunc (or fused polynomial) writes into a buffer of the same shape
  that this call allocated and no longer needs, often its own dying input;
* freeing: each forward value is deleted after its last use (for a value no VJP reads,
  right after the forward sweep is done with it), so peak memory follows liveness;
* in-place accumulation: a cotangent with several contributions is summed into the buffer
  the first sum allocated;
* unbroadcasting only where shapes say it is needed;
* a gradient-only variant that skips what only the value needs (the final reduction);
* for programs on scalars, a second version on Python floats with ``math``, from the
  table's ``scalar`` templates: no numpy call at all. It raises ``ArithmeticError`` or
  ``ValueError`` where numpy would return inf or nan, and the caller then runs the numpy
  version, so both give the same numbers.

Every buffer is a local of one call: calls in flight on several threads share nothing
but read-only constants. Inputs are never written: only buffers the call allocated are
reused or updated in place, and results that could alias an input are copied.

>>> import numpy as np
>>> from numeric import Program
>>> prog = Program([()], [np.float64(3.0)], [("pow", (0,), {"p": 2}), ("add", (2, 1), {})],
...                output=3, wrt=[0])
>>> print(prog.source("scalar"))
def scalar(a0):
    v2 = a0 * a0
    v3 = v2 + 3.0
    g3 = 1.0
    g2 = g3
    g0 = g2 * 2.0 * a0
    return v3, [g0]
"""
from __future__ import annotations

import functools
import math
import threading
from typing import Any, Callable, Optional

import numpy as np

from .primitives import SCALAR_HELPERS, sum_to

MAX_LINES = 20000
"""Programs with more instructions than this run on the interpreter: compiling a
function of hundreds of thousands of lines costs more than it saves."""


def fix_shape(c: Any, shape: tuple) -> Any:
    """Unbroadcast a structural row's cotangent when (and only when) its shape differs."""
    return c if np.shape(c) == shape else sum_to(c, shape)


def own(c: Any, seen: set) -> Any:
    """``c`` itself if the call allocated it and hands it out once, else a float64 copy:
    a result never aliases an input, a constant, the seed or another result."""
    if type(c) is np.ndarray and c.flags.owndata and c.flags.writeable and \
            c.dtype == np.float64 and id(c) not in seen:
        seen.add(id(c))
        return c
    return np.array(c, dtype=np.float64)


ARENA_MAX_BYTES = 32 * 2**20
"""Forward values the backward sweep reads, and backward temporaries, up to this size are
kept per thread from one call to the next, as a caching allocator would; larger ones
(which the C allocator maps and unmaps anyway) are not."""


def _arena_factory(shapes: list) -> Callable[[], list]:
    """Per-thread buffers for a program's temporaries, allocated on a thread's first call.

    Reusing them spares the page faults of fresh allocations (glibc returns freed memory
    to the system once enough sits at the top of the heap, and the next call faults it
    back in): on the MLP workload that was a sixth of the time. Each thread has its own
    list, so calls in flight on different threads never share a buffer; results handed to
    the caller are never arena buffers."""
    local = threading.local()

    def arena() -> list:
        bufs = getattr(local, "bufs", None)
        if bufs is None:
            bufs = local.bufs = [np.empty(s) for s in shapes]
        return bufs
    return arena


def _bind(fn: Callable, params: dict) -> Callable:
    return functools.partial(fn, **params) if params else fn


class _Namespace:
    """Globals of the generated function: each distinct object bound once, by name."""

    def __init__(self) -> None:
        self.ns: dict[str, Any] = {"np": np, "_sum_to": sum_to, "_fix": fix_shape,
                                   "_own": own}
        self._ids: dict[int, str] = {}

    def add(self, prefix: str, obj: Any) -> str:
        key = id(obj)
        name = self._ids.get(key)
        if name is None:
            name = f"{prefix}{len(self._ids)}"
            self._ids[key] = name
            self.ns[name] = obj
        return name


def _dtypes(p: Any) -> dict:
    """Static dtype of the slots where it is known (inputs, constants, ufunc results)."""
    dt: dict[int, Any] = {s: np.dtype(np.float64) for s in range(p.n_inputs)}
    for j, c in enumerate(p.constants):
        dt[p.n_inputs + j] = c.dtype
    for slot, value in p.folded.items():
        dt[slot] = np.asarray(value).dtype
    for slot, row, ins, params in p._forward:
        ins_dt = [dt.get(i) for i in ins]
        if row.dtype == "bool":
            dt[slot] = np.dtype(bool)
        elif any(d is None for d in ins_dt):
            continue
        elif _writes_out(row, params):
            try:
                # size-1 stand-ins with the inputs' dimensions (matmul needs them)
                dummy = [np.ones((1,) * len(p.shapes[i]), d) for i, d in zip(ins, ins_dt)]
                with np.errstate(all="ignore"):
                    dt[slot] = np.asarray(row.forward(*dummy, **params)).dtype
            except Exception:  # noqa: BLE001 - unknown: no buffer reuse for it
                continue
        elif all(d == np.float64 for d in ins_dt):
            dt[slot] = np.dtype(np.float64)
    return dt


def _writes_out(row: Any, params: dict) -> bool:
    f = row.forward
    return (isinstance(f, np.ufunc) and f.nout == 1 and not params) or \
        getattr(f, "supports_out", False)


def array_source(p: Any, mode: str) -> tuple[str, dict]:
    """Source and globals of ``call(args, seed)`` (mode ``"call"``: value, gradients and
    retained cotangents), ``grad(args, seed)`` (``"grad"``: no value) or
    ``forward(args)`` (``"forward"``)."""
    n_in, shapes = p.n_inputs, p.shapes
    space = _Namespace()
    name: dict[int, str] = {s: f"a{s}" for s in range(n_in)}
    for j, c in enumerate(p.constants):
        name[n_in + j] = space.add("c", c)
    for slot, value in p.folded.items():
        name[slot] = space.add("c", value)
    backward = p._backward if mode != "forward" else []
    keep = set(p.retain) | ({p.output} if mode != "grad" else set())

    # which forward values are needed: by the outputs, and by the backward sweep
    needed = set(keep)
    reads: list[tuple] = []  # per backward entry: (out read?, input slots read)
    for slot, row, ins, params, steps in backward:
        r_out = row.vjp_reads_out
        r_ins = tuple(ins) if row.vjp_reads_inputs else ()
        reads.append((r_out, r_ins))
        if r_out:
            needed.add(slot)
        needed.update(r_ins)
    forward = []
    for slot, row, ins, params in reversed(p._forward):
        if slot in needed:
            forward.append((slot, row, ins, params))
            needed.update(ins)
    forward.reverse()

    last: dict[int, float] = {}
    for t, (slot, row, ins, params) in enumerate(forward):
        for i in ins:
            last[i] = t
    for b, (r_out, r_ins) in enumerate(reads):
        t = len(forward) + b
        if r_out:
            last[backward[b][0]] = t
        for i in r_ins:
            last[i] = t
    for s in keep:
        last[s] = math.inf
    # a row that moves entries (sparsity "selection": transpose, reshape, index,
    # broadcast_to) may answer with a view of its input: the input's buffer then lives as
    # long as the view does
    for slot, row, ins, params in reversed(forward):
        if row.sparsity == "selection" and slot in last:
            for i in ins:
                last[i] = max(last.get(i, -1), last[slot])

    dtypes = _dtypes(p)
    lines = ["def {fn}(args{seed}):".format(fn=mode, seed="" if mode == "forward" else ", seed")]
    if n_in:
        lines.append("    " + ", ".join(name[s] for s in range(n_in)) + (
            ", = args" if n_in == 1 else " = args"))
    owned: set[int] = set()
    pool: dict[tuple, list[int]] = {}
    arena: list[tuple] = []  # shapes of this thread's buffers kept from call to call
    in_arena: set[int] = set()  # slots whose buffer is one of them
    dead_after: dict[float, list[int]] = {}
    for s, t in last.items():
        if s >= n_in + len(p.constants) and s not in p.folded:
            dead_after.setdefault(t, []).append(s)

    for t, (slot, row, ins, params) in enumerate(forward):
        fn = space.add("F", _bind(row.forward, params))
        args = ", ".join(name[i] for i in ins)
        shape = shapes[slot]
        reuse = None
        if (len(shape) >= 1 and dtypes.get(slot) == np.float64 and _writes_out(row, params)
                and all(dtypes.get(i) is not None for i in ins)):
            owned.add(slot)
            # an elementwise ufunc (one pass) may write over its own dying input; others
            # (matmul; a fused polynomial, which reads its input at every step) only into
            # a buffer no input of theirs shares
            one_pass = row.kind == "elementwise" and isinstance(row.forward, np.ufunc)
            for i in ins if one_pass else ():
                if i in owned and last.get(i) == t and shapes[i] == shape:
                    reuse = i
                    break
            if reuse is None and pool.get(shape):
                reuse = pool[shape].pop()
        name[slot] = f"v{slot}"
        if slot in keep:
            reuse = None  # a result the caller keeps: a buffer of its own
            lines.append(f"    v{slot} = {fn}({args})")
        elif reuse is not None:
            lines.append(f"    v{slot} = {fn}({args}, out={name[reuse]})")
            if reuse in in_arena:
                in_arena.add(slot)
        elif (slot in owned and last.get(slot, -1) >= len(forward)
              and 8 * math.prod(shape) <= ARENA_MAX_BYTES):
            # kept for the backward sweep: a thread buffer. A temporary that dies in the
            # forward sweep is freed instead, and the allocator hands its memory to the
            # backward sweep's new arrays (W2: holding it made the gradient's fresh
            # buffer fault its pages in on every call, 1.45x slower)
            lines.append(f"    v{slot} = {fn}({args}, out=_A[{len(arena)}])")
            arena.append(shape)
            in_arena.add(slot)
        else:
            lines.append(f"    v{slot} = {fn}({args})")
        for s in dead_after.pop(t, []):
            if s == reuse:
                continue
            if s in owned:
                pool.setdefault(shapes[s], []).append(s)
            else:
                lines.append(f"    del {name[s]}")
        if reuse is not None:
            for lst in pool.values():
                if reuse in lst:
                    lst.remove(reuse)
    # the pool's dead buffers: the backward sweep's VJPs may write into them (as
    # hand-written code reuses its value buffer for the gradient); the others are let go
    # before the backward sweep allocates
    fwd_end = len(lines)
    spare = {shape: [s for s in lst] for shape, lst in pool.items() if lst}

    if mode == "forward":
        lines[fwd_end:fwd_end] = [f"    del {name[s]}" for lst in spare.values() for s in lst]
        lines.append(f"    return _own({name[p.output]}, {{id(a) for a in args}})"
                     if shapes[p.output] else f"    return {name[p.output]}")
        return _with_arena(lines, arena, n_in, space), space.ns

    stand_in: dict[tuple, str] = {}
    _freed: set[int] = set()
    cot: dict[int, str] = {p.output: f"g{p.output}"}
    cot_owned: set[int] = set()
    lines.append(f"    g{p.output} = seed")
    for b, (slot, row, ins, params, steps) in enumerate(backward):
        t = len(forward) + b
        if slot not in cot:
            continue
        g = cot[slot]
        out = name[slot] if reads[b][0] else "None"
        xs = ", ".join(name[i] if i in reads[b][1] else read_stand_in(space, stand_in, shapes[i])
                       for i in ins)
        dies = slot not in p.wrt and slot not in p.retain and slot != p.output
        for k, (j, i, rule, shape) in enumerate(steps):
            fn = space.add("V", _bind(rule, params))
            into = _into(p, row, slot, i, k == len(steps) - 1 and dies and slot in cot_owned,
                         i not in cot, g, arena, spare, in_arena, name)
            expr = f"{fn}({g}, {out}, {xs}{', into=' + into if into else ''})"
            if row.kind != "elementwise":
                expr = f"_fix({expr}, {shape!r})"
            elif shapes[i] != shapes[slot]:
                expr = f"_sum_to({expr}, {shape!r})"
            if i not in cot:
                lines.append(f"    g{i} = {expr}")
                cot[i] = f"g{i}"
                if into:
                    cot_owned.add(i)
            elif i in cot_owned:
                lines.append(f"    g{i} += {expr}")
            else:
                lines.append(f"    g{i} = g{i} + {expr}")
                if len(shapes[i]) >= 1:
                    cot_owned.add(i)
        if slot not in p.wrt and slot not in p.retain and slot != p.output:
            lines.append(f"    del {g}")
        for s in dead_after.pop(t, []):
            if s in name and s not in _freed:
                lines.append(f"    del {name[s]}")
                _freed.add(s)

    lines.append("    seen = {id(a) for a in args}")
    lines.append("    seen.add(id(seed))")
    if arena:
        lines.append("    seen.update(map(id, _A))")
    for s in [*range(n_in, n_in + len(p.constants)), *p.folded]:
        lines.append(f"    seen.add(id({name[s]}))")
    if mode == "call":
        lines.append(f"    value = {name[p.output]}")
        lines.append("    value = _own(value, seen) if type(value) is np.ndarray and value.ndim "
                     "else value")
    grads = []
    for w in p.wrt:
        if w in cot:
            grads.append(f"_own({cot[w]}, seen)")
        else:
            grads.append(f"np.zeros({shapes[w]!r})")
    retained = []
    for r in p.retain:
        retained.append(f"_own({cot[r]}, seen)" if r in cot else f"np.zeros({shapes[r]!r})")
    result = f"[{', '.join(grads)}]"
    if mode == "call":
        result = "value, " + result
    if p.retain:
        result += f", [{', '.join(retained)}]"
    lines.append(f"    return {result}")
    lines[fwd_end:fwd_end] = [f"    del {name[s]}" for lst in spare.values() for s in lst]
    return _with_arena(lines, arena, n_in, space), space.ns


def _into(p: Any, row: Any, slot: int, i: int, over_g: bool, first: bool, g: str,
          arena: list, spare: dict, in_arena: set, name: dict) -> Optional[str]:
    """The buffer a VJP writes its cotangent for input ``i`` into, if any: the dying
    cotangent ``g`` itself (an elementwise row's last step, ``g`` exclusively ours), a
    forward buffer that died in the forward sweep, or a per-thread buffer (neither of the
    last two per-thread for a cotangent handed back to the caller)."""
    shape = p.shapes[i]
    if not row.vjp_out or not first or not shape:
        return None
    if row.kind == "elementwise":
        if p.shapes[slot] != shape:
            return None  # the VJP's result is the output's shape: it is unbroadcast after
        if over_g:
            return g
    handed_back = i in p.wrt or i in p.retain
    for s in spare.get(shape, ()):
        if not (handed_back and s in in_arena):
            spare[shape].remove(s)
            return name[s]
    if handed_back or 8 * math.prod(shape) > ARENA_MAX_BYTES:
        return None
    arena.append(shape)
    return f"_A[{len(arena) - 1}]"


def _with_arena(lines: list, arena: list, n_in: int, space: _Namespace) -> str:
    if arena:
        lines.insert(2 if n_in else 1, "    _A = _arena()")
        space.ns["_arena"] = _arena_factory(arena)
    return "\n".join(lines)


def read_stand_in(space: _Namespace, stand_in: dict, shape: tuple) -> str:
    """A zero-strided array of ``shape``: what a VJP that reads only shapes is given."""
    if shape not in stand_in:
        stand_in[shape] = space.add("Z", np.broadcast_to(np.zeros(()), shape))
    return stand_in[shape]


# ---------------------------------------------------------------------------
# scalar programs: Python floats
# ---------------------------------------------------------------------------

def _template(t: Any, params: dict) -> Optional[str]:
    if t is None:
        return None
    return t(**params) if callable(t) else t


def _literal(c: Any) -> Optional[str]:
    v = c.item() if hasattr(c, "item") else c
    if isinstance(v, bool):
        return repr(v)
    v = float(v)
    if not math.isfinite(v):
        return None
    return repr(v) if v >= 0 else f"({v!r})"


def scalar_source(p: Any, mode: str) -> Optional[tuple[str, dict]]:
    """Source of ``scalar(a0, ...)`` -> ``(value, [grads])`` (mode ``"call"``) or
    ``value`` (``"forward"``) on Python floats, or None when some shape is not ``()`` or
    some row has no scalar template. Retained cotangents are not supported here."""
    if p.retain or any(s != () for s in p.shapes):
        return None
    n_in = p.n_inputs
    name: dict[int, str] = {s: f"a{s}" for s in range(n_in)}
    for j, c in enumerate(p.constants):
        lit = _literal(c)
        if lit is None:
            return None
        name[n_in + j] = lit
    for slot, value in p.folded.items():
        lit = _literal(value)
        if lit is None:
            return None
        name[slot] = lit
    forward = p._forward_for_output if mode == "forward" else p._forward
    lines = [f"def scalar({', '.join(name[s] for s in range(n_in))}):"]
    for slot, row, ins, params in forward:
        t = _template(row.scalar, params)
        if t is None:
            return None
        subs = dict(zip("xyz", (name[i] for i in ins)))
        lines.append(f"    v{slot} = {t.format(**subs)}")
        name[slot] = f"v{slot}"
    if mode == "forward":
        lines.append(f"    return {name[p.output]}")
        return "\n".join(lines), dict(SCALAR_HELPERS)
    cot: dict[int, str] = {p.output: f"g{p.output}"}
    lines.append(f"    g{p.output} = 1.0")
    for slot, row, ins, params, steps in p._backward:
        if slot not in cot:
            continue
        subs = dict(zip("xyz", (name[i] for i in ins)))
        subs["g"], subs["out"] = cot[slot], name[slot]
        for j, i, rule, shape in steps:
            templates = row.scalar_vjp
            t = _template(templates[j] if j < len(templates) else None, params)
            if t is None:
                return None
            expr = t.format(**subs)
            if i in cot:
                lines.append(f"    g{i} = g{i} + {expr}")
            else:
                lines.append(f"    g{i} = {expr}")
                cot[i] = f"g{i}"
    grads = ", ".join(cot.get(w, "0.0") for w in p.wrt)
    lines.append(f"    return {name[p.output]}, [{grads}]")
    return "\n".join(lines), dict(SCALAR_HELPERS)


def compile_source(source: str, namespace: dict, fn: str, tag: str) -> Callable:
    """Compile generated source into a function (its file name says which program)."""
    code = compile(source, f"<symdiff {tag}>", "exec")
    exec(code, namespace)  # noqa: S102 - our own generated code, never user text
    return namespace[fn]
