"""Backward emission: the reverse sweep of a generated array function, and its results.

One line per VJP step: the table's VJP (params bound) on the incoming cotangent, the
forward value and the inputs it reads (zero-strided stand-ins for those it does not),
written into the buffer ``plan.Buffers`` chose. Then, decided here from the shapes:

* unbroadcasting only where needed (``_sum_to`` for an elementwise row whose input was
  broadcast, ``_fix`` for a structural row, which checks the shape at run time);
* in-place accumulation: a cotangent with several contributions is summed into the
  buffer the first sum allocated (``g += ...``);
* each cotangent deleted once its VJPs have run, each forward value after its last read;
* results handed out through ``_own``, so none aliases an input, a constant, the seed,
  a per-thread buffer or another result.

Imports ``numeric.codegen.plan`` and ``runtime`` only.

>>> import numpy as np
>>> from numeric import Program
>>> prog = Program([(3,)], [], [("sin", (0,), {}), ("sum", (1,), {})], output=2, wrt=[0])
>>> print(prog.source("grad"))
def grad(args, seed):
    a0, = args
    g2 = seed
    g1 = _fix(V1(g2, None, Z0), (3,))
    g0 = V2(g1, None, a0)
    del g1
    seen = {id(a) for a in args}
    seen.add(id(seed))
    return [_own(g0, seen)]
"""
from __future__ import annotations

from typing import Any

from numeric.codegen.plan import Buffers, Liveness
from numeric.codegen.runtime import Namespace, bind


def emit_backward(p: Any, live: Liveness, buffers: Buffers, space: Namespace,
                  name: dict) -> tuple[list[str], dict]:
    """The lines of the reverse sweep, and slot -> local of each cotangent computed."""
    shapes = p.shapes
    lines = []
    cot: dict[int, str] = {p.output: f"g{p.output}"}
    cot_owned: set[int] = set()  # cotangents in a buffer of their own: updated in place
    lines.append(f"    g{p.output} = seed")
    for b, (slot, row, ins, params, steps) in enumerate(live.backward):
        t = len(live.forward) + b
        if slot not in cot:
            continue
        g = cot[slot]
        reads_out, reads_ins = live.reads[b]
        out = buffers.out_name.get(slot, name[slot]) if reads_out else "None"
        xs = ", ".join(name[i] if i in reads_ins else space.stand_in(shapes[i]) for i in ins)
        dies = slot not in p.wrt and slot not in p.retain and slot != p.output
        for k, (j, i, rule, shape) in enumerate(steps):
            fn = space.add("V", bind(rule, params))
            # a VJP that keeps zero cotangents zero (numeric.masking) takes no buffer
            into = None if getattr(rule, "keeps_zeros", False) else buffers.cotangent_target(
                row, slot, i, k == len(steps) - 1 and dies and slot in cot_owned,
                i not in cot, g)
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
        if dies:
            lines.append(f"    del {g}")
        if slot in buffers.out_name:
            lines.append(f"    del {buffers.out_name[slot]}")
        lines.extend(f"    del {name[s]}" for s in buffers.release_backward(t))
    return lines, cot


def emit_results(p: Any, mode: str, cot: dict, buffers: Buffers, name: dict) -> list[str]:
    """The closing lines: what the call hands back (value, gradients, retained
    cotangents), each a buffer of its own."""
    shapes = p.shapes
    lines = ["    seen = {id(a) for a in args}", "    seen.add(id(seed))"]
    if buffers.arena:
        lines.append("    seen.update(map(id, _A))")
    for s in [*range(p.n_inputs, p.n_inputs + len(p.constants)), *p.folded]:
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
    return lines
