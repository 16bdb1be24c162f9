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
  ``scalar`` templates of the codegen table: no numpy call at all. It raises
  ``ArithmeticError`` or ``ValueError`` where numpy would return inf or nan, and the
  caller then runs the numpy version, so both give the same numbers.

Every buffer is a local of one call: calls in flight on several threads share nothing
but read-only constants. Inputs are never written: only buffers the call allocated are
reused or updated in place, and results that could alias an input are copied.

The package, by step:

rules.py     the codegen table: per row of ``PRIMITIVES``, its scalar templates and
             what its VJPs read and write (how to emit fast code for it)
plan.py      buffer planning: liveness, the pool of dying buffers, per-thread buffers
forward.py   forward emission: one line per forward step
backward.py  backward emission: VJPs, unbroadcasting, accumulation, the results
scalar.py    the Python-float fast path
runtime.py   what the generated code sees: its globals, ``own``, ``fix_shape``, the arena

This module holds the entry points ``Program`` calls: ``array_source``,
``scalar_source``, ``compile_source``, ``own`` and ``MAX_LINES``. Imports its own modules
only (numpy, through them; never SymPy or symdiff).

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

from typing import Any, Callable

from numeric.codegen.backward import emit_backward, emit_results
from numeric.codegen.forward import emit_forward, forward_return, header
from numeric.codegen.plan import ARENA_MAX_BYTES, Buffers, liveness
from numeric.codegen.rules import CODEGEN, SCALAR_HELPERS, CodegenRule, rule_for
from numeric.codegen.runtime import Namespace, arena_factory, fix_shape, own
from numeric.codegen.scalar import scalar_source

__all__ = ["MAX_LINES", "ARENA_MAX_BYTES", "array_source", "scalar_source", "compile_source",
           "own", "fix_shape", "CODEGEN", "CodegenRule", "rule_for", "SCALAR_HELPERS"]

MAX_LINES = 20000
"""Programs with more instructions than this run on the interpreter: compiling a
function of hundreds of thousands of lines costs more than it saves."""


def array_source(p: Any, mode: str) -> tuple[str, dict]:
    """Source and globals of ``call(args, seed)`` (mode ``"call"``: value, gradients and
    retained cotangents), ``grad(args, seed)`` (``"grad"``: no value) or
    ``forward(args)`` (``"forward"``).

    >>> import numpy as np
    >>> from numeric import Program
    >>> prog = Program([(2,)], [], [("exp", (0,), {}), ("sum", (1,), {})], output=2, wrt=[0])
    >>> source, globals_ = array_source(prog, "call")
    >>> print(source)
    def call(args, seed):
        a0, = args
        _A = _arena()
        v1 = F0(a0, out=_A[0])
        v2 = F1(v1)
        g2 = seed
        g1 = _fix(V3(g2, None, Z2), (2,))
        g0 = V4(g1, v1, a0)
        del g1
        del v1
        seen = {id(a) for a in args}
        seen.add(id(seed))
        seen.update(map(id, _A))
        value = v2
        value = _own(value, seen) if type(value) is np.ndarray and value.ndim else value
        return value, [_own(g0, seen)]
    """
    n_in = p.n_inputs
    space = Namespace()
    name: dict[int, str] = {s: f"a{s}" for s in range(n_in)}
    for j, c in enumerate(p.constants):
        name[n_in + j] = space.add("c", c)
    for slot, value in p.folded.items():
        name[slot] = space.add("c", value)
    live = liveness(p, mode)
    buffers = Buffers(p, live, name)
    lines = header(p, mode, name)
    lines += emit_forward(live, buffers, space, name)
    fwd_end = len(lines)
    if mode == "forward":
        lines.append(forward_return(p, name))
    else:
        backward, cot = emit_backward(p, live, buffers, space, name)
        lines += backward
        lines += emit_results(p, mode, cot, buffers, name)
    # the spare buffers no VJP took: let go before the backward sweep allocates
    lines[fwd_end:fwd_end] = [f"    del {name[s]}" for s in buffers.spare_slots()]
    if buffers.arena:
        lines.insert(2 if n_in else 1, "    _A = _arena()")
        space.ns["_arena"] = arena_factory(buffers.arena)
    return "\n".join(lines), space.ns


def compile_source(source: str, namespace: dict, fn: str, tag: str) -> Callable:
    """Compile generated source into a function (its file name says which program).

    >>> compile_source("def f(x):\\n    return x + 1", {}, "f", "example")(1)
    2
    """
    code = compile(source, f"<symdiff {tag}>", "exec")
    exec(code, namespace)  # noqa: S102 - our own generated code, never user text
    return namespace[fn]
